"""Validation metrics: coverage, CRPS and MASE per series, in and out of sample; the surge check."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from corridor.observed import load_mapping, load_observed
from corridor.validation import crps_sample, naive_scale, validate


def test_sample_crps_matches_the_closed_form_of_a_normal():
    rng = np.random.default_rng(0)
    draws = rng.normal(0.0, 2.0, size=(3, 40_000))
    y = np.array([0.0, 1.0, -3.0])
    z = y / 2.0
    exact = 2.0 * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    assert crps_sample(draws, y) == pytest.approx(exact, rel=0.02)


def test_crps_ignores_missing_draws_and_rewards_sharp_correct_forecasts():
    sharp = crps_sample(np.array([[9.0, 10.0, 11.0, np.nan]]), np.array([10.0]))[0]
    wide = crps_sample(np.array([[0.0, 10.0, 20.0]]), np.array([10.0]))[0]
    assert 0 < sharp < wide
    assert crps_sample(np.array([[5.0, 5.0]]), np.array([5.0]))[0] == 0.0


def test_the_naive_scale_uses_consecutive_periods_of_one_kind():
    boats = load_observed(["small_boat_arrivals_albanian_quarterly"])["small_boat_arrivals_albanian_quarterly"]
    v = boats.values
    assert naive_scale(boats) == pytest.approx(np.mean(np.abs(np.diff(v))))


def _observables(observed, factor: float, runs: int = 200, seed: int = 0) -> pd.DataFrame:
    """A fake ensemble: each observation times a log-normal error of sd 0.3, times ``factor``."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, obs in observed.items():
        for period, value in zip(obs.periods, obs.values, strict=True):
            draws = value * factor * rng.lognormal(0.0, 0.3, size=runs)
            rows += [(r, name, period, v, v) for r, v in enumerate(draws)]
    return pd.DataFrame(rows, columns=["run", "series", "period", "expected", "value"])


def test_an_honest_ensemble_covers_and_a_biased_one_does_not():
    observed = load_observed()
    honest = validate(_observables(observed, 1.0), from_year=2021, observed=observed, fit_until=2020)
    biased = validate(_observables(observed, 3.0), from_year=2021, observed=observed, fit_until=2020)
    assert honest["overall"]["coverage90"] == 1.0 and honest["overall"]["coverage50"] == 1.0
    assert biased["overall"]["coverage90"] == 0.0
    assert biased["overall"]["mase_mean_over_series"] > honest["overall"]["mase_mean_over_series"]
    s = honest["series"]["returns_enforced"]
    assert s["n"] == 3 and s["fitted"] and s["crps"] > 0
    # in sample: the fitted series only, their fitted periods, up to the fit year
    inside = honest["in_sample"]["series"]
    assert "returns_total" not in inside  # fit: false
    assert [p["period"] for p in inside["small_boat_arrivals_albanian"]["points"]] == ["2018", "2019", "2020"]
    assert all(s["coverage90"] == 1.0 for s in inside.values())


def test_the_surge_check_reads_the_peak_and_the_trough():
    observed = load_observed(["small_boat_arrivals_albanian", "small_boat_arrivals_albanian_quarterly", "returns_enforced"])
    result = validate(_observables(observed, 1.0), from_year=2021, observed=observed)
    surge = result["surge"]
    assert surge["surge_2022_direction"] and surge["fall_2023_direction"]
    peak, trough = surge["quarterly"]["peak"], surge["quarterly"]["trough"]
    assert peak["period"] == "2022Q3" and peak["within_factor_2"] and peak["median_extreme_quarter"] == "2022Q3"
    assert trough["median_extreme_quarter"] == "2023Q1" and trough["within_factor_2"]
    enforced = result["enforced_returns_2023"]
    assert enforced["observed"] == 2501 and enforced["ok"]
    tripled = validate(_observables(observed, 3.0), from_year=2021, observed=observed)
    assert not tripled["surge"]["quarterly"]["peak"]["within_factor_2"]
    assert not tripled["enforced_returns_2023"]["ok"]


