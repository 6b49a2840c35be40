"""M4 Lure by gangs on social media: displayed wealth and cheap-crossing ads.

Evidence: a south London street gang promotes its lifestyle to teenagers in
Albania on social media (000_486404c3d6eb819b.txt); gangs advertise cheap
crossings on TikTok (003_6a42180f8ac45b94.txt).

The lure is the reach of the ads (an intensity that events raise as platforms
spread, less the share taken down by policy, M11) times the gangs' appetite for
labour (M7), plus the standing lifestyle display. It adds to the log-odds of
young men, and a share of the young men who then leave are recruited by a gang
that fronts the crossing in return for work (their debt, M7).
"""

from pydantic import Field

from corridor.mechanisms.base import COUNT, LEVEL, Mechanism, MechanismParams


class SocialMediaLureParams(MechanismParams):
    ads_intensity: float = Field(ge=0, le=5, description="reach of cheap-crossing ads, 1 = 2022 TikTok level")
    lifestyle_display_intensity: float = Field(ge=0, le=5, description="standing gang lifestyle display")
    b_lure: float = Field(ge=0, le=5, description="log-odds per unit lure")
    lure_min_age: float = Field(ge=10, le=30, description="years")
    lure_max_age: float = Field(ge=15, le=50, description="years")
    p_recruited_per_lure: float = Field(ge=0, le=1, description="chance a lured leaver is gang-recruited, per unit lure")


class SocialMediaLure(Mechanism):
    name = "social_media"
    mechanism_id = "M4"
    Params = SocialMediaLureParams
    outputs = {"lure_intensity": LEVEL, "gang_recruited_departures": COUNT}

    def begin_month(self, sim, t):
        p = sim.p.social_media
        ads = p.ads_intensity * (1.0 - sim.p.policy.ad_takedown_share)
        sim.lure = (ads + p.lifestyle_display_intensity) * sim.gang_demand_index
        sim.ads_reach = ads
        sim.level("lure_intensity", sim.lure)

    def _targeted(self, sim, t, persons):
        p = sim.p.social_media
        age = sim.pop.age_years(t, persons)
        return sim.pop.sex_male[persons] & (age >= p.lure_min_age) & (age <= p.lure_max_age)

    def decision_terms(self, sim, t, persons, logit):
        logit += sim.p.social_media.b_lure * sim.lure * self._targeted(sim, t, persons)

    def max_decision_term(self, sim, t):
        return max(0.0, sim.p.social_media.b_lure * sim.lure)  # targeted or not

    def recruited(self, sim, t, leavers):
        """Which leavers a gang recruits (and finances) for the crossing."""
        q = min(1.0, sim.p.social_media.p_recruited_per_lure * sim.lure)
        draw = sim.streams.uniform("m4.recruited", t, leavers)
        return self._targeted(sim, t, leavers) & (draw < q)
