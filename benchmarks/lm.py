"""One training step of the language model: sigprop (NumPy, hand-written backward) against
the same model in PyTorch CPU autograd, float32.

``python benchmarks/lm.py [--vocab 4096] [--batch 16] [--repeats 7] [--format table|json] [--quick]``
``python benchmarks/lm.py --profile [--repeats 15]``: each part of a step and the lowest step NumPy
can reach (:func:`profile`).

A step is forward, backward, gradient clipping and the AdamW update of the default model
(1 layer, 1 head, width 128, feed-forward 128, Post-LN, ReLU, tied output, ``T = 128``).
Both sides start from the same weights and batch; their losses and gradients are compared
first (largest relative difference per parameter).  Times are medians over ``repeats`` steps
after one warm-up step, every side timed in alternation (the order reversed every other round),
with every BLAS/OpenMP pool pinned to one thread (``threadpoolctl``, ``torch.set_num_threads(1)``)
and again with all threads.  Reported with the median and distribution-free 95% interval of the
per-round ratios: ``step_over_floor``, the NumPy step over the three output-layer products it
cannot avoid (:func:`output_products`; target <= 1.25), ``step_over_torch``, sigprop's step over
PyTorch's (target <= 1.0; at one thread also in CPU time, ``*_cpu``), and
``torch_blas_over_numpy_blas``, PyTorch's time for the same three products over NumPy's (how much
of the comparison is the BLAS library).  Tokens per second is ``batch * T`` over the step time.
The load averages before and after are recorded: other processes on the machine slow every side.
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
from sigprop.lm import transformer


def torch_step(params: dict, tokens: np.ndarray, cfg: transformer.Config, lr: float = 1e-3, wd: float = 0.01,
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


def numpy_step(params: dict, tokens: np.ndarray, cfg: transformer.Config, lr: float = 1e-3, wd: float = 0.01,
               clip: float = 1.0):
    """sigprop's training step (as in :func:`sigprop.lm.train.train`)."""
    from sigprop.model.optim import Adam
    params = {k: v.copy() for k, v in params.items()}
    opt = Adam(lr, beta2=0.98)

    def step():
        loss, _, grads = transformer.loss_and_grads(params, tokens, cfg)
        tr.clip_gradients(grads, clip)
        for value in params.values():
            if value.ndim >= 2:
                value *= value.dtype.type(1 - lr * wd)
        opt.step(params, grads)
        return loss
    return step


def _paired(fns: dict, repeats: int) -> dict[str, dict[str, list[float]]]:
    """Every function once (warm-up), then ``repeats`` rounds timing each in turn, the order
    reversed every other round (so that a drift of the machine's load hits every side alike):
    ``{name: dict(wall=[...], cpu=[...])}``, CPU time of this process (all its threads)."""
    for fn in fns.values():
        fn()
    out = {k: dict(wall=[], cpu=[]) for k in fns}
    names = list(fns)
    for r in range(repeats):
        for k in (names if r % 2 == 0 else names[::-1]):
            c0, t0 = time.process_time(), time.perf_counter()
            fns[k]()
            out[k]["wall"].append(time.perf_counter() - t0)
            out[k]["cpu"].append(time.process_time() - c0)
    return out


def _ratio(times: dict, a: str, b: str, clock: str = "wall") -> dict:
    """The per-round ratios ``a / b``: median and distribution-free 95% interval (None under 6 rounds)."""
    from sigprop.core.stats import median_interval
    ratios = [x / y for x, y in zip(times[a][clock], times[b][clock], strict=True)]
    found = median_interval(ratios)
    return dict(ratio=statistics.median(ratios), interval=None if found is None else [found[1], found[2]],
                clock=clock)


