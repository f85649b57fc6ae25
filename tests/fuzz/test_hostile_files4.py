"""File inputs of the fourth hostile-input campaign (docs/contract.md, "Sizes" and "Files read"): every file a
command or the API reads from the user's arguments goes through :func:`sigprop.core.results.read_json` /
:func:`~sigprop.core.results.read_text`, which refuse a file that is not regular, check its size by ``stat``
against the limit of its kind before a byte is read, and turn deep nesting, undecodable text or a wrong
top-level JSON type into one line naming the argument and the file.

"Before it is read" is measured, never timed: each oversized file is a sparse file (``os.truncate``, no disk
used) of :data:`HUGE` bytes, and the peak of the memory Python allocates during the call (``tracemalloc``) must
stay below :data:`REFUSAL_BYTES`; reading the file would allocate at least :data:`HUGE` bytes.  The
tokenizer is read by Rust (not traced): there the refusal's words (the size and the limit) are asserted.
"""
import json
import os

import numpy as np
import pytest

import sigprop
from sigprop.core import results
from sigprop.core.checks import ArgumentError
from tests.helpers import run_cli, traced_peak

#: The size of every oversized (sparse) file: above every fixed limit (CONFIG_BYTES, RECORD_BYTES) and, with
#: :data:`MEMORY` as the machine's memory, above the memory-derived ones (corpus, sigprop.load).
HUGE = 200_000_000
#: ``$SIGPROP_MEMORY_LIMIT`` of the memory-derived cases: a corpus may be 40 MB (a tenth), a result file
#: 100 MB (a quarter).
MEMORY = 400_000_000
#: The most memory a refusal may allocate (imports of the command's modules included), as in
#: tests/fuzz/test_hostile_sizes3.py; reading the file would allocate HUGE bytes or more.
REFUSAL_BYTES = 64e6
DEEP = "[" * 100_000 + "]" * 100_000


def _sparse(path, size=HUGE):
    path.touch()
    os.truncate(path, size)
    return path


def _cli(argv, capsys):
    (code, out, err), peak = traced_peak(run_cli, argv, capsys)
    return code, out, err, peak


def _refused(argv, capsys, flag, *needles):
    code, out, err, peak = _cli(argv, capsys)
    assert code == 2 and not out and len(err.splitlines()) == 1, (code, err)
    assert flag is None or f"argument {flag}:" in err, err
    assert "Traceback" not in err and "Error:" not in err, err
    for needle in needles:
        assert str(needle) in err, err
    assert peak < REFUSAL_BYTES, f"{peak / 1e6:.0f} MB allocated before the refusal"
    return err


def _api_refused(call, argument, *needles):
    def run():
        try:
            call()
        except Exception as exc:               # noqa: BLE001 - inspected below
            return exc
        return None
    exc, peak = traced_peak(run)
    assert isinstance(exc, ArgumentError), repr(exc)
    assert exc.argument == argument and "\n" not in str(exc), (exc.argument, str(exc))
    for needle in needles:
        assert str(needle) in str(exc), str(exc)
    assert peak < REFUSAL_BYTES, f"{peak / 1e6:.0f} MB allocated before the refusal"


@pytest.fixture
def bert(tmp_path):
    """A one-layer BERT-layout checkpoint (query and key weights) with no config.json beside it."""
    from safetensors.numpy import save_file
    folder = tmp_path / "bert"
    folder.mkdir()
    eye = np.eye(4, dtype=np.float32)
    save_file({"encoder.layer.0.attention.self.query.weight": eye,
               "encoder.layer.0.attention.self.key.weight": eye}, str(folder / "model.safetensors"))
    return folder / "model.safetensors"


# --- --config (heads, heads-datamodel) ----------------------------------------------------------------------

@pytest.mark.parametrize("command", ["heads", "heads-datamodel"])
@pytest.mark.parametrize("text, words", [(DEEP, "nested too deeply"), ("null", "JSON null, not an object"),
                                         ("[1, 2]", "JSON an array, not an object"),
                                         ("3", "JSON a number, not an object")])
