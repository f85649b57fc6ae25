"""The benchmark's timed replica of a step (``benchmarks/lm.py --profile``) is the library's step."""
import numpy as np

from benchmarks import lm as bench
from sigprop.lm import train as tr
from sigprop.lm import transformer


class Recorder:
    """An optimizer that keeps the gradients it is given."""

    def step(self, params, grads):
        self.grads = {k: v.copy() for k, v in grads.items()}


def test_step_parts_is_the_training_step():
    """The part-by-part replica hands the optimizer the clipped gradients of ``loss_and_grads`` to
    float32 rounding (1e-6 of each parameter's largest entry: the same operations in the same order)
    and applies the same weight decay."""
    cfg = transformer.Config(vocab=64, width=16, length=8, ff=16)
    params = transformer.init_params(cfg, 4)
    tokens = np.random.default_rng(5).integers(0, 64, size=(3, 9))
    mine = {k: v.copy() for k, v in params.items()}
    opt, acc = Recorder(), {}
    bench.step_parts(mine, tokens, cfg, opt, acc)
    _, _, grads = transformer.loss_and_grads(params, tokens, cfg)
    tr.clip_gradients(grads, 1.0)
    assert acc and all(t >= 0 for t in acc.values()) and set(opt.grads) == set(grads)
    for k in grads:
        np.testing.assert_allclose(opt.grads[k], grads[k], rtol=0, atol=1e-6 * np.abs(grads[k]).max(), err_msg=k)
        decay = np.float32(1 - 1e-3 * 0.01) if params[k].ndim >= 2 else np.float32(1)
        np.testing.assert_array_equal(mine[k], params[k] * decay, err_msg=k)
