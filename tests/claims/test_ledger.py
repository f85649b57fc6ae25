"""The claims ledger and the figures, in their quick variants."""
import json

from sigprop import cli
from sigprop.claims import ledger as claims


def test_claims_quick_json(capsys):
    assert cli.main(["claims", "--quick", "--format", "json", "--no-progress"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert isinstance(entries, list) and len(entries) >= 11
    for e in entries:
        assert {"claim", "check", "numbers", "verdict"} <= set(e)
        assert e["verdict"] in claims.VERDICTS and e["numbers"] and e["claim"] and e["check"]
    ids = {e["id"] for e in entries}
    assert {"published-form", "spectral-gap", "locater-entropy-loss", "gap-removal-fix"} <= ids


def test_claims_markdown_renders_every_claim():
    fake = dict(version="x", config=dict(quick=True),
                claims=[dict(id="a", claim="c", source="s", check="k", numbers=dict(x=1.0, y=[1, 2]),
                             verdict="partly", reason="r")])
    md = claims.markdown(fake)
    assert "## a: **partly**" in md and "`x`: 1" in md and "Verdicts: 0 supported, 0 refuted, 1 partly." in md


def test_figures_quick(capsys, tmp_path):
    assert cli.main(["figures", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    written = capsys.readouterr().out.split()
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    pdfs = sorted(p.name for p in tmp_path.glob("*.pdf"))
    assert len(pngs) == 9 and [p[:-4] for p in pngs] == [p[:-4] for p in pdfs]
    assert all((tmp_path / p).stat().st_size > 10_000 for p in pngs)
    assert sum(w.endswith(".png") for w in written) == 9
