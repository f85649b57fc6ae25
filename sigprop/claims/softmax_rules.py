"""Decision rules of the ledger's softmax rows (beside :mod:`sigprop.claims.rules`).

Pure functions from measured numbers to a :class:`~sigprop.claims.rules.Decision`; cells are
classified ``inside`` / ``outside`` / ``straddles`` and :func:`sigprop.claims.rules.combine`
gives the verdict (all inside -> supported, all outside -> refuted, both -> partly, else
inconclusive).  Entropies are normalized entropies of expected softmax profiles
(1 = flat); their sampling error is far below the ``margin`` the rules use (docs/softmax.md).
"""
from __future__ import annotations

from sigprop.claims.rules import Decision, _g, combine


def localizes(cells: dict, *, margin: float, floor: float) -> Decision:
    """Small eigenvalue variance localizes, cell by cell.

    ``cells``: name -> ``(H_small, H_large)``, the normalized entropy at the smallest and the
    largest variance.  A cell is *inside* when ``H_large - H_small > margin`` and
    ``H_small < floor`` (the small-variance profile is localized and flatter at large
    variance), *outside* when ``H_large - H_small < -margin`` or ``H_small >= floor + margin``,
    else it *straddles*.
    """
    sts, parts = [], []
    for name, (small, large) in cells.items():
        gain = large - small
        if gain > margin and small < floor:
            st = "inside"
        elif gain < -margin or small >= floor + margin:
            st = "outside"
        else:
            st = "straddles"
        sts.append(st)
        parts.append(f"{name}: {_g(small)} -> {_g(large)} ({st})")
    rule = (f"per cell, normalized entropy H at the smallest and the largest variance: H rises by more than "
            f"{margin} and H < {floor} at the smallest variance -> holds; H falls by more than {margin} or "
            f"H >= {_g(floor + margin)} at the smallest variance -> fails; otherwise undecided; every cell "
            "holds -> supported, every cell fails -> refuted, both -> partly, else inconclusive")
    return Decision(combine(sts), "H at small -> large variance: " + "; ".join(parts), rule)


def flat(cells: dict, *, floor: float, margin: float, reference: str) -> Decision:
    """No localization, cell by cell: ``cells``: name -> ``(H, H_reference)``.

    *inside* when ``H >= floor`` and ``H >= H_reference - margin``; *outside* when
    ``H < floor - margin`` or ``H < H_reference - margin``; else *straddles*.
    """
    sts, parts = [], []
    for name, (h, ref) in cells.items():
        if h < floor - margin or h < ref - margin:
            st = "outside"
        elif h >= floor:
            st = "inside"
        else:
            st = "straddles"
        sts.append(st)
        parts.append(f"{name}: {_g(h)} ({reference} {_g(ref)}; {st})")
    rule = (f"per cell, 'no localization' means normalized entropy H >= {floor} and no more than {margin} below "
            f"{reference}'s: holds; H < {_g(floor - margin)} or more than {margin} below {reference}'s -> fails; "
            "otherwise undecided; every cell holds -> supported, every cell fails -> refuted, both -> partly, "
            "else inconclusive")
    return Decision(combine(sts), "normalized entropy " + "; ".join(parts), rule)


def accurate(parts: dict, *, tolerance: float) -> Decision:
    """An approximation's relative error with its sampling interval, part by part.

    ``parts``: name -> ``(estimate, low, high)`` of the largest error over positions relative to
    the profile's largest value; *inside* when ``high < tolerance``, *outside* when
    ``low > tolerance``, else *straddles*.
    """
    sts, words = [], []
    for name, (est, low, high) in parts.items():
        st = "inside" if high < tolerance else "outside" if low > tolerance else "straddles"
        sts.append(st)
        words.append(f"{name}: {_g(est)} [{_g(low)}, {_g(high)}] ({st})")
    rule = (f"largest |approximation - reference| over positions over the profile's largest value, with a "
            f"Bonferroni interval from both standard errors: interval below {tolerance} -> accurate; above -> "
            "not accurate; every part accurate -> supported, none -> refuted, some -> partly, else inconclusive")
    return Decision(combine(sts), "relative error " + "; ".join(words), rule)


def inherited(decision: Decision, why: str) -> Decision:
    """A claim without a softmax counterpart of its own (``why``): the measured row's verdict stands."""
    return Decision(decision.verdict, f"no softmax counterpart of its own ({why}); the measured verdict stands: "
                                      f"{decision.reason}",
                    f"the softmax row is the measured row itself ({why}); its rule: {decision.rule}")
