"""Ledger rows of [NNT24]'s claims in sigprop's own set-up: the spectral gap, rank collapse, the fix.

The rows measure the spectral gap of random Markov and key-query attention against the
random-matrix predictions (:mod:`sigprop.gap.spectra`, where they hold: :mod:`sigprop.gap.validity`),
rank collapse in width and in depth (:mod:`sigprop.gap.collapse`) and the rescaled fix, over
:data:`~sigprop.claims.registry.MIN_SEEDS` seeds, through Student-t intervals against stated bands.
The same claims under the paper's own protocol are the rows of :mod:`sigprop.claims.nnt`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sigprop.claims import rules
from sigprop.claims.provenance import Regime, sigprop, summary
from sigprop.claims.registry import MIN_SEEDS, interval_part, register, seed_list
from sigprop.gap import collapse as rankcollapse
from sigprop.gap import spectra, validity

#: The regime of the [NNT24] rows in sigprop's own set-up.
NNT_SETUP = Regime("sigprop-setup", "sigprop's Markov (i.i.d. N(0, sigma^2) logits) and key-query attention with "
                                    "Gaussian inputs (docs/theory.md §6); the paper's protocol: the nnt- rows")


@register("spectral-gap", evidence="simulation", randomized=True, regime=NNT_SETUP,
          sources=[summary("rank-collapse-width"), sigprop("docs/theory.md §6: the random-matrix predictions")],
          claim="sigprop's variant: softmax attention at initialisation has the outlier eigenvalue 1, sigma_1 near 1 "
                "and a bulk of radius and width O(T^(-1/2)): a spectral gap that widens with T.")
def spectral_gap(ctx):
    Ts = [128, 256] if ctx.quick else [256, 512, 1024]
    seeds = seed_list(ctx)
    parts: list[dict] = []
    numbers: dict[str, Any] = dict(T=Ts, seeds=seeds)
    for T in Ts:
        reps = [spectra.report(T, 0.5, seed=1000 * T + s) for s in seeds]
        s2 = [r["sigma_2"] / r["predicted_bulk_edge"] for r in reps]
        e2 = [r["eig_2"] / r["predicted_eig_radius"] for r in reps]
        parts += [interval_part(f"Markov sigma_2/prediction at T = {T}", s2, (0.9, 1.1)),
                  interval_part(f"Markov |eig_2|/prediction at T = {T}", e2, (0.9, 1.1))]
        numbers[f"T={T}"] = dict(sigma_2_ratio=s2, eig_2_ratio=e2, sigma_1=[r["sigma_1"] for r in reps])
    kq = {T: [spectra.report(T, 0.5, model="attention", d=64, seed=2000 * T + s)["sigma_2"] for s in seeds] for T in Ts}
    slopes = [float(np.polyfit(np.log(Ts), np.log([kq[T][i] for T in Ts]), 1)[0]) for i in range(len(seeds))]
    parts.append(interval_part("key-query (d = 64) log-log slope of sigma_2 in T", slopes, (-0.6, -0.4)))
    numbers.update(key_query_sigma_2={str(T): v for T, v in kq.items()}, key_query_slopes=slopes)
    return dict(check=f"random Markov attention (i.i.d. N(0, 0.25) logits) and key-query attention (d = 64, Gaussian "
                      f"X, W_Q, W_K), sigma = 0.5, T in {Ts}, {len(seeds)} seeds each: sigma_2 and |eig_2| over the "
                      "predicted bulk edge 2 s/sqrt(T) and radius s/sqrt(T) (10% band), and the slope of sigma_2 "
                      "against T on log scales (predicted -1/2, band +-0.1)",
                numbers=numbers, decision=rules.intervals(parts))


@register("gap-validity-condition", sources=sigprop("docs/gap.md: where the random-matrix predictions hold"),
          regime=NNT_SETUP, evidence="simulation", randomized=True,
          claim="The random-matrix predictions of the spectral gap (sigma_1, the bulk edge sigma_2, the bulk radius "
                "|eig_2|) hold where e^(sigma^2) << T, the regime the gap analysis assumes.")
def gap_validity_condition(ctx):
    sigmas, Ts = (0.5, 1.0, 1.5), ((64, 256) if ctx.quick else (64, 256, 1024))
    reg = validity.region(validity.measure(sigmas, Ts, seeds=MIN_SEEDS, seed=ctx.seed(7)))
    inside = [(i, j) for i, s in enumerate(sigmas) for j, T in enumerate(Ts) if T >= 10 * np.exp(s * s)]
    cells = {q: [reg[q]["verdict"][i][j] for i, j in inside] for q in ("sigma_1", "sigma_2", "eig_2")}
    return dict(check=f"random Markov attention, sigma in {list(sigmas)}, T in {list(Ts)}, {MIN_SEEDS} seeds per "
                      f"cell: ratio measured/predicted of each quantity; a cell holds when its 95% t-interval lies "
                      f"in [0.95, 1.05] (sigprop.gap.validity); cells with T >= 10 e^(sigma^2) ('<<' read as a "
                      f"factor 10): {[(sigmas[i], Ts[j]) for i, j in inside]}",
                numbers=dict(cells=cells, from_length={q: reg[q]["from_length"] for q in cells},
                             sigmas=list(sigmas), lengths=list(Ts)),
                decision=rules.within_condition(cells, "T >= 10 e^(sigma^2)"))


@register("rank-collapse-width", evidence="simulation", randomized=True, regime=NNT_SETUP,
          sources=summary("rank-collapse-width"),
          claim="sigprop's variant: the spectral gap causes rank collapse in width: A X approaches rank one as T "
                "grows.")
def rank_collapse_width(ctx):
    Ts, seeds = [64, 256, 1024], seed_list(ctx)
    samples = 4 if ctx.quick else 8
    res = {s: [rankcollapse.width(T, 0.5, samples=samples, seed=100 * s + T)["vanilla"]["rank_residual"]
               for T in Ts] for s in seeds}
    slopes = [float(np.polyfit(np.log(Ts), np.log(res[s]), 1)[0]) for s in seeds]
    return dict(check=f"one Markov attention layer, sigma = 0.5, X = common row + noise, d = 64, T in {Ts}, "
                      f"{samples} matrices per T, {len(seeds)} seeds: slope of log rank residual against log T "
                      "(predicted -1/2, band +-0.1)",
                numbers=dict(T=Ts, rank_residual={str(s): v for s, v in res.items()}, slopes=slopes),
                decision=rules.intervals([interval_part("slope of the rank residual in T", slopes, (-0.6, -0.4))]))


def _depth_runs(ctx):
    L, T = (4, 128) if ctx.quick else (6, 256)
    runs = [dict(markov=rankcollapse.depth(L, T, 0.5, seed=s),
                 kq=rankcollapse.depth(L, T, 0.5, model="attention", values=True, d=64, seed=s))
            for s in seed_list(ctx)]
    return dict(L=L, T=T, runs=runs)


@register("rank-collapse-depth", evidence="simulation", randomized=True, regime=NNT_SETUP,
          sources=[summary("rank-collapse-width"), sigprop("SPEC.md §6: depth and gradients")],
          claim="sigprop's variant: the gap worsens rank collapse in depth and makes gradients vanish in "
                "attention-only stacks.")
def rank_collapse_depth(ctx):
    dr = ctx.shared("depth", lambda: _depth_runs(ctx))
    res = [r["markov"]["vanilla"]["rank_residual"][-1] for r in dr["runs"]]
    grad = [r["kq"]["vanilla"]["grad_w"][-1] / r["kq"]["vanilla"]["grad_w"][0] for r in dr["runs"]]
    parts = [interval_part(f"log10 Markov rank residual after {dr['L']} layers", res, (-np.inf, -4.0), log10=True),
             interval_part("log10 key-query W_Q gradient, last layer over first", grad, (-np.inf, -3.0), log10=True)]
    return dict(check=f"{dr['L']}-layer attention-only stacks, T = {dr['T']}, sigma = 0.5, {len(dr['runs'])} seeds: "
                      "Markov attention, and key-query attention with W_V (d = 64)",
                numbers=dict(markov_final_rank_residual=res, key_query_grad_ratio=grad),
                decision=rules.intervals(parts))


@register("gap-removal-fix", evidence="simulation", randomized=True, regime=NNT_SETUP,
          sources=[summary("gap-fix"), sigprop("docs/theory.md §6: the rescaled fix")],
          claim="sigprop's variant: removing the gap, A - 1 1^T / T (with the bulk rescaled), resolves rank collapse "
                "in width and slows it in depth.")
def gap_removal_fix(ctx):
    dr = ctx.shared("depth", lambda: _depth_runs(ctx))
    scale = [r["markov"]["rescaled"]["scale"][-1] for r in dr["runs"]]
    keep = [min(r["markov"]["rescaled"]["rank_residual"][1:]) for r in dr["runs"]]
    kq_scale = [r["kq"]["rescaled"]["scale"][-1] / r["kq"]["rescaled"]["scale"][0] for r in dr["runs"]]
    parts = [interval_part("Markov rescaled: final signal scale", scale, (0.8, 1.25)),
             interval_part("Markov rescaled: smallest rank residual over layers", keep, (0.99, np.inf)),
             interval_part("key-query rescaled: final over initial scale", kq_scale, (0.5, 2.0))]
    return dict(check="the same stacks with A - 1 1^T/T rescaled by kappa = sqrt(T)/||A - U||_F (calibrated at "
                      "initialisation)",
                numbers=dict(markov_rescaled_scale=scale, markov_rescaled_min_rank_residual=keep,
                             key_query_rescaled_scale_ratio=kq_scale,
                             markov_removed_final_scale=[r["markov"]["removed"]["scale"][-1] for r in dr["runs"]]),
                decision=rules.intervals(parts))


# The rows are registered (sigprop.claims.registry.CLAIMS), not imported: the public name is their regime.
__all__ = ["NNT_SETUP"]
