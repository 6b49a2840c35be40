"""M6 Smuggling market: routes, prices, interception and death.

Evidence: up to GBP 15,000 for a crossing hidden in a lorry (000, 003); about
GBP 3,000 for a small boat in 2022, the drop that made things worse; drowning
named as the risk people knowingly take (003_6a42180f8ac45b94.txt). Price
observations by route and date are in smuggling_prices.csv; deaths on the way
in channel_deaths.csv; stops at juxtaposed controls in
uk_irregular_detections_albanian.csv.

Two routes, a lorry and a Channel small boat (the boat opens by an event).
Each month a route's price moves part of the way to a target that rises with
last month's demand and with enforcement (M11). Knowledge of the boat route
spreads by word of mouth and by cheap-crossing ads (M4). Leavers choose a route
by a logit on price, risk and awareness; the expected price relative to the
household's means, and the expected risk, enter the decision to leave. Boats
wait for calm seas (a season), and the cheap-crossing ads (M4) multiply the
boat's odds for the men they reach: the log of the routes' summed weights (the
inclusive value of a nested logit) enters each person's decision, so the ads
make those who know of the boats leave, by boat. A crossing takes a month and
ends in arrival, interception and return, or death.
"""

import numpy as np

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
from corridor.states import ROUTES, State
from corridor.units import GBP, LogOdds, Persons, Probability, Real, Share, Switch, bounded

LORRY, BOAT = 0, 1
AT_ORIGIN, IN_TRANSIT, DEAD_IN_TRANSIT = int(State.AT_ORIGIN), int(State.IN_TRANSIT), int(State.DEAD_IN_TRANSIT)
# age groups of the Home Office tables of small-boat arrivals (uk_small_boats.csv)
AGE_GROUPS = (("under18", 0, 18), ("18_24", 18, 25), ("25_39", 25, 40), ("40plus", 40, 200))
# route-choice utilities take prices in thousands of GBP; a constant shift of every route's
# utility cancels in the choice probabilities, so this is a unit, not an assumption
PRICE_UNIT_GBP = 1000.0


class SmugglingParams(MechanismParams):
    lorry_base_price_gbp: GBP = bounded(100, 100_000)
    small_boat_base_price_gbp: GBP = bounded(100, 100_000)
    small_boat_available: Switch
    small_boat_awareness_initial: Share = bounded(1e-6, 1, "share of would-be migrants who know of the boats when they open")
    small_boat_awareness_growth_per_month: Real = bounded(0, 2, "logistic growth of that share by word of mouth")
    ads_awareness_multiplier: Real = bounded(0, 20, "extra awareness growth per unit ad reach")
    lorry_capacity_persons_per_month: Persons = bounded(
        1, 100_000, "crossings by lorry smugglers can arrange in a month: drivers and hiding places do not stretch"
    )
    lorry_p_intercept: Probability = bounded(0, 0.95)
    small_boat_p_intercept: Probability = bounded(0, 0.95)
    lorry_p_death: Probability = bounded(0, 0.2)
    small_boat_p_death: Probability = bounded(0, 0.2)
    price_demand_elasticity: Real = bounded(0, 2)
    price_enforcement_elasticity: Real = bounded(0, 3)
    price_adjust_rate_per_month: Share = bounded(0, 1, "share of the gap to the target price closed in a month")
    reference_demand_persons_month: Persons = bounded(1, 100_000, "demand at which price = base, persons per month")
    demand_floor_share: Share = bounded(0.001, 1, "lowest demand smugglers price for, share of the reference")
    route_price_weight: Real = bounded(0, 10, "route-choice utility per log price")
    route_risk_weight: Real = bounded(0, 1000, "route-choice utility per unit death probability")
    b_price: LogOdds = bounded(0, 5, "log-odds of leaving per log(expected price / household means)")
    means_floor_gbp: GBP = bounded(1, 100_000, "added to a household's means: the help of kin that no household lacks")
    b_death_risk: LogOdds = bounded(0, 1000, "log-odds per unit expected death probability")
    boat_season_peak_month: Real = bounded(1, 12, "month of the year when boats cross most easily (calm seas)")
    boat_season_rise_sharpness: Real = bounded(0, 16, "before the peak month: 0, no season; larger, a later, steeper spring")
    boat_season_fall_sharpness: Real = bounded(0, 16, "after the peak month: 0, no season; larger, an earlier, steeper autumn end")
    boat_season_floor: Share = bounded(0, 1, "chance of a usable crossing in the worst month, relative to the peak")


