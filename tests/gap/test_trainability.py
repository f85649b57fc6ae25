"""Trainability of [NNT24]'s stacks: seeds independent, losses fall, bad input is one line."""

import numpy as np
import pytest

from sigprop.gap import protocol
from sigprop.gap import trainability as TR


def test_targets_are_the_papers_maps():
    x = np.array([-1.0, -0.5, 0.0, 0.3])
    np.testing.assert_allclose(TR.TARGETS["shifted_sigmoid"](x), 1 / (1 + np.exp(-(x + 0.5))))
    np.testing.assert_array_equal(TR.TARGETS["heaviside"](x), [0, 0, 0, 1])
    np.testing.assert_allclose(TR.TARGETS["square"](x), x**2)


def test_seeds_run_together_equal_seeds_run_alone():
    cfg = protocol.parse("A(X)_perp+skip+LN")
    both = TR.run(cfg, "square", 1e-2, [0, 3], length=4, layers=2, samples=3, steps=4)
    alone = TR.run(cfg, "square", 1e-2, [3], length=4, layers=2, samples=3, steps=4)
    np.testing.assert_allclose(both[1], alone[0], rtol=1e-10)
    assert not np.allclose(both[0], both[1])


def test_initial_loss_is_the_mse_of_the_initial_stack_and_training_lowers_it():
    cfg = protocol.parse("A+skip+LN")
    seeds, T, layers, samples = [1], 6, 2, 4
    losses = TR.run(cfg, "identity", 3e-3, seeds, length=T, layers=layers, samples=samples, steps=30)
    X0, params = protocol.init_params(cfg, seeds, T, T, layers, output_projection=True)
    X = TR.inputs(seeds, samples, T, T)
    want = float(((protocol.forward(cfg, params, X)[0][-1] - X) ** 2).mean())
    assert losses[0, 0] == pytest.approx(want, rel=1e-12)
    assert losses[0, -1] < 0.8 * losses[0, 0]
    assert np.all(np.diff(losses[0, :10]) < 0)  # a small Adam step on a smooth loss: monotone at first


def test_records_and_config():
    res = TR.train(
        ["A", "A_perp"], targets="heaviside", lrs=[1e-2], length=4, layers=1, seeds=[0, 1], samples=2, steps=2
    )
    assert len(res["records"]) == 4 and res["config"]["paper_values"]["length"] == 500
    r = res["records"][0]
    assert len(r["losses"]) == 3 and r["final"] == r["losses"][-1] and not r["diverged"]


def test_merge_joins_runs_that_differ_in_targets_and_lrs_only():
    small = dict(length=4, layers=1, seeds=[0], samples=1, steps=1)
    a = TR.train("A", targets="identity", lrs=[1e-2], **small)
    b = TR.train("A", targets="heaviside", lrs=[1e-3], **small)
    m = TR.merge([a, b])
    assert m["config"]["targets"] == ["identity", "heaviside"] and m["config"]["lrs"] == [1e-2, 1e-3]
    assert m["records"] == a["records"] + b["records"] and m["config"]["length"] == 4
    with pytest.raises(ValueError, match="differ in steps"):
        TR.merge([a, TR.train("A", targets="identity", lrs=[1e-2], **dict(small, steps=2))])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(targets=["cube"]), "targets"),
        (dict(lrs=[0]), "lrs"),
        (dict(length=1), "length"),
        (dict(steps=0), "steps"),
        (dict(gamma=2), "gamma"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TR.train(**dict(dict(configs="A", length=4, layers=1, seeds=[0], samples=1, steps=1), **kwargs))
