"""The documentation reads as user documentation: no page cites an issue number or a
development round; history lives in CHANGELOG.md only.

Pages checked: every Markdown page of docs/ (the site), README.md and CLAIMS.md (the claims
page includes it), and the tutorials' markdown cells.  A mention is ``issue 12``, ``issues 12``,
``#12`` (not an HTML entity such as ``&#124;``), or a round of work: ``first round``,
``this round``, ``round two``, ``round-one`` and the like (``round trip`` and rounding are fine);
and notes to the team (a "For the README" section, "the lead's").
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORDINAL = r"(?:first|second|third|fourth|last|this|that|next|previous|earlier|latest|current|same|each)"
MENTIONS = [
    re.compile(r"\bissues?\s*#?\s*\d+", re.IGNORECASE),
    re.compile(r"(?<![&\w])#\d+\b"),
    re.compile(rf"\b{ORDINAL}[\s-]+rounds?\b", re.IGNORECASE),
    re.compile(r"\brounds?[\s-]+(?:one|two|three|four|\d+)\b", re.IGNORECASE),
    re.compile(r"\b(?:this|last|first|second)[\s-]+round's\b", re.IGNORECASE),
    # notes to the team, not to a reader
    re.compile(r"^#+\s*For the README", re.IGNORECASE),
    re.compile(r"\bthe lead's\b", re.IGNORECASE),
]


def pages() -> list[Path]:
    found = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md", ROOT / "CLAIMS.md"]
    return found + sorted((ROOT / "docs" / "tutorials").glob("*.ipynb"))


def text(page: Path) -> str:
    if page.suffix == ".ipynb":
        return "\n".join("".join(c["source"]) for c in json.loads(page.read_text())["cells"]
                         if c["cell_type"] == "markdown")
    return page.read_text()


def mentions(source: str) -> list[str]:
    """Every issue number or development round mentioned in ``source``, as ``line: match``."""
    out = []
    for n, line in enumerate(source.splitlines(), 1):
        out += [f"{n}: {m.group(0)!r}" for rule in MENTIONS for m in rule.finditer(line)]
    return out


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_cites_an_issue_or_a_round(page):
    assert mentions(text(page)) == [], f"{page.relative_to(ROOT)}: history belongs in CHANGELOG.md"


def test_the_rule_catches_what_it_names():
    bad = ["see issue 12", "Issues 17 and 19", "fixed in #19", "the first round's method",
           "this round", "Round two", "round-one bound", "last round, at load 12", "## For the README",
           "CLAIMS.md is the lead's"]
    good = ["a round trip to disk", "rounds a row differently", "&#124;eig_2&#124;", "round(4)", "around 12",
            "the leading order"]
    assert all(mentions(s) for s in bad), [s for s in bad if not mentions(s)]
    assert not any(mentions(s) for s in good)


def test_the_claims_sources_name_no_issue():
    from sigprop.claims import ledger

    ledger.load_claim_modules()
    assert [c.id for c in ledger.CLAIMS if mentions(c.source) or mentions(c.claim)] == []


NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?!\w|\.\d)")


def _prose(section: str) -> str:
    """A question's answer without the quoted question, code spans and blocks, links and headings."""
    section = re.sub(r"```.*?```", " ", section, flags=re.S)
    section = re.sub(r"`[^`]*`", " ", section)
    section = re.sub(r"\]\([^)]*\)", "]", section)
    section = re.sub(r"§\d+(?:-§\d+)?", " ", section)                  # section numbers of other pages
    return "\n".join(line for line in section.splitlines() if not line.startswith((">", "#")))


def _ledger_rows() -> dict[str, str]:
    text = (ROOT / "CLAIMS.md").read_text()
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    return {p.split("\n", 1)[0].strip(): p for p in parts}


def test_the_questions_page_answers_ten_questions_from_the_ledger_rows_it_cites():
    page = (ROOT / "docs" / "questions.md").read_text()
    sections = re.split(r"^## ", page, flags=re.M)[1:]
    rows = _ledger_rows()
    assert [s.split(".", 1)[0] for s in sections] == [str(k) for k in range(1, 11)]
    for section in sections:
        title = section.split("\n", 1)[0]
        cited = re.findall(r"\(claims\.md#([\w-]+)\)", section)
        assert cited and set(cited) <= set(rows), (title, sorted(set(cited) - set(rows)))
        assert "sigprop claims --only" in section and "**Answer.**" in section, title
        source = " ".join(rows[c] for c in cited)
        known = set(NUMBER.findall(source))
        # every number of the answer is one the cited rows measured (or a parameter they state)
        answer = _prose(section.split("\n", 1)[1])
        missing = [n for n in NUMBER.findall(answer) if n not in known and n.lstrip("+") not in known]
        assert missing == [], (title, missing)


def test_the_number_rule_of_the_questions_page_can_fail():
    rows = _ledger_rows()
    assert "0.979" in set(NUMBER.findall(rows["realtext-datamodel-prediction"]))
    assert "0.978" not in set(NUMBER.findall(rows["realtext-datamodel-prediction"]))
    prose = _prose("x `--steps 2000` 0.5 [0.1, -0.2] and +1.37 §4.\n> 7\n")
    assert NUMBER.findall(prose) == ["0.5", "0.1", "-0.2", "+1.37"]
