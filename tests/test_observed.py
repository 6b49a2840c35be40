"""The observed series, their mapping to model outputs and the observation (noise) model."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from corridor.errors import CorridorInputError
from corridor.observed import (
    CUTOFF_YEAR,
    Noise,
    ObservationModel,
    check_mapping_outputs,
    data_dir,
    draw_noise,
    expected_observed,
    fit_window,
    load_mapping,
    load_observed,
    log_likelihood,
    parse_period,
    read_series_csv,
)

HEADER = "period,value,unit,source_title,source_url,note\n"


def test_every_shipped_series_is_mapped_and_ends_by_the_cutoff():
    observed = load_observed()
    mapping = load_mapping()
    shipped = {p.stem for p in data_dir().glob("*.csv")}
    assert shipped == set(mapping.series) == set(observed)
    for name, obs in observed.items():
        assert obs.years().max() <= CUTOFF_YEAR, name
    boats = observed["small_boat_arrivals_albanian_quarterly"].frame.set_index("period")["value"]
    assert boats["2022Q3"] == 9044 and boats["2023Q1"] == 28
    # the quarters add up to the years they replace in the fit
    yearly = observed["small_boat_arrivals_albanian"].frame.set_index("period")["value"]
    assert boats[[f"2022Q{q}" for q in range(1, 5)]].sum() == yearly["2022"]


def test_every_series_is_fitted_or_says_why_not():
    mapping = load_mapping()
    for name, m in mapping.series.items():
        assert m.fit or len(m.reason) > 20, name
        assert not m.not_fitted_periods or len(m.reason) > 20, name
    fitted = set(mapping.fitted())
    for required in (
        "small_boat_arrivals_albanian_quarterly",
        "asylum_applications_main",
        "nrm_referrals_albanian",
        "prisoners_albanian_england_wales",
        "returns_enforced",
        "returns_voluntary",
        "foreign_national_offender_returns",
        "detected_at_uk_ports",
        "stopped_at_juxtaposed_controls",
        "dead_and_missing_route_to_uk",
        "remittances_inflow",
        "remittances_from_uk",
    ):
        assert required in fitted


def _mapping_with(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load((data_dir() / "mapping.yaml").read_text())
    edit(data)
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda d: d["series"]["returns_total"].pop("reason"), r"series\.returns_total: .*needs a reason"),
        (
            lambda d: d["series"]["returns_enforced"]["noise"].update(dispersion="observation.undeclared"),
            r"observation\.undeclared is not declared",
        ),
        (lambda d: d["series"]["returns_enforced"].update(aggregate="ratio"), r"a ratio needs a denominator"),
        (
            lambda d: d["parameters"]["observation.prisoners_cv"].update(prior={"dist": "fixed"}),
            r"needs a proper prior",
        ),
    ],
)
def test_a_bad_mapping_is_refused_in_one_line(tmp_path: Path, edit, expected):
    from corridor.observed import load_mapping as load

    with pytest.raises(CorridorInputError, match=expected) as info:
        load(_mapping_with(tmp_path, edit))
    assert "\n" not in str(info.value)


def test_partial_series_have_reporting_factors_with_priors():
    mapping = load_mapping()
    assert mapping.series["prisoners_albanian_england_wales"].observation.multiply_by == [
        "observation.prison_share_england_wales"
    ]
    # the model's remittances are a part of the UK's, which are a part of all inflows
    inflow = mapping.series["remittances_inflow"].observation.divide_by
    assert inflow == ["observation.corridor_share_of_uk_remittances", "observation.uk_share_of_remittance_inflow"]
    assert mapping.series["remittances_from_uk"].observation.divide_by == inflow[:1]
    for key in mapping.factor_priors():
        assert mapping.parameters[key].prior.dist != "fixed"


def test_mapping_covers_only_existing_model_outputs():
    from corridor.engine import Simulation
    from corridor.scenario import load_scenario

    columns = list(Simulation(load_scenario("albania-uk"), agents=300, seed=1).run().series.columns)
    mapping = load_mapping()
    check_mapping_outputs(mapping, columns)
    with pytest.raises(CorridorInputError, match="not a model output"):
        mapping.series["returns_enforced"].outputs = ["no_such_output"]
        check_mapping_outputs(mapping, columns)


def test_periods_are_years_quarters_or_months():
    assert parse_period("2022Q3").months == ["2022-07", "2022-08", "2022-09"]
    assert parse_period("2023").n_months == 12 and parse_period("2019-03").months == ["2019-03"]
    for bad in ("2022Q5", "2022-13", "22", "2011-2020"):
        with pytest.raises(ValueError, match="not a period"):
            parse_period(bad)


def _monthly(values: dict[str, np.ndarray]) -> pd.DataFrame:
    months = [f"{y}-{m:02d}" for y in (2022, 2023) for m in range(1, 13)]
    return pd.DataFrame({"month": months, **values})


def test_quarters_sum_flows_take_stocks_at_the_month_and_ratios_over_the_period():
    mapping = load_mapping()
    flows = np.arange(24, dtype=float)
    series = _monthly(
        {
            "expected_arrivals_small_boat": flows,
            "asylum_grants": np.full(24, 1.0),
            "asylum_refusals": np.full(24, 3.0),
            "prison_population": flows * 10,
        }
    )
    periods = {
        "small_boat_arrivals_albanian_quarterly": ["2022Q3", "2023Q1", "2024Q1"],
        "asylum_initial_grant_rate_quarterly": ["2023Q2"],
        "prisoners_albanian_england_wales": ["2023-03"],
    }
    e = expected_observed(series, mapping, periods, {"observation.prison_share_england_wales": 0.9})
    assert e["small_boat_arrivals_albanian_quarterly"][:2].tolist() == [6 + 7 + 8, 12 + 13 + 14]
    assert np.isnan(e["small_boat_arrivals_albanian_quarterly"][2])  # outside the run
    assert e["asylum_initial_grant_rate_quarterly"][0] == pytest.approx(25.0)  # percent
    assert e["prisoners_albanian_england_wales"][0] == pytest.approx(0.9 * 140)


def test_a_count_the_run_records_as_zero_is_floored_at_half_an_agent():
    mapping = load_mapping()
    series = _monthly({"removals": np.zeros(24), "expected_arrivals_small_boat": np.full(24, 0.5)})
    series.attrs["people_per_agent"] = 140.0
    periods = {"returns_enforced": ["2023"], "small_boat_arrivals_albanian": ["2023"]}
    e = expected_observed(series, mapping, periods, {})
    assert e["returns_enforced"][0] == 70.0
    assert e["small_boat_arrivals_albanian"][0] == 6.0  # an expected flow is not a count of agents


def test_a_missing_output_names_itself():
    mapping = load_mapping()
    with pytest.raises(CorridorInputError, match="trafficking_referrals_small_boat"):
        expected_observed(_monthly({}), mapping, {"nrm_referrals_albanian_small_boat_arrivals": ["2022"]}, {})


@pytest.mark.parametrize(
    "noise, y, mu, d, reference",
    [
        ("negative_binomial", 13.0, 40.0, 0.5, stats.nbinom.logpmf(13, 4.0, 4.0 / 44.0)),
        ("lognormal", 5e8, 4e8, 0.3, stats.lognorm.logpdf(5e8, 0.3, scale=4e8 * np.exp(-0.045))),
        ("beta", 20.0, 25.0, 50.0, stats.beta.logpdf(0.2, 12.5, 37.5) - np.log(100)),
    ],
)
def test_noise_densities_match_scipy(noise, y, mu, d, reference):
    model = Noise(family=noise, dispersion=d, upper=100 if noise == "beta" else 1)
    assert log_likelihood(model, y, mu, d) == pytest.approx(reference, rel=1e-9)


@pytest.mark.parametrize("family, mu, d", [("negative_binomial", 900.0, 0.3), ("lognormal", 2e6, 0.4)])
def test_noise_draws_have_the_stated_mean_and_spread(family, mu, d):
    model = Noise(family=family, dispersion=d)
    rng = np.random.default_rng(1)
    draws = np.array([draw_noise(model, mu, d, rng) for _ in range(20_000)])
    assert draws.mean() == pytest.approx(mu, rel=0.02)
    sd = np.sqrt(mu + (d * mu) ** 2) if family == "negative_binomial" else mu * np.sqrt(np.exp(d**2) - 1)
    assert draws.std() == pytest.approx(sd, rel=0.05)


def test_the_dispersion_posterior_follows_the_misfit():
    mapping = load_mapping()
    observed = fit_window(load_observed(["returns_enforced"]), mapping, 2012, 2023)
    model = ObservationModel(mapping, observed)
    y = observed["returns_enforced"].values
    rng = np.random.default_rng(0)
    close = [model.draw_dispersion("returns_enforced", {"returns_enforced": y * 1.05}, rng) for _ in range(200)]
    far = [model.draw_dispersion("returns_enforced", {"returns_enforced": y * 3.0}, rng) for _ in range(200)]
    assert np.median(far) > 3 * np.median(close)
    # and the likelihood prefers expectations near the data
    assert model.log_likelihood({"returns_enforced": y}) > model.log_likelihood({"returns_enforced": 3 * y})


def test_the_likelihood_splits_by_dispersion_group_and_moves_only_where_the_misfit_is():
    mapping = load_mapping()
    names = ["returns_enforced", "returns_voluntary", "small_boat_arrivals_albanian"]
    observed = fit_window(load_observed(names), mapping, 2012, 2023)
    model = ObservationModel(mapping, observed)
    fit = {k: s.values * 1.1 for k, s in observed.items()}
    groups = model.group_log_likelihoods(fit)
    assert len(groups) == 3 and sum(groups.values()) == pytest.approx(model.log_likelihood(fit))
    worse = model.group_log_likelihoods({**fit, "returns_voluntary": observed["returns_voluntary"].values * 4})
    moved = {g for g in groups if worse[g] != groups[g]}
    assert moved == {model.group_of("returns_voluntary")} and worse[model.group_of("returns_voluntary")] < groups[model.group_of("returns_voluntary")]


def test_predictive_draws_are_reproducible_and_independent_of_the_other_periods():
    mapping = load_mapping()
    model = ObservationModel(mapping, {})
    a = model.draw("returns_enforced", ["2022", "2023"], np.array([900.0, 2500.0]), None, seed=5)
    b = model.draw("returns_enforced", ["2023"], np.array([2500.0]), None, seed=5)
    assert a[1] == b[0]
    assert model.draw("returns_enforced", ["2023"], np.array([2500.0]), None, seed=6)[0] != b[0]


@pytest.mark.parametrize(
    "body, expected",
    [
        (HEADER + "2019,13,people,Home Office,,\n2020,many,people,Home Office,,\n", r"bad\.csv: row 3: column value"),
        (HEADER + "2019,-5,people,Home Office,,\n", r"bad\.csv: row 2: column value"),
        (HEADER + "2019,13,people,,,\n", r"bad\.csv: row 2: column source_title"),
        (HEADER + "2019,13,people,Home Office,ftp://x,\n", r"bad\.csv: row 2: column source_url"),
        (
            HEADER + "2019,13,people,Home Office,,\n2019,14,people,Home Office,,\n",
            r"bad\.csv: row 3: column period: duplicate",
        ),
        (HEADER + "2019Q5,13,people,Home Office,,\n", r"bad\.csv: row 2: column period: '2019Q5' is not a period"),
        (HEADER + "2024Q1,13,people,Home Office,,\n", r"bad\.csv: row 2: column period: 2024Q1 is after 2023"),
        ("year,value,unit\n2019,13,people\n", r"bad\.csv: row 1 \(header\)"),
        (HEADER + "2019,13,people,Home Office\n", r"bad\.csv: row 2: has 4 fields"),
    ],
)
def test_malformed_csv_is_refused_with_file_row_and_column(tmp_path: Path, body: str, expected: str):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(CorridorInputError, match=expected) as info:
        read_series_csv(path)
    assert "\n" not in str(info.value)


def test_an_older_file_with_a_month_column_still_reads(tmp_path: Path):
    path = tmp_path / "p.csv"
    path.write_text("month,value,unit,source_title,source_url,note\n2019-03,817,people,MoJ,,\n")
    obs = read_series_csv(path)
    assert obs.kind == "month" and obs.periods == ["2019-03"]
