"""Where a claim comes from and the regime it is checked in: the ledger's provenance as data.

Every ledger row carries one or more :class:`Source` (what kind of text or code states the
claim, which one, and its words where they are known) and one :class:`Regime` (the setting the
row's check runs in).  A verdict speaks for its regime only: a row checked on a toy task says
nothing about the paper's language model, and runs of another regime are reported beside the
verdict, never pooled into it.

What this project can cite for the two papers is limited: the full text of [BHK24] and of
[NNT24] is not available here, only their summaries (third-party summaries of [BHK24] that
quote or paraphrase its abstract, and of [NNT24]); [BHK24] has no public code, [NNT24] has.
The names below say exactly that, so that no row attributes to a paper what only a summary or
another project's code states.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError

#: Kinds of source, from the closest to the paper to sigprop's own.
SOURCE_KINDS = {
    "paper-text": "the paper's own words",
    "paper-code": "the paper's official code",
    "third-party-summary": "a third-party summary of the paper",
    "third-party-code": "a third-party implementation",
    "sigprop-extension": "sigprop's own extension",
}

#: Kinds of regime a row's check runs in.
REGIME_KINDS = {
    "paper-setting": "the setting the claim was made for",
    "sigprop-setup": "sigprop's own set-up of the claim",
    "early-training": "training stopped early",
    "toy-task": "a toy task",
    "real-model": "a pretrained model on real text",
}


class _Kinded:
    """What :class:`Source` and :class:`Regime` share: a ``kind`` among ``KINDS`` and one text
    field (``TEXT``) that must not be empty, checked at construction, and the dict form."""
    KINDS: ClassVar[dict[str, str]]
    TEXT: ClassVar[tuple[str, str]]            # (field, what it must say)
    kind: str

    def __post_init__(self):
        _checks.choice("kind", self.kind, self.KINDS)
        field, what = self.TEXT
        if not getattr(self, field):
            raise ArgumentError(field, f"must {what}, got ''")

    def as_dict(self) -> dict:
        """The fields and ``kind_text`` (the kind in words)."""
        return dict(asdict(self), kind_text=self.KINDS[self.kind])  # type: ignore[call-overload]


@dataclass(frozen=True)
class Source(_Kinded):
    """One source of a claim.

    Parameters
    ----------
    kind : str
        One of :data:`SOURCE_KINDS`.
    reference : str
        Which text or code (e.g. ``"[NNT24]'s public code"``).
    quote : str, optional
        The source's words for the claim, where they are known; empty when only a paraphrase is.
    """
    KINDS: ClassVar[dict[str, str]] = SOURCE_KINDS
    TEXT: ClassVar[tuple[str, str]] = ("reference", "name the text or code the claim comes from")
    kind: str
    reference: str
    quote: str = ""

    def words(self) -> str:
        """The source in one line, e.g. ``a third-party implementation: X ("...")``."""
        quote = f' ("{self.quote}")' if self.quote else ""
        return f"{SOURCE_KINDS[self.kind]}: {self.reference}{quote}"


@dataclass(frozen=True)
class Regime(_Kinded):
    """The regime a row's check runs in.

    Parameters
    ----------
    kind : str
        One of :data:`REGIME_KINDS`.
    description : str
        The setting in words (model, data, length of training, ...).
    """
    KINDS: ClassVar[dict[str, str]] = REGIME_KINDS
    TEXT: ClassVar[tuple[str, str]] = ("description", "state the setting")
    kind: str
    description: str

    def words(self) -> str:
        """The regime in one line."""
        return f"{REGIME_KINDS[self.kind]}: {self.description}"


# --- the sources this project can cite -------------------------------------------------------------

#: GrooveSquid.com's summary of [BHK24] (arXiv:2402.02098), its medium-difficulty text.
BHK24_SUMMARY = "GrooveSquid.com's summary of [BHK24] (arXiv:2402.02098)"
#: A third-party detailed summary of [BHK24] (the summary that lists ten in-depth questions).
BHK24_DETAILED = "a third-party detailed summary of [BHK24] (arXiv:2402.02098)"
#: GrooveSquid.com's summary of [NNT24] (arXiv:2410.07799).
NNT24_SUMMARY = "GrooveSquid.com's summary of [NNT24] (arXiv:2410.07799)"
#: [NNT24]'s public code, as sigprop reproduces it (docs/nnt.md).
NNT24_CODE = "[NNT24]'s public code, its protocol as reproduced in docs/nnt.md"
#: The public code of another paper that implements a closed form for the propagation probability.
ANTRP_CODE = ("Everlyn-Labs/ANTRP, the public code of Tang et al., 'Intervening Anchor Token: Decoding Strategy in "
              "Alleviating Hallucinations for MLLMs' (ICLR 2025), function calculate_signal_propagation, which "
              "applies it to post-softmax attention maps; [BHK24] has no public code and the text of its lemma is "
              "not available to this project")

#: The words of the summaries for the claims sigprop checks (quoted verbatim): key -> (summary, words).
QUOTES = {
    "localizes": (BHK24_DETAILED, "They show attention localizes when the eigenspectrum has a non-zero mean but small "
                                  "variance."),
    "avoids-collapse": (BHK24_SUMMARY, "a small variance in this spectrum leads to localized attention, preventing "
                                       "both rank and entropy collapse"),
    "locater": (BHK24_DETAILED, "The paper proposes a regularization method called LocAteR that minimizes the "
                                "eigenspectrum scale while fixing the mean. Experiments on language modeling validate "
                                "that this regularization induces attention localization and improves model "
                                "performance."),
    "closed-form": (BHK24_DETAILED, "Derives closed-form expression for signal propagation probability and "
                                    "conditions for attention to localize vs become uniform."),
    "entropy": (BHK24_DETAILED, "Shows eigenspectrum variance minimization increases model expressivity and "
                                "attention entropy, avoiding collapse modes."),
    "random-walk": (BHK24_DETAILED, "the analysis relies on a synthetic random walk data model"),
    "rank-collapse-width": (NNT24_SUMMARY, "rank collapse in width, occurring when context length increases, caused "
                                          "by a spectral gap between the two largest singular values of the attention "
                                          "matrix"),
    "gap-fix": (NNT24_SUMMARY, "they propose a novel solution to mitigate rank collapse in width by removing outlier "
                               "eigenvalues"),
}


def summary(key: str) -> Source:
    """The third-party summary that states claim ``key`` (a key of :data:`QUOTES`), with its words."""
    _checks.choice("key", key, QUOTES)
    reference, words = QUOTES[key]
    return Source("third-party-summary", reference, words)


def nnt_code(what: str = "") -> Source:
    """[NNT24]'s public code (its protocol), optionally naming the part used."""
    return Source("paper-code", NNT24_CODE + (f": {what}" if what else ""))


def sigprop(where: str) -> Source:
    """sigprop's own extension, ``where`` naming the docs page that states it."""
    return Source("sigprop-extension", f"sigprop ({where})")


__all__ = ["ANTRP_CODE", "BHK24_DETAILED", "BHK24_SUMMARY", "NNT24_CODE", "NNT24_SUMMARY", "QUOTES", "REGIME_KINDS",
           "Regime", "SOURCE_KINDS", "Source", "nnt_code", "sigprop", "summary"]
