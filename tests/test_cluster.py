"""Ensembles and calibrations on a real Dask cluster give the local result exactly.

A `dask scheduler` and two `dask worker`s run as separate processes on 127.0.0.1
(dashboards off, every socket on the loopback). An ensemble and a calibration sent to
`--scheduler tcp://127.0.0.1:PORT` give the files of a local run, byte for byte, also
when a worker is killed midway (Dask moves its task to the other worker). A cluster
that loses its last worker or its scheduler ends the command in one line, and the
finished runs are kept for the rerun. `--cluster slurm` goes through dask-jobqueue:
its job script is checked, and run by a stand-in `sbatch` without a SLURM installation.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from corridor import cluster as cluster_module
from corridor.engine import Simulation
from corridor.ensemble import RUN_OUTPUTS, _one_run
from corridor.folders import partial_dir
from tests.cli_support import corridor_process, invoke, write_short_scenario

DASK = str(Path(sys.executable).with_name("dask"))
LOOPBACK = "127.0.0.1"
ENSEMBLE_FILES = ("quantiles.parquet", "observables.parquet", "runs.parquet")


class DaskProcesses:
    """A scheduler and workers started as `dask` commands, each its own process (and session)."""

    def __init__(self, folder: Path, workers: int):
        self.folder = folder
        self.file = folder / "scheduler.json"
        self.scheduler = self._start("scheduler", "--host", LOOPBACK, "--port", "0", "--scheduler-file", self.file,
                                     "--no-dashboard", "--dashboard-address", f"{LOOPBACK}:0", log="scheduler")  # fmt: skip
        deadline = time.monotonic() + 120
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.address = json.loads(self.file.read_text())["address"]
        self.workers = [self.start_worker(i) for i in range(workers)]
        self.wait_for_workers(workers)

    def _start(self, *args, log: str) -> subprocess.Popen:
        with open(self.folder / f"{log}.log", "ab") as fh:
            return subprocess.Popen([DASK, *map(str, args)], stdout=fh, stderr=fh, start_new_session=True)

    def start_worker(self, i: int) -> subprocess.Popen:
        return self._start("worker", "--scheduler-file", self.file, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                           "--dashboard-address", f"{LOOPBACK}:0", "--host", LOOPBACK, "--name", f"w{i}",
                           log=f"worker-{i}")  # fmt: skip

    def wait_for_workers(self, n: int) -> None:
        from dask.distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(n, timeout=180)

    def kill_worker(self, i: int) -> None:
        self.workers[i].send_signal(signal.SIGKILL)
        self.workers[i].wait()

    def restart_worker(self, i: int) -> None:
        self.workers[i] = self.start_worker(i)

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    return write_short_scenario(tmp_path_factory.mktemp("scenario"), 2013)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    processes = DaskProcesses(tmp_path_factory.mktemp("dask"), workers=2)
    yield processes
    processes.stop()


def _ensemble_args(short, out, scheduler, runs=8, agents=300):
    return ["ensemble", short, "--runs", str(runs), "--agents", str(agents), "--seed", "11", "--scheduler", scheduler,
            "--out", out]  # fmt: skip


def _calibrate_args(short, out, scheduler, method="tempered-smc"):
    return ["calibrate", short, "--until", "2013", "--agents", "200", "--population", "6", "--generations", "2",
            "--seed", "5", "--scheduler", scheduler, "--out", out, "--method", method]  # fmt: skip


def _same_files(a: Path, b: Path, names) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _finished_runs(out: Path) -> int:
    runs = partial_dir(out) / "runs"
    return len(list(runs.glob("*[0-9a-f].parquet"))) if runs.is_dir() else 0


def _wait_until(condition, proc, timeout=300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the command finished before the event the test waits for"


# ---------------------------------------------------------------- same results on a cluster


def test_an_ensemble_on_the_cluster_equals_the_local_one(short, tmp_path, dask_cluster):
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert invoke(*_ensemble_args(short, local, "sync")).code == 0
    outcome = invoke(*_ensemble_args(short, remote, dask_cluster.address))
    assert outcome.code == 0, outcome.describe()
    _same_files(local, remote, ENSEMBLE_FILES)


def test_a_sweep_on_the_cluster_equals_the_local_one(short, tmp_path, dask_cluster):
    """compare --runs and sweep send their paired runs through the same executor as ensembles."""
    def sweep(out, scheduler):
        return ["sweep", short, "--param", "policy.policing_multiplier=0.5:1.5:2", "--runs", "3", "--agents", "300",
                "--seed", "4", "--scheduler", scheduler, "--worker-wait", "60", "--out", out]  # fmt: skip

    local, remote = tmp_path / "local", tmp_path / "remote"
    assert invoke(*sweep(local, "sync")).code == 0
    outcome = invoke(*sweep(remote, dask_cluster.address))
    assert outcome.code == 0, outcome.describe()
    _same_files(local, remote, ["sweep.parquet"])


def test_an_ensemble_survives_a_worker_killed_midway(short, tmp_path, dask_cluster):
    local, remote = tmp_path / "local", tmp_path / "remote"
    args = dict(runs=12, agents=1500)
    assert invoke(*_ensemble_args(short, local, "sync", **args)).code == 0
    proc = corridor_process(*_ensemble_args(short, remote, dask_cluster.address, **args))
    _wait_until(lambda: _finished_runs(remote) >= 3, proc)
    dask_cluster.kill_worker(1)  # its task goes to the other worker
    try:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert _finished_runs(remote) == 0 and json.loads((remote / "meta.json").read_text())["runs"] == 12
        _same_files(local, remote, ENSEMBLE_FILES)
    finally:
        dask_cluster.restart_worker(1)
        dask_cluster.wait_for_workers(2)


@pytest.mark.parametrize(("method", "saved"), [("tempered-smc", "state.pkl"), ("abc-smc", "calibration.db")])
def test_a_calibration_on_the_cluster_equals_the_local_one_also_with_a_worker_killed(
    short, tmp_path, dask_cluster, method, saved
):
    local, remote, killed = tmp_path / "local", tmp_path / "remote", tmp_path / "killed"
    assert invoke(*_calibrate_args(short, local, "sync", method)).code == 0
    outcome = invoke(*_calibrate_args(short, remote, dask_cluster.address, method))
    assert outcome.code == 0, outcome.describe()
    _same_files(local, remote, ("posterior.parquet", "summary.csv"))
    proc = corridor_process(*_calibrate_args(short, killed, dask_cluster.address, method))
    _wait_until(lambda: (partial_dir(killed) / saved).exists(), proc)
    time.sleep(2.0)  # into the first generations
    dask_cluster.kill_worker(0)
    try:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        _same_files(local, killed, ("posterior.parquet", "summary.csv"))
    finally:
        dask_cluster.restart_worker(0)
        dask_cluster.wait_for_workers(2)


# ---------------------------------------------------------------- a cluster that fails


def test_an_ensemble_whose_last_worker_dies_ends_in_one_line_and_resumes(short, tmp_path_factory):
    folder = tmp_path_factory.mktemp("one-worker")
    small = DaskProcesses(folder, workers=1)
    out = folder / "ens"
    try:
        args = [*_ensemble_args(short, out, small.address, runs=12, agents=2000), "--worker-wait", "3"]
        proc = corridor_process(*args)
        _wait_until(lambda: _finished_runs(out) >= 1, proc)
        small.kill_worker(0)
        out_text, err = proc.communicate(timeout=300)
        assert proc.returncode == 1, err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and "no Dask worker for 3 s" in lines[0] and "rerun the same command" in lines[0], err
        kept = _finished_runs(out)
        assert kept >= 1 and not out.exists()
        small.restart_worker(0)
        small.wait_for_workers(1)
        outcome = invoke(*args)
        assert outcome.code == 0, outcome.describe()
        assert json.loads((out / "meta.json").read_text())["runs_resumed"] >= kept
    finally:
        small.stop()


def test_an_ensemble_whose_scheduler_dies_ends_in_one_line(short, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lost-scheduler")
    small = DaskProcesses(folder, workers=1)
    out = folder / "ens"
    try:
        proc = corridor_process(*_ensemble_args(short, out, small.address, runs=30, agents=2000))
        _wait_until(lambda: _finished_runs(out) >= 1, proc)
        small.scheduler.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
        lines = [line for line in err.splitlines() if line.strip()]
        assert proc.returncode == 1 and len(lines) == 1, err
        assert "lost the runs or its scheduler" in lines[0] and "rerun the same command" in lines[0]
    finally:
        small.stop()


# ---------------------------------------------------------------- what runs where


def test_a_local_cluster_listens_on_127_0_0_1_only():
    with cluster_module.executor("local", workers=1) as ex:
        pids = [os.getpid(), *ex.client.run(os.getpid).values()]
        listening = [c.laddr.ip for pid in pids for c in psutil.Process(pid).net_connections("inet")
                     if c.status == psutil.CONN_LISTEN]  # fmt: skip
    assert listening and set(listening) == {LOOPBACK}


def test_workers_return_summaries_not_whole_series(short):
    from corridor.scenario import load_scenario

    scenario = load_scenario(short)
    run, kept, observables = _one_run(scenario, {}, 200, 1, 0)
    whole = Simulation(scenario, agents=200, seed=1).run().series
    assert list(kept.columns) == ["run", "month", *[c for c in RUN_OUTPUTS if c in whole.columns]]
    assert kept.shape[1] < whole.shape[1] / 3
    assert set(observables.columns) == {"run", "series", "period", "expected", "value"}


# ---------------------------------------------------------------- SLURM


def test_the_slurm_job_script_starts_one_single_threaded_worker_of_this_python():
    import dask

    script = cluster_module.slurm_job_script()
    assert script.startswith("#!/usr/bin/env bash")
    for line in ("#SBATCH -J corridor-worker", "#SBATCH -n 1", "#SBATCH --cpus-per-task=1", "#SBATCH --mem=4G", "#SBATCH -t "):
        assert line in script, line
    assert f"{sys.executable} -m distributed.cli.dask_worker tcp://" in script
    assert "--nthreads 1" in script and "--no-dashboard" in script
    with dask.config.set({"jobqueue.slurm.queue": "short", "jobqueue.slurm.account": "migration", "jobqueue.slurm.walltime": "00:30:00"}):
        configured = cluster_module.slurm_job_script()
    assert "#SBATCH -p short" in configured and "#SBATCH -A migration" in configured and "#SBATCH -t 00:30:00" in configured


STAND_IN_SBATCH = """#!/usr/bin/env bash
# a stand-in for SLURM's sbatch: runs the job script in the background on this machine
id=$((RANDOM + 1000))
cp "$1" "$FAKE_SLURM/job-$id.sh"  # dask-jobqueue removes its file once sbatch returns
setsid bash "$FAKE_SLURM/job-$id.sh" > "$FAKE_SLURM/job-$id.log" 2>&1 < /dev/null &
echo $! > "$FAKE_SLURM/job-$id.pid"
echo "Submitted batch job $id"
"""
STAND_IN_SCANCEL = """#!/usr/bin/env bash
for id in "$@"; do kill -KILL -- "-$(cat "$FAKE_SLURM/job-$id.pid")" 2>/dev/null; done
exit 0
"""


def test_an_ensemble_on_slurm_through_a_stand_in_sbatch_equals_the_local_one(short, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("sbatch", STAND_IN_SBATCH), ("scancel", STAND_IN_SCANCEL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_SLURM": str(tmp_path)}
    local, slurm = tmp_path / "local", tmp_path / "slurm"
    assert invoke(*_ensemble_args(short, local, "sync", runs=3)).code == 0
    args = ["ensemble", short, "--runs", "3", "--agents", "300", "--seed", "11", "--cluster", "slurm", "--workers", "1",
            "--worker-wait", "120", "--out", slurm]  # fmt: skip
    proc = corridor_process(*args, env=env)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    _same_files(local, slurm, ENSEMBLE_FILES)
    assert list(tmp_path.glob("job-*.log"))  # the job script ran


def test_slurm_without_sbatch_is_refused_in_one_line(short, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    outcome = invoke("ensemble", short, "--runs", "2", "--cluster", "slurm", "--out", tmp_path / "e")
    assert outcome.refused_in_one_line() and "sbatch is not on this machine" in outcome.lines[0], outcome.describe()