def test_the_components_of_the_turn_are_checked_one_by_one():
    """A total of returns can be right with the wrong parts: each part is held against the record."""
    observed = load_observed(["returns_enforced", "returns_voluntary", "foreign_national_offender_returns"])
    obs = _observables(observed, 1.0)
    voluntary_low = obs["series"] == "returns_voluntary"
    obs.loc[voluntary_low, ["expected", "value"]] /= 4  # a quarter of the voluntary returns, as before the fix
    checks = {(c["series"], c["period"]): c for c in validate(obs, from_year=2021, observed=observed)["components"]}
    assert set(checks) == {(s, p) for s in observed for p in ("2022", "2023")}
    assert checks[("returns_voluntary", "2023")]["observed"] == 3270
    assert not checks[("returns_voluntary", "2023")]["ok"] and checks[("returns_enforced", "2023")]["ok"]
    assert checks[("foreign_national_offender_returns", "2022")]["ok"]


def test_ensemble_observables_carry_noise_drawn_reproducibly_from_the_seed():
    from corridor.ensemble import run_ensemble

    def draw():
        return run_ensemble("albania-uk", runs=2, agents=500, seed=4, scheduler="sync", progress=False)

    first, again = draw(), draw()
    pd.testing.assert_frame_equal(first.observables, again.observables)
    obs = first.observables
    assert {"expected", "value"} <= set(obs.columns)
    assert (obs["value"] != obs["expected"]).mean() > 0.9  # the noise is drawn, not the expectation copied
    assert "observation/structural" in first.meta["observables_uncertainty"]["value"]
    # every series' outputs are recorded: only a share whose denominator was zero in these two
    # small runs (no referrals in 2023 at 500 agents) can be missing
    missing = set(first.meta["series_not_in_runs"])
    assert "nrm_referrals_albanian_small_boat_arrivals" in set(obs["series"])
    mapping = load_mapping()
    assert all(mapping.series[s].aggregate == "ratio" for s in missing)


def test_cli_validate_in_sample_writes_both_blocks(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "v.json"
    cmd = [sys.executable, "-m", "corridor", "validate", "albania-uk", "--in-sample", "--runs", "2", "--agents", "500",
           "--scheduler", "sync", "--json", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "in sample, fitted points up to 2023" in proc.stdout and "2022Q3" in proc.stdout
    result = json.loads(out.read_text())
    assert result["fit_until"] == 2023 and result["from_year"] == 2024
    assert set(result["in_sample"]["series"]) <= set(load_observed())


def test_series_copied_into_the_scenario_are_scored_apart_from_forecasts():
    """A band around an input read from the record is no forecast: the headline pools predicted series."""
    observed = load_observed()
    inputs = {n for n, m in load_mapping().series.items() if m.scenario_input}
    assert {"asylum_initial_grant_rate", "asylum_initial_grant_rate_quarterly", "unemployment_rate_albania"} <= inputs
    obs = _observables(observed, 3.0)
    exact = _observables({n: observed[n] for n in inputs}, 1.0)
    obs = pd.concat([obs[~obs["series"].isin(inputs)], exact])
    result = validate(obs, from_year=2021, observed=observed, fit_until=2020)
    assert result["overall"]["coverage90"] == 0.0  # every predicted series is biased
    assert result["overall_scenario_inputs"]["coverage90"] == 1.0
    n_inputs = sum(result["series"][n]["n"] for n in inputs)
    assert result["overall"]["n"] + n_inputs == result["overall_all_series"]["n"]
    assert all(result["series"][n]["scenario_input"] for n in inputs)


def test_the_grant_rate_series_are_what_the_scenario_sets():
    """The scenario_input flag of the grant rates holds: each period's adults' rate is the record's."""
    from corridor.scenario import load_scenario

    events = {e.id: e for e in load_scenario("albania-uk").events}
    for name in ("asylum_initial_grant_rate", "asylum_initial_grant_rate_quarterly"):
        s = load_observed([name])[name]
        for period, value in zip(s.periods, s.values, strict=True):
            event = events.get(f"grant-rate-{period.lower()}")
            if event is None:  # the yearly 2023 rate: the quarterly events set it
                assert name == "asylum_initial_grant_rate" and period == "2023"
                continue
            assert event.set["destination.p_grant_adult"] == pytest.approx(value / 100, abs=1e-3)
