"""The synthetic population: one array per attribute (struct of arrays).

A person is an index. Slots for births later in the horizon are allocated up
front in state ``UNBORN`` and switched on at their birth month, so no array
grows during a run. Ties between persons are a CSR adjacency (``tie_ptr``,
``tie_idx``): kin and friends in the same region, the channel of the network
effect (M2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from corridor.states import ASYLUM_NONE, REGIONS, State


@dataclass
class Population:
    state: np.ndarray  # int8, State
    sex_male: np.ndarray  # bool
    birth_month: np.ndarray  # int16, months relative to the scenario start
    region: np.ndarray  # int8, index into REGIONS
    household: np.ndarray  # int32
    employed: np.ndarray  # bool
    debt_gbp: np.ndarray  # float32, owed to smugglers or gangs
    asylum_status: np.ndarray  # int8
    asylum_decision_month: np.ndarray  # int16, scheduled
    due_month: np.ndarray  # int16, scheduled end of a timed state (arrival, release)
    route: np.ndarray  # int8, route of the last crossing (-1 none)
    lured: np.ndarray  # bool, recruited by a gang for the crossing (M4)
    referred: np.ndarray  # bool, referred as a potential trafficking victim
    departures: np.ndarray  # int8, crossings attempted so far
    tie_ptr: np.ndarray  # int64, CSR row pointers
    tie_idx: np.ndarray  # int32, CSR column indices
    household_region: np.ndarray  # int8
    household_savings_gbp: np.ndarray  # float32

    @property
    def capacity(self) -> int:
        return self.state.shape[0]

    def age_years(self, t: int, persons: np.ndarray | None = None) -> np.ndarray:
        bm = self.birth_month if persons is None else self.birth_month[persons]
        return (t - bm.astype(np.int32)) // 12


def _ages_months(rng: np.random.Generator, n: int, shares: list[float]) -> np.ndarray:
    """Ages drawn from band shares (0-14, 15-29, 30-44, 45-64, 65-89), uniform within a band."""
    edges = np.array([0, 15, 30, 45, 65, 90]) * 12
    probs = np.asarray(shares) / np.sum(shares)
    band = rng.choice(len(probs), size=n, p=probs)
    return rng.integers(edges[band], edges[band + 1])


def build_population(n_agents: int, horizon: int, p, seed: int) -> tuple[Population, int]:
    """Initial population of 2012 plus reserved birth slots.

    ``p`` is the demography parameter namespace. Returns the population and the
    number of initial persons (the rest of the slots are births to come).
    """
    rng = np.random.Generator(np.random.PCG64([seed, 7001]))
    shares = [p.age_share_0_14, p.age_share_15_29, p.age_share_30_44, p.age_share_45_64]
    shares.append(max(1e-6, 1.0 - sum(shares)))
    n_diaspora = int(round(n_agents * p.initial_uk_diaspora_persons / (p.initial_uk_diaspora_persons + p.real_origin_population)))
    n_origin = n_agents - n_diaspora
    births_per_month = p.births_per_1000_per_year / 12000.0 * n_origin
    n_births = int(np.floor(births_per_month * horizon))
    cap = n_agents + n_births

    state = np.full(cap, State.UNBORN, dtype=np.int8)
    state[:n_origin] = State.AT_ORIGIN
    birth_month = np.zeros(cap, dtype=np.int16)
    birth_month[:n_origin] = -_ages_months(rng, n_origin, shares)
    # births are spread evenly over the horizon (a schedule, not a hazard)
    birth_month[n_agents:] = (np.arange(n_births) / max(births_per_month, 1e-9)).astype(np.int16)
    sex_male = rng.random(cap) < p.share_male
    region_probs = np.array([p.region_share_north, p.region_share_tirana_durres, 0.0])
    region_probs[2] = max(1e-6, 1.0 - region_probs[:2].sum())
    region = rng.choice(len(REGIONS), size=cap, p=region_probs / region_probs.sum()).astype(np.int8)

    # the diaspora of 2012: mostly young adult men, spread over UK states
    d = slice(n_origin, n_agents)
    birth_month[d] = -rng.integers(20 * 12, 45 * 12, size=n_diaspora)
    sex_male[d] = rng.random(n_diaspora) < 0.8
    state[d] = _diaspora_states(rng, n_diaspora, p)

    household, household_region, n_households = _households(rng, region, p.household_size_mean)
    tie_ptr, tie_idx = _ties(rng, region, int(p.ties_per_person))
    income_months = p.initial_savings_months_of_income
    savings = rng.lognormal(np.log(max(income_months, 1e-3) * 400.0), 0.8, n_households).astype(np.float32)

    pop = Population(
        state=state,
        sex_male=sex_male,
        birth_month=birth_month,
        region=region,
        household=household,
        employed=np.zeros(cap, dtype=bool),
        debt_gbp=np.zeros(cap, dtype=np.float32),
        asylum_status=np.full(cap, ASYLUM_NONE, dtype=np.int8),
        asylum_decision_month=np.full(cap, -1, dtype=np.int16),
        due_month=np.full(cap, -1, dtype=np.int16),
        route=np.full(cap, -1, dtype=np.int8),
        lured=np.zeros(cap, dtype=bool),
        referred=np.zeros(cap, dtype=bool),
        departures=np.zeros(cap, dtype=np.int8),
        tie_ptr=tie_ptr,
        tie_idx=tie_idx,
        household_region=household_region,
        household_savings_gbp=savings,
    )
    return pop, n_agents


def _diaspora_states(rng: np.random.Generator, n: int, p) -> np.ndarray:
    shares = np.array(
        [p.initial_share_legal_resident, p.initial_share_undocumented, p.initial_share_criminal_exploitation, p.initial_share_in_prison]
    )
    states = np.array([State.LEGAL_RESIDENT, State.UNDOCUMENTED, State.CRIMINAL_EXPLOITATION, State.IN_PRISON], dtype=np.int8)
    return states[rng.choice(4, size=n, p=shares / shares.sum())]


def _households(rng: np.random.Generator, region: np.ndarray, mean_size: float):
    """Group persons of a region into households of about ``mean_size`` members."""
    cap = region.shape[0]
    household = np.empty(cap, dtype=np.int32)
    hh_regions = []
    next_id = 0
    for r in range(len(REGIONS)):
        members = np.flatnonzero(region == r)
        rng.shuffle(members)
        n_hh = max(1, int(round(members.size / mean_size)))
        household[members] = next_id + rng.integers(0, n_hh, size=members.size)
        hh_regions.append(np.full(n_hh, r, dtype=np.int8))
        next_id += n_hh
    return household, np.concatenate(hh_regions), next_id


def _ties(rng: np.random.Generator, region: np.ndarray, k: int):
    """k random ties per person within their region, as CSR arrays."""
    cap = region.shape[0]
    order = np.argsort(region, kind="stable").astype(np.int32)
    counts = np.bincount(region, minlength=len(REGIONS))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    r = region.astype(np.int64)
    pick = starts[r][:, None] + (rng.random((cap, k)) * counts[r][:, None]).astype(np.int64)
    tie_idx = order[pick].reshape(-1).astype(np.int32)
    tie_ptr = np.arange(0, cap * k + 1, k, dtype=np.int64)
    return tie_ptr, tie_idx
