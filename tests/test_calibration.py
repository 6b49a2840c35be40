"""Calibration: parameter recovery from simulated data, the likelihood kernel, resumption."""

import sqlite3

import numpy as np
import pandas as pd
import pytest

from corridor.calibration import build_problem, calibrate, log_likelihood
from corridor.errors import CorridorInputError
from corridor.observed import ObservedSeries

# known values: about the shipped all-years posterior's medians, so that the synthetic data look like the record
TRUE = {"family.base_logit_per_month": -9.6, "smuggling.small_boat_awareness_growth_per_month": 0.12}
SERIES = ["asylum_applications_main", "small_boat_arrivals_albanian"]


def _synthetic_problem(agents: int, until: int = 2023):
    problem = build_problem("albania-uk", until, agents=agents, parameters=list(TRUE), series=SERIES)
    truth = {**TRUE, **{k: 0.9 for k in problem.obs_priors}}
    # data simulated from the known values: the median of a few seeds, a typical run (the mean would
    # stand for no run where a few seeds surge, and a single-run likelihood would then recover a
    # higher departure level)
    runs = [problem.expected(problem.simulate(truth, seed), truth) for seed in (101, 102, 103, 104, 105)]
    observed = {}
    for name, obs in problem.observed.items():
        values = np.median([r[name] for r in runs], axis=0)
        observed[name] = obs.subset(np.isfinite(values))
        observed[name].frame["value"] = values[np.isfinite(values)]
    problem.observed = observed
    return problem, truth


# tempered SMC keeps each particle's seed, so at 1,000 agents (one agent for 2,860 people) a few lucky
# runs' seeds carry the population; it is run where one agent stands for 715 people
@pytest.mark.parametrize(
    ("method", "agents", "population", "generations"), [("tempered-smc", 4000, 20, None), ("abc-smc", 1000, 20, 2)]
)
def test_parameter_recovery_known_values_fall_in_the_90_percent_interval(tmp_path, method, agents, population, generations):
    problem, _ = _synthetic_problem(agents=agents, until=2020)
    result = calibrate(
        "albania-uk", 2020, tmp_path / "recovery", population=population, generations=generations, workers=1,
        progress=False, problem=problem, seed=3, method=method,
    )  # fmt: skip
    summary = result["summary"].set_index("parameter")
    for key, value in TRUE.items():
        lo, hi = summary.loc[key, "posterior_q05"], summary.loc[key, "posterior_q95"]
        assert lo <= value <= hi, (key, value, lo, hi)
    # the data identify the departure level: the posterior is narrower than the prior
    assert summary.loc["family.base_logit_per_month", "interval_ratio"] < 0.8
    # the noise dispersions are reported with the parameters; the temperature of the last generation
    # says whether the posterior is exact (1) or tempered (held up where acceptance would collapse)
    assert (summary["kind"] == "noise").sum() == 2
    m = result["meta"]
    assert m["temperatures"] == sorted(m["temperatures"], reverse=True) and m["final_temperature"] >= 1.0
    assert m["exact"] == (m["final_temperature"] == 1.0)
    for name in ("posterior.parquet", "summary.csv", "meta.json"):
        assert (tmp_path / "recovery" / name).is_file()


def test_the_likelihood_kernel_prefers_the_values_that_made_the_data():
    problem, truth = _synthetic_problem(agents=2000)
    far = {**truth, "family.base_logit_per_month": -10.3}

    def mean_log_likelihood(params):
        runs = [problem.expected(problem.simulate(params, seed), params) for seed in (7, 8)]
        return np.mean([problem.log_likelihood(r) for r in runs])

    assert mean_log_likelihood(truth) > mean_log_likelihood(far) + 5


def test_several_runs_per_particle_average_their_likelihoods():
    problem, truth = _synthetic_problem(agents=1000)
    runs = [problem.expected(problem.simulate(truth, seed), truth) for seed in (1, 2)]
    stacked = {k: np.stack([r[k] for r in runs]) for k in runs[0]}
    single = [problem.log_likelihood(r) for r in runs]
    assert log_likelihood(problem.observation_model, stacked) == pytest.approx(np.log(np.mean(np.exp(single))))
    broken = {k: np.full_like(v, np.nan) for k, v in runs[0].items()}
    assert log_likelihood(problem.observation_model, broken) == -np.inf


def test_a_series_left_out_of_the_fit_cannot_be_calibrated_to():
    with pytest.raises(CorridorInputError, match="returns_total.*fit: false"):
        build_problem("albania-uk", 2023, series=["returns_total"])


def test_the_fit_window_keeps_fitted_periods_only():
    problem = build_problem("albania-uk", 2023, agents=1000)
    boats = problem.observed["small_boat_arrivals_albanian"]
    assert isinstance(boats, ObservedSeries) and boats.periods == ["2018", "2019", "2020", "2021"]
    assert "returns_total" not in problem.observed  # fit: false
    assert problem.observed["asylum_applications_main"].years().min() == 2012
    early = build_problem("albania-uk", 2020, agents=1000)
    assert "small_boat_arrivals_albanian_quarterly" not in early.observed  # no quarter up to 2020


