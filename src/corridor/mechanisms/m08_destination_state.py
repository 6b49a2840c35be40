"""M8 Destination state: care of minors, asylum, trafficking referral, policing, prison, removal.

Evidence: 947 Albanian trafficking referrals in 2018, up more than 50% since
2015, and boys prosecuted in towns across the UK with sentences of months to
years (000_486404c3d6eb819b.txt, court_cases_seed.csv); about 2,000 Albanians
in UK prisons claimed in 2022 (003_6a42180f8ac45b94.txt; official 1,393 in
March 2023, uk_prisoners_albanian.csv); a boy went missing from foster care the
day after his asylum interview (000). Asylum applications, grants and refusals
in uk_asylum_albanian.csv; referrals in uk_nrm_referrals.csv; returns in
uk_returns_albania.csv.

Arrivals under 18 go into care; adults claim asylum or stay undocumented.
Decisions fall at a scheduled month (a queue), granted or refused. Minors in
care can go missing (more so after a refusal) and are found again; at 18 they
leave care. Persons in criminal exploitation are arrested, may be referred as
trafficking victims (which lowers conviction), convicted and sentenced; on
release most are removed. Refused and undocumented persons are removed at a
rate that a returns agreement (M11) multiplies; an agreement also fast-tracks
removal of new adult claimants. What a would-be migrant perceives of all this,
the chance of being allowed to stay and of being returned, is a moving average
of recent outcomes, and enters the decision to leave.
"""

import numpy as np
from pydantic import Field

from corridor.mechanisms.base import COUNT, LEVEL, Mechanism, MechanismParams
from corridor.states import (
    ASYLUM_GRANTED,
    ASYLUM_NONE,
    ASYLUM_PENDING,
    ASYLUM_REFUSED,
    IS_IN_UK,
    ROUTES,
    State,
    state_flags,
)

# persons who can be removed: the denominator of the perceived chance of removal
_REMOVABLE = state_flags(State.ASYLUM_PENDING, State.UNDOCUMENTED, State.CRIMINAL_EXPLOITATION, State.IN_PRISON)
_WAITING = state_flags(State.ASYLUM_PENDING, State.UNDOCUMENTED)


class DestinationStateParams(MechanismParams):
    p_asylum_claim_adult: float = Field(ge=0, le=1)
    asylum_processing_months: float = Field(ge=1, le=60)
    p_grant_adult: float = Field(ge=0, le=1, description="initial grant rate, adults")
    p_grant_minor: float = Field(ge=0, le=1)
    p_missing_from_care_per_month: float = Field(ge=0, le=0.5)
    p_missing_after_refusal: float = Field(ge=0, le=1)
    p_found_per_month: float = Field(ge=0, le=1)
    p_refer_small_boat_arrival: float = Field(ge=0, le=1)
    p_refer_lorry_arrival: float = Field(ge=0, le=1)
    p_refer_minor_arrival: float = Field(ge=0, le=1)
    p_refer_on_arrest: float = Field(ge=0, le=1)
    p_refer_undocumented_per_month: float = Field(ge=0, le=0.5, description="labour exploitation identified")
    p_arrest_exploited_per_month: float = Field(ge=0, le=1)
    p_conviction: float = Field(ge=0, le=1)
    p_conviction_if_referred: float = Field(ge=0, le=1, description="statutory defence for trafficking victims")
    sentence_median_months: float = Field(ge=1, le=240)
    sentence_sigma: float = Field(ge=0, le=3, description="log-normal spread")
    p_removal_on_release: float = Field(ge=0, le=1)
    removal_rate_refused_per_month: float = Field(ge=0, le=1)
    removal_rate_undocumented_per_month: float = Field(ge=0, le=1)
    voluntary_return_rate_per_month: float = Field(ge=0, le=1)
    perception_memory_months: float = Field(ge=1, le=60)
    b_perceived_stay: float = Field(ge=0, le=10, description="log-odds per unit perceived chance of being allowed to stay")
    b_perceived_return: float = Field(ge=0, le=20, description="log-odds per unit perceived chance of removal within a year")


