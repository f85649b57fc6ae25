"""Bounded memory and clean interrupts, in subprocesses (docs/contract.md).

* ``validate`` starts at the same peak memory for 10^5 and 10^12 samples: the batch
  schedule is generated, never listed, so memory does not grow with the count; the run
  is stopped after its first batches (SIGINT), which also checks the interrupt: one
  line, exit code 130, no file left behind.
* ``gap``/``width`` at ``T = 100000`` are refused up front with the estimated need.
"""
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import BEFORE_THE_WORK_BYTES, start, stop, traced_peak

PEAK = """
import resource, signal, sys
from sigprop import cli
def stop(*_):
    raise KeyboardInterrupt
signal.signal(signal.SIGALRM, stop)
signal.setitimer(signal.ITIMER_REAL, {delay})
try:
    code = cli.main(sys.argv[2:])
finally:
    signal.setitimer(signal.ITIMER_REAL, 0)
    with open(sys.argv[1], "w") as fh:
        fh.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
sys.exit(code)
"""


def _validate(samples, tmp_path, delay):
    """Run validate in a fresh process, stopped by SIGALRM after ``delay`` s; (process, out, peak kB)."""
    out, peak = tmp_path / f"v{samples}.json", tmp_path / f"peak{samples}"
    argv = ["validate", "--mean", "0.5", "--var", "0.1", "--dim", "16", "--length", "64", "--samples",
            str(samples), "--no-progress", "--out", str(out)]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", PEAK.format(delay=delay), str(peak), *argv],
                          capture_output=True, text=True, env=env, timeout=180)
    return proc, out, int(peak.read_text())


def test_validate_memory_does_not_grow_with_the_sample_count_and_ctrl_c_is_clean(tmp_path):
    small, out_small, peak_small = _validate(10 ** 5, tmp_path, delay=120)
    assert small.returncode == 0 and out_small.exists(), small.stderr        # a whole run of 10^5
    huge, out_huge, peak_huge = _validate(10 ** 12, tmp_path, delay=4)        # the first batches of 10^12
    assert huge.returncode == 130 and huge.stderr.strip() == "sigprop validate: interrupted", huge.stderr
    assert not out_huge.exists() and not list(tmp_path.glob(".v*"))         # no partial or temporary file
    # before the fix the schedule of 10^12 samples alone was a list of 7.5 GB; 20 MB allows for noise
    assert peak_huge < peak_small + 20_000, (peak_small, peak_huge)


@pytest.mark.parametrize("argv", [["gap", "--length", "100000"], ["width", "--lengths", "100000"]])
def test_huge_matrices_are_refused_up_front_with_the_need(argv, capsys):
    from sigprop import cli
    code, peak = traced_peak(cli.main, argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "GB of memory" in err and "more than this machine" in err
    assert peak < BEFORE_THE_WORK_BYTES                  # refused before the matrices


def test_interrupt_of_a_running_command_is_one_line_and_exit_130():
    proc = start([sys.executable, "-m", "sigprop.cli", "validate", "--mean", "0.5", "--var", "0.1",
                  "--dim", "16", "--length", "64", "--samples", "1000000000000", "--no-progress"],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        stop(proc)
    assert proc.returncode == 130 and err.strip() == "sigprop validate: interrupted" and not out
