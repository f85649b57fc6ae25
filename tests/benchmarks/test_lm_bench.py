"""The language-model benchmark runs and reports every key (speed itself is never asserted).

A subprocess, since PyTorch (when installed) may change process-wide floating-point state.
"""
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "lm.py"


def test_lm_bench_quick_json():
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--format", "json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    for key in ("config", "machine", "1 thread", "all threads", "load_average", "notes"):
        assert key in res
    assert res["1 thread"]["numpy_tokens_per_s"] > 0
    assert res["1 thread"]["step_over_floor"]["ratio"] > 1       # the step includes the floor's products
    if "torch" in res["machine"]:
        assert res["max_grad_rel_diff"] < 1e-4           # the same model on both sides (float32)
        assert res["1 thread"]["ratio"] > 0
        for key in ("step_over_torch", "torch_blas_over_numpy_blas", "step_over_torch_cpu"):
            assert res["1 thread"][key]["ratio"] > 0 and res["1 thread"][key]["interval"] is None   # 1 round
    else:
        assert any("PyTorch is not installed" in n for n in res["notes"])
