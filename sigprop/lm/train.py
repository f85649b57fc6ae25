"""Training the language model: AdamW with warm-up and cosine decay, clipping, checkpoints.

* Data: random windows of ``length + 1`` tokens from the training split
  (:func:`sigprop.lm.corpus.random_windows`); the validation windows are fixed
  (:func:`sigprop.lm.corpus.eval_windows`, at most ``eval_tokens`` tokens).
* Learning rate: ``lr t / warmup`` for ``t <= warmup``, then cosine decay from ``lr`` to
  ``min_lr * lr`` at the last step.
* AdamW: decoupled weight decay ``theta <- theta - lr_t wd theta`` on the matrices
  (embeddings included; not on gains, biases or ``gamma``), then an Adam step
  (:class:`sigprop.model.optim.Adam`) on ``cross-entropy + penalty``, after clipping the
  global gradient norm to ``clip``.
* Seeds: one ``SeedSequence(seed)`` spawns the initialization, the data order and the
  dropout masks.  Same seed, same numbers.
* Checkpoints (``out/checkpoint.npz``, every ``checkpoint_every`` steps and at the end) hold
  the parameters, the Adam moments, both generators' states and the history so far, written
  atomically; ``resume=True`` continues from it and gives the same numbers as an
  uninterrupted run.  The run record ``out/run.json`` (configuration, data description,
  whole history, timing) is rewritten atomically at every evaluation.
* LocAteR and the eigenvalue mean: with ``locater_mean="task"`` (default) every head's
  ``tr(W_h)`` is set after each step, by :func:`sigprop.lm.regularizers.hold_means`, to the
  value the same step would give without the penalty: a shadow Adam fed the cross-entropy's
  own gradients of ``W_Q, W_K`` (same clipping factor, same weight decay) says where that is.
  The penalty then never moves the mean; the task loss does.  ``locater_mean="free"``: the
  penalty alone, the mean free to drift.  ``locater_mean_drift`` in the record is the largest
  relative deviation of a head's trace from its target after any step.
* Every ``eval_every`` steps: :func:`sigprop.lm.instruments.measure` on the validation windows;
  with ``datamodel = n > 0`` also the data model fitted on the ``n`` validation windows after
  the probe windows and its prediction of each head's linear-regime share
  (:func:`sigprop.lm.instruments.datamodel`; ``datamodel_exact`` adds the exact method); the
  record's ``calibration`` sets every prediction beside the measured share over all heads and
  evaluations (:func:`sigprop.lm.instruments.calibration`).
* Stopping rule (``patience > 0``): an evaluation *improves* when its validation perplexity is
  below ``best (1 - min_improvement)``, ``best`` the lowest perplexity of the evaluations before
  it; the run stops after ``patience`` evaluations in a row without improvement, or at ``steps``
  (the maximum; the learning-rate schedule always spans ``steps``).  The decision is a function of
  the history alone (:func:`stopping`), so a resumed run stops where an uninterrupted one does.
  The record's ``best`` is the evaluation with the lowest perplexity and ``final`` its measures;
  with ``out``, ``out/best.npz`` holds the parameters at that step.  ``patience = 0``: no rule,
  ``final`` is the last evaluation.
* BLAS threads: ``train(..., threads=1)`` runs the whole training with at most that many BLAS
  threads (:func:`sigprop.core.threads.blas_threads`); the products of one step are small, and
  on a shared machine more threads mostly wait.  ``threads=None`` leaves BLAS as it is.
"""
from __future__ import annotations

import io
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sigprop._version import __version__
from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.core.labelled import Result
from sigprop.core.memory import driver, matrices, require
from sigprop.core.progress import progress_bar
from sigprop.core.results import atomic_write
from sigprop.core.study import Dim, Study, register
from sigprop.core.threads import blas_threads
from sigprop.lm import corpus as _corpus
from sigprop.lm import instruments, transformer
from sigprop.lm import regularizers as reg
from sigprop.model.optim import Adam

LOCATER_MEANS = ("task", "free")


#: The largest learning rate: Adam moves every weight by about ``lr`` a step, so beyond 1 a step moves
#: weights of scale ``1/sqrt(D)`` by more than themselves (and ``1 - lr weight_decay`` leaves float32 at 1e38).
LR_MAX = 1.0



