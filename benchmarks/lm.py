"""One training step of the language model: sigprop (NumPy, hand-written backward) against
the same model in PyTorch CPU autograd, float32.

``python benchmarks/lm.py [--vocab 4096] [--batch 16] [--repeats 7] [--format table|json] [--quick]``

A step is forward, backward, gradient clipping and the AdamW update of the default model
(1 layer, 1 head, width 128, feed-forward 128, Post-LN, ReLU, tied output, ``T = 128``).
Both sides start from the same weights and batch; their losses and gradients are compared
first (largest relative difference per parameter).  Times are medians over ``repeats`` steps
after one warm-up step, the two sides timed in alternation, with every BLAS/OpenMP pool pinned to one thread
(``threadpoolctl``, ``torch.set_num_threads(1)``) and again with all threads; the ratio is
sigprop's time over PyTorch's (target <= 1.0), and tokens per second is ``batch * T`` over
the step time.  The 1-minute load average before and after is recorded: other processes on
the machine slow both sides.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

from sigprop.lm import train as tr
from sigprop.lm import transformer as tf


def torch_step(params: dict, tokens: np.ndarray, cfg: tf.Config, lr: float = 1e-3, wd: float = 0.01,
               clip: float = 1.0):
    """The same model and step in PyTorch autograd: returns ``(step, loss_and_grads)``."""
    import torch
    import torch.nn.functional as F
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    decay = [P[k] for k in P if P[k].ndim >= 2]
    other = [P[k] for k in P if P[k].ndim < 2]
    opt = torch.optim.AdamW([dict(params=decay, weight_decay=wd), dict(params=other, weight_decay=0.0)],
                            lr=lr, betas=(0.9, 0.98), eps=1e-8)
    tok = torch.as_tensor(tokens, dtype=torch.long)
    inp, tgt = tok[:, :-1], tok[:, 1:]
    B, T = inp.shape
    D, H = cfg.width, cfg.heads
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    eps = 1e-5

    def ln(x, name):
        return F.layer_norm(x, (D,), P[f"{name}.g"], P[f"{name}.b"], eps)

    def loss_fn():
        x = P["tok_emb"][inp] * np.sqrt(D) + P["pos_emb"][:T]
        for i in range(cfg.layers):
            h = ln(x, f"l{i}.ln1") if cfg.norm == "pre" else x
            q = (h @ P[f"l{i}.W_Q"]).view(B, T, H, -1).transpose(1, 2)
            k = (h @ P[f"l{i}.W_K"]).view(B, T, H, -1).transpose(1, 2)
            v = (h @ P[f"l{i}.W_V"]).view(B, T, H, -1).transpose(1, 2)
            S = (q @ k.transpose(-1, -2)) * cfg.scale
            A = torch.softmax(S.masked_fill(~mask, float("-inf")), dim=-1)
            a = (A @ v).transpose(1, 2).reshape(B, T, D) @ P[f"l{i}.W_O"]
            if cfg.norm == "pre":
                x = x + a
                h = ln(x, f"l{i}.ln2")
            else:
                x = ln(x + a, f"l{i}.ln1")
                h = x
            act = torch.relu if cfg.activation == "relu" else F.gelu
            f = act(h @ P[f"l{i}.W_1"] + P[f"l{i}.b_1"]) @ P[f"l{i}.W_2"] + P[f"l{i}.b_2"]
            x = x + f if cfg.norm == "pre" else ln(x + f, f"l{i}.ln2")
        if cfg.norm == "pre":
            x = ln(x, "lnf")
        W_out = P["tok_emb"].T if cfg.tied else P["W_out"]
        logits = x @ W_out + P["b_out"]
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(P.values()), clip)
        opt.step()
        return float(loss)

    def loss_and_grads():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        return float(loss), {k: v.grad.numpy().copy() for k, v in P.items()}
    return step, loss_and_grads


def numpy_step(params: dict, tokens: np.ndarray, cfg: tf.Config, lr: float = 1e-3, wd: float = 0.01,
               clip: float = 1.0):
    """sigprop's training step (as in :func:`sigprop.lm.train.train`)."""
    from sigprop.model.optim import Adam
    params = {k: v.copy() for k, v in params.items()}
    opt = Adam(lr, beta2=0.98)

    def step():
        loss, _, grads = tf.loss_and_grads(params, tokens, cfg)
        tr.clip_gradients(grads, clip)
        for value in params.values():
            if value.ndim >= 2:
                value *= value.dtype.type(1 - lr * wd)
        opt.step(params, grads)
        return loss
    return step


