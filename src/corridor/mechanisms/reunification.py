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

from corridor.mechanisms.base import FLOW, Mechanism, MechanismParams, Output, PersonArrays, Phase, Provides, Reads
from corridor.rng import uniform_at
from corridor.states import ASYLUM_GRANTED, State
from corridor.units import ProbabilityPerMonth, bounded

AT_ORIGIN = int(State.AT_ORIGIN)


class ReunificationParams(MechanismParams):
    p_sponsor_per_month: ProbabilityPerMonth = bounded(0, 0.2, "legal resident brings one household member")
    p_regularise_family_ties_per_month: ProbabilityPerMonth = bounded(0, 0.2, "undocumented gains leave via family")


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
            if state[m] == AT_ORIGIN:
                out[k] = m
                break
    return out


class Reunification(Mechanism):
    name = "reunification"
    spec = "M10"
    Params = ReunificationParams
    persons = PersonArrays(reads=("household", "household_ptr"), writes=("state", "asylum_status"))
    provides = (Provides("family_joiners", Phase.STEP, "persons who joined family in the UK this month (legally)"),)
    reads = (Reads("uk_persons", Phase.STEP),)
    outputs = (
        Output("family_reunions", FLOW, "persons", "household members who joined a legal resident in the UK"),
        Output("regularisations", FLOW, "persons", "undocumented persons who gained leave through family ties"),
    )

    def init(self, ctx):
        ctx.shared.family_joiners = np.empty(0, dtype=np.int64)

    def step(self, ctx, t):
        p, pop, out = ctx.p, ctx.pop, ctx.out
        uk = ctx.shared.uk_persons
        legal = uk[pop.state[uk] == State.LEGAL_RESIDENT]
        sponsors = legal[ctx.streams.uniform("sponsor", t, legal) < p.p_sponsor_per_month]
        joiners = _pick_member_at_origin(sponsors, pop.household, pop.household_ptr, pop.state, ctx.streams.key("member"), t)
        joiners = np.unique(joiners[joiners >= 0])
        pop.state[joiners] = State.LEGAL_RESIDENT
        pop.asylum_status[joiners] = ASYLUM_GRANTED
        out.add("family_reunions", joiners.size)
        undocumented = uk[pop.state[uk] == State.UNDOCUMENTED]
        regular = undocumented[ctx.streams.uniform("regularise", t, undocumented) < p.p_regularise_family_ties_per_month]
        pop.state[regular] = State.LEGAL_RESIDENT
        pop.asylum_status[regular] = ASYLUM_GRANTED
        out.add("regularisations", regular.size)
        ctx.shared.family_joiners = joiners
