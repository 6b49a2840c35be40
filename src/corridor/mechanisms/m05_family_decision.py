"""M5 Family decision and complicity: who leaves, and how the crossing is paid for.

Evidence: most Albanian boys and young men are trafficked with their parents'
complicity and the promise of money; families are approached by traffickers;
parents send sons "younger and younger" (000_486404c3d6eb819b.txt). Families
pay or borrow up to GBP 15,000 for a crossing (000, 003).

Each month every person at origin aged 13-49 draws one uniform. The decision
log-odds are the sum of every mechanism's term (this module adds the base rate
and the age and sex profile, with the minimum age at which families send sons
falling over time). Every mechanism also bounds its term over everyone, so the
sum of the bounds caps anyone's chance of leaving this month; only persons whose
draw is below that cap can leave, so the terms are computed for that short list
alone, and the result is exactly that of computing them for all (exact
thinning). The household pays the
crossing from savings and borrows the rest up to a limit; a gang-recruited
leaver's crossing is fronted by the gang as debt (M4, M7).
"""

import numba as nb
import numpy as np
from pydantic import Field

from corridor.kernels import flagged, person_pass, unsigned_bounds
from corridor.mechanisms.base import COUNT, LEVEL, Mechanism, MechanismParams
from corridor.rng import uniform_at, uniforms
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


@person_pass
def _candidates(state, birth_month, bounds, t, key, cap, flag):
    """``flag``: at origin, aged 13-49, and this month's draw below the cap.

    Branch-free and vectorised, in parallel over chunks; the short list is then
    taken with ``flagged`` in person order, the same for any number of
    threads."""
    oldest = t - (MAX_AGE + 1) * 12  # born after this month
    youngest = t - MIN_AGE * 12  # born in or before this month
    for c in nb.prange(bounds.shape[0] - 1):
        lo, hi = unsigned_bounds(bounds, c)
        for i in range(lo, hi):
            b = birth_month[i]
            flag[i] = (state[i] == 1) & (b > oldest) & (b <= youngest) & (uniform_at(key, t, i) < cap)


@nb.njit(cache=True)
def _add_profile(persons, birth_month, sex_male, departures, t, offsets, min_sending_age, logit):
    """This module's term: base rate, sex, age band, minors, returnees; no chance
    below the minimum sending age, nor for girls under 18 (a loop over the short
    list, instead of a dozen temporary arrays)."""
    base, female, age_25_34, age_35_49, minor, returnee = offsets
    for k in range(persons.shape[0]):
        i = persons[k]
        age = (t - np.int32(birth_month[i])) // 12
        x = logit[k] + base
        if not sex_male[i]:
            x += female
        if 25 <= age < 35:
            x += age_25_34
        if age >= 35:
            x += age_35_49
        if age < 18:
            x += minor
        if departures[i] > 0:
            x += returnee
        if age < min_sending_age or (age < 18 and not sex_male[i]):
            x = -np.inf
        logit[k] = x


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
        "leave_probability_capped": COUNT,
    }

    def init(self, sim):
        self._flag = np.empty(sim.pop.capacity, dtype=np.bool_)

    def candidates(self, sim, t, cap):
        """Persons who may leave this month and whose draw is below ``cap``, with their draws."""
        key = sim.streams.key("m5.leave")
        _candidates(
            sim.threads, sim.pop.state, sim.pop.birth_month, sim.pop.chunk_bounds, t, key, cap, self._flag,
        )  # fmt: skip
        persons = flagged(self._flag)
        return persons, uniforms(key, t, persons)  # the same draws again, for the short list

    def min_sending_age(self, sim, t):
        p = sim.p.family
        return p.min_sending_age_2012 - p.sending_age_decline_per_year * t / 12.0

    def decision_terms(self, sim, t, persons, logit):
        p = sim.p.family
        pop = sim.pop
        offsets = np.array([
            p.base_logit_per_month, p.female_logit_offset, p.age_25_34_logit_offset, p.age_35_49_logit_offset,
            p.minor_logit_offset, p.returnee_logit_offset,
        ])  # fmt: skip
        _add_profile(persons, pop.birth_month, pop.sex_male, pop.departures, t, offsets, self.min_sending_age(sim, t), logit)

    def max_decision_term(self, sim, t):
        p = sim.p.family
        # the age bands (minor, 18-24, 25-34, 35-49) exclude each other
        band = max(0.0, p.minor_logit_offset, p.age_25_34_logit_offset, p.age_35_49_logit_offset)
        return p.base_logit_per_month + max(0.0, p.female_logit_offset) + band + max(0.0, p.returnee_logit_offset)

    def step(self, sim, t):
        p = sim.p.family
        pop = sim.pop
        sim.level("min_sending_age", self.min_sending_age(sim, t))
        # zero unless a module's bound of its term is wrong (then the thinning was not exact)
        sim.count("leave_probability_capped", int(np.count_nonzero(sim.p_leave > sim.leave_cap)))
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