def output_products(params: dict, tokens: np.ndarray, cfg: transformer.Config):
    """The three products of the output layer a step cannot avoid, at the step's shapes and dtype:
    ``logits = x W_out`` (``N x D`` by ``D x V``), ``dW_out = dz^T x`` and ``dx = dz W_out^T``
    (``N = batch x T`` tokens), for NumPy and for PyTorch on the same arrays.  Each in its fastest
    form: ``dW_out`` as the ``D x V`` product ``x^T dz`` (its transpose), about 15% faster at one
    thread than ``dz^T x`` with OpenBLAS here, as the step computes it."""
    N, D = tokens.shape[0] * (tokens.shape[1] - 1), cfg.width
    rng = np.random.default_rng(1)
    dtype = params["tok_emb"].dtype
    x = rng.standard_normal((N, D)).astype(dtype)
    W = np.ascontiguousarray(params["tok_emb"].T)                      # D x V, as the tied model uses it
    dz = rng.standard_normal((N, cfg.vocab)).astype(dtype)

    def numpy_floor():
        x @ W
        x.T @ dz
        dz @ W.T

    def torch_floor_fn():
        import torch
        tx, tW, tdz = (torch.from_numpy(a) for a in (x, W, dz))

        def run():
            tx @ tW
            tx.T @ tdz
            tdz @ tW.T
        return run
    return numpy_floor, torch_floor_fn


def measure(vocab: int = 4096, batch: int = 16, repeats: int = 7, quick: bool = False) -> dict:
    """Per thread setting (1 thread, all threads): the NumPy step, PyTorch's step, the output layer's
    three products in NumPy (the floor) and in PyTorch, timed in alternation; the ratios step / floor,
    NumPy step / PyTorch step and PyTorch products / NumPy products with their 95% intervals."""
    if quick:
        vocab, batch, repeats = 256, 2, 1
    cfg = transformer.Config(vocab=vocab)
    params = transformer.init_params(cfg, 0)
    tokens = np.random.default_rng(0).integers(0, vocab, size=(batch, cfg.length + 1))
    load_before = os.getloadavg()
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
        loss_np, _, g_np = transformer.loss_and_grads(params, tokens, cfg)
        loss_t, g_t = torch_step(params, tokens, cfg)[1]()
        res["loss_numpy"], res["loss_torch"] = loss_np, loss_t
        res["max_grad_rel_diff"] = max(
            float(np.linalg.norm(g_np[k] - g_t[k]) / max(np.linalg.norm(g_t[k]), 1e-30)) for k in g_np)
    all_threads = torch.get_num_threads() if torch is not None else os.cpu_count()
    numpy_floor, torch_floor_fn = output_products(params, tokens, cfg)
    for label, threads in (("1 thread", 1), ("all threads", None)):
        with threadpool_limits(limits=threads):
            fns = dict(numpy=numpy_step(params, tokens, cfg), floor=numpy_floor)
            if torch is not None:
                torch.set_num_threads(threads or all_threads)
                fns.update(torch=torch_step(params, tokens, cfg)[0], torch_floor=torch_floor_fn())
            times = _paired(fns, repeats)
            row = dict(threads=threads or all_threads, numpy_s=statistics.median(times["numpy"]["wall"]),
                       floor_s=statistics.median(times["floor"]["wall"]),
                       step_over_floor=_ratio(times, "numpy", "floor"))
            if torch is not None:
                row["torch_s"] = statistics.median(times["torch"]["wall"])
                row["ratio"] = row["numpy_s"] / row["torch_s"]
                row["step_over_torch"] = _ratio(times, "numpy", "torch")
                row["torch_blas_over_numpy_blas"] = _ratio(times, "torch_floor", "floor")
                row["torch_tokens_per_s"] = tokens_per_step / row["torch_s"]
                if threads == 1:             # one thread each: CPU time is the load-robust measure
                    row["step_over_torch_cpu"] = _ratio(times, "numpy", "torch", "cpu")
            if threads == 1:
                row["step_over_floor_cpu"] = _ratio(times, "numpy", "floor", "cpu")
            row["numpy_tokens_per_s"] = tokens_per_step / row["numpy_s"]
        res[label] = row
    res["load_average"] = [list(load_before), list(os.getloadavg())]
    return res


