"""Posterior-predictive ensembles: N runs with parameters drawn from a posterior and fresh seeds.

Runs go through Dask: a ``LocalCluster`` of worker processes by default, the
threaded or synchronous scheduler on request (``scheduler="threads"|"sync"``), or
an existing cluster by its address (``scheduler="tcp://host:8786"``). The output
folder receives ``quantiles.parquet`` (month, output, q05, q25, q50, q75, q95),
``observables.parquet`` (per run, the expected value of each observed series,
observation model applied) and ``runs.parquet`` (per run and month, the outputs
that claims and validation use).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from corridor.calibration import load_posterior
from corridor.errors import CorridorInputError
from corridor.observed import default_factors, expected_observed, load_mapping, load_observed
from corridor.results import write_json_atomic, write_parquet_atomic
from corridor.scenario import Scenario, load_scenario

QUANTILES = {"q05": 0.05, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q95": 0.95}
# outputs kept per run (claims and the report use them)
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
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_parquet_atomic(self.quantiles, out / "quantiles.parquet")
        write_parquet_atomic(self.observables, out / "observables.parquet")
        write_parquet_atomic(self.runs, out / "runs.parquet")
        write_json_atomic(self.meta, out / "meta.json")
        return out


def draw_parameters(posterior: pd.DataFrame, n: int, seed: int) -> list[dict[str, float]]:
    """n parameter sets resampled from a weighted posterior."""
    rng = np.random.default_rng(seed)
    w = posterior["weight"].to_numpy(float)
    idx = rng.choice(len(posterior), size=n, replace=True, p=w / w.sum())
    cols = [c for c in posterior.columns if c not in ("weight", "generation")]
    return [{c: float(posterior[c].iloc[i]) for c in cols} for i in idx]


def _one_run(scenario: Scenario, params: dict[str, float], agents: int, seed: int, run: int) -> tuple:
    """Worker task: one run; returns (run, monthly outputs, expected observables)."""
    from corridor.engine import Simulation

    mapping = load_mapping()
    model_values = {k: v for k, v in params.items() if not k.startswith("observation.")}
    factors = {**default_factors(mapping), **{k: v for k, v in params.items() if k.startswith("observation.")}}
    series = Simulation(scenario.with_values(model_values), agents=agents, seed=seed).run().series
    keep = series[["month", *[c for c in RUN_OUTPUTS if c in series.columns]]].copy()
    keep.insert(0, "run", run)
    observed = load_observed()
    expected = expected_observed(series, mapping, observed, factors)
    rows = []
    for name, values in expected.items():
        for period, v in zip(observed[name].periods, values, strict=True):
            if np.isfinite(v):
                rows.append((run, name, period, float(v)))
    return run, keep, pd.DataFrame(rows, columns=["run", "series", "period", "value"])


def _client(scheduler: str | None, workers: int):
    """A dask client (or None for the local threaded/synchronous schedulers)."""
    if scheduler in ("threads", "sync", "synchronous"):
        return None
    from dask.distributed import Client, LocalCluster

    if scheduler in (None, "", "local", "processes"):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster)
    try:
        return Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise CorridorInputError(
            f"--scheduler {scheduler}: cannot connect ({exc}); give a running scheduler's address"
        ) from None


def map_runs(task, args: list[tuple], scheduler: str | None, workers: int, label: str = "runs", progress: bool = True,
             shared: tuple[int, ...] = ()) -> list:
    """``[task(*a) for a in args]`` over Dask, in the order of ``args``, with a progress bar.

    ``scheduler``: None or "local" (a LocalCluster of ``workers`` processes), "threads" or
    "sync" (no cluster), or a scheduler address. Positional arguments listed in ``shared``
    are the same object in every task (a scenario) and are sent to the workers once.
    ``progress`` may also be a callable ``(done, total)``, called instead of drawing a bar."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    results: list = [None] * len(args)
    columns = (TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    report = progress if callable(progress) else None
    with Progress(*columns, disable=not progress or report is not None, console=Console(stderr=True)) as bar:  # stdout stays for results
        bar_task = bar.add_task("runs", total=len(args))

        def advance(done: int) -> None:
            bar.update(bar_task, completed=done)
            if report is not None:
                report(done, len(args))

        client = _client(scheduler, workers)
        try:
            if client is None:
                import dask

                sched = "threads" if scheduler == "threads" else "sync"
                step = max(1, workers)
                for lo in range(0, len(args), step):  # in chunks, so that the bar moves
                    chunk = [dask.delayed(task)(*a) for a in args[lo : lo + step]]
                    results[lo : lo + step] = dask.compute(*chunk, scheduler=sched)
                    advance(min(lo + step, len(args)))
            else:
                from dask.distributed import as_completed

                scattered = {k: client.scatter(args[0][k], broadcast=True) for k in shared} if args else {}
                futures = {}
                for i, a in enumerate(args):
                    a = tuple(scattered.get(k, v) for k, v in enumerate(a))
                    futures[client.submit(task, *a, pure=False)] = i
                done = 0
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    done += 1
                    advance(done)
        finally:
            if client is not None:
                cluster = client.cluster if scheduler in (None, "", "local", "processes") else None
                client.close()
                if cluster is not None:
                    cluster.close()
    return results


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
) -> Ensemble:
    if runs < 1:
        raise CorridorInputError("--runs must be at least 1")
    if agents < 100:
        raise CorridorInputError("--agents must be at least 100")
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    post, post_meta = load_posterior(posterior, posterior_default)
    unknown = [c for c in post.columns if c not in ("weight", "generation") and not c.startswith("observation.")]
    for key in unknown:
        module, _, name = key.partition(".")
        if name not in scenario.parameters.get(module, {}):
            raise CorridorInputError(f"posterior parameter '{key}' is not a parameter of scenario {scenario.name}")
    draws = draw_parameters(post, runs, seed)
    seeds = np.random.SeedSequence(seed).generate_state(runs)
    start = time.perf_counter()
    tasks = [(scenario, draws[i], agents, int(seeds[i]), i) for i in range(runs)]
    results = map_runs(_one_run, tasks, scheduler, workers, label="ensemble", progress=progress, shared=(0,))
    results.sort(key=lambda r: r[0])
    runs_df = pd.concat([r[1] for r in results], ignore_index=True)
    observables = pd.concat([r[2] for r in results], ignore_index=True)
    quantiles = monthly_quantiles(runs_df)
    meta = {
        "scenario": scenario.name,
        "scenario_sha256": scenario.sha256(),
        "runs": runs,
        "agents": agents,
        "seed": seed,
        "posterior": str(posterior or posterior_default),
        "posterior_until": post_meta.get("until"),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "scheduler": scheduler or "local",
    }
    return Ensemble(quantiles, observables, runs_df, meta)


