"""The reference model: a ``mesa.Model`` that steps the persons and the institutions month by month.

A month, in the order the engine runs its mechanisms:

1. the scenario's events for the month change parameters (M11);
2. the government's investment creates jobs (M11); the origin economy sets rates and wages (M1);
3. children are born; every person ages, may die or emigrate elsewhere (or come back), is counted, and
   works or looks for work (demography, M1);
4. the climate a would-be migrant sees is updated (M2, M3, M4), the smugglers set prices (M6), the gangs
   their appetite (M7);
5. every person at origin aged 13-49 decides whether to leave (M5); the leavers' families pay (M5, M6);
6. every person steps: last month's leavers cross (M6); persons in the UK go through care, asylum,
   referral, policing, prison and removal (M8); gang recruits are put to work on arrival (M7);
7. the Home Office's outcomes update perceptions at origin (M8);
8. gangs recruit the vulnerable and their workers pay off debts (M7);
9. legal residents sponsor a family member, the undocumented may regularise (M10);
10. persons in the UK send money home, households save (M9).
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

import mesa
import numpy as np
import pandas as pd

from benchmarks.reference.agents import (
    AT_ORIGIN,
    CRIMINAL_EXPLOITATION,
    IN_PRISON,
    IN_UK,
    LEGAL_RESIDENT,
    UNDOCUMENTED,
    Household,
    PersonAgent,
)
from benchmarks.reference.institutions import (
    Census,
    Climate,
    Gangs,
    Government,
    HomeOffice,
    Mortality,
    OriginEconomy,
    SmugglingMarket,
    while_on,
)
from corridor.mechanisms.destination import INITIAL_SENTENCE_SPAN
from corridor.population import build_population
from corridor.scenario import Scenario, month_index
from corridor.states import REGIONS, STOCK_OUTPUTS, State

# counts of persons and sums of money, per agent, scaled to real people in the results
COUNTS = (
    "births",
    "deaths_other",
    "emigrated_elsewhere",
    "returned_from_elsewhere",
    "origin_young_men",
    *(f"origin_young_men_{r}" for r in REGIONS),
    "origin_employed",
    "gang_recruited_departures",
    "departures",
    "departures_lorry",
    "departures_small_boat",
    "departures_minors",
    "minors_sent_by_family",
    *(f"departures_region_{r}" for r in REGIONS),
    "departures_blocked_by_cost",
    "arrivals",
    "arrivals_lorry",
    "arrivals_small_boat",
    "arrivals_age_under18",
    "arrivals_age_18_24",
    "arrivals_age_25_39",
    "arrivals_age_40plus",
    "arrivals_female",
    "interceptions",
    "interceptions_lorry",
    "interceptions_small_boat",
    "deaths_in_transit",
    "deaths_lorry",
    "deaths_small_boat",
    "smuggler_revenue_gbp",
    "asylum_claims",
    "asylum_claims_in_country",
    "asylum_claims_minors",
    "asylum_grants",
    "asylum_refusals",
    "trafficking_referrals",
    "trafficking_referrals_minors",
    "trafficking_referrals_small_boat",
    "went_missing_from_care",
    "arrests",
    "convictions",
    "prison_receptions",
    "removals",
    "removals_offenders",
    "removals_fast_track",
    "voluntary_returns",
    "resident_returns",
    "recruited_into_exploitation",
    "lured_put_to_work_on_arrival",
    "exploitation_exits",
    "gang_revenue_gbp",
    "debt_outstanding_gbp",
    "family_reunions",
    "regularisations",
    "remittances_gbp",
    "remittance_senders",
    "criminal_proceeds_repatriated_gbp",
)
# levels (prices, rates, perceptions) are not scaled
LEVELS = (
    "investment_gbp",
    "investment_lost_to_corruption_gbp",
    "jobs_created",
    "unemployment_rate_north",
    "unemployment_rate_national",
    "youth_unemployment_rate_north",
    "wage_north_eur_month",
    "real_wage_north_eur_month_2012",
    *(f"share_young_men_in_uk_{r}" for r in REGIONS),
    *(f"remittance_display_{r}" for r in REGIONS),
    "lure_intensity",
    "min_sending_age",
    "price_lorry_gbp",
    "price_small_boat_gbp",
    "small_boat_awareness",
    "small_boat_season",
    "lorry_slots_share",
    "p_intercept_lorry",
    "p_intercept_small_boat",
    "perceived_p_stay",
    "perceived_p_return",
    "gang_labour_demand",
)


class CorridorModel(mesa.Model):
    """The corridor, one ``PersonAgent`` per person, for a scenario, a number of agents and a seed."""

    region_names = REGIONS

    def __init__(self, scenario: Scenario, agents: int = 20_000, seed: int = 0):
        super().__init__(seed=seed)
        self.scenario = scenario
        self.n_months = scenario.n_months
        self.p = SimpleNamespace(
            **{m: SimpleNamespace(**{k: e.value for k, e in g.items()}) for m, g in scenario.parameters.items()}
        )
        self.events = defaultdict(list)
        for event in scenario.events:
            if event.enabled:
                self.events[month_index(scenario.start, event.month)].extend(event.set.items())
        d = self.p.demography
        self.scale = (d.real_origin_population + d.initial_uk_diaspora_persons) / agents  # real persons per agent
        self.t = 0
        self.series = {name: np.zeros(self.n_months) for name in (*COUNTS, *LEVELS)}
        self.stocks = np.zeros((self.n_months, len(State)), dtype=np.int64)
        self._flows: dict[str, float] = defaultdict(float)
        self._levels: dict[str, float] = {}
        self.dead = {int(State.DEAD_IN_TRANSIT): 0, int(State.DEAD_OTHER): 0}
        self._populate(agents, seed)
        self.mortality = Mortality(self)
        self.government = Government(self)
        self.economy = OriginEconomy(self)
        self.census = Census()
        self.climate = Climate(self)
        self.smuggling = SmugglingMarket(self)
        self.gangs = Gangs(self)
        self.home_office = HomeOffice(self)
        d = self.p.destination
        for person in self.agents:
            if person.state == AT_ORIGIN and 18 <= person.age(0) < 65:
                young = person.age(0) < 30
                person.employed = self.random.random() >= self.economy.initial_unemployment(person.region, young)
            elif person.state == IN_PRISON:  # the prisoners of 2012 are part-way through their custody
                custody = d.sentence_median_months * d.custody_share_of_sentence
                person.due_month = 1 + int(self.random.random() * INITIAL_SENTENCE_SPAN * custody)

    def _populate(self, n_agents: int, seed: int) -> None:
        """The 2012 population and diaspora, in distribution as the engine's (same builder); births to come."""
        pop, _ = build_population(n_agents, self.n_months, self.p.demography, seed)
        self.households = [
            Household(h, int(region), float(savings))
            for h, (region, savings) in enumerate(zip(pop.household_region, pop.household_savings_gbp, strict=True))
        ]
        self.people: list[PersonAgent | None] = [None] * pop.capacity  # by slot; None until born
        self.births: dict[int, list[int]] = defaultdict(list)
        self._pop = pop
        tie_ptr, tie_idx = pop.tie_ptr.tolist(), pop.tie_idx.tolist()
        self._ties = [tie_idx[tie_ptr[i] : tie_ptr[i + 1]] for i in range(pop.capacity)]
        for slot, h in enumerate(pop.household.tolist()):
            self.households[h].members.append(slot)
        for slot, state in enumerate(pop.state.tolist()):
            if state == int(State.UNBORN):
                self.births[int(pop.birth_month[slot])].append(slot)
            else:
                self._person(slot, state)

    def _person(self, slot: int, state: int) -> PersonAgent:
        pop = self._pop
        person = PersonAgent(
            self,
            slot=slot,
            state=state,
            male=bool(pop.sex_male[slot]),
            birth_month=int(pop.birth_month[slot]),
            region=int(pop.region[slot]),
            household=self.households[int(pop.household[slot])],
            ties=self._ties[slot],
        )
        self.people[slot] = person
        return person

    # ------------------------------------------------------------ recording

    def count(self, name: str, value: float = 1.0) -> None:
        self._flows[name] += value

    def flow(self, name: str) -> float:
        return self._flows.get(name, 0.0)

    def level(self, name: str, value: float) -> None:
        self._levels[name] = value

    def record_death(self, person: PersonAgent) -> None:
        self.dead[person.state] += 1

    # ------------------------------------------------------------ the month

    def step(self) -> None:
        t = self.t
        for key, value in self.events.get(t, ()):
            module, name = key.split(".", 1)
            setattr(getattr(self.p, module), name, value)
        self._flows = defaultdict(float)
        self._levels = {}
        # 1. policy, the economy, demography and work
        self.government.begin_month(t)
        self.economy.begin_month(t)
        d = self.p.demography
        self.p_emigrate = 1.0 - (1.0 - d.emigration_elsewhere_rate_per_year) ** (1 / 12)
        self.p_return_from_elsewhere = 1.0 - (1.0 - d.return_from_elsewhere_rate_per_year) ** (1 / 12)
        self.census.reset()
        for slot in self.births.get(t, ()):
            self._person(slot, int(State.AT_ORIGIN))
            self.count("births")
        self.agents.do("begin_month")
        self.economy.end_labour_market()
        self.count("origin_young_men", sum(self.census.young_men_at_origin))
        for r, name in enumerate(REGIONS):
            self.count(f"origin_young_men_{name}", self.census.young_men_at_origin[r])
        # 2. what would-be migrants see, the smugglers' prices, the gangs' appetite
        self.climate.begin_month(t)
        self.smuggling.begin_month(t)
        self.gangs.begin_month(t)
        self.home_office.begin_month(t)
        # 3. decisions to leave, then the families pay
        self.count("origin_employed", sum(1 for person in self.agents if person.employed and person.state == AT_ORIGIN))
        self.leavers: list[PersonAgent] = []
        self.agents.do("decide")
        for person in self.leavers:
            person.depart(t)
        # 4. crossings and the destination state
        self.agents.do("step")
        self.home_office.update_perceptions()
        # 5. the gangs
        in_uk = [person for person in self.agents if person.state in IN_UK]
        self.gangs.open_vacancies(t, sum(1 for person in in_uk if person.state == CRIMINAL_EXPLOITATION))
        for person in in_uk:
            person.gang_step()
        self.count("debt_outstanding_gbp", sum(person.debt for person in in_uk))
        # 6. family reunification
        self._reunification(in_uk)
        # 7. remittances, savings and what the neighbours see
        self._remittances(t)
        self._record(t)
        self.t += 1

    def _reunification(self, in_uk: list[PersonAgent]) -> None:
        r = self.p.reunification
        sponsors = [
            person for person in in_uk if person.state == LEGAL_RESIDENT and person.chance(r.p_sponsor_per_month)
        ]
        joiners = {}
        for sponsor in sponsors:
            member = sponsor.pick_family_member_at_origin()
            if member is not None:
                joiners[member.slot] = member
        undocumented = [person for person in in_uk if person.state == UNDOCUMENTED]
        for member in joiners.values():
            member.join_family_in_uk()
        self.count("family_reunions", len(joiners))
        for person in undocumented:
            if person.chance(r.p_regularise_family_ties_per_month):
                person.join_family_in_uk()
                self.count("regularisations")

    def _remittances(self, t: int) -> None:
        r, pol = self.p.remittances, self.p.policy
        amount = r.remittance_gbp_month + (
            r.december_extra_gbp if self.scenario.month_label(t).endswith("-12") else 0.0
        )
        amnesty = while_on(pol.amnesty_repatriation_multiplier, pol.fiscal_amnesty)
        proceeds = (
            r.criminal_proceeds_repatriated_gbp_month * amnesty * (1.0 - pol.amnesty_tax_rate * pol.fiscal_amnesty)
        )
        for household in self.households:
            household.has_member_in_uk = False
        for person in self.agents:
            if person.state in IN_UK:
                person.remit(amount, proceeds)
        shown = [0.0] * len(REGIONS)
        for household in self.households:
            shown[household.region] += household.end_month(r.household_savings_rate)
        self.climate.display_gbp = shown

    def _record(self, t: int) -> None:
        for person in self.agents:
            self.stocks[t, person.state] += 1
        for state, n in self.dead.items():
            self.stocks[t, state] = n
        for name, value in (*self._flows.items(), *self._levels.items()):
            self.series[name][t] = value  # a KeyError here is a misspelt output name

    # ------------------------------------------------------------ running

    def run(self) -> pd.DataFrame:
        for _ in range(self.n_months):
            self.step()
        return self.results()

    def results(self) -> pd.DataFrame:
        """Monthly series with the engine's column names; counts and money scaled to real people."""
        stocks = self.stocks
        columns: dict[str, np.ndarray] = {
            "month": np.array([self.scenario.month_label(t) for t in range(self.n_months)])
        }
        columns["population_total"] = stocks[:, 1:].sum(axis=1) * self.scale
        for name, values in self.series.items():
            columns[name] = values if name in LEVELS else values * self.scale
        for s, (column, _) in STOCK_OUTPUTS.items():
            columns[column] = stocks[:, s] * self.scale
        return pd.DataFrame(columns)


def run_reference(scenario: Scenario, agents: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Run the reference model and return its monthly series (as ``Results.series`` of the engine)."""
    return CorridorModel(scenario, agents=agents, seed=seed).run()


__all__ = ["CorridorModel", "run_reference"]
