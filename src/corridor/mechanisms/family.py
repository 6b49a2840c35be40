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

from corridor.kernels import flagged, person_pass, unsigned_bounds
from corridor.mechanisms.base import (
    FLOW,
    LEVEL,
    Mechanism,
    MechanismParams,
    Output,
    PersonArrays,
    Phase,
    Provides,
    Reads,
)
from corridor.rng import uniform_at, uniforms
from corridor.states import REGIONS, ROUTES, State
from corridor.units import Count, LogOdds, Probability, Real, Years, bounded

AT_ORIGIN, IN_TRANSIT = int(State.AT_ORIGIN), int(State.IN_TRANSIT)
# the age bands of the offsets below: minors (< ADULT_AGE), 18-24 (the base), 25-34, 35 and over
ADULT_AGE, BAND_25, BAND_35 = 18, 25, 35


class FamilyParams(MechanismParams):
    base_logit_per_month: LogOdds = bounded(-20, 0, "log-odds of leaving in a month, men 18-24")
    female_logit_offset: LogOdds = bounded(-10, 2)
    age_25_34_logit_offset: LogOdds = bounded(-10, 2)
    age_35_49_logit_offset: LogOdds = bounded(-10, 2)
    minor_logit_offset: LogOdds = bounded(-10, 3, "sons under 18 sent by the family")
    decision_min_age_years: Count = bounded(10, 18, "youngest age at which anyone may leave")
    decision_max_age_years: Count = bounded(30, 80, "oldest age (inclusive) at which anyone may leave")
    min_sending_age_2012: Years = bounded(10, 18, "youngest son a family sends, 2012")
    sending_age_decline_per_year: Real = bounded(0, 1, "years of age per year")
    returnee_logit_offset: LogOdds = bounded(-5, 5, "persons removed or intercepted before")
    p_family_complicit: Probability = bounded(0, 1, "share of sent minors whose family deals with the traffickers")
    borrow_multiple_of_annual_income: Real = bounded(0, 10, "what a household may borrow, in years of its income")


@person_pass
def _candidates(state, birth_month, bounds, t, key, cap, min_age, max_age, flag):
    """``flag``: at origin, aged min_age-max_age, and this month's draw below the cap.

    Branch-free and vectorised, in parallel over chunks; the short list is then
    taken with ``flagged`` in person order, the same for any number of
    threads."""
    oldest = t - (max_age + 1) * 12  # born after this month
    youngest = t - min_age * 12  # born in or before this month
    for c in nb.prange(bounds.shape[0] - 1):
        lo, hi = unsigned_bounds(bounds, c)
        for i in range(lo, hi):
            b = birth_month[i]
            flag[i] = (state[i] == AT_ORIGIN) & (b > oldest) & (b <= youngest) & (uniform_at(key, t, i) < cap)


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
        if BAND_25 <= age < BAND_35:
            x += age_25_34
        if age >= BAND_35:
            x += age_35_49
        if age < ADULT_AGE:
            x += minor
        if departures[i] > 0:
            x += returnee
        if age < min_sending_age or (age < ADULT_AGE and not sex_male[i]):
            x = -np.inf
        logit[k] = x


@nb.njit(cache=True)
def _finance(leavers, household, savings, borrowing_limit, price, fronted, debt):
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
        if short > borrowing_limit[h]:
            ok[k] = False
            continue
        savings[h] -= paid
        debt[i] += short
    return ok


