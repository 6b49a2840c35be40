"""M4 Lure by gangs on social media: displayed wealth and cheap-crossing ads.

Evidence: a south London street gang promotes its lifestyle to teenagers in
Albania on social media (000_486404c3d6eb819b.txt); gangs advertise cheap
crossings on TikTok to young men (003_6a42180f8ac45b94.txt).

Two lures, each times the gangs' appetite for labour (M7): the standing
lifestyle display, which reaches boys and young men (lure_min_age up), and the
cheap-crossing ads (an intensity that events raise as platforms spread, less
the share taken down by policy, M11), which sell a crossing to men old enough
to buy one (ads_min_age up). The ads leave minors out because the boat surge
they carried was of adults: 14% of the 2022 arrivals were under 18, against a
fifth of the Albanian asylum claims before the boats being children's
(docs/odd.md, M4). The display's lure adds to the log-odds of leaving by any
route. The ads sell a boat crossing: their lure multiplies the odds of the boat
route for the men they reach (M6 turns that into their chance of leaving and
of taking the boat), so ads do not fill the lorries: stops at the juxtaposed
controls stayed flat in 2020 and halved in 2021 while the ads spread
(uk_irregular_detections_albanian.csv). A share of the lured who then leave are
recruited by a gang that fronts the crossing in return for work (their debt, M7).
"""

import numpy as np

from corridor.mechanisms.base import LEVEL, Mechanism, MechanismParams, Output, PersonArrays, Phase, Provides, Reads
from corridor.units import Index, LogOdds, Probability, Years, bounded


class SocialMediaParams(MechanismParams):
    ads_intensity: Index = bounded(0, 5, "reach of cheap-crossing ads, 1 = 2022 TikTok level")
    lifestyle_display_intensity: Index = bounded(0, 5, "standing gang lifestyle display")
    b_lure: LogOdds = bounded(0, 5, "log-odds of leaving per unit display lure; of the boat route per unit ads lure (M6)")
    lure_min_age: Years = bounded(10, 30, "youngest age the lifestyle display reaches")
    ads_min_age: Years = bounded(10, 30, "youngest age the crossing ads reach")
    lure_max_age: Years = bounded(15, 50)
    p_recruited_per_lure: Probability = bounded(0, 1, "chance a lured leaver is gang-recruited, per unit lure")


class SocialMedia(Mechanism):
    name = "social_media"
    spec = "M4"
    Params = SocialMediaParams
    persons = PersonArrays(reads=("sex_male", "birth_month"))
    provides = (
        Provides("ads_reach", Phase.BEGIN, "reach of crossing ads after take-downs (index)"),
        Provides("ads_boat_odds", Phase.BEGIN, "odds ratio of the boat route for a man the crossing ads reach"),
        Provides("candidate_fronting_chance", Phase.DECIDE, "for each candidate, the chance a gang fronts the crossing"),
        Provides("candidate_ad_reached", Phase.DECIDE, "for each candidate, whether the crossing ads reach them"),
        Provides("gang_fronted", Phase.STEP, "for each of this month's leavers, whether a gang fronts the crossing"),
        Provides("leaver_ad_reached", Phase.STEP, "for each of this month's leavers, whether the crossing ads reach them"),
    )
    reads = (
        # ads are bought ahead: the lure follows the gangs' appetite of last month
        Reads("gang_demand_index", Phase.BEGIN, lag=1),
        Reads("leavers", Phase.STEP),
    )
    reads_parameters = ("policy",)
    outputs = (Output("lure_intensity", LEVEL, "index", "gang lure on social media (ads and lifestyle x gang demand)"),)

    def init(self, ctx):
        ctx.shared.ads_reach = 0.0
        ctx.shared.ads_boat_odds = 1.0
        ctx.shared.gang_fronted = np.zeros(0, dtype=bool)
        ctx.shared.leaver_ad_reached = np.zeros(0, dtype=bool)
        ctx.shared.candidate_fronting_chance = np.zeros(0)
        ctx.shared.candidate_ad_reached = np.zeros(0, dtype=bool)
        self.display_lure = self.ads_lure = 0.0

    def begin_month(self, ctx, t):
        p = ctx.p
        ads = p.ads_intensity * (1.0 - ctx.params.policy.ad_takedown_share)
        self.display_lure = p.lifestyle_display_intensity * ctx.shared.gang_demand_index
        self.ads_lure = ads * ctx.shared.gang_demand_index
        ctx.shared.ads_reach = ads
        ctx.shared.ads_boat_odds = float(np.exp(p.b_lure * self.ads_lure))
        ctx.out.set("lure_intensity", self.display_lure + self.ads_lure)

    def _reached(self, ctx, t, persons) -> tuple[np.ndarray, np.ndarray]:
        """Whom the display reaches (men from lure_min_age) and whom the ads reach (men from
        ads_min_age), both up to lure_max_age."""
        p = ctx.p
        age = ctx.pop.age_years(t, persons)
        men = ctx.pop.sex_male[persons] & (age <= p.lure_max_age)
        return men & (age >= p.lure_min_age), men & (age >= p.ads_min_age)

    def _lure(self, display: np.ndarray, ads: np.ndarray) -> np.ndarray:
        return self.display_lure * display + self.ads_lure * ads

    def decision_terms(self, ctx, t, persons, logit):
        display, ads = self._reached(ctx, t, persons)
        logit += ctx.p.b_lure * self.display_lure * display  # the ads' lure acts through the boat route (M6)
        ctx.shared.candidate_ad_reached = ads
        ctx.shared.candidate_fronting_chance = self._fronting_chance(ctx.p, self._lure(display, ads))

    @staticmethod
    def _fronting_chance(p, lure: np.ndarray) -> np.ndarray:
        return np.minimum(1.0, p.p_recruited_per_lure * lure)

    def max_decision_term(self, ctx, t):
        return max(0.0, ctx.p.b_lure * self.display_lure)

    def step(self, ctx, t):
        """Which of this month's leavers a gang recruits, and so finances the crossing of (M5, M7)."""
        leavers = ctx.shared.leavers
        display, ads = self._reached(ctx, t, leavers)
        draw = ctx.streams.uniform("recruited", t, leavers)
        ctx.shared.gang_fronted = draw < self._fronting_chance(ctx.p, self._lure(display, ads))
        ctx.shared.leaver_ad_reached = ads
