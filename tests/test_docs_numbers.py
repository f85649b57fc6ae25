"""The numbers the documentation shows from stored results are the stored results' numbers.

A page declares where a table or paragraph comes from with an HTML comment on the line before it
(invisible on the site)::

    <!-- numbers: results/lm/summary.json summary paired -->
    | layers x heads | ... |

The first word is the stored file (a JSON document under ``results/`` or ``docs/figures/``, or a
Markdown file such as ``CLAIMS.md``); the words after it are keys into the JSON document (in a
Markdown file the sections headed ``## KEY``, e.g. a ledger row of CLAIMS.md; in JSON dotted
for nested keys, integers for list items, ``*`` for every item; none: the whole document; ``per-row``: each row of the
table must be found in one item of the selected lists, a record per row), and ``except=A,B`` lists
numbers of the block (without thousands separators) that are not from the source: labels, or
numbers the page dates and sources in words beside the block.  The block is
the lines after the comment up to the next blank line.  Every number of the block (outside code
spans, link targets and a table's header row) must be one of the source's numbers as printed: a
number leaf of the selected keys rounded to the printed decimals (``70.20`` for 70.2023...,
``1.7e-07`` to the printed significant digits, ``1,214,975`` without its separators), or a number
written in one of their text leaves (``locater:0.1``); in a Markdown source, a number of the text
rounded further (``-0.036`` for the ledger's ``-0.0357``).  The pages say in words which command wrote
each file; this test checks that the page and the file agree.
"""
from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIRECTIVE = re.compile(r"^<!-- numbers: (\S+)((?: [^ ]+?)*) -->$")
# a printed number: thousands separators, decimals, an exponent; not part of a word or a longer number
PRINTED = re.compile(r"(?<![\w.^/§])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?(?![\w^]|\.\d)")
LEAF_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def directives(page: Path) -> list[tuple[int, str, list[str], set[str], str]]:
    """``(line, source, keys, exceptions, block)`` for every numbers comment of ``page``."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found = []
    for n, line in enumerate(lines):
        m = DIRECTIVE.match(line.strip())
        if not m:
            continue
        words = m.group(2).split()
        keys = [w for w in words if not w.startswith("except=") and w != "per-row"]
        exceptions = {x for w in words if w.startswith("except=") for x in w[len("except="):].split(",")}
        block = []
        for later in lines[n + 1:]:
            if not later.strip():
                if block:
                    break
                continue
            block.append(later)
        if "per-row" in words:
            keys.append("per-row")
        found.append((n + 1, m.group(1), keys, exceptions, "\n".join(block)))
    return found


def printed_numbers(block: str) -> list[str]:
    """The numbers a reader sees in ``block``: not in code spans, link targets or a table's header."""
    lines = block.splitlines()
    if len(lines) > 1 and lines[0].lstrip().startswith("|") and set(lines[1].replace(" ", "")) <= set("|-:"):
        lines = lines[2:]
    text = "\n".join(lines)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"\*+", "", text)
    return PRINTED.findall(text)


def _select(document, key: str):
    """``key`` of ``document``: dotted, integers index lists, ``*`` takes every item (then a list)."""
    head, _, rest = key.partition(".")
    if head == "*":
        items = document if isinstance(document, list) else list(document.values())
        return [_select(item, rest) for item in items] if rest else items
    document = document[int(head)] if isinstance(document, list) else document[head]
    return _select(document, rest) if rest else document


def _leaves(document, numbers: list[float], texts: set[str]) -> None:
    if isinstance(document, dict):
        for value in document.values():
            _leaves(value, numbers, texts)
    elif isinstance(document, list):
        for value in document:
            _leaves(value, numbers, texts)
    elif isinstance(document, bool) or document is None:
        return
    elif isinstance(document, (int, float)):
        numbers.append(float(document))
    elif isinstance(document, str):
        texts.update(LEAF_NUMBER.findall(document))
        texts.update(PRINTED.findall(document))


@cache
def _loaded(source: str):
    path = ROOT / source
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    return path.read_text(encoding="utf-8")


