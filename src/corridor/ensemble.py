"""Posterior-predictive ensembles: N runs with parameters drawn from a posterior and fresh seeds.

Runs go through Dask (``map_runs``, the one loop over Dask; ``corridor.cluster``
says where): a ``LocalCluster`` of worker processes by default, the threaded or
synchronous scheduler on request (``scheduler="threads"|"sync"``), an existing
cluster by its address (``scheduler="tcp://host:8786"``) or SLURM jobs. Workers
return summaries (the kept outputs and the observables of a run), never whole
series. The output folder receives ``quantiles.parquet`` (month, output, q05, q25,
q50, q75, q95), ``observables.parquet`` (per run, series and period: ``expected``,
the expected observed value with the reporting factors applied, and ``value``, an
observed value drawn around it by the series' noise model, reproducibly from the
run's seed), ``runs.parquet`` (per run and month, the outputs that claims and
validation use) and ``meta.json``, written as a whole (``corridor.folders``). Until
then every finished run is kept in ``OUT.partial/runs``, so an interrupted ensemble
continues where it stopped and ends with the same files as an uninterrupted one.

What the bands carry: monthly quantiles and ``expected`` carry parameter and
stochastic (seed) uncertainty; ``value`` carries observation and structural error
as well (the noise dispersions drawn from their posterior given the fitted data).
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import time
from concurrent.futures import CancelledError
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from corridor import __version__, folders
from corridor.calibration import NOT_PARAMETERS, load_posterior
from corridor.cluster import Executor, check_scheduler
from corridor.cluster import executor as cluster_executor
from corridor.errors import ClusterError, CorridorInputError
from corridor.observed import (
    ObservationModel,
    expected_observed,
    fit_window,
    has_outputs,
    load_mapping,
    load_observed,
    prior_factors,
    run_series,
)
from corridor.results import write_parquet_atomic
from corridor.scenario import Scenario, load_scenario

RETRIES = 2  # a task that fails runs again (a lost worker's tasks move elsewhere anyway)
POLL_S = 1.0
WORKER_WAIT_S = {"slurm": 3600.0}  # how long a cluster may have no worker before giving up (SLURM jobs queue)
DEFAULT_WORKER_WAIT_S = 120.0
META = "meta.json"
FILES = ("quantiles.parquet", "observables.parquet", "runs.parquet")
QUANTILES = {"q05": 0.05, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q95": 0.95}
# outputs kept per run (claims and the report use them)
QUANTILE_COLUMNS = ("month", "output", *QUANTILES)
OBSERVABLE_COLUMNS = ("run", "series", "period", "value")
RUN_OUTPUTS = [
    "departures",
    "arrivals",
    "arrivals_lorry",
    "arrivals_small_boat",
    "interceptions",
    "interceptions_lorry",
    "deaths_in_transit",
    "deaths_small_boat",
    "asylum_claims",
    "asylum_claims_minors",
    "asylum_grants",
    "asylum_refusals",
    "trafficking_referrals",
    "removals",
    "removals_offenders",
    "voluntary_returns",
    "prison_population",
    "in_criminal_exploitation",
    "minors_in_care",
    "remittances_gbp",
    "price_lorry_gbp",
    "price_small_boat_gbp",
    "origin_young_men",
    "smuggler_revenue_gbp",  # the workbench's key-number cards
    "gang_revenue_gbp",
]


@dataclass
class Ensemble:
    quantiles: pd.DataFrame
    observables: pd.DataFrame
    runs: pd.DataFrame
    meta: dict

    def write(self, out: str | Path) -> Path:
        """Write the ensemble's folder: complete or absent (see ``corridor.folders``)."""
        with folders.staging(out) as stage:
            for name, frame in zip(FILES, (self.quantiles, self.observables, self.runs), strict=True):
                write_parquet_atomic(frame, stage.path / name)
            return stage.commit(META, self.meta)


def draw_parameters(posterior: pd.DataFrame, n: int, seed: int) -> list[dict[str, float]]:
    """n parameter sets resampled from a weighted posterior."""
    rng = np.random.default_rng(seed)
    w = posterior["weight"].to_numpy(float)
    idx = rng.choice(len(posterior), size=n, replace=True, p=w / w.sum())
    cols = [c for c in posterior.columns if c not in NOT_PARAMETERS]
    return [{c: float(posterior[c].iloc[i]) for c in cols} for i in idx]


