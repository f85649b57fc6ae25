"""One name for each quantity, in the API, the command line's result files and labelled results.

The quantities of the signal propagation theory keep the symbols of ``docs/theory.md``:

======  =========================================  =====================
name    quantity                                   command-line flag
======  =========================================  =====================
``T``   sequence length (number of tokens)         ``--length``
``m``   mean of the eigenvalues of ``W``           ``--mean``
``v``   variance of the eigenvalues of ``W``       ``--var``
``d``   token dimension (``W`` is ``d x d``)       ``--dim``
======  =========================================  =====================

They name the API's parameters (``theory_spectrum(m, v, d, T)``), the keys of every
``config`` (a :class:`~sigprop.rho.propagation.Profile`'s and the ``--out`` file of ``sigprop
predict``, ``validate`` and ``gaussian-error``) and the dimensions and attributes of
``to_xarray()``.  The flags spell them out; each flag's help names its symbol.

Older result files of those commands wrote ``length``, ``mean``, ``var``, ``dim`` (and
``eig_mean``, ``eig_var`` beside ``--weights``) in their ``config``: :func:`canonical_config`
renames them when :func:`sigprop.load` reads such a file, and the old keys still read the
values, with a :class:`DeprecationWarning` (:class:`Config`).
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

#: Old configuration key -> its name now.
RENAMED = {"length": "T", "mean": "m", "var": "v", "dim": "d", "eig_mean": "m", "eig_var": "v"}


class Config(dict):
    """A configuration ``dict`` whose old keys (:data:`RENAMED`) still read their value, with a
    :class:`DeprecationWarning` naming the key to use."""

    def __getitem__(self, key: Any) -> Any:
        if not dict.__contains__(self, key) and key in RENAMED and dict.__contains__(self, RENAMED[key]):
            deprecated(f"config[{key!r}]", f"config[{RENAMED[key]!r}]", stacklevel=3)
            return dict.__getitem__(self, RENAMED[key])
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        """``self[key]`` (old keys included, with a warning), or ``default``."""
        try:
            return self[key]
        except KeyError:
            return default


def canonical_config(config: Mapping[str, Any]) -> Config:
    """``config`` with its old keys renamed (:data:`RENAMED`); a key already there wins."""
    out = Config()
    for key, value in config.items():
        new = RENAMED.get(key, key)
        if new != key and new in config:
            continue
        out[new] = value
    return out


def deprecated(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn (:class:`DeprecationWarning`) that ``old`` is an old name of ``new``."""
    warnings.warn(f"{old} is deprecated: use {new} (the names of docs/theory.md)", DeprecationWarning,
                  stacklevel=stacklevel)


def keyword(new_name: str, new_value: Any, old_name: str, old_value: Any, default: Any) -> Any:
    """The value of a parameter renamed from ``old_name`` to ``new_name``.

    ``old_value`` is ``None`` unless the caller passed the old keyword: it is then used, with a
    :class:`DeprecationWarning`; passing both (``new_value`` not ``default``) is a ``TypeError``.
    """
    if old_value is None:
        return new_value
    if new_value is not default and new_value != default:
        raise TypeError(f"give {new_name} or its deprecated name {old_name}, not both")
    deprecated(f"the keyword {old_name}", new_name, stacklevel=4)
    return old_value