class Smuggling(Mechanism):
    name = "smuggling"
    spec = "M6"
    Params = SmugglingParams
    persons = PersonArrays(
        reads=("state", "due_month", "route", "birth_month", "sex_male", "household", "household_savings_gbp"),
        writes=("state",),
    )
    provides = (
        Provides("route_price_gbp", Phase.BEGIN, "price of a crossing by route this month, GBP"),
        Provides("route_choice", Phase.BEGIN, "chance that a leaver takes each route"),
        Provides("route_choice_ad_reached", Phase.BEGIN, "the same for a leaver the crossing ads reach"),
        Provides("arrived", Phase.STEP, "persons who arrived in the UK this month"),
    )
    reads = (
        Reads("departures_by_route", Phase.BEGIN, lag=1),
        Reads("ads_reach", Phase.BEGIN),
        Reads("ads_boat_odds", Phase.BEGIN),
        Reads("candidate_ad_reached", Phase.DECIDE),
        Reads("household_borrowing_limit_gbp", Phase.DECIDE),
        Reads("leavers", Phase.STEP),
        Reads("crossing_payments_gbp", Phase.STEP),
        Reads("expected_departures_by_route", Phase.BEGIN, lag=1),
        Reads("fast_track_deterrence", Phase.BEGIN, lag=1),
        Reads("perceived_fast_track_share", Phase.BEGIN),
    )
    reads_parameters = ("policy",)
    outputs = (
        Output("arrivals", FLOW, "persons", "arrivals in the UK, all routes"),
        *(Output(f"arrivals_{r}", FLOW, "persons", f"arrivals by {r.replace('_', ' ')}") for r in ROUTES),
        *(Output(f"arrivals_age_{g}", FLOW, "persons", f"arrivals aged {g.replace('_', '-')}") for g, _, _ in AGE_GROUPS),
        Output("arrivals_female", FLOW, "persons", "arrivals of women and girls"),
        Output("interceptions", FLOW, "persons", "crossings stopped and returned to the origin"),
        *(Output(f"interceptions_{r}", FLOW, "persons", f"interceptions by {r.replace('_', ' ')}") for r in ROUTES),
        Output("deaths_in_transit", FLOW, "persons", "deaths on the way to the UK"),
        *(Output(f"deaths_{r}", FLOW, "persons", f"deaths by {r.replace('_', ' ')}") for r in ROUTES),
        Output("smuggler_revenue_gbp", FLOW, "GBP", "prices paid to smugglers for crossings"),
        *(Output(f"price_{r}_gbp", LEVEL, "GBP", f"price of a crossing by {r.replace('_', ' ')}") for r in ROUTES),
        Output("small_boat_awareness", LEVEL, "share", "share of would-be migrants who know of the boat route"),
        Output("small_boat_season", LEVEL, "share", "chance that a boat can cross this month, relative to the best month"),
        Output("lorry_slots_share", LEVEL, "share", "share of would-be lorry leavers who find a place this month"),
        *(
            Output(f"expected_arrivals_{r}", FLOW, "persons", f"arrivals by {r.replace('_', ' ')}, expected given the month's state")
            for r in ROUTES
        ),
        *(
            Output(f"expected_deaths_{r}", FLOW, "persons", f"deaths by {r.replace('_', ' ')}, expected given the month's state")
            for r in ROUTES
        ),
        Output(
            "expected_deaths_in_transit", FLOW, "persons", "deaths on the way, expected given the month's state",
            total_of=tuple(f"expected_deaths_{r}" for r in ROUTES),
        ),
        *(Output(f"p_intercept_{r}", LEVEL, "probability", f"chance a crossing by {r.replace('_', ' ')} is stopped") for r in ROUTES),
    )

    def init(self, ctx):
        p = ctx.p
        ctx.shared.route_price_gbp = np.array([p.lorry_base_price_gbp, p.small_boat_base_price_gbp])
        ctx.shared.route_choice = np.array([1.0, 0.0])
        ctx.shared.route_choice_ad_reached = np.array([1.0, 0.0])
        ctx.shared.arrived = np.empty(0, dtype=np.int64)
        self.awareness = np.array([1.0, 0.0])
        self.usable = self.usable_ad_reached = 1.0
        self.preferred = np.array([1.0, 0.0])
        self.lorry_slots = 1.0
        self.in_transit = np.empty(0, dtype=np.int64)

    def _enforcement(self, ctx):
        policy = ctx.params.policy
        return np.array([policy.enforcement_lorry, policy.enforcement_small_boat])

    def begin_month(self, ctx, t):
        p, shared = ctx.p, ctx.shared
        boat_open = p.small_boat_available
        if boat_open:
            a = max(self.awareness[BOAT], p.small_boat_awareness_initial)
            growth = p.small_boat_awareness_growth_per_month * (1.0 + p.ads_awareness_multiplier * shared.ads_reach)
            self.awareness[BOAT] = min(1.0, a + growth * a * (1.0 - a))
        base = np.array([p.lorry_base_price_gbp, p.small_boat_base_price_gbp])
        demand = np.maximum(shared.departures_by_route * ctx.scale, p.demand_floor_share * p.reference_demand_persons_month)
        target = (
            base
            * (demand / p.reference_demand_persons_month) ** p.price_demand_elasticity
            * self._enforcement(ctx) ** p.price_enforcement_elasticity
        )
        price = shared.route_price_gbp
        price += p.price_adjust_rate_per_month * (target - price)
        if not boat_open:
            price[BOAT] = target[BOAT]
        self.p_death = np.array([p.lorry_p_death, p.small_boat_p_death])
        p0 = np.array([p.lorry_p_intercept, p.small_boat_p_intercept])
        self.p_intercept = 1.0 - (1.0 - p0) ** self._enforcement(ctx)
        self.expected_in_transit = shared.expected_departures_by_route  # set out last month, cross this month
        season = self.boat_season(p, ctx.scenario.month_of_year(t)) if boat_open else 1.0
        # the route a leaver prefers, and whether it can be used this month: boats wait for calm seas,
        # so in winter fewer leave and a few of those who do take a lorry instead; the ads raise the
        # boat's weight for the men they reach
        self.preferred = self._choice_probabilities(p, price, boat_open)
        self.lorry_slots = self._lorry_slots(ctx)
        usable = self.preferred * np.array([self.lorry_slots, season * self._fast_track_odds(ctx)])
        ad_reached = usable * np.array([1.0, shared.ads_boat_odds])
        self.usable, self.usable_ad_reached = float(usable.sum()), float(ad_reached.sum())
        shared.route_choice = usable / self.usable
        shared.route_choice_ad_reached = ad_reached / self.usable_ad_reached
        out = ctx.out
        out.set("small_boat_season", season)
        for r, name in enumerate(ROUTES):
            out.set(f"price_{name}_gbp", price[r])
            out.set(f"p_intercept_{name}", self.p_intercept[r])
        out.set("small_boat_awareness", self.awareness[BOAT] if boat_open else 0.0)
        out.set("lorry_slots_share", self.lorry_slots)

    def _lorry_slots(self, ctx) -> float:
        """The share of would-be lorry leavers who find a place this month. The lorry route's
        capacity does not stretch with demand (drivers willing to hide people, places in the
        load), so when more want a lorry than it can take, the rest wait at origin: they
        leave later, or by boat once they know of it. Demand is last month's expected lorry
        departures (smooth at any agent scale) grossed up by last month's share."""
        wanted = self.expected_in_transit[LORRY] * ctx.scale / self.lorry_slots
        capacity = ctx.p.lorry_capacity_persons_per_month
        return 1.0 if wanted <= capacity else capacity / wanted

    @staticmethod
    def _fast_track_odds(ctx) -> float:
        """The boat's odds under the returns agreement's fast track (1 without it): boat arrivals are
        held on landing and a share are removed at once, which a lorry entrant, found later if at
        all, escapes (M8); at the share believed at origin (M11: as announced, then as applied)."""
        return float(np.exp(-ctx.shared.perceived_fast_track_share * ctx.shared.fast_track_deterrence))

    @staticmethod
    def boat_season(p, month_of_year: int) -> float:
        # months from the peak, in -6..6: the season rises and ends at their own sharpness
        # (quarterly arrivals: a wide spring, a short autumn, a deep winter)
        months = (month_of_year - p.boat_season_peak_month + 6.0) % 12.0 - 6.0
        wave = 0.5 * (1.0 + np.cos(2.0 * np.pi * months / 12.0))
        sharpness = p.boat_season_rise_sharpness if months < 0 else p.boat_season_fall_sharpness
        return p.boat_season_floor + (1.0 - p.boat_season_floor) * wave**sharpness

    def _choice_probabilities(self, p, price, boat_open):
        open_ = np.array([True, boat_open])
        with np.errstate(divide="ignore"):
            v = (
                -p.route_price_weight * np.log(price / PRICE_UNIT_GBP)
                - p.route_risk_weight * self.p_death
                + np.log(np.where(open_, self.awareness, 0.0))
            )
        v = np.where(open_, v, -np.inf)
        e = np.exp(v - v.max())
        return e / e.sum()

    def decision_terms(self, ctx, t, persons, logit):
        p = ctx.p
        h = ctx.pop.household[persons]
        means = ctx.pop.household_savings_gbp[h] + ctx.shared.household_borrowing_limit_gbp[h]  # savings and credit
        logit -= p.b_price * np.log(self.expected_price(ctx) / (means + p.means_floor_gbp))
        logit -= p.b_death_risk * self.expected_death_risk(ctx)
        # the routes' summed weights: the chance that the route one would take can be used this
        # month, with the boat's odds raised by the ads for those they reach
        logit += np.log(np.where(ctx.shared.candidate_ad_reached, self.usable_ad_reached, self.usable))

    def max_decision_term(self, ctx, t):
        # the term grows with a household's means: bound them by the largest savings and borrowing limit
        p = ctx.p
        most = float(ctx.pop.household_savings_gbp.max()) + float(ctx.shared.household_borrowing_limit_gbp.max())
        price_term = -p.b_price * np.log(self.expected_price(ctx) / (most + p.means_floor_gbp))
        usable = max(self.usable, self.usable_ad_reached)
        return price_term - p.b_death_risk * self.expected_death_risk(ctx) + np.log(usable)

    def expected_price(self, ctx) -> float:
        """The price a would-be migrant expects: route prices weighted by the route one would
        prefer (when to go is the season's business: the usable term)."""
        return float(self.preferred @ ctx.shared.route_price_gbp)

    def expected_death_risk(self, ctx) -> float:
        return float(self.preferred @ self.p_death)

    def step(self, ctx, t):
        pop, out = ctx.pop, ctx.out
        out.add("smuggler_revenue_gbp", ctx.shared.crossing_payments_gbp)
        transit = self.in_transit
        transit = transit[(pop.state[transit] == IN_TRANSIT) & (pop.due_month[transit] == t)]
        leavers = ctx.shared.leavers
        self.in_transit = leavers[pop.state[leavers] == IN_TRANSIT]
        route = pop.route[transit].astype(np.int64)
        draw = ctx.streams.uniform("crossing", t, transit)
        dead = draw < self.p_death[route]
        caught = ~dead & (draw < self.p_death[route] + self.p_intercept[route])
        arrived = ~dead & ~caught
        pop.state[transit[dead]] = DEAD_IN_TRANSIT
        pop.state[transit[caught]] = AT_ORIGIN
        came = transit[arrived]
        ctx.shared.arrived = came
        out.add("deaths_in_transit", int(dead.sum()))
        out.add("interceptions", int(caught.sum()))
        out.add("arrivals", int(arrived.sum()))
        # the same outcomes, expected from last month's expected departures: smooth where the realised
        # counts are a few agents (the observation model of small series uses these)
        expected = self.expected_in_transit
        for r, name in enumerate(ROUTES):
            out.add(f"expected_arrivals_{name}", expected[r] * (1.0 - self.p_death[r] - self.p_intercept[r]))
            out.add(f"expected_deaths_{name}", expected[r] * self.p_death[r])
        age = pop.age_years(t, came)
        for group, lo, hi in AGE_GROUPS:
            out.add(f"arrivals_age_{group}", int(((age >= lo) & (age < hi)).sum()))
        out.add("arrivals_female", int((~pop.sex_male[came]).sum()))
        for r, name in enumerate(ROUTES):
            on = route == r
            out.add(f"arrivals_{name}", int((arrived & on).sum()))
            out.add(f"interceptions_{name}", int((caught & on).sum()))
            out.add(f"deaths_{name}", int((dead & on).sum()))