UNCERTAINTY = {
    "expected": "parameters (posterior draws) and stochastic (a fresh seed per run)",
    "value": "parameters, stochastic, and observation/structural error (each series' noise model)",
}
FIRST_FITTED_YEAR = 2012  # the first year of the calibrations' fit window (data/calibration.yaml)


def _one_run(
    scenario: Scenario,
    params: dict[str, float],
    agents: int,
    seed: int,
    run: int,
    *,
    fit_until: int | None = None,
    extra_periods: dict[str, list[str]] | None = None,
) -> tuple:
    """Worker task: one run; returns (run, monthly outputs, observables).

    Observables are computed at every observed period of every series whose outputs the
    run records, plus ``extra_periods`` (forecasts). Reporting factors missing from the
    posterior are drawn from their priors, and the noise dispersions from their posterior
    given the data fitted up to ``fit_until`` (their prior if None), all from the seed."""
    from corridor.engine import Simulation

    mapping = load_mapping()  # a worker returns a summary of the run, not its whole series
    rng = np.random.default_rng([seed, 0xFAC7])
    factors = {**prior_factors(mapping, rng), **{k: v for k, v in params.items() if k.startswith("observation.")}}
    model_values = {k: v for k, v in params.items() if not k.startswith("observation.")}
    series = run_series(Simulation(scenario.with_values(model_values), agents=agents, seed=seed).run())
    keep = series[["month", *[c for c in RUN_OUTPUTS if c in series.columns]]].copy()
    keep.insert(0, "run", run)
    observed = {k: v for k, v in load_observed().items() if has_outputs(series, mapping.series[k])}
    periods = {k: list(dict.fromkeys([*v.periods, *(extra_periods or {}).get(k, [])])) for k, v in observed.items()}
    fitted = fit_window(observed, mapping, FIRST_FITTED_YEAR, fit_until) if fit_until else {}
    obs_model = ObservationModel(mapping, fitted)
    expected = expected_observed(series, mapping, periods, factors)
    fitted_expected = expected_observed(series, mapping, fitted, factors)
    rows = []
    for name, ps in periods.items():
        drawn = obs_model.draw(name, ps, expected[name], fitted_expected, seed)
        for period, mu, value in zip(ps, expected[name], drawn, strict=True):
            if np.isfinite(mu):
                rows.append((run, name, period, float(mu), float(value)))
    return run, keep, pd.DataFrame(rows, columns=["run", "series", "period", "expected", "value"])


