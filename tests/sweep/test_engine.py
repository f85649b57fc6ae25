"""The Dask engine: a worker killed mid-run, and the sweep process itself killed mid-run.

Both runs use two local worker processes.  A cell's numbers must equal the direct API call
with the cell's seed, whichever worker ran it and however often it was restarted.
"""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import sigprop.sweep as sw
from sigprop.rho.montecarlo import simulate
from sigprop.rho.spectrum import make_weights
from sigprop.rho.theory import theory_spectrum
from sigprop.sweep.store import Store

distributed = pytest.importorskip("distributed")

# cells of ~0.5 s each: long enough that a worker is still busy when the kill callback runs
MC = dict(study="validation", seed=11, args=dict(m=0.5, T=16, samples=100_000),
          axes=dict(d=[4, 8], v=[0.1, 1.0], seed={"start": 0, "stop": 2}))


def direct(d, v, seed):
    """The validation cell by hand: the single-process API with the cell's seed (one stream, as the study)."""
    w_seed, mc_seed = np.random.SeedSequence(seed).spawn(2)
    W = make_weights(0.5, v, d, seed=w_seed)
    return (theory_spectrum(0.5, v, d, 16, method="gaussian"), theory_spectrum(0.5, v, d, 16, method="exact"),
            simulate(W, 16, samples=100_000, seed=mc_seed, streams=1))


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        yield client


def test_a_dead_worker_loses_nothing(tmp_path, client):
    killed = {}

    def kill_one(counts):
        if killed or counts["done"] < 2:
            return
        busy = {w: keys for w, keys in client.processing().items() if keys}
        if not busy:
            return                         # both idle this instant: try after the next cell
        worker = min(busy)
        pid = client.run(os.getpid, workers=[worker])[worker]
        killed.update(worker=worker, cells=len(busy[worker]), done=counts["done"])
        os.kill(pid, signal.SIGKILL)

    res = sw.run(MC, tmp_path / "mc.zarr", client=client, progress=False, callback=kill_one)
    assert killed and killed["cells"] >= 1 and killed["done"] < 8, killed    # it died holding cells
    assert (res["done"], res["failed"], res["pending"]) == (8, 0, 0)
    # closed-form cells on the same (now repaired) cluster
    cf = dict(study="profile", args=dict(d=8, T=16), axes=dict(m=[0.0, 0.5], v=[0.1, 1.0]))
    assert sw.run(cf, tmp_path / "cf.zarr", client=client, progress=False)["done"] == 4
    # rerunning does nothing
    again = sw.run(MC, tmp_path / "mc.zarr", client=client, progress=False)
    assert again["ran"] == 0 and again["done"] == 8

    ds = sw.open(tmp_path / "mc.zarr").load()
    assert (ds.status == 1).all() and (ds.error == "").all()
    for d in (4, 8):
        for v in (0.1, 1.0):
            for rep in range(2):
                seed = int(ds.cell_seed.sel(d=d, v=v, seed=rep))
                assert seed == sw.cell_seed(11, dict(d=d, v=v, seed=rep))
                th, ex, sim = direct(d, v, seed)
                cell = ds.sel(d=d, v=v, seed=rep)
                np.testing.assert_array_equal(cell.rho.values, th.rho)
                np.testing.assert_array_equal(cell.rho_exact.values, ex.rho)
                np.testing.assert_array_equal(cell.rho_mc.values, sim.rho)
                np.testing.assert_array_equal(cell.mean_mc.values, sim.mean)
                np.testing.assert_array_equal(cell.ci_low.values, sim.ci_low)
    prof = sw.open(tmp_path / "cf.zarr").load()
    np.testing.assert_array_equal(prof.rho.sel(m=0.5, v=1.0).values,
                                  theory_spectrum(0.5, 1.0, 8, 16, method="gaussian").rho)


def test_a_killed_sweep_resumes_to_the_same_store(tmp_path, client):
    spec = tmp_path / "mc.toml"
    spec.write_text('study = "validation"\nseed = 5\n[args]\nm = 0.5\nT = 16\nsamples = 20000\n'
                    '[axes]\nd = [4, 8]\nv = [0.1, 1.0]\nseed = {start = 0, stop = 4}\n')
    store = tmp_path / "mc.zarr"
    argv = [sys.executable, "-m", "sigprop.cli", "sweep", str(spec), "--store", str(store), "--workers", "2",
            "--no-progress"]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.Popen(argv, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            # a cell's status chunk file appears when the cell is recorded (cheap to poll)
            if (store / "status").is_dir() and any(f[0].isdigit() for f in os.listdir(store / "status")):
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)                  # the sweep process itself
        proc.wait()
        for _ in range(100):                               # its local workers follow it
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("worker processes outlived the killed sweep by 10 s")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)            # its workers, should any outlive it
        except ProcessLookupError:
            pass
    counts = Store(store).counts()
    assert 1 <= counts["done"] < counts["total"] == 16 and counts["failed"] == 0

    resumed = sw.run(spec, store, client=client, progress=False)       # resumed on the Dask engine
    assert resumed["ran"] == 16 - counts["done"] and resumed["done"] == 16

    sw.run(spec, tmp_path / "ref.zarr", client=client, progress=False)    # uninterrupted
    got, ref = sw.open(store).load(), sw.open(tmp_path / "ref.zarr").load()
    assert got.attrs == ref.attrs and set(got.data_vars) == set(ref.data_vars)
    for name in ref.data_vars:
        np.testing.assert_array_equal(got[name].values, ref[name].values, err_msg=name)


def test_ctrl_c_of_a_local_sweep_is_one_line(tmp_path):
    # the terminal sends Ctrl-C to the whole process group: the Dask workers (spawned processes) must
    # not print the tracebacks of their interrupted imports or tasks (up to 79 lines before)
    from tests.helpers import start, stop

    spec = tmp_path / "mc.toml"
    spec.write_text('study = "validation"\nseed = 5\n[args]\nm = 0.5\nT = 16\nsamples = 2000000\n'
                    '[axes]\nd = [4, 8]\nv = [0.1, 1.0]\n')
    store = tmp_path / "mc.zarr"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = start([sys.executable, "-m", "sigprop.cli", "sweep", str(spec), "--store", str(store), "--workers", "2",
                  "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if (store / "status").is_dir() and any(f[0].isdigit() for f in os.listdir(store / "status")):
                break                                      # a cell is recorded: the workers are running
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130 and err == "sigprop sweep: interrupted\n" and not out, err
    finally:
        stop(proc)