class DestinationState(Mechanism):
    name = "destination"
    mechanism_id = "M8"
    Params = DestinationStateParams
    outputs = {
        "asylum_claims": COUNT,
        "asylum_claims_minors": COUNT,
        "asylum_grants": COUNT,
        "asylum_refusals": COUNT,
        "trafficking_referrals": COUNT,
        "trafficking_referrals_minors": COUNT,
        "went_missing_from_care": COUNT,
        "arrests": COUNT,
        "convictions": COUNT,
        "prison_receptions": COUNT,
        "removals": COUNT,
        "removals_offenders": COUNT,
        "removals_fast_track": COUNT,
        "voluntary_returns": COUNT,
        "perceived_p_stay": LEVEL,
        "perceived_p_return": LEVEL,
    }

    def init(self, sim):
        p = sim.p.destination
        self.perceived_stay = p.p_grant_adult
        self.perceived_return = 1.0 - (1.0 - p.removal_rate_refused_per_month) ** 12
        self.fast_tracked = 0
        pop = sim.pop
        sim.uk = np.flatnonzero(IS_IN_UK[pop.state])  # kept up to date from here on
        legal = pop.state == State.LEGAL_RESIDENT
        pop.asylum_status[legal] = ASYLUM_GRANTED
        # the prisoners of 2012 are part-way through their sentences
        prisoners = np.flatnonzero(pop.state == State.IN_PRISON)
        left = sim.streams.uniform("m8.initial_sentence", 0, prisoners) * 2.0 * p.sentence_median_months
        pop.due_month[prisoners] = 1 + left.astype(np.int16)

    def decision_terms(self, sim, t, persons, logit):
        logit += self.max_decision_term(sim, t)

    def max_decision_term(self, sim, t):
        p = sim.p.destination
        return p.b_perceived_stay * self.perceived_stay - p.b_perceived_return * self.perceived_return

    # ------------------------------------------------------------ helpers

    def _draw(self, sim, purpose, t, persons, prob):
        return sim.streams.uniform(f"m8.{purpose}", t, persons) < prob

    def _refer(self, sim, t, persons, prob, purpose):
        persons = persons[~sim.pop.referred[persons]]
        hit = persons[self._draw(sim, purpose, t, persons, prob)]
        sim.pop.referred[hit] = True
        sim.count("trafficking_referrals", hit.size)
        sim.count("trafficking_referrals_minors", int((sim.pop.age_years(t, hit) < 18).sum()))

    def remove(self, sim, persons, counter):
        """Persons leave the UK for Albania: back at origin, free to leave again."""
        pop = sim.pop
        pop.state[persons] = State.AT_ORIGIN
        pop.asylum_status[persons] = ASYLUM_NONE
        pop.due_month[persons] = -1
        pop.decision_month[persons] = -1
        pop.lured[persons] = False
        pop.referred[persons] = False  # a new crossing is a new case
        pop.employed[persons] = False
        sim.count(counter, persons.size)

    def _in(self, sim, uk, state):
        return uk[sim.pop.state[uk] == state]

    # ------------------------------------------------------------ the month

    def step(self, sim, t):
        pop = sim.pop
        # persons enter the UK only by arriving (below) or joining family (M10 adds them to
        # sim.uk), so last month's list, less those who left, is everyone in the UK
        uk_before = np.sort(sim.uk[IS_IN_UK[pop.state[sim.uk]]])
        irregular = int(_REMOVABLE[pop.state[uk_before]].sum()) + sim.arrived.size
        self._arrivals(sim, t, sim.arrived)
        uk = np.concatenate((uk_before, sim.arrived))
        self._decisions(sim, t, uk)
        self._care(sim, t, uk)
        self._policing(sim, t, uk)
        self._releases(sim, t, uk)
        self._removals(sim, t, uk)
        self._perceptions(sim, irregular)
        sim.uk = uk[IS_IN_UK[pop.state[uk]]]

    def _arrivals(self, sim, t, arrived):
        p, pol, pop = sim.p.destination, sim.p.policy, sim.pop
        pop.employed[arrived] = False
        minor = pop.age_years(t, arrived) < 18
        minors, adults = arrived[minor], arrived[~minor]
        pop.state[minors] = State.IN_CARE
        claim = self._draw(sim, "claim", t, adults, p.p_asylum_claim_adult)
        claimants = adults[claim]
        pop.state[adults[~claim]] = State.UNDOCUMENTED
        for who in (minors, claimants):
            pop.asylum_status[who] = ASYLUM_PENDING
            pop.decision_month[who] = t + int(round(p.asylum_processing_months))
        sim.count("asylum_claims", minors.size + claimants.size)
        sim.count("asylum_claims_minors", minors.size)
        self._refer(sim, t, minors, p.p_refer_minor_arrival, "refer_minor")
        by_route = pop.route[adults]
        self._refer(sim, t, adults[by_route == ROUTES.index("small_boat")], p.p_refer_small_boat_arrival, "refer_boat")
        self._refer(sim, t, adults[by_route == ROUTES.index("lorry")], p.p_refer_lorry_arrival, "refer_lorry")
        pop.state[claimants] = State.ASYLUM_PENDING
        fast = claimants[self._draw(sim, "fast_track", t, claimants, pol.returns_agreement * pol.returns_agreement_fast_track_share)]
        fast = fast[~pop.referred[fast] & ~pop.lured[fast]]
        sim.count("asylum_refusals", fast.size)
        self.remove(sim, fast, "removals")
        sim.count("removals_fast_track", fast.size)
        self.fast_tracked = fast.size

    def _decisions(self, sim, t, uk):
        p, pop = sim.p.destination, sim.pop
        due = uk[(pop.asylum_status[uk] == ASYLUM_PENDING) & (pop.decision_month[uk] <= t)]
        minor = pop.age_years(t, due) < 18
        grant = self._draw(sim, "grant", t, due, np.where(minor, p.p_grant_minor, p.p_grant_adult))
        pop.asylum_status[due[grant]] = ASYLUM_GRANTED
        pop.asylum_status[due[~grant]] = ASYLUM_REFUSED
        pop.decision_month[due] = -1
        sim.count("asylum_grants", int(grant.sum()))
        sim.count("asylum_refusals", int((~grant).sum()))
        self.decided = (int(grant.sum()), due.size + self.fast_tracked)
        granted, refused = due[grant], due[~grant]
        # adults waiting, and those who left care or went missing before the decision
        waiting = lambda x: x[_WAITING[pop.state[x]]]  # noqa: E731
        pop.state[waiting(granted)] = State.LEGAL_RESIDENT
        pop.state[waiting(refused)] = State.UNDOCUMENTED
        refused_in_care = refused[pop.state[refused] == State.IN_CARE]
        gone = refused_in_care[self._draw(sim, "missing_after_refusal", t, refused_in_care, p.p_missing_after_refusal * sim.p.policy.safeguarding_missing_multiplier)]
        pop.state[gone] = State.MISSING_FROM_CARE
        sim.count("went_missing_from_care", gone.size)

    def _care(self, sim, t, uk):
        p, pop = sim.p.destination, sim.pop
        in_care = self._in(sim, uk, State.IN_CARE)
        missing = self._in(sim, uk, State.MISSING_FROM_CARE)
        go = in_care[self._draw(sim, "missing", t, in_care, p.p_missing_from_care_per_month * sim.p.policy.safeguarding_missing_multiplier)]
        found = missing[self._draw(sim, "found", t, missing, p.p_found_per_month)]
        pop.state[go] = State.MISSING_FROM_CARE
        pop.state[found] = State.IN_CARE
        sim.count("went_missing_from_care", go.size)
        for group in (self._in(sim, uk, State.IN_CARE), self._in(sim, uk, State.MISSING_FROM_CARE)):
            adult = group[pop.age_years(t, group) >= 18]
            status = pop.asylum_status[adult]
            was_missing = pop.state[adult] == State.MISSING_FROM_CARE
            pop.state[adult] = np.where(
                status == ASYLUM_GRANTED, State.LEGAL_RESIDENT,
                np.where((status == ASYLUM_PENDING) & ~was_missing, State.ASYLUM_PENDING, State.UNDOCUMENTED),
            )  # fmt: skip

    def _policing(self, sim, t, uk):
        p, pop = sim.p.destination, sim.pop
        exploited = self._in(sim, uk, State.CRIMINAL_EXPLOITATION)
        arrested = exploited[self._draw(sim, "arrest", t, exploited, p.p_arrest_exploited_per_month * sim.p.policy.policing_multiplier)]
        sim.count("arrests", arrested.size)
        self._refer(sim, t, arrested, p.p_refer_on_arrest, "refer_arrest")
        prob = np.where(pop.referred[arrested], p.p_conviction_if_referred, p.p_conviction)
        convict = self._draw(sim, "convict", t, arrested, prob)
        convicted = arrested[convict]
        z = sim.streams.normal("m8.sentence", t, convicted)
        months = np.clip(np.exp(np.log(p.sentence_median_months) + p.sentence_sigma * z), 1, 240)
        pop.state[convicted] = State.IN_PRISON
        pop.due_month[convicted] = t + np.round(months).astype(np.int16)
        pop.state[arrested[~convict]] = State.UNDOCUMENTED
        sim.count("convictions", convicted.size)
        sim.count("prison_receptions", convicted.size)
        undocumented = self._in(sim, uk, State.UNDOCUMENTED)
        self._refer(sim, t, undocumented, p.p_refer_undocumented_per_month, "refer_labour")

    def _releases(self, sim, t, uk):
        p, pop = sim.p.destination, sim.pop
        prisoners = self._in(sim, uk, State.IN_PRISON)
        out = prisoners[pop.due_month[prisoners] <= t]
        removal = out[self._draw(sim, "removal_on_release", t, out, p.p_removal_on_release)]
        pop.state[out] = State.UNDOCUMENTED
        pop.due_month[out] = -1
        self.remove(sim, removal, "removals")
        sim.count("removals_offenders", removal.size)

    def _agreement_multiplier(self, sim):
        pol = sim.p.policy
        return 1.0 + (pol.returns_agreement_removal_multiplier - 1.0) * pol.returns_agreement

    def _removals(self, sim, t, uk):
        p, pop = sim.p.destination, sim.pop
        undocumented = self._in(sim, uk, State.UNDOCUMENTED)
        refused = pop.asylum_status[undocumented] == ASYLUM_REFUSED
        rate = np.where(refused, p.removal_rate_refused_per_month, p.removal_rate_undocumented_per_month)
        go = self._draw(sim, "removal", t, undocumented, np.minimum(1.0, rate * self._agreement_multiplier(sim)))
        go &= ~pop.referred[undocumented]
        self.remove(sim, undocumented[go], "removals")
        staying = np.concatenate((self._in(sim, uk, State.UNDOCUMENTED), self._in(sim, uk, State.LEGAL_RESIDENT)))
        back = staying[self._draw(sim, "voluntary_return", t, staying, p.voluntary_return_rate_per_month)]
        self.remove(sim, back, "voluntary_returns")

    def _perceptions(self, sim, n_irregular):
        p = sim.p.destination
        w = 1.0 / p.perception_memory_months
        monthly = sim.series["removals"][sim.t] / max(n_irregular, 1)
        self.perceived_return += w * ((1.0 - (1.0 - min(monthly, 1.0)) ** 12) - self.perceived_return)
        grants, decided = self.decided
        if decided:
            self.perceived_stay += w * (grants / decided - self.perceived_stay)
        sim.level("perceived_p_stay", self.perceived_stay)
        sim.level("perceived_p_return", self.perceived_return)
