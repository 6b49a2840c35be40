"""Model-level actors and shared state: government, origin economy, census, climate, smugglers, gangs, Home Office.

Each is a plain object the model updates at the start of the month (prices,
rates, perceptions) and that persons read when they act.
"""

from __future__ import annotations

import math

from benchmarks.reference.agents import ASYLUM_PENDING, AT_ORIGIN, IN_UK, LORRY, SMALL_BOAT
from corridor.units import REGION_INDEX

N_REGIONS = 3


def while_on(multiplier: float, switch: bool) -> float:
    """A policy lever's multiplier while its switch is on, 1 while it is off."""
    return 1.0 + (multiplier - 1.0) * switch


class Mortality:
    """Deaths from other causes: a Gompertz hazard a * exp(b * age) per year."""

    def __init__(self, model):
        self.model = model

    def p_death_within_month(self, age_years: float) -> float:
        d = self.model.p.demography
        a, b = d.mortality_gompertz_a_per_year, d.mortality_gompertz_b_per_year
        # the hazard integrated over the month ahead
        return 1.0 - math.exp(-(a / b) * math.exp(b * age_years) * (math.exp(b / 12.0) - 1.0))


class Government:
    """M11: the policy levers; an origin investment creates jobs after corruption takes its share."""

    def __init__(self, model):
        self.model = model
        self.jobs_real = [0.0] * N_REGIONS  # jobs created, in real persons

    def begin_month(self, t: int) -> None:
        pol, model = self.model.p.policy, self.model
        keep = (1.0 - pol.investment_job_decay_per_year) ** (1 / 12)
        self.jobs_real = [j * keep for j in self.jobs_real]
        spent = pol.investment_gbp_per_month
        self.jobs_real[REGION_INDEX[pol.investment_region]] += (
            spent * (1.0 - pol.corruption_leakage) / pol.cost_per_job_gbp
        )
        model.level("investment_gbp", spent)
        model.level("investment_lost_to_corruption_gbp", spent * pol.corruption_leakage)
        model.level("jobs_created", sum(self.jobs_real))

    def jobs_created_agents(self, region: int) -> float:
        return self.jobs_real[region] / self.model.scale

    def decision_term(self) -> float:
        pol = self.model.p.policy
        return -pol.b_awareness_campaign * pol.awareness_campaign_intensity


class OriginEconomy:
    """M1: regional wages, unemployment and the cost of living; investment jobs go to the young."""

    def __init__(self, model):
        self.model = model
        self.labour_force = [0] * N_REGIONS
        self.youth_labour_force = [1] * N_REGIONS
        self.rates = self.base_unemployment(0)
        self.youth_cut = [0.0] * N_REGIONS

    def base_unemployment(self, t: int) -> list[float]:
        p = self.model.p.origin_economy
        base = max(p.unemployment_floor, p.unemployment_rate_2012 + p.unemployment_change_per_year * t / 12.0)
        by_region = (base * p.north_unemployment_ratio, base * p.tirana_durres_unemployment_ratio, base)
        return [min(max(u, 0.01), 0.9) for u in by_region]

    def wages_eur(self, t: int) -> list[float]:
        p = self.model.p.origin_economy
        level = p.wage_2012_eur_month * (1 + p.wage_growth_per_year) ** (t / 12.0)
        return [level * r for r in (p.north_wage_ratio, p.tirana_durres_wage_ratio, p.centre_south_wage_ratio)]

    def initial_unemployment(self, region: int, young: bool) -> float:
        return self.rates[region] * (self.model.p.origin_economy.youth_unemployment_ratio if young else 1.0)

    def begin_month(self, t: int) -> None:
        model, p = self.model, self.model.p.origin_economy
        self.rates = self.base_unemployment(t)
        # last month's young labour force shares this month's investment jobs
        self.youth_cut = [
            model.government.jobs_created_agents(r) / max(self.youth_labour_force[r], 1) for r in range(N_REGIONS)
        ]
        wages = self.wages_eur(t)
        self.wage_gbp = [w / p.eur_per_gbp for w in wages]
        deflator = (1 + p.cost_of_living_growth_per_year) ** (t / 12.0)
        self.real_wage_gbp = [w / deflator for w in self.wage_gbp]
        # the UK wage as seen from home: rising prices at origin widen the gap
        self.uk_wage_gbp = p.uk_informal_wage_gbp_month * (1 + p.uk_wage_growth_per_year) ** (t / 12.0)
        self.labour_force = [0] * N_REGIONS
        self.youth_labour_force = [0] * N_REGIONS
        for household in model.households:
            household.income = 0.0
        model.level("unemployment_rate_north", self.rates[0])
        model.level(
            "youth_unemployment_rate_north", max(0.01, self.rates[0] * p.youth_unemployment_ratio - self.youth_cut[0])
        )
        model.level("wage_north_eur_month", wages[0])
        model.level("real_wage_north_eur_month_2012", wages[0] / deflator)

    def unemployment_rate(self, region: int, young: bool) -> float:
        u = self.rates[region]
        if young:
            u = u * self.model.p.origin_economy.youth_unemployment_ratio - self.youth_cut[region]
        return min(max(u, 0.01), 0.95)

    def income_gbp(self, region: int, employed: bool) -> float:
        share = 1.0 if employed else self.model.p.origin_economy.out_of_work_income_share
        return self.wage_gbp[region] * share

    def end_labour_market(self) -> None:
        lf = [max(n, 1) for n in self.labour_force]
        national = sum(u * w for u, w in zip(self.rates, lf, strict=True)) / sum(lf)
        self.model.level("unemployment_rate_national", national)


