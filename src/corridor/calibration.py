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
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corridor import __version__
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


def _sampler(workers: int):
    import pyabc

    if workers <= 1:
        return pyabc.sampler.SingleCoreSampler()
    return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers)


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
) -> dict:
    """Run (or resume) ABC-SMC and write posterior.parquet, summary.csv and meta.json to ``out``."""
    import pyabc

    _quiet_pyabc()
    config = load_config()
    problem = problem or build_problem(scenario, until, agents, config)
    population = population or config.defaults.population
    generations = generations or config.defaults.generations
    if population < 5 or generations < 1:
        raise CorridorInputError("--population must be at least 5 and --generations at least 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / DB_NAME
    db_url = f"sqlite:///{db_path.resolve()}"
    np.random.seed(seed)
    from corridor.abc_transition import RidgedMultivariateNormalTransition

    abc = pyabc.ABCSMC(
        Model(problem),
        pyabc_prior(problem.priors),
        Distance(problem.offsets),
        population_size=population,
        sampler=_sampler(workers),
        transitions=RidgedMultivariateNormalTransition(),
    )
    meta_path = out / "run.json"
    fingerprint = {
        "scenario_sha256": problem.scenario.sha256(),
        "until": problem.until,
        "agents": problem.agents,
        "parameters": sorted(problem.priors),
        "series": sorted(problem.observed),
    }
    resumed = False
    if db_path.exists() and meta_path.exists():
        previous = json.loads(meta_path.read_text())
        if previous.get("fingerprint") != fingerprint:
            raise CorridorInputError(
                f"{out}: holds a calibration of another problem (scenario, --until, --agents or parameters differ); "
                f"use another --out or delete {db_path}"
            )
        abc.load(db_url, previous["abc_id"])
        resumed = True
    else:
        db_path.unlink(missing_ok=True)
        abc.new(db_url, problem.targets())
        write_json_atomic({"fingerprint": fingerprint, "abc_id": abc.history.id}, meta_path)
    done = abc.history.max_t + 1 if resumed else 0
    stopped = None
    start = time.perf_counter()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]calibrate[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not progress,
    ) as bar:
        task = bar.add_task(
            f"generations ({'resumed at ' + str(done) if resumed else 'new'})", total=generations, completed=done
        )
        while done < generations:
            # pyabc caches the population it calibrates epsilon from; clear it so that each
            # generation's epsilon comes from the previous generation (as in one long run)
            abc._initial_population = None
            try:
                abc.run(max_nr_populations=1)
            except AssertionError as exc:  # pyabc: all importance weights underflowed (degenerate transition)
                stopped = f"generation {done} failed ({exc}); kept the {done} finished generations"
                bar.console.print(f"[yellow]warning:[/] {stopped}")
                break
            done = abc.history.max_t + 1
            eps = abc.history.get_all_populations()["epsilon"].iloc[-1]
            bar.update(task, completed=done, description=f"generations (epsilon {eps:.3f})")
    wall = time.perf_counter() - start
    result = write_outputs(abc.history, problem, out, population, generations, wall, resumed)
    if stopped:
        result["meta"]["stopped"] = stopped
        write_json_atomic(result["meta"], out / "meta.json")
    return result


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
    for cand in (Path(ref), shipped / str(ref)):
        if (cand / "posterior.parquet").is_file():
            return cand
    names = sorted(p.name for p in shipped.iterdir() if (p / "posterior.parquet").is_file()) if shipped.exists() else []
    raise CorridorInputError(
        f"posterior '{ref}': no posterior.parquet there; give a calibration output folder or one of: {', '.join(names) or '(none shipped)'}"
    )


def load_posterior(ref: str | Path | None, default: str = "all-years") -> tuple[pd.DataFrame, dict]:
    folder = posterior_dir(ref, default)
    df = pd.read_parquet(folder / "posterior.parquet")
    meta_file = folder / "meta.json"
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    if "weight" not in df.columns:
        raise CorridorInputError(f"{folder / 'posterior.parquet'}: no weight column; write it with corridor calibrate")
    return df, meta
