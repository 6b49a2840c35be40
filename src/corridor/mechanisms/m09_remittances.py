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
from pydantic import Field

from corridor.mechanisms.base import COUNT, MONEY, Mechanism, MechanismParams
from corridor.states import IS_IN_UK, REGIONS, State


class RemittanceParams(MechanismParams):
    remittance_gbp_month: float = Field(ge=0, le=5000)
    december_extra_gbp: float = Field(ge=0, le=5000)
    p_remitting_legal_resident: float = Field(ge=0, le=1)
    p_remitting_undocumented_employed: float = Field(ge=0, le=1)
    p_remitting_exploited: float = Field(ge=0, le=1, description="once the crossing debt is paid")
    criminal_proceeds_repatriated_gbp_month: float = Field(ge=0, le=50_000, description="per worker in exploitation")
    household_savings_rate: float = Field(ge=0, le=1, description="share of household income saved")


class Remittances(Mechanism):
    name = "remittances"
    mechanism_id = "M9"
    Params = RemittanceParams
    outputs = {"remittances_gbp": MONEY, "remittance_senders": COUNT, "criminal_proceeds_repatriated_gbp": MONEY}

    def step(self, sim, t):
        p, pop, pol = sim.p.remittances, sim.pop, sim.p.policy
        uk = sim.uk
        state = pop.state[uk]
        exploited_free = (state == State.CRIMINAL_EXPLOITATION) & (pop.debt_gbp[uk] <= 0)
        p_send = np.where(
            state == State.LEGAL_RESIDENT, p.p_remitting_legal_resident,
            np.where((state == State.UNDOCUMENTED) & pop.employed[uk], p.p_remitting_undocumented_employed,
                     np.where(exploited_free, p.p_remitting_exploited, 0.0)),
        )  # fmt: skip
        senders = uk[sim.streams.uniform("m9.send", t, uk) < p_send]
        amount = p.remittance_gbp_month + (p.december_extra_gbp if sim.scenario.month_of_year(t) == 12 else 0.0)
        workers = uk[state == State.CRIMINAL_EXPLOITATION]
        amnesty = 1.0 + (pol.amnesty_repatriation_multiplier - 1.0) * pol.fiscal_amnesty
        proceeds = p.criminal_proceeds_repatriated_gbp_month * amnesty * (1.0 - pol.amnesty_tax_rate * pol.fiscal_amnesty)
        savings = pop.household_savings_gbp
        savings += (p.household_savings_rate * sim.household_income_gbp).astype(np.float32)
        np.add.at(savings, pop.household[senders], np.float32(amount))
        np.add.at(savings, pop.household[workers], np.float32(proceeds))
        sim.display_gbp_by_region = np.bincount(
            pop.region[senders], minlength=len(REGIONS)
        ) * amount + np.bincount(pop.region[workers], minlength=len(REGIONS)) * proceeds
        sim.household_in_uk[:] = False
        sim.household_in_uk[pop.household[uk[IS_IN_UK[pop.state[uk]]]]] = True
        sim.count("remittances_gbp", senders.size * amount)
        sim.count("remittance_senders", senders.size)
        sim.count("criminal_proceeds_repatriated_gbp", workers.size * proceeds)