@cache
def source_numbers(source: str, keys: tuple[str, ...]) -> tuple[tuple[float, ...], frozenset[str]]:
    """The number leaves and the numbers written in text leaves of ``keys`` of ``source``."""
    document = _loaded(source)
    numbers: list[float] = []
    texts: set[str] = set()
    if isinstance(document, str):                   # Markdown: the sections headed ``## KEY``
        sections = {s.split("\n", 1)[0].strip(): s for s in re.split(r"^## ", document, flags=re.M)[1:]}
        for part in [sections[k] for k in keys] if keys else [document]:
            texts.update(LEAF_NUMBER.findall(part))
            texts.update(PRINTED.findall(part))
        # a ledger number is itself rounded: a tie (0.0565) may be printed either way (0.056, 0.057)
        values = [float(x) for x in texts if "," not in x]
        return tuple(v * f for v in values for f in (1 - 1e-9, 1, 1 + 1e-9)), frozenset(texts)
    for part in ([_select(document, k) for k in keys] if keys else [document]):
        _leaves(part, numbers, texts)
    return tuple(numbers), frozenset(texts)


def _plain(printed: str) -> str:
    text = printed.replace(",", "").lstrip("+")
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text


def matches(printed: str, numbers, texts) -> bool:
    """Whether ``printed`` is one of ``numbers`` rounded as printed, or one of ``texts``."""
    plain = _plain(printed)
    if printed in texts or plain in texts or printed.lstrip("+") in texts:
        return True
    if "e" in plain:
        mantissa = plain.split("e")[0]
        digits = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return any(float(f"{x:.{digits}e}") == float(plain) for x in numbers)
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    return any(_plain(f"{x:.{decimals}f}") == plain for x in numbers)


def unmatched(block: str, source: str, keys, exceptions) -> list[str]:
    """The numbers of ``block`` that are not in ``source``; with ``per-row`` among ``keys``, every
    row of a table must be found in one item of the selected lists (a row is one record)."""
    def wanted(p):
        return p not in exceptions and _plain(p) not in exceptions
    keys = tuple(keys)
    if "per-row" not in keys:
        numbers, texts = source_numbers(source, keys)
        return [p for p in printed_numbers(block) if wanted(p) and not matches(p, numbers, texts)]
    keys = tuple(k for k in keys if k != "per-row")
    document = _loaded(source)
    items = [item for k in keys for item in _select(document, k)]
    leaves = [source_numbers_of(item) for item in items]
    lines = block.splitlines()
    header = "\n".join(lines[:2]) + "\n" if len(lines) > 1 and lines[0].lstrip().startswith("|") else ""
    missing = []
    for row in lines[2:] if header else lines:
        printed = [p for p in printed_numbers(header + row) if wanted(p)]
        if printed and not any(all(matches(p, *leaf) for p in printed) for leaf in leaves):
            best = min(leaves, key=lambda leaf: sum(not matches(p, *leaf) for p in printed))
            missing += [p for p in printed if not matches(p, *best)]
    return missing


def source_numbers_of(document) -> tuple[tuple[float, ...], frozenset[str]]:
    numbers: list[float] = []
    texts: set[str] = set()
    _leaves(document, numbers, texts)
    return tuple(numbers), frozenset(texts)


PAGES = sorted((ROOT / "docs").glob("*.md"))
DECLARED = [(page, *d) for page in PAGES for d in directives(page)]


def test_the_capability_pages_declare_their_stored_numbers():
    declaring = {page.name for page, *_ in DECLARED}
    assert {"lm.md", "nnt.md", "data-models.md", "findings.md", "gap.md", "stack.md"} <= declaring, sorted(declaring)


@pytest.mark.parametrize("page, line, source, keys, exceptions, block", DECLARED,
                         ids=[f"{p.name}:{d[0]}" for p, *d in DECLARED])
def test_every_declared_number_is_in_its_stored_source(page, line, source, keys, exceptions, block):
    assert (ROOT / source).is_file(), f"{page.name}:{line} cites {source}, which is not stored"
    printed = printed_numbers(block)
    assert printed, f"{page.name}:{line}: the declared block shows no number"
    missing = unmatched(block, source, keys, exceptions)
    assert missing == [], f"{page.name}:{line}: not in {source} {' '.join(keys)}: {missing}"


def test_a_changed_digit_fails():
    # a row of docs/lm.md's Wikipedia quick run, as stored and with one digit changed
    keys = ("history",)
    good = "| validation perplexity | 6,857 | 944 | 761 | 542 | **468.5** |"
    assert unmatched(good, "results/lm/wikipedia_quick200.json", keys, set()) == []
    bad = good.replace("468.5", "468.6")
    assert unmatched(bad, "results/lm/wikipedia_quick200.json", keys, set()) == ["468.6"]
    assert unmatched("-0.004 and +0.008, +0.03 `9.99` [x](y9.9)", "results/lm/wikipedia_quick200.json",
                     ("calibration",), {"0.03"}) == []


