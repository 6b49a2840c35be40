"""Simulation-based calibration (Talts et al. 2018) of the inference method on the surrogate corridor.

100 prior draws, data simulated from each, the posterior of each by the production
sampler (tempered SMC with the calibration's likelihood: simulator, noise model,
dispersions integrated out), and, as a reference, by importance sampling of the same
target; the ranks of the true values among 19 posterior draws must be uniform, and must
not be for a posterior made over-confident or biased on purpose. The pyabc ABC-SMC (the
other sampler) is checked against the same posterior on a few replicates
(benchmarks/sbc.py runs its full SBC).
"""

import numpy as np
import pytest

from corridor.sbc import (
    SurrogateCorridor,
    abc_posterior,
    importance_posterior,
    run_sbc,
    shift,
    shrink,
    uniformity,
)


@pytest.fixture(scope="module", params=["tempered", "importance"])
def sbc(request):
    return run_sbc(request.param, replicates=100, draws=19, bins=5, seed=0)


def test_ranks_of_the_true_values_are_uniform(sbc):
    assert sbc.ranks.shape == (100, 4)  # two model parameters and two noise dispersions
    assert sbc.ranks.min() >= 0 and sbc.ranks.max() <= 19
    assert sbc.uniform(alpha=0.01), sbc.table()


@pytest.mark.parametrize(
    "miscalibration", [lambda d: shrink(d, 0.5), lambda d: shift(d, 1.0)], ids=["over-confident", "biased"]
)
def test_a_miscalibrated_posterior_fails_the_test(sbc, miscalibration):
    assert not sbc.transformed(miscalibration).uniform(alpha=0.01)


def test_the_uniformity_test_rejects_piled_up_ranks():
    rng = np.random.default_rng(0)
    assert uniformity(rng.integers(0, 20, 200), 19, 5)["p_chi2"] > 0.01
    assert uniformity(np.r_[np.zeros(100, int), np.full(100, 19)], 19, 5)["p_chi2"] < 1e-6


def test_the_pyabc_calibration_finds_the_same_posterior():
    problem = SurrogateCorridor()
    for i in range(2):
        rng = np.random.default_rng([7, i])
        data = problem.observe(problem.draw_truth(rng), rng)
        abc = abc_posterior(problem, data, draws=400, seed=1, population=150, generations=4)
        reference = importance_posterior(problem, data, draws=400, seed=1, n=8000)
        sd = reference.std(axis=0)
        assert np.all(np.abs(abc.mean(axis=0) - reference.mean(axis=0)) < 0.6 * sd), (abc.mean(0), reference.mean(0))
        assert np.all((abc.std(axis=0) > 0.5 * sd) & (abc.std(axis=0) < 1.6 * sd)), (abc.std(0), sd)
