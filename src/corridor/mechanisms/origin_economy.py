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

from corridor.kernels import person_pass, pick_region, tally_region, unsigned_bounds
from corridor.mechanisms.base import (
    LEVEL,
    STOCK,
    Mechanism,
    MechanismParams,
    Output,
    PersonArrays,
    Phase,
    Provides,
    Reads,
)
from corridor.rng import uniform_at
from corridor.states import REGIONS, State
from corridor.units import (
    EURPerMonth,
    GBPPerMonth,
    GrowthPerYear,
    LogOdds,
    ProbabilityPerMonth,
    Real,
    Share,
    bounded,
    growth_factor,
)

AT_ORIGIN = int(State.AT_ORIGIN)
# numerical guards, not behaviour: a rate of 0 or 1 would make the job-finding chance that
# keeps a region at its rate infinite or zero
MIN_RATE, MAX_RATE, MAX_YOUTH_RATE = 0.01, 0.9, 0.95


class OriginEconomyParams(MechanismParams):
    wage_2012_eur_month: EURPerMonth = bounded(50, 3000, "national average gross wage")
    wage_growth_per_year: GrowthPerYear = bounded(-0.2, 0.3)
    north_wage_ratio: Real = bounded(0.2, 1.5, "north/national wage")
    tirana_durres_wage_ratio: Real = bounded(0.5, 2.0, "Tirana-Durres/national wage")
    centre_south_wage_ratio: Real = bounded(0.5, 1.5, "centre-south/national wage")
    cost_of_living_growth_per_year: GrowthPerYear = bounded(-0.1, 0.3)
    unemployment_rate_2012: Share = bounded(0.01, 0.6, "national, 2012")
    unemployment_change_per_year: Real = bounded(-0.05, 0.05, "change of the national rate per year (share points/100)")
    unemployment_floor: Share = bounded(0.0, 0.2, "lowest national rate the trend can reach")
    youth_unemployment_ratio: Real = bounded(1, 4, "ages 18-29 vs all")
    north_unemployment_ratio: Real = bounded(0.5, 3, "north vs national")
    tirana_durres_unemployment_ratio: Real = bounded(0.3, 2, "Tirana-Durres vs national")
    job_separation_rate_per_month: ProbabilityPerMonth = bounded(0.001, 0.2)
    out_of_work_income_share: Share = bounded(0, 1, "income when out of work, share of wage")
    uk_informal_wage_gbp_month: GBPPerMonth = bounded(100, 5000)
    uk_wage_growth_per_year: GrowthPerYear = bounded(-0.1, 0.2)
    eur_per_gbp: Real = bounded(0.8, 1.6, "EUR per GBP")
    b_wage_gap: LogOdds = bounded(0, 5, "log-odds per log of the UK/origin income ratio")
    b_out_of_work: LogOdds = bounded(0, 5)


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
            at_origin = state[i] == AT_ORIGIN  # abroad, the informal labour market is M7's
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
    spec = "M1"
    Params = OriginEconomyParams
    persons = PersonArrays(
        reads=("state", "birth_month", "region", "household", "chunk_bounds"),
        writes=("employed",),
    )
    provides = (
        Provides("household_income_gbp", Phase.BEGIN, "monthly income of each household at origin, GBP"),
        Provides("real_wage_gbp", Phase.BEGIN, "wage by region in GBP of 2012 (deflated by the cost of living)"),
    )
    reads = (Reads("jobs_created_agents", Phase.BEGIN),)
    outputs = (
        Output("unemployment_rate_north", LEVEL, "share", "unemployment rate in the north"),
        Output("unemployment_rate_national", LEVEL, "share", "unemployment rate, all regions (labour-force weighted)"),
        Output("youth_unemployment_rate_north", LEVEL, "share", "unemployment rate of ages 18-29 in the north, after investment jobs"),
        Output("wage_north_eur_month", LEVEL, "EUR/month", "average wage in the north"),
        Output("real_wage_north_eur_month_2012", LEVEL, "EUR/month of 2012", "wage in the north deflated by the cost of living"),
        Output("origin_employed", STOCK, "persons", "persons at origin in work"),
    )

    def init(self, ctx):
        pop, p = ctx.pop, ctx.p
        ctx.shared.household_income_gbp = np.zeros(pop.n_households, dtype=np.float64)
        ctx.shared.real_wage_gbp = np.zeros(len(REGIONS))
        self.labour_force = np.zeros(len(REGIONS), dtype=np.int64)
        self.youth_labour_force = np.ones(len(REGIONS), dtype=np.int64)
        # start near each region's rate so the first years are not a warm-up
        u0 = self._unemployment(p, 0)
        age = pop.age_years(0)
        rate = u0[pop.region] * np.where(age < 30, p.youth_unemployment_ratio, 1.0)
        draw = ctx.streams.uniform_all("initial_jobs", 0, pop.capacity)
        pop.employed[:] = (draw >= rate) & (age >= 18) & (age < 65) & (pop.state == AT_ORIGIN)

    @staticmethod
    def _unemployment(p, t):
        base = max(p.unemployment_floor, p.unemployment_rate_2012 + p.unemployment_change_per_year * (t / 12.0))
        by_region = np.array([base * p.north_unemployment_ratio, base * p.tirana_durres_unemployment_ratio, base])
        return np.clip(by_region, MIN_RATE, MAX_RATE)

    def _youth_cut(self, ctx):
        # jobs from an origin investment (M11) go to young people, the ones who leave
        return ctx.shared.jobs_created_agents / np.maximum(self.youth_labour_force, 1)

    @staticmethod
    def wages_eur(p, t):
        ratio = np.array([p.north_wage_ratio, p.tirana_durres_wage_ratio, p.centre_south_wage_ratio])
        return p.wage_2012_eur_month * growth_factor(p.wage_growth_per_year, t) * ratio

    def begin_month(self, ctx, t):
        p, pop = ctx.p, ctx.pop
        u = self._unemployment(p, t)
        youth_cut = self._youth_cut(ctx)
        wages = self.wages_eur(p, t)
        household_income = ctx.shared.household_income_gbp
        household_income[:] = 0.0
        young_u = np.clip(u * p.youth_unemployment_ratio - youth_cut, MIN_RATE, MAX_YOUTH_RATE)
        rates = np.stack([u, young_u], axis=1)  # [region, young]
        p_find = p.job_separation_rate_per_month * (1.0 - rates) / rates
        income = wages / p.eur_per_gbp
        lf = _labour_market(
            ctx.threads, ctx.scratch,
            pop.state, pop.birth_month, pop.region, pop.household, pop.employed, pop.chunk_bounds, t,
            ctx.streams.key("jobs"), p_find, p.job_separation_rate_per_month,
            income, income * p.out_of_work_income_share, household_income,
        )  # fmt: skip
        self.labour_force[:], self.youth_labour_force[:] = lf[:3], lf[3:]
        out = ctx.out
        out.set("youth_unemployment_rate_north", max(MIN_RATE, u[0] * p.youth_unemployment_ratio - youth_cut[0]))
        deflator = growth_factor(p.cost_of_living_growth_per_year, t)
        real_wage = ctx.shared.real_wage_gbp
        real_wage[:] = wages / p.eur_per_gbp / deflator
        # the UK wage as seen from home: rising Albanian prices widen the gap
        uk_wage = p.uk_informal_wage_gbp_month * growth_factor(p.uk_wage_growth_per_year, t)
        # a person's income takes one of six values (region x out of / in work): log those, not every person's
        income = real_wage[:, None] * np.array([p.out_of_work_income_share, 1.0])
        self.log_income_gap = np.log(uk_wage / np.maximum(income, 1.0))
        out.set("unemployment_rate_north", u[0])
        out.set("unemployment_rate_national", float(np.average(u, weights=np.maximum(self.labour_force, 1))))
        out.set("wage_north_eur_month", wages[0])
        out.set("real_wage_north_eur_month_2012", wages[0] / deflator)

    def decision_terms(self, ctx, t, persons, logit):
        p = ctx.p
        employed = ctx.pop.employed[persons]
        logit += p.b_wage_gap * self.log_income_gap[ctx.pop.region[persons], employed.view(np.int8)]
        logit += p.b_out_of_work * ~employed

    def max_decision_term(self, ctx, t):
        p = ctx.p
        out_of_work = p.b_wage_gap * self.log_income_gap[:, 0] + p.b_out_of_work
        return float(max(out_of_work.max(), (p.b_wage_gap * self.log_income_gap[:, 1]).max()))

    def step(self, ctx, t):
        pop = ctx.pop
        ctx.out.add("origin_employed", int(np.count_nonzero(pop.employed & (pop.state == AT_ORIGIN))))
