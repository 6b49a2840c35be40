"""M11 Policies and scheduled events.

Evidence: the UK announced millions for jobs and infrastructure in the Kukes
region, which people fear corruption will absorb; the ambassador's appeal to
parents; a planned fiscal amnesty for up to EUR 2 million of cash at up to 10%
tax, which a former minister says will not discourage illegal migration or
illicit activity (003_6a42180f8ac45b94.txt). The UK-Albania returns agreement
of December 2022 (uk_returns_albania.csv, uk_small_boats.csv).

This module owns the policy levers; the scenario's ``events`` switch them (and
any other parameter) at given months, and the engine applies them at the start
of each month. It turns an origin investment, less what corruption takes, into
jobs in the target region (which lower its unemployment, M1), and adds the
effect of awareness campaigns to the decision to leave. The other levers are
read by the mechanisms they act on: enforcement (M6), ad take-down (M4),
returns agreement, safeguarding and policing (M8), fiscal amnesty (M9, M3).
"""

import numpy as np

from corridor.mechanisms.base import FLOW, STOCK, Mechanism, MechanismParams, Output, Phase, Provides
from corridor.states import REGIONS
from corridor.units import (
    GBP,
    REGION_INDEX,
    GBPPerMonth,
    Index,
    LogOdds,
    Months,
    Multiplier,
    Region,
    Share,
    Switch,
    bounded,
    decay_factor,
)


class PolicyParams(MechanismParams):
    investment_gbp_per_month: GBPPerMonth = bounded(0, 1e9)
    investment_region: Region
    corruption_leakage: Share = bounded(0, 1, "share of investment lost before it creates jobs")
    cost_per_job_gbp: GBP = bounded(100, 1e7)
    investment_job_decay_per_year: Share = bounded(0, 1, "share of created jobs lost in a year")
    awareness_campaign_intensity: Index = bounded(0, 5, "0 = none")
    b_awareness_campaign: LogOdds = bounded(0, 5, "log-odds reduction per unit intensity")
    enforcement_lorry: Index = bounded(0.1, 10, "1 = 2012 level")
    enforcement_small_boat: Index = bounded(0.1, 10, "1 = 2018 level")
    returns_agreement: Switch
    returns_agreement_removal_multiplier: Multiplier = bounded(1, 50, "on removals of refused and undocumented persons")
    returns_agreement_fast_track_share: Share = bounded(0, 1, "share of new adult claimants arriving by small boat removed on a fast track")
    returns_agreement_announced_fast_track_share: Share = bounded(0, 1, "the fast track's share as announced, believed at origin the month the agreement starts")
    returns_agreement_announcement_months: Months = bounded(0.1, 120, "months over which the announced share gives way to the share seen")
    returns_agreement_voluntary_multiplier: Multiplier = bounded(1, 50, "on voluntary returns of undocumented persons")
    returns_agreement_referral_multiplier: Multiplier = bounded(1, 50, "on trafficking referrals of undocumented persons facing removal")
    returns_agreement_claim_multiplier: Multiplier = bounded(1, 50, "on asylum claims of undocumented persons facing removal who never claimed")
    removal_slowdown: Switch
    removal_slowdown_multiplier: Multiplier = bounded(0, 1, "on removals of refused and undocumented persons (not offenders) while the slowdown lasts")
    decision_slowdown: Switch
    decision_slowdown_multiplier: Multiplier = bounded(0, 1, "on the Home Office's initial asylum decisions a month while the slowdown lasts")
    backlog_clearance: Switch
    backlog_clearance_multiplier: Multiplier = bounded(1, 50, "on the Home Office's initial asylum decisions a month while a backlog clearance runs")
    ad_takedown_share: Share = bounded(0, 1)
    safeguarding_missing_multiplier: Multiplier = bounded(0, 2, "on the missing-from-care hazard; 1 = as is")
    policing_multiplier: Multiplier = bounded(0, 10, "on arrests of exploited persons")
    fiscal_amnesty: Switch
    amnesty_repatriation_multiplier: Multiplier = bounded(1, 10)
    amnesty_tax_rate: Share = bounded(0, 1)


def while_on(multiplier: float, switch: bool) -> float:
    """A policy lever's multiplier while its switch is on, 1 while it is off."""
    return 1.0 + (multiplier - 1.0) * switch


def fast_track_share(policy: PolicyParams) -> float:
    """Share of new adult claimants arriving by small boat removed on the returns agreement's
    fast track (0 without it): read by the removals (M8) and the route choice (M6)."""
    return policy.returns_agreement * policy.returns_agreement_fast_track_share


class Policy(Mechanism):
    name = "policy"
    spec = "M11"
    Params = PolicyParams
    provides = (
        Provides("jobs_created_agents", Phase.BEGIN, "jobs an origin investment created, by region, in agents"),
        Provides("perceived_fast_track_share", Phase.BEGIN, "the fast track's share as believed at origin this month"),
    )
    outputs = (
        Output("investment_gbp", FLOW, "GBP", "origin investment spent", per_agent=False),
        Output("investment_lost_to_corruption_gbp", FLOW, "GBP", "part of the investment lost to corruption", per_agent=False),
        Output("jobs_created", STOCK, "jobs", "jobs the investment sustains (real jobs, not agents)", per_agent=False),
    )

    def init(self, ctx):
        ctx.shared.jobs_created_agents = np.zeros(len(REGIONS))
        self.jobs_real = np.zeros(len(REGIONS))
        self.agreement_months = 0
        ctx.shared.perceived_fast_track_share = 0.0

    def begin_month(self, ctx, t):
        policy, out = ctx.p, ctx.out
        self.jobs_real *= decay_factor(policy.investment_job_decay_per_year)
        spent = policy.investment_gbp_per_month
        region = REGION_INDEX[policy.investment_region]
        self.jobs_real[region] += spent * (1.0 - policy.corruption_leakage) / policy.cost_per_job_gbp
        ctx.shared.jobs_created_agents = self.jobs_real / ctx.scale
        out.set("investment_gbp", spent)
        out.set("investment_lost_to_corruption_gbp", spent * policy.corruption_leakage)
        out.set("jobs_created", self.jobs_real.sum())
        ctx.shared.perceived_fast_track_share = self._perceived_fast_track(policy)

    def _perceived_fast_track(self, policy) -> float:
        """Believed at origin: the announced share the month the agreement starts, giving way to
        the share applied as those who cross learn what happened to the last ones."""
        actual = fast_track_share(policy)
        self.agreement_months = self.agreement_months + 1 if actual > 0 else 0
        if actual == 0:
            return 0.0
        fade = np.exp(-(self.agreement_months - 1) / policy.returns_agreement_announcement_months)
        return actual + (policy.returns_agreement_announced_fast_track_share - actual) * fade

    def decision_terms(self, ctx, t, persons, logit):
        logit += self.max_decision_term(ctx, t)

    def max_decision_term(self, ctx, t):
        policy = ctx.p
        return -policy.b_awareness_campaign * policy.awareness_campaign_intensity
