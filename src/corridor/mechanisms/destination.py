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
Claims join a queue: after a shortest processing time, the oldest are decided
first, as many a month as the Home Office decides (a throughput that a backlog
clearance multiplies), granted or refused; examining a claim can lead to a
trafficking referral, so referrals follow the queue as well as arrivals. Initial
decisions on Albanian claims were 512 and 748 in 2021 and 2022 against 4,853 and
15,070 claims, then 6,069 in 2023 (uk_asylum_albanian.csv). Minors in
care can go missing (more so after a refusal) and are found again; at 18 they
leave care. Persons in criminal exploitation are arrested, may be referred as
trafficking victims (which lowers conviction), convicted and sentenced; on
release most are removed (more under the returns agreement). Refused and
undocumented persons are removed at a rate that a returns agreement (M11) multiplies; an agreement also fast-tracks
removal of new adult claimants. What a would-be migrant perceives of all this,
the chance of being allowed to stay and of being returned, is a moving average
of recent outcomes, and enters the decision to leave.
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
from corridor.mechanisms.policy import fast_track_share, while_on
from corridor.states import (
    ASYLUM_GRANTED,
    ASYLUM_NONE,
    ASYLUM_PENDING,
    ASYLUM_REFUSED,
    IS_IN_UK,
    RETURN_KINDS,
    ROUTES,
    State,
    state_flags,
)
from corridor.units import LogOdds, Months, Persons, Probability, ProbabilityPerMonth, Real, WholeMonths, bounded

LORRY, BOAT = ROUTES.index("lorry"), ROUTES.index("small_boat")
# persons who can be removed: the denominator of the perceived chance of removal
_REMOVABLE = state_flags(State.ASYLUM_PENDING, State.UNDOCUMENTED, State.CRIMINAL_EXPLOITATION, State.IN_PRISON)
_WAITING = state_flags(State.ASYLUM_PENDING, State.UNDOCUMENTED)
ADULT_AGE = 18
# sentences are drawn log-normal; the longest kept is 20 years (the tail beyond holds almost
# nothing at the spreads allowed, and due months are stored as 16-bit integers)
SENTENCE_MONTHS_RANGE = (1, 240)
# prisoners of 2012 are part-way through their time in custody: the months left are uniform on
# [0, INITIAL_SENTENCE_SPAN x median custody), a mean of one median (an initial condition only)
INITIAL_SENTENCE_SPAN = 2.0
# the adults' grant rate at which p_late_claim_per_month applies: about the initial grant rate
# of Albanian adults in 2012-2019 (uk_asylum_albanian.csv), so the rate keeps its meaning
LATE_CLAIM_REFERENCE_STAY = 0.25


class DestinationParams(MechanismParams):
    p_asylum_claim_adult: Probability = bounded(0, 1, "chance an adult claims asylum on arrival")
    p_late_claim_per_month: ProbabilityPerMonth = bounded(
        0, 0.2, "undocumented persons who never claimed claim in the UK, at a grant rate of 25%"
    )
    late_claim_stay_elasticity: Real = bounded(0, 5, "claims in the UK rise as the adults' grant rate to this power")
    asylum_processing_months: WholeMonths = bounded(1, 60, "shortest time from claim to initial decision")
    asylum_decisions_per_month: Persons = bounded(1, 1e6, "initial decisions the Home Office makes a month (persons); the oldest claims first")
    p_grant_adult: Probability = bounded(0, 1, "initial grant rate, adults")
    p_grant_minor: Probability = bounded(0, 1)
    p_missing_from_care_per_month: ProbabilityPerMonth = bounded(0, 0.5)
    p_missing_after_refusal: Probability = bounded(0, 1)
    p_found_per_month: ProbabilityPerMonth = bounded(0, 1)
    p_refer_small_boat_arrival: Probability = bounded(0, 1)
    p_refer_lorry_arrival: Probability = bounded(0, 1)
    p_refer_minor_arrival: Probability = bounded(0, 1)
    p_refer_on_arrest: Probability = bounded(0, 1)
    p_refer_at_decision: Probability = bounded(0, 1, "claimants referred when their claim is examined (interview, decision)")
    p_refer_undocumented_per_month: ProbabilityPerMonth = bounded(0, 0.5, "labour exploitation identified")
    p_arrest_exploited_per_month: ProbabilityPerMonth = bounded(0, 1)
    p_conviction: Probability = bounded(0, 1)
    p_conviction_if_referred: Probability = bounded(0, 1, "statutory defence for trafficking victims")
    sentence_median_months: Months = bounded(1, 240)
    sentence_sigma: Real = bounded(0, 3, "log-normal spread of sentences")
    custody_share_of_sentence: Probability = bounded(0.05, 1, "share of a sentence served in custody before release or removal")
    p_removal_on_release: Probability = bounded(0, 1)
    removal_rate_refused_per_month: ProbabilityPerMonth = bounded(0, 1)
    removal_rate_undocumented_per_month: ProbabilityPerMonth = bounded(0, 1)
    voluntary_return_rate_per_month: ProbabilityPerMonth = bounded(0, 1, "undocumented persons who go home without enforcement")
    resident_return_rate_per_month: ProbabilityPerMonth = bounded(0, 1, "legal residents who go home (not in the returns statistics)")
    perception_memory_months: Months = bounded(1, 60)
    b_perceived_stay: LogOdds = bounded(0, 10, "log-odds per unit perceived chance of being allowed to stay")
    b_perceived_return: LogOdds = bounded(0, 20, "log-odds per unit perceived chance of removal within a year")


