"""Simulation-based calibration (SBC, Talts et al. 2018) of the inference method.

If an inference method returns the true posterior, then for parameters drawn from
the prior and data simulated from them, the rank of the true value among L
posterior draws is uniform on {0, ..., L}, for every parameter. SBC repeats this
for n prior draws and tests the ranks for uniformity: a chi-square test on the
rank histogram (``bins`` equal bins) and a Kolmogorov-Smirnov test on the ranks
made continuous ((rank + u) / (L + 1), u uniform). Over-confident posteriors pile
ranks at both ends, biased ones at one end, over-wide ones in the middle.

A full calibration costs minutes to an hour, so SBC runs the production sampler
(``corridor.tempered_smc`` with the observation likelihood; "tempered"), or pyabc's
ABC-SMC as ``corridor calibrate --method abc-smc`` runs it ("abc"), on a reduced
problem of the same structure that runs in seconds: ``SurrogateCorridor``. It has
a departure level and a speed of the switch to small boats as model parameters,
agent-scale binomial noise in the simulator (one agent stands for ``scale``
people), and two observed series (yearly small-boat arrivals and asylum claims)
with negative binomial noise whose dispersions are integrated out exactly as in
the real calibration. The ranks of the dispersions are taken too, from their
posterior draws.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from corridor.observed import Mapping, ObservationModel, ObservedSeries, draw_noise
from corridor.priors import frozen
from corridor.scenario import Prior

YEARS = np.arange(2014, 2024)


@dataclass
class SBCResult:
    """Ranks of the true values among posterior draws, and their uniformity tests."""

    names: list[str]
    pairs: list[tuple[np.ndarray, np.ndarray]]  # per replicate: (true values, posterior draws (draws x names))
    bins: int
    seed: int = 0
    ranks: np.ndarray = field(init=False)  # (replicates, parameters), each in 0..draws
    tests: dict = field(init=False)

    def __post_init__(self):
        rng = np.random.default_rng(self.seed)
        self.ranks = np.array([rank_statistic(t, p, rng) for t, p in self.pairs])
        self.tests = {
            n: uniformity(self.ranks[:, j], self.draws, self.bins, self.seed + j) for j, n in enumerate(self.names)
        }

    @property
    def draws(self) -> int:
        return int(self.pairs[0][1].shape[0])

    def transformed(self, posterior_transform) -> SBCResult:
        """The same replicates with every posterior transformed (e.g. ``shrink``: deliberately miscalibrated)."""
        return SBCResult(self.names, [(t, posterior_transform(p)) for t, p in self.pairs], self.bins, self.seed)

    def min_p(self) -> float:
        """The smallest p-value over parameters and the two tests."""
        return min(min(t["p_chi2"], t["p_ks"]) for t in self.tests.values())

    def uniform(self, alpha: float = 0.01) -> bool:
        """No test rejects uniformity at ``alpha`` after a Bonferroni correction over parameters and tests."""
        return self.min_p() > alpha / (2 * len(self.names))

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.tests).T.rename_axis("parameter").reset_index()


def shift(draws: np.ndarray, sds: float = 1.0) -> np.ndarray:
    """A deliberately biased posterior: the draws moved up by ``sds`` of their own standard deviations."""
    return draws + sds * draws.std(axis=0, keepdims=True)


def rank_statistic(truth: np.ndarray, draws: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rank of each true value among the posterior draws (rows: draws), ties broken at random."""
    below = (draws < truth[None, :]).sum(axis=0)
    ties = (draws == truth[None, :]).sum(axis=0)
    return below + rng.integers(0, ties + 1)


