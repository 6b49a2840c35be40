"""Calibration of a scenario to the observed series.

The parameters listed in ``data/calibration.yaml`` are drawn from the scenario's
priors, the reporting factors of the fitted series from ``mapping.yaml``. Each
particle is one run of the model (a fresh seed) up to December of the last fitted
year, reduced to the expected observed value of every fitted observation, and
scored by the observation model's likelihood p(data | run): the product over fitted
series of the noise model of ``corridor.observed``, with each series' dispersion
integrated out over its prior. No tolerance is left over, and the dispersions are
fitted rather than assumed (Wilkinson 2013; docs/calibration.md gives the reasons
and the checks, tests/test_sbc.py the calibration test).

Two samplers target that posterior (``method``):

- "tempered-smc" (default): ``corridor.tempered_smc``, tempered SMC with
  pseudo-marginal random-walk moves; each finished iteration is kept in
  ``state.pkl``, so an interrupted run resumes where it stopped.
- "abc-smc": pyabc's ABC-SMC with the likelihood as a stochastic acceptance kernel
  (``StochasticKernel`` and ``StochasticAcceptor``) at a temperature T planned to
  fall to 1 at the last generation, held above 1 where acceptance or the effective
  sample would collapse (a tempered, wider posterior; meta.json says so); its pyabc
  database keeps every finished generation (``ABCSMC.load`` resumes). Its importance
  weights degenerate in some forty dimensions (docs/calibration.md).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corridor import __version__, folders
from corridor.errors import CorridorInputError
from corridor.observed import (
    Mapping,
    ObservationModel,
    ObservedSeries,
    expected_observed,
    fit_window,
    load_mapping,
    load_observed,
    run_series,
)
from corridor.priors import prior_interval, prior_median, scipy_args
from corridor.results import write_json_atomic, write_parquet_atomic
from corridor.scenario import Prior, Scenario, load_scenario, month_index, read_yaml, validate_resolved

DB_NAME = "calibration.db"
STATE_NAME = "state.pkl"  # tempered SMC: the last finished iteration
TEMPERED_METHOD = (
    "waste-free tempered SMC (corridor.tempered_smc): the likelihood of the observation model given one run "
    "(negative binomial, log-normal or beta noise per series, dispersions integrated out over their priors), "
    "tempered from the prior to 1 keeping an effective sample of ess_target at each step; pseudo-marginal "
    "random-walk Metropolis moves in the unbounded space of the priors"
)
METHOD = (
    "pyabc ABC-SMC with a stochastic acceptor: the acceptance kernel is the likelihood of the observation model "
    "(negative binomial, log-normal or beta noise per series, dispersions integrated out over their priors); "
    "temperature planned to fall to 1 (exact) at the last generation, held where fewer than min_acceptance_rate "
    "of the proposals would be accepted or the effective sample would fall under min_relative_ess; "
    "multivariate normal transitions with a 5% diagonal ridge"
)
NOT_PARAMETERS = ("weight", "generation", "log_posterior")  # the other columns of posterior.parquet
RUN_FILE = "run.json"  # what is calibrated (a fingerprint) and the pyabc run id in the database


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agents: int = Field(20_000, ge=100)
    population: int = Field(200, ge=5)
    generations: int = Field(8, ge=1)
    # runs averaged in each particle's likelihood: the single-run estimate varies by several
    # log-units between seeds; more runs make it steadier (and cost as much more)
    runs_per_particle: int = Field(1, ge=1, le=16)
    # the temperature is held where fewer proposals than this would be accepted, or where reweighting
    # would leave an effective sample under this share of the population
    min_acceptance_rate: float = Field(0.05, gt=0, le=1)
    min_relative_ess: float = Field(0.3, gt=0, lt=1)
    # the sampler: "tempered-smc" (corridor.tempered_smc) or "abc-smc" (pyabc); both target the same posterior
    method: Literal["tempered-smc", "abc-smc"] = "tempered-smc"
    # tempered SMC: chains x chain_length particles; each iteration keeps this share as effective sample
    chains: int = Field(100, ge=2)
    chain_length: int = Field(6, ge=2)
    ess_target: float = Field(0.5, gt=0, lt=1)
    # tempered SMC stops raising beta once fewer fresh runs than this are accepted (the seeds no
    # longer mix; the posterior is then the tempered one, and meta.json says so)
    min_seed_acceptance: float = Field(0.1, ge=0, lt=1)


class CalibrationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parameters: dict[str, str]
    series: list[str] | None = None  # default: every series with fit: true in mapping.yaml
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
    """What is calibrated to what: the model parameters, the reporting factors and the fitted data."""

    scenario: Scenario
    until: int
    agents: int
    model_priors: dict[str, Prior]
    obs_priors: dict[str, Prior]  # reporting factors (dispersions are integrated out, not sampled)
    mapping: Mapping
    observed: dict[str, ObservedSeries]  # fitted series and periods in the fit window
    runs_per_particle: int = 1
    run_scenario: Scenario = field(init=False)

    def __post_init__(self):
        self.run_scenario = truncate(self.scenario, self.until)

    @property
    def priors(self) -> dict[str, Prior]:
        return {**self.model_priors, **self.obs_priors}

    @property
    def observation_model(self) -> ObservationModel:
        # rebuilt when tests replace ``observed`` with synthetic data
        if getattr(self, "_obs_model", None) is None or self._obs_model.fitted is not self.observed:
            self._obs_model = ObservationModel(self.mapping, self.observed)
        return self._obs_model

    def targets(self) -> dict[str, np.ndarray]:
        return {k: s.values for k, s in self.observed.items()}

    def simulate(self, params: dict[str, float], seed: int, scenario: Scenario | None = None) -> pd.DataFrame:
        from corridor.engine import Simulation

        model_values = {k: v for k, v in params.items() if k in self.model_priors}
        sc = (scenario or self.run_scenario).with_values(model_values)
        return run_series(Simulation(sc, agents=self.agents, seed=seed).run())

    def expected(self, series: pd.DataFrame, params: dict[str, float]) -> dict[str, np.ndarray]:
        return expected_observed(series, self.mapping, self.observed, params)

    def log_likelihood(self, expected: dict[str, np.ndarray]) -> float:
        return log_likelihood(self.observation_model, expected)


def log_likelihood(model: ObservationModel, expected: dict[str, np.ndarray]) -> float:
    """log p(data | a particle's runs): one run (a row per series), or the mean likelihood of several
    (a matrix per series, one row per run), an unbiased estimate of the likelihood of the parameters.
    -inf where a run leaves a fitted count undefined (a draw outside the bounds)."""
    for name, mu in expected.items():
        if model.mapping.series[name].noise.family != "beta" and np.isnan(np.asarray(mu, float)).any():
            return -np.inf
    if np.ndim(next(iter(expected.values()))) == 1:
        return model.log_likelihood(expected)
    per_run = model.batch_log_likelihood(expected)
    top = per_run.max()
    return float(top + np.log(np.mean(np.exp(per_run - top))))


def first_run(expected: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The expectations of a particle's first run (all of them when it holds one)."""
    return {k: (v[0] if np.ndim(v) == 2 else v) for k, v in expected.items()}


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
    series = series or config.series or mapping.fitted()
    for name in series:
        if name in mapping.series and not mapping.series[name].fit:
            raise CorridorInputError(
                f"series '{name}' has fit: false in mapping.yaml ({mapping.series[name].reason}); "
                f"set fit: true there to calibrate to it"
            )
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
    window = fit_window({k: all_obs[k] for k in series}, mapping, max(config.first_year, y0), until)
    if not window:
        raise CorridorInputError(
            f"--until {until}: no observations between {max(config.first_year, y0)} and {until}; give a later year"
        )
    obs_priors = mapping.factor_priors(list(window))
    return Problem(
        scenario, until, agents or config.defaults.agents, model_priors, obs_priors, mapping, window,
        config.defaults.runs_per_particle,
    )  # fmt: skip


class Model:
    """pyabc model: parameters -> expected observed values (picklable for worker processes)."""

    def __init__(self, problem: Problem):
        self.problem = problem

    def __call__(self, par) -> dict:
        params = {key_name(k): float(v) for k, v in dict(par).items()}
        runs = []
        for _ in range(self.problem.runs_per_particle):
            seed = int(np.random.randint(0, 2**31 - 1))
            try:
                series = self.problem.simulate(params, seed)
            except CorridorInputError:  # a draw outside the schema's bounds: likelihood zero
                return {k: np.full(len(s.frame), np.nan) for k, s in self.problem.observed.items()}
            runs.append(self.problem.expected(series, params))
        if len(runs) == 1:
            return runs[0]
        return {k: np.stack([r[k] for r in runs]) for k in runs[0]}


def abc_smc(
    model,
    priors: dict[str, Prior],
    observation_model: ObservationModel,
    population: int,
    generations: int,
    sampler,
    min_acceptance_rate: float = 0.05,
    min_relative_ess: float = 0.3,
):
    """A pyabc ABCSMC: ``model`` maps a particle to expected observed values; the acceptance kernel is
    the observation model's likelihood; the temperature reaches 1 at generation ``generations - 1``."""
    import pyabc

    from corridor.abc_kernel import ObservationKernel, PlannedTemperature
    from corridor.abc_transition import OneModel, RidgedMultivariateNormalTransition

    return pyabc.ABCSMC(
        model,
        pyabc_prior(priors),
        model_prior=OneModel(),
        distance_function=ObservationKernel(observation_model),
        population_size=population,
        sampler=sampler,
        transitions=RidgedMultivariateNormalTransition(),
        eps=PlannedTemperature(generations, min_acceptance_rate, min_relative_ess),
        # c = the largest likelihood found so far; a particle above it is accepted with an
        # importance weight (rejection control), so the population stays exact
        acceptor=pyabc.StochasticAcceptor(),
    )


def pyabc_prior(priors: dict[str, Prior]):
    import pyabc

    from corridor.abc_transition import ClosedFormPrior

    rvs = {}
    for key, p in priors.items():
        name, args, kwargs = scipy_args(p)
        rvs[pyabc_name(key)] = pyabc.RV(name, *args, **kwargs)
    return ClosedFormPrior({pyabc_name(k): p for k, p in priors.items()}, **rvs)


def _quiet_pyabc() -> None:
    import pyabc  # noqa: F401  (its import sets the "ABC" logger to INFO: quieten after it)

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
    method: str | None = None,
) -> dict:
    """Run (or resume) the calibration and write posterior.parquet, summary.csv and meta.json to ``out``.

    ``method``: "tempered-smc" (the default of calibration.yaml; ``corridor.tempered_smc``) or
    "abc-smc" (pyabc). For tempered SMC ``population`` is the number of chains (each
    ``chain_length`` long) and ``generations`` caps the number of tempering iterations.

    The sampler's state (``state.pkl``, or the pyabc database) is kept in ``OUT.partial``
    while iterations are added, then the whole folder (state included, so that a later call
    can continue) replaces ``out``. The posterior depends on ``seed`` only: not on ``scheduler``/``workers``,
    nor on an interruption (see ``corridor.tempered_smc`` and ``corridor.abc_sampler``)."""
    from corridor.cluster import check_scheduler
    from corridor.cluster import executor as cluster_executor

    config = load_config()
    d = config.defaults
    problem = problem or build_problem(scenario, until, agents, config)
    method = method or d.method
    if method not in ("tempered-smc", "abc-smc"):
        raise CorridorInputError(f"--method {method}: unknown sampler; use tempered-smc or abc-smc")
    tempered = method == "tempered-smc"
    population = population or (d.chains if tempered else d.population)
    generations = generations or (MAX_ITERATIONS if tempered else d.generations)
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
        "runs_per_particle": problem.runs_per_particle,
        "parameters": sorted(problem.priors),
        "series": sorted(problem.observed),
        "method": "observation-likelihood kernel",
        "population": population,
        "seed": seed,
    }
    if tempered:
        fingerprint.update(sampler=method, chain_length=d.chain_length, ess_target=d.ess_target,
                           min_seed_acceptance=d.min_seed_acceptance)  # fmt: skip
    with folders.claim(out) as target:
        work = _working_folder(target, fingerprint)
        start = time.perf_counter()
        with cluster_executor(scheduler, workers, cluster) as ex:
            if tempered:
                fit, resumed, stopped = _run_tempered(problem, work, population, generations, seed, ex, progress, d)
            else:
                history, resumed, stopped = _run_generations(problem, work, population, generations, seed, ex, progress)
                fit = abc_fit(history)
        wall = time.perf_counter() - start
        result = write_outputs(fit, problem, work, population, generations, wall, resumed, method)
        if stopped:
            result["meta"]["stopped"] = stopped
        folders.commit(work, target, "meta.json", result["meta"])
    return result


