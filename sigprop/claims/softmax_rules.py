"""Decision rules of the ledger's softmax rows (beside :mod:`sigprop.claims.rules`).

Pure functions from measured numbers to a :class:`~sigprop.claims.rules.Decision`; cells are
classified ``inside`` / ``outside`` / ``straddles`` and :func:`sigprop.claims.rules.combine`
gives the verdict (all inside -> supported, all outside -> refuted, both -> partly, else
inconclusive).  Entropies are normalized entropies of expected softmax profiles
(1 = flat); their sampling error is far below the ``margin`` the rules use (docs/softmax.md).
"""
from __future__ import annotations

from collections.abc import Callable

from sigprop.claims.rules import Decision, combine, sig3


def _cells(cells: dict, classify: Callable, words: Callable) -> tuple[str, str]:
    """The verdict over ``cells`` (name -> numbers) classified by ``classify(*numbers)``, and the
    reason joining ``words(name, numbers, status)``."""
    sts = [classify(*numbers) for numbers in cells.values()]
    parts = [words(name, numbers, st) for (name, numbers), st in zip(cells.items(), sts, strict=True)]
    return combine(sts), "; ".join(parts)


def localizes(cells: dict, *, margin: float, floor: float) -> Decision:
    """Small eigenvalue variance localizes, cell by cell.

    ``cells``: name -> ``(H_small, H_large)``, the normalized entropy at the smallest and the
    largest variance.  A cell is *inside* when ``H_large - H_small > margin`` and
    ``H_small < floor`` (the small-variance profile is localized and flatter at large
    variance), *outside* when ``H_large - H_small < -margin`` or ``H_small >= floor + margin``,
    else it *straddles*.
    """
    def classify(small, large):
        if large - small > margin and small < floor:
            return "inside"
        if large - small < -margin or small >= floor + margin:
            return "outside"
        return "straddles"

    verdict, reason = _cells(cells, classify, lambda name, n, st: f"{name}: {sig3(n[0])} -> {sig3(n[1])} ({st})")
    rule = (f"per cell, normalized entropy H at the smallest and the largest variance: H rises by more than "
            f"{margin} and H < {floor} at the smallest variance -> holds; H falls by more than {margin} or "
            f"H >= {sig3(floor + margin)} at the smallest variance -> fails; otherwise undecided; every cell "
            "holds -> supported, every cell fails -> refuted, both -> partly, else inconclusive")
    return Decision(verdict, "H at small -> large variance: " + reason, rule)


def flat(cells: dict, *, floor: float, margin: float, reference: str) -> Decision:
    """No localization, cell by cell: ``cells``: name -> ``(H, H_reference)``.

    *inside* when ``H >= floor`` and ``H >= H_reference - margin``; *outside* when
    ``H < floor - margin`` or ``H < H_reference - margin``; else *straddles*.
    """
    def classify(h, ref):
        if h < floor - margin or h < ref - margin:
            return "outside"
        return "inside" if h >= floor else "straddles"

    verdict, reason = _cells(cells, classify,
                             lambda name, n, st: f"{name}: {sig3(n[0])} ({reference} {sig3(n[1])}; {st})")
    rule = (f"per cell, 'no localization' means normalized entropy H >= {floor} and no more than {margin} below "
            f"{reference}'s: holds; H < {sig3(floor - margin)} or more than {margin} below {reference}'s -> fails; "
            "otherwise undecided; every cell holds -> supported, every cell fails -> refuted, both -> partly, "
            "else inconclusive")
    return Decision(verdict, "normalized entropy " + reason, rule)


def accurate(parts: dict, *, tolerance: float) -> Decision:
    """An approximation's relative error with its sampling interval, part by part.

    ``parts``: name -> ``(estimate, low, high)`` of the largest error over positions relative to
    the profile's largest value; *inside* when ``high < tolerance``, *outside* when
    ``low > tolerance``, else *straddles*.
    """
    verdict, reason = _cells(
        parts, lambda est, low, high: "inside" if high < tolerance else "outside" if low > tolerance else "straddles",
        lambda name, n, st: f"{name}: {sig3(n[0])} [{sig3(n[1])}, {sig3(n[2])}] ({st})")
    rule = (f"largest |approximation - reference| over positions over the profile's largest value, with a "
            f"Bonferroni interval from both standard errors: interval below {tolerance} -> accurate; above -> "
            "not accurate; every part accurate -> supported, none -> refuted, some -> partly, else inconclusive")
    return Decision(verdict, "relative error " + reason, rule)


def inherited(decision: Decision, why: str) -> Decision:
    """A claim without a softmax counterpart of its own (``why``): the measured row's verdict stands."""
    return Decision(decision.verdict, f"no softmax counterpart of its own ({why}); the measured verdict stands: "
                                      f"{decision.reason}",
                    f"the softmax row is the measured row itself ({why}); its rule: {decision.rule}")
