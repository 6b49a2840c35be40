"""M5 Family decision and complicity: who leaves, and how the crossing is paid for.

Evidence: most Albanian boys and young men are trafficked with their parents'
complicity and the promise of money; families are approached by traffickers;
parents send sons "younger and younger" (000_486404c3d6eb819b.txt). Families
pay or borrow up to GBP 15,000 for a crossing (000, 003).

Each month every person at origin aged 13-49 draws one uniform. The decision
log-odds are the sum of every mechanism's term (this module adds the base rate
and the age and sex profile, with the minimum age at which families send sons
falling over time). Only persons whose draw is below ``max_monthly_leave_probability``
can leave, so the terms are computed for that short list alone; this is exact
for any person whose probability stays under the cap. The household pays the
crossing from savings and borrows the rest up to a limit; a gang-recruited
leaver's crossing is fronted by the gang as debt (M4, M7).
"""

import numba as nb
import numpy as np
from pydantic import Field

from corridor.kernels import person_pass
from corridor.mechanisms.base import COUNT, LEVEL, Mechanism, MechanismParams
from corridor.rng import uniform_at
from corridor.states import REGIONS, ROUTES, State

MIN_AGE, MAX_AGE = 13, 49


class FamilyDecisionParams(MechanismParams):
    base_logit_per_month: float = Field(ge=-20, le=0, description="log-odds of leaving in a month, men 18-24")
    female_logit_offset: float = Field(ge=-10, le=2)
    age_25_34_logit_offset: float = Field(ge=-10, le=2)
    age_35_49_logit_offset: float = Field(ge=-10, le=2)
    minor_logit_offset: float = Field(ge=-10, le=3, description="sons under 18 sent by the family")
    min_sending_age_2012: float = Field(ge=10, le=18, description="years")
    sending_age_decline_per_year: float = Field(ge=0, le=1, description="years of age per year")
    returnee_logit_offset: float = Field(ge=-5, le=5, description="persons removed or intercepted before")
    p_family_complicit: float = Field(ge=0, le=1, description="share of sent minors whose family deals with the traffickers")
    borrow_multiple_of_annual_income: float = Field(ge=0, le=10)
    max_monthly_leave_probability: float = Field(ge=0.001, le=1, description="cap used for exact thinning")


@person_pass
def _candidates(state, birth_month, bounds, t, key, cap, idx, u):
    """Persons at origin aged 13-49 whose draw is below the cap, with their draws.

    Each household-aligned chunk fills its own slice of the preallocated ``idx``
    and ``u`` in parallel; the slices are then packed in order, so the result
    is the same for any number of threads. Returns how many there are."""
    oldest = t - (MAX_AGE + 1) * 12  # born after this month
    youngest = t - MIN_AGE * 12  # born in or before this month
    n_chunks = bounds.shape[0] - 1
    found = np.zeros(n_chunks, dtype=np.int64)
    for c in nb.prange(n_chunks):
        n = bounds[c]
        for i in range(bounds[c], bounds[c + 1]):
            # branch-free: always draw and write, advance only when eligible
            # (ages are mixed within households, so a branch would mispredict)
            b = birth_month[i]
            x = uniform_at(key, t, i)
            idx[n] = i
            u[n] = x
            n += (state[i] == 1) & (b > oldest) & (b <= youngest) & (x < cap)
        found[c] = n - bounds[c]
    n = 0
    for c in range(n_chunks):
        for k in range(bounds[c], bounds[c] + found[c]):
            idx[n] = idx[k]
            u[n] = u[k]
            n += 1
    return n


@nb.njit(cache=True)
def _finance(leavers, household, savings, income, price, fronted, borrow_multiple, debt):
    """Pay crossings from household savings, borrow the rest; False where it cannot be paid."""
    ok = np.ones(leavers.shape[0], dtype=np.bool_)
    for k in range(leavers.shape[0]):
        i = leavers[k]
        if fronted[k]:
            debt[i] += price[k]
            continue
        h = household[i]
        paid = min(savings[h], price[k])
        short = price[k] - paid
        if short > borrow_multiple * 12.0 * income[h]:
            ok[k] = False
            continue
        savings[h] -= paid
        debt[i] += short
    return ok


