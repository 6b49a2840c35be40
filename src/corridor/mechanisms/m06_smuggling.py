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
household's means, and the expected risk, enter the decision to leave. A
crossing takes a month and ends in arrival, interception and return, or death.
"""

import numpy as np
from pydantic import Field

from corridor.mechanisms.base import COUNT, LEVEL, MONEY, Mechanism, MechanismParams
from corridor.states import ROUTES, State

LORRY, BOAT = 0, 1
# age groups of the Home Office tables of small-boat arrivals (uk_small_boats.csv)
AGE_GROUPS = (("under18", 0, 18), ("18_24", 18, 25), ("25_39", 25, 40), ("40plus", 40, 200))


class SmugglingParams(MechanismParams):
    lorry_base_price_gbp: float = Field(ge=100, le=100_000)
    small_boat_base_price_gbp: float = Field(ge=100, le=100_000)
    small_boat_available: float = Field(ge=0, le=1, description="0 closed, 1 open")
    small_boat_awareness_initial: float = Field(ge=0.0001, le=1)
    small_boat_awareness_growth_per_month: float = Field(ge=0, le=2)
    ads_awareness_multiplier: float = Field(ge=0, le=20, description="extra awareness growth per unit ad reach")
    lorry_p_intercept: float = Field(ge=0, le=0.95)
    small_boat_p_intercept: float = Field(ge=0, le=0.95)
    lorry_p_death: float = Field(ge=0, le=0.2)
    small_boat_p_death: float = Field(ge=0, le=0.2)
    price_demand_elasticity: float = Field(ge=0, le=2)
    price_enforcement_elasticity: float = Field(ge=0, le=3)
    price_adjust_rate_per_month: float = Field(ge=0, le=1)
    reference_demand_persons_month: float = Field(ge=1, le=100_000, description="demand at which price = base")
    route_price_weight: float = Field(ge=0, le=10, description="route-choice utility per log price")
    route_risk_weight: float = Field(ge=0, le=1000, description="route-choice utility per unit death probability")
    b_price: float = Field(ge=0, le=5, description="log-odds of leaving per log(expected price / household means)")
    b_death_risk: float = Field(ge=0, le=1000, description="log-odds per unit expected death probability")


class Smuggling(Mechanism):
    name = "smuggling"
    mechanism_id = "M6"
    Params = SmugglingParams
    outputs = {
        "arrivals": COUNT,
        **{f"arrivals_{r}": COUNT for r in ROUTES},
        **{f"arrivals_age_{g}": COUNT for g, _, _ in AGE_GROUPS},
        "arrivals_female": COUNT,
        "interceptions": COUNT,
        **{f"interceptions_{r}": COUNT for r in ROUTES},
        "deaths_in_transit": COUNT,
        **{f"deaths_{r}": COUNT for r in ROUTES},
        "smuggler_revenue_gbp": MONEY,
        **{f"price_{r}_gbp": LEVEL for r in ROUTES},
        "small_boat_awareness": LEVEL,
        **{f"p_intercept_{r}": LEVEL for r in ROUTES},
    }

    def init(self, sim):
        p = sim.p.smuggling
        sim.route_price_gbp = np.array([p.lorry_base_price_gbp, p.small_boat_base_price_gbp])
        sim.route_demand = np.zeros(len(ROUTES), dtype=np.int64)
        self.awareness = np.array([1.0, 0.0])
        self.in_transit = np.empty(0, dtype=np.int64)
        sim.arrived = np.empty(0, dtype=np.int64)

    def _enforcement(self, sim):
        pol = sim.p.policy
        return np.array([pol.enforcement_lorry, pol.enforcement_small_boat])

    def begin_month(self, sim, t):
        p = sim.p.smuggling
        boat_open = p.small_boat_available >= 0.5
        if boat_open:
            a = max(self.awareness[BOAT], p.small_boat_awareness_initial)
            growth = p.small_boat_awareness_growth_per_month * (1.0 + p.ads_awareness_multiplier * sim.ads_reach)
            self.awareness[BOAT] = min(1.0, a + growth * a * (1.0 - a))
        base = np.array([p.lorry_base_price_gbp, p.small_boat_base_price_gbp])
        demand = np.maximum(sim.route_demand * sim.scale, 0.1 * p.reference_demand_persons_month)
        target = (
            base
            * (demand / p.reference_demand_persons_month) ** p.price_demand_elasticity
            * self._enforcement(sim) ** p.price_enforcement_elasticity
        )
        sim.route_price_gbp += p.price_adjust_rate_per_month * (target - sim.route_price_gbp)
        if not boat_open:
            sim.route_price_gbp[BOAT] = target[BOAT]
        sim.route_demand[:] = 0
        self.p_death = np.array([p.lorry_p_death, p.small_boat_p_death])
        p0 = np.array([p.lorry_p_intercept, p.small_boat_p_intercept])
        self.p_intercept = 1.0 - (1.0 - p0) ** self._enforcement(sim)
        self.choice = self._choice_probabilities(sim)
        for r, name in enumerate(ROUTES):
            sim.level(f"price_{name}_gbp", sim.route_price_gbp[r])
            sim.level(f"p_intercept_{name}", self.p_intercept[r])
        sim.level("small_boat_awareness", self.awareness[BOAT] if boat_open else 0.0)

    def _choice_probabilities(self, sim):
        p = sim.p.smuggling
        open_ = np.array([True, p.small_boat_available >= 0.5])
        with np.errstate(divide="ignore"):
            v = (
                -p.route_price_weight * np.log(sim.route_price_gbp / 1000.0)
                - p.route_risk_weight * self.p_death
                + np.log(np.where(open_, self.awareness, 0.0))
            )
        v = np.where(open_, v, -np.inf)
        e = np.exp(v - v.max())
        return e / e.sum()

    def _means(self, sim, savings, income):
        """What a household can pay: savings plus what it may borrow against its income."""
        return savings + sim.p.family.borrow_multiple_of_annual_income * 12.0 * income

    def decision_terms(self, sim, t, persons, logit):
        p = sim.p.smuggling
        h = sim.pop.household[persons]
        means = self._means(sim, sim.pop.household_savings_gbp[h], sim.household_income_gbp[h])
        logit -= p.b_price * np.log(self.expected_price(sim) / (means + 1000.0))
        logit -= p.b_death_risk * self.expected_death_risk()

    def max_decision_term(self, sim, t):
        # the term grows with a household's means: bound them by the largest savings and income
        p = sim.p.smuggling
        means = self._means(sim, float(sim.pop.household_savings_gbp.max()), float(sim.household_income_gbp.max()))
        return -p.b_price * np.log(self.expected_price(sim) / (means + 1000.0)) - p.b_death_risk * self.expected_death_risk()

    def expected_price(self, sim) -> float:
        """The price a would-be migrant expects: route prices weighted by route choice."""
        return float(self.choice @ sim.route_price_gbp)

    def expected_death_risk(self) -> float:
        return float(self.choice @ self.p_death)

    def choose_routes(self, sim, t, leavers):
        cum = np.cumsum(self.choice)
        draw = sim.streams.uniform("m6.route", t, leavers)
        return np.minimum(np.searchsorted(cum, draw, side="right"), len(ROUTES) - 1).astype(np.int8)

    def step(self, sim, t):
        pop = sim.pop
        transit = self.in_transit
        transit = transit[(pop.state[transit] == State.IN_TRANSIT) & (pop.due_month[transit] == t)]
        self.in_transit = sim.leavers[pop.state[sim.leavers] == State.IN_TRANSIT]
        route = pop.route[transit].astype(np.int64)
        draw = sim.streams.uniform("m6.crossing", t, transit)
        dead = draw < self.p_death[route]
        caught = ~dead & (draw < self.p_death[route] + self.p_intercept[route])
        arrived = ~dead & ~caught
        pop.state[transit[dead]] = State.DEAD_IN_TRANSIT
        pop.state[transit[caught]] = State.AT_ORIGIN
        sim.arrived = transit[arrived]
        sim.count("deaths_in_transit", int(dead.sum()))
        sim.count("interceptions", int(caught.sum()))
        sim.count("arrivals", int(arrived.sum()))
        came = transit[arrived]
        age = pop.age_years(t, came)
        for group, lo, hi in AGE_GROUPS:
            sim.count(f"arrivals_age_{group}", int(((age >= lo) & (age < hi)).sum()))
        sim.count("arrivals_female", int((~pop.sex_male[came]).sum()))
        for r, name in enumerate(ROUTES):
            on = route == r
            sim.count(f"arrivals_{name}", int((arrived & on).sum()))
            sim.count(f"interceptions_{name}", int((caught & on).sum()))
            sim.count(f"deaths_{name}", int((dead & on).sum()))
