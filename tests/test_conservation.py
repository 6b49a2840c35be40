"""Nobody is lost: every person is in exactly one state every month."""

import numpy as np

from corridor.engine import Simulation
from corridor.states import IS_IN_UK, STOCK_COLUMNS
from tests.conftest import scenario


def test_stocks_sum_to_population_every_month(baseline):
    s = baseline.series
    stocks = s[STOCK_COLUMNS].sum(axis=1).to_numpy()
    np.testing.assert_allclose(stocks, s["population_total"].to_numpy(), rtol=1e-12)
    agents = baseline.agent_stocks[STOCK_COLUMNS].sum(axis=1).to_numpy()
    scale = baseline.manifest["agent_scale_people_per_agent"]
    assert np.array_equal(agents, np.rint(s["population_total"].to_numpy() / scale).astype(np.int64))


def test_population_changes_only_by_births(baseline):
    agents = baseline.agent_stocks[STOCK_COLUMNS].sum(axis=1).to_numpy()
    scale = baseline.manifest["agent_scale_people_per_agent"]
    births = np.rint(baseline.series["births"].to_numpy() / scale).astype(np.int64)
    assert np.array_equal(np.diff(agents), births[1:])
    assert births.sum() > 0


def test_flows_match_stock_changes_of_the_dead(baseline):
    """Deaths in transit accumulate exactly into the dead-in-transit stock."""
    s = baseline.series
    np.testing.assert_allclose(s["deaths_in_transit"].cumsum(), s["dead_in_transit"], rtol=1e-9)


def test_no_person_in_two_states_and_no_invalid_state():
    sim = Simulation(scenario("albania-uk"), agents=5_000, seed=3)
    for t in range(60):
        sim.step(t)
        assert sim.pop.state.min() >= 0 and sim.pop.state.max() <= 12
        assert sim.stocks[t].sum() == sim.pop.capacity


def test_arrivals_by_route_and_by_age_group_add_up(baseline):
    s = baseline.series
    by_route = s["arrivals_lorry"] + s["arrivals_small_boat"]
    by_age = s[["arrivals_age_under18", "arrivals_age_18_24", "arrivals_age_25_39", "arrivals_age_40plus"]].sum(axis=1)
    np.testing.assert_allclose(by_route, s["arrivals"], rtol=1e-9)
    np.testing.assert_allclose(by_age, s["arrivals"], rtol=1e-9)
    assert (s["arrivals_female"] <= s["arrivals"]).all()


def test_the_list_of_persons_in_the_uk_is_kept_complete():
    """The destination keeps its list of persons in the UK from arrivals and the family's joiners
    instead of scanning everyone: with this month's joiners, at the end of every month, it must
    hold exactly the persons in a UK state."""
    sim = Simulation(scenario("albania-uk"), agents=20_000, seed=8)
    for t in range(sim.n_months):
        sim.step(t)
        known = np.concatenate((sim.shared.uk_persons, sim.shared.family_joiners))
        listed = np.sort(known[IS_IN_UK[sim.pop.state[known]]])
        assert np.array_equal(listed, np.flatnonzero(IS_IN_UK[sim.pop.state])), sim.scenario.month_label(t)