class FamilyDecision(Mechanism):
    name = "family"
    mechanism_id = "M5"
    Params = FamilyDecisionParams
    outputs = {
        "departures": COUNT,
        **{f"departures_{r}": COUNT for r in ROUTES},
        "departures_minors": COUNT,
        "minors_sent_by_family": COUNT,
        **{f"departures_region_{r}": COUNT for r in REGIONS},
        "departures_blocked_by_cost": COUNT,
        "min_sending_age": LEVEL,
    }

    def init(self, sim):
        self._idx = np.empty(sim.pop.capacity, dtype=np.int64)
        self._u = np.empty(sim.pop.capacity, dtype=np.float64)

    def candidates(self, sim, t):
        n = _candidates(
            sim.threads,
            sim.pop.state, sim.pop.birth_month, sim.pop.chunk_bounds, t, sim.streams.key("m5.leave"),
            sim.p.family.max_monthly_leave_probability, self._idx, self._u,
        )  # fmt: skip
        return self._idx[:n].copy(), self._u[:n].copy()

    def min_sending_age(self, sim, t):
        p = sim.p.family
        return p.min_sending_age_2012 - p.sending_age_decline_per_year * t / 12.0

    def decision_terms(self, sim, t, persons, logit):
        p = sim.p.family
        pop = sim.pop
        age = pop.age_years(t, persons)
        logit += p.base_logit_per_month
        logit += np.where(pop.sex_male[persons], 0.0, p.female_logit_offset)
        logit += np.where((age >= 25) & (age < 35), p.age_25_34_logit_offset, 0.0)
        logit += np.where(age >= 35, p.age_35_49_logit_offset, 0.0)
        logit += np.where(age < 18, p.minor_logit_offset, 0.0)
        logit += p.returnee_logit_offset * (pop.departures[persons] > 0)
        logit[(age < self.min_sending_age(sim, t)) | ((age < 18) & ~pop.sex_male[persons])] = -np.inf

    def step(self, sim, t):
        p = sim.p.family
        pop = sim.pop
        sim.level("min_sending_age", self.min_sending_age(sim, t))
        leavers = sim.leavers
        if leavers.size == 0:
            return
        fronted = sim.module["social_media"].recruited(sim, t, leavers)
        route = sim.module["smuggling"].choose_routes(sim, t, leavers)
        price = sim.route_price_gbp[route]
        ok = _finance(
            leavers, pop.household, pop.household_savings_gbp, sim.household_income_gbp,
            price, fronted, p.borrow_multiple_of_annual_income, pop.debt_gbp,
        )  # fmt: skip
        sim.count("departures_blocked_by_cost", int((~ok).sum()))
        leavers, route, price, fronted = leavers[ok], route[ok], price[ok], fronted[ok]
        pop.state[leavers] = State.IN_TRANSIT
        pop.route[leavers] = route
        pop.due_month[leavers] = t + 1
        pop.lured[leavers] = fronted
        pop.departures[leavers] = np.minimum(pop.departures[leavers].astype(np.int16) + 1, 127).astype(np.int8)
        minors = pop.age_years(t, leavers) < 18
        sim.count("departures", leavers.size)
        for r, name in enumerate(ROUTES):
            sim.count(f"departures_{name}", int((route == r).sum()))
        regions = np.bincount(pop.region[leavers], minlength=len(REGIONS))
        for r, name in enumerate(REGIONS):
            sim.count(f"departures_region_{name}", int(regions[r]))
        sim.count("departures_minors", int(minors.sum()))
        complicit = sim.streams.uniform("m5.complicit", t, leavers[minors]) < p.p_family_complicit
        sim.count("minors_sent_by_family", int(complicit.sum()))
        sim.count("gang_recruited_departures", int(fronted.sum()))
        sim.count("smuggler_revenue_gbp", float(price.sum()))
        sim.route_demand += np.bincount(route, minlength=len(ROUTES))
