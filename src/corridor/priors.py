"""Scenario priors (corridor.scenario.Prior) as scipy distributions and pyabc random variables."""

from __future__ import annotations

import numpy as np
from scipy import stats

from corridor.scenario import Prior


def scipy_args(prior: Prior) -> tuple[str, tuple, dict]:
    """(scipy.stats name, args, kwargs) of a non-fixed prior."""
    if prior.dist == "uniform":
        return "uniform", (prior.low, prior.high - prior.low), {}
    if prior.dist == "loguniform":
        return "loguniform", (prior.low, prior.high), {}
    if prior.dist == "normal":
        return "norm", (prior.mean, prior.sd), {}
    if prior.dist == "lognormal":
        return "lognorm", (prior.sigma,), {"scale": prior.median}
    if prior.dist == "beta":
        return "beta", (prior.a, prior.b), {}
    raise ValueError(f"a {prior.dist} prior cannot be calibrated")


def frozen(prior: Prior):
    name, args, kwargs = scipy_args(prior)
    return getattr(stats, name)(*args, **kwargs)


def prior_median(prior: Prior) -> float:
    return float(frozen(prior).median())


def prior_interval(prior: Prior, level: float = 0.9) -> tuple[float, float]:
    lo, hi = frozen(prior).interval(level)
    return float(lo), float(hi)


def sample(prior: Prior, n: int, rng: np.random.Generator) -> np.ndarray:
    return frozen(prior).rvs(size=n, random_state=rng)
