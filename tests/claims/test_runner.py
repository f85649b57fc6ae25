"""The ledger's runner: groups of rows that share experiments, worker processes, the row cache."""
import numpy as np
import pytest

from sigprop.claims import ledger, registry, rules, runner
from sigprop.core import workers


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "sigprop" / "claims"


def _claim(cid, fn):
    from sigprop.claims.provenance import Regime, Source
    return ledger.Claim(cid, "c", (Source("sigprop-extension", "a test"),), Regime("toy-task", "a test"), "theory", fn)


def _decision(x):
    return rules.approximation_error({"x": x}, 1.0)


def _toys(data_file, hidden_key=False):
    """Five toy rows: two share an experiment, one measures another row, one reads ``data_file``;
    with ``hidden_key`` two more share a value through a call the source reading cannot see."""
    from sigprop.claims.ledger import measured

    def base(ctx):
        x = float(ctx.shared("toy-experiment", lambda: np.random.default_rng(0).random()))
        return dict(check="k", numbers=dict(x=x), decision=_decision(x))

    def sibling(ctx):
        x = float(ctx.shared("toy-experiment", lambda: np.random.default_rng(0).random()))
        return dict(check="k", numbers=dict(x=2 * x), decision=_decision(2 * x))

    def derived(ctx):
        out = measured("toy-alone", ctx)
        return dict(out, numbers=dict(out["numbers"], derived=True))

    def alone(ctx):
        x = float(np.random.default_rng(1).random())
        return dict(check="k", numbers=dict(x=x), decision=_decision(x))

    def reader(ctx):
        with open(data_file, encoding="utf-8") as f:
            x = float(f.read())
        return dict(check="k", numbers=dict(x=x), decision=_decision(x))

    rows = [_claim("toy-base", base), _claim("toy-sibling", sibling),
            _claim("toy-derived", derived), _claim("toy-alone", alone),
            _claim("toy-reader", reader)]
    if hidden_key:
        def hidden(ctx):
            get = ctx.shared                                  # not read as a `shared` call
            x = float(get("toy-hidden", lambda: 0.25))
            return dict(check="k", numbers=dict(x=x), decision=_decision(x))
        rows += [_claim("toy-hidden-1", hidden), _claim("toy-hidden-2", hidden)]
    return rows


def _run(rows, monkeypatch, **kw):
    monkeypatch.setattr(registry, "CLAIMS", rows)     # where measured() looks rows up
    return runner.run_rows(rows, True, evaluate=ledger.evaluate, context=ledger.Context, not_run=ledger.NotRun,
                           claims=rows, **kw)


def test_rows_sharing_an_experiment_are_grouped(tmp_path):
    rows = _toys(tmp_path / "x.txt")
    assert runner.shared_keys(rows[0]) == {"claim:toy-base", "toy-experiment"}
    assert runner.shared_keys(rows[2]) == {"claim:toy-derived", "claim:toy-alone"}
    assert [[c.id for c in g] for g in runner.groups(rows)] == [
        ["toy-base", "toy-sibling"], ["toy-derived", "toy-alone"], ["toy-reader"]]
    # the ledger's own rows: an f-string key stands for its prefix; measured(id) joins that row's group
    ledger.load_claim_modules()
    found = {tuple(c.id for c in g) for g in runner.groups(ledger.CLAIMS)}
    assert ("antrp-form", "antrp-form-softmax") in found
    assert ("rank-collapse-depth", "gap-removal-fix") in found
    assert ("localization-beyond-walk-softmax", "iid-no-localization-softmax") in found
    assert sum(len(g) for g in found) == len(ledger.CLAIMS) and len(found) > 10

    def opaque(ctx):                                          # a key the reading cannot know: shares anything
        key = "toy-" + "x"
        return ctx.shared(key, lambda: None)
    rows.append(_claim("toy-opaque", opaque))
    assert runner.shared_keys(rows[-1]) == {"claim:toy-opaque", "*"} and len(runner.groups(rows)) == 1


@pytest.mark.skipif(not workers.forking(), reason="worker processes need os.fork")
def test_parallel_and_cached_rows_equal_the_sequential_ones(tmp_path, cache, monkeypatch):
    data = tmp_path / "x.txt"
    data.write_text("0.5", encoding="utf-8")
    rows = _toys(data)
    sequential, notes, stats = _run(rows, monkeypatch, workers=1)
    assert notes == [] and stats["cached"] == [] and len(sequential) == 5
    parallel, notes, stats = _run(rows, monkeypatch, workers=2, cache=True)
    assert parallel == sequential and notes == [] and len(stats["groups"]) == 3
    assert len(list(cache.glob("*.pkl"))) == 5
    again, notes, stats = _run(rows, monkeypatch, workers=2, cache=True)
    assert again == sequential and stats["cached"] == [c.id for c in rows] and stats["computed"] == []
    # a changed data file recomputes the row that read it, and only that one
    data.write_text("0.75", encoding="utf-8")
    changed, _, stats = _run(rows, monkeypatch, workers=2, cache=True)
    assert stats["computed"] == ["toy-reader"] and changed[4]["numbers"]["x"] == 0.75
    assert changed[:4] == sequential[:4]
    # --fresh recomputes every row
    _, _, stats = _run(rows, monkeypatch, workers=2, cache=True, fresh=True)
    assert stats["computed"] == [c.id for c in rows] and stats["cached"] == []


