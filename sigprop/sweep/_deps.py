"""The optional dependencies of :mod:`sigprop.sweep`, imported on first use."""
from __future__ import annotations

import importlib

EXTRA = "pip install 'sigprop[sweep]'"


def require(*modules: str):
    """Import ``modules`` (default: xarray, zarr, distributed); one-line ImportError if missing."""
    modules = modules or ("xarray", "zarr", "distributed")
    out = []
    for name in modules:
        try:
            out.append(importlib.import_module(name))
        except ImportError:
            raise ImportError(f"sigprop sweeps need xarray, zarr and dask[distributed] ({name} is missing): "
                              f"{EXTRA}") from None
    return out[0] if len(out) == 1 else out
