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

from corridor.kernels import person_pass, tally_region, unsigned_bounds
from corridor.mechanisms.base import COUNT, Mechanism, MechanismParams
from corridor.rng import uniform_at
from corridor.states import REGIONS, UK_FIRST, UK_LAST, State


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


UNBORN, AT_ORIGIN, EMIGRATED, DEAD_IN_TRANSIT, DEAD_OTHER = (
    int(s) for s in (State.UNBORN, State.AT_ORIGIN, State.EMIGRATED_ELSEWHERE, State.DEAD_IN_TRANSIT, State.DEAD_OTHER)
)
N_COUNTS = 4 + 3 * len(REGIONS)  # births, deaths, emigrated, returned; by region: at origin, young men there, in the UK


@person_pass
def _demography_kernel(draws, state, birth_month, death_month, sex_male, region, bounds, t, k_emig, p_emig, p_return):
    """Births, deaths, emigration elsewhere and returns, and the census of young men.

    Returns the counts of ``N_COUNTS``. Parallel over household-aligned chunks,
    each with its own counters, so the result does not depend on the number of
    threads. The loop body has no branch and no lookup into a small table, so
    LLVM vectorises it: ages, sexes and states are mixed within households, and
    a branch per person would mispredict (this made the pass ten times faster)."""
    n_chunks = bounds.shape[0] - 1
    counts = np.zeros((n_chunks, N_COUNTS), dtype=np.int64)
    emig_oldest, emig_youngest = t - 40 * 12, t - 18 * 12  # born in this window: aged 18-39
    young_oldest, young_youngest = t - 30 * 12, t - 15 * 12  # aged 15-29
    for c in nb.prange(n_chunks):
        lo, hi = unsigned_bounds(bounds, c)
        for i in range(lo, hi):
            draws[i] = uniform_at(k_emig, t, i)  # a tight loop first: hashing vectorises there
        births = deaths = emigrated = returned = 0
        origin0 = origin1 = origin2 = home0 = home1 = home2 = uk0 = uk1 = uk2 = 0
        for i in range(lo, hi):
            b = birth_month[i]
            born = (state[i] == UNBORN) & (b == t)
            s = np.int8(AT_ORIGIN) if born else state[i]
            alive = (s != UNBORN) & (s != DEAD_IN_TRANSIT) & (s != DEAD_OTHER)
            dies = alive & (death_month[i] == t)
            stays = alive & ~dies
            x = draws[i]
            leaves = stays & (s == AT_ORIGIN) & (b > emig_oldest) & (b <= emig_youngest) & (x < p_emig)
            comes_back = stays & (s == EMIGRATED) & (x < p_return)
            s = np.int8(DEAD_OTHER) if dies else (np.int8(EMIGRATED) if leaves else (np.int8(AT_ORIGIN) if comes_back else s))
            state[i] = s
            births += born
            deaths += dies
            emigrated += leaves
            returned += comes_back
            r = region[i]
            at_origin = s == AT_ORIGIN
            young_man = sex_male[i] & (b > young_oldest) & (b <= young_youngest)
            home = young_man & at_origin
            abroad = young_man & (s >= UK_FIRST) & (s <= UK_LAST)
            origin0, origin1, origin2 = tally_region(r, at_origin, origin0, origin1, origin2)
            home0, home1, home2 = tally_region(r, home, home0, home1, home2)
            uk0, uk1, uk2 = tally_region(r, abroad, uk0, uk1, uk2)
        row = (births, deaths, emigrated, returned, origin0, origin1, origin2, home0, home1, home2, uk0, uk1, uk2)
        for k in range(N_COUNTS):
            counts[c, k] = row[k]
    totals = np.zeros(N_COUNTS, dtype=np.int64)
    for c in range(n_chunks):
        totals += counts[c]
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
        counts = _demography_kernel(
            sim.threads, sim.draws,
            pop.state, pop.birth_month, pop.death_month, pop.sex_male, pop.region, pop.chunk_bounds, t,
            sim.streams.key("demography.emigration"),
            1.0 - (1.0 - p.emigration_elsewhere_rate_per_year) ** (1 / 12),
            1.0 - (1.0 - p.return_from_elsewhere_rate_per_year) ** (1 / 12),
        )  # fmt: skip
        births, deaths, emig, ret = (int(k) for k in counts[:4])
        by_region = counts[4:].reshape(3, len(REGIONS))  # at origin, young men at origin, young men in the UK
        sim.origin_population_by_region[:] = by_region[0]
        sim.young_men[:, 0] = by_region[1]
        sim.young_men[:, 1] = by_region[2]
        sim.count("births", births)
        sim.count("deaths_other", deaths)
        sim.count("emigrated_elsewhere", emig)
        sim.count("returned_from_elsewhere", ret)
        sim.count("origin_young_men", sim.young_men[:, 0].sum())
        for r, name in enumerate(REGIONS):
            sim.count(f"origin_young_men_{name}", sim.young_men[r, 0])


assert len(REGIONS) == 3  # the kernel counts three regions in scalars