class Census:
    """The monthly count of the origin population and of young men (15-29) at origin and in the UK."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.at_origin = [0] * N_REGIONS
        self.young_men_at_origin = [0] * N_REGIONS
        self.young_men_in_uk = [0] * N_REGIONS

    def add(self, person, age_years: float) -> None:
        r = person.region
        if person.state == AT_ORIGIN:
            self.at_origin[r] += 1
        if person.male and 15.0 <= age_years < 30.0:
            if person.state == AT_ORIGIN:
                self.young_men_at_origin[r] += 1
            elif person.state in IN_UK:
                self.young_men_in_uk[r] += 1


class Climate:
    """What a would-be migrant sees this month: the income gap (M1), the exodus (M2), houses and cars built
    with money from the UK (M3), the gangs' lure (M4) and the age at which families send sons (M5)."""

    def __init__(self, model):
        self.model = model
        self.display_gbp = [0.0] * N_REGIONS  # remittances and proceeds seen last month, by region
        self.exodus_share = [0.0] * N_REGIONS
        self.display = [0.0] * N_REGIONS
        self.display_lure = self.ads_lure = 0.0
        self.ads_reach = 0.0

    def begin_month(self, t: int) -> None:
        model, census, economy = self.model, self.model.census, self.model.economy
        p_econ = model.p.origin_economy
        # M1: the log income gap, per region and employment status
        self.gap = [
            [
                p_econ.b_wage_gap * math.log(economy.uk_wage_gbp / max(w * share, 1.0))
                for share in (p_econ.out_of_work_income_share, 1.0)
            ]
            for w in economy.real_wage_gbp
        ]
        # M2: the share of the region's young men who are in the UK
        for r, name in enumerate(model.region_names):
            total = census.young_men_at_origin[r] + census.young_men_in_uk[r]
            self.exodus_share[r] = census.young_men_in_uk[r] / max(total, 1)
            model.level(f"share_young_men_in_uk_{name}", self.exodus_share[r])
        # M3: last month's money from the UK per head at origin, relative to the wage
        for r, name in enumerate(model.region_names):
            per_head = self.display_gbp[r] / max(census.at_origin[r], 1)
            scale = model.p.remittance_display.display_scale
            self.display[r] = math.log1p(scale * per_head / max(economy.real_wage_gbp[r], 1.0))
            model.level(f"remittance_display_{name}", self.display[r])
        # M4: ads (less what is taken down) and the lifestyle display, scaled by the gangs' appetite (last month's)
        s = model.p.social_media
        self.ads_reach = s.ads_intensity * (1.0 - model.p.policy.ad_takedown_share)
        self.display_lure = s.lifestyle_display_intensity * model.gangs.demand_index
        self.ads_lure = self.ads_reach * model.gangs.demand_index
        model.level("lure_intensity", self.display_lure + self.ads_lure)
        # M5: families send sons younger and younger
        f = model.p.family
        self.min_sending_age = f.min_sending_age_2012 - f.sending_age_decline_per_year * t / 12.0
        model.level("min_sending_age", self.min_sending_age)

    def wage_gap_term(self, region: int, employed: bool) -> float:
        term = self.gap[region][1 if employed else 0]
        if not employed:
            term += self.model.p.origin_economy.b_out_of_work
        return term


