"""Cost of one training step of the one-layer model (hand-written NumPy gradients).

``python benchmarks/train_step.py [--repeats R] [--format table|json]``

One step = draw a batch, forward, backward, LocAteR gradient, Adam update, at
``d = 64, T = 64``, batch 64, softmax attention, query = last token (the defaults of
issue 3's report).  The median over ``R`` timed blocks of 50 steps is reported,
after a warm-up block.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

from sigprop import optim
from sigprop import attention as att
from sigprop.train import Task, TrainConfig, loss_and_grads


def measure(repeats: int = 7, block: int = 50, d: int = 64, T: int = 64, batch: int = 64) -> dict:
    cfg = TrainConfig(task="teacher", d=d, d_k=d, T=T, batch=batch, locater=0.1)
    model = cfg.model()
    params = att.init_params(model, 0)
    task = Task(cfg, 1)
    rng = np.random.default_rng(2)
    opt = optim.make("adam", cfg.lr)

    def run():
        for _ in range(block):
            X, target = task.draw(rng, batch)
            _, _, grads = loss_and_grads(params, X, target, model, cfg.locater)
            opt.step(params, grads)

    run()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) / block)
    step = statistics.median(times)
    return dict(config=dict(d=d, T=T, batch=batch, attention="softmax", optimizer="adam",
                            block=block, repeats=repeats),
                machine=dict(platform=platform.platform(), cpus=os.cpu_count(), numpy=np.__version__),
                train_step_ms=1e3 * step, steps_per_s=1.0 / step)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    res = measure(args.repeats)
    if args.format == "json":
        print(json.dumps(res, indent=2))
        return
    c = res["config"]
    print(f"training step, d = {c['d']}, T = {c['T']}, batch {c['batch']}, softmax, Adam "
          f"(teacher task, data drawn each step), median of {c['repeats']} blocks of {c['block']}")
    print(f"  {res['train_step_ms']:.3f} ms per step, {res['steps_per_s']:.0f} steps/s")


if __name__ == "__main__":
    main()
