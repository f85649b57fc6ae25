"""The language models sigprop trains, layer by layer beside the engine, at initialisation and trained.

``sigprop stack lm-layers RUN_DIR [RUN_DIR ...] [--windows N] [--samples N] [--out FILE]`` takes runs of
``sigprop lm train --run-dir RUN_DIR`` (one model shape, distinct seeds) and, for each, the model at
initialisation (the parameters its seed draws, :func:`sigprop.lm.train.initial_params`) and the model of
its last checkpoint, runs both on the first ``windows`` validation windows of the run's corpus and sets
the comparison of :func:`sigprop.stack.measured.compare_layers` per layer: measured cosine, stable rank
and attention entropy, the engine's teacher-forced and free-running predictions from the measured input
Gram and the layer's Gaussian surrogate (:func:`surrogate`), and the null model.

The language model's block is the engine's (:class:`sigprop.stack.config.StackConfig`): causal softmax
attention with ``W_O``, a ``d x d_ff`` MLP (ReLU or GELU), Post-LN or Pre-LN, skip strengths 1.  What
differs: the LayerNorms' trained affine maps (the measured Post-LN tokens are taken before the last one's,
``(x - b) / g``; the engine's input Gram is the block's actual input, affine included), the heads'
differing strengths (averaged), ``d_ff != d`` when ``--ff`` is set, the embedding (the first block's input
Gram is measured, not modelled), and every structure of trained weights beyond their second moments.
QK-LayerNorm has no counterpart in the engine (refused); sigma-reparametrization is taken through the
effective weights, a temperature through the logit scale.

Over runs, per layer and state: the mean and 95% Student-t interval over seeds of the measured values
and of the predictions, and the paired difference between the engine's absolute error and the null
model's (negative: the engine is closer), its interval at the Bonferroni level over every cell, and the
verdict it gives (:func:`summarize`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sigprop.core.checks import ArgumentError
from sigprop.stack.measured import compare_layers, interval, row_entropy, second_moments

MEASURES = ("cosine", "stable_rank", "attention_entropy")


def surrogate(params: dict, layer: int, cfg) -> dict:
    """:func:`sigprop.stack.measured.second_moments` of block ``layer`` of a language model.

    The model's matrices act on row vectors (``y = x W``), hence the transposes; its attention has no
    biases (the attention bias is zero); the logit variance is scaled by ``(c sqrt(d_h))^2`` for the logit
    scale ``c`` of ``cfg`` (``1 / tau^2`` with a temperature ``tau``, else 1).
    """
    p = f"l{layer}."
    W = {name: np.asarray(params[p + name], dtype=float).T for name in ("W_Q", "W_K", "W_V", "W_O", "W_1", "W_2")}
    fit = second_moments(W["W_Q"], W["W_K"], W["W_V"], W["W_O"], W["W_1"], W["W_2"],
                         (np.zeros(cfg.width), params[p + "b_1"], params[p + "b_2"]), cfg.heads)
    fit["logit_var"] *= (cfg.scale * np.sqrt(cfg.head_dim)) ** 2
    return fit


def states(params: dict, windows: np.ndarray, cfg) -> tuple[list, list, np.ndarray]:
    """Per block: its input tokens, its output tokens as measured, and the attention's row entropy.

    Returns ``(inputs, outputs, entropy)``: lists of ``(n, T, D)`` float64 arrays (the output before the
    affine map of the block's last LayerNorm in Post-LN; the residual stream in Pre-LN) and ``(n, L)``.
    """
    from sigprop.lm import transformer

    _, cache = transformer.forward(params, windows, cfg, keep=True)
    inputs, outputs, entropy = [], [], []
    for i, c in enumerate(cache["layers"]):
        out = np.asarray(c["out"], dtype=float)
        if cfg.norm == "post":
            g, b = (np.asarray(params[f"l{i}.ln2.{n}"], dtype=float) for n in ("g", "b"))
            out = (out - b) / g
        inputs.append(np.asarray(c["in"], dtype=float))
        outputs.append(out)
        entropy.append(row_entropy(np.asarray(c["attn"]["A"], dtype=float)))
    return inputs, outputs, np.stack(entropy, axis=1)


def compare(params: dict, windows: np.ndarray, cfg, samples: int = 1024) -> list[dict]:
    """Per block of the model ``(params, cfg)`` on ``windows`` (``(n, T + 1)`` token ids): measured beside
    predicted (:func:`sigprop.stack.measured.compare_layers`)."""
    from sigprop.lm.regularizers import reparam_forward
    from sigprop.lm.transformer import reparametrized

    if cfg.reg[0] == "qk-norm":
        raise ArgumentError("run_dir", "holds a QK-LayerNorm model: the engine has no QK-LayerNorm")
    inputs, outputs, entropy = states(params, windows, cfg)
    P, _ = reparam_forward(params, reparametrized(cfg))
    fits = [surrogate(P, i, cfg) for i in range(cfg.layers)]
    return compare_layers(inputs, outputs, entropy, fits, norm=cfg.norm, activation=cfg.activation, causal=True,
                          samples=samples)


def _checked_run(run_dir: Path) -> tuple:
    """The checkpoint of ``run_dir`` and its configuration, checked before any work: readable, its
    parameters those of its configuration (names and shapes) and finite, no QK-LayerNorm."""
    from sigprop.lm import train as lm_train
    from sigprop.lm.transformer import init_params

    if not (run_dir / "checkpoint.npz").is_file():
        raise ArgumentError("run_dirs", f"{str(run_dir)!r} holds no checkpoint.npz (a --run-dir of sigprop lm train)")
    try:
        st = lm_train.Checkpoint(run_dir / "checkpoint.npz").load()
    except ArgumentError:
        raise ArgumentError("run_dirs", f"{run_dir / 'checkpoint.npz'}: damaged or incomplete "
                                        "(not a checkpoint sigprop lm train wrote)") from None
    try:
        cfg = lm_train.TrainConfig.from_dict(st["config"])
    except ArgumentError as exc:          # a field out of its range, or a model beyond the machine's memory
        raise ArgumentError("run_dirs", f"{run_dir / 'checkpoint.npz'}: its configuration: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ArgumentError("run_dirs", f"{run_dir / 'checkpoint.npz'}: its configuration is not one of sigprop lm "
                                        f"train ({type(exc).__name__})") from None
    if cfg.model.reg[0] == "qk-norm":
        raise ArgumentError("run_dirs", f"{str(run_dir)!r} holds a QK-LayerNorm model: the engine has no QK-LayerNorm")
    want = {k: v.shape for k, v in init_params(cfg.model, seed=0).items()}
    got = {k: np.shape(v) for k, v in st["params"].items()}
    if got != want:
        wrong = sorted(set(want) ^ set(got)) or sorted(k for k in want if want[k] != got[k])
        raise ArgumentError("run_dirs", f"{run_dir / 'checkpoint.npz'}: its parameters are not those of its "
                                        f"configuration ({', '.join(wrong[:3])})")
    bad = sorted(k for k, v in st["params"].items() if not np.all(np.isfinite(v)))
    if bad:
        raise ArgumentError("run_dirs", f"{run_dir / 'checkpoint.npz'}: non-finite parameters ({', '.join(bad[:3])})")
    return st, cfg


def _corpus_folder(cfg) -> Path | None:
    """The folder of a run's corpus when it is the user's own (``--corpus DIR``), else None."""
    return Path(cfg.corpus).resolve() if cfg.corpus not in ("shakespeare", "wikipedia") else None


def gain_confidence(layers: int) -> float:
    """The level of the gain's intervals: 95% jointly over the ``2 x layers x 3`` cells (Bonferroni)."""
    return 1 - 0.05 / (2 * layers * len(MEASURES))


def summarize(runs: list[dict]) -> list[dict]:
    """Per state and layer, over runs: measured, predicted, free-running and null, and the engine's gain.

    ``<measure>``: mean [95% interval] over runs of the measured means; ``<measure>_predicted``, ``_free``
    and ``_null`` likewise; ``<measure>_gain``: the paired difference ``|predicted - measured| - |null -
    measured|`` (negative: the engine is closer than the null model), mean and Student-t interval over runs
    at the level :func:`gain_confidence` (Bonferroni over every cell), and ``<measure>_verdict``: ``closer``
    (the interval below 0), ``farther`` (above 0) or ``inconclusive``.
    """
    from sigprop.core.stats import t_interval

    layers = len(runs[0]["init"])
    level = gain_confidence(layers)
    out = []
    for state in ("init", "trained"):
        for layer in range(layers):
            rows = [r[state][layer] for r in runs]
            entry: dict = dict(state=state, layer=layer + 1, runs=len(rows))
            for m in MEASURES:
                measured = np.array([r[m][0] for r in rows])
                entry[m] = interval(measured)
                for kind in ("predicted", "free", "null"):
                    entry[f"{m}_{kind}"] = interval([r[f"{m}_{kind}"] for r in rows])
                gain = (np.abs([r[f"{m}_predicted"] for r in rows] - measured)
                        - np.abs([r[f"{m}_null"] for r in rows] - measured))
                mean, low, high = (float(v) for v in t_interval(gain, level))
                entry[f"{m}_gain"] = [mean, low, high]
                entry[f"{m}_verdict"] = "closer" if high < 0 else "farther" if low > 0 else "inconclusive"
            out.append(entry)
    return out


def study(run_dirs, windows: int = 16, samples: int = 1024, out=None) -> dict:
    """Every run of ``run_dirs`` compared at initialisation and trained, and the summary over runs.

    Everything is checked before the work: each checkpoint (:func:`_checked_run`), one model shape,
    distinct seeds, enough validation windows, and ``out`` (the file a caller will write) outside every
    run folder and every corpus folder the runs read.
    """
    from sigprop.core.checks import integer
    from sigprop.lm import corpus as lm_corpus
    from sigprop.lm import train as lm_train

    windows = integer("windows", windows, 2, 4096)
    samples = integer("samples", samples, 16, 1 << 16)
    if isinstance(run_dirs, (str, Path)) or not list(run_dirs):
        raise ArgumentError("run_dirs", "must name at least one run directory")
    dirs = [Path(d) for d in run_dirs]
    for d in dirs:
        try:
            d.resolve(strict=False)
        except (OSError, RuntimeError) as exc:          # a loop of symbolic links (RuntimeError before 3.13)
            raise ArgumentError("run_dirs", f"{str(d)!r}: cannot resolve it ({' '.join(str(exc).split())[:120]})") \
                from None
    if len({d.resolve() for d in dirs}) != len(dirs):
        raise ArgumentError("run_dirs", "must name each run directory once (a run counted twice is no second seed)")
    checked = [_checked_run(d) for d in dirs]
    if len({cfg.model for _, cfg in checked}) > 1:           # frozen dataclasses: equal shapes are equal
        raise ArgumentError("run_dirs", "must hold runs of one model shape (seeds differ, shapes not)")
    seeds = [cfg.seed for _, cfg in checked]
    if len(set(seeds)) != len(seeds):
        raise ArgumentError("run_dirs", f"must hold runs of distinct seeds, got seeds {seeds}")
    if out is not None:
        target = Path(out).resolve()
        reads = [d.resolve() for d in dirs] + [f for _, cfg in checked if (f := _corpus_folder(cfg)) is not None]
        if any(target == r or target.is_relative_to(r) for r in reads):
            raise ArgumentError("out", f"{str(out)!r} is inside a folder the command reads (a run or its corpus); "
                                       "give a path outside them")
    data: dict = {}
    for d, (_, cfg) in zip(dirs, checked):
        key = (cfg.corpus, cfg.tokenizer, cfg.model.vocab)
        if key not in data:
            try:
                text = lm_corpus.load(cfg.corpus)
            except ArgumentError as exc:          # the corpus its configuration names is gone or unreadable
                raise ArgumentError("run_dirs",
                                    f"{d / 'checkpoint.npz'}: the corpus it was trained on: {exc}") from None
            prepared = lm_train.prepare(text, cfg.tokenizer, cfg.model.vocab)
            data[key] = lm_corpus.eval_windows(prepared.ids["valid"], cfg.model.length)
        if data[key].shape[0] < windows:
            raise ArgumentError("windows", f"must be at most {data[key].shape[0]}, the validation windows of the "
                                           f"runs' corpus, got {windows}")
    runs = []
    for d, (st, cfg) in zip(dirs, checked):
        ids = data[(cfg.corpus, cfg.tokenizer, cfg.model.vocab)][:windows]
        runs.append(dict(run=d.name, config=cfg.to_dict(), step=int(st["step"]),
                         init=compare(lm_train.initial_params(cfg), ids, cfg.model, samples),
                         trained=compare(st["params"], ids, cfg.model, samples)))
    summary = summarize(runs) if len(runs) >= 2 else []
    return dict(study="stack-lm-layers", config=dict(windows=windows, samples=samples, runs=[r["run"] for r in runs],
                                                     gain_confidence=gain_confidence(len(runs[0]["init"])),
                                                     model=runs[0]["config"]["model"],
                                                     corpus=runs[0]["config"]["corpus"]),
                command="sigprop stack lm-layers RUN_DIR ... --out FILE", runs=runs, summary=summary)
