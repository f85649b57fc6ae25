"""Training the one-layer attention model on the random walk, with instrumentation.

Tasks (fresh, seeded batches every step; inputs follow docs/theory.md §1 with ``Sigma = I``):

* ``teacher``: the target is the output of a teacher attention of the same kind
  (softmax or piecewise-linear, query = last token) with a symmetric query-key
  matrix of eigenvalue mean ``teacher_mean`` and variance ``teacher_var`` and
  ``W_V = I``;
* ``next-token``: the target is the next token ``x_{T+1} = x_T + eps_{T+1}``.

Loss: ``L = (1/2B) sum_b ||y_b - target_b||^2``; the optimizer minimizes
``L + lambda R(W)`` (LocAteR, see :mod:`sigprop.model.locater`; ``R`` is the
``locater_variant`` spread), and ``train_loss`` in the history is ``L`` alone
(averaged over the steps since the previous record), so that runs with different
``lambda`` compare directly.  With ``lambda > 0`` the eigenvalue mean is held
exactly: after every optimizer step :func:`sigprop.model.locater.project` sets
``tr(W)`` to its target, by ``locater_mean``: ``"task"`` (default) the value the
same optimizer step would give without the penalty (a shadow optimizer fed the
task gradients alone: the penalty never moves the mean, the task loss does);
``"initial"`` its value at initialization, for the whole run; a number ``m``:
``d m`` (the first projection happens before step 1).  The run record's
``locater_mean_drift`` is the largest relative deviation of ``tr(W)`` from its
target after any step.  Every ``log_every`` steps the current model is measured
on a fixed held-out *probe* batch:

* ``heldout_loss``; ``eig_mean``, ``eig_var`` of ``W``; ``spread = R(W)``;
* ``attention_entropy``: normalized entropy of the last query's attention;
* ``rho_theory``: the closed form of :func:`sigprop.rho.theory.theory` on the
  current ``W``; ``logit_moments_max_z``: the largest deviation, in standard
  errors, of the probe's mean and variance of the centered logits from their
  exact closed form (should stay O(1) throughout training);
* ``profile_empirical``: piecewise-linear attention: the share of probe
  sequences in which each position is in the linear regime (a Monte Carlo
  estimate of ``rho_i``, with Wilson intervals ``rho_ci_low/high``); softmax:
  ``E[p_i (1 - p_i)]``, the expected self-sensitivity ``dp_i/dz_i``, which for the
  piecewise-linear softmax is ``(1 - 1/T) 1[linear]`` and so the softmax
  counterpart of ``rho_i`` up to a constant;
* ``profile_distance``: total variation between the two profiles normalized to
  sum to one (comparable for both attentions); for piecewise-linear attention
  also ``rho_max_abs_error`` and ``rho_coverage`` (share of positions whose
  interval holds the closed form);
* ``rank_residual``: :func:`sigprop.collapse.rank_residual` of the all-queries
  output (0 = rank collapse); ``all_entropy`` and ``max_attention`` of the
  all-queries attention rows (entropy collapse when the entropy nears 0 and the
  largest weight nears 1).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from types import SimpleNamespace

import numpy as np

from sigprop._version import __version__
from sigprop.core import checks as _checks
from sigprop.core.labelled import Result
from sigprop.core.memory import driver, matrices, require
from sigprop.core.progress import iterate
from sigprop.core.stats import Moments, wilson_interval
from sigprop.core.study import Study, register
from sigprop.core.threads import blas_threads
from sigprop.model import attention as att
from sigprop.model import locater, optim
from sigprop.model.measures import attention_entropy, max_attention, nanmean, rank_residual
from sigprop.model.softmax import centered, linear_regime
from sigprop.rho import walk
from sigprop.rho.compare import compare, z_scores
from sigprop.rho.localization import localization_metrics
from sigprop.rho.spectrum import eig_mean, eig_var, make_weights
from sigprop.rho.theory import theory

TASKS = ("teacher", "next-token")
_DEFAULT_VARIANT = locater.DEFAULT
LOCATER_MEANS = ("task", "initial")
QK_NAMES = ("W", "W_Q", "W_K")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run; stored in the run record."""
    task: str = "teacher"
    attention: str = "softmax"
    d: int = 16
    d_k: int | None = 16            # None: full-rank W
    T: int = 32
    batch: int = 64
    steps: int = 300
    optimizer: str = "adam"
    lr: float = 0.01
    locater: float = 0.0
    locater_variant: str = _DEFAULT_VARIANT
    locater_mean: float | str = "task"      # held when locater > 0: "task", "initial" or a value
    seed: int = 0
    log_every: int = 10
    probe: int = 2048
    teacher_mean: float = 0.5
    teacher_var: float = 0.1
    init_scale: float = 1.0

    def __post_init__(self):
        _checks.choice("task", self.task, TASKS)
        for name, low in (("d", 1), ("T", 2), ("batch", 1), ("steps", 0), ("seed", 0),
                          ("log_every", 1), ("probe", 2)):
            _checks.integer(name, getattr(self, name), low)
        _checks.real("lr", self.lr, positive=True)
        _checks.real("locater", self.locater, minimum=0.0)
        locater.check_variant(self.locater_variant)
        if self.locater_mean not in LOCATER_MEANS and (
                isinstance(self.locater_mean, (str, bool)) or not np.isfinite(float(self.locater_mean))):
            raise _checks.ArgumentError("locater_mean", f"must be 'task', 'initial' or a finite number, "
                                                        f"got {self.locater_mean!r}")
        _checks.real("teacher_mean", self.teacher_mean)
        _checks.real("teacher_var", self.teacher_var, minimum=0.0)
        with np.errstate(over="ignore"):        # the teacher's logit variance (scale 1/sqrt(d)): v + m^2
            spread = float(self.teacher_var) + float(np.float64(self.teacher_mean) ** 2)
        if not np.isfinite(spread):
            larger = abs(float(self.teacher_mean)) >= np.sqrt(float(self.teacher_var))
            name = "teacher_mean" if larger else "teacher_var"
            raise _checks.ArgumentError(name, f"is too large ({getattr(self, name):g}): the variance of the teacher's "
                                              "logits, teacher_var + teacher_mean^2, overflows float64 (beyond "
                                              "1.8e308)")
        _checks.real("init_scale", self.init_scale, positive=True)
        if self.d == 1 and self.teacher_var > 0:
            raise _checks.ArgumentError("teacher_var", "must be 0 when d = 1")
        optim.make(self.optimizer, self.lr)
        self.model()
        # probe and batch sequences, the all-queries attention of the probe, the logits; W_Q and W_K
        # (d x d_k) with their gradients, optimizer moments and copies; the batch's queries and keys
        def need(probe: float, batch: float, T: float, d: float, d_k: float) -> float:
            return (matrices(4, probe + batch, (T + 1) * d) + matrices(3 * min(probe, 512) + 2 * batch, T, T)
                    + matrices(2 * PARAMETER_COPIES, d, d_k) + matrices(4, probe + batch, T * d_k))
        d_k = self.d if self.d_k is None else self.d_k          # None: a full-rank d x d W
        require(need(self.probe, self.batch, self.T, self.d, d_k),
                driver(need, dict(T=(self.T, 2), batch=(self.batch, 1), probe=(self.probe, 1), d=(self.d, 1),
                                  d_k=(d_k, 1))),
                f"{self.probe} probe and {self.batch} batch sequences of length {self.T}, and weights of "
                f"{self.d} x {d_k}")

    def model(self) -> att.Config:
        """The attention model this configuration trains (last token as query).

        Returns
        -------
        sigprop.model.attention.Config
        """
        return att.Config(d=self.d, d_k=self.d_k, attention=self.attention, mode="last")


