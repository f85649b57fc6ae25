"""The ledger of [BHK24]'s and [NNT24]'s claims, each with a measured verdict.

:func:`run` and :func:`markdown` are those of :mod:`sigprop.claims.ledger`, imported on first use:
importing one row module (``sigprop.claims.lm``, say) does not import every other row module, so a
row's cached result (:mod:`sigprop.claims.runner`) depends only on the code its own module imports.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["markdown", "run"]


def __getattr__(name: str) -> Any:
    """``run`` and ``markdown`` of :mod:`sigprop.claims.ledger` (imported on first use)."""
    if name in __all__:
        return getattr(importlib.import_module("sigprop.claims.ledger"), name)
    raise AttributeError(f"module 'sigprop.claims' has no attribute {name!r}")