def test_config_of_the_wrong_form_is_one_line(command, text, words, bert, tmp_path, capsys):
    """A 100 000-deep array gave a RecursionError traceback; ``null`` a TypeError at heads.py:163."""
    config = tmp_path / "c.json"
    config.write_text(text)
    _refused([command, bert, "--config", config, "--no-progress"], capsys, "--config", config, words,
             "expected the checkpoint's config.json")


@pytest.mark.parametrize("command", ["heads", "heads-datamodel"])
def test_huge_config_is_refused_by_its_size_before_it_is_read(command, bert, tmp_path, capsys):
    config = _sparse(tmp_path / "c.json")
    _refused([command, bert, "--config", config, "--no-progress"], capsys, "--config", config, "200 MB",
             "more than the 10 MB accepted for the checkpoint's config.json")


def test_huge_config_beside_the_checkpoint_is_refused_too(bert, capsys):
    _sparse(bert.with_name("config.json"))
    _refused(["heads", bert, "--no-progress"], capsys, "--config", "config.json", "10 MB accepted")


# --- bench --from -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, words", [(DEEP, "nested too deeply"), ("null", "JSON null, not an object")])
def test_bench_from_a_deep_or_null_file_is_one_line(text, words, tmp_path, capsys):
    pytest.importorskip("sigprop_benchmarks")
    source = tmp_path / "b.json"
    source.write_text(text)
    _refused(["bench", "--from", source], capsys, "--from", source, words)


def test_bench_from_a_huge_file_is_refused_before_it_is_read(tmp_path, capsys):
    pytest.importorskip("sigprop_benchmarks")
    source = _sparse(tmp_path / "b.json")
    _refused(["bench", "--from", source], capsys, "--from", source, "more than the 10 MB accepted")


# --- lm summarize (run.json), summary.read ------------------------------------------------------------------

def test_lm_summarize_of_a_huge_run_record_is_refused_before_it_is_read(tmp_path, capsys):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    record = _sparse(run / "run.json")
    _refused(["lm", "summarize", tmp_path / "runs"], capsys, "DIR", record, "more than the 100 MB accepted")


def test_summary_read_of_a_huge_or_deep_file(tmp_path):
    from sigprop.lm import summary
    _api_refused(lambda: summary.read(_sparse(tmp_path / "s.json")), "path", "100 MB accepted")
    (tmp_path / "d.json").write_text(DEEP)
    _api_refused(lambda: summary.read(tmp_path / "d.json"), "path", "nested too deeply")


# --- sweep SPEC ---------------------------------------------------------------------------------------------

def test_huge_sweep_spec_is_refused_before_it_is_read(tmp_path, capsys):
    spec = _sparse(tmp_path / "p.toml")
    # the sweep's refusals of its specification name the file (as its TOML errors do), not an argument
    _refused(["sweep", spec, "--store", tmp_path / "s.zarr", "--no-progress"], capsys, None, spec,
             "more than the 10 MB accepted for a TOML sweep specification")
    assert not (tmp_path / "s.zarr").exists()


# --- heads-text --tokenizer ---------------------------------------------------------------------------------

def test_huge_tokenizer_is_refused_by_its_size(bert, tmp_path, capsys):
    pytest.importorskip("tokenizers")
    bert.with_name("config.json").write_text(json.dumps({"num_attention_heads": 1}))
    tok = _sparse(tmp_path / "tokenizer.json")
    _refused(["heads-text", bert, "--tokenizer", tok, "--no-progress"], capsys, "--tokenizer", tok, "200 MB",
             "more than the 100 MB accepted for a tokenizer.json")


# --- lm train / lm collapse --corpus DIR --------------------------------------------------------------------

