"""Real-checkpoint commands: ``heads``, ``heads-text``.

``heads`` reads a ``.safetensors`` checkpoint and reports every head's query-key
eigenspectrum and predicted ``rho`` profile (:mod:`sigprop.checkpoints.heads`);
``heads-text`` runs a BERT-style encoder on real text and relates each head's measured
localization to its eigenvalue variance (:mod:`sigprop.checkpoints.realtext`).
"""
from __future__ import annotations

import argparse

from sigprop.cli import arguments
from sigprop.cli.app import command
from sigprop.cli.render import View


def _heads_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="CHECKPOINT.safetensors")
    p.add_argument("--config", metavar="config.json", help="default: config.json beside the checkpoint")
    p.add_argument("--length", type=arguments.number(int), default=128, help="T of the prediction")


@command("heads", help="query-key eigenspectra and predictions of a real checkpoint",
         description="Per-head query-key matrix, eigenvalue statistics and predicted rho profile of a "
                     "BERT, GPT-2 or LLaMA style .safetensors checkpoint.",
         arguments=_heads_arguments,
         flags={"T": "--length", "checkpoint": "CHECKPOINT.safetensors", "config": "--config"},
         plot="sigprop.checkpoints.heads:heads_figure", keys={"records": ("layer", "head")},
         view=View(records="records", show=(),
                   fields=("layer", "head", "eig_mean", "eig_var", "frobenius", "rho_total", "rho_entropy",
                           "rho_peak", "rho_width"),
                   json="records", json_config=("layout", "length", "checkpoint")))
def heads(args: argparse.Namespace) -> dict:
    """Run ``sigprop heads``: each head's query-key eigenspectrum and predicted ``rho`` profile.
    """
    from sigprop.checkpoints import heads as study

    return study.analyse(args.checkpoint, args.config, T=args.length)


MEASURES_OF_HEADS = ("eig_mean", "eig_var", "frobenius", "attention_entropy", "linear_share", "max_attention")
SPEARMAN = tuple(
    f"Spearman({name}, {measure}) = {{{key}.{measure}.rho:+.3f}}, 95% CI [{{{key}.{measure}.low:+.3f}}, "
    f"{{{key}.{measure}.high:+.3f}}], n = {{{key}.{measure}.n}} heads"
    for name, key in (("eig_var", "correlation_with_eig_var"), ("frobenius (control)", "correlation_with_frobenius"))
    for measure in ("attention_entropy", "linear_share", "max_attention"))


def _heads_text_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="CHECKPOINT.safetensors")
    p.add_argument("--config", metavar="config.json")
    p.add_argument("--tokenizer", metavar="tokenizer.json", help="default: tokenizer.json beside the checkpoint")
    p.add_argument("--layers", type=arguments.numbers(int), help="layers to measure (default all)")
    p.add_argument("--max-tokens", type=arguments.number(int), default=128)


@command("heads-text", help="real text through a BERT-style checkpoint, head by head",
         description="Run a BERT-style encoder on real English text and relate each head's measured "
                     "localization to its eigenvalue variance (Spearman correlations with 95% intervals).",
         arguments=_heads_text_arguments, keys={"records": ("layer", "head")},
         flags={"max_tokens": "--max-tokens", "layers": "--layers", "tokenizer": "--tokenizer",
                "checkpoint": "CHECKPOINT.safetensors", "config": "--config"},
         view=View(records="records", show=(), fields=("layer", "head") + MEASURES_OF_HEADS, lines=SPEARMAN))
def heads_text(args: argparse.Namespace) -> dict:
    """Run ``sigprop heads-text``: real text through a BERT-style encoder, head by head.
    """
    from sigprop.checkpoints import realtext

    return realtext.study(args.checkpoint, args.config, tokenizer=args.tokenizer, max_tokens=args.max_tokens,
                          layers=args.layers, progress=not args.no_progress)


def _heads_datamodel_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="CHECKPOINT.safetensors",
                   help="BERT-style checkpoint with config.json and tokenizer.json beside it")
    p.add_argument("--config", metavar="config.json", help="default: config.json beside the checkpoint")
    p.add_argument("--length", type=arguments.number(int), default=64, help="window length T (default 64)")
    p.add_argument("--windows", type=arguments.number(int), default=160,
                   help="windows of real text, alternately fit and held out (default 160: all there are at T = 64)")
    p.add_argument("--layers", type=arguments.numbers(int), help="layers to study (default all)")
    p.add_argument("--seed", type=arguments.seed, default=0, help="seed of the surrogate and the bootstrap (>= 0)")


DATAMODEL_LINES = tuple(
    f"{label}: Spearman(predicted, measured) = {{summary.{key}.spearman.rho:+.3f}}, 95% CI "
    f"[{{summary.{key}.spearman.low:+.3f}}, {{summary.{key}.spearman.high:+.3f}}], n = {{summary.{key}.spearman.n}} "
    f"heads; mean |predicted - measured| = {{summary.{key}.calibration.mean:.4f}}, 95% CI "
    f"[{{summary.{key}.calibration.low:.4f}}, {{summary.{key}.calibration.high:.4f}}]"
    for label, key in (("empirical data model", "empirical"), ("random walk (same scale)", "random_walk"),
                       ("null K = I", "iid"), ("null K with shuffled positions", "shuffled"))) + tuple(
    f"paired, {label}: calibration gain {{summary.paired.{key}.calibration_gain.mean:+.4f}}, 95% CI "
    f"[{{summary.paired.{key}.calibration_gain.low:+.4f}}, {{summary.paired.{key}.calibration_gain.high:+.4f}}]; "
    f"Spearman gain {{summary.paired.{key}.spearman_gain.mean:+.4f}}, 95% CI "
    f"[{{summary.paired.{key}.spearman_gain.low:+.4f}}, {{summary.paired.{key}.spearman_gain.high:+.4f}}]"
    for label, key in (("empirical against K = I", "empirical-vs-iid"),
                       ("empirical against shuffled K", "empirical-vs-shuffled"),
                       ("empirical against the random walk", "empirical-vs-random_walk"))) + (
    "(intervals over heads: cluster bootstrap over layers, {config.intervals.resamples} resamples, seed "
    "{config.intervals.seed}; the layer-means t intervals are in the JSON)",)


@command("heads-datamodel", help="each head's rho predicted from a data model fitted to real text, and measured",
         description="Fit the token mean, Sigma and K of every layer's input of a BERT-style encoder on real "
                     "English text, predict each head's linear-regime share (rho) from its own W with that data "
                     "model and with the random walk, and measure it on held-out text (docs/data-models.md).",
         arguments=_heads_datamodel_arguments,
         dims={"layers_lag_error": ("lag",)},       # per lag of config["lags"] (and the surrogate's)
         flags={"length": "--length", "windows": "--windows", "layers": "--layers", "seed": "--seed",
                "checkpoint": "CHECKPOINT.safetensors", "config": "--config"},
         view=View(records="records", show=("layers",),
                   fields=("layer", "head", "measured", "predicted_empirical", "predicted_random_walk",
                           "predicted_iid", "profile_error_empirical", "profile_error_random_walk",
                           "profile_error_shuffled"),
                   lines=DATAMODEL_LINES))
def heads_datamodel(args: argparse.Namespace) -> dict:
    """Run ``sigprop heads-datamodel``: each head's linear-regime share predicted from a data model fitted to real text,
    against the share measured on held-out text.
    """
    from sigprop.checkpoints import datamodel_text

    return datamodel_text.study(args.checkpoint, args.config, length=args.length, windows=args.windows,
                                layers=args.layers, seed=args.seed, progress=not args.no_progress)
