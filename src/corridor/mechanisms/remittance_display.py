"""M3 Demonstration effect of remittances: houses and cars bought with money from the UK.

Evidence: grand three-storey houses in Kamez built with money sent home, and
BMWs and Mercedes with UK plates in Kukes as status symbols
(003_6a42180f8ac45b94.txt).

What a region sees is last month's remittances and repatriated criminal
proceeds (M9) per head of its population at origin, relative to its wage. The
term added to the log-odds of leaving grows with the log of that display.
"""

import numpy as np

from corridor.mechanisms.base import LEVEL, Mechanism, MechanismParams, Output, PersonArrays, Phase, Reads
from corridor.states import REGIONS
from corridor.units import LogOdds, Real, bounded


class RemittanceDisplayParams(MechanismParams):
    b_remittance_display: LogOdds = bounded(0, 10, "log-odds per unit of display")
    display_scale: Real = bounded(1, 10_000, "display = log(1 + display_scale x money seen per head / wage)")


class RemittanceDisplay(Mechanism):
    name = "remittance_display"
    spec = "M3"
    Params = RemittanceDisplayParams
    persons = PersonArrays(reads=("region",))
    reads = (
        Reads("display_gbp_by_region", Phase.BEGIN, lag=1),
        Reads("origin_population_by_region", Phase.BEGIN),
        Reads("real_wage_gbp", Phase.BEGIN),
    )
    outputs = tuple(
        Output(f"remittance_display_{r}", LEVEL, "log-ratio", f"money from the UK seen per head in region {r}, relative to the wage")
        for r in REGIONS
    )

    def init(self, ctx):
        self.display = np.zeros(len(REGIONS))

    def begin_month(self, ctx, t):
        shared = ctx.shared
        per_head = shared.display_gbp_by_region / np.maximum(shared.origin_population_by_region, 1.0)
        self.display = np.log1p(ctx.p.display_scale * per_head / np.maximum(shared.real_wage_gbp, 1.0))
        for r, name in enumerate(REGIONS):
            ctx.out.set(f"remittance_display_{name}", self.display[r])

    def decision_terms(self, ctx, t, persons, logit):
        logit += ctx.p.b_remittance_display * self.display[ctx.pop.region[persons]]

    def max_decision_term(self, ctx, t):
        return ctx.p.b_remittance_display * float(self.display.max())