def require_memory(m, rows: int, copies: int = 6, sequences: str = "batch") -> None:
    """Refuse (``ArgumentError`` naming the size that drives it; the rows are named ``sequences``) a model
    ``m`` (a :class:`~sigprop.lm.transformer.Config`) run on ``rows`` sequences whose memory exceeds the
    machine's, before any work: per layer, ``rows x heads`` float32 ``T x T`` score, probability and gradient
    arrays (three) and the boolean causal mask; and ``copies`` float32 copies of the parameters (training: the
    parameters, gradients, Adam's two moments and the shadow's two, 6; a forward pass at initialization: 1),
    the float64 draw of the largest matrix, and the logits, softmax and their gradient of the rows."""
    def need(length: float, rows: float, heads: float, layers: float) -> float:
        return matrices(3 * layers * heads * rows, length, length, 4) + matrices(1, length, length, 1)

    def need_of(**values: float) -> float:       # by name: the rows are named after the batch or the probe
        return need(*values.values())
    require(need(m.length, rows, m.heads, m.layers),
            driver(need_of, {"length": (m.length, 1), sequences: (rows, 1), "heads": (m.heads, 1),
                             "layers": (m.layers, 1)}),
            f"{m.layers} layer(s) of {m.heads} head(s) x {rows} sequences of {m.length} x {m.length} "
            "float32 attention arrays")

    def weights(vocab: float, width: float, ff: float, layers: float, batch: float, length: float) -> float:
        count = vocab * width * (1 if m.tied else 2) + length * width + layers * (4 * width ** 2 + 2 * width * ff)
        return 4.0 * copies * count + 8.0 * max(vocab, ff, width) * width + 4.0 * 3 * batch * length * vocab
    sizes: dict[str, tuple[float, float]] = {
        "vocab": (m.vocab, 2), "width": (m.width, m.heads), "ff": (m.ff, 1), "layers": (m.layers, 1),
        sequences: (rows, 1), "length": (m.length, 1)}
    state = "the parameters and optimizer state" if copies > 1 else "the parameters"
    require(weights(*(float(v) for v, _ in sizes.values())),
            driver(lambda **kw: weights(*kw.values()), sizes),
            f"{state} of a {m.vocab} x {m.width} embedding and {m.layers} layer(s), "
            f"and {rows} x {m.length} x {m.vocab} float32 logits")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on (saved in the run record)."""

    model: transformer.Config = field(default_factory=transformer.Config)
    corpus: str = "shakespeare"
    tokenizer: str = "bpe"
    steps: int = 2000
    batch: int = 16
    lr: float = 3e-3
    warmup: int = 100
    min_lr: float = 0.1
    weight_decay: float = 0.01
    clip: float = 1.0
    beta2: float = 0.98
    seed: int = 0
    eval_every: int = 100
    eval_tokens: int = 16384
    probe: int = 16
    checkpoint_every: int = 500
    locater_mean: str = "task"
    patience: int = 0
    min_improvement: float = 0.0
    datamodel: int = 0
    datamodel_exact: bool = False

    def __post_init__(self):
        if not isinstance(self.model, transformer.Config):
            raise _checks.ArgumentError("model", f"must be a model configuration, got {type(self.model).__name__}")
        if not isinstance(self.corpus, str) or not self.corpus.strip():
            raise _checks.ArgumentError("corpus", f"must be a corpus name or folder (text), got {self.corpus!r:.80}")
        _checks.integer("steps", self.steps, 1)
        _checks.integer("batch", self.batch, 1)
        _checks.real("lr", self.lr, positive=True, maximum=LR_MAX)
        _checks.integer("warmup", self.warmup, 0)
        _checks.real("min_lr", self.min_lr, minimum=0.0, maximum=1.0)
        _checks.real("weight_decay", self.weight_decay, minimum=0.0)
        if self.lr * self.weight_decay > 1:      # each step multiplies the weights by 1 - lr weight_decay
            raise _checks.ArgumentError(
                "weight_decay", f"must be in [0, 1/lr] = [0, {1 / self.lr:g}] at lr = {self.lr:g} (each step "
                                f"multiplies the weights by 1 - lr weight_decay, which must stay in [0, 1]), "
                                f"got {self.weight_decay:g}")
        _checks.real("clip", self.clip, positive=True)
        _checks.real("beta2", self.beta2, minimum=0.0, maximum=1.0, open_max=True)
        _checks.integer("seed", self.seed, 0)
        _checks.integer("eval_every", self.eval_every, 1)
        _checks.integer("eval_tokens", self.eval_tokens, 1)
        _checks.integer("probe", self.probe, 1)
        _checks.integer("checkpoint_every", self.checkpoint_every, 1)
        _checks.integer("patience", self.patience, 0)
        _checks.integer("datamodel", self.datamodel, 0)
        _checks.real("min_improvement", self.min_improvement, minimum=0.0, maximum=1.0, open_max=True)
        _checks.choice("locater_mean", self.locater_mean, LOCATER_MEANS)
        _checks.choice("tokenizer", self.tokenizer, _corpus.TOKENIZERS)
        self._require_memory()

    def _require_memory(self) -> None:
        """Refuse (before any work) a run that exceeds the machine's memory (:func:`require_memory`
        for the larger of the training batch and the probe, named after it, with the optimizer's state)."""
        require_memory(self.model, max(self.batch, self.probe),
                       sequences="probe" if self.probe > self.batch else "batch")

    def to_dict(self) -> dict:
        """The configuration as a plain dict (the model's configuration nested).

        Returns
        -------
        dict
        """
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """The configuration from :meth:`to_dict`'s output.

        Parameters
        ----------
        d : dict

        Returns
        -------
        TrainConfig
        """
        d = dict(d)
        d["model"] = transformer.Config(**d["model"])
        return cls(**d)

    def same(self, other: dict) -> bool:
        """Whether the stored configuration ``other`` (a :meth:`to_dict` output, possibly written
        before a field with a default existed) is this one.

        Parameters
        ----------
        other : dict

        Returns
        -------
        bool
        """
        try:
            other = TrainConfig.from_dict(other).to_dict()
        except (TypeError, ValueError):
            return False
        return json.loads(json.dumps(other)) == json.loads(json.dumps(self.to_dict()))

    def differences(self, other: dict) -> list[str]:
        """The fields where the stored configuration ``other`` differs from this one, as
        ``field: stored -> this`` (nested fields dotted, ``model.width: 16 -> 32``); empty when :meth:`same`.

        Parameters
        ----------
        other : dict

        Returns
        -------
        list of str
        """
        if self.same(other):
            return []
        try:
            theirs = json.loads(json.dumps(TrainConfig.from_dict(other).to_dict()))
        except (TypeError, ValueError):
            return ["the stored configuration is not one this version reads"]
        ours = json.loads(json.dumps(self.to_dict()))

        def flat(d: dict, prefix: str = "") -> dict:
            out: dict = {}
            for k, v in d.items():
                out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
            return out
        a, b = flat(theirs), flat(ours)
        return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


