"""M1 Origin economy: wages, jobs and the cost of living in the origin regions.

Evidence: a waiter in Kukes earns EUR 150 a month, there are no jobs, the mines
and factories are closed, and the cost of living rises (003_6a42180f8ac45b94.txt);
national wages and unemployment from INSTAT (albania_economy.csv).

Each month the regional wage and unemployment rate are set from their trends
(less the jobs an origin investment created, M11), persons of working age at
origin lose or find jobs so that each region tracks its rate, and household
income is summed. The term it adds to the decision to leave is the log gap
between a UK informal wage and the person's real income at origin, plus a term
for being out of work.
"""

import numba as nb
import numpy as np
from pydantic import Field

from corridor.kernels import person_pass, pick_region, tally_region, unsigned_bounds
from corridor.mechanisms.base import COUNT, LEVEL, Mechanism, MechanismParams
from corridor.rng import uniform_at
from corridor.states import REGIONS


class OriginEconomyParams(MechanismParams):
    wage_2012_eur_month: float = Field(ge=50, le=3000, description="national average gross wage, EUR/month")
    wage_growth_per_year: float = Field(ge=-0.2, le=0.3)
    north_wage_ratio: float = Field(ge=0.2, le=1.5, description="north/national wage")
    cost_of_living_growth_per_year: float = Field(ge=-0.1, le=0.3)
    unemployment_rate_2012: float = Field(ge=0.01, le=0.6)
    unemployment_change_per_year: float = Field(ge=-0.05, le=0.05, description="percentage points/100 per year")
    youth_unemployment_ratio: float = Field(ge=1, le=4, description="ages 18-29 vs all")
    north_unemployment_ratio: float = Field(ge=0.5, le=3)
    job_separation_rate_per_month: float = Field(ge=0.001, le=0.2)
    out_of_work_income_share: float = Field(ge=0, le=1, description="income when out of work, share of wage")
    uk_informal_wage_gbp_month: float = Field(ge=100, le=5000)
    uk_wage_growth_per_year: float = Field(ge=-0.1, le=0.2)
    eur_per_gbp: float = Field(ge=0.8, le=1.6)
    b_wage_gap: float = Field(ge=0, le=5, description="log-odds per log of the UK/origin income ratio")
    b_out_of_work: float = Field(ge=0, le=5, description="log-odds")


REGION_WAGE_RATIO = np.array([1.0, 1.15, 0.95])  # north is set by a parameter; Tirana above average
assert len(REGIONS) == 3  # the labour-market pass selects among three regions


@person_pass
def _labour_market(draws, state, birth_month, region, household, employed, bounds, t, key, p_find, sep, income_employed, income_out, hh_income):
    """Job loss and finding at origin, household income, labour force.

    ``p_find`` holds, for each region, the monthly chance of finding a job that
    keeps adults (``[0]``) and young adults (``[1]``) at their unemployment rate.
    Returns the labour force and youth labour force by region. Parallel over
    household-aligned chunks: a household's income is summed within one chunk,
    so there are no races and no dependence on thread count. The person loop
    has no branch and no table lookup, so that it vectorises."""
    n_chunks = bounds.shape[0] - 1
    lf = np.zeros((n_chunks, 6), dtype=np.int64)
    born_65, born_30, born_18 = t - 65 * 12, t - 30 * 12, t - 18 * 12
    adult_find, young_find = (p_find[0, 0], p_find[1, 0], p_find[2, 0]), (p_find[0, 1], p_find[1, 1], p_find[2, 1])
    paid = (income_employed[0], income_employed[1], income_employed[2])
    unpaid = (income_out[0], income_out[1], income_out[2])
    for c in nb.prange(n_chunks):
        lo, hi = unsigned_bounds(bounds, c)
        for i in range(lo, hi):
            draws[i] = uniform_at(key, t, i)  # a tight loop first: hashing vectorises there
        w0 = w1 = w2 = y0 = y1 = y2 = 0
        for i in range(lo, hi):
            at_origin = state[i] == 1  # abroad, the informal labour market is M7's
            b = birth_month[i]
            working = at_origin & (b > born_65) & (b <= born_18)
            young = working & (b > born_30)
            r = region[i]
            x = draws[i]
            was = employed[i]
            p = pick_region(r, young_find) if young else pick_region(r, adult_find)
            now = working & ((was & (x >= sep)) | (~was & (x < p)))
            employed[i] = now if at_origin else was
            draws[i] = working * (pick_region(r, paid) if now else pick_region(r, unpaid))  # this person's income
            w0, w1, w2 = tally_region(r, working, w0, w1, w2)
            y0, y1, y2 = tally_region(r, young, y0, y1, y2)
        lf[c, 0], lf[c, 1], lf[c, 2], lf[c, 3], lf[c, 4], lf[c, 5] = w0, w1, w2, y0, y1, y2
        for i in range(lo, hi):  # members of a household are adjacent, within one chunk
            hh_income[household[i]] += draws[i]
    totals = np.zeros(6, dtype=np.int64)
    for c in range(n_chunks):
        totals += lf[c]
    return totals