class SmugglingMarket:
    """M6: two routes (lorry; small boat once open), prices that follow demand and enforcement, awareness of
    the boat route, and the risks of the crossing."""

    def __init__(self, model):
        self.model = model
        p = model.p.smuggling
        self.price = [p.lorry_base_price_gbp, p.small_boat_base_price_gbp]
        self.demand = [0, 0]  # crossings sold last month, in agents
        self.awareness = [1.0, 0.0]
        self.expected_lorry = 0.0  # lorry departures expected this month (sum of chances), in agents
        self.lorry_slots = 1.0

    def enforcement(self) -> list[float]:
        pol = self.model.p.policy
        return [pol.enforcement_lorry, pol.enforcement_small_boat]

    def begin_month(self, t: int) -> None:
        model, p = self.model, self.model.p.smuggling
        boat_open = p.small_boat_available
        if boat_open:
            a = max(self.awareness[SMALL_BOAT], p.small_boat_awareness_initial)
            growth = p.small_boat_awareness_growth_per_month * (
                1.0 + p.ads_awareness_multiplier * model.climate.ads_reach
            )
            self.awareness[SMALL_BOAT] = min(1.0, a + growth * a * (1.0 - a))
        enforcement = self.enforcement()
        for r, base in enumerate((p.lorry_base_price_gbp, p.small_boat_base_price_gbp)):
            demand = max(self.demand[r] * model.scale, p.demand_floor_share * p.reference_demand_persons_month)
            target = (
                base
                * (demand / p.reference_demand_persons_month) ** p.price_demand_elasticity
                * enforcement[r] ** p.price_enforcement_elasticity
            )
            self.price[r] += p.price_adjust_rate_per_month * (target - self.price[r])
            if r == SMALL_BOAT and not boat_open:
                self.price[r] = target
        self.demand = [0, 0]
        self.p_death = [p.lorry_p_death, p.small_boat_p_death]
        self.p_intercept = [
            1.0 - (1.0 - p0) ** e
            for p0, e in zip((p.lorry_p_intercept, p.small_boat_p_intercept), enforcement, strict=True)
        ]
        # route choice: a logit on price, risk and awareness over the open routes
        utility = [
            -p.route_price_weight * math.log(self.price[LORRY] / 1000.0) - p.route_risk_weight * self.p_death[LORRY]
        ]
        if boat_open and self.awareness[SMALL_BOAT] > 0:
            utility.append(
                -p.route_price_weight * math.log(self.price[SMALL_BOAT] / 1000.0)
                - p.route_risk_weight * self.p_death[SMALL_BOAT]
                + math.log(self.awareness[SMALL_BOAT])
            )
        top = max(utility)
        weights = [math.exp(v - top) for v in utility]
        preferred = [w / sum(weights) for w in weights] + [0.0] * (2 - len(weights))
        # the lorry's capacity does not stretch: when more want a lorry than it takes, the rest wait
        wanted = self.expected_lorry * model.scale / self.lorry_slots
        self.lorry_slots = 1.0 if wanted <= p.lorry_capacity_persons_per_month else p.lorry_capacity_persons_per_month / wanted
        self.expected_lorry = 0.0
        model.level("lorry_slots_share", self.lorry_slots)
        # boats cross in calm seas: the preferred route may not be usable this month
        season = self.boat_season(model.scenario.month_of_year(t)) if boat_open else 1.0
        usable = [preferred[LORRY] * self.lorry_slots, preferred[SMALL_BOAT] * season * model.home_office.fast_track_odds()]
        self.usable = sum(usable)
        self.choice = [u / self.usable for u in usable]
        # M4: the crossing ads multiply the boat's odds for the men they reach
        odds = math.exp(model.p.social_media.b_lure * model.climate.ads_lure)
        ad_reached = [usable[LORRY], usable[SMALL_BOAT] * odds]
        self.usable_ad_reached = sum(ad_reached)
        self.choice_ad_reached = [u / self.usable_ad_reached for u in ad_reached]
        model.level("small_boat_season", season)
        self.expected_price = sum(c * x for c, x in zip(preferred, self.price, strict=True))
        self.expected_p_death = sum(c * x for c, x in zip(preferred, self.p_death, strict=True))
        for r, name in enumerate(("lorry", "small_boat")):
            model.level(f"price_{name}_gbp", self.price[r])
            model.level(f"p_intercept_{name}", self.p_intercept[r])
        model.level("small_boat_awareness", self.awareness[SMALL_BOAT] if boat_open else 0.0)

    def boat_season(self, month_of_year: int) -> float:
        p = self.model.p.smuggling
        months = (month_of_year - p.boat_season_peak_month + 6.0) % 12.0 - 6.0  # from the peak, -6..6
        wave = 0.5 * (1.0 + math.cos(2.0 * math.pi * months / 12.0))
        sharpness = p.boat_season_rise_sharpness if months < 0 else p.boat_season_fall_sharpness
        return p.boat_season_floor + (1.0 - p.boat_season_floor) * wave**sharpness

    def decision_term(self, family_means: float, ad_reached: bool) -> float:
        """Price and risk against the family's means, and the routes' summed weights (nested logit)."""
        p = self.model.p.smuggling
        return (
            -p.b_price * math.log(self.expected_price / (family_means + p.means_floor_gbp))
            - p.b_death_risk * self.expected_p_death
            + math.log(self.usable_ad_reached if ad_reached else self.usable)
        )

    def expect_lorry_departure(self, p_leave: float, person, age: int) -> None:
        """Add a person's expected lorry departure: the chance of leaving, by lorry, and paid for
        (by the family, or fronted by a gang, M4)."""
        fronted = person.fronting_chance(person.lure(age))
        can_pay = person.household.can_pay(self.price[LORRY], self.model.p.family.borrow_multiple_of_annual_income)
        choice = (self.choice_ad_reached if person.ads_reach(age) else self.choice)[LORRY]
        self.expected_lorry += p_leave * choice * (fronted + (1.0 - fronted) * can_pay)

    def choose_route(self, u: float, ad_reached: bool) -> int:
        return LORRY if u < (self.choice_ad_reached if ad_reached else self.choice)[LORRY] else SMALL_BOAT

    def sell(self, route: int, price: float) -> None:
        self.demand[route] += 1
        self.model.count("smuggler_revenue_gbp", price)