@dataclass
class Data:
    """Token ids of the three splits, the tokenizer and the unigram baseline."""

    ids: dict
    vocab_size: int
    description: dict


def prepare(corpus: _corpus.Corpus, kind: str = "bpe", vocab: int = 4096, *, cache=None) -> Data:
    """Tokenize the splits (BPE trained on the training split) and compute the baseline."""
    tok = _corpus.tokenizer(kind, corpus.texts["train"], vocab, cache=cache)
    ids = _corpus.encode_splits(tok, corpus, cache=cache)
    unigram = {s: _corpus.unigram_perplexity(ids["train"], ids[s], tok.vocab_size) for s in _corpus.SPLITS}
    desc = dict(corpus.describe(), tokenizer=kind, vocab_size=tok.vocab_size,
                tokens={s: int(v.size) for s, v in ids.items()}, unigram_perplexity=unigram)
    return Data(ids, tok.vocab_size, desc)


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """Warm-up then cosine decay (module doc); ``step`` counts from 1."""
    if cfg.warmup and step <= cfg.warmup:
        return cfg.lr * step / cfg.warmup
    span = max(cfg.steps - cfg.warmup, 1)
    frac = min(max(step - cfg.warmup, 0) / span, 1.0)
    return cfg.lr * (cfg.min_lr + (1 - cfg.min_lr) * 0.5 * (1 + np.cos(np.pi * frac)))


