"""Waste-free tempered SMC with pseudo-marginal random-walk moves.

The sampler behind ``corridor calibrate --method tempered-smc`` (docs/calibration.md).
It targets the same posterior as the ABC-SMC of ``corridor.calibration``: the prior times
the likelihood of the observation model given one run of the simulator (the run's seed
integrated out; Wilkinson 2013). It moves from the prior to that posterior through
tempered targets ``prior x likelihood^beta``:

1. ``beta`` rises as far as keeps an effective sample of ``ess_target`` of the population
   under the reweighting ``likelihood^(beta' - beta)`` (adaptive tempering; Jasra et al. 2011);
2. ``chains`` particles are resampled by those weights (systematic resampling);
3. each starts a random-walk Metropolis chain of ``chain_length`` states on the new target,
   and every state is kept (waste-free SMC; Dau and Chopin 2022), so the population
   is again ``chains x chain_length`` particles of equal weight.

Why not ABC-SMC's importance weights: a new ABC-SMC population is weighted by prior
over proposal density, and in some forty dimensions that ratio spans orders of magnitude,
so one particle took 99% of the weight (measured: an effective sample of 1.0 of 200 in
the calibration of 2026-12). Here the weights of step 1 depend on the likelihood alone,
and the moves of step 3 need no proposal density.

The likelihood of a particle is that of one run (a noisy, unbiased estimate of the
likelihood with the seed integrated out). The seed is part of the particle: the target is
prior(theta) p(seed) likelihood(theta, seed)^beta, whose theta-marginal at beta = 1 is the
posterior (pseudo-marginal MCMC; Andrieu and Roberts 2009). A chain alternates two exact
Metropolis moves: theta moves with the seed kept (common random numbers: the runs of
nearby parameters differ by what the parameters change, not by the luck of the draw),
and every ``SEED_EVERY``-th step the seed is redrawn with theta kept. With a fresh seed for
every proposal instead, the likelihood's noise between seeds (several log-units) made
the chains stick to lucky runs: in a calibration of the full model the acceptance fell to
1% and 15 distinct particles of 600 were left near beta = 1. Keeping the seed moves the
problem rather than removing it: as beta rises, a fresh run is accepted less and less
often, and at beta = 1 the whole population of one calibration descended from two runs'
seeds (a posterior conditional on their luck, far too narrow). So tempering stops after
the first iteration whose fresh runs were accepted less often than ``min_seed_acceptance``:
the posterior is then the tempered one, prior x likelihood^beta, wider than the exact one,
with seeds that still mix.

The walk is in an unbounded space (logit of bounded priors, log of log-normal ones),
with the prior's density carried over by the Jacobian, so particles near a bound move
as freely as the others; its covariance is the population's, scaled to the acceptance
rate. Every draw comes from a generator seeded by (seed, iteration), every simulation
from a seed derived from (seed, iteration, step, chain): the result depends on the seed
only, and a calibration resumed from its last finished iteration (``state.npz``) ends
exactly as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import betaln, expit, log_expit

from corridor.priors import frozen, sample
from corridor.scenario import Prior

TARGET_ACCEPTANCE = 0.2  # of the random walk on theta
SEED_EVERY = 2  # every other step of a chain redraws the seed of its run


class UnboundedPrior:
    """Independent priors seen in an unbounded space: ``to_value`` maps a point there to parameter
    values, ``log_density`` is the prior's log density at that point (Jacobian included)."""

    def __init__(self, priors: dict[str, Prior]):
        self.keys = list(priors)
        self.priors = [priors[k] for k in self.keys]

    @property
    def dim(self) -> int:
        return len(self.keys)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        values = np.column_stack([sample(p, n, rng) for p in self.priors])
        return np.column_stack([_to_unbounded(p, values[:, i]) for i, p in enumerate(self.priors)])

    def to_value(self, z: np.ndarray) -> np.ndarray:
        return np.column_stack([_to_value(p, z[:, i]) for i, p in enumerate(self.priors)])

    def log_density(self, z: np.ndarray) -> np.ndarray:
        return sum(_log_density_unbounded(p, z[:, i]) for i, p in enumerate(self.priors))

    def value_log_density(self, z: np.ndarray) -> np.ndarray:
        """The prior's log density of the parameter values at ``z`` (without the Jacobian)."""
        values = self.to_value(z)
        return sum(frozen(p).logpdf(values[:, i]) for i, p in enumerate(self.priors))


def _bounds(p: Prior) -> tuple[float, float]:
    return (math.log(p.low), math.log(p.high)) if p.dist == "loguniform" else (p.low, p.high)


def _to_unbounded(p: Prior, x: np.ndarray) -> np.ndarray:
    if p.dist in ("uniform", "loguniform"):
        lo, hi = _bounds(p)
        u = ((np.log(x) if p.dist == "loguniform" else x) - lo) / (hi - lo)
        u = np.clip(u, 1e-12, 1 - 1e-12)
        return np.log(u) - np.log1p(-u)
    if p.dist == "beta":
        x = np.clip(x, 1e-12, 1 - 1e-12)
        return np.log(x) - np.log1p(-x)
    if p.dist == "lognormal":
        return np.log(x)
    return np.asarray(x, float)  # normal