def test_printed_numbers_are_read_as_a_reader_reads_them():
    table = "| a 95 | b |\n|---|---|\n| 1,214,975 | -0.0043 [-0.0049, +4.0] 1.7e-07 tr(W^2) |"
    assert printed_numbers(table) == ["1,214,975", "-0.0043", "-0.0049", "+4.0", "1.7e-07"]
    assert matches("1,214,975", (1214975.0,), frozenset()) and matches("1.7e-07", (1.74e-7,), frozenset())
    assert not matches("1.8e-07", (1.74e-7,), frozenset()) and matches("-0.000", (-2e-5,), frozenset())


# docs/nnt.md's table at T = 500 is computed from the stored runs' loss curves (means over seeds
# at steps 0, 5 and 15, with 95% Student-t intervals), so it is regenerated here and compared.
NNT_TARGETS = {"identity": "identity", "square": "square", "shifted_sigmoid": "shifted sigmoid",
               "heaviside": "Heaviside"}


def _t_interval(values) -> tuple[float, float, float]:
    import numpy as np
    from scipy import stats

    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half)


def _nnt_curves() -> dict[tuple[str, str], list[list[float]]]:
    curves: dict[tuple[str, str], list[list[float]]] = {}
    for target in NNT_TARGETS:
        runs = _loaded(f"results/nnt/train_T500_{target}.json")["records"]
        for r in sorted(runs, key=lambda r: r["seed"]):
            curves.setdefault((target, r["config"]), []).append(r["losses"])
    return curves


def nnt_t500_rows() -> list[str]:
    """The rows of docs/nnt.md's T = 500 table, from results/nnt/train_T500_*.json."""
    rows = []
    for (target, config), losses in _nnt_curves().items():
        initial = sum(curve[0] for curve in losses) / len(losses)
        cells = ["{:.3f} [{:.3f}, {:.3f}]".format(*_t_interval([curve[k] for curve in losses])) for k in (5, -1)]
        rows.append(f"| {NNT_TARGETS[target]} | {config} | {initial:.3f} | {cells[0]} | {cells[1]} |")
    return rows


def nnt_t500_paired() -> list[str]:
    """Fix minus no fix of the final loss, paired by seed, as docs/nnt.md prints it."""
    curves = _nnt_curves()
    out = []
    for target in NNT_TARGETS:
        for fixed, plain in (("A_perp+skip+LN", "A+skip+LN"), ("A(X)_perp+skip+LN", "A(X)+skip+LN")):
            diff = [a[-1] - b[-1] for a, b in zip(curves[(target, fixed)], curves[(target, plain)])]
            mean, low, high = _t_interval(diff)
            out.append(f"{mean:+.3f} [{low:.3f}, {high:.3f}]")
    return out


def test_the_nnt_table_at_t500_is_the_stored_runs():
    page = (ROOT / "docs" / "nnt.md").read_text(encoding="utf-8")
    start = page.index("| target | configuration | initial | after 5 steps | after 15 steps |")
    shown = [line for line in page[start:].split("\n\n", 1)[0].splitlines()[2:]]
    assert shown == nnt_t500_rows()
    section = " ".join(page[start:page.index("![training at T = 500]")].split())
    assert all(pair in section for pair in nnt_t500_paired()), [p for p in nnt_t500_paired() if p not in section]


def test_the_nnt_table_check_fails_on_a_changed_digit():
    rows = nnt_t500_rows()
    assert rows[0].startswith("| identity | A+skip+LN | 1.002 | 0.865 [0.838, 0.892] |")
    assert rows[0].replace("0.865", "0.866") not in rows


def _spec(label: str) -> str:
    label = label.replace("`", "").strip()
    if label.startswith("AR(1)"):
        return "ar1:" + label.split("=")[1].strip()
    if label.startswith("fBm"):
        return "fbm:" + label.split("=")[1].strip()
    return {"random walk": "random-walk", "iid": "iid"}[label]


