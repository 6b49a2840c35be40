"""M2 Aspiration and the network effect: the more leave, the more want to leave.

Evidence: a former foreign minister describes a "vicious cycle" in which the
more people leave the more want to leave, and the poorest northern regions have
no young men left (003_6a42180f8ac45b94.txt).

Three channels add to the log-odds of leaving: ties (kin and friends, a CSR
network) who are in the UK, a member of one's own household in the UK, and the
share of the region's young men who are in the UK.
"""

import numpy as np
from pydantic import Field

from corridor.kernels import count_ties_in_states
from corridor.mechanisms.base import LEVEL, Mechanism, MechanismParams
from corridor.states import IN_UK, REGIONS

_IN_UK = np.array([int(s) for s in IN_UK], dtype=np.int8)


class NetworkParams(MechanismParams):
    b_ties_abroad: float = Field(ge=0, le=5, description="log-odds per log(1 + ties in the UK)")
    b_household_abroad: float = Field(ge=0, le=5, description="log-odds if a household member is in the UK")
    b_regional_exodus: float = Field(ge=0, le=30, description="log-odds per unit share of the region's young men in the UK")


class Network(Mechanism):
    name = "network"
    mechanism_id = "M2"
    Params = NetworkParams
    outputs = {f"share_young_men_in_uk_{r}": LEVEL for r in REGIONS}

    def init(self, sim):
        sim.household_in_uk = np.zeros(sim.pop.household_savings_gbp.shape[0], dtype=bool)
        sim.exodus_share = np.zeros(len(REGIONS))

    def begin_month(self, sim, t):
        ym = sim.young_men.astype(float)
        sim.exodus_share = ym[:, 1] / np.maximum(ym.sum(axis=1), 1.0)
        for r, name in enumerate(REGIONS):
            sim.level(f"share_young_men_in_uk_{name}", sim.exodus_share[r])

    def ties_in_uk(self, sim, persons):
        pop = sim.pop
        return count_ties_in_states(persons, pop.tie_ptr, pop.tie_idx, pop.state, _IN_UK)

    def decision_terms(self, sim, t, persons, logit):
        p = sim.p.network
        pop = sim.pop
        logit += p.b_ties_abroad * np.log1p(self.ties_in_uk(sim, persons))
        logit += p.b_household_abroad * sim.household_in_uk[pop.household[persons]]
        logit += p.b_regional_exodus * sim.exodus_share[pop.region[persons]]
