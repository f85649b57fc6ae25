"""Cases the seventh hostile-input campaign found (docs/contract.md): each is refused in one line naming
its argument or file, exit code 2, with nothing on standard output."""
import json
import os
from pathlib import Path

import pytest

from tests.helpers import minilm_checkpoint, run_cli


def _prediction(tmp_path, capsys) -> dict:
    code, _, _ = run_cli(["predict", "--mean", "0.5", "--var", "0.1", "--dim", "4", "--length", "6",
                          "--out", tmp_path / "p.json"], capsys)
    assert code == 0
    return json.loads((tmp_path / "p.json").read_text())


@pytest.mark.parametrize("literal, words", [
    ("1e999", "'1e999', beyond float64"),                # JSON, but no float64: it was read as inf
    ("-1e999", "'-1e999', beyond float64"),
    ("1" + "0" * 400, "beyond 2**128"),                   # an OverflowError traceback in to_xarray
])
def test_load_refuses_a_number_no_float64_holds(tmp_path, capsys, literal, words):
    import sigprop

    data = _prediction(tmp_path, capsys)
    data["rho"][0] = "X"
    (tmp_path / "x.json").write_text(json.dumps(data).replace('"X"', literal))
    with pytest.raises(ValueError, match="not a sigprop result file") as info:
        sigprop.load(tmp_path / "x.json")
    assert "'rho[0]' holds" in str(info.value) and words in str(info.value) and "\n" not in str(info.value)


def test_load_keeps_a_seed_of_128_bits(tmp_path, capsys):
    import sigprop

    data = _prediction(tmp_path, capsys)
    data["config"]["seed"] = 2 ** 128 - 1                 # a SeedSequence's entropy has up to 128 bits
    (tmp_path / "s.json").write_text(json.dumps(data))
    assert sigprop.load(tmp_path / "s.json")["config"]["seed"] == 2 ** 128 - 1


@pytest.mark.parametrize("name, words", [("x" * 5000 + ".json", "File name too long"),
                                         ("a\x00b.json", "embedded null byte")])
def test_load_of_a_name_the_system_cannot_read_is_one_line(name, words):
    # an OSError (ENAMETOOLONG) or ValueError from pathlib's stat: a traceback
    import sigprop

    with pytest.raises(ValueError, match="cannot read it") as info:
        sigprop.load(name)
    assert words in str(info.value) and len(str(info.value)) < 300


def test_lm_layers_refuses_a_loop_of_links_in_one_line(tmp_path, capsys):
    # Path.resolve raised RuntimeError("Symlink loop") after 4.7 s of imports: a traceback
    os.symlink(tmp_path / "l2", tmp_path / "l1")
    os.symlink(tmp_path / "l1", tmp_path / "l2")
    code, out, err = run_cli(["stack", "lm-layers", tmp_path / "l1", "--windows", "2", "--samples", "16"], capsys)
    assert (code, out) == (2, "") and err.count("\n") == 0, err
    assert "error: argument RUN_DIR: " in err and "cannot resolve it" in err, err


def test_bench_from_a_file_whose_config_is_a_list(tmp_path, capsys):
    data = json.loads((Path(__file__).parents[2] / "results" / "bench" / "full.json").read_text())
    data["config"] = [1, 2]                                # AttributeError: 'list' object has no attribute 'get'
    (tmp_path / "b.json").write_text(json.dumps(data))
    code, out, err = run_cli(["bench", "--from", tmp_path / "b.json"], capsys)
    assert (code, out) == (2, "") and err.count("\n") == 0, err
    assert "error: argument --from: " in err and "its 'config' is list, not an object" in err, err