def stopping(history: list, patience: int, min_improvement: float = 0.0) -> tuple[int, bool]:
    """The stopping rule on a history of evaluations (rows with ``perplexity``).

    An evaluation improves when its perplexity is below ``best (1 - min_improvement)``, ``best``
    the lowest perplexity before it (the first evaluation always improves).

    Parameters
    ----------
    history : list of dict
        The evaluations in order.
    patience : int
        Evaluations in a row without improvement that stop the run (0: never stop).
    min_improvement : float
        Relative improvement that counts, in ``[0, 1)``.

    Returns
    -------
    best : int
        Index in ``history`` of the lowest perplexity (the first such evaluation).
    stop : bool
        Whether the last ``patience`` evaluations all failed to improve.
    """
    best_value, best, stale = np.inf, 0, 0
    for i, row in enumerate(history):
        value = row["perplexity"]
        if value < best_value * (1 - min_improvement):
            stale = 0
        else:
            stale += 1
        if value < best_value:
            best_value, best = value, i
    return best, bool(patience > 0 and stale >= patience)


def clip_gradients(grads: dict, max_norm: float) -> float:
    """Scale ``grads`` in place to global norm at most ``max_norm``; return the norm before."""
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return norm


def _decayed(name: str, value: np.ndarray) -> bool:
    return value.ndim >= 2


class Checkpoint:
    """Save and load the whole training state in one ``.npz`` (written atomically)."""

    def __init__(self, path):
        self.path = Path(path)

    def save(self, state: dict) -> None:
        """Write the training state atomically (parameters, optimizer moments, random states, history).

        Parameters
        ----------
        state : dict
            The trainer's state.
        """
        arrays = {f"p/{k}": v for k, v in state["params"].items()}
        arrays.update({f"m/{k}": v for k, v in state["opt"].m.items()})
        arrays.update({f"v/{k}": v for k, v in state["opt"].v.items()})
        if state["shadow"] is not None:
            arrays.update({f"sm/{k}": v for k, v in state["shadow"].m.items()})
            arrays.update({f"sv/{k}": v for k, v in state["shadow"].v.items()})
        meta = dict(step=state["step"], t=state["opt"].t, data_rng=state["data_rng"].bit_generator.state,
                    drop_rng=state["drop_rng"].bit_generator.state, history=state["history"],
                    losses=state["losses"], config=state["config"], elapsed=state["elapsed"],
                    shadow_t=state["shadow"].t if state["shadow"] is not None else 0, drift=state["drift"])
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write(self.path, lambda tmp: Path(tmp).write_bytes(buf.getvalue()))

    def load(self) -> dict:
        """Read the training state written by :meth:`save`.

        Returns
        -------
        dict
            The metadata, with ``params`` and the optimizer moments ``m``, ``v``, ``sm``, ``sv``.
        """
        parts: dict[str, dict[str, np.ndarray]] = {"p": {}, "m": {}, "v": {}, "sm": {}, "sv": {}}
        try:
            with np.load(self.path, allow_pickle=False) as z:
                meta = json.loads(bytes(z["meta"]).decode())
                for key in z.files:
                    if key != "meta":
                        kind, _, name = key.partition("/")
                        parts[kind][name] = z[key]
        except Exception as exc:  # noqa: BLE001 - a truncated or damaged file (zip, JSON, key errors): one line
            raise ArgumentError("run_dir", f"cannot resume from {self.path}: the checkpoint is damaged or "
                                           f"incomplete ({type(exc).__name__}); remove it to start again") from None
        meta.update(params=parts["p"], m=parts["m"], v=parts["v"], sm=parts["sm"], sv=parts["sv"])
        return meta

    def stored_config(self) -> dict:
        """The configuration of the run stored in the checkpoint (only its metadata is read).

        Returns
        -------
        dict
            A :meth:`TrainConfig.to_dict` output.
        """
        try:
            with np.load(self.path, allow_pickle=False) as z:
                return dict(json.loads(bytes(z["meta"]).decode())["config"])
        except Exception as exc:  # noqa: BLE001 - a truncated or damaged file (zip, JSON, key errors): one line
            raise ArgumentError("run_dir", f"cannot resume from {self.path}: the checkpoint is damaged or "
                                           f"incomplete ({type(exc).__name__}); remove it to start again") from None

    def check_config(self, cfg: TrainConfig) -> None:
        """Refuse (one line naming ``run_dir``) to resume the stored run with another configuration ``cfg``,
        saying which fields differ and what to do.

        Parameters
        ----------
        cfg : TrainConfig
        """
        changed = cfg.differences(self.stored_config())
        if changed:
            shown = "; ".join(changed[:4]) + (f"; and {len(changed) - 4} more" if len(changed) > 4 else "")
            raise ArgumentError("run_dir", f"cannot resume from {self.path}: it holds a run of another configuration "
                                           f"(stored -> given: {shown}); resume with the options the run was started "
                                           "with, or give another folder (or remove the checkpoint to start again)")