def _working_folder(target: Path, fingerprint: dict) -> Path:
    """``OUT.partial``, holding the sampler's state to continue from (``state.pkl`` or the pyabc
    database): the one an interrupted calibration left there, or a copy of the one in ``out``
    (to add iterations), or none."""
    work = folders.partial_dir(target)
    for folder in (work, target):
        run_file = folder / RUN_FILE
        saved = [f for f in (DB_NAME, STATE_NAME) if (folder / f).is_file()]
        if not (saved and run_file.is_file()):
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
            for name in (*saved, RUN_FILE):
                shutil.copy2(target / name, work / name)
        return work
    shutil.rmtree(work, ignore_errors=True)  # unfinished and never started: begin afresh
    work.mkdir()
    write_json_atomic({"fingerprint": fingerprint, "abc_id": None}, work / RUN_FILE)
    return work


def _run_generations(problem: Problem, work: Path, population: int, generations: int, seed: int, ex, progress: bool):
    """Add generations to the database in ``work`` until there are ``generations``.

    Every generation starts from a fresh ``ABCSMC`` loaded from the database, so a
    generation run after an interruption is computed exactly as in one long run."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from corridor.abc_sampler import OrderedSampler

    _quiet_pyabc()
    db_url = f"sqlite:///{(work / DB_NAME).resolve()}"
    run_file = work / RUN_FILE
    run = json.loads(run_file.read_text())
    resumed = run.get("abc_id") is not None
    sampler = OrderedSampler(seed, ex)
    d = load_config().defaults

    def fresh():
        return abc_smc(
            Model(problem), problem.priors, problem.observation_model, population, generations, sampler=sampler,
            min_acceptance_rate=d.min_acceptance_rate, min_relative_ess=d.min_relative_ess,
        )  # fmt: skip

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
            abc.eps.restore(abc.history)  # the temperature plan continues from the stored generations
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
            temperature = abc.history.get_all_populations()["epsilon"].iloc[-1]
            bar.update(task, completed=abc.history.max_t + 1, description=f"generations (temperature {temperature:.3g})")
    return abc.history, resumed, stopped


MAX_ITERATIONS = 60  # tempered SMC: a cap on the tempering iterations (the runs so far took 10-25)


def _run_tempered(problem: Problem, work: Path, chains: int, max_iterations: int, seed: int, ex, progress: bool,
                  d: Defaults):  # fmt: skip
    """Tempered SMC (``corridor.tempered_smc``) from the prior to the posterior, each finished
    iteration kept in ``work/state.pkl`` (a later call resumes from it, exactly)."""
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    from corridor import tempered_smc as smc

    prior = smc.UnboundedPrior(problem.priors)
    state = work / STATE_NAME
    resumed = state.is_file()

    def evaluate(z: np.ndarray, seeds: list[int]) -> list:
        from corridor.ensemble import map_runs

        rows = [dict(zip(prior.keys, v, strict=True)) for v in prior.to_value(z).tolist()]
        args = [(problem, row, s) for row, s in zip(rows, seeds, strict=True)]
        return map_runs(particle_log_likelihood, args, progress=False, shared=(0,), executor=ex)

    columns = (TextColumn("[bold]calibrate[/] {task.description}"), TimeElapsedColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task("tempered SMC (resumed)" if resumed else "tempered SMC: prior draws")

        def report(pop):
            folders.checkpoint("generation")
            last = pop.steps[-1]
            bar.update(task, description=f"iteration {pop.iteration}: beta {pop.beta:.3g}, acceptance {last['acceptance']:.2f}")

        pop = smc.run(prior, evaluate, chains, d.chain_length, seed, d.ess_target, max_iterations, state, report,
                      d.min_seed_acceptance)  # fmt: skip
    fit = tempered_fit(pop, prior)
    stopped = None
    if smc.seeds_stuck(pop, d.min_seed_acceptance) and pop.beta < 1.0:
        fit["held"] = (
            f"tempered at beta {pop.beta:.3g}: {pop.steps[-1]['seed_acceptance']:.0%} of fresh runs were accepted at "
            f"iteration {pop.iteration}, under min_seed_acceptance {d.min_seed_acceptance}"
        )
    elif pop.beta < 1.0:
        stopped = f"stopped at iteration {pop.iteration}, beta {pop.beta:.3g} < 1"
    return fit, resumed, stopped


def particle_log_likelihood(problem: Problem, values: dict[str, float], seed: int) -> tuple[float, dict]:
    """Worker task: the log-likelihood of one run of a particle, and the run's expected observed values."""
    np.random.seed(seed)
    expected = Model(problem)(values)
    return problem.log_likelihood(expected), expected


