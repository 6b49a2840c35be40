"""The synthetic population: shares as the parameters say, households and villages laid out for fast passes."""

import numpy as np
import pytest

from corridor.engine import Simulation
from corridor.population import N_CHUNKS, build_population
from corridor.states import IS_IN_UK, REGIONS, State
from tests.conftest import scenario

AGENTS, HORIZON = 50_000, 228


@pytest.fixture(scope="module")
def params():
    return Simulation(scenario("albania-uk"), agents=200, seed=1).params["demography"]


@pytest.fixture(scope="module")
def built(params):
    return build_population(AGENTS, HORIZON, params, seed=4)


def test_the_initial_population_has_the_shares_of_the_parameters(built, params):
    pop, n = built
    assert n == AGENTS
    alive = pop.state != State.UNBORN
    at_origin = pop.state == State.AT_ORIGIN
    diaspora = params.initial_uk_diaspora_persons / (params.initial_uk_diaspora_persons + params.real_origin_population)
    assert abs(IS_IN_UK[pop.state].mean() * pop.capacity / AGENTS - diaspora) < 0.002
    region_share = np.bincount(pop.region[at_origin], minlength=len(REGIONS)) / at_origin.sum()
    assert abs(region_share[0] - params.region_share_north) < 0.01
    assert abs(region_share[1] - params.region_share_tirana_durres) < 0.01
    assert abs(pop.sex_male[at_origin].mean() - params.share_male) < 0.01
    young = (pop.age_years(0) >= 15) & (pop.age_years(0) < 30) & at_origin
    assert abs(young.sum() / at_origin.sum() - params.age_share_15_29) < 0.01
    assert alive.sum() == AGENTS


def test_the_diaspora_of_2012_has_its_declared_ages_and_sex_ratio(built, params):
    pop, _ = built
    uk = IS_IN_UK[pop.state]
    age = pop.age_years(0)[uk]
    assert age.min() >= params.diaspora_min_age_years and age.max() < params.diaspora_max_age_years
    assert abs(pop.sex_male[uk].mean() - params.diaspora_share_male) < 0.05


def test_households_are_contiguous_and_chunks_end_on_household_boundaries(built):
    pop, _ = built
    assert np.all(np.diff(pop.household) >= 0)  # persons stored household by household
    starts = pop.household_ptr[:-1]
    assert np.array_equal(pop.household[starts[np.diff(pop.household_ptr) > 0]], np.flatnonzero(np.diff(pop.household_ptr) > 0))
    assert pop.chunk_bounds[0] == 0 and pop.chunk_bounds[-1] == pop.capacity and len(pop.chunk_bounds) == N_CHUNKS + 1
    assert set(pop.chunk_bounds.tolist()) <= set(pop.household_ptr.tolist())
    members_region = pop.region
    assert np.all(members_region == pop.household_region[pop.household])  # a household lives in one region


def test_ties_stay_within_the_region_and_the_village(built, params):
    pop, _ = built
    owner = np.repeat(np.arange(pop.capacity), np.diff(pop.tie_ptr))
    assert np.all(np.diff(pop.tie_ptr) == params.ties_per_person)
    assert np.all(pop.region[pop.tie_idx] == pop.region[owner])
    assert np.abs(pop.tie_idx - owner).max() <= params.village_size_persons // 2


def test_births_are_scheduled_through_the_horizon_in_reserved_slots(built, params):
    pop, _ = built
    unborn = pop.state == State.UNBORN
    months = pop.birth_month[unborn]
    assert months.min() >= 0 and months.max() < HORIZON
    diaspora = params.initial_uk_diaspora_persons / (params.initial_uk_diaspora_persons + params.real_origin_population)
    expected = params.births_per_1000_per_year / 1000 / 12 * (AGENTS * (1 - diaspora)) * HORIZON
    assert abs(unborn.sum() - expected) / expected < 0.02
    assert np.all(pop.death_month[~unborn] >= 0)  # nobody of 2012 is scheduled to have died before it


def test_the_same_seed_builds_the_same_population(params):
    a, _ = build_population(5_000, HORIZON, params, seed=9)
    b, _ = build_population(5_000, HORIZON, params, seed=9)
    c, _ = build_population(5_000, HORIZON, params, seed=10)
    for field in ("state", "birth_month", "region", "household", "tie_idx", "household_savings_gbp"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert not np.array_equal(a.birth_month, c.birth_month)
