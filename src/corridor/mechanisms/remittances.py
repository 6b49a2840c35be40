"""M9 Remittances: money sent home from the UK.

Evidence: a son in the UK sends GBP 100 a month and GBP 200 at Christmas or New
Year (003_6a42180f8ac45b94.txt); remittances to Albania of EUR 600-930 million
a year (albania_economy.csv).

Persons in the UK who work send money to their origin household each month
(more in December); persons in criminal exploitation send once their crossing
debt is paid. Gang proceeds repatriated home, which a fiscal amnesty (M11)
makes safer to bring in, are added to what the region sees (M3) but not to the
remittance series. Households save what they receive, which pays for the next
crossing (M5).
"""

import numpy as np

from corridor.mechanisms.base import FLOW, Mechanism, MechanismParams, Output, PersonArrays, Phase, Provides, Reads
from corridor.mechanisms.policy import while_on
from corridor.states import IS_IN_UK, REGIONS, State
from corridor.units import GBP, GBPPerMonth, Probability, Share, bounded

DECEMBER = 12  # money sent for Christmas and New Year (003_6a42180f8ac45b94.txt)


class RemittancesParams(MechanismParams):
    remittance_gbp_month: GBPPerMonth = bounded(0, 5000)
    december_extra_gbp: GBP = bounded(0, 5000)
    p_remitting_legal_resident: Probability = bounded(0, 1, "chance a legal resident sends money in a month")
    p_remitting_undocumented_employed: Probability = bounded(0, 1, "chance an undocumented worker sends money in a month")
    p_remitting_exploited: Probability = bounded(0, 1, "once the crossing debt is paid")
    criminal_proceeds_repatriated_gbp_month: GBPPerMonth = bounded(0, 50_000, "per worker in exploitation")
    household_savings_rate: Share = bounded(0, 1, "share of household income saved")


class Remittances(Mechanism):
    name = "remittances"
    spec = "M9"
    Params = RemittancesParams
    persons = PersonArrays(
        reads=("state", "debt_gbp", "employed", "household", "region"),
        writes=("household_savings_gbp",),
    )
    provides = (
        Provides("display_gbp_by_region", Phase.STEP, "money from the UK seen in each region this month, GBP per agent"),
        Provides("household_in_uk", Phase.STEP, "whether a household has a member in the UK"),
    )
    reads = (
        Reads("household_income_gbp", Phase.STEP),
        Reads("uk_persons", Phase.STEP),
        Reads("family_joiners", Phase.STEP),
    )
    reads_parameters = ("policy",)
    outputs = (
        Output("remittances_gbp", FLOW, "GBP", "money sent home by migrants in the UK (this corridor's migrants only)"),
        Output("remittance_senders", FLOW, "persons", "persons who sent money home in the month"),
        Output("criminal_proceeds_repatriated_gbp", FLOW, "GBP", "gang proceeds brought home by workers in exploitation"),
    )

    def init(self, ctx):
        ctx.shared.display_gbp_by_region = np.zeros(len(REGIONS))
        ctx.shared.household_in_uk = np.zeros(ctx.pop.n_households, dtype=bool)

    def step(self, ctx, t):
        p, pop, policy, shared, out = ctx.p, ctx.pop, ctx.params.policy, ctx.shared, ctx.out
        uk = np.concatenate((shared.uk_persons, shared.family_joiners))
        state = pop.state[uk]
        exploited_free = (state == State.CRIMINAL_EXPLOITATION) & (pop.debt_gbp[uk] <= 0)
        p_send = np.where(
            state == State.LEGAL_RESIDENT, p.p_remitting_legal_resident,
            np.where((state == State.UNDOCUMENTED) & pop.employed[uk], p.p_remitting_undocumented_employed,
                     np.where(exploited_free, p.p_remitting_exploited, 0.0)),
        )  # fmt: skip
        senders = uk[ctx.streams.uniform("send", t, uk) < p_send]
        amount = p.remittance_gbp_month + (p.december_extra_gbp if ctx.scenario.month_of_year(t) == DECEMBER else 0.0)
        workers = uk[state == State.CRIMINAL_EXPLOITATION]
        amnesty = while_on(policy.amnesty_repatriation_multiplier, policy.fiscal_amnesty)
        proceeds = p.criminal_proceeds_repatriated_gbp_month * amnesty * (1.0 - policy.amnesty_tax_rate * policy.fiscal_amnesty)
        savings = pop.household_savings_gbp
        savings += (p.household_savings_rate * shared.household_income_gbp).astype(np.float32)
        np.add.at(savings, pop.household[senders], np.float32(amount))
        np.add.at(savings, pop.household[workers], np.float32(proceeds))
        shared.display_gbp_by_region = np.bincount(
            pop.region[senders], minlength=len(REGIONS)
        ) * amount + np.bincount(pop.region[workers], minlength=len(REGIONS)) * proceeds
        in_uk = shared.household_in_uk
        in_uk[:] = False
        in_uk[pop.household[uk[IS_IN_UK[pop.state[uk]]]]] = True
        out.add("remittances_gbp", senders.size * amount)
        out.add("remittance_senders", senders.size)
        out.add("criminal_proceeds_repatriated_gbp", workers.size * proceeds)