@pytest.mark.parametrize("study, words", [
    (".x:f", "must be 'package.module:name' (a full module name)"),   # a TypeError traceback (relative import)
    ("sigprop_hostile_badmod:f", "cannot import 'sigprop_hostile_badmod'"),   # a module that raises on import
])
def test_a_spec_study_that_cannot_be_imported_is_one_line(tmp_path, capsys, monkeypatch, study, words):
    pytest.importorskip("zarr")
    (tmp_path / "sigprop_hostile_badmod.py").write_text("raise SystemError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "s.toml").write_text(f'study = "{study}"\n[axes]\nx = [1]\n')
    code, out, err = run_cli(["sweep", tmp_path / "s.toml", "--store", tmp_path / "s.zarr", "--workers", "0"],
                             capsys)
    assert (code, out) == (2, "") and err.count("\n") == 0, err
    assert "error: argument SPEC.toml: " in err and words in err, err
    assert not (tmp_path / "s.zarr").exists()


def test_status_of_a_store_with_damaged_metadata_names_the_store(tmp_path, capsys):
    pytest.importorskip("zarr")
    (tmp_path / "p.toml").write_text('study = "profile"\n[args]\nm = 0.5\nT = 8\n[axes]\nd = [4]\nv = [0.1]\n')
    store = tmp_path / "t.zarr"
    assert run_cli(["sweep", tmp_path / "p.toml", "--store", store, "--workers", "0", "--no-progress"], capsys)[0] == 0
    for name in (".zattrs", ".zgroup", ".zmetadata"):
        (store / name).write_bytes(b"\xff\x00garbage")     # the one line named neither --store nor the store
    code, out, err = run_cli(["sweep", store, "--status"], capsys)
    assert (code, out) == (2, "") and err.count("\n") == 0, err
    assert f"error: argument --store: {store} is damaged: its metadata cannot be read" in err, err


@pytest.mark.parametrize("argv", [
    ["lm", "collapse", "--corpus", "shakespeare", "--tokenizer", "bytes", "--layers", "1", "--norms", "post,,pre",
     "--qk-inits", "1", "--seeds", "0", "--windows", "2"],
    ["nnt", "stable-rank", "--config", "A,", "--lengths", "8", "--gammas", "1", "--layers", "2", "--seeds", "0"],
    ["claims", "--only", "gap-removal-fix,"],
])
def test_a_list_of_names_with_an_empty_item_is_refused(argv, capsys):
    # read as the list without it ('post,,pre' -> [post, pre]; 'A,' -> [A]), where numeric lists refuse it
    code, out, err = run_cli(argv, capsys)
    assert (code, out) == (2, "") and err.count("\n") == 0, err
    assert "must be a comma-separated list with no empty item" in err, err


def test_heads_text_refuses_a_tokenizer_of_ids_beyond_the_embeddings(tmp_path, capsys):
    # an IndexError traceback from the embedding lookup, after the tokenizer ran
    checkpoint = minilm_checkpoint()
    tok = json.loads(Path(checkpoint).with_name("tokenizer.json").read_text())
    tok["model"]["vocab"]["the"] = 10 ** 6
    (tmp_path / "t.json").write_text(json.dumps(tok))
    code, out, err = run_cli(["heads-text", checkpoint, "--tokenizer", tmp_path / "t.json", "--layers", "0",
                              "--max-tokens", "16", "--no-progress"], capsys)
    assert (code, out) == (2, "") and err.count("\n") == 0, err
    assert "error: argument --tokenizer: " in err and "token id 1000000, beyond the checkpoint's 30522" in err, err


@pytest.mark.parametrize("flag, value, words", [("--windows", "4", "must be an integer >= 8"),
                                                ("--length", "3", "must be an integer >= 4")])
def test_heads_datamodel_checks_what_needs_no_checkpoint_before_reading_it(monkeypatch, capsys, flag, value, words):
    # refused only after the 90 MB checkpoint was read and every head's matrices computed (5-7.5 s, 281 MB)
    from sigprop.checkpoints import datamodel_text

    def never(*args, **kwargs):
        raise AssertionError("the checkpoint was read before the refusal")
    monkeypatch.setattr(datamodel_text, "load", never)
    code, out, err = run_cli(["heads-datamodel", minilm_checkpoint(), flag, value, "--no-progress"], capsys)
    assert (code, out) == (2, "") and err.endswith(f"error: argument {flag}: {words}, got {value}"), err