def map_runs(task, args: list[tuple], scheduler: str | None = None, workers: int = 2, label: str = "runs",
             progress: bool = True, shared: tuple[int, ...] = (), *, executor: Executor | None = None,
             done: dict[int, object] | None = None, on_result=None, retries: int = RETRIES,
             worker_wait_s: float | None = None) -> list:
    """``[task(*a) for a in args]`` over Dask, in the order of ``args``, with a progress bar.

    ``scheduler``: "local" or None (a LocalCluster of ``workers`` processes), "threads" or
    "sync" (no cluster), or a scheduler address; or an open ``executor`` (see
    ``corridor.cluster``) shared by several calls. Positional arguments listed in ``shared``
    are the same object in every task (a scenario) and are sent to the cluster once.

    Resuming: tasks whose index is in ``done`` are not run again (their results are taken
    from it); ``on_result(i, result)`` is called here, as each task finishes, to keep it.
    A task lost with its worker runs again elsewhere; one that fails is retried ``retries``
    times. A cluster that loses its scheduler, or has no worker for ``worker_wait_s``
    seconds, ends in a one-line ``ClusterError``. ``progress`` may also be a callable
    ``(done, total)``, called instead of drawing a bar."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    results: list = [None] * len(args)
    for i, value in (done or {}).items():
        results[i] = value
    todo = [i for i in range(len(args)) if i not in (done or {})]
    columns = (TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    report = progress if callable(progress) else None
    # the bar goes to stderr: stdout stays for results (--markdown, --json -)
    console = Console(stderr=True)  # a bar only on a terminal: a log or a pipe gets the result lines alone
    with Progress(*columns, disable=not progress or report is not None or not console.is_terminal, console=console) as bar:
        bar_task = bar.add_task("runs", total=len(args), completed=len(args) - len(todo))
        if not todo:
            return results
        finished_count = [len(args) - len(todo)]

        def finished(i: int, value) -> None:
            results[i] = value
            if on_result is not None:
                on_result(i, value)
            bar.advance(bar_task)
            finished_count[0] += 1
            if report is not None:
                report(finished_count[0], len(args))

        with _executor(executor, scheduler, workers) as ex:
            if ex.client is None:
                _run_locally(task, args, todo, ex, finished)
            else:
                wait_s = worker_wait_s or WORKER_WAIT_S.get(ex.mode, DEFAULT_WORKER_WAIT_S)
                _run_on_cluster(task, args, todo, ex, shared, finished, retries, wait_s, len(args))
    return results


@contextmanager
def _executor(given: Executor | None, scheduler: str | None, workers: int):
    if given is not None:
        yield given
    else:
        with cluster_executor(scheduler, workers) as ex:
            yield ex


def _run_locally(task, args, todo, ex: Executor, finished) -> None:
    import dask

    step = max(1, ex.workers)
    for lo in range(0, len(todo), step):  # in chunks, so that the bar moves and results are kept
        chunk = todo[lo : lo + step]
        values = dask.compute(*[dask.delayed(task)(*args[i]) for i in chunk], scheduler=ex.mode)
        for i, value in zip(chunk, values, strict=True):
            finished(i, value)


def _run_on_cluster(task, args, todo, ex: Executor, shared, finished, retries, worker_wait_s, total) -> None:
    from dask.distributed import wait

    client = ex.client
    where = ex.address or ex.mode
    n_done = total - len(todo)
    try:
        client.wait_for_workers(1, timeout=worker_wait_s)
    except TimeoutError:
        raise _no_workers(where, worker_wait_s, n_done, total) from None
    try:
        # a shared argument is a task returning it, not scattered data: when every worker holding it is
        # lost, the scheduler computes it again from the task instead of giving up on all the runs
        scattered = {k: client.submit(_shared_value, args[todo[0]][k], pure=False) for k in shared}
        futures = {}
        for i in todo:
            a = tuple(scattered.get(k, v) for k, v in enumerate(args[i]))
            futures[client.submit(task, *a, pure=False, retries=retries)] = i
    except _LOST as exc:
        raise _lost(where, exc, n_done, total) from None
    pending = set(futures)
    no_worker_since = None
    try:
        while pending:
            try:
                ready, pending = wait(pending, timeout=POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:  # nothing finished in POLL_S: are there workers at all?
                no_worker_since = _watch_workers(client, where, no_worker_since, worker_wait_s, n_done, total)
                continue
            except _LOST as exc:
                raise _lost(where, exc, n_done, total) from None
            no_worker_since = None
            for future in ready:
                finished(futures[future], _result(future, futures[future], where, n_done, total))
                n_done += 1
    except BaseException:
        with suppress(Exception):
            client.cancel(list(pending))
        raise


def _shared_value(value):
    return value


def _result(future, i: int, where: str, n_done: int, total: int):
    """The task's value; the task's own error as it was raised; a lost task as a cluster failure."""
    from distributed import KilledWorker

    if future.status == "error":
        exc = future.exception()
        if isinstance(exc, KilledWorker):
            import dask

            tries = dask.config.get("distributed.scheduler.allowed-failures")
            raise ClusterError(
                f"{where}: run {i} ended the worker it ran on {tries + 1} times (out of memory? see the workers' "
                "logs); give the workers more memory or use fewer agents"
            )
        raise exc.with_traceback(future.traceback())
    try:
        return future.result()
    except _LOST as exc:
        raise _lost(where, exc, n_done, total) from None


def _watch_workers(client, where: str, since, wait_s: float, n_done: int, total: int):
    """Wait for workers while there are none, up to ``wait_s`` seconds."""
    if client.nthreads():
        return None
    now = time.monotonic()
    if since is None:
        return now
    if now - since > wait_s:
        raise _no_workers(where, wait_s, n_done, total)
    return since


def _no_workers(where: str, wait_s: float, n_done: int, total: int) -> ClusterError:
    return ClusterError(
        f"{where}: no Dask worker for {wait_s:.0f} s ({n_done} of {total} runs finished); "
        "start workers (dask worker ADDRESS) and rerun the same command to continue"
    )


_LOST = (CancelledError, OSError, TimeoutError)  # CommClosedError is an OSError


def _lost(where: str, exc: BaseException, n_done: int, total: int) -> ClusterError:
    reason = " ".join(str(exc).split())[:100] or type(exc).__name__
    return ClusterError(
        f"{where}: the Dask cluster lost the runs or its scheduler ({type(exc).__name__}: {reason}) after {n_done} "
        f"of {total} runs; restart the cluster and rerun the same command to continue"
    )


def run_ensemble(
    scenario: Scenario | str,
    runs: int,
    posterior: str | Path | None = None,
    posterior_default: str = "all-years",
    agents: int = 20_000,
    seed: int = 0,
    scheduler: str | None = None,
    workers: int = 2,
    progress: bool = True,
    cluster: str | None = None,
    resume_dir: Path | None = None,
    worker_wait_s: float | None = None,
    extra_periods: dict[str, list[str]] | None = None,
) -> Ensemble:
    """``runs`` runs of ``scenario`` with parameters drawn from ``posterior``.

    ``resume_dir``: a folder where every finished run is kept (and found again by a
    rerun with the same settings, which then only runs the missing ones).
    ``extra_periods``: periods (forecasts) added to the observables of each series."""
    if runs < 1:
        raise CorridorInputError("--runs must be at least 1")
    if agents < 100:
        raise CorridorInputError("--agents must be at least 100")
    check_scheduler(scheduler, cluster)
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    post, post_meta = load_posterior(posterior, posterior_default)
    draws = draw_parameters(post, runs, seed)
    _check_draws(scenario, post, draws, post_meta.get("path", str(posterior or posterior_default)))
    seeds = np.random.SeedSequence(seed).generate_state(runs)
    start = time.perf_counter()
    fit_until = post_meta.get("until")
    task = functools.partial(_one_run, fit_until=fit_until, extra_periods=extra_periods)
    tasks = [(scenario, draws[i], agents, int(seeds[i]), i) for i in range(runs)]
    cache = RunCache(resume_dir, scenario, variant=[fit_until, extra_periods]) if resume_dir is not None else None
    done = cache.load(tasks) if cache else {}
    with cluster_executor(scheduler, workers, cluster) as ex:
        results = map_runs(
            task, tasks, label="ensemble", progress=progress, shared=(0,), executor=ex, done=done,
            on_result=(lambda i, r: cache.save(tasks[i], r)) if cache else None, worker_wait_s=worker_wait_s,
        )  # fmt: skip
    if cache:  # every run from its file, so that a resumed ensemble is assembled like an uninterrupted one
        results = [cache.read(task) for task in tasks]
    runs_df = pd.concat([r[1] for r in results], ignore_index=True)
    observables = pd.concat([r[2] for r in results], ignore_index=True)
    quantiles = monthly_quantiles(runs_df)
    meta = {
        "version": __version__,
        "scenario": scenario.name,
        "scenario_sha256": scenario.sha256(),
        "runs": runs,
        "agents": agents,
        "seed": seed,
        "posterior": str(posterior or posterior_default),
        "posterior_until": post_meta.get("until"),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "scheduler": check_scheduler(scheduler, cluster),
        "runs_resumed": len(done),
        "observables_uncertainty": UNCERTAINTY,
        "series_not_in_runs": sorted(set(load_mapping().series) - set(observables["series"])),
    }
    return Ensemble(quantiles, observables, runs_df, meta)


def ensemble_to_folder(out: str | Path, scenario: Scenario | str, runs: int, **kwargs) -> Ensemble:
    """Run an ensemble into the folder ``out``; resumable: finished runs wait in ``OUT.partial``
    until the whole ensemble replaces ``out``."""
    with folders.claim(out) as target:
        partial = folders.partial_dir(target)
        ens = run_ensemble(scenario, runs, resume_dir=partial, **kwargs)
        ens.write(target)
        shutil.rmtree(partial, ignore_errors=True)
    return ens


def check_posterior_for(scenario: Scenario, post: pd.DataFrame, where: str) -> None:
    """Refuse a posterior whose particles the scenario cannot take, even where no run draws
    from it (a command given an existing ensemble): bad input is refused, not ignored."""
    keys = [k for k in post.columns if k not in NOT_PARAMETERS]
    _check_draws(scenario, post, post[keys].drop_duplicates().to_dict("records"), where)


def _check_draws(scenario: Scenario, post: pd.DataFrame, draws: list[dict], where: str) -> None:
    """Refuse, naming the posterior file, parameters the scenario lacks and values out of its bounds."""
    for key in post.columns:
        if key in NOT_PARAMETERS or key.startswith("observation."):
            continue
        module, _, name = key.partition(".")
        if name not in scenario.parameters.get(module, {}):
            raise CorridorInputError(
                f"posterior {where}: '{key}' is not a parameter of scenario {scenario.name}; "
                "use a posterior calibrated for this scenario"
            )
    checked = set()
    for draw in draws:
        values = {k: v for k, v in draw.items() if not k.startswith("observation.")}
        key = tuple(sorted(values.items()))
        if key in checked:
            continue
        checked.add(key)
        try:
            scenario.with_values(values)
        except CorridorInputError as exc:
            reason = str(exc).removeprefix("override: ")
            raise CorridorInputError(f"posterior {where}: {reason} (scenario {scenario.name})") from None


class RunCache:
    """Finished runs of an ensemble, one pair of files per run, named by what the run depends on."""

    def __init__(self, folder: Path, scenario: Scenario, variant=None):
        self.folder = Path(folder) / "runs"
        self.scenario_sha256 = scenario.sha256()
        self.variant = variant  # what else the observables depend on (the fit window, forecast periods)

    def _paths(self, task: tuple) -> tuple[Path, Path]:
        _, params, agents, seed, run = task
        ident = json.dumps([__version__, self.scenario_sha256, sorted(params.items()), agents, seed, run, self.variant])
        key = hashlib.sha256(ident.encode()).hexdigest()[:16]
        stem = f"run-{run:06d}-{key}"
        return self.folder / f"{stem}.observables.parquet", self.folder / f"{stem}.parquet"

    def save(self, task: tuple, result: tuple) -> None:
        observables_path, series_path = self._paths(task)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_parquet_atomic(result[2], observables_path)
        folders.checkpoint("ensemble:between-run-files")
        write_parquet_atomic(result[1], series_path)  # last: a run is finished when its series is there
        folders.checkpoint("ensemble:run-saved")

    def read(self, task: tuple) -> tuple:
        observables_path, series_path = self._paths(task)
        return task[4], pd.read_parquet(series_path), pd.read_parquet(observables_path)

    def load(self, tasks: list[tuple]) -> dict[int, tuple]:
        """The finished runs among ``tasks`` (an unreadable file counts as not finished)."""
        done = {}
        for i, task in enumerate(tasks):
            if self._paths(task)[1].is_file():
                with suppress(pa.ArrowException, OSError, ValueError):
                    done[i] = self.read(task)
        return done


def monthly_quantiles(runs_df: pd.DataFrame) -> pd.DataFrame:
    long = runs_df.melt(id_vars=["run", "month"], var_name="output", value_name="value")
    g = long.groupby(["month", "output"])["value"]
    out = pd.concat({k: g.quantile(q) for k, q in QUANTILES.items()}, axis=1).reset_index()
    return out.sort_values(["output", "month"]).reset_index(drop=True)


def load_ensemble(folder: str | Path, flag: str = "--ensemble") -> Ensemble:
    """A complete ensemble folder, its files checked against meta.json; else a one-line refusal."""
    folder = Path(folder)
    def rerun(meta: dict) -> str:
        scenario = meta.get("scenario") if isinstance(meta.get("scenario"), str) else "SCENARIO"
        runs = meta.get("runs") if isinstance(meta.get("runs"), int) else "N"
        return f"`corridor ensemble {scenario} --runs {runs} --out {folder}`"

    meta = folders.read_manifest(folder, META, "ensemble", rerun, flag)
    folders.verify(folder, meta, list(FILES), "ensemble", rerun(meta))
    frames = []
    for name, columns in zip(FILES, (QUANTILE_COLUMNS, OBSERVABLE_COLUMNS, ("run", "month")), strict=True):
        try:
            frame = pd.read_parquet(folder / name)
        except (pa.ArrowException, OSError, ValueError) as exc:
            reason = f"{name} cannot be read: {' '.join(str(exc).split())[:100]}"
            raise folders.incomplete(folder, "ensemble", reason, rerun(meta)) from None
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise folders.incomplete(folder, "ensemble", f"{name} has no column '{missing[0]}'", rerun(meta))
        frames.append(frame)
    return Ensemble(*frames, meta=meta)


def check_posterior_parameters(post: pd.DataFrame, scenario: Scenario) -> None:
    """Refuse a posterior whose model parameters are not all parameters of ``scenario``."""
    for key in post.columns:
        if key in NOT_PARAMETERS or key.startswith("observation."):
            continue
        module, _, name = key.partition(".")
        if name not in scenario.parameters.get(module, {}):
            raise CorridorInputError(f"posterior parameter '{key}' is not a parameter of scenario {scenario.name}")