def tempered_fit(pop, prior) -> dict:
    posterior = pd.DataFrame(prior.to_value(pop.z), columns=prior.keys)
    # a point estimate for the default scenario: the particle of highest prior x likelihood
    posterior["log_posterior"] = prior.value_log_density(pop.z) + pop.loglik
    posterior["weight"] = 1.0 / len(posterior)
    posterior["generation"] = pop.iteration
    return {
        "posterior": posterior,
        "stats": pop.stats,
        "stats_weights": np.full(len(pop.stats), 1.0 / len(pop.stats)),
        "temperatures": [1.0 / s["beta"] for s in pop.steps],
        "generations": pop.iteration,  # tempering iterations after the prior draws
        "simulations": pop.simulations,
        # successive states of a chain repeat or are close: the distinct ones bound the effective sample
        "effective_sample_size": float(pop.steps[-1]["distinct"] if pop.steps else len(pop.z)),
        "iterations": pop.steps,
    }


def abc_fit(history) -> dict:
    weights, stats = history.get_weighted_sum_stats(t=history.max_t)
    pops = history.get_all_populations()
    posterior = posterior_frame(history)
    w = posterior["weight"].to_numpy()
    return {
        "posterior": posterior,
        "stats": stats,
        "stats_weights": np.asarray(weights, float),
        "temperatures": [float(e) for e in pops["epsilon"] if np.isfinite(e)],
        "generations": int(history.max_t + 1),
        "simulations": int(history.total_nr_simulations),
        "effective_sample_size": float(1.0 / np.sum(w**2)),
    }


