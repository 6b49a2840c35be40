"""Simulation-based calibration check and resumption of an interrupted calibration."""

import sqlite3

import numpy as np

from corridor.calibration import build_problem, calibrate
from corridor.observed import ObservedSeries

TRUE = {"family.base_logit_per_month": -8.6, "smuggling.small_boat_awareness_growth_per_month": 0.06}


def _synthetic_problem(agents: int):
    problem = build_problem(
        "albania-uk",
        2023,
        agents=agents,
        parameters=list(TRUE),
        series=["asylum_applications_main", "small_boat_arrivals_albanian"],
    )
    truth = {**TRUE, **{k: 0.9 for k in problem.obs_priors}}
    # data simulated from the known values (mean of a few seeds, to stand for the real series)
    runs = [problem.expected(problem.simulate(truth, seed), truth) for seed in (101, 102, 103)]
    observed = {}
    for name, obs in problem.observed.items():
        values = np.mean([r[name] for r in runs], axis=0)
        frame = obs.frame.copy()
        frame["value"] = values
        observed[name] = ObservedSeries(name, obs.kind, frame[np.isfinite(values)].reset_index(drop=True))
    problem.observed = observed
    return problem


def test_known_values_fall_in_the_90_percent_interval(tmp_path):
    problem = _synthetic_problem(agents=2000)
    result = calibrate(
        "albania-uk",
        2023,
        tmp_path / "sbc",
        population=24,
        generations=2,
        workers=1,
        progress=False,
        problem=problem,
        seed=3,
    )
    summary = result["summary"].set_index("parameter")
    for key, value in TRUE.items():
        lo, hi = summary.loc[key, "posterior_q05"], summary.loc[key, "posterior_q95"]
        assert lo <= value <= hi, (key, value, lo, hi)
    # the data identify the departure level: the posterior is narrower than the prior
    assert summary.loc["family.base_logit_per_month", "interval_ratio"] < 0.8
    assert (tmp_path / "sbc" / "posterior.parquet").is_file()
    assert (tmp_path / "sbc" / "summary.csv").is_file()


def test_interrupted_calibration_resumes(tmp_path):
    out = tmp_path / "cal"
    problem = build_problem("albania-uk", 2019, agents=1000, parameters=list(TRUE))
    first = calibrate("albania-uk", 2019, out, population=10, generations=1, workers=1, progress=False, problem=problem)
    assert first["meta"]["generations"] == 1 and not first["meta"]["resumed"]
    problem = build_problem("albania-uk", 2019, agents=1000, parameters=list(TRUE))
    second = calibrate(
        "albania-uk", 2019, out, population=10, generations=2, workers=1, progress=False, problem=problem
    )
    assert second["meta"]["resumed"] and second["meta"]["generations"] == 2
    with sqlite3.connect(out / "calibration.db") as db:
        ts = sorted(t for (t,) in db.execute("select t from populations where t >= 0"))
    assert ts == [0, 1]
