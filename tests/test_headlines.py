"""The headlines of the README and of docs/findings.md cite the ledger rows they rest on, and say what
the ledger says.

A headline is a bullet of the README's "Headline findings" section or of the "Headlines" section of
docs/findings.md.  Each cites at least one ledger row as ``[id](CLAIMS.md#id) verdict`` (``claims.md``
in the docs), or the stored benchmark run (``results/bench/full.json``) for a speed headline; every
cited verdict must be the verdict of that row in the stored ledger ``CLAIMS.md``.  A headline whose
wording has to change when a verdict changes therefore fails here until it is rewritten.
"""
import re
from pathlib import Path

import pytest

from sigprop.claims.ledger import VERDICTS

ROOT = Path(__file__).resolve().parents[1]
CITATION = re.compile(r"\[([A-Za-z0-9-]+)\]\((?:CLAIMS|claims)\.md#\1\)\s+\**(" + "|".join(VERDICTS) + r")\b")
ROW = re.compile(r"^\| \[([A-Za-z0-9-]+)\]\(#\1\) \| (" + "|".join(VERDICTS) + r") \|", re.M)


def ledger_verdicts() -> dict[str, str]:
    """The verdict of every row of the stored ledger (CLAIMS.md's summary table)."""
    return dict(ROW.findall((ROOT / "CLAIMS.md").read_text(encoding="utf-8")))


def headlines(path: Path, heading: str) -> list[str]:
    """The bullets (joined over their continuation lines) of the section ``heading`` of ``path``."""
    text = path.read_text(encoding="utf-8")
    start = text.index(heading + "\n") + len(heading) + 1
    end = text.find("\n## ", start)
    section = text[start:end if end >= 0 else None]
    return [b.strip() for b in re.split(r"\n(?=- )", "\n" + section) if b.strip().startswith("- ")]


SECTIONS = [(ROOT / "README.md", "## Headline findings"), (ROOT / "docs" / "findings.md", "## Headlines")]


@pytest.mark.parametrize("path, heading", SECTIONS, ids=["README", "findings"])
def test_every_headline_cites_its_ledger_rows_with_their_verdicts(path, heading):
    verdicts = ledger_verdicts()
    assert len(verdicts) >= 30                      # the table was read
    bullets = headlines(path, heading)
    assert len(bullets) >= 5
    for b in bullets:
        cited = CITATION.findall(b)
        assert cited or "results/bench/full.json" in b, f"a headline cites no ledger row: {b[:80]}"
        for cid, said in cited:
            assert cid in verdicts, f"{path.name} cites {cid}, which is not a ledger row"
            assert said == verdicts[cid], f"{path.name} says {cid} is {said}; the ledger says {verdicts[cid]}"


def test_the_citation_rule_fails_on_a_wrong_verdict(tmp_path):
    verdicts = ledger_verdicts()
    cid, verdict = next(iter(verdicts.items()))
    other = next(v for v in VERDICTS if v != verdict)
    text = f"## Headline findings\n\n- **X**: y ([{cid}](CLAIMS.md#{cid}) {other}).\n\n## Next\n"
    (tmp_path / "R.md").write_text(text)
    [(got_id, said)] = CITATION.findall(headlines(tmp_path / "R.md", "## Headline findings")[0])
    assert got_id == cid and said != verdicts[cid]


def test_the_readme_counts_the_ledger_as_it_is():
    text = (ROOT / "CLAIMS.md").read_text(encoding="utf-8")
    counts = dict((v, int(n)) for n, v in re.findall(r"(\d+) (" + "|".join(VERDICTS) + r")\b",
                                                       text.split("Verdicts: ", 1)[1].split("\n", 1)[0]))
    assert sum(counts.values()) == len(ledger_verdicts())
    words = ", ".join(f"{counts[v]} {v}" for v in VERDICTS)
    assert f"({sum(counts.values())} rows: {words})" in (ROOT / "README.md").read_text(encoding="utf-8")
