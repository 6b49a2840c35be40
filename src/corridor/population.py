"""The synthetic population: one array per attribute (struct of arrays).

A person is an index. Slots for births later in the horizon are allocated up
front in state ``UNBORN`` and switched on at their birth month, so no array
grows during a run. Ties between persons are a CSR adjacency (``tie_ptr``,
``tie_idx``) to neighbours in the same village (nearby households of the same
region), the channel of the network effect (M2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from corridor.rng import uniform_at
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
    due_month: np.ndarray  # int16, scheduled end of a timed state (arrival, release from prison)
    decision_month: np.ndarray  # int16, scheduled month of the asylum decision
    death_month: np.ndarray  # int16, scheduled month of death from other causes
    route: np.ndarray  # int8, route of the last crossing (-1 none)
    lured: np.ndarray  # bool, recruited by a gang for the crossing (M4)
    referred: np.ndarray  # bool, referred as a potential trafficking victim
    departures: np.ndarray  # int8, crossings attempted so far
    return_kind: np.ndarray  # int8, how the person last left the UK (RETURN_KINDS; 0 never)
    tie_ptr: np.ndarray  # int64, CSR row pointers
    tie_idx: np.ndarray  # int32, CSR column indices
    household_region: np.ndarray  # int8
    household_savings_gbp: np.ndarray  # float32
    household_ptr: np.ndarray  # int64, persons of household h are household_ptr[h]:household_ptr[h + 1]
    chunk_bounds: np.ndarray  # int64, N_CHUNKS + 1 household-aligned bounds for parallel passes

    @property
    def capacity(self) -> int:
        return self.state.shape[0]

    @property
    def n_households(self) -> int:
        return self.household_ptr.shape[0] - 1

    def age_years(self, t: int, persons: np.ndarray | None = None) -> np.ndarray:
        bm = self.birth_month if persons is None else self.birth_month[persons]
        return (t - bm.astype(np.int32)) // 12


# the age bands of the demography's age shares (the last band, 65-89, takes the rest)
AGE_BAND_EDGES_YEARS = (0, 15, 30, 45, 65, 90)
MIN_SAVINGS_MONTHS = 1e-3  # a numerical floor: the log-normal needs a positive median


def _ages_months(rng: np.random.Generator, n: int, shares: list[float]) -> np.ndarray:
    """Ages drawn from band shares (0-14, 15-29, 30-44, 45-64, 65-89), uniform within a band."""
    edges = np.array(AGE_BAND_EDGES_YEARS) * 12
    probs = np.asarray(shares) / np.sum(shares)
    band = rng.choice(len(probs), size=n, p=probs)
    return rng.integers(edges[band], edges[band + 1])


def build_population(n_agents: int, horizon: int, p, seed: int) -> tuple[Population, int]:
    """Initial population of 2012 plus reserved birth slots.

    ``p`` is the demography parameter namespace. Persons are stored household by
    household (a household is a contiguous index range, households ordered by
    region), so a pass over persons is a pass over households and villages too.
    Returns the population and the number of initial persons (the rest of the
    slots are births to come).
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
    birth_month[d] = -rng.integers(int(p.diaspora_min_age_years * 12), int(p.diaspora_max_age_years * 12), size=n_diaspora)
    sex_male[d] = rng.random(n_diaspora) < p.diaspora_share_male
    state[d] = _diaspora_states(rng, n_diaspora, p)
    death_month = _death_months(rng, birth_month, p.mortality_gompertz_a_per_year, p.mortality_gompertz_b_per_year)

    household, household_region, n_households = _households(rng, region, p.household_size_mean)
    order = np.argsort(household, kind="stable")
    state, birth_month, sex_male, region, household, death_month = (
        a[order] for a in (state, birth_month, sex_male, region, household, death_month)
    )
    household_ptr = np.concatenate(([0], np.cumsum(np.bincount(household, minlength=n_households)))).astype(np.int64)
    tie_ptr, tie_idx = _village_ties(rng, region, p.ties_per_person, p.village_size_persons)
    income_months = p.initial_savings_months_of_income
    median_savings = max(income_months, MIN_SAVINGS_MONTHS) * p.initial_household_income_gbp_month
    savings = rng.lognormal(np.log(median_savings), p.initial_savings_sigma, n_households).astype(np.float32)

    pop = Population(
        state=state,
        sex_male=sex_male,
        birth_month=birth_month,
        region=region,
        household=household,
        employed=np.zeros(cap, dtype=bool),
        debt_gbp=np.zeros(cap, dtype=np.float32),
        asylum_status=np.full(cap, ASYLUM_NONE, dtype=np.int8),
        due_month=np.full(cap, -1, dtype=np.int16),
        decision_month=np.full(cap, -1, dtype=np.int16),
        death_month=death_month,
        route=np.full(cap, -1, dtype=np.int8),
        lured=np.zeros(cap, dtype=bool),
        referred=np.zeros(cap, dtype=bool),
        departures=np.zeros(cap, dtype=np.int8),
        return_kind=np.zeros(cap, dtype=np.int8),
        tie_ptr=tie_ptr,
        tie_idx=tie_idx,
        household_region=household_region,
        household_savings_gbp=savings,
        household_ptr=household_ptr,
        chunk_bounds=_chunk_bounds(household_ptr, cap),
    )
    return pop, n_agents


