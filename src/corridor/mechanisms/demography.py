"""Demography of the origin population: births, deaths, emigration elsewhere.

Not one of M1-M11 but the ground they stand on: young men age into the
decision window, children are born during the horizon, and most Albanian
emigration goes to other countries (albania_population.csv: 423,700 emigrants
in 2011-2020, 242,800 returns), which empties the origin regions too.

Births follow a schedule fixed at initialisation (reserved slots), and each
person's month of death is drawn once from a Gompertz law (population.py), so
the monthly pass only compares months; emigration to and return from other
countries are monthly hazards.
"""

import numba as nb
import numpy as np
from pydantic import Field

from corridor.kernels import person_pass
from corridor.mechanisms.base import COUNT, Mechanism, MechanismParams
from corridor.rng import uniform_at
from corridor.states import IN_UK, REGIONS, State


class DemographyParams(MechanismParams):
    real_origin_population: float = Field(ge=1_000, le=10_000_000, description="persons at origin in 2012")
    initial_uk_diaspora_persons: float = Field(ge=0, le=1_000_000)
    share_male: float = Field(ge=0.3, le=0.7)
    age_share_0_14: float = Field(ge=0, le=0.5)
    age_share_15_29: float = Field(ge=0, le=0.5)
    age_share_30_44: float = Field(ge=0, le=0.5)
    age_share_45_64: float = Field(ge=0, le=0.5)
    region_share_north: float = Field(ge=0.01, le=0.9)
    region_share_tirana_durres: float = Field(ge=0.01, le=0.9)
    household_size_mean: float = Field(ge=1, le=10, description="persons per household")
    ties_per_person: float = Field(ge=1, le=50, description="kin and friend ties, integer")
    village_size_persons: float = Field(ge=10, le=100_000, description="agents (neighbouring index positions) among whom ties are formed")
    initial_savings_months_of_income: float = Field(ge=0, le=120)
    initial_share_legal_resident: float = Field(ge=0, le=1)
    initial_share_undocumented: float = Field(ge=0, le=1)
    initial_share_criminal_exploitation: float = Field(ge=0, le=1)
    initial_share_in_prison: float = Field(ge=0, le=1)
    births_per_1000_per_year: float = Field(ge=0, le=50)
    mortality_gompertz_a_per_year: float = Field(ge=0, le=0.01)
    mortality_gompertz_b_per_year: float = Field(ge=0.01, le=0.2)
    emigration_elsewhere_rate_per_year: float = Field(ge=0, le=0.5, description="ages 18-39 at origin")
    return_from_elsewhere_rate_per_year: float = Field(ge=0, le=0.5)


_IN_UK = np.array([int(s) for s in IN_UK], dtype=np.int8)


@person_pass
def _demography_kernel(draws, state, birth_month, death_month, sex_male, region, bounds, t, k_emig, p_emig, p_return, in_uk, young, origin_pop):
    """Births, deaths, emigration elsewhere and returns, and the census of young men.

    One pass, in parallel over household-aligned chunks; each chunk keeps its own
    counters, so the result does not depend on the number of threads."""
    n_chunks = bounds.shape[0] - 1
    n_regions = origin_pop.shape[0]
    counts = np.zeros((n_chunks, 4), dtype=np.int64)  # births, deaths, emigrated, returned
    young_c = np.zeros((n_chunks, n_regions, 2), dtype=np.int64)
    origin_c = np.zeros((n_chunks, n_regions), dtype=np.int64)
    uk = np.zeros(16, dtype=np.bool_)
    for c in in_uk:
        uk[c] = True
    emig_oldest = t - 40 * 12  # born after this month: younger than 40
    emig_youngest = t - 18 * 12
    for c in nb.prange(n_chunks):
        for i in range(bounds[c], bounds[c + 1]):
            draws[i] = uniform_at(k_emig, t, i)  # a tight loop first: hashing pipelines there
        for i in range(bounds[c], bounds[c + 1]):
            s = state[i]
            if s == 0:  # UNBORN
                if birth_month[i] != t:
                    continue
                state[i] = s = 1
                counts[c, 0] += 1
            elif s == 11 or s == 12:  # dead
                continue
            if death_month[i] == t:
                state[i] = 12
                counts[c, 1] += 1
                continue
            b = birth_month[i]
            # branch-free draws and counts: ages and sexes are mixed within households
            x = draws[i]
            leaves = (s == 1) & (b > emig_oldest) & (b <= emig_youngest) & (x < p_emig)
            comes_back = (s == 10) & (x < p_return)
            s = 10 if leaves else (1 if comes_back else s)
            state[i] = s
            counts[c, 2] += leaves
            counts[c, 3] += comes_back
            r = region[i]
            origin_c[c, r] += s == 1
            young_man = sex_male[i] & (b > t - 30 * 12) & (b <= t - 15 * 12)
            young_c[c, r, 0] += young_man & (s == 1)
            young_c[c, r, 1] += young_man & uk[s]
    totals = np.zeros(4, dtype=np.int64)
    for c in range(n_chunks):
        for k in range(4):
            totals[k] += counts[c, k]
        for r in range(n_regions):
            origin_pop[r] += origin_c[c, r]
            young[r, 0] += young_c[c, r, 0]
            young[r, 1] += young_c[c, r, 1]
    return totals


class Demography(Mechanism):
    name = "demography"
    mechanism_id = "D"
    Params = DemographyParams
    outputs = {
        "births": COUNT,
        "deaths_other": COUNT,
        "emigrated_elsewhere": COUNT,
        "returned_from_elsewhere": COUNT,
        "origin_young_men": COUNT,
        **{f"origin_young_men_{r}": COUNT for r in REGIONS},
    }

    def init(self, sim):
        # [region, 0=at origin / 1=in the UK] young men 15-29, refreshed each month
        sim.young_men = np.zeros((len(REGIONS), 2), dtype=np.int64)
        sim.origin_population_by_region = np.zeros(len(REGIONS), dtype=np.int64)

    def begin_month(self, sim, t):
        p = sim.p.demography
        pop = sim.pop
        sim.young_men[:] = 0
        sim.origin_population_by_region[:] = 0
        births, deaths, emig, ret = _demography_kernel(
            sim.threads, sim.draws,
            pop.state, pop.birth_month, pop.death_month, pop.sex_male, pop.region, pop.chunk_bounds, t,
            sim.streams.key("demography.emigration"),
            1.0 - (1.0 - p.emigration_elsewhere_rate_per_year) ** (1 / 12),
            1.0 - (1.0 - p.return_from_elsewhere_rate_per_year) ** (1 / 12),
            _IN_UK, sim.young_men, sim.origin_population_by_region,
        )  # fmt: skip
        sim.count("births", births)
        sim.count("deaths_other", deaths)
        sim.count("emigrated_elsewhere", emig)
        sim.count("returned_from_elsewhere", ret)
        sim.count("origin_young_men", sim.young_men[:, 0].sum())
        for r, name in enumerate(REGIONS):
            sim.count(f"origin_young_men_{name}", sim.young_men[r, 0])


assert int(State.UNBORN) == 0 and int(State.AT_ORIGIN) == 1 and int(State.EMIGRATED_ELSEWHERE) == 10
assert int(State.DEAD_IN_TRANSIT) == 11 and int(State.DEAD_OTHER) == 12
