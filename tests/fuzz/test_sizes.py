"""Sizes are checked before any work or allocation, with memory models calibrated by measurement
(docs/contract.md, "Sizes").  "Before the work" is measured in memory, not time: a refusal allocates
less than ``tests.helpers.BEFORE_THE_WORK_BYTES`` (64 MB, traced by tracemalloc), where the work it
prevents would allocate gigabytes or abort the process."""
import os
import subprocess
import sys

import numpy as np
import pytest

from sigprop import cli
from sigprop.core.memory import OUTPUT_BYTES_PER_NUMBER
from tests.helpers import BEFORE_THE_WORK_BYTES, traced_peak


def _main(argv) -> int:
    try:
        return cli.main([str(a) for a in argv])
    except SystemExit as exc:                   # the parser's own refusals (argument types)
        return exc.code


def _refused(argv, capsys, flag, needle=""):
    code, peak = traced_peak(_main, argv)
    out, err = capsys.readouterr()
    err = err.strip()
    assert code == 2 and not out and len(err.splitlines()) == 1 and f"argument {flag}:" in err, (code, err)
    assert needle in err, err
    assert peak < BEFORE_THE_WORK_BYTES, f"refused only after allocating {peak / 1e6:.0f} MB"


@pytest.mark.parametrize("argv, flag, needle", [
    (["predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "100000000"], "--length", "GB"),
    (["validate", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "100000000", "--samples", "10"],
     "--length", "GB"),
    (["gaussian-error", "--length", "10000000"], "--length", "chi-square weights"),
    (["gaussian-error", "--dims", "2,0"], "--dims", ">= 1"),
    (["lm", "train", "--vocab", "1000000000", "--steps", "1"], "--vocab", "TB"),
    (["lm", "train", "--width", "100000000", "--steps", "1"], "--width", "TB"),
    (["gradcheck", "--dim", "100000000"], "--dim", "finite-difference"),
    (["gradcheck", "--length", "1000"], "--length", "finite-difference"),
    (["nnt", "gradients", "--probes", "1000000000", "--config", "A", "--lengths", "8", "--gammas", "1",
      "--layers", "2", "--seeds", "0"], "--probes", "GB"),
    (["sweep", "SPEC", "--store", "STORE", "--workers", "1000000"], "--workers", "per core"),
    (["explore", "--no-browser", "--length", "100000000"], "--length", "[2, 4096]"),
])
def test_sizes_are_refused_before_the_work(argv, flag, needle, capsys, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('study = "profile"\n[args]\nm = 0.5\nT = 8\n[axes]\nd = [4]\nv = [0.1]\n')
    argv = [str(spec) if a == "SPEC" else str(tmp_path / "s.zarr") if a == "STORE" else a for a in argv]
    _refused(argv, capsys, flag, needle)
    assert not (tmp_path / "s.zarr").exists()


def test_a_sweep_spec_with_a_huge_T_or_grid_is_refused_before_the_store(tmp_path, capsys):
    big = tmp_path / "big.toml"
    big.write_text('study = "profile"\n[args]\nm = 0.5\nT = 1000000000\n[axes]\nd = [4]\nv = [0.1]\n')
    _refused(["sweep", big, "--store", tmp_path / "b.zarr", "--workers", "0"], capsys, "SPEC.toml", "args.T")
    grid = tmp_path / "grid.toml"
    grid.write_text('study = "profile"\n[args]\nm = 0.5\nT = 8\n[axes]\nd = {start = 1, stop = 10, num = 1000000000}'
                    '\nv = [0.1]\n')
    code, peak = traced_peak(cli.main, ["sweep", str(grid), "--store", str(tmp_path / "g.zarr"), "--workers", "0"])
    assert code == 2 and "axes.d.num must be an integer in [1, 1000000]" in capsys.readouterr().err
    assert peak < BEFORE_THE_WORK_BYTES and not list(tmp_path.glob("*.zarr"))


def test_a_npy_is_checked_by_its_header_before_it_is_read(tmp_path, capsys):
    # a header announcing 10^6 x 10^6 float64 (8 TB) and no data: read whole, it would fail otherwise
    huge = tmp_path / "huge.npy"
    with open(huge, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (10 ** 6, 10 ** 6)})
    _refused(["predict", "--weights", huge, "--length", "8"], capsys, "--weights", "(1000000, 1000000)")
    text = tmp_path / "text.npy"
    np.save(text, np.array(["a", "b"]))
    _refused(["predict", "--weights", text, "--length", "8"], capsys, "--weights", "its header says <U1")


# VmHWM, the peak RSS of this program's own memory: ru_maxrss would also count the parent's RSS at
# the fork (Linux keeps the larger of the two across exec), i.e. the whole test session's
PEAK = """
import sys
from sigprop import cli
code = cli.main(sys.argv[1:])
with open("/proc/self/status") as fh:
    print(next(line.split()[1] for line in fh if line.startswith("VmHWM:")), file=sys.stderr)
sys.exit(code)
"""


def _peak_bytes(T: int, fmt: str) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    # the Gaussian method: the text of the result is measured, not the exact method's own working
    # memory (24 float64 arrays of T x 2d, checked by the API before it runs)
    proc = subprocess.run([sys.executable, "-c", PEAK, "predict", "--mean", "0.5", "--var", "0.1", "--dim", "4",
                           "--method", "gaussian", "--length", str(T), "--format", fmt],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return 1024.0 * int(proc.stderr.split()[-1])          # VmHWM is in kB


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="VmHWM of /proc (Linux)")
def test_the_output_memory_model_is_calibrated_by_measurement():
    # the slope of the peak RSS between two sizes is the cost of one more position; the model
    # (OUTPUT_BYTES_PER_NUMBER for each of predict's 5 numbers per position) must cover it, and not
    # by more than a factor 3 (a model that refuses what the machine could do is wrong too).  The
    # table is the costliest format (json and csv cost less, docs/contract.md).  A run's peak can
    # exceed its own need by up to ~35 MB (seen at T = 50 000): the smaller of two runs is kept.
    small, large = 100_000, 300_000
    peak = {T: min(_peak_bytes(T, "table") for _ in range(2)) for T in (small, large)}
    slope = (peak[large] - peak[small]) / (large - small)
    model = 5 * OUTPUT_BYTES_PER_NUMBER
    assert slope <= model <= 3 * slope, (peak, slope, model)
