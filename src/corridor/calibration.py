"""Calibration of a scenario to the observed series with ABC-SMC (pyabc).

The parameters listed in ``data/calibration.yaml`` are drawn from the scenario's
priors, the observation parameters of the fitted series from ``mapping.yaml``.
Each particle is one run of the model (a fresh seed) up to December of the last
fitted year; its expected observed values are compared with the observations by
a scaled log distance (see ``Distance``). The pyabc database in the output
folder keeps every finished generation, so an interrupted run resumes where it
stopped (``ABCSMC.load``).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corridor import __version__, folders
from corridor.errors import CorridorInputError
from corridor.observed import (
    Mapping,
    ObservedSeries,
    expected_observed,
    load_mapping,
    load_observed,
)
from corridor.priors import prior_interval, prior_median, scipy_args
from corridor.results import write_json_atomic, write_parquet_atomic
from corridor.scenario import Prior, Scenario, load_scenario, month_index, read_yaml, validate_resolved

DB_NAME = "calibration.db"
RUN_FILE = "run.json"  # what is calibrated (a fingerprint) and the pyabc run id in the database


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agents: int = Field(20_000, ge=100)
    population: int = Field(100, ge=5)
    generations: int = Field(6, ge=1)


class CalibrationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parameters: dict[str, str]
    series: list[str]
    offset_fraction: float = Field(0.25, gt=0)
    first_year: int = 2012
    defaults: Defaults = Defaults()


def load_config(path: str | Path | None = None) -> CalibrationConfig:
    path = Path(path) if path else Path(str(resources.files("corridor") / "data" / "calibration.yaml"))
    try:
        return CalibrationConfig.model_validate(read_yaml(path))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise CorridorInputError(f"{path.name}: {loc}: {err['msg']}") from None


def truncate(scenario: Scenario, until: int) -> Scenario:
    """The scenario ending in December of ``until`` (events after it dropped), for cheaper runs."""
    end = f"{until}-12"
    if month_index(scenario.start, end) >= scenario.n_months - 1:
        return scenario
    data = scenario.model_dump()
    data["end"] = end
    data["events"] = [
        e for e in data["events"] if month_index(scenario.start, e["month"]) <= month_index(scenario.start, end)
    ]
    return validate_resolved(data, origin=f"{scenario.name} until {until}")


def pyabc_name(key: str) -> str:
    return key.replace(".", "__")


def key_name(name: str) -> str:
    return name.replace("__", ".")


@dataclass
class Problem:
    """What is calibrated to what: the model parameters, the observation parameters and the targets."""

    scenario: Scenario
    until: int
    agents: int
    model_priors: dict[str, Prior]
    obs_priors: dict[str, Prior]
    mapping: Mapping
    observed: dict[str, ObservedSeries]  # restricted to the fit window
    offsets: dict[str, float]
    run_scenario: Scenario = field(init=False)

    def __post_init__(self):
        self.run_scenario = truncate(self.scenario, self.until)

    @property
    def priors(self) -> dict[str, Prior]:
        return {**self.model_priors, **self.obs_priors}

    def targets(self) -> dict[str, np.ndarray]:
        return {k: s.values for k, s in self.observed.items()}

    def simulate(self, params: dict[str, float], seed: int, scenario: Scenario | None = None) -> pd.DataFrame:
        from corridor.engine import Simulation

        model_values = {k: v for k, v in params.items() if k in self.model_priors}
        sc = (scenario or self.run_scenario).with_values(model_values)
        return Simulation(sc, agents=self.agents, seed=seed).run().series

    def expected(self, series: pd.DataFrame, params: dict[str, float]) -> dict[str, np.ndarray]:
        factors = {k: v for k, v in params.items() if k in self.obs_priors}
        return expected_observed(series, self.mapping, self.observed, factors)


def build_problem(
    scenario: Scenario | str,
    until: int,
    agents: int | None = None,
    config: CalibrationConfig | None = None,
    parameters: list[str] | None = None,
    series: list[str] | None = None,
    observed: dict[str, ObservedSeries] | None = None,
) -> Problem:
    config = config or load_config()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    y0, y1 = int(scenario.start[:4]), int(scenario.end[:4])
    if not y0 < until <= y1:
        raise CorridorInputError(f"--until {until}: outside the scenario horizon {y0}..{y1}; give a year in it")
    mapping = load_mapping()
    series = series or config.series
    keys = parameters or list(config.parameters)
    model_priors = {}
    for key in keys:
        module, _, name = key.partition(".")
        entry = scenario.parameters.get(module, {}).get(name)
        if entry is None:
            raise CorridorInputError(
                f"calibration parameter '{key}' is not in scenario {scenario.name}; check the name"
            )
        if entry.prior.dist == "fixed":
            raise CorridorInputError(
                f"calibration parameter '{key}' has a fixed prior in {scenario.name}; give it a prior"
            )
        model_priors[key] = entry.prior
    all_obs = observed or load_observed(series)
    first = max(config.first_year, y0)
    window: dict[str, ObservedSeries] = {}
    for name in series:
        obs = all_obs[name]
        keep = (obs.frame["year"] >= first) & (obs.frame["year"] <= until)
        if keep.any():
            window[name] = ObservedSeries(name, obs.kind, obs.frame[keep].reset_index(drop=True))
    if not window:
        raise CorridorInputError(f"--until {until}: no observations between {first} and {until}; give a later year")
    obs_priors = mapping.observation_priors(list(window))
    offsets = {k: config.offset_fraction * max(float(np.median(s.values)), 1.0) for k, s in window.items()}
    return Problem(
        scenario, until, agents or config.defaults.agents, model_priors, obs_priors, mapping, window, offsets
    )


class Distance:
    """Mean over series of the mean over observed years of |log(sim + c) - log(obs + c)|."""

    def __init__(self, offsets: dict[str, float]):
        self.offsets = offsets

    def __call__(self, x: dict, x_0: dict) -> float:
        per_series = []
        for name, c in self.offsets.items():
            sim = np.asarray(x[name], float)
            obs = np.asarray(x_0[name], float)
            ok = np.isfinite(obs) & np.isfinite(sim)
            if not ok.any():
                continue
            sim = np.maximum(sim[ok], 0.0)
            per_series.append(float(np.mean(np.abs(np.log(sim + c) - np.log(obs[ok] + c)))))
        return float(np.mean(per_series)) if per_series else float("inf")


class Model:
    """pyabc model: parameters -> expected observed values (picklable for worker processes)."""

    def __init__(self, problem: Problem):
        self.problem = problem

    def __call__(self, par) -> dict:
        params = {key_name(k): float(v) for k, v in dict(par).items()}
        seed = int(np.random.randint(0, 2**31 - 1))
        try:
            series = self.problem.simulate(params, seed)
        except CorridorInputError:  # a draw outside the schema's bounds: infinitely far
            return {k: np.full(len(s.frame), np.nan) for k, s in self.problem.observed.items()}
        return self.problem.expected(series, params)


def pyabc_prior(priors: dict[str, Prior]):
    import pyabc

    rvs = {}
    for key, p in priors.items():
        name, args, kwargs = scipy_args(p)
        rvs[pyabc_name(key)] = pyabc.RV(name, *args, **kwargs)
    return pyabc.Distribution(**rvs)


def _quiet_pyabc() -> None:
    for name in ("ABC", "pyabc", "Sampler", "Epsilon", "Distance", "Acceptor", "History", "ABC.History", "ABC.Sampler"):
        logging.getLogger(name).setLevel(logging.WARNING)


def calibrate(
    scenario: Scenario | str,
    until: int,
    out: str | Path,
    agents: int | None = None,
    population: int | None = None,
    generations: int | None = None,
    workers: int = 2,
    progress: bool = True,
    problem: Problem | None = None,
    seed: int = 0,
    scheduler: str | None = None,
    cluster: str | None = None,
) -> dict:
    """Run (or resume) ABC-SMC and write posterior.parquet, summary.csv and meta.json to ``out``.

    The pyabc database is kept in ``OUT.partial`` while generations are added, then the
    whole folder (database included, so that a later call can add generations) replaces
    ``out``. The posterior depends on ``seed`` only: not on ``scheduler``/``workers``,
    nor on an interruption (see ``corridor.abc_sampler``)."""
    from corridor.cluster import check_scheduler
    from corridor.cluster import executor as cluster_executor

    config = load_config()
    problem = problem or build_problem(scenario, until, agents, config)
    population = population or config.defaults.population
    generations = generations or config.defaults.generations
    if population < 5 or generations < 1:
        raise CorridorInputError("--population must be at least 5 and --generations at least 1")
    if scheduler is None and cluster is None and workers <= 1:
        scheduler = "sync"  # one worker: no cluster to start
    if check_scheduler(scheduler, cluster) == "threads":
        raise CorridorInputError(
            "--scheduler threads: a calibration needs processes (pyabc draws from one global generator); use local or sync"
        )
    fingerprint = {
        "scenario_sha256": problem.scenario.sha256(),
        "until": problem.until,
        "agents": problem.agents,
        "parameters": sorted(problem.priors),
        "series": sorted(problem.observed),
        "population": population,
        "seed": seed,
    }
    with folders.claim(out) as target:
        work = _working_folder(target, fingerprint)
        start = time.perf_counter()
        with cluster_executor(scheduler, workers, cluster) as ex:
            history, resumed, stopped = _run_generations(problem, work, population, generations, seed, ex, progress)
        result = write_outputs(history, problem, work, population, generations, time.perf_counter() - start, resumed)
        if stopped:
            result["meta"]["stopped"] = stopped
        folders.commit(work, target, "meta.json", result["meta"])
    return result


def _working_folder(target: Path, fingerprint: dict) -> Path:
    """``OUT.partial``, holding the pyabc database to continue from: the one an interrupted
    calibration left there, or a copy of the one in ``out`` (to add generations), or none."""
    work = folders.partial_dir(target)
    for folder in (work, target):
        run_file = folder / RUN_FILE
        if not ((folder / DB_NAME).is_file() and run_file.is_file()):
            continue
        try:
            previous = json.loads(run_file.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(previous, dict) or previous.get("fingerprint") != fingerprint:
            raise CorridorInputError(
                f"{folder}: holds a calibration of another problem (scenario, --until, --agents, --population, "
                f"--seed or parameters differ); use another --out or delete {folder}"
            )
        if folder == target:
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            shutil.copy2(target / DB_NAME, work / DB_NAME)
            shutil.copy2(run_file, work / RUN_FILE)
        return work
    shutil.rmtree(work, ignore_errors=True)  # unfinished and never started: begin afresh
    work.mkdir()
    write_json_atomic({"fingerprint": fingerprint, "abc_id": None}, work / RUN_FILE)
    return work


def _run_generations(problem: Problem, work: Path, population: int, generations: int, seed: int, ex, progress: bool):
    """Add generations to the database in ``work`` until there are ``generations``.

    Every generation starts from a fresh ``ABCSMC`` loaded from the database, so a
    generation run after an interruption is computed exactly as in one long run."""
    import pyabc
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from corridor.abc_sampler import OrderedSampler
    from corridor.abc_transition import RidgedMultivariateNormalTransition

    _quiet_pyabc()
    db_url = f"sqlite:///{(work / DB_NAME).resolve()}"
    run_file = work / RUN_FILE
    run = json.loads(run_file.read_text())
    resumed = run.get("abc_id") is not None
    sampler = OrderedSampler(seed, ex)

    def fresh():
        return pyabc.ABCSMC(
            Model(problem),
            pyabc_prior(problem.priors),
            Distance(problem.offsets),
            population_size=population,
            sampler=sampler,
            transitions=RidgedMultivariateNormalTransition(),
        )

    abc_id = run.get("abc_id")
    if abc_id is None:
        abc = fresh()
        abc.new(db_url, problem.targets())
        abc_id = abc.history.id
        write_json_atomic({**run, "abc_id": abc_id}, run_file)
    stopped = None
    columns = (TextColumn("[bold]calibrate[/] {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = None
        while True:
            abc = fresh()
            abc.load(db_url, abc_id)
            done = abc.history.max_t + 1
            if task is None:
                label = f"generations ({'resumed at ' + str(done) if resumed else 'new'})"
                task = bar.add_task(label, total=generations, completed=done)
            if done >= generations:
                break
            try:
                abc.run(max_nr_populations=1)
            except AssertionError as exc:  # pyabc: all importance weights underflowed (degenerate transition)
                stopped = f"generation {done} failed ({exc}); kept the {done} finished generations"
                bar.console.print(f"[yellow]warning:[/] {stopped}")
                break
            folders.checkpoint("generation")
            eps = abc.history.get_all_populations()["epsilon"].iloc[-1]
            bar.update(task, completed=abc.history.max_t + 1, description=f"generations (epsilon {eps:.3f})")
    return abc.history, resumed, stopped


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q) -> np.ndarray:
    order = np.argsort(values)
    v, w = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cum, v)


def posterior_frame(history) -> pd.DataFrame:
    df, w = history.get_distribution(m=0, t=history.max_t)
    df = df.rename(columns={c: key_name(c) for c in df.columns}).reset_index(drop=True)
    df["weight"] = np.asarray(w, float) / np.sum(w)
    df["generation"] = history.max_t
    return df


def summarize(posterior: pd.DataFrame, priors: dict[str, Prior], model_keys) -> pd.DataFrame:
    rows = []
    w = posterior["weight"].to_numpy()
    for key, p in priors.items():
        lo, hi = prior_interval(p)
        q = weighted_quantile(posterior[key].to_numpy(), w, [0.05, 0.5, 0.95])
        rows.append(
            {
                "parameter": key,
                "kind": "model" if key in model_keys else "observation",
                "prior": p.dist,
                "prior_median": prior_median(p),
                "prior_q05": lo,
                "prior_q95": hi,
                "posterior_median": q[1],
                "posterior_q05": q[0],
                "posterior_q95": q[2],
                "interval_ratio": (q[2] - q[0]) / (hi - lo) if hi > lo else np.nan,
            }
        )
    return pd.DataFrame(rows)


def write_outputs(
    history, problem: Problem, out: Path, population: int, generations: int, wall: float, resumed: bool
) -> dict:
    posterior = posterior_frame(history)
    write_parquet_atomic(posterior, out / "posterior.parquet")
    summary = summarize(posterior, problem.priors, problem.model_priors)
    summary.to_csv(out / "summary.csv", index=False, float_format="%.6g")
    pops = history.get_all_populations()
    meta = {
        "version": __version__,
        "scenario": problem.scenario.name,
        "scenario_sha256": problem.scenario.sha256(),
        "until": problem.until,
        "first_year": int(min(s.frame["year"].min() for s in problem.observed.values())),
        "series": sorted(problem.observed),
        "agents": problem.agents,
        "population": population,
        "generations": int(history.max_t + 1),
        "generations_requested": generations,
        "epsilons": [float(e) for e in pops["epsilon"] if np.isfinite(e)],
        "simulations": int(history.total_nr_simulations),
        "wall_seconds_this_session": round(wall, 1),
        "resumed": resumed,
        "method": "pyabc ABC-SMC, median epsilon, multivariate normal transitions with a 5% diagonal ridge",
        "distance": "mean over series of mean |log(sim+c)-log(obs+c)|, c = offset_fraction * median(obs)",
        "model_parameters": sorted(problem.model_priors),
        "observation_parameters": sorted(problem.obs_priors),
    }
    write_json_atomic(meta, out / "meta.json")
    return {"posterior": posterior, "summary": summary, "meta": meta}


def print_summary(summary: pd.DataFrame, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title="prior vs posterior (median [90% interval])")
    for col in ("parameter", "prior", "posterior", "width ratio"):
        table.add_column(col, justify="left" if col == "parameter" else "right")
    for _, r in summary.iterrows():
        table.add_row(
            r["parameter"],
            f"{r['prior_median']:.4g} [{r['prior_q05']:.4g}, {r['prior_q95']:.4g}]",
            f"{r['posterior_median']:.4g} [{r['posterior_q05']:.4g}, {r['posterior_q95']:.4g}]",
            f"{r['interval_ratio']:.2f}",
        )
    console.print(table)


# ---------------------------------------------------------------- posteriors


def posterior_dir(ref: str | Path | None, default: str) -> Path:
    """A posterior folder: a path, or the name of a shipped one (all-years, until-2020)."""
    shipped = Path(str(resources.files("corridor") / "data" / "posteriors"))
    ref = ref or default
    text = str(ref)
    if "\x00" in text or len(text) > 4096:
        raise CorridorInputError("--posterior: give a calibration output folder or a shipped posterior's name")
    candidates = [Path(text)]
    if "/" not in text and text not in (".", ".."):
        candidates.append(shipped / text)
    for cand in candidates:
        try:
            if (cand / "posterior.parquet").is_file():
                return cand
        except OSError:  # a name too long for the file system, for one
            continue
    names = sorted(p.name for p in shipped.iterdir() if (p / "posterior.parquet").is_file()) if shipped.exists() else []
    raise CorridorInputError(
        f"posterior '{ref}': no posterior.parquet there; give a calibration output folder or one of: {', '.join(names) or '(none shipped)'}"
    )


def load_posterior(ref: str | Path | None, default: str = "all-years") -> tuple[pd.DataFrame, dict]:
    """The weighted posterior of a calibration folder and its meta.json (``path`` added), checked:
    files against the manifest when it lists them, finite values, weights that sum above zero."""
    import pyarrow as pa

    folder = posterior_dir(ref, default)

    def rerun(meta: dict) -> str:
        scenario = meta.get("scenario") if isinstance(meta.get("scenario"), str) else "SCENARIO"
        until = meta.get("until") if isinstance(meta.get("until"), int) else "YEAR"
        return f"`corridor calibrate {scenario} --until {until} --out {folder}`"

    meta = {}
    if (folder / "meta.json").exists():
        meta = folders.read_manifest(folder, "meta.json", "calibration", rerun, "--posterior")
        folders.verify(folder, meta, ["posterior.parquet"], "calibration", rerun(meta), strict=False)
    path = folder / "posterior.parquet"
    try:
        df = pd.read_parquet(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = f"posterior.parquet cannot be read: {' '.join(str(exc).split())[:100]}"
        raise folders.incomplete(folder, "calibration", reason, rerun(meta)) from None
    _check_posterior(df, path)
    return df, {**meta, "path": str(path)}


def _check_posterior(df: pd.DataFrame, path: Path) -> None:
    if "weight" not in df.columns:
        raise CorridorInputError(f"{path}: no weight column; write it with corridor calibrate")
    parameters = [c for c in df.columns if c not in ("weight", "generation")]
    if df.empty or not parameters:
        raise CorridorInputError(f"{path}: no particles or no parameter columns; write it with corridor calibrate")
    for column in ("weight", *parameters):
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(float)
        if not np.isfinite(values).all():
            raise CorridorInputError(f"{path}: column '{column}' holds a value that is not a finite number; recalibrate")
    weights = df["weight"].to_numpy(float)
    if (weights < 0).any() or weights.sum() <= 0:
        raise CorridorInputError(f"{path}: the weights are negative or sum to zero; recalibrate")