def check_resume(cfg: TrainConfig, out) -> None:
    """Refuse, before any work (the corpus and its tokenizer included), to resume the run kept in the
    folder ``out`` with a configuration other than its own (:meth:`Checkpoint.check_config`); a folder
    without a checkpoint starts a new run.

    Parameters
    ----------
    cfg : TrainConfig
    out : path-like
        The run's folder.
    """
    ckpt = Checkpoint(Path(out) / "checkpoint.npz")
    if ckpt.path.exists():
        ckpt.check_config(cfg)


def train(cfg: TrainConfig, data: Data, *, out=None, resume: bool = False, progress: bool = False,
          stop_after: int | None = None, threads: int | None = 1) -> Result:
    """Run the training and return the run record (also written to ``out/run.json``).

    ``stop_after`` ends the run early at that step (after saving a checkpoint), as an
    interruption would; a later call with ``resume=True`` finishes it.  ``threads``: BLAS
    threads during the run (``None``: as they are).
    """
    if threads is not None:
        threads = _checks.workers("threads", threads)
        with blas_threads(threads):
            record = _train(cfg, data, out=out, resume=resume, progress=progress, stop_after=stop_after)
    else:
        record = _train(cfg, data, out=out, resume=resume, progress=progress, stop_after=stop_after)
    return record


@dataclass
class _Run:
    """What a training run carries from step to step (and a checkpoint stores)."""
    params: dict
    opt: Adam
    shadow: Adam | None                  # LocAteR with the task's mean: where the task loss alone moves tr(W_h)
    data_rng: np.random.Generator
    drop_rng: np.random.Generator
    start: int
    history: list
    losses: list
    elapsed: float
    drift: float


def initial_params(cfg: TrainConfig) -> dict:
    """The parameters a run of ``cfg`` starts from (drawn from the first stream its seed spawns)."""
    return transformer.init_params(cfg.model, np.random.SeedSequence(cfg.seed).spawn(3)[0])


def _begin(cfg: TrainConfig, ckpt: Checkpoint | None, resume: bool) -> _Run:
    """A new run from ``cfg``'s seed, or the one stored in ``ckpt`` when ``resume`` and it exists."""
    model = cfg.model
    _, data_seed, drop_seed = np.random.SeedSequence(cfg.seed).spawn(3)
    opt = Adam(cfg.lr, beta2=cfg.beta2)
    name, lam = model.reg
    hold = name == "locater" and lam > 0 and cfg.locater_mean == "task"
    shadow = Adam(cfg.lr, beta2=cfg.beta2) if hold else None
    if resume and ckpt is not None and ckpt.path.exists():
        ckpt.check_config(cfg)
        st = ckpt.load()
        opt.m, opt.v, opt.t = st["m"], st["v"], st["t"]
        data_rng, drop_rng = np.random.default_rng(), np.random.default_rng()
        data_rng.bit_generator.state, drop_rng.bit_generator.state = st["data_rng"], st["drop_rng"]
        if shadow is not None:
            shadow.m, shadow.v, shadow.t = st["sm"], st["sv"], st["shadow_t"]
        return _Run(st["params"], opt, shadow, data_rng, drop_rng, st["step"], st["history"], st["losses"],
                    st["elapsed"], st["drift"])
    return _Run(initial_params(cfg), opt, shadow, np.random.default_rng(data_seed),
                np.random.default_rng(drop_seed), 0, [], [], 0.0, 0.0)


