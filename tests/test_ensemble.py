"""Posterior-predictive ensembles, out-of-sample validation and the sources' claims."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from corridor.claims import evaluate_claims, load_claims
from corridor.ensemble import run_ensemble
from corridor.errors import CorridorInputError
from corridor.validation import validate

QUANTILES = ["q05", "q25", "q50", "q75", "q95"]


@pytest.fixture(scope="module")
def ensemble():
    return run_ensemble("albania-uk", runs=4, agents=2_000, seed=3, scheduler="sync", progress=False)


def test_quantiles_are_those_of_the_runs_month_by_month(ensemble, tmp_path):
    q = ensemble.quantiles
    assert {"month", "output", *QUANTILES} <= set(q.columns)
    assert set(q["output"]) >= {"departures", "arrivals_small_boat", "prison_population", "remittances_gbp"}
    runs = ensemble.runs
    for output in ("departures", "prison_population"):
        for month in ("2015-06", "2022-09"):
            values = runs.loc[runs["month"] == month, output].to_numpy()
            row = q[(q["output"] == output) & (q["month"] == month)].iloc[0]
            expected = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
            assert np.allclose(row[QUANTILES].to_numpy(float), expected), (output, month)
    ensemble.write(tmp_path)
    assert len(pd.read_parquet(tmp_path / "quantiles.parquet")) == len(q)


def test_the_ensemble_is_reproducible_and_varies_between_runs(ensemble):
    again = run_ensemble("albania-uk", runs=4, agents=2_000, seed=3, scheduler="sync", progress=False)
    pd.testing.assert_frame_equal(ensemble.quantiles, again.quantiles)
    total = ensemble.runs.groupby("run")["departures"].sum()
    assert total.nunique() == 4  # posterior draws and seeds differ between runs


def test_validation_reports_coverage_and_scaled_error(ensemble):
    result = validate(ensemble.observables, from_year=2021)
    overall = result["overall"]
    assert 0.0 <= overall["coverage50"] <= overall["coverage90"] <= 1.0
    assert overall["n"] > 10 and overall["mase_mean_over_series"] > 0
    assert "small_boat_arrivals_albanian" in result["series"]


def test_every_claim_gets_a_probability_and_its_source(ensemble):
    table = evaluate_claims(ensemble.runs, load_claims())
    assert len(table) >= 4
    assert table["probability"].between(0, 1).all()
    assert table["source"].str.endswith(".txt").all()


def test_unknown_posterior_is_refused():
    with pytest.raises(CorridorInputError, match="posterior"):
        run_ensemble("albania-uk", runs=2, agents=500, posterior="no-such-posterior", scheduler="sync", progress=False)


def test_cli_bad_scheduler_address_exits_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "corridor", "ensemble", "albania-uk", "--runs", "2", "--agents", "500",
         "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "scheduler" in proc.stderr


def test_a_posterior_the_scenario_cannot_take_is_refused_even_beside_an_existing_ensemble(ensemble, tmp_path):
    """`validate --ensemble DIR` does not draw from --posterior, but a damaged one is still refused."""
    from pathlib import Path

    from tests.cli_support import invoke

    ensemble.write(tmp_path / "ens")
    damaged = Path(__file__).parent / "damaged" / "posterior-out-of-bounds"
    refused = invoke("validate", "albania-uk", "--in-sample", "--posterior", damaged, "--ensemble", tmp_path / "ens")
    assert refused.refused_in_one_line() and "is out of bounds" in refused.lines[0], refused.describe()
    shipped = invoke("validate", "albania-uk", "--in-sample", "--ensemble", tmp_path / "ens")
    assert shipped.code == 0, shipped.describe()
