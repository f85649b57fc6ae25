"""The language models sigprop trains, layer by layer beside the engine, at initialisation and trained.

``python -m sigprop.stack.lm_layers RUN_DIR [RUN_DIR ...] [--windows N] [--out FILE]`` takes runs of
``sigprop lm train --run-dir RUN_DIR`` (any number of layers, any seed) and, for each, the model at
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

import json
import sys
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


def _run(run_dir: Path, windows: int, samples: int) -> dict:
    """Both states of one run: its configuration and the rows at initialisation and trained."""
    from sigprop.lm import corpus as lm_corpus
    from sigprop.lm import train as lm_train

    st = lm_train.Checkpoint(run_dir / "checkpoint.npz").load()
    cfg = lm_train.TrainConfig.from_dict(st["config"])
    data = lm_train.prepare(lm_corpus.load(cfg.corpus), cfg.tokenizer, cfg.model.vocab)
    ids = lm_corpus.eval_windows(data.ids["valid"], cfg.model.length)
    if ids.shape[0] < windows:
        raise ArgumentError("windows", f"the validation split holds {ids.shape[0]} windows, fewer than {windows}")
    ids = ids[:windows]
    return dict(run=run_dir.name, config=cfg.to_dict(), step=int(st["step"]),
                init=compare(lm_train.initial_params(cfg), ids, cfg.model, samples),
                trained=compare(st["params"], ids, cfg.model, samples))


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


def study(run_dirs, windows: int = 16, samples: int = 1024) -> dict:
    """Every run of ``run_dirs`` compared at initialisation and trained, and the summary over runs."""
    from sigprop.core.checks import integer

    windows = integer("windows", windows, 2, 4096)
    samples = integer("samples", samples, 16, 1 << 16)
    dirs = [Path(d) for d in run_dirs]
    if not dirs:
        raise ArgumentError("run_dirs", "must name at least one run directory")
    for d in dirs:
        if not (d / "checkpoint.npz").is_file():
            raise ArgumentError("run_dirs", f"{str(d)!r} holds no checkpoint.npz (a --run-dir of sigprop lm train)")
    runs = [_run(d, windows, samples) for d in dirs]
    shapes = {json.dumps({k: v for k, v in r["config"]["model"].items()}, sort_keys=True) for r in runs}
    if len(shapes) > 1:
        raise ArgumentError("run_dirs", "must hold runs of one model shape (seeds differ, shapes not)")
    summary = summarize(runs) if len(runs) >= 2 else []
    return dict(study="stack-lm-layers", config=dict(windows=windows, samples=samples, runs=[r["run"] for r in runs],
                                                     gain_confidence=gain_confidence(len(runs[0]["init"])),
                                                     model=runs[0]["config"]["model"],
                                                     corpus=runs[0]["config"]["corpus"]),
                command="python -m sigprop.stack.lm_layers RUN_DIR ... --out FILE", runs=runs, summary=summary)


def _cell(entry: dict, m: str) -> str:
    def f(v):
        return f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]"
    return f"{f(entry[m])} / {entry[m + '_predicted'][0]:.3f} / {entry[m + '_null'][0]:.3f} / {f(entry[m + '_gain'])}"


def _main(argv) -> int:
    import argparse

    from sigprop.core.results import write_json

    parser = argparse.ArgumentParser(prog="python -m sigprop.stack.lm_layers", description=__doc__.split("\n")[0])
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--windows", type=int, default=16)
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    if args.out is not None:
        target = Path(args.out).resolve()
        if not target.parent.is_dir():
            parser.error(f"argument --out: the directory of {args.out!r} must exist")
        if any(target.is_relative_to(Path(d).resolve()) for d in args.run_dirs):
            parser.error(f"argument --out: {args.out!r} is inside a run directory it reads; give a path outside them")
    try:
        out = study(args.run_dirs, args.windows, args.samples)
    except ArgumentError as exc:
        parser.error(str(exc))
    print("| state | layer | cosine measured [95% CI] / predicted / null / engine gain | stable rank ... | "
          "entropy ... |")
    print("| --- | --- | --- | --- | --- |")
    for e in out["summary"]:
        print(f"| {e['state']} | {e['layer']} | " + " | ".join(_cell(e, m) for m in MEASURES) + " |")
    if args.out is not None:
        write_json(args.out, out)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
