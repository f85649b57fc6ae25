"""Ledger rows of the deep-stack recursion (``docs/stack.md``): Giorlandino & Goldt's claims, sigprop's, and the
ones of [BHK24] and [NNT24] that depth touches.

The first three rows simulate [GG26]'s published encoder configuration (``sigprop.stack.GG_CONFIG``:
Post-LN, ReLU MLP, ``var_w = var_v = 0.2``, ``var_b = 4e-4``, ``alpha = 1``, ``T_init = 512``) at
``beta`` in {0.5, 3} on ``T = 128`` input tokens of cosine 0.1, ``d = 720``, 50 layers, 5 seeds
(quick: ``d = 128``, ``T = 64``, 12 layers), shared by the rows, and compares the simulated
per-layer means with the predictions through Student-t intervals over seeds at the Bonferroni
level ``0.05 / (number of parts)``, against stated bands.

``localization-avoids-collapse-depth`` tests [BHK24]'s "small variance avoids both collapses" at depth at
initialisation (small against large eigenvalue variance, only where the collapse occurs with the large one);
``stack-positional-causal`` the positional recursion on two causal stacks; ``stack-nnt-stable-rank`` the
recursion's stable ranks against [NNT24]'s protocol.
"""
from __future__ import annotations

from sigprop.claims import rules
from sigprop.claims.provenance import Regime, Source, nnt_code, sigprop, summary
from sigprop.claims.registry import ALPHA, MIN_SEEDS, register, seed_list
from sigprop.claims.statistics import t_interval
from sigprop.stack import GG_BETAS, GG_CONFIG, StackConfig, predict, simulate

COSINE_BAND = 0.05          # |simulated - predicted| mean cosine within it: agreement
COSINE_REFUTE = 0.1         # beyond it: disagreement
OVERLAP_BAND = 0.05
OVERLAP_REFUTE = 0.1

GG_REPO = "aGiorlandino/ICLR-Signal-Propagation-Transformers"
#: The README of [GG26]'s official code, on Result 1 (the paper's text is not available to this project).
GG_README_WORDS = "comparison between theoretical predictions and experiments for signal propagation in encoder models"
#: [GG26]'s published encoder configuration, simulated by sigprop (NumPy, not their PyTorch BERT).
GG_SETTING = Regime("paper-setting", "[GG26]'s encoder configuration of deep_prop_encoder.ipynb (Post-LN, one head, "
                                     "ReLU MLP, var_w = var_v = 0.2, var_b = 4e-4, alpha = 1, T_init = 512, d = 720, "
                                     "50 layers, beta 0.5 and 3) drawn in NumPy by sigprop.stack.simulate, on T = 128 "
                                     "Gaussian input tokens of cosine 0.1 instead of TinyStories text")


def gg_code(what: str) -> Source:
    """[GG26]'s official code, naming the file used."""
    return Source("paper-code", f"{GG_REPO}: {what}")


def _config(ctx, beta: float) -> StackConfig:
    fields = dict(GG_CONFIG, beta=beta, T=128, cosine0=0.1)
    if ctx.quick:
        fields.update(d=128, T=64, layers=12)
    return StackConfig(**fields)


def _runs(ctx) -> dict:
    def compute():
        out = {}
        for beta in GG_BETAS:
            cfg = _config(ctx, beta)
            out[beta] = dict(gg=predict(cfg, recursion="gg"), sigprop=predict(cfg, recursion="sigprop"),
                             simulation=simulate(cfg, seeds=seed_list(ctx)))
        return out
    return ctx.shared("stack-gg-runs", compute)