def test_the_localization_table_of_data_models_is_the_closed_form():
    # docs/data-models.md, "Localization beyond the random walk": closed form (no sampling), so the
    # table is recomputed here (`sigprop.rho.data_study.localization_over_data`, under a second)
    from sigprop.rho.data_study import localization_over_data

    page = (ROOT / "docs" / "data-models.md").read_text(encoding="utf-8")
    start = page.index("| data | entropy | width | | data | entropy | width |")
    cells = {}
    for line in page[start:].split("\n\n", 1)[0].splitlines()[2:]:
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        for label, entropy, width in (parts[0:3], parts[4:7]):
            if label:
                cells[_spec(label)] = (entropy, width)
    assert len(cells) == 13
    rows = localization_over_data(0.5, (0.01,), 64, 128, list(cells))
    computed = {spec: (f"{r['entropy_normalized']:.3f}", f"{r['width']:.1f}")
                for spec, r in zip(cells, rows, strict=True)}
    assert cells == computed
    assert computed["ar1:16"] != ("0.944", "33.0")           # a changed digit would fail


def test_the_rule_table_of_the_exact_page_is_the_one_auto_uses():
    # docs/exact.md prints `sigprop.rho.auto.envelope_markdown()` (tests/rho/test_auto.py derives it
    # from results/gaussian_error/map.json)
    from sigprop.rho.auto import envelope_markdown

    page = (ROOT / "docs" / "exact.md").read_text(encoding="utf-8")
    assert envelope_markdown().strip() in page
    assert envelope_markdown().strip().replace("0.0134", "0.0135") not in page


def exact_error_rows() -> dict[str, list[float]]:
    """docs/exact.md's table of the Gaussian error at full rank and below, from the stored map."""
    rows = [r for r in _loaded("results/gaussian_error/map.json")["rows"] if r["family"] == "symmetric"]
    dims = sorted({r["d"] for r in rows})

    def worst(keep):
        return [max(r["gauss_vs_exact"] for r in rows if r["d"] == d and keep(r)) for d in dims]

    return {"worst over `m`, `v`, `T`": worst(lambda r: r["rank"] == r["d"]),
            "`m = 0.5, v = 0.1, T = 64`": worst(lambda r: r["rank"] == r["d"]
                                                and (r["m"], r["v"], r["T"]) == (0.5, 0.1, 64)),
            "worst over ranks below `d`": worst(lambda r: r["rank"] < r["d"])}


def test_the_gaussian_error_table_of_the_exact_page_is_the_stored_map():
    page = (ROOT / "docs" / "exact.md").read_text(encoding="utf-8")
    start = page.index("| d | 2 | 4 | 8 | 16 | 32 | 64 | 128 | 256 | 512 | 1024 |")
    lines = page[start:].split("\n\n", 1)[0].splitlines()[2:]
    cells = ([p.strip() for p in line.strip().strip("|").split("|")] for line in lines)
    shown = {parts[0]: parts[1:] for parts in cells}
    computed = exact_error_rows()
    assert shown.keys() == computed.keys()
    for name, values in computed.items():
        bad = [(p, v) for p, v in zip(shown[name], values, strict=True) if not matches(p, (v,), frozenset())]
        assert bad == [], (name, bad)
    assert not matches("0.270", (computed["worst over `m`, `v`, `T`"][0],), frozenset())


def test_the_gaussian_error_table_of_the_findings_is_the_stored_map():
    rows = [r for r in _loaded("results/gaussian_error/map.json")["rows"]
            if r["family"] == "symmetric" and r["rank"] == r["d"] and r["m"] == 0.5 and r["T"] == 64]
    page = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    start = page.index("| d | v = 0.01 | v = 0.1 | v = 1 |")
    lines = page[start:].split("\n\n", 1)[0].splitlines()[2:]
    assert len(lines) == 8
    for line in lines:
        d, *shown = (p.strip() for p in line.strip().strip("|").split("|"))
        stored = [next(r["gauss_vs_exact"] for r in rows if r["d"] == int(d) and r["v"] == v) for v in (0.01, 0.1, 1.0)]
        agree = [matches(p, (x,), frozenset()) for p, x in zip(shown, stored, strict=True)]
        assert agree == [True] * 3, (d, shown, stored)
    d2 = next(r["gauss_vs_exact"] for r in rows if r["d"] == 2 and r["v"] == 0.01)
    assert matches("0.112", (d2,), frozenset()) and not matches("0.113", (d2,), frozenset())