def _step(run: _Run, cfg: TrainConfig, data: Data, step: int) -> tuple[float, float, float]:
    """One optimizer step (LocAteR's means held if asked); returns the loss, the penalty and the gradient norm."""
    model, params, shadow = cfg.model, run.params, run.shadow
    qk = reg.qk_names(model.layers)
    drop = run.drop_rng if model.dropout > 0 else None
    batch = _corpus.random_windows(data.ids["train"], model.length, cfg.batch, run.data_rng)
    with np.errstate(over="ignore", invalid="ignore"):
        task: dict = {}
        loss, penalty, grads = transformer.loss_and_grads(params, batch, model, rng=drop, task=task)
    if not np.isfinite(loss):
        raise FloatingPointError(f"loss became {loss} at step {step}: lower lr (now {cfg.lr})")
    norm = clip_gradients(grads, cfg.clip)
    lr = learning_rate(step, cfg)
    for key, value in params.items():
        if _decayed(key, value):
            value *= value.dtype.type(1 - lr * cfg.weight_decay)
    if shadow is not None:                 # where the task loss alone would move each tr(W_h)
        factor = min(1.0, cfg.clip / norm) if norm > 0 else 1.0
        ghost = {k: params[k].copy() for k in qk}
        shadow.lr = lr
        shadow.step(ghost, {k: task[k] * task[k].dtype.type(factor) for k in qk})
        targets = reg.head_traces(ghost, model.layers, model.heads)
    run.opt.lr = lr
    run.opt.step(params, grads)
    if shadow is not None:
        reg.hold_means(params, targets, model.heads)
        now = reg.head_traces(params, model.layers, model.heads)
        run.drift = max(run.drift, float(np.max(np.abs(now - targets) / np.maximum(np.abs(targets), 1e-30))))
    return loss, penalty, norm


def _train(cfg: TrainConfig, data: Data, *, out, resume: bool, progress: bool, stop_after: int | None) -> Result:
    model = cfg.model
    if data.vocab_size > model.vocab:
        raise ArgumentError("vocab", f"must be >= the tokenizer's {data.vocab_size}, got {model.vocab}")
    out = Path(out) if out is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    ckpt = Checkpoint(out / "checkpoint.npz") if out is not None else None
    valid = _corpus.eval_windows(data.ids["valid"], model.length, cfg.eval_tokens)
    config = cfg.to_dict()
    run = _begin(cfg, ckpt, resume)
    history, losses = run.history, run.losses
    record = Result(dict(kind="lm-train", version=__version__, config=config, data=data.description,
                         history=history), kind="lm-train", keys={"history": ("step",)},
                    dims={"history": ("layer", "head")})      # per-layer and per-head measures
    t0 = time.perf_counter() - run.elapsed

    def state(step):
        return dict(params=run.params, opt=run.opt, data_rng=run.data_rng, drop_rng=run.drop_rng, history=history,
                    losses=losses, config=config, step=step, elapsed=time.perf_counter() - t0,
                    shadow=run.shadow, drift=run.drift)

    def evaluate(step):
        row = dict(step=step, train_loss=float(np.mean([x[0] for x in losses])) if losses else None,
                   penalty=float(np.mean([x[1] for x in losses])) if losses else None,
                   grad_norm=float(np.mean([x[2] for x in losses])) if losses else None,
                   lr=learning_rate(max(step, 1), cfg), seconds=time.perf_counter() - t0)
        row.update(instruments.measure(run.params, valid, model, probe=cfg.probe, fit=cfg.datamodel,
                                       exact=cfg.datamodel_exact))
        history.append(row)
        losses.clear()
        if out is not None:
            Result(dict(record, seconds=row["seconds"], steps_done=step), kind=record.kind,
                   keys=record.keys_of, dims=record.dims_of).save(out / "run.json")

    def save_best(step):
        if out is not None:
            buf = io.BytesIO()
            np.savez(buf, step=np.int64(step), **run.params)
            atomic_write(out / "best.npz", lambda tmp: Path(tmp).write_bytes(buf.getvalue()))

    if run.start == 0:
        evaluate(0)
        save_best(0)
    stopped = stopping(history, cfg.patience, cfg.min_improvement)[1]
    with progress_bar(cfg.steps, progress, desc="lm train", unit="step", mininterval=1.0, initial=run.start) as bar:
        for step in range(run.start + 1, cfg.steps + 1):
            if stopped:
                break
            loss, penalty, norm = _step(run, cfg, data, step)
            losses.append((loss, penalty, norm))
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            bar.update(1)
            if step % cfg.eval_every == 0 or step == cfg.steps:
                evaluate(step)
                best, stopped = stopping(history, cfg.patience, cfg.min_improvement)
                if best == len(history) - 1:
                    save_best(step)
            if ckpt is not None and (step % cfg.checkpoint_every == 0 or step == cfg.steps or step == stop_after
                                     or stopped):
                ckpt.save(state(step))
            if stop_after is not None and step >= stop_after:
                break
    return _finish(record, run, cfg, data, out, stop_after, t0)