def point_estimate(posterior: pd.DataFrame) -> pd.Series:
    """The particle the default scenario takes: highest prior x likelihood (tempered SMC, equal
    weights), or the heaviest (ABC-SMC)."""
    column = "log_posterior" if "log_posterior" in posterior else "weight"
    return posterior.loc[posterior[column].idxmax()]


def recheck_point_estimate(posterior: pd.DataFrame, problem: Problem, top: int = 20, seeds: int = 8,
                           first_seed: int = 2000, keep: tuple[str, ...] = ()) -> dict:
    """Is the point estimate its run's luck? A particle is admitted on the likelihood of one run,
    so the highest of them is partly that run's luck (a winner's curse). The ``top`` distinct
    particles of highest prior x likelihood are rerun on ``seeds`` fresh seeds; returned with
    their admitted and mean fresh log-likelihoods, and the one of highest prior x mean
    log-likelihood (its typical run, not its luckiest; scripts/point_estimate_check.py). The
    expected observed values of the series in ``keep`` are kept, averaged over the fresh runs."""
    from corridor.priors import frozen

    keys = list(problem.priors)
    distinct = posterior.drop_duplicates(subset=keys)
    log_prior = pd.Series(sum(frozen(problem.priors[k]).logpdf(distinct[k].to_numpy()) for k in keys), index=distinct.index)
    candidates = []
    for idx in distinct["log_posterior"].nlargest(top).index:
        values = {k: float(distinct.at[idx, k]) for k in keys}
        runs = [problem.expected(problem.simulate(values, first_seed + s), values) for s in range(seeds)]
        ll = [problem.log_likelihood(run) for run in runs]
        candidates.append({"particle": int(idx), "log_prior": float(log_prior[idx]),
                           "admitted_log_likelihood": float(distinct.at[idx, "log_posterior"] - log_prior[idx]),
                           "mean_log_likelihood": float(np.mean(ll)), "sd_log_likelihood": float(np.std(ll)),
                           "mean_expected": {k: np.mean([run[k] for run in runs], axis=0).tolist() for k in keep}})
    best = max(candidates, key=lambda c: c["log_prior"] + c["mean_log_likelihood"])
    values = {k: float(distinct.at[best["particle"], k]) for k in keys}
    return {"particle": best["particle"], "top": top, "seeds": seeds, "first_seed": first_seed,
            "agents": problem.agents, "values": values, "candidates": candidates}


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


