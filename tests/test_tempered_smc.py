"""The tempered SMC sampler (corridor.tempered_smc) on problems whose posterior is known."""

import numpy as np
import pytest
from conftest import PRIORS_OF_EVERY_KIND as PRIORS
from scipy import stats

from corridor import tempered_smc as smc
from corridor.priors import frozen
from corridor.scenario import Prior


def _flat(z, seeds):
    return [(0.0, None)] * len(z)


def test_moves_under_a_flat_likelihood_keep_the_prior():
    """With no data the target is the prior: chains of random-walk moves in the unbounded space
    must leave every marginal as the prior (a wrong Jacobian of the logit or log map drifts them)."""
    prior = smc.UnboundedPrior(PRIORS)
    pop = smc.run(prior, _flat, chains=400, chain_length=25, seed=1)
    assert pop.beta == 1.0 and pop.steps[0]["acceptance"] > 0.2
    values = prior.to_value(pop.z)
    for j, p in enumerate(prior.priors):
        last = values[-400:, j]  # the chains' last states: independent chains, 24 moves from the start
        assert stats.kstest(last, frozen(p).cdf).pvalue > 0.001, prior.keys[j]


def test_the_posterior_of_a_conjugate_normal_model():
    """theta ~ N(0, 1), 20 observations y ~ N(theta, 1): the posterior is N(sum y / 21, 1 / 21)."""
    y = np.random.default_rng(3).normal(0.8, 1.0, 20)
    prior = smc.UnboundedPrior({"theta": Prior(dist="normal", mean=0, sd=1)})

    def evaluate(z, seeds):
        return [(float(stats.norm.logpdf(y, t, 1).sum()), None) for t in z[:, 0]]

    pop = smc.run(prior, evaluate, chains=200, chain_length=6, seed=2)
    mean, sd = y.sum() / 21, (1 / 21) ** 0.5
    assert pop.beta == 1.0 and len(pop.steps) >= 2  # tempered in steps, not in one jump
    assert abs(pop.z[:, 0].mean() - mean) < 0.1 * sd * 3
    assert 0.85 * sd < pop.z[:, 0].std() < 1.15 * sd


def test_a_noisy_unbiased_likelihood_gives_the_same_posterior():
    """Pseudo-marginal: the likelihood of a run is multiplied by log-normal noise of mean one, fixed
    by the run's seed (a stochastic simulator: the same seed gives the same run); with the seed
    part of the particle, redrawn every few steps, the posterior is still the exact one."""
    y = np.random.default_rng(4).normal(-0.5, 1.0, 10)
    prior = smc.UnboundedPrior({"theta": Prior(dist="normal", mean=0, sd=1)})
    sigma = 0.8

    def evaluate(z, seeds):
        noise = [np.random.default_rng(s).normal(-0.5 * sigma**2, sigma) for s in seeds]
        return [(float(stats.norm.logpdf(y, t, 1).sum() + e), None) for t, e in zip(z[:, 0], noise, strict=True)]

    pop = smc.run(prior, evaluate, chains=400, chain_length=8, seed=3)
    mean, sd = y.sum() / 11, (1 / 11) ** 0.5
    assert abs(pop.z[:, 0].mean() - mean) < 0.25 * sd
    assert 0.75 * sd < pop.z[:, 0].std() < 1.25 * sd


def test_each_step_keeps_the_effective_sample_it_targets():
    loglik = np.random.default_rng(5).normal(0, 30, 1000)
    beta = smc.next_beta(loglik, 0.2, 0.5)
    assert 0.2 < beta < 1.0
    assert smc.relative_ess((beta - 0.2) * loglik) == pytest.approx(0.5, abs=0.01)
    assert smc.next_beta(np.zeros(10), 0.3, 0.5) == 1.0  # nothing to learn: straight to the posterior


def test_systematic_resampling_follows_the_weights():
    w = np.array([0.5, 0.25, 0.25, 0.0])
    idx = smc.systematic_resample(w, 8, np.random.default_rng(0))
    assert np.bincount(idx, minlength=4).tolist() == [4, 2, 2, 0]


def test_the_same_seed_gives_the_same_population():
    prior = smc.UnboundedPrior(PRIORS)

    def evaluate(z, seeds):
        rng = np.random.default_rng(seeds[0])
        return [(float(-((v - 1.5) ** 2).sum() * 5 + rng.normal()), None) for v in z]

    one, two = (smc.run(prior, evaluate, chains=20, chain_length=4, seed=9) for _ in range(2))
    np.testing.assert_array_equal(one.z, two.z)
    three = smc.run(prior, evaluate, chains=20, chain_length=4, seed=10)
    assert not np.array_equal(one.z, three.z)


def test_tempering_stops_where_fresh_runs_are_no_longer_accepted():
    """With a likelihood whose noise between seeds is large, the chains keep their lucky seeds as beta
    rises; the sampler stops there (a tempered posterior) rather than condition on a few runs."""
    y = np.random.default_rng(6).normal(0.3, 1.0, 200)
    prior = smc.UnboundedPrior({"theta": Prior(dist="normal", mean=0, sd=1)})

    def evaluate(z, seeds):
        noise = [np.random.default_rng(s).normal(-0.5 * 6.0**2, 6.0) for s in seeds]
        return [(float(stats.norm.logpdf(y, t, 1).sum() + e), None) for t, e in zip(z[:, 0], noise, strict=True)]

    held = smc.run(prior, evaluate, chains=100, chain_length=6, seed=4, min_seed_acceptance=0.1)
    assert held.beta < 1.0 and smc.seeds_stuck(held, 0.1)
    assert all(s["seed_acceptance"] >= 0.1 for s in held.steps[:-1])
    exact = smc.run(prior, evaluate, chains=100, chain_length=6, seed=4)
    assert exact.beta == 1.0 and len(np.unique(exact.seeds)) < len(np.unique(held.seeds))