def step_parts(params: dict, tokens: np.ndarray, cfg: transformer.Config, opt, acc: dict, buf=None) -> None:
    """One step of the default model (1 layer, 1 head, Post-LN, ReLU, tied, no dropout), the library's
    operations in the order :func:`sigprop.lm.transformer.loss_and_grads`, clipping, weight decay and
    Adam run them, each part's CPU time added to ``acc``; ``buf``, an ``N x V`` array kept between
    steps, receives the logits (a new one when ``None``)."""
    from sigprop.lm import layers as L

    class part:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            self.t = time.process_time()

        def __exit__(self, *exc):
            acc[self.name] = acc.get(self.name, 0.0) + time.process_time() - self.t

    P, D, V = params, cfg.width, cfg.vocab
    f32 = P["tok_emb"].dtype.type
    inp, tgt = tokens[:, :-1], tokens[:, 1:]
    B, T = inp.shape
    if buf is None:
        buf = np.empty((B * T, V), P["tok_emb"].dtype)
    with part("embedding, O(N) parts"):
        x = P["tok_emb"][inp] * f32(np.sqrt(D)) + P["pos_emb"][:T]
    W = [P[f"l0.{w}"] for w in ("W_Q", "W_K", "W_V", "W_O")]
    with part("attention"):
        a, ca = L.attention(x, *W, heads=cfg.heads, scale=cfg.scale)
    with part("layer norms"):
        h, c1 = L.layer_norm(x + a, P["l0.ln1.g"], P["l0.ln1.b"])
    with part("feed-forward"):
        u = h @ P["l0.W_1"] + P["l0.b_1"]
        act = L.activation(u, "relu")
        f = act @ P["l0.W_2"] + P["l0.b_2"]
    with part("layer norms"):
        x, c2 = L.layer_norm(h + f, P["l0.ln2.g"], P["l0.ln2.b"])
    xf = x.reshape(-1, D)
    with part("output product: logits = x W_out"):
        z = np.matmul(xf, P["tok_emb"].T, out=buf)
    with part("cross-entropy: bias, max, subtract, sum"):
        z += P["b_out"]
        z -= z.max(axis=-1, keepdims=True)
    t = tgt.reshape(-1)
    with part("embedding, O(N) parts"):
        picked = np.take_along_axis(z, t[:, None], axis=-1)[:, 0]
    with part("cross-entropy: exp"):
        np.exp(z, out=z)
    with part("cross-entropy: bias, max, subtract, sum"):
        r = z.sum(axis=-1, keepdims=True)
    g = {}
    inv_n = f32(1.0 / t.size)
    with part("embedding, O(N) parts"):
        float(np.mean(np.log(r[:, 0], dtype=np.float64) - picked))
        np.reciprocal(r, out=r)
        r *= inv_n
    with part("db_out = r^T e"):
        g["b_out"] = r[:, 0] @ z
    with part("embedding, O(N) parts"):
        g["b_out"] -= np.bincount(t, minlength=V).astype(z.dtype) * inv_n
        xr = xf * r
    with part("output product: dx = dz W_out^T"):
        dx = z @ P["tok_emb"]
    with part("embedding, O(N) parts"):
        dx *= r
        dx -= P["tok_emb"][t] * inv_n
        dx = dx.reshape(x.shape)
    with part("output product: dW_out = dz^T x"):
        g["tok_emb"] = np.ascontiguousarray((xr.T @ z).T)
    with part("layer norms"):
        dr, g["l0.ln2.g"], g["l0.ln2.b"] = L.layer_norm_backward(dx, c2)
    with part("feed-forward"):
        g["l0.b_2"] = dr.reshape(-1, D).sum(0)
        g["l0.W_2"] = act.reshape(-1, act.shape[-1]).T @ dr.reshape(-1, D)
        du = L.activation_backward(dr @ P["l0.W_2"].T, u, "relu")
        g["l0.b_1"] = du.reshape(-1, du.shape[-1]).sum(0)
        g["l0.W_1"] = h.reshape(-1, D).T @ du.reshape(-1, du.shape[-1])
        dx = dr + du @ P["l0.W_1"].T
    with part("layer norms"):
        dr, g["l0.ln1.g"], g["l0.ln1.b"] = L.layer_norm_backward(dx, c1)
    with part("attention"):
        dh, *dW, _ = L.attention_backward(dr, ca, *W)
        dx = dr + dh
    for w, d in zip(("W_Q", "W_K", "W_V", "W_O"), dW, strict=True):
        g[f"l0.{w}"] = d
    with part("embedding gradient (scatter)"):
        g["pos_emb"] = np.zeros_like(P["pos_emb"])
        g["pos_emb"][:T] = dx.sum(axis=0)
        rows = np.concatenate((inp.reshape(-1), t))
        values = np.concatenate((dx.reshape(-1, D) * f32(np.sqrt(D)), xf * -inv_n))
        g["tok_emb"] += L.scatter_rows(rows, values, V)
    with part("clipping, weight decay"):
        tr.clip_gradients(g, 1.0)
        for value in P.values():
            if value.ndim >= 2:
                value *= f32(1 - 1e-3 * 0.01)
    with part("Adam"):
        opt.step(P, g)


