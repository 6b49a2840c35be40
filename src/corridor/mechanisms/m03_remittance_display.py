"""M3 Demonstration effect of remittances: houses and cars bought with money from the UK.

Evidence: grand three-storey houses in Kamez built with money sent home, and
BMWs and Mercedes with UK plates in Kukes as status symbols
(003_6a42180f8ac45b94.txt).

What a region sees is last month's remittances and repatriated criminal
proceeds (M9) per head of its population at origin, relative to its wage. The
term added to the log-odds of leaving grows with the log of that display.
"""

import numpy as np
from pydantic import Field

from corridor.mechanisms.base import LEVEL, Mechanism, MechanismParams
from corridor.states import REGIONS


class RemittanceDisplayParams(MechanismParams):
    b_remittance_display: float = Field(ge=0, le=10, description="log-odds per log(1 + display/wage ratio x 100)")


class RemittanceDisplay(Mechanism):
    name = "remittance_display"
    mechanism_id = "M3"
    Params = RemittanceDisplayParams
    outputs = {f"remittance_display_{r}": LEVEL for r in REGIONS}

    def init(self, sim):
        sim.display_gbp_by_region = np.zeros(len(REGIONS))  # set by M9 at the end of each month
        self.display = np.zeros(len(REGIONS))

    def begin_month(self, sim, t):
        per_head = sim.display_gbp_by_region / np.maximum(sim.origin_population_by_region, 1.0)
        self.display = np.log1p(100.0 * per_head / np.maximum(sim.real_wage_gbp, 1.0))
        for r, name in enumerate(REGIONS):
            sim.level(f"remittance_display_{name}", self.display[r])

    def decision_terms(self, sim, t, persons, logit):
        logit += sim.p.remittance_display.b_remittance_display * self.display[sim.pop.region[persons]]

    def max_decision_term(self, sim, t):
        return sim.p.remittance_display.b_remittance_display * float(self.display.max())
