"""Every traceback of the hostile-input report is one line naming the argument or the file; the silent
partial answer and the NaN are refusals (docs/contract.md)."""
import os

import numpy as np
import pytest

import sigprop
from sigprop import cli


def _one_line(argv, capsys, *needles):
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    last = err.strip().splitlines()[-1] if err.strip() else ""
    assert code == 2 and "Traceback" not in err and last.startswith(f"sigprop {argv[0]}"), err
    assert all(n in last for n in needles), err
    return err


@pytest.fixture
def afile(tmp_path):
    path = tmp_path / "afile"
    path.write_text("a file, not a folder")
    return path


def test_a_file_given_as_an_output_folder(tmp_path, afile, capsys):
    spec = tmp_path / "p.toml"
    spec.write_text('study = "profile"\n[args]\nm = 0.5\nT = 8\n[axes]\nd = [4]\nv = [0.1]\n')
    err = _one_line(["sweep", spec, "--store", afile / "x.zarr", "--workers", "0", "--no-progress"], capsys,
                    "argument --store:", f"cannot be created: {afile} is not a folder")
    assert len(err.strip().splitlines()) == 1
    from tests.lm.test_train import small_corpus
    (tmp_path / "corpus").mkdir()
    small_corpus(tmp_path / "corpus")
    err = _one_line(["lm", "sweep", "--dir", afile, "--corpus", tmp_path / "corpus", "--tokenizer", "bytes",
                     "--steps", "1", "--width", "16", "--heads", "2", "--length", "16", "--batch", "2",
                     "--no-progress"], capsys, "argument --dir:", "is not a folder")
    assert len(err.strip().splitlines()) == 1                  # refused before the first run's log line
    _one_line(["lm", "train", "--run-dir", afile, "--steps", "1"], capsys, "argument --run-dir:", "is not a folder")


def test_an_os_error_of_the_work_names_the_argument_holding_the_path(tmp_path, capsys, monkeypatch):
    # what the folder checks cannot foresee (a full disk, a folder made read-only meanwhile)
    from sigprop.cli import app

    def full(args):
        raise OSError(28, "No space left on device", str(tmp_path / "runs" / "r0" / "checkpoint.npz"))
    cmd = app.commands()["lm sweep"]
    monkeypatch.setitem(app._COMMANDS, "lm sweep", app.Command(**{**cmd.__dict__, "run": full}))
    err = _one_line(["lm", "sweep", "--dir", tmp_path / "runs"], capsys,
                    f"argument --dir: cannot use {tmp_path / 'runs'}: No space left on device")
    assert len(err.strip().splitlines()) == 1


def _checkpoint(folder, layers=2, drop=None, config='{"num_attention_heads": 2, "num_hidden_layers": 2}'):
    from safetensors.numpy import save_file
    folder.mkdir()
    tensors = {f"encoder.layer.{k}.attention.self.{w}.weight": np.eye(4, dtype=np.float32)
               for k in range(layers) for w in ("query", "key")}
    tensors.pop(drop, None)
    save_file(tensors, str(folder / "m.safetensors"))
    (folder / "config.json").write_text(config)
    return folder / "m.safetensors"


def test_a_checkpoint_with_zero_heads(tmp_path, capsys):
    ck = _checkpoint(tmp_path / "c", config='{"num_attention_heads": 0}')
    _one_line(["heads", ck], capsys, "argument --config:", "num_attention_heads", "must be an integer >= 1, got 0")


def test_a_checkpoint_missing_one_layers_query_weight_is_refused_not_answered_in_part(tmp_path, capsys):
    ck = _checkpoint(tmp_path / "c", drop="encoder.layer.1.attention.self.query.weight")
    _one_line(["heads", ck], capsys, "layer 1 has a key weight but no query weight")


def test_a_tokenizer_that_is_not_json(tmp_path, capsys):
    pytest.importorskip("tokenizers")
    ck = _checkpoint(tmp_path / "c")
    (tmp_path / "c" / "tokenizer.json").write_text("not json {")
    _one_line(["nnt", "encoder", "--checkpoint", ck], capsys, "tokenizer", "cannot read")


def test_a_truncated_checkpoint_on_resume(tmp_path, capsys):
    from tests.lm.test_train import small_corpus
    (tmp_path / "corpus").mkdir()
    small_corpus(tmp_path / "corpus")
    run = tmp_path / "run"
    argv = ["lm", "train", "--corpus", tmp_path / "corpus", "--tokenizer", "bytes", "--width", "16", "--heads", "2",
            "--length", "16", "--batch", "4", "--eval-every", "2", "--eval-tokens", "64", "--probe", "2",
            "--no-progress", "--run-dir", run]
    assert cli.main([str(a) for a in argv + ["--steps", "2"]]) == 0
    capsys.readouterr()
    data = (run / "checkpoint.npz").read_bytes()
    (run / "checkpoint.npz").write_bytes(data[: len(data) // 2])
    _one_line(argv + ["--steps", "4", "--resume"], capsys, "argument --run-dir:", "damaged or incomplete")


def test_a_damaged_zarr_chunk(tmp_path, capsys):
    pytest.importorskip("zarr")
    spec = tmp_path / "p.toml"
    spec.write_text('study = "profile"\n[args]\nm = 0.5\nT = 8\n[axes]\nd = [4, 8]\nv = [0.1]\n')
    store = tmp_path / "p.zarr"
    assert cli.main(["sweep", str(spec), "--store", str(store), "--workers", "0", "--no-progress"]) == 0
    capsys.readouterr()
    (store / "status" / "0.0").write_bytes(b"damaged")
    _one_line(["sweep", "--status", store], capsys, "is damaged")
    _one_line(["sweep", spec, "--store", store, "--workers", "0", "--no-progress"], capsys, "is damaged")
    (store / "rho" / "1.0.0").write_bytes(b"damaged")
    (store / "status" / "0.0").unlink()                     # a missing chunk is pending: fine
    _one_line(["sweep", "--plot", "rho", store], capsys, "argument --store:", "damaged")


def test_load_of_a_deep_array_or_a_device(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested too deeply"):
        sigprop.load(deep)
    with pytest.raises(ValueError, match="character device, not a result file"):
        sigprop.load(os.devnull)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="FIFO"):
        sigprop.load(fifo)                                   # read, it would wait for ever


def test_localization_of_an_all_zero_profile_is_refused():
    with pytest.raises(ValueError, match="^rho must have a propagating position"):
        sigprop.localization_metrics([0, 0, 0])
