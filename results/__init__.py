"""Stored results of runs too long for ``sigprop claims`` (installed as ``sigprop_results``).

Each JSON file holds its full configuration and was written by the command its documentation page
gives: ``nnt/`` (docs/nnt.md, ``sigprop nnt train`` at T = 500, ``train_T500_*.json``, which the ledger
reads; and the full run at T = 32 drawn in ``nnt_training.png``, ``T32_trainability.json``), ``lm/``
(docs/lm.md, ``sigprop lm sweep``).  The ledger reads them through :func:`folder`, so an installed
package finds them too.
"""
from __future__ import annotations

from pathlib import Path


def folder(name: str) -> Path:
    """The folder of stored results ``name`` (e.g. ``"nnt"``), inside the installed package."""
    return Path(__file__).resolve().parent / name