N_CHUNKS = 64  # fixed, so results never depend on the number of threads


def _chunk_bounds(household_ptr: np.ndarray, cap: int) -> np.ndarray:
    """Split persons into chunks that end on household boundaries (for race-free parallel passes)."""
    targets = np.linspace(0, cap, N_CHUNKS + 1)
    bounds = household_ptr[np.searchsorted(household_ptr, targets)]
    bounds[0], bounds[-1] = 0, cap
    return np.maximum.accumulate(bounds).astype(np.int64)


def _death_months(rng: np.random.Generator, birth_month: np.ndarray, a: float, b: float) -> np.ndarray:
    """Month of death drawn once from a Gompertz law, given survival to the start (or birth).

    Scheduling the event once replaces a monthly hazard draw for every living person."""
    age0 = np.maximum(-birth_month.astype(np.float64), 0.0) / 12.0
    u = rng.random(birth_month.shape[0])
    age_at_death = np.log(np.exp(b * age0) - (b / max(a, 1e-12)) * np.log1p(-u)) / b
    month = birth_month + np.floor(age_at_death * 12.0)
    return np.clip(month, -32000, 32000).astype(np.int16)


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


@nb.njit(cache=True)
def _village_tie_kernel(region_start, region_size, k, half, key):
    n = region_start.shape[0]
    tie_idx = np.empty(n * k, dtype=np.int32)
    for i in range(n):
        lo, size = region_start[i], region_size[i]
        for j in range(k):
            x = uniform_at(key, j, i)
            step = 1 + int(x * 2 * half) % half  # 1..half
            pos = i - lo + (step if x < 0.5 else -step)
            if pos < 0:
                pos = -pos  # reflect at the edges of the region block
            if pos >= size:
                pos = 2 * (size - 1) - pos
            tie_idx[i * k + j] = lo + min(max(pos, 0), size - 1)
    return tie_idx


def _village_ties(rng: np.random.Generator, region: np.ndarray, k: int, village: int):
    """k ties per person to others in the same village (a window of neighbouring
    households in the same region), as CSR arrays. Neighbouring indices are
    neighbouring households, so kin and neighbours share their news from abroad."""
    cap = region.shape[0]
    counts = np.bincount(region, minlength=len(REGIONS))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    key = np.uint64(rng.integers(0, 2**63))
    tie_idx = _village_tie_kernel(starts[region], counts[region], k, max(1, village // 2), key)
    tie_ptr = np.arange(0, cap * k + 1, k, dtype=np.int64)
    return tie_ptr, tie_idx