@pytest.mark.parametrize("command", [["lm", "train", "--steps", "1"], ["lm", "collapse", "--layers", "1"]])
def test_huge_corpus_file_is_refused_by_the_memory_it_needs(command, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", str(MEMORY))
    corpus = tmp_path / "wiki"
    corpus.mkdir()
    _sparse(corpus / "wiki.train.raw")
    (corpus / "wiki.valid.raw").write_text("a b c\n")
    (corpus / "wiki.test.raw").write_text("a b c\n")
    _refused(command + ["--corpus", corpus, "--tokenizer", "bytes", "--no-progress"], capsys, "--corpus",
             "needs about 2 GB of memory", corpus)


def test_corpus_file_that_is_a_fifo_is_refused(tmp_path):
    from sigprop.lm import corpus
    folder = tmp_path / "wiki"
    folder.mkdir()
    os.mkfifo(folder / "wiki.train.raw")             # read, it would wait for ever
    (folder / "wiki.valid.raw").write_text("a\n")
    (folder / "wiki.test.raw").write_text("a\n")
    _api_refused(lambda: corpus.load(str(folder)), "corpus", "FIFO", "not a corpus text file")


# --- .npy weights -------------------------------------------------------------------------------------------

def _npy_header(path, n, size=None):
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (n, n)})
        offset = fh.tell()
    os.truncate(path, offset + 8 * n * n if size is None else size)
    return path


def test_npy_weights_whose_model_exceeds_the_memory_are_refused_before_they_are_read(tmp_path, capsys, monkeypatch):
    """The header check passed a 3000 x 3000 file (144 MB to read, under 400 MB): it was read whole, and only
    the model (9 such matrices, 648 MB) was refused after it.  Now the header says so first."""
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", str(MEMORY))
    weights = _npy_header(tmp_path / "W.npy", 3000)
    _refused(["predict", "--weights", weights, "--length", "8"], capsys, "--weights", weights,
             "the model needs about 648 MB of memory (9 float64 matrices of 3000 x 3000")


def test_truncated_npy_is_refused_by_its_header(tmp_path, capsys):
    weights = _npy_header(tmp_path / "W.npy", 1000, size=1000)
    _refused(["predict", "--weights", weights, "--length", "8"], capsys, "--weights", weights, "is truncated")


# --- sigprop.load -------------------------------------------------------------------------------------------

def test_load_of_an_integer_python_cannot_convert_is_one_line(tmp_path):
    # the fourth campaign: a ValueError ("Exceeds the limit (4300 digits)"), not an ArgumentError
    path = tmp_path / "bignum.json"
    path.write_text('{"a": ' + "9" * 100_000 + "}")
    _api_refused(lambda: sigprop.load(path), "path", "a JSON number Python cannot read")


@pytest.mark.parametrize("value", ["abc", "-1", "0", "nan", "-inf"])
def test_a_memory_limit_that_is_no_number_of_bytes_is_refused(value, monkeypatch):
    from sigprop.core import memory

    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", value)
    _api_refused(memory.machine_bytes, "SIGPROP_MEMORY_LIMIT", "must be a number of bytes > 0", repr(value))


def test_an_infinite_memory_limit_leaves_physical_memory(monkeypatch):
    # '1e309' (inf) overflowed int() with a traceback
    from sigprop.core import memory

    monkeypatch.delenv("SIGPROP_MEMORY_LIMIT", raising=False)
    physical = memory.machine_bytes()
    for value in ("1e309", "inf", str(10 * physical)):
        monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", value)
        assert memory.machine_bytes() == physical
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", "1e6")
    assert memory.machine_bytes() == 1_000_000


def test_load_of_a_huge_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGPROP_MEMORY_LIMIT", str(MEMORY))
    _api_refused(lambda: sigprop.load(_sparse(tmp_path / "r.json")), "path", "needs about 800 MB of memory")


# --- the helper ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, words", [(DEEP, "nested too deeply"), ("null", "JSON null, not an object"),
                                         ('"x"', "JSON a string, not an object"), ("{", "not JSON"),
                                         ('{"a": ' + "9" * 100_000 + "}", "a JSON number Python cannot read"),
                                         (b"\x93", "not UTF-8 text: byte 0 is b'\\x93'")])
def test_read_json_refuses_in_one_line_naming_the_file(text, words, tmp_path):
    path = tmp_path / "f.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    _api_refused(lambda: results.read_json(path, "config", "a config", limit=results.CONFIG_BYTES), "config",
                 path, words)


def test_read_text_refuses_a_device_a_folder_and_a_missing_file(tmp_path):
    for path, words in ((os.devnull, "a character device, not a config"), (tmp_path, "a folder, not a config"),
                        (tmp_path / "none", "no such file")):
        _api_refused(lambda p=path: results.read_text(p, "config", "a config", limit=results.CONFIG_BYTES),
                     "config", words)