#: Float64 copies of each weight matrix held while training: the weights, the gradient, the
#: optimizer's two moments, its step and the best weights kept.
PARAMETER_COPIES = 6


class Task:
    """Draws ``(X, target)`` batches for a task from a generator."""

    def __init__(self, cfg: TrainConfig, seed):
        self.cfg = cfg
        if cfg.task == "teacher":
            W = make_weights(cfg.teacher_mean, cfg.teacher_var, cfg.d, seed=seed)
            self.teacher = {"W": W, "W_V": np.eye(cfg.d)}
            self.teacher_cfg = att.Config(d=cfg.d, attention=cfg.attention, mode="last")

    def draw(self, rng: np.random.Generator, n: int):
        """A fresh batch of random walks and its targets.

        Parameters
        ----------
        rng : numpy.random.Generator
        n : int
            Number of sequences.

        Returns
        -------
        tuple
            Sequences ``(n, T, d)`` and targets: the next token (``next-token``) or the teacher's output.
        """
        cfg = self.cfg
        extra = 1 if cfg.task == "next-token" else 0
        seqs = next(walk.sample(n, cfg.T, cfg.d, seed=rng, batch_size=n, extra=extra))
        if extra:
            return seqs[:, :-1], seqs[:, -1]
        return seqs, att.forward(self.teacher, seqs, self.teacher_cfg)[0]