@pytest.mark.skipif(not workers.forking(), reason="worker processes need os.fork")
def test_a_shared_value_computed_in_two_workers_is_reported(tmp_path, monkeypatch):
    rows = _toys(tmp_path / "x.txt", hidden_key=True)
    (tmp_path / "x.txt").write_text("0.5", encoding="utf-8")
    entries, notes, stats = _run(rows, monkeypatch, workers=2)
    assert ["toy-hidden-1"] in stats["groups"] and ["toy-hidden-2"] in stats["groups"]
    assert len(notes) == 1 and "toy-hidden" in notes[0] and "more than one group" in notes[0]
    assert entries == _run(rows, monkeypatch, workers=1)[0]     # the same numbers, computed twice


def test_a_row_depends_on_the_modules_its_code_can_import():
    # the row modules of [BHK24] and of [NNT24] in sigprop's set-up
    closure = {**runner.module_closure("sigprop.claims.bhk24"), **runner.module_closure("sigprop.claims.nnt_variants")}
    assert {"sigprop.gap.spectra", "sigprop.rho.logits", "sigprop.core.checks", "sigprop"} <= set(closure)
    assert "sigprop.claims.nnt" not in closure and "sigprop.explore.page" not in closure    # imports, not importers
    lm_rows = runner.module_closure("sigprop.claims.lm")
    assert "sigprop.lm.summary" in lm_rows and "sigprop.claims.registry" in lm_rows
    ledger.load_claim_modules()
    keys = {runner.row_key(c, quick, ledger.CLAIMS) for c in ledger.CLAIMS for quick in (True, False)}
    assert len(keys) == 2 * len(ledger.CLAIMS)                  # one per (row, mode)


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert runner.cache_dir() == tmp_path / "sigprop"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert runner.cache_dir() == tmp_path / "home" / ".cache" / "sigprop"


def test_workers_must_be_a_positive_integer():
    with pytest.raises(ledger.ArgumentError, match="workers"):
        ledger.run(quick=True, only=["antrp-form"], workers=0)


@pytest.mark.skipif(not workers.forking(), reason="worker processes need os.fork")
def test_figures_in_workers_are_cached_while_their_files_stay(tmp_path, cache, monkeypatch):
    """Two toy figure scripts (the real ones take a minute under load): run in workers, then read
    back while their code, their data and their files are unchanged."""
    import sys
    import types

    import sigprop_figures as figures
    data = tmp_path / "data.txt"
    data.write_text("1", encoding="utf-8")
    for name in ("toy_a", "toy_b"):
        module = types.ModuleType(f"{figures.__name__}.{name}")

        def make(out, quick, name=name):
            text = data.read_text(encoding="utf-8") if name == "toy_b" else "a"
            path = out / f"{name}.txt"
            path.write_text(text, encoding="utf-8")
            with open(tmp_path / "runs.log", "a", encoding="utf-8") as log:
                log.write(name + "\n")
            return [path]
        module.make = make
        monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(figures, "SCRIPTS", ("toy_a", "toy_b"))
    from sigprop.claims import runner as _runner
    monkeypatch.setattr(_runner, "source_hash", lambda names: "toy-" + ",".join(names))
    out = tmp_path / "out"
    out.mkdir()

    def runs():
        log = tmp_path / "runs.log"
        text = log.read_text(encoding="utf-8").split() if log.exists() else []
        log.unlink(missing_ok=True)
        return sorted(text)
    files = figures.make_all(out, quick=True, workers=2, cache=True)["files"]
    assert [f.rsplit("/", 1)[1] for f in files] == ["toy_a.txt", "toy_b.txt"] and runs() == ["toy_a", "toy_b"]
    assert figures.make_all(out, quick=True, workers=2, cache=True)["files"] == files and runs() == []   # nothing run
    (out / "toy_a.txt").unlink()                                   # a file gone: that script again
    assert figures.make_all(out, quick=True, workers=2, cache=True)["files"] == files and runs() == ["toy_a"]
    data.write_text("2", encoding="utf-8")                         # its data changed: that script again
    figures.make_all(out, quick=True, workers=2, cache=True)
    assert runs() == ["toy_b"] and (out / "toy_b.txt").read_text(encoding="utf-8") == "2"
    figures.make_all(out, quick=True, workers=2, cache=True, fresh=True)
    assert runs() == ["toy_a", "toy_b"]


def test_cli_refuses_zero_workers_in_one_line(capsys):
    from sigprop import cli
    for command in (["claims", "--quick"], ["figures", "--quick"]):
        assert cli.main([*command, "--workers", "0", "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "--workers" in err and ">= 1" in err
