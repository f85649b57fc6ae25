"""The benchmark command runs and reports every key (speed itself is never asserted).

It runs in a subprocess: PyTorch, when installed, is imported by the benchmark and
may change process-wide floating-point state (e.g. flush-to-zero of subnormals),
which must not leak into the other tests.
"""
import json
import subprocess
import sys


def test_bench_quick_json():
    proc = subprocess.run([sys.executable, "-m", "sigprop.cli", "bench", "--quick", "--format", "json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    for key in ("mc_over_rng", "mc_over_torch", "train_step_over_torch", "closed_form_evals_per_s",
                "exact_ms_per_position", "peak_mb", "machine", "config"):
        assert key in res
    assert res["mc_over_rng"] > 0 and res["closed_form_evals_per_s"] > 0
    assert res["data_map_ms"] > 0 and res["data_mc_over_rng"] > 0 and "data_mc" in res["peak_mb"]
    if res["mc_over_torch"] is None:
        assert any("PyTorch is not installed" in n for n in res["notes"])