def loss_and_grads(params: dict, X, target, model: att.Config, lam: float,
                   variant: str = locater.DEFAULT):
    """Mean-squared loss, LocAteR penalty and the gradient of their sum."""
    Y, cache = att.forward(params, X, model)
    resid = Y - target
    loss = 0.5 * float(np.sum(resid * resid)) / X.shape[0]
    grads = att.backward(params, cache, resid / X.shape[0], model, inputs=False)
    W = cache["W"]
    penalty = locater.penalty(W, variant)
    if lam > 0:
        for name, g in locater.gradients(params, lam, variant).items():
            grads[name] = grads[name] + g
    return loss, penalty, grads


def measure(params: dict, X, target, cfg: TrainConfig) -> dict:
    """Instrumentation of the current model on the probe batch (see module doc)."""
    model = cfg.model()
    Y, cache = att.forward(params, X, model)
    resid = Y - target
    W, A, Z = cache["W"], cache["A"], cache["Z"]
    n = X.shape[0]
    prof = theory(W, cfg.T, scale=model.c, method="gaussian")
    rho_th = prof.rho
    moments = Moments()
    moments.add(centered(Z))
    mean, var, mean_se, var_se = moments.result()
    logits = SimpleNamespace(mean=mean, mean_se=mean_se, variance=var, variance_se=var_se)
    out = dict(heldout_loss=0.5 * float(np.sum(resid * resid)) / n,
               logit_moments_max_z=float(max(np.max(z_scores(prof.mean, mean, mean_se)),
                                             np.max(z_scores(prof.variance, var, var_se)))),
               eig_mean=float(eig_mean(W)), eig_var=float(eig_var(W)), spread=locater.penalty(W),
               spread_symmetric=locater.penalty(W, "symmetric"),
               spread_abs=locater.penalty(W, "complex-abs"),
               attention_entropy=nanmean(attention_entropy(A)), rho_theory=rho_th)
    if cfg.attention == "pwl":
        inside = np.count_nonzero(linear_regime(Z), axis=0)
        emp = inside / n
        low, high = wilson_interval(inside, n, 0.95)
        c = compare(prof, SimpleNamespace(rho=emp, ci_low=low, ci_high=high, **vars(logits)))
        out.update(rho_ci_low=low, rho_ci_high=high, rho_max_abs_error=c.max_abs_error,
                   rho_coverage=c.coverage)
    else:
        emp = np.mean(A * (1 - A), axis=0)
    out["profile_empirical"] = emp
    out["profile_distance"] = _tv(emp, rho_th)
    out["theory_localization"] = {k: float(v) for k, v in localization_metrics(rho_th, empty="nan").items()}
    Y_all, cache_all = att.forward(params, X[: min(n, 512)], replace(model, mode="all"))
    out.update(rank_residual=nanmean(rank_residual(Y_all)),
               all_entropy=nanmean(attention_entropy(cache_all["A"])),
               max_attention=nanmean(max_attention(cache_all["A"])))
    return out


def _tv(a, b) -> float:
    sa, sb = a.sum(), b.sum()
    if sa == 0 or sb == 0:
        return float("nan")
    return 0.5 * float(np.abs(a / sa - b / sb).sum())