def dispersion_summary(weights, stats, problem: Problem, seed: int = 0) -> pd.DataFrame:
    """Posterior of each noise dispersion: one draw per particle from its conditional posterior given the run."""
    model, rng = problem.observation_model, np.random.default_rng(seed)
    priors = problem.mapping.dispersion_priors()
    draws = {
        group: [model.draw_dispersion(names[0], first_run(x), rng) for x in stats]
        for group, names in model.groups.items()
        if group in priors
    }
    frame = pd.DataFrame({**draws, "weight": np.asarray(weights, float) / np.sum(weights)})
    return summarize(frame, {k: priors[k] for k in draws}, ()).assign(kind="noise")


def write_outputs(fit: dict, problem: Problem, out: Path, population: int, generations: int, wall: float,
                  resumed: bool, method: str = "tempered-smc") -> dict:  # fmt: skip
    posterior = fit["posterior"]
    write_parquet_atomic(posterior, out / "posterior.parquet")
    summary = pd.concat(
        [
            summarize(posterior, problem.priors, problem.model_priors),
            dispersion_summary(fit["stats_weights"], fit["stats"], problem),
        ],
        ignore_index=True,
    )
    summary.to_csv(out / "summary.csv", index=False, float_format="%.6g")
    temperatures = [t for t in fit["temperatures"] if np.isfinite(t)]
    meta = {
        "version": __version__,
        "scenario": problem.scenario.name,
        "scenario_sha256": problem.scenario.sha256(),
        "until": problem.until,
        "first_year": int(min(s.frame["year"].min() for s in problem.observed.values())),
        "series": sorted(problem.observed),
        "agents": problem.agents,
        "runs_per_particle": problem.runs_per_particle,
        "population": population,
        "sampler": method,
        "generations": fit["generations"],
        "generations_requested": generations,
        "temperatures": temperatures,
        "final_temperature": temperatures[-1] if temperatures else None,
        "exact": bool(temperatures and temperatures[-1] == 1.0),
        "effective_sample_size": round(fit["effective_sample_size"], 1),
        "simulations": fit["simulations"],
        "wall_seconds_this_session": round(wall, 1),
        "resumed": resumed,
        "method": TEMPERED_METHOD if method == "tempered-smc" else METHOD,
        **({"iterations": fit["iterations"]} if "iterations" in fit else {}),
        **({"held": fit["held"]} if "held" in fit else {}),
        "model_parameters": sorted(problem.model_priors),
        "observation_parameters": sorted(problem.obs_priors),
        "noise_dispersions": sorted(
            {problem.mapping.series[n].noise.parameter for n in problem.observed} - {None}
        ),
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
    parameters = [c for c in df.columns if c not in NOT_PARAMETERS]
    if df.empty or not parameters:
        raise CorridorInputError(f"{path}: no particles or no parameter columns; write it with corridor calibrate")
    for column in ("weight", *parameters):
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(float)
        if not np.isfinite(values).all():
            raise CorridorInputError(f"{path}: column '{column}' holds a value that is not a finite number; recalibrate")
    weights = df["weight"].to_numpy(float)
    if (weights < 0).any() or weights.sum() <= 0:
        raise CorridorInputError(f"{path}: the weights are negative or sum to zero; recalibrate")