def _to_value(p: Prior, z: np.ndarray) -> np.ndarray:
    if p.dist in ("uniform", "loguniform"):
        lo, hi = _bounds(p)
        y = lo + (hi - lo) * expit(z)
        return np.exp(y) if p.dist == "loguniform" else y
    if p.dist == "beta":
        return expit(z)
    if p.dist == "lognormal":
        return np.exp(z)
    return z


def _log_density_unbounded(p: Prior, z: np.ndarray) -> np.ndarray:
    """log prior density of the value at ``z`` plus log |d value / d z|."""
    if p.dist in ("uniform", "loguniform"):  # uniform on the (log) scale: the logistic density
        return log_expit(z) + log_expit(-z)
    if p.dist == "beta":
        return p.a * log_expit(z) + p.b * log_expit(-z) - betaln(p.a, p.b)
    mean, sd = (math.log(p.median), p.sigma) if p.dist == "lognormal" else (p.mean, p.sd)
    return -0.5 * ((z - mean) / sd) ** 2 - math.log(sd * math.sqrt(2 * math.pi))


@dataclass
class Population:
    """Particles (rows of ``z``, unbounded space), the log-likelihood of each one's run, and
    what its run gave (``stats``: expected observed values, for the noise dispersions)."""

    z: np.ndarray
    loglik: np.ndarray
    stats: list
    seeds: np.ndarray  # the seed of each particle's run
    beta: float
    iteration: int
    scale: float
    simulations: int
    steps: list[dict] = field(default_factory=list)  # per iteration: beta, acceptance, distinct particles

    def save(self, path: Path) -> None:
        import pickle

        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(self))
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> Population | None:
        import pickle

        return pickle.loads(path.read_bytes()) if path.is_file() else None


# evaluate(z rows, seeds) -> [(log-likelihood, stats)], in order
Evaluate = Callable[[np.ndarray, list[int]], list[tuple[float, object]]]


def simulation_seed(seed: int, iteration: int, step: int, chain: int) -> int:
    return int(np.random.SeedSequence([seed, iteration, step, chain]).generate_state(1)[0])


def start(prior: UnboundedPrior, evaluate: Evaluate, n: int, seed: int) -> Population:
    """Iteration 0: ``n`` draws from the prior (``beta`` = 0)."""
    z = prior.draw(n, np.random.default_rng([seed, 0]))
    seeds = np.array([simulation_seed(seed, 0, 0, j) for j in range(n)], dtype=np.int64)
    loglik, stats = _evaluate(evaluate, z, seeds.tolist())
    return Population(z, loglik, stats, seeds, 0.0, 0, 2.38 / math.sqrt(prior.dim), n)


def step(pop: Population, prior: UnboundedPrior, evaluate: Evaluate, chains: int, chain_length: int,
         seed: int, ess_target: float) -> Population:
    """One iteration: raise beta, resample ``chains`` particles, move each along a chain."""  # fmt: skip
    it = pop.iteration + 1
    rng = np.random.default_rng([seed, it])
    beta = next_beta(pop.loglik, pop.beta, ess_target)
    w = _normalise((beta - pop.beta) * pop.loglik)
    ancestors = systematic_resample(w, chains, rng)
    chains_now = Chains(pop.z[ancestors], pop.loglik[ancestors], pop.seeds[ancestors], [pop.stats[i] for i in ancestors],
                        prior.log_density(pop.z[ancestors]))  # fmt: skip
    chol = np.linalg.cholesky(_covariance(pop.z, w))
    states = [chains_now]
    accepted = {"theta": [0, 0], "seed": [0, 0]}
    for s in range(1, chain_length):
        kind = "seed" if s % SEED_EVERY == 0 else "theta"
        if kind == "seed":  # the same theta, a fresh run
            proposal = Chains(chains_now.z, None, np.array([simulation_seed(seed, it, s, j) for j in range(chains)],
                              dtype=np.int64), None, chains_now.lp)  # fmt: skip
        else:  # a step of theta, the same seed
            z = chains_now.z + pop.scale * rng.standard_normal(chains_now.z.shape) @ chol.T
            proposal = Chains(z, None, chains_now.seeds, None, prior.log_density(z))
        chains_now, take = _metropolis(chains_now, proposal, evaluate, beta, rng)
        accepted[kind][0] += int(take.sum())
        accepted[kind][1] += chains
        states.append(chains_now)
    return _next_population(pop, states, beta, it, accepted, chain_length)


@dataclass
class Chains:
    """The current state of each chain: point, log-likelihood of its run, the run's seed and
    results, and the prior log density of the point."""

    z: np.ndarray
    loglik: np.ndarray | None
    seeds: np.ndarray
    stats: list | None
    lp: np.ndarray


