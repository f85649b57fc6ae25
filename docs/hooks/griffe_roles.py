"""Griffe extension for the API reference: Sphinx cross-reference roles as inline code.

sigprop's docstrings cite other objects with Sphinx roles (``:func:`simulate```,
``:mod:`sigprop.rho.exact```, ``:class:`~sigprop.rho.logits.LogitModel```); mkdocstrings renders
Markdown, where a role would show raw. This rewrites each role as inline code (``~`` keeps the last
component, as Sphinx does) before the docstring is parsed.
"""
from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|attr|data|obj|exc|const):`(~?)([^`]+)`")


def _code(match: re.Match) -> str:
    target = match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring as inline code."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_code, obj.docstring.value)