def uniformity(ranks: np.ndarray, draws: int, bins: int, seed: int = 0) -> dict:
    """Chi-square test of the rank histogram and KS test of the randomised ranks against uniform."""
    ranks = np.asarray(ranks, int)
    counts = np.bincount(ranks * bins // (draws + 1), minlength=bins)
    chi2, p_chi2 = stats.chisquare(counts)
    u = (ranks + np.random.default_rng(seed).uniform(size=ranks.size)) / (draws + 1)
    ks = stats.kstest(u, "uniform")
    return {"chi2": float(chi2), "p_chi2": float(p_chi2), "ks": float(ks.statistic), "p_ks": float(ks.pvalue)}


def resample(values: np.ndarray, weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n equally weighted draws from a weighted sample (systematic resampling)."""
    w = np.asarray(weights, float)
    cum = np.cumsum(w / w.sum())
    idx = np.searchsorted(cum, (rng.uniform() + np.arange(n)) / n)
    return np.asarray(values)[np.minimum(idx, len(w) - 1)]


def shrink(draws: np.ndarray, factor: float) -> np.ndarray:
    """A deliberately over-confident posterior: the draws pulled towards their mean by ``factor``."""
    mean = draws.mean(axis=0, keepdims=True)
    return mean + factor * (draws - mean)


class SurrogateCorridor:
    """A reduced corridor: departures, the switch to small boats, agent-scale noise, noisy counts."""

    agents = 100_000
    scale = 1.0  # people per agent
    model_priors = {
        "family.departure_level": Prior(dist="uniform", low=-0.7, high=0.7),
        "smuggling.boat_switch_per_year": Prior(dist="uniform", low=0.5, high=2.5),
    }
    mapping = Mapping.model_validate(
        {
            "parameters": {
                "observation.boats_cv": {"prior": {"dist": "loguniform", "low": 0.1, "high": 1.0}, "note": "boats"},
                "observation.claims_cv": {"prior": {"dist": "loguniform", "low": 0.1, "high": 1.0}, "note": "claims"},
            },
            "series": {
                name: {
                    "outputs": [name],
                    "aggregate": "sum",
                    "observation": {"note": name},
                    "noise": {"family": "negative_binomial", "dispersion": f"observation.{key}_cv"},
                    "fit": True,
                }
                for name, key in (("small_boat_arrivals", "boats"), ("asylum_claims", "claims"))
            },
        }
    )

    @property
    def names(self) -> list[str]:
        return [*self.model_priors, *self.mapping.dispersion_priors()]

    def expected(self, params: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Stochastic runs, one per row of the parameter arrays: yearly arrivals by boat and claims, in people."""
        level = np.atleast_1d(params["family.departure_level"])[:, None]
        switch = np.atleast_1d(params["smuggling.boat_switch_per_year"])[:, None]
        p_leave = 0.01 * np.exp(level) * (1 + 0.15 * (YEARS - YEARS[0]))
        leavers = rng.binomial(self.agents, np.minimum(p_leave, 1.0))
        boats = rng.binomial(leavers, 1 / (1 + np.exp(-switch * (YEARS - 2020.5))))
        claims = rng.binomial(leavers, 0.6)
        return {"small_boat_arrivals": boats * self.scale, "asylum_claims": claims * self.scale}

    def seeded_expected(self, params: dict[str, np.ndarray], seeds) -> dict[str, np.ndarray]:
        """The runs of ``expected``, row i drawn from ``seeds[i]`` alone (by inverse CDF of
        counter-based uniforms): the same seed gives the same run, and nearby parameters
        with the same seed give nearby runs (common random numbers, as in the real model)."""
        level = np.atleast_1d(params["family.departure_level"])[:, None]
        switch = np.atleast_1d(params["smuggling.boat_switch_per_year"])[:, None]
        p_leave = np.minimum(0.01 * np.exp(level) * (1 + 0.15 * (YEARS - YEARS[0])), 1.0)
        u = [_counter_uniforms(np.asarray(seeds, np.uint64), stream) for stream in range(3)]
        leavers = stats.binom.ppf(u[0], self.agents, p_leave)
        boats = stats.binom.ppf(u[1], leavers, 1 / (1 + np.exp(-switch * (YEARS - 2020.5))))
        claims = stats.binom.ppf(u[2], leavers, 0.6)
        return {"small_boat_arrivals": boats * self.scale, "asylum_claims": claims * self.scale}

    def draw_prior(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {k: frozen(p).rvs(size=n, random_state=rng) for k, p in self.model_priors.items()}

    def log_prior(self, params: dict[str, np.ndarray]) -> np.ndarray:
        return sum(frozen(p).logpdf(params[k]) for k, p in self.model_priors.items())

    def draw_truth(self, rng: np.random.Generator) -> dict[str, float]:
        priors = {**self.model_priors, **self.mapping.dispersion_priors()}
        return {k: float(frozen(p).rvs(random_state=rng)) for k, p in priors.items()}

    def observe(self, truth: dict[str, float], rng: np.random.Generator) -> dict[str, ObservedSeries]:
        """Data simulated from the true values: a run, then each series' noise."""
        expected = self.expected(truth, rng)
        out = {}
        for name, mu in expected.items():
            noise = self.mapping.series[name].noise
            values = [draw_noise(noise, m, truth[noise.parameter], rng) for m in mu[0]]
            frame = pd.DataFrame({"period": [str(y) for y in YEARS], "period_kind": "year", "year": YEARS, "value": values})
            out[name] = ObservedSeries(name, frame)
        return out

    def with_dispersions(self, params: np.ndarray, expected: dict[str, np.ndarray], obs_model, rng) -> np.ndarray:
        """Posterior draws of the model parameters, completed by a draw of each dispersion given the run."""
        columns = [
            [obs_model.draw_dispersion(obs_model.groups[k][0], {n: v[i] for n, v in expected.items()}, rng) for i in range(len(params))]
            for k in self.mapping.dispersion_priors()
        ]
        return np.column_stack([params, *columns])


def _counter_uniforms(seeds: np.ndarray, stream: int) -> np.ndarray:
    """Uniforms in (0, 1), a row per seed and a column per year: the engine's splitmix64 hash
    (``corridor.rng``) of (seed, stream, year)."""
    from corridor.rng import mix64

    with np.errstate(over="ignore"):
        z = seeds[:, None] * np.uint64(0x9E3779B97F4A7C15) + np.uint64(stream * 1_000_003 + 1) * np.arange(
            1, len(YEARS) + 1, dtype=np.uint64
        ) * np.uint64(0xD1B54A32D192ED03)
    return ((mix64(z) >> np.uint64(11)).astype(np.float64) + 0.5) / 9007199254740992.0


class SurrogateModel:
    """pyabc model of the surrogate: a particle -> expected observed values of one fresh run."""

    def __init__(self, problem: SurrogateCorridor):
        self.problem = problem

    def __call__(self, par) -> dict:
        params = {k.replace("__", "."): float(v) for k, v in dict(par).items()}
        runs = self.problem.expected(params, np.random.default_rng(np.random.randint(0, 2**31 - 1)))
        return {k: v[0] for k, v in runs.items()}


def abc_posterior(
    problem: SurrogateCorridor, data: dict[str, ObservedSeries], draws: int, seed: int, population: int = 200,
    generations: int = 5,
) -> np.ndarray:  # fmt: skip
    """``draws`` equally weighted posterior draws (model parameters, then dispersions) by the production ABC."""
    import pyabc

    from corridor.calibration import _quiet_pyabc, abc_smc

    _quiet_pyabc()
    logging.getLogger("ABC.Population").setLevel(logging.WARNING)
    np.random.seed(seed)
    obs_model = ObservationModel(problem.mapping, data)
    abc = abc_smc(
        SurrogateModel(problem), problem.model_priors, obs_model, population, generations,
        sampler=pyabc.sampler.SingleCoreSampler(),
    )  # fmt: skip
    abc.new("sqlite://", {k: v.values for k, v in data.items()})
    history = abc.run(max_nr_populations=generations)
    particles = history.get_population(t=history.max_t).particles
    rng = np.random.default_rng(seed)
    params = np.array([[pt.parameter[k.replace(".", "__")] for k in problem.model_priors] for pt in particles])
    weights = np.array([pt.weight for pt in particles], float)
    idx = resample(np.arange(len(particles)), weights, draws, rng)
    expected = {n: np.array([particles[i].sum_stat[n] for i in idx]) for n in data}
    return problem.with_dispersions(params[idx], expected, obs_model, rng)


def tempered_posterior(
    problem: SurrogateCorridor, data: dict[str, ObservedSeries], draws: int, seed: int, chains: int = 100,
    chain_length: int = 6,
) -> np.ndarray:  # fmt: skip
    """``draws`` posterior draws by the production sampler (``corridor.tempered_smc``, as the real
    calibration runs it), taken at random from its final population."""
    from corridor import tempered_smc as smc

    obs_model = ObservationModel(problem.mapping, data)
    prior = smc.UnboundedPrior(problem.model_priors)

    def evaluate(z: np.ndarray, seeds: list[int]) -> list:
        values = prior.to_value(z)
        runs = problem.seeded_expected({k: values[:, j] for j, k in enumerate(prior.keys)}, seeds)
        loglik = obs_model.batch_log_likelihood(runs)
        return [(float(loglik[i]), {n: v[i] for n, v in runs.items()}) for i in range(len(z))]

    pop = smc.run(prior, evaluate, chains, chain_length, seed)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(pop.z), size=draws, replace=False)
    expected = {n: np.array([pop.stats[i][n] for i in idx]) for n in data}
    return problem.with_dispersions(prior.to_value(pop.z[idx]), expected, obs_model, rng)


def importance_posterior(
    problem: SurrogateCorridor, data: dict[str, ObservedSeries], draws: int, seed: int, n: int = 4000
) -> np.ndarray:
    """The same posterior (same simulator, same likelihood) by two-stage importance sampling, vectorised.

    Stage 1 weighs prior draws by the likelihood of one run each; stage 2 draws from a
    defensive mixture (a widened normal fitted to stage 1, and the prior) and weighs by
    prior x likelihood / proposal. A cheap reference to check the likelihood and the
    simulator's noise without the cost of a pyabc run per replicate."""
    rng = np.random.default_rng(seed)
    obs_model = ObservationModel(problem.mapping, data)
    keys = list(problem.model_priors)
    theta = problem.draw_prior(n, rng)
    w = np.exp(_shifted(obs_model.batch_log_likelihood(problem.expected(theta, rng))))
    x = np.column_stack([theta[k] for k in keys])
    mean = np.average(x, axis=0, weights=w)
    cov = np.atleast_2d(np.cov(x.T, aweights=w + 1e-300)) * 4 + np.eye(len(keys)) * 1e-12
    normal = stats.multivariate_normal(mean, cov)
    from_normal = rng.uniform(size=n) < 0.8
    x2 = np.where(from_normal[:, None], normal.rvs(size=n, random_state=rng).reshape(n, -1), np.column_stack([problem.draw_prior(n, rng)[k] for k in keys]))
    theta2 = {k: x2[:, j] for j, k in enumerate(keys)}
    log_prior = problem.log_prior(theta2)
    inside = np.isfinite(log_prior)
    log_q = np.log(0.8 * normal.pdf(x2) + 0.2 * np.exp(np.where(inside, log_prior, -np.inf)))
    expected = problem.expected({k: np.where(inside, v, x[0, j]) for j, (k, v) in enumerate(theta2.items())}, rng)
    log_w = np.where(inside, obs_model.batch_log_likelihood(expected) + log_prior - log_q, -np.inf)
    idx = resample(np.arange(n), np.exp(_shifted(log_w)), draws, rng)
    return problem.with_dispersions(x2[idx], {k: v[idx] for k, v in expected.items()}, obs_model, rng)


def _shifted(log_w: np.ndarray) -> np.ndarray:
    return log_w - np.max(log_w[np.isfinite(log_w)])


METHODS = {"abc": abc_posterior, "importance": importance_posterior, "tempered": tempered_posterior}


def _replicate(problem: SurrogateCorridor, i: int, seed: int, method: str, draws: int, options: dict):
    """One SBC replicate: (true values, posterior draws)."""
    rng = np.random.default_rng([seed, i])
    truth = problem.draw_truth(rng)
    data = problem.observe(truth, rng)
    posterior = METHODS[method](problem, data, draws, seed * 100_003 + i, **options)
    return np.array([truth[k] for k in problem.names]), posterior


def run_sbc(
    method: str = "importance",
    replicates: int = 100,
    draws: int = 19,
    bins: int = 5,
    seed: int = 0,
    scheduler: str | None = "sync",
    workers: int = 1,
    progress: bool = False,
    **options,
) -> SBCResult:
    """SBC on the surrogate problem: ``method`` "tempered" (the production sampler), "abc" (pyabc's
    ABC-SMC) or "importance" (the same target by importance sampling). ``SBCResult.transformed(shrink)`` gives the ranks of a
    deliberately miscalibrated posterior on the same replicates, to show that the test can fail."""
    from corridor.ensemble import map_runs

    problem = SurrogateCorridor()
    args = [(problem, i, seed, method, draws, options) for i in range(replicates)]
    pairs = map_runs(_replicate, args, scheduler, workers, label=f"SBC ({method})", progress=progress)
    return SBCResult(problem.names, pairs, bins, seed)