def _median_times(fns, repeats: int) -> list[float]:
    """Median time of each function, timed in alternation (so that a change of the machine's
    load during the measurement hits every side alike), after one warm-up call each."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def measure(vocab: int = 4096, batch: int = 16, repeats: int = 7, quick: bool = False) -> dict:
    if quick:
        vocab, batch, repeats = 256, 2, 1
    cfg = tf.Config(vocab=vocab)
    params = tf.init_params(cfg, 0)
    tokens = np.random.default_rng(0).integers(0, vocab, size=(batch, cfg.length + 1))
    load_before = os.getloadavg()[0]
    res = dict(config=dict(model=cfg.to_dict(), batch=batch, repeats=repeats),
               machine=dict(platform=platform.platform(), cpus=os.cpu_count(), numpy=np.__version__),
               notes=[])
    try:
        import torch
        res["machine"]["torch"] = torch.__version__
    except ImportError:
        torch = None
        res["notes"].append("PyTorch is not installed: no peer timing (pip install torch==2.13.0)")
    from threadpoolctl import threadpool_limits
    tokens_per_step = batch * cfg.length
    if torch is not None:
        loss_np, _, g_np = tf.loss_and_grads(params, tokens, cfg)
        loss_t, g_t = torch_step(params, tokens, cfg)[1]()
        res["loss_numpy"], res["loss_torch"] = loss_np, loss_t
        res["max_grad_rel_diff"] = max(
            float(np.linalg.norm(g_np[k] - g_t[k]) / max(np.linalg.norm(g_t[k]), 1e-30)) for k in g_np)
    all_threads = torch.get_num_threads() if torch is not None else None
    for label, threads in (("1 thread", 1), ("all threads", None)):
        with threadpool_limits(limits=threads):
            if torch is not None:
                torch.set_num_threads(threads or all_threads)
            fns = [numpy_step(params, tokens, cfg)]
            if torch is not None:
                fns.append(torch_step(params, tokens, cfg)[0])
            times = _median_times(fns, repeats)
            row = dict(numpy_s=times[0])
            if torch is not None:
                row["torch_s"] = times[1]
                row["ratio"] = row["numpy_s"] / row["torch_s"]
                row["torch_tokens_per_s"] = tokens_per_step / row["torch_s"]
            row["numpy_tokens_per_s"] = tokens_per_step / row["numpy_s"]
        res[label] = row
    res["load_average"] = [load_before, os.getloadavg()[0]]
    return res


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vocab", type=int, default=4096)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    res = measure(args.vocab, args.batch, args.repeats, args.quick)
    if args.format == "json":
        print(json.dumps(res, indent=2))
        return
    c = res["config"]
    print(f"lm training step, default model, vocab {c['model']['vocab']}, batch {c['batch']} x T "
          f"{c['model']['length']}, median of {c['repeats']}; load average {res['load_average']}")
    if "max_grad_rel_diff" in res:
        print(f"  same model: loss {res['loss_numpy']:.6f} (NumPy) vs {res['loss_torch']:.6f} (PyTorch), "
              f"largest gradient difference {res['max_grad_rel_diff']:.1e}")
    for label in ("1 thread", "all threads"):
        r = res[label]
        line = f"  {label:>11}: NumPy {1e3 * r['numpy_s']:8.1f} ms ({r['numpy_tokens_per_s']:8.0f} tok/s)"
        if "torch_s" in r:
            line += (f", PyTorch {1e3 * r['torch_s']:8.1f} ms ({r['torch_tokens_per_s']:8.0f} tok/s),"
                     f" ratio {r['ratio']:.2f}")
        print(line)
    for n in res["notes"]:
        print("  note:", n)


if __name__ == "__main__":
    main()
