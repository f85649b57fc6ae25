"""The benchmark command runs and reports every key (speed itself is never asserted).

It runs in a subprocess: PyTorch, when installed, is imported by the benchmark and
may change process-wide floating-point state (e.g. flush-to-zero of subnormals),
which must not leak into the other tests.
"""
import json
import statistics
import subprocess
import sys

import pytest


def test_bench_quick_json():
    # one quick run with --check: its structure only (speed is never asserted)
    cmd = [sys.executable, "-m", "sigprop.cli", "bench", "--quick", "--check", "--format", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    res = json.loads(proc.stdout)
    from sigprop_benchmarks import suite
    first_round = ("mc_over_rng", "mc_over_torch", "train_step_over_torch", "closed_form_evals_per_s",
                   "exact_ms_per_position", "mc_over_rng_float32", "mc_over_torch_float32",
                   "mc_samples_per_s", "train_step_ms")
    assert set(first_round) <= set(suite.KEYS)
    for key in (*suite.KEYS, "peak_mb", "machine", "config", "targets", "missed"):
        assert key in res, key
    assert len(res["machine"]["load"]["start"]) == 3 and isinstance(res["machine"]["loaded"], bool)
    if sys.platform.startswith("linux"):                      # measured from /proc/stat
        assert 0 <= res["machine"]["other_cpu_share"] <= 1
        assert res["machine"]["loaded"] == (res["machine"]["other_cpu_share"] > suite.OTHERS_LOADED)
    if res["machine"]["loaded"]:
        assert any("loaded" in n for n in res["notes"])
    if res["exact_over_davies"] is None:
        assert any("Davies" in n for n in res["notes"])
    else:
        assert res["davies_max_difference"] < 1e-6                  # both asked 1e-7 per value
    # --check: exit 1 exactly when a target is missed or missing
    assert sorted(res["missed"]) == sorted(r["measure"] for r in res["targets"]
                                           if r["target"] and r["met"] is not True
                                           and r["verdict"] != suite.NOT_JUDGED_QUICK)
    # a quick run does not judge what it cannot measure honestly
    assert all(r["verdict"] == suite.NOT_JUDGED_QUICK for r in res["targets"]
               if r["target"] and r["measure"] in suite.QUICK_UNJUDGED)
    assert proc.returncode == (1 if res["missed"] else 0), proc.stderr
    assert res["mc_over_rng"] > 0 and res["closed_form_evals_per_s"] > 0
    assert res["data_map_ms"] > 0 and res["data_mc_over_rng"] > 0 and "data_mc" in res["peak_mb"]
    if res["mc_over_torch"] is None:
        assert any("PyTorch is not installed" in n for n in res["notes"])


def test_bench_only_measures_the_groups_asked(tmp_path):
    stored = tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "sigprop.cli", "bench", "--quick", "--only", "exact_over_davies,saddlepoint_max_error",
           "--format", "json", "--out", str(stored)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    res = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    # --from re-renders the stored run without measuring: the same result, and its Markdown table
    again = subprocess.run([sys.executable, "-m", "sigprop.cli", "bench", "--from", str(stored), "--format", "json"],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and json.loads(again.stdout) == res
    md = subprocess.run([sys.executable, "-m", "sigprop.cli", "bench", "--from", str(stored), "--format", "markdown"],
                        capture_output=True, text=True, timeout=120).stdout
    assert md.startswith("| measure | value | 95% interval | target | verdict |")
    assert "| `exact_over_davies` | " in md and res["date"] in md and str(res["machine"]["load"]["start"]) in md
    assert res["only"] == ["exact"] and res["exact_speedup_vs_round1"] > 0
    assert "mc_over_rng" not in res and "train_step_ms" not in res and "startup_help_s" not in res
    from sigprop_benchmarks import suite
    assert [r["measure"] for r in res["targets"]] == [k for k in suite.KEYS
                                                      if suite.group_of(k) == "exact"]
    bad = subprocess.run([sys.executable, "-m", "sigprop.cli", "bench", "--only", "banana"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--only" in bad.stderr
    (tmp_path / "other.json").write_text('{"version": 1}')
    for source in (tmp_path / "missing.json", tmp_path / "other.json"):
        bad = subprocess.run([sys.executable, "-m", "sigprop.cli", "bench", "--from", str(source)],
                             capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--from" in bad.stderr


def test_the_readme_table_is_the_stored_full_run():
    # the README's performance table is the Markdown rendering of one full `sigprop bench` run,
    # stored with its configuration, machine and load (results/bench/full.json), not hand-typed
    from pathlib import Path

    from sigprop_results import folder

    from sigprop_benchmarks import suite
    res = json.loads((folder("bench") / "full.json").read_text())
    assert res["only"] is None and not res["config"]["quick"]             # a full run
    assert all(key in res for key in suite.KEYS)
    # its contested targets are judged on intervals, not on a bare median
    for key in ("mc_threads_speedup", "mc_threads_speedup_float32", "startup_predict_s", "mc_over_rng"):
        assert len(res["repeats"][key]) >= 7 and res[key] == statistics.median(res["repeats"][key]), key
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index(suite.README_START) + len(suite.README_START)
    end = readme.index(suite.README_END)
    assert readme[start:end].strip() == suite.markdown(res).strip()


def _result(**repeats):
    from sigprop_benchmarks import suite
    res = dict(only=["startup"], repeats=repeats, **{k: statistics.median(v) for k, v in repeats.items()})
    return {r["measure"]: r for r in suite.targets(res)}


@pytest.mark.parametrize("values, verdict", [
    ([0.40, 0.41, 0.42, 0.43, 0.44, 0.45, 0.49], "met"),          # every value under 0.5
    ([0.40, 0.41, 0.42, 0.43, 0.44, 0.45, 0.55], "inconclusive"),  # 7 values: [min, max] straddles 0.5
    ([0.49, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56], "inconclusive"),
    ([0.51, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56], "missed"),
    ([0.40, 0.60, 0.41, 0.42, 0.43, 0.44, 0.45, 0.46, 0.47, 0.48], "met"),   # 10 values: [x_(2), x_(9)]
])
def test_a_target_is_judged_on_the_interval_of_its_median(values, verdict):
    from sigprop_benchmarks import suite
    row = _result(startup_predict_s=values)["startup_predict_s"]
    assert row["verdict"] == verdict and row["met"] == {"met": True, "missed": False}.get(verdict)
    assert row["interval"][0] <= row["value"] <= row["interval"][1]
    assert suite.missed([row]) == ([] if verdict == "met" else ["startup_predict_s"])


def test_a_target_without_enough_repeats_is_judged_on_its_value():
    rows = _result(startup_predict_s=[0.4, 0.45, 0.6], startup_help_s=[0.31])
    assert rows["startup_predict_s"]["interval"] is None and rows["startup_predict_s"]["verdict"] == "met"
    assert rows["startup_help_s"]["verdict"] == "missed"
    assert rows["python_pass_s"]["verdict"] is None and rows["python_pass_s"]["value"] is None


def test_a_result_stored_before_repeats_were_kept_is_judged_on_its_speedup_times():
    from sigprop_benchmarks import suite
    one = [1.8 + 0.02 * k for k in range(15)]          # ratios 1.80..2.08 (all = 1), ceiling 2: 0.90..1.04
    times = dict(one=one, all=[1.0] * 15, reference_one=[2.0] * 15, reference_all=[1.0] * 15)
    res = dict(only=["mc"], config=dict(mc_threads_speedup_times=dict(_float64=times)),
               mc_threads_speedup=statistics.median(one), mc_threads_over_ceiling=statistics.median(one) / 2)
    rows = {r["measure"]: r for r in suite.targets(res)}
    assert rows["mc_threads_speedup"]["interval"] == [one[3], one[11]]         # [x_(4), x_(12)] of 15
    assert rows["mc_threads_speedup"]["verdict"] is None                       # reported, judged over the ceiling
    assert rows["mc_threads_over_ceiling"]["interval"] == [one[3] / 2, one[11] / 2]
    assert rows["mc_threads_over_ceiling"]["verdict"] == "met"
    assert rows["machine_parallel_ceiling"]["interval"] == [2.0, 2.0]
    times["one"] = [1.7 + 0.02 * k for k in range(15)]                          # 0.85..0.99: straddles 0.9
    assert {r["measure"]: r for r in suite.targets(res)}["mc_threads_over_ceiling"]["verdict"] == "inconclusive"
    # a repeat that is not finite: no interval, judged on the value
    res["repeats"] = dict(mc_threads_over_ceiling=[float("nan")] + [x / 2 for x in one[1:]])
    row = {r["measure"]: r for r in suite.targets(res)}["mc_threads_over_ceiling"]
    assert row["interval"] is None and row["verdict"] == "met"


def test_quick_runs_do_not_judge_what_they_cannot_measure():
    from sigprop_benchmarks import suite
    res = dict(only=["exact", "mc"], config=dict(quick=True), exact_over_davies=5.56, exact_over_davies_worst=1.39,
               exact_speedup_vs_round1=3.0, mc_over_rng=1.1, mc_threads_over_ceiling=16.5,
               machine_parallel_ceiling=0.047, mc_over_torch_1thread=0.5)
    rows = {r["measure"]: r for r in suite.targets(res)}
    for key in ("exact_over_davies", "exact_over_davies_worst", "exact_speedup_vs_round1", "mc_threads_over_ceiling"):
        assert rows[key]["verdict"] == suite.NOT_JUDGED_QUICK and rows[key]["met"] is None, key
    assert rows["mc_over_rng"]["verdict"] == "met" and rows["mc_over_torch_1thread"]["verdict"] == "met"
    assert suite.missed(list(rows.values())) == [k for k, r in rows.items()       # only what was not measured
                                                 if r["verdict"] == "not measured"]
    res["config"]["quick"] = False                              # the same numbers in a full run are judged
    rows = {r["measure"]: r for r in suite.targets(res)}
    assert rows["exact_over_davies"]["verdict"] == "missed" and "exact_over_davies" in suite.missed(list(rows.values()))


def test_torch_is_judged_at_one_thread_and_parallel_speedups_against_the_ceiling():
    from sigprop_benchmarks import suite
    judged = set(suite.TARGETS)
    assert {"mc_over_torch_1thread", "mc_over_torch_1thread_float32", "train_step_over_torch_1thread",
            "mc_threads_over_ceiling", "mc_threads_over_ceiling_float32"} <= judged
    assert not judged & {"mc_over_torch", "mc_over_torch_float32", "train_step_over_torch", "mc_threads_speedup",
                         "mc_threads_speedup_float32"}
    assert suite.TARGETS["mc_threads_over_ceiling"] == (">=", 0.9)
    res = dict(version="x", only=["mc"], config=dict(quick=False, repeats=7), mc_over_torch=0.25,
               mc_over_torch_1thread=0.5, all_thread_load={"mc_over_torch": [12.5, 9.0, 4.0]},
               machine=dict(platform="p", cores=2, python="3", numpy="2", load={}))
    assert "`mc_over_torch` 0.250 at load 12.5" in suite.markdown(res)


def test_timed_rounds_alternate_their_order():
    from sigprop_benchmarks import suite
    calls = []
    suite._times({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 4)
    assert calls == ["a", "b"] + ["a", "b", "b", "a", "a", "b", "b", "a"]      # warm-up, then alternated


def test_sweep_target_is_judged_on_the_interval():
    from sigprop_benchmarks import sweep
    assert sweep.judge([0.9, 0.91, 0.92, 0.93, 0.95, 0.97, 0.99], 0.85)["verdict"] == "met"
    assert sweep.judge([0.80, 0.91, 0.92, 0.93, 0.95, 0.97, 0.99], 0.85)["verdict"] == "inconclusive"
    assert sweep.judge([0.5, 0.6, 0.7, 0.7, 0.8, 0.8, 0.84], 0.85)["verdict"] == "missed"
