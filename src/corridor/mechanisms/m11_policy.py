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
from pydantic import Field

from corridor.mechanisms.base import LEVEL, Mechanism, MechanismParams
from corridor.states import REGIONS


class PolicyParams(MechanismParams):
    investment_gbp_per_month: float = Field(ge=0, le=1e9)
    investment_region: float = Field(ge=0, le=2, description="0 north, 1 Tirana-Durres, 2 centre-south")
    corruption_leakage: float = Field(ge=0, le=1, description="share of investment lost before it creates jobs")
    cost_per_job_gbp: float = Field(ge=100, le=1e7)
    investment_job_decay_per_year: float = Field(ge=0, le=1)
    awareness_campaign_intensity: float = Field(ge=0, le=5)
    b_awareness_campaign: float = Field(ge=0, le=5, description="log-odds reduction per unit intensity")
    enforcement_lorry: float = Field(ge=0.1, le=10, description="1 = 2012 level")
    enforcement_small_boat: float = Field(ge=0.1, le=10)
    returns_agreement: float = Field(ge=0, le=1, description="0 none, 1 in force")
    returns_agreement_removal_multiplier: float = Field(ge=1, le=50)
    returns_agreement_fast_track_share: float = Field(ge=0, le=1)
    ad_takedown_share: float = Field(ge=0, le=1)
    safeguarding_missing_multiplier: float = Field(ge=0, le=2, description="on the missing-from-care hazard; 1 = as is")
    policing_multiplier: float = Field(ge=0, le=10, description="on arrests of exploited persons")
    fiscal_amnesty: float = Field(ge=0, le=1, description="0 none, 1 in force")
    amnesty_repatriation_multiplier: float = Field(ge=1, le=10)
    amnesty_tax_rate: float = Field(ge=0, le=1)


class Policy(Mechanism):
    name = "policy"
    mechanism_id = "M11"
    Params = PolicyParams
    outputs = {
        "investment_gbp": LEVEL,
        "investment_lost_to_corruption_gbp": LEVEL,
        "jobs_created": LEVEL,
    }

    def init(self, sim):
        sim.jobs_created_agents = np.zeros(len(REGIONS))
        self.jobs_real = np.zeros(len(REGIONS))

    def begin_month(self, sim, t):
        pol = sim.p.policy
        self.jobs_real *= (1.0 - pol.investment_job_decay_per_year) ** (1 / 12)
        spent = pol.investment_gbp_per_month
        self.jobs_real[int(round(pol.investment_region))] += spent * (1.0 - pol.corruption_leakage) / pol.cost_per_job_gbp
        sim.jobs_created_agents = self.jobs_real / sim.scale
        sim.level("investment_gbp", spent)
        sim.level("investment_lost_to_corruption_gbp", spent * pol.corruption_leakage)
        sim.level("jobs_created", self.jobs_real.sum())

    def decision_terms(self, sim, t, persons, logit):
        logit += self.max_decision_term(sim, t)

    def max_decision_term(self, sim, t):
        pol = sim.p.policy
        return -pol.b_awareness_campaign * pol.awareness_campaign_intensity
