"""M10 Family reunification and chain migration.

Evidence: a migrant who came hidden in a lorry later gained the right to remain
through his wife, and his father is preparing papers to join him in London
(003_6a42180f8ac45b94.txt).

Legal residents sponsor a member of their origin household, who moves legally
(not a crossing, not a departure in the irregular series). Undocumented persons
gain leave through family ties at a small rate.
"""

import numba as nb
import numpy as np
from pydantic import Field

from corridor.mechanisms.base import COUNT, Mechanism, MechanismParams
from corridor.rng import uniform_at
from corridor.states import ASYLUM_GRANTED, State


class FamilyReunificationParams(MechanismParams):
    p_sponsor_per_month: float = Field(ge=0, le=0.2, description="legal resident brings one household member")
    p_regularise_family_ties_per_month: float = Field(ge=0, le=0.2, description="undocumented gains leave via family")


@nb.njit(cache=True)
def _pick_member_at_origin(sponsors, household, hh_ptr, state, key, t):
    """For each sponsor, one household member at origin (random start), or -1."""
    out = np.full(sponsors.shape[0], -1, dtype=np.int64)
    for k in range(sponsors.shape[0]):
        h = household[sponsors[k]]
        lo, hi = hh_ptr[h], hh_ptr[h + 1]
        n = hi - lo
        if n == 0:
            continue
        start = int(uniform_at(key, t, sponsors[k]) * n)
        for j in range(n):
            m = lo + (start + j) % n
            if state[m] == 1:
                out[k] = m
                break
    return out


class FamilyReunification(Mechanism):
    name = "reunification"
    mechanism_id = "M10"
    Params = FamilyReunificationParams
    outputs = {"family_reunions": COUNT, "regularisations": COUNT}

    def step(self, sim, t):
        p, pop = sim.p.reunification, sim.pop
        uk = sim.uk
        legal = uk[pop.state[uk] == State.LEGAL_RESIDENT]
        sponsors = legal[sim.streams.uniform("m10.sponsor", t, legal) < p.p_sponsor_per_month]
        joiners = _pick_member_at_origin(
            sponsors, pop.household, pop.household_ptr, pop.state, sim.streams.key("m10.member"), t
        )
        joiners = np.unique(joiners[joiners >= 0])
        pop.state[joiners] = State.LEGAL_RESIDENT
        pop.asylum_status[joiners] = ASYLUM_GRANTED
        sim.count("family_reunions", joiners.size)
        undocumented = uk[pop.state[uk] == State.UNDOCUMENTED]
        regular = undocumented[sim.streams.uniform("m10.regularise", t, undocumented) < p.p_regularise_family_ties_per_month]
        pop.state[regular] = State.LEGAL_RESIDENT
        pop.asylum_status[regular] = ASYLUM_GRANTED
        sim.count("regularisations", regular.size)
        sim.uk = np.concatenate((uk, joiners))