def _metropolis(current: Chains, proposal: Chains, evaluate: Evaluate, beta: float, rng) -> tuple[Chains, np.ndarray]:
    """Run the proposals, accept each by its Metropolis ratio on prior x likelihood^beta."""
    ll_new, stats_new = _evaluate(evaluate, proposal.z, proposal.seeds.tolist())
    log_ratio = proposal.lp + beta * ll_new - current.lp - beta * current.loglik
    take = np.log(rng.uniform(size=len(current.lp))) < np.where(np.isfinite(log_ratio), log_ratio, -np.inf)
    kept = Chains(
        np.where(take[:, None], proposal.z, current.z), np.where(take, ll_new, current.loglik),
        np.where(take, proposal.seeds, current.seeds),
        [stats_new[j] if take[j] else current.stats[j] for j in range(len(take))],
        np.where(take, proposal.lp, current.lp),
    )  # fmt: skip
    return kept, take


def _next_population(pop: Population, states: list[Chains], beta: float, it: int, accepted: dict,
                     chain_length: int) -> Population:
    """Every state of every chain, of equal weight; the walk's scale adapted to its acceptance."""  # fmt: skip
    rate = {k: a / n if n else float("nan") for k, (a, n) in accepted.items()}
    z = np.concatenate([st.z for st in states])
    record = {
        "iteration": it, "beta": beta, "acceptance": round(rate["theta"], 4), "seed_acceptance": round(rate["seed"], 4),
        "distinct": len(np.unique(z, axis=0)), "scale": pop.scale,
    }  # fmt: skip
    chains = len(states[0].lp)
    return Population(
        z, np.concatenate([st.loglik for st in states]), [x for st in states for x in st.stats],
        np.concatenate([st.seeds for st in states]), beta, it,
        pop.scale * math.exp(2.0 * (rate["theta"] - TARGET_ACCEPTANCE)), pop.simulations + chains * (chain_length - 1),
        [*pop.steps, record],
    )  # fmt: skip


def next_beta(loglik: np.ndarray, beta: float, ess_target: float) -> float:
    """The largest beta' <= 1 whose reweighting by likelihood^(beta' - beta) keeps an effective
    sample of ``ess_target`` of the population (bisection)."""
    if relative_ess((1.0 - beta) * loglik) >= ess_target:
        return 1.0
    lo, hi = beta, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if relative_ess((mid - beta) * loglik) >= ess_target else (lo, mid)
    return lo


def relative_ess(log_w: np.ndarray) -> float:
    w = _normalise(log_w)
    return float(1.0 / np.sum(w**2) / len(w))


def systematic_resample(w: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    positions = (rng.uniform() + np.arange(n)) / n
    return np.minimum(np.searchsorted(np.cumsum(w), positions), len(w) - 1)


def _normalise(log_w: np.ndarray) -> np.ndarray:
    log_w = np.where(np.isfinite(log_w), log_w, -np.inf)
    w = np.exp(log_w - np.max(log_w))
    return w / w.sum()


def _covariance(z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted covariance of the particles, with a small ridge so that it stays full-rank
    when few particles carry the weight."""
    cov = np.atleast_2d(np.cov(z, rowvar=False, aweights=w))
    return cov + np.diag(np.maximum(1e-3 * np.diag(cov), 1e-8))


def _evaluate(evaluate: Evaluate, z: np.ndarray, seeds: list[int]) -> tuple[np.ndarray, list]:
    results = evaluate(z, seeds)
    loglik = np.array([r[0] for r in results], float)
    return np.where(np.isnan(loglik), -np.inf, loglik), [r[1] for r in results]


def run(prior: UnboundedPrior, evaluate: Evaluate, chains: int, chain_length: int, seed: int,
        ess_target: float = 0.5, max_iterations: int = 100, checkpoint: Path | None = None,
        on_iteration: Callable[[Population], None] | None = None, min_seed_acceptance: float = 0.0) -> Population:
    """Tempered SMC from the prior to the posterior (``beta`` = 1), ``max_iterations``, or the
    first iteration whose fresh runs were accepted less often than ``min_seed_acceptance``
    (``seeds_stuck``); resumed from ``checkpoint`` where an earlier call left one."""  # fmt: skip
    pop = Population.load(checkpoint) if checkpoint else None
    if pop is None:
        pop = start(prior, evaluate, chains * chain_length, seed)
        if checkpoint:
            pop.save(checkpoint)
    while pop.beta < 1.0 and pop.iteration < max_iterations and not seeds_stuck(pop, min_seed_acceptance):
        pop = step(pop, prior, evaluate, chains, chain_length, seed, ess_target)
        if checkpoint:
            pop.save(checkpoint)
        if on_iteration:
            on_iteration(pop)
    return pop


def seeds_stuck(pop: Population, min_seed_acceptance: float) -> bool:
    """Whether the last iteration's chains kept their runs' seeds: then the particles no longer
    sample the seed, and raising beta further would condition the posterior on a few lucky runs
    (the likelihood of one run varies by several log-units between seeds)."""
    return bool(pop.steps) and pop.steps[-1]["seed_acceptance"] < min_seed_acceptance