def test_the_findings_count_the_ledger_as_it_is():
    verdicts = (ROOT / "CLAIMS.md").read_text(encoding="utf-8").split("Verdicts: ", 1)[1].split("\n", 1)[0]
    assert "Verdicts: " + verdicts in (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")


def gap_from_lengths() -> dict[str, list[str]]:
    """Per quantity, the smallest T from which each gap prediction holds, per sigma ("never")."""
    region = _loaded("docs/figures/gap_validity.json")["region"]
    return {q: ["never" if t is None else str(t) for t in region[q]["from_length"]]
            for q in ("sigma_1", "sigma_2", "eig_2", "kappa")}


@pytest.mark.parametrize("page, heading", [("gap.md", "| sigma | 0.25 | 0.5 | 0.75 | 1.0 | 1.25 | 1.5 | 2.0 |"),
                                           ("findings.md", "| quantity | from T |")])
def test_the_gap_validity_tables_are_the_stored_region(page, heading):
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    start = text.index(heading)
    lines = text[start:].split("\n\n", 1)[0].splitlines()[2:]
    shown = [re.findall(r"\b(?:\d+|never)\b", line)[-7:] for line in lines]
    assert shown == list(gap_from_lengths().values())


def test_the_gap_rule_would_see_a_changed_length():
    assert gap_from_lengths()["sigma_2"][:3] == ["128", "128", "512"]


# docs/nnt.md's table at T = 32: the final training loss of the stored full run
# (results/nnt/T32_trainability.json, `sigprop nnt train`'s defaults), mean and 95% t-interval over seeds.
T32 = "results/nnt/T32_trainability.json"
T32_TARGETS = {"identity": "identity", "square": "square", "shifted sigmoid": "shifted_sigmoid",
               "Heaviside": "heaviside"}


def nnt_t32_cell(target: str, lr: float, config: str) -> str:
    finals = [r["final"] for r in sorted(_loaded(T32)["records"], key=lambda r: r["seed"])
              if r["target"] == target and r["config"] == config and r["lr"] == lr]
    assert len(finals) == 5
    return "{:.3f} [{:.3f}, {:.3f}]".format(*_t_interval(finals))


def test_the_nnt_table_at_t32_is_the_stored_full_run():
    page = (ROOT / "docs" / "nnt.md").read_text(encoding="utf-8")
    start = page.index("| target, lr | A+skip+LN | A_perp+skip+LN | A(X)+skip+LN | A(X)_perp+skip+LN |")
    lines = page[start:].split("\n\n", 1)[0].splitlines()
    configs = [c.strip() for c in lines[0].strip().strip("|").split("|")][1:]
    assert len(lines) > 4
    for line in lines[2:]:
        label, *cells = (c.strip() for c in line.strip().strip("|").split("|"))
        name, lr = label.rsplit(", ", 1)
        stored = [nnt_t32_cell(T32_TARGETS[name], float(lr), config) for config in configs]
        assert cells == stored, (label, cells, stored)
    assert nnt_t32_cell("identity", 1e-3, "A+skip+LN") != "0.825 [0.821, 0.827]"


def nnt_t32_paired() -> dict[str, str]:
    """Fix minus no fix of the final loss at T = 32, per family, target and rate, as printed."""
    out = {}
    for family, (fixed, plain) in {"Markov": ("A_perp+skip+LN", "A+skip+LN"),
                                   "key-query": ("A(X)_perp+skip+LN", "A(X)+skip+LN")}.items():
        for target in T32_TARGETS.values():
            for lr in (1e-3, 3e-3, 1e-2):
                finals = {}
                for config in (fixed, plain):
                    finals[config] = [r["final"] for r in sorted(_loaded(T32)["records"], key=lambda r: r["seed"])
                                      if r["target"] == target and r["config"] == config and r["lr"] == lr]
                mean, low, high = _t_interval([a - b for a, b in zip(finals[fixed], finals[plain], strict=True)])
                out[f"{family} {target} {lr:g}"] = f"{mean:+.3f} [{low:.3f}, {high:.3f}]"
    return out


def test_the_nnt_differences_at_t32_are_the_stored_full_run():
    page = (ROOT / "docs" / "nnt.md").read_text(encoding="utf-8")
    section = " ".join(page[page.index("**Rule**: in each (target, learning rate) cell"):
                            page.index("![training losses]")].split())
    shown = re.findall(r"[-+]\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]", section)
    assert len(shown) >= 8 and set(shown) <= set(nnt_t32_paired().values()), \
        sorted(set(shown) - set(nnt_t32_paired().values()))
    assert nnt_t32_paired()["key-query identity 0.01"] == "+0.173 [0.153, 0.193]"
