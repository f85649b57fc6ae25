"""Every registered study, one small grid each: a cell's numbers equal a direct API call with its seed."""
from dataclasses import replace

import numpy as np
import pytest

import sigprop.sweep as sw
from sigprop.gap import collapse
from sigprop.gap import stable_rank as nnt_sr
from sigprop.gap.spectra import report
from sigprop.model.locater_sweep import final_row
from sigprop.model.train import TrainConfig, train
from sigprop.rho.gaussian_error import case, study
from sigprop.rho.theory import theory_spectrum

TRAIN = dict(d=4, d_k=4, T=4, batch=4, steps=3, log_every=2, probe=8)


def run(tmp_path, spec):
    res = sw.run(spec, tmp_path / "s.zarr", workers=0, progress=False)
    assert res["done"] == res["total"] == sw.Spec.load(spec).size and res["failed"] == 0
    return sw.open(tmp_path / "s.zarr").load()


def test_every_study_is_covered():
    tested = {"profile", "exact", "saddlepoint", "gaussian-error", "spectral-gap", "collapse-width",
              "collapse-depth", "training", "locater", "lm", "nnt-stable-rank", "softmax", "stack-predict"}
    builtin = {name for name, st in sw.STUDIES.items() if st.function.startswith("sigprop.")}
    assert tested | {"validation"} == builtin              # validation: tests/sweep/test_engine.py


def test_profile_and_exact(tmp_path):
    ds = run(tmp_path, dict(study="profile", args=dict(d=8, m=0.5), axes=dict(v=[0.1, 1.0], T=[4, 6])))
    assert ds.rho.dims == ("v", "T", "position") and ds.sizes["position"] == 6
    for v in (0.1, 1.0):
        for T in (4, 6):
            p = theory_spectrum(0.5, v, 8, T, method="gaussian")
            got = ds.rho.sel(v=v, T=T).values
            np.testing.assert_array_equal(got[:T], p.rho)
            assert np.all(np.isnan(got[T:]))                 # padded to the longest T
    ex = run(tmp_path / "e", dict(study="exact", args=dict(d=4, T=5, m=0.5), axes=dict(v=[0.1])))
    ref = theory_spectrum(0.5, 0.1, 4, 5, method="exact")
    np.testing.assert_array_equal(ex.rho.sel(v=0.1).values, ref.rho)
    np.testing.assert_array_equal(ex.rho_error.sel(v=0.1).values, ref.config["rho_error"])


def test_saddlepoint_map(tmp_path):
    ds = run(tmp_path, dict(study="saddlepoint", args=dict(T=5, m=0.5), axes=dict(d=[4, 64], v=[0.1])))
    for d in (4, 64):
        sp = theory_spectrum(0.5, 0.1, d, 5, method="saddlepoint").rho
        ex = theory_spectrum(0.5, 0.1, d, 5, method="exact").rho
        np.testing.assert_array_equal(ds.rho.sel(d=d, v=0.1).values, sp)
        assert float(ds.max_abs_error.sel(d=d, v=0.1)) == np.abs(sp - ex).max()
    assert float(ds.max_abs_error.sel(d=64, v=0.1)) < 1e-3      # good to 1e-3 at d = 64 (docs/saddlepoint.md)


def test_softmax_cells_are_direct_calls(tmp_path):
    from sigprop.rho.softmax_map import KINDS
    from sigprop.rho.softmax_profile import STUDY
    from sigprop.sweep.studies import softmax

    # the descriptor's profiles (over position, beside their _se) are softmax_map's KINDS
    assert tuple(k for k, dims in STUDY.outputs().items() if dims and not k.endswith("_se")) == KINDS
    ds = run(tmp_path, dict(study="softmax", seed=3, args=dict(d=4, T=6, m=0.5, samples=64),
                            axes=dict(v=[0.1, 1.0])))
    for v in (0.1, 1.0):
        ref = softmax(0.5, v, 4, 6, samples=64, seed=int(ds.cell_seed.sel(v=v)))
        np.testing.assert_array_equal(ds.weight.sel(v=v).values, ref["weight"])
        assert ds.gradient_entropy_normalized.sel(v=v).item() == ref["gradient_entropy_normalized"]


def test_gaussian_error_cells_are_the_study_cases(tmp_path):
    ds = run(tmp_path, dict(study="gaussian-error", seed=2, args=dict(T=6, samples=300),
                            axes=dict(d=[2, 4], v=[0.1])))
    for d in (2, 4):
        row = case(d, 0.1, T=6, samples=300, seed=int(ds.cell_seed.sel(d=d, v=0.1)))
        for key in ("gauss_vs_exact", "gauss_vs_mc", "exact_vs_mc", "exact_coverage", "position"):
            assert ds[key].sel(d=d, v=0.1).item() == row[key]
    # the study itself is the same cases with seeds [seed, k]
    rows = study((2,), (0.1,), T=6, samples=300, seed=5)["rows"]
    assert rows == [case(2, 0.1, T=6, samples=300, seed=[5, 0])]