def _layers(ctx) -> list[int]:
    top = 12 if ctx.quick else 50
    return sorted({1, top // 5, 2 * top // 5, 3 * top // 5, top})


def _parts(ctx, recursion: str, measure: str, band: float, refute: float, betas=GG_BETAS,
           family: int = 1) -> list[dict]:
    """One part per (beta, layer); ``family`` = how many such groups the row holds (for Bonferroni)."""
    runs = _runs(ctx)
    layers = _layers(ctx)
    level = 1 - ALPHA / (family * len(betas) * len(layers))
    parts = []
    for beta in betas:
        theory = runs[beta][recursion]["layers"]
        per_seed = runs[beta]["simulation"]["per_seed"][measure]
        for layer in layers:
            diff = [v - theory[layer][measure] for v in per_seed[layer]]
            est, low, high = t_interval(diff, level)
            parts.append(dict(name=f"simulated - predicted {measure}, beta = {beta:g}, layer {layer}",
                              estimate=est, low=low, high=high, band=(-band, band),
                              refute=(refute, float("inf")) if est > 0 else (float("-inf"), -refute)))
    return parts


def _check(ctx, what: str) -> str:
    cfg = _config(ctx, GG_BETAS[0])
    return (f"[GG26]'s encoder (Post-LN, ReLU MLP, var_w = var_v = 0.2, var_b = 4e-4, alpha = 1, T_init = 512) "
            f"at beta in {list(GG_BETAS)}, d = {cfg.d}, T = {cfg.T}, input cosine {cfg.cosine0}, {cfg.layers} layers, "
            f"{MIN_SEEDS} seeds (sigprop.stack.simulate); {what}; per layer in {_layers(ctx)} the Student-t interval "
            f"over seeds of the simulated minus the predicted value at the Bonferroni level 1 - {ALPHA} / parts")


def _numbers(parts: list[dict]) -> dict:
    return {p["name"]: dict(estimate=p["estimate"], low=p["low"], high=p["high"]) for p in parts}


@register("gg-recursion-cosine", evidence="simulation", randomized=True, regime=GG_SETTING,
          sources=[gg_code("README.md, 'Result 1 / Figure 1: " + GG_README_WORDS + "'"),
                   gg_code("theory_update_relu.py, get_block_update_wres (the recursion run here)")],
          claim="The layer-to-layer recursion with REM attention predicts the tokens' mean cosine similarity at every "
                "layer of a deep Post-LN encoder at initialisation, for beta below and above beta_c.")
def gg_recursion_cosine(ctx):
    """[GG26]'s REM recursion against the simulated mean cosine, per (beta, layer)."""
    parts = _parts(ctx, "gg", "cosine", COSINE_BAND, COSINE_REFUTE)
    return dict(check=_check(ctx, f"agreement band |difference| <= {COSINE_BAND}, refuting beyond {COSINE_REFUTE}"),
                numbers=_numbers(parts), decision=rules.intervals(parts))


@register("gg-rem-participation-finite-length", evidence="simulation", randomized=True, regime=GG_SETTING,
          sources=[gg_code("theory_update_relu.py, get_attention_update (the REM step, a T -> infinity result, "
                           "checked here at the finite T of their encoder)")],
          claim="The attention's participation sum_j a_ij^2 in each layer is the REM's max(0, 1 - beta_c / beta), "
                "beta_c = sqrt(2 / (1 - p)).")
def gg_rem_participation(ctx):
    """The REM's participation ``max(0, 1 - beta_c / beta)`` against the simulated one at beta = 3."""
    parts = _parts(ctx, "gg", "attention_overlap", OVERLAP_BAND, OVERLAP_REFUTE, betas=(max(GG_BETAS),))
    return dict(check=_check(ctx, f"participation; agreement band |difference| <= {OVERLAP_BAND}, refuting beyond "
                                  f"{OVERLAP_REFUTE}; beta = {max(GG_BETAS):g} only (the condensed case)"),
                numbers=_numbers(parts), decision=rules.intervals(parts))


@register("stack-recursion-exact-in-length", evidence="simulation", randomized=True, regime=GG_SETTING,
          sources=[sigprop("docs/stack.md: attention overlaps exact in T, sigprop.stack.softmax")],
          claim="With the attention overlaps exact in T in place of the REM limit, the recursion predicts both the "
                "mean cosine and the attention participation of every layer of [GG26]'s encoder.")
def stack_exact_recursion(ctx):
    """The exact-T recursion against the simulated mean cosine and participation, per (beta, layer)."""
    parts = (_parts(ctx, "sigprop", "cosine", COSINE_BAND, COSINE_REFUTE, family=2)
             + _parts(ctx, "sigprop", "attention_overlap", OVERLAP_BAND, OVERLAP_REFUTE, family=2))
    return dict(check=_check(ctx, f"cosine band {COSINE_BAND} (refuting {COSINE_REFUTE}), participation band "
                                  f"{OVERLAP_BAND} (refuting {OVERLAP_REFUTE})"),
                numbers=_numbers(parts), decision=rules.intervals(parts))


# --- the small-variance question at depth: [BHK24]'s "avoids both collapses" ------------------------------------

#: A layer is rank-collapsed when ``1 - p_l < RANK_MARGIN`` (``sigprop.stack.phase.RANK_COSINE = 0.9``), entropy-
#: collapsed when its attention entropy is ``< log 2`` nats (``sigprop.stack.phase.ENTROPY_NATS``).
SMALL_V, LARGE_V = 0.01, 1.0
DEPTH_REGIME = Regime("sigprop-setup", "deep encoders at initialisation (random Gaussian weights, no training) with a "
                                       "symmetric query-key matrix of eigenvalue mean m and variance v in every layer, "
                                       "logits x^T W x / sqrt(d), on Gaussian input tokens of cosine 0.1, drawn in "
                                       "NumPy by sigprop.stack.simulate; the claim was made for a trained model whose "
                                       "single layer's spectrum the training shapes, not for depth at initialisation")


def _depth_stacks(ctx) -> dict:
    """name -> (StackConfig fields, the means m): attention-only always; [GG26]'s encoder in full mode."""
    base = dict(GG_CONFIG, T=32, cosine0=0.1, samples=256, recursion="positional")
    if ctx.quick:
        return {"attention only": (dict(base, activation="none", var_v=1.0, d=128, layers=12), (0.2, 1.5))}
    return {"attention only": (dict(base, activation="none", var_v=1.0, d=256, layers=20), (0.2, 1.0)),
            "[GG26] encoder": (dict(base, d=256, layers=50), (0.2, 1.0))}


def _depth_runs(ctx) -> dict:
    def compute():
        out = {}
        for name, (fields, means) in _depth_stacks(ctx).items():
            for m in means:
                for v in (SMALL_V, LARGE_V):
                    cfg = StackConfig(**dict(fields, qk_mean=m, qk_variance=v))
                    out[name, m, v] = dict(theory=predict(cfg)["layers"][-1],
                                           per_seed=simulate(cfg, seeds=seed_list(ctx))["per_seed"])
        return out
    return ctx.shared("stack-small-variance-runs", compute)


@register("localization-avoids-collapse-depth", sources=[summary("avoids-collapse")], evidence="simulation",
          randomized=True, regime=DEPTH_REGIME,
          claim="A query-key spectrum of small eigenvalue variance (with a non-zero mean, the localizing regime) keeps "
                "a deep stack at initialisation away from both rank collapse and entropy collapse.")
def localization_avoids_collapse_depth(ctx):
    """Small against large eigenvalue variance at the same mean, at the last layer: where a collapse occurs with the
    large variance (precondition), does the small variance avoid it?"""
    import math

    from sigprop.stack.phase import ENTROPY_NATS, RANK_COSINE

    runs = _depth_runs(ctx)
    measures = {"1 - cosine": (lambda ps, L: [1.0 - x for x in ps["cosine"][L]], 1.0 - RANK_COSINE,
                               lambda th: 1.0 - th["cosine"]),
                "attention entropy": (lambda ps, L: list(ps["attention_entropy"][L]), ENTROPY_NATS,
                                      lambda th: th["attention_entropy"])}
    stacks = _depth_stacks(ctx)
    cells = [(name, m, k) for name, (_, means) in stacks.items() for m in means for k in measures]
    level = 1 - ALPHA / (2 * len(cells))        # the control's and the small variance's interval of every cell
    pre: dict[str, dict] = {}
    parts: list[dict] = []
    numbers: dict[str, dict] = {}
    for name, m, k in cells:
        fields = stacks[name][0]
        L = fields["layers"]
        get, threshold, theory = measures[k]
        threshold = round(threshold, 12)
        control = t_interval(get(runs[name, m, LARGE_V]["per_seed"], L), level)
        small = t_interval(get(runs[name, m, SMALL_V]["per_seed"], L), level)
        label = f"{name}, m = {m:g}, layer {L}, {k}"
        occurs = rules.collapse_occurs(control, threshold)
        pre.setdefault(f"{name}, m = {m:g}", {})[k] = dict(control=list(control), level=threshold, occurs=occurs)
        numbers[label] = dict(v_small=list(small), v_large=list(control),
                              engine_v_small=theory(runs[name, m, SMALL_V]["theory"]),
                              engine_v_large=theory(runs[name, m, LARGE_V]["theory"]), collapse_level=threshold,
                              collapse_in_v_large=occurs)
        if occurs:
            parts.append(dict(name=f"{label} with v = {SMALL_V:g} (collapsed below {threshold:.3g})",
                              estimate=small[0], low=small[1], high=small[2], band=(threshold, math.inf),
                              refute=(-math.inf, threshold)))
    numbers["preconditions"] = pre
    words = rules.preconditions_words(pre)
    desc = "; ".join(f"{name}: T = {f['T']}, d = {f['d']}, {f['layers']} layers, activation {f['activation']}, "
                     f"var_v = {f['var_v']:g}, means m in {list(means)}" for name, (f, means) in stacks.items())
    check = (f"{desc}; v = {SMALL_V:g} (small variance) against v = {LARGE_V:g} at each m, {MIN_SEEDS} seeds "
             f"(sigprop.stack.simulate; the positional recursion's values beside them in the numbers); at the last "
             f"layer, 1 - cosine (rank collapse below {1 - RANK_COSINE:.3g}) and the attention entropy (entropy "
             f"collapse below log 2 = {ENTROPY_NATS:.3g} nats); a collapse occurs when the v = {LARGE_V:g} arm's "
             f"Student-t interval lies wholly below its level; Bonferroni level 1 - {ALPHA} / {2 * len(cells)} over "
             f"both arms of every cell")
    if not parts:
        decision = rules.Decision("inconclusive", f"nothing to avoid: no collapse occurs with v = {LARGE_V:g} "
                                                  f"({words})",
                                  "the claim is tested only where the collapse occurs in the comparison arm")
    else:
        d = rules.intervals(parts, interval="Bonferroni t-interval over seeds")
        decision = rules.Decision(d.verdict, d.reason + f"; preconditions: {words}",
                                  d.rule + f"; parts only where the collapse occurs with v = {LARGE_V:g} (its "
                                           "interval wholly below the collapse level; none -> inconclusive); a part "
                                           "is inside when the small-variance interval lies wholly above the level "
                                           "(collapse avoided), outside when wholly below (collapsed as well)")
    return dict(check=check, numbers=numbers, decision=decision)


# --- the positional recursion (causal masks) against simulation -------------------------------------------------

#: Two causal stacks the positional recursion is checked on: Post-LN with a ReLU MLP, Pre-LN with a GELU MLP.
CAUSAL_STACKS = {
    "post-LN, ReLU MLP, beta = 1.5": dict(norm="post", activation="relu", beta=1.5, var_v=1.0, var_w=2.0, var_b=0.0,
                                          alpha_attention=1.0, alpha_mlp=1.0, cosine0=0.2),
    "pre-LN, GELU MLP, beta = 1, W_O": dict(norm="pre", activation="gelu", beta=1.0, var_v=1.0, var_o=1.0, var_w=1.0,
                                           var_b=0.0, alpha_attention=1.0, alpha_mlp=1.0, cosine0=0.1),
}
#: (measure, agreement band, refuting band) of :func:`stack_positional_causal`.
CAUSAL_MEASURES = (("cosine", COSINE_BAND, COSINE_REFUTE), ("attention_overlap", OVERLAP_BAND, OVERLAP_REFUTE),
                   ("attention_entropy", 0.1, 0.2))


#: Seeds of :func:`stack_positional_causal`, quick and full (more than the ledger's minimum: a stack's mean cosine
#: and mid-depth attention entropy spread from seed to seed, and 5 seeds leave every interval wider than its band;
#: 40 leave the entropy at mid depth of 12 layers undecided on one seed set in 2).
CAUSAL_SEEDS = 40
CAUSAL_SEEDS_FULL = 80


def _causal_size(ctx) -> dict:
    return dict(T=32, d=256, layers=4) if ctx.quick else dict(T=32, d=256, layers=12)


@register("stack-positional-causal", evidence="simulation", randomized=True,
          regime=Regime("sigprop-setup", "two causal (masked) encoder stacks at initialisation, Post-LN with a ReLU "
                                         "MLP and Pre-LN with a GELU MLP and an output map, on Gaussian input tokens "
                                         "of a given cosine, drawn in NumPy by sigprop.stack.simulate"),
          sources=[sigprop("docs/stack.md: the positional recursion, sigprop.stack.positional")],
          claim="The positional recursion (a T x T Gram matrix per layer, causal masks) predicts every layer's mean "
                "cosine, attention participation and attention entropy of a causal stack at initialisation.")
def stack_positional_causal(ctx):
    """The positional recursion against the simulated cosine, participation and entropy, per (stack, layer)."""
    size = _causal_size(ctx)
    n_seeds = CAUSAL_SEEDS if ctx.quick else CAUSAL_SEEDS_FULL
    L = size["layers"]
    layers = sorted({1, L // 2, L})

    def compute():
        out = {}
        for name, fields in CAUSAL_STACKS.items():
            cfg = StackConfig(**dict(fields, **size, causal=True, recursion="positional"))
            out[name] = dict(theory=predict(cfg)["layers"],
                             per_seed=simulate(cfg, seeds=ctx.seeds(range(n_seeds)))["per_seed"])
        return out
    runs = ctx.shared("stack-positional-causal-runs", compute)
    level = 1 - ALPHA / (len(CAUSAL_STACKS) * len(layers) * len(CAUSAL_MEASURES))
    parts = []
    for name in CAUSAL_STACKS:
        theory, per_seed = runs[name]["theory"], runs[name]["per_seed"]
        for measure, band, refute in CAUSAL_MEASURES:
            for layer in layers:
                est, low, high = t_interval([v - theory[layer][measure] for v in per_seed[measure][layer]], level)
                parts.append(dict(name=f"{name}, simulated - predicted {measure}, layer {layer}", estimate=est,
                                  low=low, high=high, band=(-band, band),
                                  refute=(refute, float("inf")) if est > 0 else (float("-inf"), -refute)))
    bands = ", ".join(f"{m} {b:g} (refuting {r:g})" for m, b, r in CAUSAL_MEASURES)
    check = (f"causal stacks {list(CAUSAL_STACKS)} at T = {size['T']}, d = {size['d']}, {L} layers, "
             f"{n_seeds} seeds (sigprop.stack.simulate) against sigprop.stack.predict (positional recursion, 2048 "
             f"draws); per layer in "
             f"{layers} the Student-t interval over seeds of the simulated minus the predicted value at the Bonferroni "
             f"level 1 - {ALPHA} / {len(parts)}; bands {bands}")
    return dict(check=check, numbers=_numbers(parts), decision=rules.intervals(parts))


# --- [NNT24]'s per-layer stable ranks predicted by the positional recursion -------------------------------------

#: [NNT24]'s configuration whose first layers keep some rank (the others are at stable rank 1 from layer 1 on).
NNT_STACK = "A(X)+skip/sqrt(d)+LN"
NNT_GAMMAS = (1.0, 0.2)
NNT_SEEDS = 20
NNT_BAND = (0.75, 1.25)             # measured / predicted stable rank within it: agreement
NNT_REFUTE = (0.7, 1.3)             # outside it: disagreement


def _nnt_lengths(ctx) -> tuple[int, ...]:
    return (20, 100) if ctx.quick else (20, 50, 150)


@register("stack-nnt-stable-rank", evidence="simulation", randomized=True,
          regime=Regime("paper-setting", f"[NNT24]'s key-query stack {NNT_STACK} at initialisation (isometric input, "
                                         "W_Q, W_K of entries N(0, 1/d), W_O = I, Post-LN, no MLP), measured by the "
                                         "protocol of its official code as sigprop reproduces it (sigprop.gap)"),
          sources=[sigprop("docs/stack.md: [NNT24]'s stacks predicted by the positional recursion"),
                   nnt_code("the per-layer stable rank of X_l X_l^T in its key-query stacks with LayerNorm "
                            "(sigprop.gap.stable_rank.stable_ranks, the protocol sigprop matches it with)")],
          claim="The positional recursion's stable rank of each layer's Gram matrix (its d -> infinity value) predicts "
                "the per-layer stable rank [NNT24]'s protocol measures.")
def stack_nnt_stable_rank(ctx):
    """Measured over predicted stable rank at layers 1 and 2, per ``gamma = T / d`` and ``T``."""
    import numpy as np

    from sigprop.gap.stable_rank import stable_ranks
    from sigprop.stack.nnt import config

    lengths = _nnt_lengths(ctx)

    def compute():
        out = {}
        for gamma in NNT_GAMMAS:
            for T in lengths:
                records = stable_ranks([NNT_STACK], (T,), (gamma,), 2, ctx.seeds(range(NNT_SEEDS)))["records"]
                th = predict(config(NNT_STACK, T, gamma, 2, 512))["layers"]
                out[gamma, T] = {k: dict(measured=[r["stable_rank"] for r in records if r["layer"] == k],
                                         predicted=th[k]["stable_rank"], predicted_d=th[k]["stable_rank_d"])
                                 for k in (1, 2)}
        return out
    runs = ctx.shared("stack-nnt-stable-rank-runs", compute)
    level = 1 - ALPHA / (2 * len(NNT_GAMMAS) * len(lengths))
    parts, numbers = [], {}
    for (gamma, T), per_layer in runs.items():
        for k, r in per_layer.items():
            est, low, high = t_interval(np.asarray(r["measured"]) / r["predicted"], level)
            name = f"gamma = {gamma:g}, T = {T}, layer {k}: measured / predicted stable rank"
            parts.append(dict(name=name, estimate=est, low=low, high=high, band=NNT_BAND,
                              refute=(float("-inf"), NNT_REFUTE[0]) if est < 1 else (NNT_REFUTE[1], float("inf"))))
            numbers[name] = dict(estimate=est, low=low, high=high, predicted=r["predicted"],
                                 predicted_at_width_d=r["predicted_d"], measured_mean=float(np.mean(r["measured"])))
    check = (f"[NNT24]'s {NNT_STACK} at gamma = T / d in {list(NNT_GAMMAS)}, T in {list(lengths)}, {NNT_SEEDS} seeds "
             f"of the paper's protocol (sigprop.gap.stable_rank.stable_ranks) against sigprop.stack.predict "
             f"(positional recursion, 512 draws; d -> infinity stable rank, the width-d value beside it in the "
             f"numbers); per layer 1 and 2 the Student-t interval over seeds of measured / predicted at the "
             f"Bonferroni level 1 - {ALPHA} / {len(parts)}; agreement band {list(NNT_BAND)}, refuting outside "
             f"{list(NNT_REFUTE)}")
    return dict(check=check, numbers=numbers, decision=rules.intervals(parts))