class Destination(Mechanism):
    name = "destination"
    spec = "M8"
    Params = DestinationParams
    persons = PersonArrays(
        reads=("birth_month", "route"),
        writes=("state", "asylum_status", "due_month", "decision_month", "lured", "referred", "employed", "return_kind"),
    )
    provides = (
        Provides("uk_persons", Phase.STEP, "persons in the UK after this month's destination-state transitions"),
        Provides("fast_track_deterrence", Phase.STEP, "log-odds a small-boat arrival would lose per unit share fast-tracked, as seen at origin"),
    )
    reads = (Reads("arrived", Phase.STEP), Reads("family_joiners", Phase.STEP, lag=1), Reads("perceived_fast_track_share", Phase.STEP))
    reads_parameters = ("policy",)
    outputs = (
        Output("asylum_claims", FLOW, "persons", "asylum claims (adults who claim, and every unaccompanied minor)"),
        Output("asylum_claims_minors", FLOW, "persons", "asylum claims of unaccompanied minors"),
        Output("asylum_claims_in_country", FLOW, "persons", "claims made later by persons already in the UK (included in asylum_claims)"),
        Output("asylum_grants", FLOW, "persons", "initial decisions that grant protection"),
        Output("asylum_refusals", FLOW, "persons", "initial refusals, fast-track refusals included"),
        Output("trafficking_referrals", FLOW, "persons", "referrals as potential victims of trafficking (NRM)"),
        Output("trafficking_referrals_minors", FLOW, "persons", "referrals of persons under 18"),
        Output("trafficking_referrals_small_boat", FLOW, "persons", "referrals of persons whose last crossing was by small boat"),
        Output("went_missing_after_refusal", FLOW, "persons", "minors in care who went missing after a refusal"),
        Output("went_missing_in_care", FLOW, "persons", "minors in care who went missing otherwise"),
        Output(
            "went_missing_from_care", FLOW, "persons", "children who went missing from care, for any reason",
            total_of=("went_missing_after_refusal", "went_missing_in_care", "taken_from_care_by_gang"),
        ),
        Output("arrests", FLOW, "persons", "arrests of persons in criminal exploitation"),
        Output("convictions", FLOW, "persons", "convictions after arrest"),
        Output("prison_receptions", FLOW, "persons", "persons sent to prison"),
        Output("removals", FLOW, "persons", "enforced removals to Albania (fast-track and offenders included)"),
        Output("removals_offenders", FLOW, "persons", "removals on release from prison"),
        Output("removals_fast_track", FLOW, "persons", "removals of new claimants under the returns agreement"),
        Output("voluntary_returns", FLOW, "persons", "returns to Albania without enforcement of persons with no right to stay"),
        Output("resident_returns", FLOW, "persons", "legal residents who go back to Albania (not counted as returns by the Home Office)"),
        Output("perceived_p_stay", LEVEL, "probability", "chance of being allowed to stay, as seen at origin"),
        Output("perceived_p_return", LEVEL, "probability", "chance that a small-boat arrival is removed within a year, as seen at origin"),
    )

    def init(self, ctx):
        p, pop = ctx.p, ctx.pop
        self.perceived_stay = p.p_grant_adult
        self.experienced_return = 1.0 - (1.0 - p.removal_rate_refused_per_month) ** 12
        self.fast_tracked = 0
        self.removed = 0
        self.decided = (0, 0)
        ctx.shared.fast_track_deterrence = self.fast_track_deterrence(p)
        self.uk = np.flatnonzero(IS_IN_UK[pop.state])  # kept up to date from here on
        ctx.shared.uk_persons = self.uk
        pop.asylum_status[pop.state == State.LEGAL_RESIDENT] = ASYLUM_GRANTED
        prisoners = np.flatnonzero(pop.state == State.IN_PRISON)
        custody = p.sentence_median_months * p.custody_share_of_sentence
        left = ctx.streams.uniform("initial_sentence", 0, prisoners) * INITIAL_SENTENCE_SPAN * custody
        pop.due_month[prisoners] = 1 + left.astype(np.int16)

    def decision_terms(self, ctx, t, persons, logit):
        logit += self.max_decision_term(ctx, t)

    def max_decision_term(self, ctx, t):
        # what any leaver expects; what the fast track adds for a boat arrival is the boat
        # route's (M6, fast_track_deterrence)
        p = ctx.p
        return p.b_perceived_stay * self.perceived_stay - p.b_perceived_return * self.experienced_return

    def fast_track_deterrence(self, p) -> float:
        """Log-odds a boat arrival loses per unit share fast-tracked: a fast-tracked claimant is
        removed, so loses both the chance of staying and that of not being removed anyway."""
        return p.b_perceived_stay * self.perceived_stay + p.b_perceived_return * (1.0 - self.experienced_return)

    def perceived_return(self, fast_track: float) -> float:
        """The chance that a small-boat arrival is returned within a year, as seen at origin: the
        fast track at the share believed there (M11: as announced the month the agreement starts,
        then as applied); removals of those already in the UK learnt from experience (a moving average)."""
        return 1.0 - (1.0 - fast_track) * (1.0 - self.experienced_return)

    # ------------------------------------------------------------ helpers

    def _draw(self, ctx, purpose, t, persons, prob):
        return ctx.streams.uniform(purpose, t, persons) < prob

    def _refer(self, ctx, t, persons, prob, purpose):
        pop = ctx.pop
        persons = persons[~pop.referred[persons]]
        hit = persons[self._draw(ctx, purpose, t, persons, prob)]
        pop.referred[hit] = True
        ctx.out.add("trafficking_referrals", hit.size)
        ctx.out.add("trafficking_referrals_minors", int((pop.age_years(t, hit) < ADULT_AGE).sum()))
        ctx.out.add("trafficking_referrals_small_boat", int((pop.route[hit] == BOAT).sum()))

    def _remove(self, ctx, persons, counter, kind):
        """Persons leave the UK for Albania: back at origin, free to leave again."""
        pop = ctx.pop
        pop.return_kind[persons] = RETURN_KINDS.index(kind)
        pop.state[persons] = State.AT_ORIGIN
        pop.asylum_status[persons] = ASYLUM_NONE
        pop.due_month[persons] = -1
        pop.decision_month[persons] = -1
        pop.lured[persons] = False
        pop.referred[persons] = False  # a new crossing is a new case
        pop.employed[persons] = False
        ctx.out.add(counter, persons.size)
        if counter == "removals":
            self.removed += persons.size

    def _in(self, ctx, uk, state):
        return uk[ctx.pop.state[uk] == state]

    # ------------------------------------------------------------ the month

    def step(self, ctx, t):
        pop = ctx.pop
        arrived = ctx.shared.arrived
        # persons enter the UK only by arriving (below) or joining family (M10, last month),
        # so last month's list and joiners, less those who left, is everyone in the UK
        known = np.concatenate((self.uk, ctx.shared.family_joiners))
        uk_before = np.sort(known[IS_IN_UK[pop.state[known]]])
        irregular = int(_REMOVABLE[pop.state[uk_before]].sum()) + arrived.size
        self.removed = 0
        self._arrivals(ctx, t, arrived)
        uk = np.concatenate((uk_before, arrived))
        self._in_country_claims(ctx, t, uk_before)
        self._decisions(ctx, t, uk)
        self._care(ctx, t, uk)
        self._policing(ctx, t, uk)
        self._releases(ctx, t, uk)
        self._removals(ctx, t, uk)
        self._perceptions(ctx, irregular)
        self.uk = uk[IS_IN_UK[pop.state[uk]]]
        ctx.shared.uk_persons = self.uk

    def _arrivals(self, ctx, t, arrived):
        p, policy, pop, out = ctx.p, ctx.params.policy, ctx.pop, ctx.out
        pop.employed[arrived] = False
        minor = pop.age_years(t, arrived) < ADULT_AGE
        minors, adults = arrived[minor], arrived[~minor]
        pop.state[minors] = State.IN_CARE
        claim = self._draw(ctx, "claim", t, adults, p.p_asylum_claim_adult)
        claimants = adults[claim]
        pop.state[adults[~claim]] = State.UNDOCUMENTED
        for who in (minors, claimants):
            pop.asylum_status[who] = ASYLUM_PENDING
            pop.decision_month[who] = t + p.asylum_processing_months
        out.add("asylum_claims", minors.size + claimants.size)
        out.add("asylum_claims_minors", minors.size)
        self._refer(ctx, t, minors, p.p_refer_minor_arrival, "refer_minor")
        by_route = pop.route[adults]
        self._refer(ctx, t, adults[by_route == BOAT], p.p_refer_small_boat_arrival, "refer_boat")
        self._refer(ctx, t, adults[by_route == LORRY], p.p_refer_lorry_arrival, "refer_lorry")
        pop.state[claimants] = State.ASYLUM_PENDING
        # the fast track takes claimants held on landing: boat arrivals (lorry entrants are found later, if at all)
        boat = claimants[pop.route[claimants] == BOAT]
        fast = boat[self._draw(ctx, "fast_track", t, boat, fast_track_share(policy))]
        fast = fast[~pop.referred[fast] & ~pop.lured[fast]]
        out.add("asylum_refusals", fast.size)
        self._remove(ctx, fast, "removals", "fast_track")
        out.add("removals_fast_track", fast.size)
        self.fast_tracked = fast.size

    def _in_country_claims(self, ctx, t, uk):
        """Undocumented persons who never claimed may claim later (when found, or advised to):
        most Albanian claims of 2019-2021 came from people who had not arrived by boat that
        year. More claim when claims are granted more often (the adults' grant rate),
        and, facing removal under the returns agreement, more claim too."""
        p, pop, out = ctx.p, ctx.pop, ctx.out
        never = uk[(pop.state[uk] == State.UNDOCUMENTED) & (pop.asylum_status[uk] == ASYLUM_NONE)]
        # the grant rate the Home Office applies, as lawyers and the community in the UK know it
        pull = (p.p_grant_adult / LATE_CLAIM_REFERENCE_STAY) ** p.late_claim_stay_elasticity
        rate = min(1.0, p.p_late_claim_per_month * pull * self._agreement(ctx.params.policy, "claim"))
        claim = never[self._draw(ctx, "late_claim", t, never, rate)]
        pop.state[claim] = State.ASYLUM_PENDING
        pop.asylum_status[claim] = ASYLUM_PENDING
        pop.decision_month[claim] = t + p.asylum_processing_months
        out.add("asylum_claims", claim.size)
        out.add("asylum_claims_in_country", claim.size)

    def _decision_capacity(self, ctx, t) -> int:
        """Initial decisions this month, in agents: the Home Office's throughput (persons a month,
        multiplied while a slowdown or a backlog clearance runs), rounded at random so that small
        capacities keep their mean at any agent scale."""
        policy = ctx.params.policy
        clearance = while_on(policy.backlog_clearance_multiplier, policy.backlog_clearance)
        slowdown = while_on(policy.decision_slowdown_multiplier, policy.decision_slowdown)
        agents = ctx.p.asylum_decisions_per_month * clearance * slowdown / ctx.scale
        whole = int(agents)
        return whole + int(ctx.streams.uniform_all("decision_capacity", t, 1)[0] < agents - whole)

    def _decisions(self, ctx, t, uk):
        p, pop, out = ctx.p, ctx.pop, ctx.out
        due = uk[(pop.asylum_status[uk] == ASYLUM_PENDING) & (pop.decision_month[uk] <= t)]
        capacity = self._decision_capacity(ctx, t)
        if due.size > capacity:  # a queue: the oldest claims are decided first, the rest wait
            oldest = np.argsort(pop.decision_month[due], kind="stable")[:capacity]
            due = np.sort(due[oldest])
        # the Home Office, a first responder, finds signs of trafficking when it examines a claim
        self._refer(ctx, t, due, p.p_refer_at_decision, "refer_decision")
        minor = pop.age_years(t, due) < ADULT_AGE
        grant = self._draw(ctx, "grant", t, due, np.where(minor, p.p_grant_minor, p.p_grant_adult))
        pop.asylum_status[due[grant]] = ASYLUM_GRANTED
        pop.asylum_status[due[~grant]] = ASYLUM_REFUSED
        pop.decision_month[due] = -1
        out.add("asylum_grants", int(grant.sum()))
        out.add("asylum_refusals", int((~grant).sum()))
        self.decided = (int(grant.sum()), due.size)  # claims examined (the fast track is perceived as announced)
        granted, refused = due[grant], due[~grant]
        # adults waiting, and those who left care or went missing before the decision
        waiting = lambda x: x[_WAITING[pop.state[x]]]  # noqa: E731
        pop.state[waiting(granted)] = State.LEGAL_RESIDENT
        pop.state[waiting(refused)] = State.UNDOCUMENTED
        refused_in_care = refused[pop.state[refused] == State.IN_CARE]
        safeguarding = ctx.params.policy.safeguarding_missing_multiplier
        gone = refused_in_care[self._draw(ctx, "missing_after_refusal", t, refused_in_care, p.p_missing_after_refusal * safeguarding)]
        pop.state[gone] = State.MISSING_FROM_CARE
        out.add("went_missing_after_refusal", gone.size)

    def _care(self, ctx, t, uk):
        p, pop = ctx.p, ctx.pop
        in_care = self._in(ctx, uk, State.IN_CARE)
        missing = self._in(ctx, uk, State.MISSING_FROM_CARE)
        safeguarding = ctx.params.policy.safeguarding_missing_multiplier
        go = in_care[self._draw(ctx, "missing", t, in_care, p.p_missing_from_care_per_month * safeguarding)]
        found = missing[self._draw(ctx, "found", t, missing, p.p_found_per_month)]
        pop.state[go] = State.MISSING_FROM_CARE
        pop.state[found] = State.IN_CARE
        ctx.out.add("went_missing_in_care", go.size)
        for group in (self._in(ctx, uk, State.IN_CARE), self._in(ctx, uk, State.MISSING_FROM_CARE)):
            adult = group[pop.age_years(t, group) >= ADULT_AGE]
            status = pop.asylum_status[adult]
            was_missing = pop.state[adult] == State.MISSING_FROM_CARE
            pop.state[adult] = np.where(
                status == ASYLUM_GRANTED, State.LEGAL_RESIDENT,
                np.where((status == ASYLUM_PENDING) & ~was_missing, State.ASYLUM_PENDING, State.UNDOCUMENTED),
            )  # fmt: skip

    def _policing(self, ctx, t, uk):
        p, pop, out = ctx.p, ctx.pop, ctx.out
        exploited = self._in(ctx, uk, State.CRIMINAL_EXPLOITATION)
        p_arrest = p.p_arrest_exploited_per_month * ctx.params.policy.policing_multiplier
        arrested = exploited[self._draw(ctx, "arrest", t, exploited, p_arrest)]
        out.add("arrests", arrested.size)
        self._refer(ctx, t, arrested, p.p_refer_on_arrest, "refer_arrest")
        prob = np.where(pop.referred[arrested], p.p_conviction_if_referred, p.p_conviction)
        convict = self._draw(ctx, "convict", t, arrested, prob)
        convicted = arrested[convict]
        z = ctx.streams.normal("sentence", t, convicted)
        months = np.clip(np.exp(np.log(p.sentence_median_months) + p.sentence_sigma * z), *SENTENCE_MONTHS_RANGE)
        pop.state[convicted] = State.IN_PRISON
        # release (or removal) comes after the custodial part of the sentence, at least a month
        pop.due_month[convicted] = t + np.maximum(1, np.round(months * p.custody_share_of_sentence)).astype(np.int16)
        pop.state[arrested[~convict]] = State.UNDOCUMENTED
        out.add("convictions", convicted.size)
        out.add("prison_receptions", convicted.size)
        undocumented = self._in(ctx, uk, State.UNDOCUMENTED)
        # facing removal, more undocumented persons are identified (or come forward) as exploited
        p_refer = p.p_refer_undocumented_per_month * self._agreement(ctx.params.policy, "referral")
        self._refer(ctx, t, undocumented, p_refer, "refer_labour")

    def _releases(self, ctx, t, uk):
        p, pop = ctx.p, ctx.pop
        prisoners = self._in(ctx, uk, State.IN_PRISON)
        out = prisoners[pop.due_month[prisoners] <= t]
        # the returns agreement speeds the removal of offenders as of other Albanians
        p_removal = min(1.0, p.p_removal_on_release * self._agreement(ctx.params.policy, "removal"))
        removal = out[self._draw(ctx, "removal_on_release", t, out, p_removal)]
        pop.state[out] = State.UNDOCUMENTED
        pop.due_month[out] = -1
        self._remove(ctx, removal, "removals", "offender")
        ctx.out.add("removals_offenders", removal.size)

    @staticmethod
    def _agreement(policy, what: str) -> float:
        """The returns agreement's multiplier on removals, voluntary returns, claims or referrals (1 without it)."""
        return while_on(getattr(policy, f"returns_agreement_{what}_multiplier"), policy.returns_agreement)

    def _removals(self, ctx, t, uk):
        p, pop = ctx.p, ctx.pop
        undocumented = self._in(ctx, uk, State.UNDOCUMENTED)
        refused = pop.asylum_status[undocumented] == ASYLUM_REFUSED
        rate = np.where(refused, p.removal_rate_refused_per_month, p.removal_rate_undocumented_per_month)
        policy = ctx.params.policy
        # the agreement's lever, and a slowdown of removals other than offenders' (2019-2022 in
        # docs/experiments/removal-slowdown: the Windrush review, then Covid-19)
        m = self._agreement(policy, "removal") * while_on(policy.removal_slowdown_multiplier, policy.removal_slowdown)
        go = self._draw(ctx, "removal", t, undocumented, np.minimum(1.0, rate * m))
        go &= ~pop.referred[undocumented]
        self._remove(ctx, undocumented[go], "removals", "enforced")
        # undocumented persons go home more often under the agreement (assisted returns, no prospect
        # of staying); legal residents who go home are not returns in the Home Office's statistics
        undocumented, legal = self._in(ctx, uk, State.UNDOCUMENTED), self._in(ctx, uk, State.LEGAL_RESIDENT)
        rate = min(1.0, p.voluntary_return_rate_per_month * self._agreement(policy, "voluntary"))
        self._remove(ctx, undocumented[self._draw(ctx, "voluntary_return", t, undocumented, rate)], "voluntary_returns", "voluntary")
        home = legal[self._draw(ctx, "voluntary_return", t, legal, p.resident_return_rate_per_month)]
        self._remove(ctx, home, "resident_returns", "resident")

    def _perceptions(self, ctx, n_irregular):
        """What would-be migrants learn from outcomes: the hazard of removal the irregular stock
        faces, and the chance of being allowed to stay, each with a memory of a few months."""
        p, out = ctx.p, ctx.out
        w = 1.0 / p.perception_memory_months
        monthly = (self.removed - self.fast_tracked) / max(n_irregular, 1)  # the stock's; the fast track is announced
        within_a_year = 1.0 - (1.0 - min(monthly, 1.0)) ** 12
        self.experienced_return += w * (within_a_year - self.experienced_return)
        grants, decided = self.decided
        if decided:
            self.perceived_stay += w * (grants / decided - self.perceived_stay)
        out.set("perceived_p_stay", self.perceived_stay)
        out.set("perceived_p_return", self.perceived_return(ctx.shared.perceived_fast_track_share))
        ctx.shared.fast_track_deterrence = self.fast_track_deterrence(p)