def _finish(record: Result, run: _Run, cfg: TrainConfig, data: Data, out: Path | None, stop_after: int | None,
            t0: float) -> Result:
    """The run record with its summary (best and final evaluation), saved to ``out/run.json``."""
    history = run.history
    best, stopped = stopping(history, cfg.patience, cfg.min_improvement)
    final = history[best] if cfg.patience > 0 else history[-1]
    if stop_after is not None and not stopped and history[-1]["step"] < cfg.steps:
        final = None                               # interrupted: not finished, no final record
    record.update(seconds=time.perf_counter() - t0, steps_done=history[-1]["step"],
                  locater_mean_drift=run.drift if run.shadow is not None else None, stopped_early=stopped,
                  best=dict(step=history[best]["step"], index=best, perplexity=history[best]["perplexity"]),
                  blas_threads=_blas_limit(), calibration=instruments.calibration(history))
    if final is not None:
        record.update(final=dict(step=final["step"], perplexity=final["perplexity"],
                                 entropy_mean=final["entropy_mean"],
                                 unigram_perplexity=data.description["unigram_perplexity"]["valid"]))
    if out is not None:
        record.save(out / "run.json")
    record["params"] = run.params
    record.dims_of.update({f"params_{k}": axes for k in run.params if (axes := parameter_axes(k)) is not None})
    return record


#: The axes of the language model's parameters by the last part of their name (``l0.W_Q`` -> ``W_Q``).
PARAMETER_AXES = {"tok_emb": ("vocab", "width"), "pos_emb": ("length", "width"), "W_out": ("width", "vocab"),
                  "b_out": ("vocab",), "W_Q": ("width", "width_out"), "W_K": ("width", "width_out"),
                  "W_V": ("width", "width_out"), "W_O": ("width", "width_out"), "W_1": ("width", "ff"),
                  "b_1": ("ff",), "W_2": ("ff", "width"), "b_2": ("width",)}


def parameter_axes(name: str) -> tuple[str, ...] | None:
    """The axes of the parameter ``name`` (:data:`PARAMETER_AXES`; a LayerNorm's gain and bias run over
    ``width``, or ``head_dim`` for the query-key norms), None for a scalar or an unknown name."""
    last = name.rsplit(".", 1)[-1]
    if last in PARAMETER_AXES:
        return PARAMETER_AXES[last]
    parts = name.split(".")
    if len(parts) >= 2 and parts[-2].startswith("ln") and last in ("g", "b"):
        return ("head_dim",) if parts[-2] in ("lnq", "lnk") else ("width",)
    return None


def _blas_limit() -> int | None:
    """The BLAS threads in force (the largest over the loaded BLAS libraries), if known."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [int(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(counts) if counts else None


#: Final values and history entries of a language-model sweep cell.
LM_FINAL = ("perplexity", "loss", "entropy_mean", "entropy_normalized_mean", "rho_theory_mean",
            "linear_share_last_mean", "eig_mean", "eig_var", "rank_residual", "unigram_perplexity", "seconds")
LM_HISTORY = ("step", "perplexity", "entropy_mean", "linear_share_last_mean")


def _records(args) -> int:
    steps, every = int(args["steps"]), int(args["eval_every"])
    return 1 + steps // every + (1 if steps % every else 0)


#: :func:`train` (the sweep study ``lm``: final validation measures and history, the fields of the model's
#: and the training's configuration flat; one cell is :func:`sigprop.sweep.studies.lm`).
STUDY = register(Study(
    name="lm", function="sigprop.lm.train:train", cell="sigprop.sweep.studies:lm",
    check="sigprop.sweep.studies:check_lm", kind="lm-train",
    dims={"lm_record": Dim(size=_records, source="steps")},
    arrays={"history": ("layer", "head")},                              # per layer, per head
    cell_outputs={**{k: () for k in LM_FINAL}, **{f"history_{k}": ("lm_record",) for k in LM_HISTORY}},
    description="the transformer language model on real text (sigprop.lm.train): final validation measures "
                "and history"))