def test_spectral_gap_and_collapse(tmp_path):
    ds = run(tmp_path, dict(study="spectral-gap", seed=1, args=dict(sigma=1.0), axes=dict(T=[8, 16])))
    for T in (8, 16):
        rep = report(T, 1.0, seed=int(ds.cell_seed.sel(T=T)))
        assert ds.sigma_2.sel(T=T).item() == rep["sigma_2"] and ds.gap.sel(T=T).item() == rep["gap"]
    w = run(tmp_path / "w", dict(study="collapse-width", args=dict(sigma=1.0, d=4, samples=2),
                                 axes=dict(T=[8])))
    res = collapse.width(8, 1.0, d=4, samples=2, seed=int(w.cell_seed.sel(T=8)))
    assert list(w.variant.values) == list(collapse.VARIANTS)
    assert w.rank_residual.sel(T=8, variant="removed").item() == res["removed"]["rank_residual"]
    dp = run(tmp_path / "d", dict(study="collapse-depth", args=dict(T=8, sigma=1.0, d=4),
                                  axes=dict(L=[1, 2], model=["markov", "attention"])))
    assert dp.sizes["layer"] == 3 and dp.sizes["attention_layer"] == 2
    seed = int(dp.cell_seed.sel(L=2, model="attention"))
    res = collapse.depth(2, 8, 1.0, model="attention", d=4, seed=seed)
    np.testing.assert_array_equal(dp.grad_x.sel(L=2, model="attention", variant="vanilla").values,
                                  res["vanilla"]["grad_x"])
    assert np.isnan(dp.grad_w.sel(model="markov")).all()
    assert np.isnan(dp.rank_residual.sel(L=1).isel(layer=2)).all()      # L = 1 has layers 0..1


def test_training_and_locater(tmp_path):
    ds = run(tmp_path, dict(study="training", args=TRAIN, axes=dict(locater=[0.0, 0.1])))
    cfg = TrainConfig(**TRAIN, locater=0.1, seed=int(ds.cell_seed.sel(locater=0.1)))
    rec = train(cfg)
    assert ds.final_heldout_loss.sel(locater=0.1).item() == final_row(rec)["heldout_loss"]
    np.testing.assert_array_equal(ds.history_step.sel(locater=0.1).values,
                                  [h["step"] for h in rec["history"]])
    lo = run(tmp_path / "l", dict(study="locater", args=dict(TRAIN, full_rank=True),
                                  axes=dict(locater=[0.1], seed={"start": 0, "stop": 2})))
    seed = int(lo.cell_seed.sel(locater=0.1, seed=1))
    row = final_row(train(replace(cfg, d_k=None, seed=seed)))
    assert lo.eig_var.sel(locater=0.1, seed=1).item() == row["eig_var"]
    assert lo.cell_seed.sel(seed=0).item() != seed
    # every field of TrainConfig may be an axis, as the configuration grows
    spec = sw.Spec.from_dict(dict(study="locater", args=TRAIN, axes=dict(locater_variant=["a"], lr=[0.1])))
    assert spec.arguments((0, 0))["locater_variant"] == "a"
    with pytest.raises(ValueError, match="has no argument 'colour'"):
        sw.Spec.from_dict(dict(study="training", args=dict(colour=1), axes=dict(lr=[0.1])))


def test_lm(tmp_path):
    """The language model as a sweep study: a cell equals a direct run with the cell's seed."""
    from sigprop.lm import corpus as lmcorpus
    from sigprop.lm import train as lmtrain
    from sigprop.lm.transformer import Config
    from tests.lm.test_train import small_corpus

    small_corpus(tmp_path)
    args = dict(corpus=str(tmp_path), vocab=300, width=8, heads=2, length=8, ff=8, steps=4, batch=2,
                warmup=1, eval_every=2, eval_tokens=64, probe=2)
    ds = run(tmp_path / "s", dict(study="lm", args=args, axes=dict(regularizer=["none", "locater:0.1"])))
    assert ds.history_perplexity.dims == ("regularizer", "lm_record") and ds.sizes["lm_record"] == 3
    seed = int(ds.cell_seed.sel(regularizer="locater:0.1"))
    model = {k: args[k] for k in ("vocab", "width", "heads", "length", "ff")}
    cfg = lmtrain.TrainConfig(model=Config(**model, regularizer="locater:0.1"), seed=seed,
                              **{k: v for k, v in args.items() if k not in model})
    rec = lmtrain.train(cfg, lmtrain.prepare(lmcorpus.load(str(tmp_path)), "bpe", 300))
    assert ds.perplexity.sel(regularizer="locater:0.1").item() == rec["history"][-1]["perplexity"]
    np.testing.assert_array_equal(ds.history_step.sel(regularizer="none").values, [0, 2, 4])


def test_nnt_stable_rank(tmp_path):
    ds = run(tmp_path, dict(study="nnt-stable-rank", args=dict(config="A(X)_perp+skip", L=2),
                            axes=dict(T=[6, 8], gamma=[1.0, 0.5])))
    assert ds.stable_rank.sizes["layer"] == 3
    for T in (6, 8):
        seed = int(ds.cell_seed.sel(T=T, gamma=0.5))
        res = nnt_sr.stable_ranks("A(X)_perp+skip", lengths=[T], gammas=[0.5], layers=2, seeds=[seed])
        np.testing.assert_array_equal(ds.stable_rank.sel(T=T, gamma=0.5).values,
                                      [r["stable_rank"] for r in res["records"]])


def test_stack_predict_cells_are_the_recursion(tmp_path):
    from sigprop.stack import predict
    from sigprop.sweep.studies import STACK_OUTPUTS

    ds = run(tmp_path, dict(study="stack-predict", args=dict(L=3, T=16, cosine0=0.2),
                            axes=dict(beta=[0.5, 3.0], alpha=[0.7])))
    assert ds.cosine.dims == ("beta", "alpha", "layer") and ds.sizes["layer"] == 4
    for beta in (0.5, 3.0):
        api = predict(layers=3, beta=beta, T=16, alpha_attention=0.7, alpha_mlp=0.7, cosine0=0.2, recursion="gg")
        for name in STACK_OUTPUTS:
            np.testing.assert_array_equal(ds[name].sel(beta=beta, alpha=0.7).values,
                                          [row[name] for row in api["layers"]])
