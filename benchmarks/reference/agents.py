"""The persons (``PersonAgent``, a ``mesa.Agent``) and their households.

A person carries their own attributes and goes through the life course of
docs/odd.md one month at a time: ageing, death and emigration elsewhere; work at
origin; the decision to leave; the crossing; and, in the UK, care, asylum,
referral, exploitation, policing, prison, removal and remittances. What is
shared between persons (prices, perceptions, the regional climate) is read
from the model's institutions (``benchmarks.reference.institutions``).
"""

from __future__ import annotations

import math

from mesa import Agent

from corridor.mechanisms.destination import LATE_CLAIM_REFERENCE_STAY
from corridor.states import ASYLUM_GRANTED, ASYLUM_NONE, ASYLUM_PENDING, ASYLUM_REFUSED, State

# plain ints: a person's state is compared millions of times
AT_ORIGIN = int(State.AT_ORIGIN)
IN_TRANSIT = int(State.IN_TRANSIT)
IN_CARE = int(State.IN_CARE)
MISSING_FROM_CARE = int(State.MISSING_FROM_CARE)
ASYLUM_PENDING_STATE = int(State.ASYLUM_PENDING)
UNDOCUMENTED = int(State.UNDOCUMENTED)
LEGAL_RESIDENT = int(State.LEGAL_RESIDENT)
CRIMINAL_EXPLOITATION = int(State.CRIMINAL_EXPLOITATION)
IN_PRISON = int(State.IN_PRISON)
EMIGRATED_ELSEWHERE = int(State.EMIGRATED_ELSEWHERE)
DEAD_IN_TRANSIT = int(State.DEAD_IN_TRANSIT)
DEAD_OTHER = int(State.DEAD_OTHER)

IN_UK = frozenset(
    (IN_CARE, MISSING_FROM_CARE, ASYLUM_PENDING_STATE, UNDOCUMENTED, LEGAL_RESIDENT, CRIMINAL_EXPLOITATION, IN_PRISON)
)
# persons the UK can remove: the denominator of the perceived chance of removal
REMOVABLE = frozenset((ASYLUM_PENDING_STATE, UNDOCUMENTED, CRIMINAL_EXPLOITATION, IN_PRISON))
# persons a gang can recruit
VULNERABLE = frozenset((UNDOCUMENTED, MISSING_FROM_CARE, ASYLUM_PENDING_STATE))

LORRY, SMALL_BOAT = 0, 1


class Household:
    """A family at origin: pools income, saves, receives remittances, pays for crossings."""

    __slots__ = ("hid", "region", "savings", "income", "members", "has_member_in_uk", "received", "proceeds")

    def __init__(self, hid: int, region: int, savings: float):
        self.hid = hid
        self.region = region
        self.savings = savings  # GBP
        self.income = 0.0  # GBP this month, summed over working-age members at origin
        self.members: list[int] = []  # person slots, in ascending order
        self.has_member_in_uk = False  # as of the end of last month
        self.received = 0.0  # remittances this month
        self.proceeds = 0.0  # criminal proceeds repatriated this month

    def means(self, borrow_multiple: float) -> float:
        """What the family can pay for a crossing: savings plus what it can borrow."""
        return self.savings + borrow_multiple * 12.0 * self.income

    def can_pay(self, price: float, borrow_multiple: float) -> bool:
        """Whether savings and what the family can borrow cover a crossing at this price."""
        return price - min(self.savings, price) <= borrow_multiple * 12.0 * self.income

    def pay_for_crossing(self, price: float, borrow_multiple: float) -> float | None:
        """Pay from savings and borrow the rest; the debt the leaver carries, or None if unaffordable."""
        if not self.can_pay(price, borrow_multiple):
            return None
        paid = min(self.savings, price)
        self.savings -= paid
        return price - paid

    def end_month(self, savings_rate: float) -> float:
        """Save what came in this month; returns the money the neighbours saw (remittances and proceeds)."""
        shown = self.received + self.proceeds
        self.savings += shown + savings_rate * self.income
        self.received = self.proceeds = 0.0
        return shown