#: A run has diverged when its loss exceeds this multiple of its first step's loss.
DIVERGED = 1e6
#: Largest gradient entry the optimizers accept (Adam squares it).
GRADIENT_MAX = 1e150
#: Largest weight entry after a step: ``W = W_Q W_K^T`` then stays below ``d 1e100`` and its
#: ``tr(W^2)`` finite (no trained run comes near; Adam moves a weight by about ``lr`` a step).
WEIGHT_MAX = 1e50


def _check_step(step: int, loss: float, grads: dict, cfg: TrainConfig, seen: list) -> None:
    """Refuse a run that diverges (loss non-finite or ``DIVERGED`` times its first value) or
    whose gradients would overflow the optimizer, naming ``lr`` (or ``locater``)."""
    if not seen:
        seen.append(loss)
    first = seen[0]
    biggest = max((float(np.max(np.abs(g), initial=0.0)) for g in grads.values()), default=0.0)
    blame = "locater" if cfg.locater > 0 and biggest > GRADIENT_MAX else "lr"
    if not np.isfinite(loss) or loss > DIVERGED * max(first, 1e-300) or not biggest <= GRADIENT_MAX:
        what = (f"gradients of size {biggest:.3g}" if not biggest <= GRADIENT_MAX
                else f"a loss of {loss:.3g} (first step: {first:.3g})")
        raise _checks.ArgumentError(blame, f"is too large for this run ({getattr(cfg, blame):g}): training "
                                           f"diverged, with {what} at step {step}; lower it")


def _check_weights(step: int, params: dict, cfg: TrainConfig) -> None:
    """Refuse, naming ``lr``, a step that moved a weight beyond :data:`WEIGHT_MAX` (or to inf or NaN):
    the moments of ``W = W_Q W_K^T`` that the next measure takes would overflow float64."""
    biggest = max((float(np.max(np.abs(p), initial=0.0)) for p in params.values()), default=0.0)
    if not biggest <= WEIGHT_MAX:
        raise _checks.ArgumentError("lr", f"is too large for this run ({cfg.lr:g}): training diverged, with "
                                          f"weights of size {biggest:.3g} after step {step}; lower it")


def train(cfg: TrainConfig, *, progress: bool = False) -> Result:
    """Run the training and return the run record (configuration and history)."""
    seeds = np.random.SeedSequence(cfg.seed).spawn(4)       # init, teacher, data, probe
    model = cfg.model()
    params = att.init_params(model, seeds[0], qk_std=cfg.init_scale)
    task = Task(cfg, seeds[1])
    data = np.random.default_rng(seeds[2])
    probe_X, probe_target = task.draw(np.random.default_rng(seeds[3]), cfg.probe)
    opt = optim.make(cfg.optimizer, cfg.lr)
    history: list[dict] = []
    losses: list[float] = []
    hold = cfg.locater > 0
    shadow = optim.make(cfg.optimizer, cfg.lr) if hold and cfg.locater_mean == "task" else None
    if hold and cfg.locater_mean not in ("initial", "task"):
        locater.project(params, cfg.d * float(cfg.locater_mean))
    target_trace, drift = locater.trace(params), 0.0

    def log(step):
        rec = dict(step=step, train_loss=float(np.mean(losses)) if losses else None)
        rec.update(measure(params, probe_X, probe_target, cfg))
        history.append(rec)
        losses.clear()

    losses_seen: list[float] = []
    log(0)
    for step in iterate(range(1, cfg.steps + 1), progress, desc="training", unit="step", mininterval=0.5):
        X, target = task.draw(data, cfg.batch)
        with np.errstate(all="ignore"), blas_threads(1):   # small products: one BLAS thread
            loss, _, grads = loss_and_grads(params, X, target, model, 0.0)
            _check_step(step, loss, grads, cfg, losses_seen)
        losses.append(loss)
        if shadow is not None:                 # where the task loss alone would move tr(W)
            qk = {k: params[k].copy() for k in QK_NAMES if k in params}
            shadow.step(qk, {k: grads[k] for k in qk})
            target_trace = locater.trace(qk)
        if hold:
            for name, g in locater.gradients(params, cfg.locater, cfg.locater_variant).items():
                grads[name] = grads[name] + g
        with np.errstate(all="ignore"):
            _check_step(step, loss, grads, cfg, losses_seen)
            opt.step(params, grads)
            _check_weights(step, params, cfg)
        if hold:
            locater.project(params, target_trace)
            drift = max(drift, abs(locater.trace(params) - target_trace) / max(abs(target_trace), 1e-300))
        if step % cfg.log_every == 0 or step == cfg.steps:
            log(step)
    return Result(dict(version=__version__, config=asdict(cfg), history=history,
                       locater_mean_drift=drift if hold else None,
                       final=dict(W=att.qk_matrix(params), W_V=params["W_V"])),
                  kind="attention-training", keys={"history": ("step",)})