def monthly_quantiles(runs_df: pd.DataFrame) -> pd.DataFrame:
    long = runs_df.melt(id_vars=["run", "month"], var_name="output", value_name="value")
    g = long.groupby(["month", "output"])["value"]
    out = pd.concat({k: g.quantile(q) for k, q in QUANTILES.items()}, axis=1).reset_index()
    return out.sort_values(["output", "month"]).reset_index(drop=True)


def load_ensemble(folder: str | Path) -> Ensemble:
    folder = Path(folder)
    need = ["quantiles.parquet", "observables.parquet", "runs.parquet"]
    for n in need:
        if not (folder / n).is_file():
            raise CorridorInputError(f"ensemble '{folder}': {n} is missing; run `corridor ensemble ... --out {folder}`")
    meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").exists() else {}
    return Ensemble(*(pd.read_parquet(folder / n) for n in need), meta=meta)


def check_posterior_parameters(post: pd.DataFrame, scenario: Scenario) -> None:
    """Refuse a posterior whose model parameters are not all parameters of ``scenario``."""
    for key in post.columns:
        if key in ("weight", "generation") or key.startswith("observation."):
            continue
        module, _, name = key.partition(".")
        if name not in scenario.parameters.get(module, {}):
            raise CorridorInputError(f"posterior parameter '{key}' is not a parameter of scenario {scenario.name}")
