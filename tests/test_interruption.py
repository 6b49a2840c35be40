"""Output folders are complete or absent: killed, interrupted or raced, corridor leaves no folder that
looks complete and is not, and a rerun continues from what was finished to the same result.

Runs, ensembles and calibrations are killed with SIGKILL at named steps (between two
file writes, before the folder is swapped into place) and at random moments, and
interrupted with Ctrl-C (SIGINT to the process group, as a terminal sends it).
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from corridor import folders
from corridor.engine import Simulation
from corridor.errors import CorridorInputError
from corridor.folders import KILL_ENV, PAUSE_ENV, partial_dir
from corridor.results import load_run
from corridor.scenario import load_scenario
from tests.cli_support import corridor_process, invoke, write_short_scenario

KILLED = -signal.SIGKILL
ENSEMBLE_FILES = ("quantiles.parquet", "observables.parquet", "runs.parquet")


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    return write_short_scenario(tmp_path_factory.mktemp("scenario"), 2013)


@pytest.fixture(scope="module")
def short_cal(tmp_path_factory):
    """To 2016: long enough that a calibration takes several iterations."""
    return write_short_scenario(tmp_path_factory.mktemp("scenario"), 2016)


def _run_args(short, out, seed, agents=300):
    return ["run", short, "--agents", str(agents), "--seed", str(seed), "--out", out]


def _seed_of(out: Path) -> int:
    """The seed of the complete run in ``out`` (its files checked against its manifest)."""
    series, manifest = load_run(out)
    assert len(series) == 24
    return manifest["seed"]


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def _wait(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


# ---------------------------------------------------------------- runs


@pytest.mark.parametrize("step", ["wrote:series.parquet", "commit"])
def test_a_run_killed_between_its_file_writes_leaves_the_previous_run_whole(short, tmp_path, step):
    out = tmp_path / "out"
    assert invoke(*_run_args(short, out, seed=5)).code == 0
    code, _, _ = _wait(corridor_process(*_run_args(short, out, seed=9), env={KILL_ENV: step}))
    assert code == KILLED
    assert _seed_of(out) == 5  # the old run, its series and manifest together
    assert _visible(tmp_path) == ["out"]
    assert invoke(*_run_args(short, out, seed=9)).code == 0  # the rerun cleans up what the killed one left
    assert _seed_of(out) == 9
    assert os.listdir(tmp_path) == ["out"]


def test_a_run_killed_between_two_renames_leaves_no_folder_rather_than_a_mixed_one(short, tmp_path):
    """Where the file system cannot swap two folders in one step, the target is briefly absent."""
    out = tmp_path / "out"
    assert invoke(*_run_args(short, out, seed=5)).code == 0
    script = ("import corridor.folders as f; f._exchange = lambda a, b: False; "
              "from corridor.cli import main; main()")  # fmt: skip
    code = subprocess.run([sys.executable, "-c", script, *map(str, _run_args(short, out, seed=9))],
                          env={**os.environ, KILL_ENV: "between-renames"}, capture_output=True).returncode  # fmt: skip
    assert code == KILLED
    assert not out.exists()
    outcome = invoke("table", out)
    assert outcome.refused_in_one_line() and "no such folder" in outcome.lines[0]
    assert invoke(*_run_args(short, out, seed=9)).code == 0
    assert _seed_of(out) == 9 and os.listdir(tmp_path) == ["out"]


def test_a_run_killed_at_random_moments_leaves_the_old_run_or_the_new_one(short, tmp_path):
    out = tmp_path / "out"
    assert invoke(*_run_args(short, out, seed=5)).code == 0
    rng = random.Random(12)
    seen = set()
    for attempt in range(2):
        proc = corridor_process(*_run_args(short, out, seed=9 + attempt, agents=3000))
        time.sleep(rng.uniform(0.5, 5.0))
        proc.kill()
        proc.wait()
        seen.add(_seed_of(out))  # complete, whichever it is
        assert _seed_of(out) in (5, 9, 10)
        assert _visible(tmp_path) == ["out"]
    assert seen


def test_no_file_of_an_earlier_run_survives_beside_a_new_one(tmp_path):
    out = tmp_path / "out"
    sc = load_scenario("albania-uk")
    Simulation(sc, agents=200, seed=1, record_events=True).run().write(out)
    assert (out / "life_events.parquet").is_file()
    Simulation(sc, agents=200, seed=2).run().write(out)
    assert _visible(out) == ["data_dictionary.csv", "data_dictionary.xlsx", "manifest.json", "series.parquet"]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_follow_the_users_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        Simulation(load_scenario("albania-uk"), agents=200, seed=1).run().write(tmp_path / "out")
    finally:
        os.umask(previous)
    expected_file, expected_dir = 0o666 & ~umask, 0o777 & ~umask
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == expected_dir
    for path in (tmp_path / "out").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == expected_file, path


def test_a_folder_holding_the_users_files_is_never_replaced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    with pytest.raises(CorridorInputError, match="holds files that corridor did not write"):
        Simulation(load_scenario("albania-uk"), agents=200, seed=1).run().write(out)
    assert _visible(out) == ["thesis.docx"]


def test_two_runs_into_one_folder_at_once_one_is_refused(short, tmp_path):
    out = tmp_path / "out"
    first = corridor_process(*_run_args(short, out, seed=5, agents=3000))
    lock = tmp_path / ".out.lock"
    deadline = time.monotonic() + 120
    while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGSTOP)  # holds the folder's lock while the second one tries
    try:
        second = invoke(*_run_args(short, out, seed=9))
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.refused_in_one_line() and "another corridor process" in second.lines[0], second.describe()
    assert _wait(first)[0] == 0
    assert _seed_of(out) == 5


def test_two_runs_racing_into_one_folder_leave_one_consistent_run(short, tmp_path):
    out = tmp_path / "out"
    procs = {seed: corridor_process(*_run_args(short, out, seed=seed)) for seed in (5, 9)}
    results = {seed: _wait(p) for seed, p in procs.items()}
    finished = [seed for seed, (code, _, _) in results.items() if code == 0]
    for code, _, err in results.values():
        assert code == 0 or (code == 2 and "another corridor process" in err), err
    assert finished and _seed_of(out) in finished


# ---------------------------------------------------------------- Ctrl-C


def _interrupt_when(proc, ready, timeout=240):
    deadline = time.monotonic() + timeout
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group
    return _wait(proc)


def test_ctrl_c_stops_a_run_with_one_line_and_exit_130(short, tmp_path):
    out = tmp_path / "out"
    # held once the folder is claimed, so the Ctrl-C lands while it works on any machine (unheld,
    # a clean clone's run once finished between the lock seen and the signal: exit -2 at shutdown)
    args = _run_args(short, out, seed=5, agents=20_000)
    proc = corridor_process(*args, env={PAUSE_ENV: "run:simulate"}, start_new_session=True)
    code, _, err = _interrupt_when(proc, lambda: (tmp_path / ".out.lock").exists())
    assert code == 130 and err.strip().count("\n") == 0 and err.startswith("interrupted"), err
    assert "nothing was written" in err and os.listdir(tmp_path) == []


def test_ctrl_c_stops_an_ensemble_on_a_local_cluster_with_one_line_and_exit_130(short, tmp_path):
    out = tmp_path / "ens"
    runs = partial_dir(out) / "runs"
    args = ["ensemble", short, "--runs", "40", "--agents", "300", "--workers", "2", "--out", out]
    proc = corridor_process(*args, start_new_session=True)
    code, _, err = _interrupt_when(proc, lambda: runs.is_dir() and any(runs.glob("*[0-9a-f].parquet")))
    assert code == 130 and err.strip().count("\n") == 0, err
    assert err.startswith("interrupted") and "rerun the same command to continue" in err
    assert not out.exists()


def test_ctrl_c_stops_a_calibration_with_one_line_and_exit_130(short_cal, tmp_path):
    out = tmp_path / "cal"
    db = partial_dir(out) / "state.pkl"  # the tempered SMC's last finished iteration
    # held at its first finished iteration, so the Ctrl-C lands while it works on any machine
    # (unheld, a clean clone's run once finished between the first state written and the signal)
    proc = corridor_process(*_calibrate_args(short_cal, out), env={PAUSE_ENV: "generation"}, start_new_session=True)
    code, _, err = _interrupt_when(proc, db.exists)
    assert code == 130 and err.strip().count("\n") == 0, err
    assert err.startswith("interrupted") and err.count("rerun the same command to continue") == 1, err
    assert not out.exists() and db.exists()


# ---------------------------------------------------------------- ensembles


def _reference(tmp_path_factory, args) -> Path:
    """The folder of an uninterrupted command, to compare with."""
    out = tmp_path_factory.mktemp("reference") / "out"
    outcome = invoke(*args(out))
    assert outcome.code == 0, outcome.describe()
    return out


@pytest.fixture(scope="module")
def ensemble_reference(short, tmp_path_factory):
    return _reference(tmp_path_factory, lambda out: _ensemble_args(short, out))


def _ensemble_args(short, out):
    return ["ensemble", short, "--runs", "6", "--agents", "200", "--seed", "3", "--scheduler", "sync", "--out", out]


def _same_ensemble(a: Path, b: Path) -> None:
    for name in ENSEMBLE_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.mark.parametrize("step", ["ensemble:run-saved#3", "ensemble:between-run-files#4"])
def test_a_killed_ensemble_continues_where_it_stopped_to_the_same_result(short, tmp_path, ensemble_reference, step):
    out = tmp_path / "ens"
    code, _, _ = _wait(corridor_process(*_ensemble_args(short, out), env={KILL_ENV: step}))
    assert code == KILLED
    assert not out.exists()  # nothing that looks like an ensemble
    finished = len(list((partial_dir(out) / "runs").glob("*[0-9a-f].parquet")))
    outcome = invoke(*_ensemble_args(short, out))
    assert outcome.code == 0, outcome.describe()
    meta = json.loads((out / "meta.json").read_text())
    assert meta["runs_resumed"] == finished and finished >= 3  # continued, not started over
    _same_ensemble(out, ensemble_reference)
    assert not partial_dir(out).exists()


def test_an_ensemble_killed_at_a_random_moment_ends_the_same(short, tmp_path, ensemble_reference):
    out = tmp_path / "ens"
    proc = corridor_process(*_ensemble_args(short, out))
    time.sleep(random.Random(4).uniform(3.0, 8.0))
    proc.kill()
    proc.wait()
    if out.exists():  # it had finished: then it is complete
        _same_ensemble(out, ensemble_reference)
    outcome = invoke(*_ensemble_args(short, out))
    assert outcome.code == 0, outcome.describe()
    _same_ensemble(out, ensemble_reference)


# ---------------------------------------------------------------- calibrations


def _calibrate_args(short, out):
    # the tempered SMC of this problem takes three iterations to reach the posterior
    return ["calibrate", short, "--until", "2016", "--agents", "200", "--population", "6", "--generations", "10",
            "--workers", "1", "--seed", "7", "--out", out]  # fmt: skip


@pytest.fixture(scope="module")
def calibration_reference(short_cal, tmp_path_factory):
    return _reference(tmp_path_factory, lambda out: _calibrate_args(short_cal, out))


def _same_posterior(a: Path, b: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_parquet(a / "posterior.parquet"), pd.read_parquet(b / "posterior.parquet"))
    assert (a / "posterior.parquet").read_bytes() == (b / "posterior.parquet").read_bytes()
    assert (a / "summary.csv").read_text() == (b / "summary.csv").read_text()


@pytest.mark.parametrize("step", ["generation#1"])
def test_a_killed_calibration_continues_from_its_finished_generations_to_the_same_posterior(
    short_cal, tmp_path, calibration_reference, step
):
    out = tmp_path / "cal"
    code, _, _ = _wait(corridor_process(*_calibrate_args(short_cal, out), env={KILL_ENV: step}))
    assert code == KILLED
    assert not out.exists()
    outcome = invoke(*_calibrate_args(short_cal, out))
    assert outcome.code == 0, outcome.describe()
    meta = json.loads((out / "meta.json").read_text())
    reference = json.loads((calibration_reference / "meta.json").read_text())
    assert meta["resumed"] and meta["generations"] == reference["generations"] >= 3
    _same_posterior(out, calibration_reference)
    assert not partial_dir(out).exists()


def test_a_calibration_killed_at_a_random_moment_ends_with_the_same_posterior(short_cal, tmp_path, calibration_reference):
    out = tmp_path / "cal"
    proc = corridor_process(*_calibrate_args(short_cal, out))
    db = partial_dir(out) / "state.pkl"  # the tempered SMC's last finished iteration
    deadline = time.monotonic() + 240
    while not db.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(random.Random(8).uniform(0.0, 3.0))
    proc.kill()
    proc.wait()
    outcome = invoke(*_calibrate_args(short_cal, out))
    assert outcome.code == 0, outcome.describe()
    _same_posterior(out, calibration_reference)


def test_folders_module_lock_is_released_after_a_failure(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), folders.claim(out):
        raise RuntimeError("the work failed")
    with folders.claim(out) as target:  # not refused: the lock went with the failed writer
        assert target == out.resolve()
    assert os.listdir(tmp_path) == []