#: The study's descriptor: its result is an ``attention-training`` :class:`~sigprop.core.labelled.Result`
#: over ``step`` (the history), with the profiles over ``position`` and the final matrices.
STUDY = register(Study(name="attention-training", function="sigprop.model.train:train", kind="attention-training",
                       arrays={"history_rho_theory": ("position",), "history_profile_empirical": ("position",),
                               "final_W": ("row", "column"), "final_W_V": ("row", "column")},
                       description="training of the one-layer attention model: history and final matrices"))


# --- figure ---------------------------------------------------------------------------------

def history_figure(record: dict, path) -> None:
    """Training history: losses, eigenspectrum, entropies, collapse, and profiles."""
    from sigprop.plotting import pyplot, save

    plt = pyplot()
    cfg, hist = record["config"], record["history"]
    step = np.array([h["step"] for h in hist])

    def series(key):
        return np.array([np.nan if h.get(key) is None else h[key] for h in hist], dtype=float)

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    ax = axes[0, 0]
    ax.semilogy(step[1:], series("train_loss")[1:], "k-", label="train L")
    ax.semilogy(step, series("heldout_loss"), "k--", label="held-out L")
    ax.set(xlabel="step", ylabel="loss L", title="loss")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    ax.plot(step, series("eig_mean"), "k-", label="eigenvalue mean m")
    ax.plot(step, series("eig_var"), "k--", label="eigenvalue variance v")
    ax.set(xlabel="step", ylabel="value", title="QK eigenspectrum of W")
    ax.legend(fontsize=8)
    ax = axes[0, 2]
    ax.plot(step, series("attention_entropy"), "k-", label="last query")
    ax.plot(step, series("all_entropy"), "k--", label="all queries")
    ax.plot(step, series("max_attention"), "k:", label="largest weight (all queries)")
    ax.set(xlabel="step", ylabel="entropy / log T; largest weight", title="entropy collapse",
           ylim=(0, 1.02))
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    ax.plot(step, series("rank_residual"), "k-")
    ax.set(xlabel="step", ylabel=r"$\|Y - \bar y\|_F / \|Y\|_F$", title="rank collapse (0 = collapsed)")
    ax = axes[1, 1]
    ax.plot(step, series("profile_distance"), "k-")
    ax.set(xlabel="step", ylabel="total variation", title="empirical vs closed-form profile")
    ax = axes[1, 2]
    pos = np.arange(1, cfg["T"] + 1)
    pwl = cfg["attention"] == "pwl"
    emp_label = "empirical $\\rho_i$" if pwl else "$E[p_i(1-p_i)]$"

    def shown(x):          # softmax: both profiles as shares, as profile_distance compares them
        x = np.asarray(x, dtype=float)
        return x if pwl or x.sum() == 0 else x / x.sum()

    for h, style, when in ((hist[0], "0.6", "start"), (hist[-1], "k", "end")):
        ax.plot(pos, shown(h["rho_theory"]), "-", color=style, label=f"closed-form $\\rho_i$, {when}")
        ax.plot(pos, shown(h["profile_empirical"]), "o", ms=3, mfc="white", color=style,
                label=f"{emp_label}, {when}")
    ax.set(xlabel="position i", ylabel="$\\rho_i$" if pwl else "share of the profile",
           title="signal propagation profile")
    ax.legend(fontsize=7)
    fig.suptitle(f"task {cfg['task']}, {cfg['attention']} attention, d = {cfg['d']}, T = {cfg['T']}, "
                 f"LocAteR $\\lambda$ = {cfg['locater']}, seed {cfg['seed']}", fontsize=10)
    fig.tight_layout()
    save(fig, path)
