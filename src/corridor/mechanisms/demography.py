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

from corridor.kernels import person_pass, tally_region, unsigned_bounds
from corridor.mechanisms.base import FLOW, STOCK, Mechanism, MechanismParams, Output, PersonArrays, Phase, Provides
from corridor.rng import uniform_at
from corridor.states import REGIONS, UK_FIRST, UK_LAST, State
from corridor.units import (
    Count,
    GBPPerMonth,
    HazardPerYear,
    Months,
    Persons,
    Real,
    Share,
    Years,
    bounded,
    monthly_probability,
)

# the output origin_young_men counts men aged 15-29 (the age band of most crossings)
YOUNG_MEN_AGES = (15, 30)


class DemographyParams(MechanismParams):
    real_origin_population: Persons = bounded(1_000, 10_000_000, "persons at origin in 2012")
    initial_uk_diaspora_persons: Persons = bounded(0, 1_000_000)
    share_male: Share = bounded(0.3, 0.7)
    age_share_0_14: Share = bounded(0, 0.5)
    age_share_15_29: Share = bounded(0, 0.5)
    age_share_30_44: Share = bounded(0, 0.5)
    age_share_45_64: Share = bounded(0, 0.5)
    region_share_north: Share = bounded(0.01, 0.9)
    region_share_tirana_durres: Share = bounded(0.01, 0.9)
    household_size_mean: Persons = bounded(1, 10, "per household")
    ties_per_person: Count = bounded(1, 50, "kin and friend ties per person")
    village_size_persons: Count = bounded(10, 100_000, "agents (neighbouring index positions) among whom ties are formed")
    initial_savings_months_of_income: Months = bounded(0, 120, "median household savings in 2012")
    initial_household_income_gbp_month: GBPPerMonth = bounded(50, 5_000, "household income that savings are counted in")
    initial_savings_sigma: Real = bounded(0, 3, "log-normal spread of household savings")
    initial_share_legal_resident: Share = bounded(0, 1)
    initial_share_undocumented: Share = bounded(0, 1)
    initial_share_criminal_exploitation: Share = bounded(0, 1)
    initial_share_in_prison: Share = bounded(0, 1)
    diaspora_min_age_years: Years = bounded(15, 60, "youngest age of the 2012 diaspora")
    diaspora_max_age_years: Years = bounded(16, 80, "oldest age of the 2012 diaspora")
    diaspora_share_male: Share = bounded(0, 1)
    births_per_1000_per_year: Real = bounded(0, 50, "births per 1,000 persons at origin per year")
    mortality_gompertz_a_per_year: Real = bounded(0, 0.01, "Gompertz hazard at age 0, per year")
    mortality_gompertz_b_per_year: Real = bounded(0.01, 0.2, "Gompertz slope, per year of age")
    emigration_elsewhere_rate_per_year: HazardPerYear = bounded(0, 0.5, "at origin, ages emigration_min_age-emigration_max_age")
    emigration_min_age_years: Count = bounded(10, 60)
    emigration_max_age_years: Count = bounded(11, 80, "oldest age (inclusive) of emigration elsewhere")
    return_from_elsewhere_rate_per_year: HazardPerYear = bounded(0, 0.5)


UNBORN, AT_ORIGIN, EMIGRATED, DEAD_IN_TRANSIT, DEAD_OTHER = (
    int(s) for s in (State.UNBORN, State.AT_ORIGIN, State.EMIGRATED_ELSEWHERE, State.DEAD_IN_TRANSIT, State.DEAD_OTHER)
)
N_COUNTS = 4 + 3 * len(REGIONS)  # births, deaths, emigrated, returned; by region: at origin, young men there, in the UK


@person_pass
def _demography_kernel(draws, state, birth_month, death_month, sex_male, region, bounds, t, k_emig, p_emig, p_return, emig_ages, young_ages):
    """Births, deaths, emigration elsewhere and returns, and the census of young men.

    Returns the counts of ``N_COUNTS``. Parallel over household-aligned chunks,
    each with its own counters, so the result does not depend on the number of
    threads. The loop body has no branch and no lookup into a small table, so
    LLVM vectorises it: ages, sexes and states are mixed within households, and
    a branch per person would mispredict (this made the pass ten times faster)."""
    n_chunks = bounds.shape[0] - 1
    counts = np.zeros((n_chunks, N_COUNTS), dtype=np.int64)
    emig_oldest, emig_youngest = t - (emig_ages[1] + 1) * 12, t - emig_ages[0] * 12  # born in this window
    young_oldest, young_youngest = t - young_ages[1] * 12, t - young_ages[0] * 12
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
    spec = "D"
    Params = DemographyParams
    persons = PersonArrays(
        reads=("birth_month", "death_month", "sex_male", "region", "chunk_bounds"),
        writes=("state",),
    )
    provides = (
        Provides("young_men", Phase.BEGIN, "men aged 15-29 by region [region, 0 at origin / 1 in the UK], agents"),
        Provides("origin_population_by_region", Phase.BEGIN, "persons at origin by region, agents"),
    )
    outputs = (
        Output("births", FLOW, "persons", "children born at origin"),
        Output("deaths_other", FLOW, "persons", "deaths from causes other than the crossing"),
        Output("emigrated_elsewhere", FLOW, "persons", "persons at origin who emigrated to a country other than the UK"),
        Output("returned_from_elsewhere", FLOW, "persons", "emigrants elsewhere who came back to the origin"),
        Output("origin_young_men", STOCK, "persons", "men aged 15-29 at origin"),
        *(Output(f"origin_young_men_{r}", STOCK, "persons", f"men aged 15-29 at origin, region {r}") for r in REGIONS),
    )

    def init(self, ctx):
        ctx.shared.young_men = np.zeros((len(REGIONS), 2), dtype=np.int64)
        ctx.shared.origin_population_by_region = np.zeros(len(REGIONS), dtype=np.int64)

    def begin_month(self, ctx, t):
        p, pop = ctx.p, ctx.pop
        counts = _demography_kernel(
            ctx.threads, ctx.scratch,
            pop.state, pop.birth_month, pop.death_month, pop.sex_male, pop.region, pop.chunk_bounds, t,
            ctx.streams.key("emigration"),
            monthly_probability(p.emigration_elsewhere_rate_per_year),
            monthly_probability(p.return_from_elsewhere_rate_per_year),
            (p.emigration_min_age_years, p.emigration_max_age_years), YOUNG_MEN_AGES,
        )  # fmt: skip
        births, deaths, emig, ret = (int(k) for k in counts[:4])
        by_region = counts[4:].reshape(3, len(REGIONS))  # at origin, young men at origin, young men in the UK
        young_men = ctx.shared.young_men
        ctx.shared.origin_population_by_region[:] = by_region[0]
        young_men[:, 0] = by_region[1]
        young_men[:, 1] = by_region[2]
        out = ctx.out
        out.add("births", births)
        out.add("deaths_other", deaths)
        out.add("emigrated_elsewhere", emig)
        out.add("returned_from_elsewhere", ret)
        out.add("origin_young_men", young_men[:, 0].sum())
        for r, name in enumerate(REGIONS):
            out.add(f"origin_young_men_{name}", young_men[r, 0])


assert len(REGIONS) == 3  # the kernel counts three regions in scalars