class OriginEconomy(Mechanism):
    name = "origin_economy"
    mechanism_id = "M1"
    Params = OriginEconomyParams
    outputs = {
        "unemployment_rate_north": LEVEL,
        "unemployment_rate_national": LEVEL,
        "youth_unemployment_rate_north": LEVEL,
        "wage_north_eur_month": LEVEL,
        "real_wage_north_eur_month_2012": LEVEL,
        "origin_employed": COUNT,
    }

    def init(self, sim):
        sim.household_income_gbp = np.zeros(sim.pop.household_savings_gbp.shape[0], dtype=np.float64)
        sim.labour_force = np.zeros(len(REGIONS), dtype=np.int64)
        sim.youth_labour_force = np.ones(len(REGIONS), dtype=np.int64)
        p = sim.p.origin_economy
        # start near each region's rate so the first years are not a warm-up
        u0 = self._unemployment(sim, 0)
        age = sim.pop.age_years(0)
        rate = u0[sim.pop.region] * np.where(age < 30, p.youth_unemployment_ratio, 1.0)
        draw = sim.streams.uniform_all("m1.initial_jobs", 0, sim.pop.capacity)
        sim.pop.employed[:] = (draw >= rate) & (age >= 18) & (age < 65) & (sim.pop.state == 1)

    def _unemployment(self, sim, t):
        p = sim.p.origin_economy
        years = t / 12.0
        base = max(0.02, p.unemployment_rate_2012 + p.unemployment_change_per_year * years)
        return np.clip(np.array([base * p.north_unemployment_ratio, base * 0.9, base]), 0.01, 0.9)

    def _youth_cut(self, sim):
        # jobs from an origin investment (M11) go to young people, the ones who leave
        return sim.jobs_created_agents / np.maximum(sim.youth_labour_force, 1)

    def wages_eur(self, sim, t):
        p = sim.p.origin_economy
        ratio = REGION_WAGE_RATIO.copy()
        ratio[0] = p.north_wage_ratio
        return p.wage_2012_eur_month * (1 + p.wage_growth_per_year) ** (t / 12.0) * ratio

    def begin_month(self, sim, t):
        p = sim.p.origin_economy
        u = self._unemployment(sim, t)
        youth_cut = self._youth_cut(sim)
        wages = self.wages_eur(sim, t)
        sim.household_income_gbp[:] = 0.0
        pop = sim.pop
        young_u = np.clip(u * p.youth_unemployment_ratio - youth_cut, 0.01, 0.95)
        rates = np.stack([u, young_u], axis=1)  # [region, young]
        p_find = p.job_separation_rate_per_month * (1.0 - rates) / rates
        income = wages / p.eur_per_gbp
        lf = _labour_market(
            sim.threads, sim.draws,
            pop.state, pop.birth_month, pop.region, pop.household, pop.employed, pop.chunk_bounds, t,
            sim.streams.key("m1.jobs"), p_find, p.job_separation_rate_per_month,
            income, income * p.out_of_work_income_share, sim.household_income_gbp,
        )  # fmt: skip
        sim.labour_force[:], sim.youth_labour_force[:] = lf[:3], lf[3:]
        sim.level("youth_unemployment_rate_north", max(0.01, u[0] * p.youth_unemployment_ratio - youth_cut[0]))
        deflator = (1 + p.cost_of_living_growth_per_year) ** (t / 12.0)
        sim.real_wage_gbp = wages / p.eur_per_gbp / deflator
        # the UK wage as seen from home: rising Albanian prices widen the gap
        sim.uk_wage_gbp = p.uk_informal_wage_gbp_month * (1 + p.uk_wage_growth_per_year) ** (t / 12.0)
        # a person's income takes one of six values (region x out of / in work): log those, not every person's
        income = sim.real_wage_gbp[:, None] * np.array([p.out_of_work_income_share, 1.0])
        self.log_income_gap = np.log(sim.uk_wage_gbp / np.maximum(income, 1.0))
        sim.level("unemployment_rate_north", u[0])
        sim.level("unemployment_rate_national", float(np.average(u, weights=np.maximum(sim.labour_force, 1))))
        sim.level("wage_north_eur_month", wages[0])
        sim.level("real_wage_north_eur_month_2012", wages[0] / deflator)

    def decision_terms(self, sim, t, persons, logit):
        p = sim.p.origin_economy
        employed = sim.pop.employed[persons]
        logit += p.b_wage_gap * self.log_income_gap[sim.pop.region[persons], employed.view(np.int8)]
        logit += p.b_out_of_work * ~employed

    def max_decision_term(self, sim, t):
        p = sim.p.origin_economy
        out_of_work = p.b_wage_gap * self.log_income_gap[:, 0] + p.b_out_of_work
        return float(max(out_of_work.max(), (p.b_wage_gap * self.log_income_gap[:, 1]).max()))

    def step(self, sim, t):
        pop = sim.pop
        sim.count("origin_employed", int(np.count_nonzero(pop.employed & (pop.state == 1))))