def test_interrupted_calibration_resumes(tmp_path):
    out = tmp_path / "cal"
    problem = build_problem("albania-uk", 2019, agents=1000, parameters=list(TRUE), series=SERIES)
    first = calibrate(
        "albania-uk", 2019, out, population=10, generations=2, workers=1, progress=False, problem=problem,
        method="abc-smc",
    )  # fmt: skip
    assert first["meta"]["generations"] == 2 and not first["meta"]["resumed"]
    problem = build_problem("albania-uk", 2019, agents=1000, parameters=list(TRUE), series=SERIES)
    second = calibrate(
        "albania-uk", 2019, out, population=10, generations=3, workers=1, progress=False, problem=problem,
        method="abc-smc",
    )  # fmt: skip
    assert second["meta"]["resumed"] and second["meta"]["generations"] == 3
    with sqlite3.connect(out / "calibration.db") as db:
        ts = sorted(t for (t,) in db.execute("select t from populations where t >= 0"))
    assert ts == [0, 1, 2]


def test_an_interrupted_tempered_calibration_ends_as_an_uninterrupted_one(tmp_path):
    """Stopped after two iterations (as by a lost machine) and called again, the tempered SMC
    resumes from its last finished iteration and gives the posterior of one uninterrupted call."""

    def problem():
        return build_problem("albania-uk", 2019, agents=1000, parameters=list(TRUE), series=SERIES)

    kwargs = {"population": 8, "workers": 1, "progress": False, "seed": 5, "method": "tempered-smc"}
    whole = calibrate("albania-uk", 2019, tmp_path / "whole", problem=problem(), **kwargs)
    assert whole["meta"]["generations"] >= 3  # the posterior (exact) or the hold (seeds stuck)
    part = calibrate("albania-uk", 2019, tmp_path / "cut", problem=problem(), generations=2, **kwargs)
    assert part["meta"]["stopped"].startswith("stopped at iteration 2") and not part["meta"]["exact"]
    rest = calibrate("albania-uk", 2019, tmp_path / "cut", problem=problem(), **kwargs)
    assert rest["meta"]["resumed"]
    pd.testing.assert_frame_equal(rest["posterior"], whole["posterior"])


def test_the_closed_form_prior_density_is_scipys_inside_and_outside_the_support():
    import math

    import pyabc
    from conftest import PRIORS_OF_EVERY_KIND

    from corridor.calibration import pyabc_prior

    prior = pyabc_prior(PRIORS_OF_EVERY_KIND)
    rng = np.random.default_rng(1)
    outside = 0
    for _ in range(500):
        x = dict(zip(prior.keys(), rng.uniform([0, -0.1, -5, -1, -0.2], [4, 2.5, 7, 10, 1.2]).tolist(), strict=True))
        ours, scipys = prior.pdf(x), pyabc.Distribution.pdf(prior, x)
        assert math.isclose(ours, scipys, rel_tol=1e-9, abs_tol=1e-300)
        outside += scipys == 0
    assert 100 < outside < 500  # both sides of the support were tried


def test_proposals_have_the_kernels_mean_and_covariance():
    from corridor.abc_transition import RidgedMultivariateNormalTransition

    rng = np.random.default_rng(2)
    particles = pd.DataFrame({"x": rng.normal(0, 1, 50), "y": rng.normal(10, 0.01, 50)})
    kernel = RidgedMultivariateNormalTransition()
    kernel.fit(particles, np.full(50, 1 / 50))
    np.random.seed(3)
    draws = pd.DataFrame([kernel.rvs_single() for _ in range(20_000)])
    assert np.allclose(draws.mean(), particles.mean(), atol=0.03 * particles.std().to_numpy())
    expected = np.cov(particles.to_numpy().T, bias=True) + kernel.cov
    got = np.cov(draws[["x", "y"]].to_numpy().T)
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    assert np.allclose(np.diag(got), np.diag(expected), rtol=0.05)
    assert np.allclose(got / scale, expected / scale, atol=0.03)  # correlations


def test_fresh_runs_tell_a_lucky_particle_from_one_that_fits():
    """A particle admitted with a lucky run (high log_posterior) loses on fresh runs to one that fits."""
    from corridor.calibration import point_estimate, recheck_point_estimate

    problem, truth = _synthetic_problem(agents=2000)
    far = {**truth, "family.base_logit_per_month": -10.3}
    posterior = pd.DataFrame([far, far, truth], index=[10, 11, 12])  # repeated states, as a tempered SMC leaves them
    posterior["log_posterior"] = [0.0, 0.0, -1000.0]  # the far particle's own run was the luckier
    posterior["weight"] = 1 / 3
    assert point_estimate(posterior)["family.base_logit_per_month"] == -10.3
    checked = recheck_point_estimate(posterior, problem, top=2, seeds=2)
    assert [c["particle"] for c in checked["candidates"]] == [10, 12]  # distinct states, by admitted posterior
    assert checked["particle"] == 12 and checked["values"]["family.base_logit_per_month"] == -9.6
    lucky, fits = checked["candidates"]
    assert lucky["mean_log_likelihood"] < fits["mean_log_likelihood"]
