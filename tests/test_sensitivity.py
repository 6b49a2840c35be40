"""Sensitivity analysis ranks the assumptions that drive an answer."""

import pytest

from corridor.errors import CorridorInputError
from corridor.sensitivity import morris, uncertain_parameters
from tests.conftest import scenario

SUBSET = ["family.base_logit_per_month", "destination.p_found_per_month", "exploitation.recruitment_rate_per_month"]


def test_the_departure_level_drives_departures_more_than_finding_missing_children():
    table = morris(scenario("albania-uk"), ["departures", "in_criminal_exploitation"], trajectories=2, agents=3_000, parameters=SUBSET)
    dep = table[table["output"] == "departures"].set_index("parameter")
    assert dep.loc["family.base_logit_per_month", "rank"] == 1
    assert dep.loc["family.base_logit_per_month", "mu_star"] > 10 * dep.loc["destination.p_found_per_month", "mu_star"]
    assert set(table["output"]) == {"departures", "in_criminal_exploitation"}


def test_ranges_are_the_prior_central_90_percent_within_bounds():
    ranges = uncertain_parameters(scenario("albania-uk"))
    lo, hi = ranges["family.base_logit_per_month"]  # prior U(-10.5, -7.5)
    assert lo == pytest.approx(-10.35) and hi == pytest.approx(-7.65)
    assert "demography.real_origin_population" not in ranges  # fixed prior: not varied
    assert all(lo < hi for lo, hi in ranges.values())


def test_a_fixed_or_unknown_parameter_is_refused():
    with pytest.raises(CorridorInputError, match="not an uncertain parameter"):
        uncertain_parameters(scenario("albania-uk"), ["demography.real_origin_population"])