class Gangs:
    """M7: the gangs want a number of workers that grows with the drug market."""

    def __init__(self, model):
        self.model = model
        self.demand_index = 1.0
        self.vacancy_fill = 0.0

    def demand_persons(self, t: int) -> float:
        e = self.model.p.exploitation
        return e.gang_labour_demand_2012_persons * (1 + e.gang_demand_growth_per_year) ** (t / 12.0)

    def begin_month(self, t: int) -> None:
        e = self.model.p.exploitation
        self.demand_index = self.demand_persons(t) / max(e.gang_labour_demand_2012_persons, 1.0)
        self.model.level("gang_labour_demand", self.demand_persons(t))

    def open_vacancies(self, t: int, workers: int) -> None:
        """How far the gangs are from the workforce they want (in agents), which drives recruitment."""
        demand = self.demand_persons(t) / self.model.scale
        self.vacancy_fill = min(max((demand - workers) / max(demand, 1e-9), 0.0), 1.0)
        self.workers = workers
        self.model.count("gang_revenue_gbp", workers * self.model.p.exploitation.gang_revenue_per_worker_gbp_month)


class HomeOffice:
    """M8 (and the returns agreement of M11): asylum outcomes and removals, and how they are perceived at origin."""

    def __init__(self, model):
        self.model = model
        d = model.p.destination
        self.perceived_stay = d.p_grant_adult
        self.experienced_return = 1.0 - (1.0 - d.removal_rate_refused_per_month) ** 12
        self.agreement_start: int | None = None  # the month the returns agreement started
        self.grants = self.decisions = 0
        self.irregular_population = 0
        self.decided_this_month: set[int] = set()

    def begin_month(self, t: int) -> None:
        self.grants = self.decisions = 0
        self.irregular_population = 0
        self.decided_this_month = self.decision_queue(t)

    def decision_queue(self, t: int) -> set[int]:
        """The claims decided this month: the oldest due, as many as the month's capacity."""
        model = self.model
        pol = model.p.policy
        clearance = while_on(pol.backlog_clearance_multiplier, pol.backlog_clearance)
        slowdown = while_on(pol.decision_slowdown_multiplier, pol.decision_slowdown)
        agents = model.p.destination.asylum_decisions_per_month * clearance * slowdown / model.scale
        capacity = int(agents) + (model.random.random() < agents - int(agents))
        due = sorted(
            (a.decision_month, a.unique_id)
            for a in model.agents
            if a.asylum == ASYLUM_PENDING and 0 <= a.decision_month <= t and a.state in IN_UK
        )
        return {i for _, i in due[:capacity]}

    def agreement(self, what: str) -> float:
        """The returns agreement's multiplier on removals, voluntary returns or referrals."""
        pol = self.model.p.policy
        return while_on(getattr(pol, f"returns_agreement_{what}_multiplier"), pol.returns_agreement)

    def removal_slowdown(self) -> float:
        """The slowdown's multiplier on removals of refused and undocumented persons (1 while it is off)."""
        pol = self.model.p.policy
        return while_on(pol.removal_slowdown_multiplier, pol.removal_slowdown)

    def record_decision(self, granted: bool) -> None:
        self.decisions += 1
        self.model.count("asylum_grants" if granted else "asylum_refusals")
        if granted:
            self.grants += 1

    def decision_term(self) -> float:
        """What any leaver expects; the fast track weighs on the boat route alone (fast_track_odds)."""
        d = self.model.p.destination
        return d.b_perceived_stay * self.perceived_stay - d.b_perceived_return * self.experienced_return

    def fast_track_share(self) -> float:
        pol = self.model.p.policy
        return pol.returns_agreement * pol.returns_agreement_fast_track_share

    def believed_fast_track_share(self) -> float:
        """The fast track as believed at origin: the share announced, the month the agreement
        starts, giving way over the months to the share in fact applied."""
        actual, pol, t = self.fast_track_share(), self.model.p.policy, self.model.t
        if actual == 0:
            self.agreement_start = None
            return 0.0
        if self.agreement_start is None:
            self.agreement_start = t
        fade = math.exp(-(t - self.agreement_start) / pol.returns_agreement_announcement_months)
        return actual + (pol.returns_agreement_announced_fast_track_share - actual) * fade

    def fast_track_odds(self) -> float:
        """The boat's odds under the fast track as believed: a fast-tracked boat arrival loses the
        chance of staying and that of not being removed anyway; a lorry entrant escapes it."""
        d = self.model.p.destination
        lost = d.b_perceived_stay * self.perceived_stay + d.b_perceived_return * (1.0 - self.experienced_return)
        return math.exp(-self.believed_fast_track_share() * lost)

    def perceived_return(self) -> float:
        """A boat arrival's chance of removal within a year: the fast track as believed; removals
        of the irregular stock by experience."""
        return 1.0 - (1.0 - self.believed_fast_track_share()) * (1.0 - self.experienced_return)

    def update_perceptions(self) -> None:
        """News of this month's removals and decisions, as a moving average."""
        model, d = self.model, self.model.p.destination
        w = 1.0 / d.perception_memory_months
        monthly = (model.flow("removals") - model.flow("removals_fast_track")) / max(self.irregular_population, 1)
        within_a_year = 1.0 - (1.0 - min(monthly, 1.0)) ** 12
        self.experienced_return += w * (within_a_year - self.experienced_return)
        if self.decisions:
            self.perceived_stay += w * (self.grants / self.decisions - self.perceived_stay)
        model.level("perceived_p_stay", self.perceived_stay)
        model.level("perceived_p_return", self.perceived_return())