class PersonAgent(Agent):
    """One person of the origin population (or of the 2012 diaspora)."""

    def __init__(self, model, slot, state, male, birth_month, region, household, ties):
        super().__init__(model)
        self.slot = slot  # index in build_population's arrays, the key of ties
        self.state = state
        self.male = male
        self.birth_month = birth_month  # months relative to the scenario start
        self.region = region
        self.household = household
        self.ties = ties  # slots of kin and friends in the same region
        self.employed = False
        self.debt = 0.0  # GBP owed to smugglers or gangs
        self.asylum = ASYLUM_GRANTED if state == LEGAL_RESIDENT else ASYLUM_NONE
        self.due_month = -1  # scheduled end of a timed state: crossing, prison sentence
        self.decision_month = -1  # scheduled asylum decision
        self.route = -1
        self.lured = False  # recruited by a gang for the crossing (M4)
        self.referred = False  # referred as a potential trafficking victim (M8)
        self.departures = 0
        self.arrived = False  # arrived in the UK this month
        self.in_uk_at_start = False  # in the UK when this month's destination step began

    # ------------------------------------------------------------ helpers

    def age(self, t: int) -> int:
        """Age in completed years."""
        return (t - self.birth_month) // 12

    def chance(self, p: float) -> bool:
        return self.model.random.random() < p

    def die(self, state: int) -> None:
        self.state = state
        self.model.record_death(self)
        self.remove()

    # ------------------------------------------------------------ begin of the month

    def begin_month(self) -> None:
        """Demography (death, emigration elsewhere, return), the census, and the labour market (M1)."""
        model, t = self.model, self.model.t
        age = (t - self.birth_month) / 12.0
        if self.chance(model.mortality.p_death_within_month(age)):
            model.count("deaths_other")
            self.die(DEAD_OTHER)
            return
        d = model.p.demography
        if self.state == AT_ORIGIN and d.emigration_min_age_years <= age < d.emigration_max_age_years + 1:
            if self.chance(model.p_emigrate):
                self.state = EMIGRATED_ELSEWHERE
                model.count("emigrated_elsewhere")
        elif self.state == EMIGRATED_ELSEWHERE and self.chance(model.p_return_from_elsewhere):
            self.state = AT_ORIGIN
            model.count("returned_from_elsewhere")
        model.census.add(self, age)
        self.work_at_origin(t)

    def work_at_origin(self, t: int) -> None:
        """M1: lose or find a job so that the region tracks its unemployment rate; add to household income."""
        if self.state != AT_ORIGIN:
            return  # abroad, informal work is M7's
        age = (t - self.birth_month) // 12
        if age < 18 or age >= 65:
            self.employed = False
            return
        economy = self.model.economy
        u = economy.unemployment_rate(self.region, young=age < 30)
        economy.labour_force[self.region] += 1
        if age < 30:
            economy.youth_labour_force[self.region] += 1
        sep = self.model.p.origin_economy.job_separation_rate_per_month
        if self.employed:
            if self.chance(sep):
                self.employed = False
        elif self.chance(sep * (1.0 - u) / u):
            self.employed = True
        self.household.income += economy.income_gbp(self.region, self.employed)

    # ------------------------------------------------------------ M5: the decision to leave

    def decide(self) -> None:
        """Each person at origin aged 13-49 may leave this month (M5, with the terms of M1-M4, M6, M8, M11)."""
        if self.state != AT_ORIGIN:
            return
        model, t = self.model, self.model.t
        age_months = t - self.birth_month
        f = model.p.family
        if age_months < f.decision_min_age_years * 12 or age_months >= (f.decision_max_age_years + 1) * 12:
            return
        p = self.leave_probability(t, age_months // 12)
        if p > 0.0:
            model.smuggling.expect_lorry_departure(p, self, age_months // 12)
        if p > 0.0 and self.chance(p):
            model.leavers.append(self)

    def leave_probability(self, t: int, age: int) -> float:
        model = self.model
        f, climate = model.p.family, model.climate
        if age < climate.min_sending_age or (age < 18 and not self.male):
            return 0.0
        # M5: base rate and the age and sex profile; persons who went before try again more readily
        logit = f.base_logit_per_month
        if not self.male:
            logit += f.female_logit_offset
        if 25 <= age < 35:
            logit += f.age_25_34_logit_offset
        elif age >= 35:
            logit += f.age_35_49_logit_offset
        if age < 18:
            logit += f.minor_logit_offset
        if self.departures > 0:
            logit += f.returnee_logit_offset
        # M1: the income gap with the UK, and being out of work
        logit += climate.wage_gap_term(self.region, self.employed)
        # M2: ties in the UK, a household member in the UK, the region's exodus of young men
        net = model.p.network
        logit += net.b_ties_abroad * math.log1p(self.ties_in_uk())
        if self.household.has_member_in_uk:
            logit += net.b_household_abroad
        logit += net.b_regional_exodus * climate.exodus_share[self.region]
        # M3: remittances on display; M4: the gangs' lifestyle display for boys and young men
        logit += model.p.remittance_display.b_remittance_display * climate.display[self.region]
        logit += model.p.social_media.b_lure * climate.display_lure * self.display_reaches(age)
        # M6: the expected price against the family's means, the risk of dying on the way, and the
        # routes one can use this month (the crossing ads, M4, raise the boat's odds)
        means = self.household.means(f.borrow_multiple_of_annual_income)
        logit += model.smuggling.decision_term(means, self.ads_reach(age))
        # M8: the perceived chance of being allowed to stay and of being returned; M11: campaigns
        logit += model.home_office.decision_term()
        logit += model.government.decision_term()
        # every person's chance, every month (the engine computes it only where its draw can succeed)
        return 1.0 / (1.0 + math.exp(-logit))

    def ties_in_uk(self) -> int:
        people = self.model.people
        n = 0
        for j in self.ties:
            other = people[j]
            if other is not None and other.state in IN_UK:
                n += 1
        return n

    def display_reaches(self, age: int) -> bool:
        """M4: the lifestyle display reaches boys and men from lure_min_age to lure_max_age."""
        s = self.model.p.social_media
        return self.male and s.lure_min_age <= age <= s.lure_max_age

    def ads_reach(self, age: int) -> bool:
        """M4: the crossing ads reach men from ads_min_age to lure_max_age."""
        s = self.model.p.social_media
        return self.male and s.ads_min_age <= age <= s.lure_max_age

    def fronting_chance(self, lure: float) -> float:
        """M4: the chance that a gang fronts this person's crossing, given the lure reaching them."""
        return min(1.0, self.model.p.social_media.p_recruited_per_lure * lure)

    def lure(self, age: int) -> float:
        climate = self.model.climate
        return climate.display_lure * self.display_reaches(age) + climate.ads_lure * self.ads_reach(age)

    def depart(self, t: int) -> bool:
        """M5/M6: the family (or a gang, M4) pays a smuggler for a crossing on a route; False if unaffordable."""
        model = self.model
        market = model.smuggling
        age = self.age(t)
        lure = self.lure(age)
        fronted = lure > 0 and self.chance(self.fronting_chance(lure))
        route = market.choose_route(model.random.random(), self.ads_reach(age))
        price = market.price[route]
        if fronted:
            self.debt += price  # the gang fronts the crossing against future work (M7)
        else:
            debt = self.household.pay_for_crossing(price, model.p.family.borrow_multiple_of_annual_income)
            if debt is None:
                model.count("departures_blocked_by_cost")
                return False
            self.debt += debt
        self.state = IN_TRANSIT
        self.route = route
        self.due_month = t + 1
        self.lured = fronted
        self.departures = min(self.departures + 1, 127)
        market.sell(route, price)
        model.count("departures")
        model.count("departures_" + ("lorry" if route == LORRY else "small_boat"))
        model.count("departures_region_" + model.region_names[self.region])
        if fronted:
            model.count("gang_recruited_departures")
        if age < 18:
            model.count("departures_minors")
            if self.chance(model.p.family.p_family_complicit):
                model.count("minors_sent_by_family")
        return True

    # ------------------------------------------------------------ the month's life course

    def step(self) -> None:
        """The crossing (M6) and, in the UK, the destination state (M8) and a gang's hold on arrival (M7)."""
        t = self.model.t
        self.arrived = False
        self.in_uk_at_start = self.state in IN_UK
        removable_at_start = self.state in REMOVABLE
        if self.state == IN_TRANSIT and self.due_month == t:
            self.cross(t)
            if not self.arrived:
                return
        if not (self.arrived or self.in_uk_at_start):
            return
        home = self.model.home_office
        if self.arrived:
            self.arrive(t)
        else:
            self.late_claim(t)
        self.asylum_decision(t)
        self.care(t)
        self.policing(t)
        self.release(t)
        self.removal(t)
        if removable_at_start:
            home.irregular_population += 1
        if self.arrived:
            home.irregular_population += 1
            if self.lured and self.chance(self.model.p.exploitation.p_lured_into_exploitation_on_arrival):
                self.put_to_work_on_arrival()

    def cross(self, t: int) -> None:
        """M6: a month on the route ends in arrival, interception and return, or death."""
        model, market = self.model, self.model.smuggling
        route_name = "lorry" if self.route == LORRY else "small_boat"
        x = model.random.random()
        if x < market.p_death[self.route]:
            model.count("deaths_in_transit")
            model.count("deaths_" + route_name)
            self.die(DEAD_IN_TRANSIT)
        elif x < market.p_death[self.route] + market.p_intercept[self.route]:
            self.state = AT_ORIGIN
            model.count("interceptions")
            model.count("interceptions_" + route_name)
        else:
            self.arrived = True
            model.count("arrivals")
            model.count("arrivals_" + route_name)
            age = self.age(t)
            model.count(
                "arrivals_age_"
                + ("under18" if age < 18 else "18_24" if age < 25 else "25_39" if age < 40 else "40plus")
            )
            if not self.male:
                model.count("arrivals_female")

    def refer(self, p: float) -> None:
        """M8: identification as a potential trafficking victim (once)."""
        if not self.referred and self.chance(p):
            self.referred = True
            self.model.count("trafficking_referrals")
            if self.age(self.model.t) < 18:
                self.model.count("trafficking_referrals_minors")
            if self.route == SMALL_BOAT:
                self.model.count("trafficking_referrals_small_boat")

    def leave_uk(self, counter: str) -> None:
        """Removed or returned to Albania: back at origin, free to leave again."""
        self.state = AT_ORIGIN
        self.asylum = ASYLUM_NONE
        self.due_month = -1
        self.decision_month = -1
        self.lured = False
        self.referred = False  # a new crossing is a new case
        self.employed = False
        self.model.count(counter)

    def arrive(self, t: int) -> None:
        """M8: minors go into care and claim; adults claim asylum or stay undocumented; some are referred."""
        model = self.model
        d = model.p.destination
        decision_month = t + int(round(d.asylum_processing_months))
        self.employed = False  # a job at origin is left behind
        if self.age(t) < 18:
            self.state = IN_CARE
            self.asylum = ASYLUM_PENDING
            self.decision_month = decision_month
            model.count("asylum_claims")
            model.count("asylum_claims_minors")
            self.refer(d.p_refer_minor_arrival)
            return
        claims = self.chance(d.p_asylum_claim_adult)
        if claims:
            self.asylum = ASYLUM_PENDING
            self.decision_month = decision_month
            model.count("asylum_claims")
        else:
            self.state = UNDOCUMENTED
        self.refer(d.p_refer_small_boat_arrival if self.route == SMALL_BOAT else d.p_refer_lorry_arrival)
        if claims:
            self.state = ASYLUM_PENDING_STATE
            # the fast track takes claimants held on landing: boat arrivals
            fast_track = self.route == SMALL_BOAT and self.chance(model.home_office.fast_track_share())
            if fast_track and not self.referred and not self.lured:
                model.count("asylum_refusals")  # refused at once (perceived as announced, not by experience)
                self.leave_uk("removals")
                model.count("removals_fast_track")

    def late_claim(self, t: int) -> None:
        """M8: an undocumented person who never claimed asylum may claim later, in the UK."""
        d = self.model.p.destination
        pull = (d.p_grant_adult / LATE_CLAIM_REFERENCE_STAY) ** d.late_claim_stay_elasticity
        rate = min(1.0, d.p_late_claim_per_month * pull * self.model.home_office.agreement("claim"))
        if self.state == UNDOCUMENTED and self.asylum == ASYLUM_NONE and self.chance(rate):
            self.state = ASYLUM_PENDING_STATE
            self.asylum = ASYLUM_PENDING
            self.decision_month = t + int(round(d.asylum_processing_months))
            self.model.count("asylum_claims")
            self.model.count("asylum_claims_in_country")

    def asylum_decision(self, t: int) -> None:
        """M8: a pending claim is decided once due, if the Home Office reaches it this month."""
        if self.asylum != ASYLUM_PENDING or self.decision_month > t:
            return
        if self.unique_id not in self.model.home_office.decided_this_month:
            return
        model, d = self.model, self.model.p.destination
        self.refer(d.p_refer_at_decision)  # signs of trafficking found when the claim is examined
        granted = self.chance(d.p_grant_minor if self.age(t) < 18 else d.p_grant_adult)
        self.asylum = ASYLUM_GRANTED if granted else ASYLUM_REFUSED
        self.decision_month = -1
        model.home_office.record_decision(granted)
        if self.state == ASYLUM_PENDING_STATE or self.state == UNDOCUMENTED:
            # adults waiting, and those who left care or went missing before the decision
            self.state = LEGAL_RESIDENT if granted else UNDOCUMENTED
        elif self.state == IN_CARE and not granted:
            if self.chance(d.p_missing_after_refusal * model.p.policy.safeguarding_missing_multiplier):
                self.state = MISSING_FROM_CARE
                model.count("went_missing_from_care")

    def care(self, t: int) -> None:
        """M8: children in care go missing and are found; at 18 they leave care."""
        if self.state != IN_CARE and self.state != MISSING_FROM_CARE:
            return
        model, d = self.model, self.model.p.destination
        if self.state == IN_CARE:
            if self.chance(d.p_missing_from_care_per_month * model.p.policy.safeguarding_missing_multiplier):
                self.state = MISSING_FROM_CARE
                model.count("went_missing_from_care")
        elif self.chance(d.p_found_per_month):
            self.state = IN_CARE
        if self.age(t) >= 18:
            if self.asylum == ASYLUM_GRANTED:
                self.state = LEGAL_RESIDENT
            elif self.asylum == ASYLUM_PENDING and self.state == IN_CARE:
                self.state = ASYLUM_PENDING_STATE
            else:
                self.state = UNDOCUMENTED

    def policing(self, t: int) -> None:
        """M8: exploited persons are arrested, maybe referred, convicted and sentenced; labour exploitation is spotted."""
        model, d = self.model, self.model.p.destination
        if self.state == CRIMINAL_EXPLOITATION and self.chance(
            d.p_arrest_exploited_per_month * model.p.policy.policing_multiplier
        ):
            model.count("arrests")
            self.refer(d.p_refer_on_arrest)
            if self.chance(d.p_conviction_if_referred if self.referred else d.p_conviction):
                z = model.random.gauss(0.0, 1.0)
                months = min(max(math.exp(math.log(d.sentence_median_months) + d.sentence_sigma * z), 1.0), 240.0)
                self.state = IN_PRISON
                self.due_month = t + max(1, round(months * d.custody_share_of_sentence))  # custodial part
                model.count("convictions")
                model.count("prison_receptions")
            else:
                self.state = UNDOCUMENTED
        if self.state == UNDOCUMENTED:
            self.refer(d.p_refer_undocumented_per_month * model.home_office.agreement("referral"))

    def release(self, t: int) -> None:
        """M8: at the end of the custodial part of the sentence, most foreign offenders are removed."""
        if self.state != IN_PRISON or self.due_month > t:
            return
        self.state = UNDOCUMENTED
        self.due_month = -1
        home = self.model.home_office
        if self.chance(min(1.0, self.model.p.destination.p_removal_on_release * home.agreement("removal"))):
            self.leave_uk("removals")
            self.model.count("removals_offenders")

    def removal(self, t: int) -> None:
        """M8: refused and undocumented persons are removed (faster under a returns agreement, M11); some go home."""
        model, d = self.model, self.model.p.destination
        if self.state == UNDOCUMENTED:
            rate = (
                d.removal_rate_refused_per_month
                if self.asylum == ASYLUM_REFUSED
                else d.removal_rate_undocumented_per_month
            )
            rate *= model.home_office.removal_slowdown()
            if self.chance(min(1.0, rate * model.home_office.agreement("removal"))) and not self.referred:
                self.leave_uk("removals")
                return
        if self.state == UNDOCUMENTED:  # assisted returns, no prospect of staying under the agreement
            if self.chance(min(1.0, d.voluntary_return_rate_per_month * model.home_office.agreement("voluntary"))):
                self.leave_uk("voluntary_returns")
        elif self.state == LEGAL_RESIDENT and self.chance(d.resident_return_rate_per_month):
            self.leave_uk("resident_returns")

    def put_to_work_on_arrival(self) -> None:
        """M7: a gang that financed the crossing takes its recruit on arrival (a child out of care)."""
        model = self.model
        if self.state == IN_CARE:
            self.state = MISSING_FROM_CARE
            model.count("went_missing_from_care")
        elif self.state != MISSING_FROM_CARE:
            self.state = CRIMINAL_EXPLOITATION
            model.count("recruited_into_exploitation")
            model.count("lured_put_to_work_on_arrival")

    # ------------------------------------------------------------ M7: the gangs

    def gang_step(self) -> None:
        """M7: informal work, recruitment of the vulnerable, and work off the debt for those exploited."""
        state = self.state
        if state not in IN_UK:
            return
        model, e = self.model, self.model.p.exploitation
        if state == CRIMINAL_EXPLOITATION:
            self.debt = max(0.0, self.debt - e.fee_per_job_gbp * e.jobs_per_month)
            if self.debt <= 0.0 and self.chance(e.exit_rate_per_month):
                self.state = UNDOCUMENTED
                model.count("exploitation_exits")
            return
        if state == UNDOCUMENTED:
            if self.employed:
                self.employed = not self.chance(e.informal_job_loss_rate_per_month)
            else:
                self.employed = self.chance(e.informal_job_finding_rate_per_month)
        if state in VULNERABLE:
            hazard = e.recruitment_rate_per_month * model.gangs.vacancy_fill
            if self.debt > 0:
                hazard *= e.debt_recruitment_multiplier
            if state == MISSING_FROM_CARE:
                hazard *= e.missing_minor_recruitment_multiplier
            elif state == UNDOCUMENTED and not self.employed:
                hazard *= e.out_of_work_recruitment_multiplier
            elif state == ASYLUM_PENDING_STATE:
                hazard *= e.asylum_seeker_recruitment_multiplier
            if self.chance(min(hazard, 1.0)):
                self.state = CRIMINAL_EXPLOITATION
                model.count("recruited_into_exploitation")

    # ------------------------------------------------------------ M10: family reunification

    def pick_family_member_at_origin(self) -> PersonAgent | None:
        """A legal resident sponsors one member of their origin household (random start, first one at origin)."""
        members = self.household.members
        start = int(self.model.random.random() * len(members))
        people = self.model.people
        for k in range(len(members)):
            other = people[members[(start + k) % len(members)]]
            if other is not None and other.state == AT_ORIGIN:
                return other
        return None

    def join_family_in_uk(self) -> None:
        self.state = LEGAL_RESIDENT
        self.asylum = ASYLUM_GRANTED

    # ------------------------------------------------------------ M9: remittances

    def remit(self, amount: float, proceeds: float) -> None:
        """M9: working persons in the UK send money home; exploited workers' proceeds come home too."""
        model, r = self.model, self.model.p.remittances
        state = self.state
        if state == LEGAL_RESIDENT:
            p = r.p_remitting_legal_resident
        elif state == UNDOCUMENTED and self.employed:
            p = r.p_remitting_undocumented_employed
        elif state == CRIMINAL_EXPLOITATION and self.debt <= 0:
            p = r.p_remitting_exploited
        else:
            p = 0.0
        if self.chance(p):
            self.household.received += amount
            model.count("remittance_senders")
            model.count("remittances_gbp", amount)
        if state == CRIMINAL_EXPLOITATION:
            self.household.proceeds += proceeds
            model.count("criminal_proceeds_repatriated_gbp", proceeds)
        self.household.has_member_in_uk = True
