"""M2 Aspiration and the network effect: the more leave, the more want to leave.

Evidence: a former foreign minister describes a "vicious cycle" in which the
more people leave the more want to leave, and the poorest northern regions have
no young men left (003_6a42180f8ac45b94.txt).

Three channels add to the log-odds of leaving: ties (kin and friends, a CSR
network) who are in the UK, a member of one's own household in the UK, and the
share of the region's young men who are in the UK.
"""

import numba as nb
import numpy as np

from corridor.mechanisms.base import LEVEL, Mechanism, MechanismParams, Output, PersonArrays, Phase, Reads
from corridor.states import REGIONS, UK_FIRST, UK_LAST
from corridor.units import LogOdds, bounded


class NetworkParams(MechanismParams):
    b_ties_abroad: LogOdds = bounded(0, 5, "log-odds per log(1 + ties in the UK)")
    b_household_abroad: LogOdds = bounded(0, 5, "log-odds if a household member is in the UK")
    b_regional_exodus: LogOdds = bounded(0, 30, "log-odds per unit share of the region's young men in the UK")


@nb.njit(cache=True)
def _refresh_ties_in_uk(state, was_in_uk, rev_ptr, rev_idx, ties_in_uk):
    """Keep each person's count of ties in the UK up to date.

    One pass finds the persons who entered or left the UK since last month; only
    their in-ties (reverse CSR) are touched, instead of re-counting every tie.
    The pass first compares blocks of persons without a branch (vectorised) and
    looks inside a block only if someone in it moved."""
    n = state.shape[0]
    for lo in range(0, n, 64):
        hi = min(lo + 64, n)
        moved = 0
        for j in range(np.uint64(lo), np.uint64(hi)):
            moved += ((state[j] >= UK_FIRST) & (state[j] <= UK_LAST)) != was_in_uk[j]
        if moved == 0:
            continue
        for j in range(lo, hi):
            now = (state[j] >= UK_FIRST) & (state[j] <= UK_LAST)
            if now != was_in_uk[j]:
                was_in_uk[j] = now
                d = 1 if now else -1
                for e in range(rev_ptr[j], rev_ptr[j + 1]):
                    ties_in_uk[rev_idx[e]] += d


@nb.njit(cache=True)
def reverse_ties(tie_ptr, tie_idx):
    """Transpose the tie CSR (a counting sort): for each person, who counts them as a tie."""
    n = tie_ptr.shape[0] - 1
    rev_ptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(tie_idx.shape[0]):
        rev_ptr[tie_idx[e] + 1] += 1
    for j in range(n):
        rev_ptr[j + 1] += rev_ptr[j]
    fill = rev_ptr[:-1].copy()
    rev_idx = np.empty(tie_idx.shape[0], dtype=np.int32)
    for i in range(n):
        for e in range(tie_ptr[i], tie_ptr[i + 1]):
            j = tie_idx[e]
            rev_idx[fill[j]] = i
            fill[j] += 1
    return rev_ptr, rev_idx


class Network(Mechanism):
    name = "network"
    spec = "M2"
    Params = NetworkParams
    persons = PersonArrays(reads=("state", "household", "region", "tie_ptr", "tie_idx"))
    reads = (
        Reads("young_men", Phase.BEGIN),
        Reads("household_in_uk", Phase.DECIDE, lag=1),
    )
    outputs = tuple(
        Output(f"share_young_men_in_uk_{r}", LEVEL, "share", f"share of the young men of region {r} who are in the UK")
        for r in REGIONS
    )

    def init(self, ctx):
        pop = ctx.pop
        self.exodus_share = np.zeros(len(REGIONS))
        self.rev_ptr, self.rev_idx = reverse_ties(pop.tie_ptr, pop.tie_idx)
        self.was_in_uk = np.zeros(pop.capacity, dtype=bool)
        self.ties_in_uk_count = np.zeros(pop.capacity, dtype=np.int16)
        self.log1p_ties = np.log1p(np.arange(int(np.diff(pop.tie_ptr).max(initial=0)) + 1))
        self._refresh(ctx)

    def _refresh(self, ctx):
        _refresh_ties_in_uk(ctx.pop.state, self.was_in_uk, self.rev_ptr, self.rev_idx, self.ties_in_uk_count)

    def begin_month(self, ctx, t):
        self._refresh(ctx)
        ym = ctx.shared.young_men.astype(float)
        self.exodus_share = ym[:, 1] / np.maximum(ym.sum(axis=1), 1.0)
        for r, name in enumerate(REGIONS):
            ctx.out.set(f"share_young_men_in_uk_{name}", self.exodus_share[r])

    def decision_terms(self, ctx, t, persons, logit):
        p, pop = ctx.p, ctx.pop
        logit += p.b_ties_abroad * self.log1p_ties[self.ties_in_uk_count[persons]]  # a table: counts are small
        logit += p.b_household_abroad * ctx.shared.household_in_uk[pop.household[persons]]
        logit += p.b_regional_exodus * self.exodus_share[pop.region[persons]]

    def max_decision_term(self, ctx, t):
        p = ctx.p
        most_ties = self.log1p_ties[int(self.ties_in_uk_count.max())]
        return p.b_ties_abroad * most_ties + p.b_household_abroad + p.b_regional_exodus * float(self.exodus_share.max())