class Family(Mechanism):
    name = "family"
    spec = "M5"
    Params = FamilyParams
    persons = PersonArrays(
        reads=("birth_month", "sex_male", "household", "region", "chunk_bounds"),
        writes=("state", "route", "due_month", "lured", "departures", "debt_gbp", "household_savings_gbp"),
    )
    provides = (
        Provides("household_borrowing_limit_gbp", Phase.BEGIN, "what each household may borrow for a crossing, GBP"),
        Provides("departures_by_route", Phase.STEP, "persons who set out this month, by route, agents"),
        Provides("crossing_payments_gbp", Phase.STEP, "prices paid for this month's crossings, GBP per agent"),
        Provides("expected_departures_by_route", Phase.STEP, "departures by route expected given the month's state, agents"),
    )
    reads = (
        Reads("household_income_gbp", Phase.BEGIN),
        Reads("candidates", Phase.STEP),
        Reads("candidate_fronting_chance", Phase.STEP),
        Reads("leavers", Phase.STEP),
        Reads("p_leave", Phase.STEP),
        Reads("leave_cap", Phase.STEP),
        Reads("gang_fronted", Phase.STEP),
        Reads("route_choice", Phase.STEP),
        Reads("route_choice_ad_reached", Phase.STEP),
        Reads("candidate_ad_reached", Phase.STEP),
        Reads("leaver_ad_reached", Phase.STEP),
        Reads("route_price_gbp", Phase.STEP),
    )
    outputs = (
        Output("departures", FLOW, "persons", "persons who set out for the UK (irregular crossings)"),
        *(Output(f"departures_{r}", FLOW, "persons", f"departures by {r.replace('_', ' ')}") for r in ROUTES),
        Output("departures_minors", FLOW, "persons", "departures of persons under 18"),
        Output("minors_sent_by_family", FLOW, "persons", "departures of minors whose family dealt with the traffickers"),
        *(Output(f"departures_region_{r}", FLOW, "persons", f"departures from region {r}") for r in REGIONS),
        Output("departures_blocked_by_cost", FLOW, "persons", "decisions to leave that the household could not pay for"),
        *(
            Output(f"expected_departures_{r}", FLOW, "persons", f"departures by {r.replace('_', ' ')} expected given the month's state")
            for r in ROUTES
        ),
        Output(
            "expected_departures", FLOW, "persons", "departures expected given the month's state (smooth where counts are small)",
            total_of=tuple(f"expected_departures_{r}" for r in ROUTES),
        ),
        Output("gang_recruited_departures", FLOW, "persons", "departures whose crossing a gang fronted as debt (M4, M7)"),
        Output("min_sending_age", LEVEL, "years", "youngest age at which families send sons"),
        Output("leave_probability_capped", FLOW, "persons", "candidates whose chance exceeded the thinning cap (must be 0)"),
    )

    def init(self, ctx):
        self._flag = np.empty(ctx.pop.capacity, dtype=np.bool_)
        ctx.shared.household_borrowing_limit_gbp = np.zeros(ctx.pop.n_households)
        ctx.shared.departures_by_route = np.zeros(len(ROUTES), dtype=np.int64)
        ctx.shared.crossing_payments_gbp = 0.0
        ctx.shared.expected_departures_by_route = np.zeros(len(ROUTES))

    def begin_month(self, ctx, t):
        income = ctx.shared.household_income_gbp
        ctx.shared.household_borrowing_limit_gbp = ctx.p.borrow_multiple_of_annual_income * 12.0 * income

    def candidates(self, ctx, t, cap):
        """Persons who may leave this month and whose draw is below ``cap``, with their draws.

        The engine calls this between the bounds and the decision terms (exact thinning)."""
        p = ctx.p
        key = ctx.streams.key("leave")
        _candidates(
            ctx.threads, ctx.pop.state, ctx.pop.birth_month, ctx.pop.chunk_bounds, t, key, cap,
            p.decision_min_age_years, p.decision_max_age_years, self._flag,
        )  # fmt: skip
        persons = flagged(self._flag)
        return persons, uniforms(key, t, persons)  # the same draws again, for the short list

    def min_sending_age(self, p, t):
        return p.min_sending_age_2012 - p.sending_age_decline_per_year * t / 12.0

    def decision_terms(self, ctx, t, persons, logit):
        p, pop = ctx.p, ctx.pop
        offsets = np.array([
            p.base_logit_per_month, p.female_logit_offset, p.age_25_34_logit_offset, p.age_35_49_logit_offset,
            p.minor_logit_offset, p.returnee_logit_offset,
        ])  # fmt: skip
        _add_profile(persons, pop.birth_month, pop.sex_male, pop.departures, t, offsets, self.min_sending_age(p, t), logit)

    def max_decision_term(self, ctx, t):
        p = ctx.p
        # the age bands (minor, 18-24, 25-34, 35-49) exclude each other
        band = max(0.0, p.minor_logit_offset, p.age_25_34_logit_offset, p.age_35_49_logit_offset)
        return p.base_logit_per_month + max(0.0, p.female_logit_offset) + band + max(0.0, p.returnee_logit_offset)

    @staticmethod
    def route_choices(shared, ad_reached: np.ndarray) -> np.ndarray:
        """Each person's chance of each route (a row each): the market's route choice (M6), with
        the boat's odds raised for those the crossing ads reach (M4)."""
        return np.where(ad_reached[:, None], shared.route_choice_ad_reached, shared.route_choice)

    def choose_routes(self, ctx, t, leavers):
        """Each leaver's route, drawn from their route-choice probabilities."""
        cum = np.cumsum(self.route_choices(ctx.shared, ctx.shared.leaver_ad_reached), axis=1)
        draw = ctx.streams.uniform("route", t, leavers)
        return np.minimum((draw[:, None] >= cum).sum(axis=1), len(ROUTES) - 1).astype(np.int8)

    def _expected_departures(self, ctx) -> None:
        """Departures by route expected given this month's state (conditional Monte Carlo).

        Every eligible person was a candidate with probability ``cap``, so summing the
        candidates' chances of leaving divided by ``cap`` estimates the expected number of
        leavers without the noise of who actually drew under their chance; each is spread
        over the routes by the route choice and kept where the household could pay (or a
        gang fronts the crossing). Two members of one household who leave in the same month
        are each checked against the whole of its savings: a small approximation."""
        shared, pop = ctx.shared, ctx.pop
        candidates = shared.candidates
        weight = shared.p_leave / shared.leave_cap
        h = pop.household[candidates]
        savings = pop.household_savings_gbp[h]
        limit = shared.household_borrowing_limit_gbp[h]
        fronted = shared.candidate_fronting_chance
        choice = self.route_choices(shared, shared.candidate_ad_reached)
        expected = np.zeros(len(ROUTES))
        for r in range(len(ROUTES)):
            can_pay = np.maximum(shared.route_price_gbp[r] - savings, 0.0) <= limit
            expected[r] = float((weight * choice[:, r]) @ (fronted + (1.0 - fronted) * can_pay))
        shared.expected_departures_by_route = expected
        for r, name in enumerate(ROUTES):
            ctx.out.add(f"expected_departures_{name}", float(expected[r]))

    def step(self, ctx, t):
        p, pop, shared, out = ctx.p, ctx.pop, ctx.shared, ctx.out
        out.set("min_sending_age", self.min_sending_age(p, t))
        # zero unless a module's bound of its term is wrong (then the thinning was not exact)
        out.add("leave_probability_capped", int(np.count_nonzero(shared.p_leave > shared.leave_cap)))
        shared.departures_by_route = np.zeros(len(ROUTES), dtype=np.int64)
        shared.crossing_payments_gbp = 0.0
        self._expected_departures(ctx)
        leavers = shared.leavers
        if leavers.size == 0:
            return
        fronted = shared.gang_fronted
        route = self.choose_routes(ctx, t, leavers)
        price = shared.route_price_gbp[route]
        ok = _finance(
            leavers, pop.household, pop.household_savings_gbp, shared.household_borrowing_limit_gbp,
            price, fronted, pop.debt_gbp,
        )  # fmt: skip
        out.add("departures_blocked_by_cost", int((~ok).sum()))
        leavers, route, price, fronted = leavers[ok], route[ok], price[ok], fronted[ok]
        pop.state[leavers] = IN_TRANSIT
        pop.route[leavers] = route
        pop.due_month[leavers] = t + 1
        pop.lured[leavers] = fronted
        pop.departures[leavers] = np.minimum(pop.departures[leavers].astype(np.int16) + 1, 127).astype(np.int8)
        minors = pop.age_years(t, leavers) < ADULT_AGE
        out.add("departures", leavers.size)
        by_route = np.bincount(route, minlength=len(ROUTES))
        for r, name in enumerate(ROUTES):
            out.add(f"departures_{name}", int(by_route[r]))
        regions = np.bincount(pop.region[leavers], minlength=len(REGIONS))
        for r, name in enumerate(REGIONS):
            out.add(f"departures_region_{name}", int(regions[r]))
        out.add("departures_minors", int(minors.sum()))
        complicit = ctx.streams.uniform("complicit", t, leavers[minors]) < p.p_family_complicit
        out.add("minors_sent_by_family", int(complicit.sum()))
        out.add("gang_recruited_departures", int(fronted.sum()))
        shared.crossing_payments_gbp = float(price.sum())
        shared.departures_by_route = by_route.astype(np.int64)