def profile(vocab: int = 4096, batch: int = 16, repeats: int = 15) -> dict:
    """One thread, CPU time: each part of a step (:func:`step_parts`) and the lowest step NumPy can
    reach, as medians over ``repeats`` alternated rounds.

    The bound's terms, each alternated with the floor: ``exp`` (one pass of ``exp`` over the ``N x V``
    logits into another buffer), ``exp_max_sum`` (with the row max and sum a stable softmax needs),
    ``stable_softmax`` (NumPy's max, subtract, exp and sum) and ``other_products`` (the attention's and
    feed-forward's products of a step at their shapes); ratios to the floor with their min and max.
    """
    from threadpoolctl import threadpool_limits

    from sigprop.model.optim import Adam
    cfg = transformer.Config(vocab=vocab)
    if (cfg.layers, cfg.heads, cfg.norm, cfg.activation, cfg.tied) != (1, 1, "post", "relu", True):
        raise ValueError("profile: the default model only")
    params = transformer.init_params(cfg, 0)
    tokens = np.random.default_rng(0).integers(0, vocab, size=(batch, cfg.length + 1))
    floor, _ = output_products(params, tokens, cfg)
    rng = np.random.default_rng(3)
    N, D = batch * cfg.length, cfg.width
    x = rng.standard_normal((N, D)).astype(np.float32)
    z = x @ np.ascontiguousarray(params["tok_emb"].T)
    buf = np.empty_like(z)
    Ws = [rng.standard_normal((D, D)).astype(np.float32) for _ in range(6)]
    q, k, v, A = (rng.standard_normal((batch, 1, cfg.length, D)).astype(np.float32) for _ in range(4))
    opt = Adam(1e-3, beta2=0.98)
    logits = np.empty((N, vocab), np.float32)

    def step_fn():
        acc: dict = {}
        step_parts(params, tokens, cfg, opt, acc, logits)
        return acc

    def exp():
        np.exp(z, out=buf)

    def exp_max_sum():
        z.max(axis=1, keepdims=True)
        np.exp(z, out=buf)
        buf.sum(axis=1)

    def stable_softmax():
        np.subtract(z, z.max(axis=1, keepdims=True), out=buf)
        np.exp(buf, out=buf)
        buf.sum(axis=1)

    def other_products():
        for w in Ws:                                  # forward: Q, K, V, O, W_1, W_2
            x @ w
        q @ k.transpose(0, 1, 3, 2)
        A @ v
        for w in Ws:                                  # backward: each weight's gradient and input gradient
            x.T @ x
            x @ w.T
        q @ v.transpose(0, 1, 3, 2)
        A.transpose(0, 1, 3, 2) @ q
        A @ k
        A.transpose(0, 1, 3, 2) @ q

    fns = dict(floor=floor, exp=exp, exp_max_sum=exp_max_sum, stable_softmax=stable_softmax,
               other_products=other_products)
    load_before = os.getloadavg()
    with threadpool_limits(limits=1):
        for _ in range(2):
            step_fn()
        for fn in fns.values():
            fn()
        times: dict = {k: [] for k in ("step", *fns)}
        parts: dict = {}
        names = ["step", *fns]
        for r in range(repeats):
            for name in (names if r % 2 == 0 else names[::-1]):
                c0 = time.process_time()
                acc = step_fn() if name == "step" else fns[name]()
                times[name].append(time.process_time() - c0)
                if name == "step":
                    for key, value in acc.items():
                        parts.setdefault(key, []).append(value)

    def over_floor(name):
        ratios = [a / b for a, b in zip(times[name], times["floor"], strict=True)]
        return dict(ratio=statistics.median(ratios), min=min(ratios), max=max(ratios))
    return dict(step_ms=1e3 * statistics.median(times["step"]), floor_ms=1e3 * statistics.median(times["floor"]),
                parts_ms={k: 1e3 * statistics.median(v) for k, v in
                          sorted(parts.items(), key=lambda kv: -statistics.median(kv[1]))},
                step_over_floor=over_floor("step"),
                bound={k: over_floor(k) for k in ("exp", "exp_max_sum", "stable_softmax", "other_products")},
                load_average=[list(load_before), list(os.getloadavg())], repeats=repeats)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vocab", type=int, default=4096)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--profile", action="store_true",
                   help="time each part of a step and the lowest step NumPy can reach (one thread, CPU time)")
    args = p.parse_args(argv)
    if args.profile:
        prof = profile(args.vocab, args.batch, args.repeats)
        if args.format == "json":
            print(json.dumps(prof, indent=2))
            return
        print(f"lm step by part, one thread, CPU time, median of {prof['repeats']}; "
              f"load average {prof['load_average']}")
        for key, value in prof["parts_ms"].items():
            print(f"  {key:42s} {value:7.2f} ms  {100 * value / prof['step_ms']:5.1f}%")
        print(f"  {'step':42s} {prof['step_ms']:7.2f} ms; floor {prof['floor_ms']:.2f} ms; "
              f"step / floor {prof['step_over_floor']['ratio']:.2f}")
        for key, r in prof["bound"].items():
            print(f"  {key} / floor: {r['ratio']:.3f} [{r['min']:.3f}, {r['max']:.3f}]")
        return
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
    def shown(r):
        iv = r["interval"]
        return f"{r['ratio']:.2f}" + ("" if iv is None else f" [{iv[0]:.2f}, {iv[1]:.2f}]")
    for label in ("1 thread", "all threads"):
        r = res[label]
        line = (f"  {label:>11}: NumPy {1e3 * r['numpy_s']:8.1f} ms ({r['numpy_tokens_per_s']:8.0f} tok/s), "
                f"output-layer floor {1e3 * r['floor_s']:.1f} ms, step / floor {shown(r['step_over_floor'])}")
        if "torch_s" in r:
            line += (f"\n{'':15}PyTorch {1e3 * r['torch_s']:8.1f} ms ({r['torch_tokens_per_s']:8.0f} tok/s),"
                     f" NumPy / PyTorch {shown(r['step_over_torch'])},"
                     f" PyTorch's BLAS / NumPy's on the floor's products {shown(r['torch_blas_over_numpy_blas'])}")
        print(line)
    for n in res["notes"]:
        print("  note:", n)


if __name__ == "__main__":
    main()
