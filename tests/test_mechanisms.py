"""Each mechanism moves its outputs in the direction the evidence says.

Policy arms share the seed, so persons draw the same random numbers in both
(common random numbers): the difference is the policy, not the noise.
"""

import numpy as np
import pytest

from corridor import engine
from corridor.calibration import truncate
from corridor.engine import Simulation
from corridor.kernels import logistic
from corridor.states import State
from tests.conftest import ACTIVE_AFTER_2024, scenario, simulate, total


def test_cheaper_crossing_raises_departures(baseline):
    cheap = simulate(
        "albania-uk", overrides=(("smuggling.lorry_base_price_gbp", 6000.0), ("smuggling.small_boat_base_price_gbp", 1500.0))
    )
    assert total(cheap, "departures") > 1.1 * total(baseline, "departures")


def test_small_boats_undercut_lorries_and_raise_departures(baseline):
    no_boats = simulate("no-small-boats")
    assert total(no_boats, "arrivals_small_boat") == 0
    # while the route spreads, up to the agreement of December 2022 (the calibrated first-year
    # awareness is low: in 2018-2019 few know the route; and those who prefer the boat wait for
    # its season, so in winter fewer leave than would by lorry)
    opening = {"since": "2020-01", "until": "2022-11"}
    assert total(baseline, "departures", **opening) > 1.1 * total(no_boats, "departures", **opening)
    # and take the place of some lorries (the lorry branch of the route choice thins; with the
    # calibrated values 0.69 of the lorry departures without boats in 2022, where detections of
    # lorry entrants halved from 2021 to 2022: the lorries empty less than the record says)
    surge = {"since": "2022-01", "until": "2022-11"}
    assert total(baseline, "departures_lorry", **surge) < 0.8 * total(no_boats, "departures_lorry", **surge)
    s = baseline.series
    late = s[s["month"] == "2022-06"].iloc[0]
    assert late["price_small_boat_gbp"] < 0.5 * late["price_lorry_gbp"]


def test_origin_investment_lowers_departures_from_the_north(active_baseline):
    baseline = active_baseline
    invest = simulate("job-investment", overrides=ACTIVE_AFTER_2024)
    s = invest.series
    assert s[s["month"] == "2029-06"]["youth_unemployment_rate_north"].iloc[0] < baseline.series[
        baseline.series["month"] == "2029-06"
    ]["youth_unemployment_rate_north"].iloc[0]
    assert total(invest, "departures_region_north", since="2025-01") < 0.97 * total(
        baseline, "departures_region_north", since="2025-01"
    )


def test_corruption_leakage_reduces_the_jobs_an_investment_creates():
    clean = simulate("job-investment", overrides=(("policy.corruption_leakage", 0.0), *ACTIVE_AFTER_2024))
    leaky = simulate("job-investment", overrides=(("policy.corruption_leakage", 0.6), *ACTIVE_AFTER_2024))
    assert leaky.series["jobs_created"].max() < 0.5 * clean.series["jobs_created"].max()
    assert total(leaky, "departures_region_north", since="2025-01") > total(clean, "departures_region_north", since="2025-01")


def _removal_rate_of_the_undocumented(results, since="2023-01", until="2023-12"):
    """Removals other than offenders' and the fast track's, over the mean undocumented stock."""
    s = results.series.set_index("month").loc[since:until]
    removed = s["removals"] - s["removals_offenders"] - s["removals_fast_track"]
    return removed.sum() / s["undocumented"].mean()


def test_returns_agreement_raises_removals_and_lowers_arrivals(baseline):
    """The agreement's removal lever raises the rate at which the undocumented stock is removed
    (calibrated 1.3 times: 1.31 in 2023 at this seed; 0.93 with the lever at 1, measured), and
    deters arrivals. The count of removals is not compared: fewer arrivals leave fewer to remove
    (at the calibrated values, 1.14 times the removals of a run without the agreement)."""
    without = simulate("no-returns-agreement")
    assert _removal_rate_of_the_undocumented(baseline) > 1.15 * _removal_rate_of_the_undocumented(without)
    assert total(baseline, "removals", "2023-01", "2023-12") > total(without, "removals", "2023-01", "2023-12")
    assert total(baseline, "arrivals", "2023-01", "2024-12") < 0.7 * total(without, "arrivals", "2023-01", "2024-12")


def test_enforcement_raises_price_and_interceptions(active_baseline):
    baseline = active_baseline
    strong = simulate("stronger-enforcement", overrides=ACTIVE_AFTER_2024)
    s, b = strong.series, baseline.series
    month = s["month"] == "2026-06"
    assert s[month]["price_lorry_gbp"].iloc[0] > 1.2 * b[month]["price_lorry_gbp"].iloc[0]
    assert s[month]["price_small_boat_gbp"].iloc[0] > 1.2 * b[month]["price_small_boat_gbp"].iloc[0]
    # more enforcement: a larger share of crossings is intercepted
    share = lambda r: total(r, "interceptions", since="2025-01") / total(r, "departures", since="2025-01")  # noqa: E731
    assert share(strong) > 1.2 * share(baseline)


def test_ad_takedown_lowers_gang_recruitment(baseline):
    takedown = simulate("ad-takedown")
    assert total(takedown, "gang_recruited_departures", since="2021-01") < 0.6 * total(
        baseline, "gang_recruited_departures", since="2021-01"
    )


def test_safeguarding_lowers_missing_from_care(baseline):
    safe = simulate("safeguarding-minors")
    assert total(safe, "went_missing_from_care", since="2019-01") < 0.9 * total(
        baseline, "went_missing_from_care", since="2019-01"
    )


def test_more_ties_abroad_raise_departures(baseline):
    no_network = simulate("albania-uk", overrides=(("network.b_ties_abroad", 0.0), ("network.b_household_abroad", 0.0)))
    big_diaspora = simulate("albania-uk", overrides=(("demography.initial_uk_diaspora_persons", 120000.0),))
    # before the boats and the policy responses that feed back on departures
    assert total(baseline, "departures", until="2017-12") > 1.05 * total(no_network, "departures", until="2017-12")
    assert total(big_diaspora, "departures", until="2019-12") > 1.1 * total(baseline, "departures", until="2019-12")


def test_perceived_chance_of_return_deters_departures(baseline):
    indifferent = simulate("albania-uk", overrides=(("destination.b_perceived_return", 0.0),))
    assert total(indifferent, "departures", since="2023-01") > 1.2 * total(baseline, "departures", since="2023-01")


def test_debt_drives_recruitment_into_exploitation():
    # both arms set (not the calibrated value, which moves with each calibration): no effect of debt
    # against the top of its prior
    no_debt_effect = simulate("albania-uk", overrides=(("exploitation.debt_recruitment_multiplier", 1.0),))
    strong = simulate("albania-uk", overrides=(("exploitation.debt_recruitment_multiplier", 6.0),))
    # the direct effect, before the boats: later, more recruits now mean fewer left to recruit (the
    # gangs' demand fills) and the calibrated feedback of 2022-2023 can reverse whole-horizon totals
    before_boats = ("2012-01", "2017-12")
    assert total(no_debt_effect, "recruited_into_exploitation", *before_boats) < 0.95 * total(
        strong, "recruited_into_exploitation", *before_boats
    )


def test_riskier_boats_kill_more_people_and_deter_some(active_baseline):
    baseline = active_baseline
    risky = simulate("albania-uk", overrides=(("smuggling.small_boat_p_death", 0.02), *ACTIVE_AFTER_2024))
    rate = lambda r: total(r, "deaths_small_boat") / total(r, "departures_small_boat")  # noqa: E731
    assert rate(risky) > 3 * rate(baseline)
    assert total(risky, "deaths_small_boat") > total(baseline, "deaths_small_boat")
    assert total(risky, "departures_small_boat") < total(baseline, "departures_small_boat")


def test_remittances_follow_the_diaspora(baseline):
    s = baseline.series
    assert (s["remittances_gbp"] > 0).all()
    december = s[s["month"].str.endswith("-12")]["remittances_gbp"].mean()
    november = s[s["month"].str.endswith("-11")]["remittances_gbp"].mean()
    assert december > 1.5 * november  # GBP 200 at Christmas instead of 100 (003)


def test_family_reunification_brings_household_members_legally_without_a_crossing():
    sim = Simulation(scenario("albania-uk"), agents=20_000, seed=6)
    joined = 0
    for t in range(sim.n_months):
        before = sim.pop.state.copy()
        sim.step(t)
        joiners = sim.shared.family_joiners
        assert (before[joiners] == State.AT_ORIGIN).all()  # straight from home: no transit, no departure
        assert (sim.pop.state[joiners] == State.LEGAL_RESIDENT).all()
        for j in joiners:
            members = np.arange(*sim.pop.household_ptr[sim.pop.household[j] : sim.pop.household[j] + 2])
            sponsors = members[(members != j) & (sim.pop.state[members] == State.LEGAL_RESIDENT)]
            assert sponsors.size > 0, "a joiner has a sponsor in their household"
        joined += joiners.size
    res = sim.results()
    assert joined > 0 and joined == round(res.series["family_reunions"].sum() / sim.scale)


def test_sons_are_sent_younger_and_younger():
    """No boy under the 2012 minimum age (16) leaves in the first years; as the minimum falls,
    younger boys leave too, unless families stop sending them younger."""
    def ages_of_minors_leaving(decline):
        overrides = (("family.sending_age_decline_per_year", decline), ("family.minor_logit_offset", 1.0))
        sim = Simulation(scenario("albania-uk").with_values(dict(overrides)), agents=40_000, seed=2, record_events=True)
        res = sim.run()
        ev = res.life_events
        left = ev[(ev["from_state"] == "at_origin") & (ev["to_state"] == "in_transit")]
        age = (left["month_index"].to_numpy() - sim.pop.birth_month[left["person"].to_numpy()]) // 12
        return left["month"].to_numpy(), age

    month, age = ages_of_minors_leaving(0.1)
    assert age[month < "2021-01"].min() >= 16
    assert (age[month >= "2024-01"] < 16).sum() > 0
    month, age = ages_of_minors_leaving(0.0)
    assert age.min() >= 16


def test_fiscal_amnesty_raises_displayed_wealth(baseline):
    amnesty = simulate("fiscal-amnesty")
    assert total(amnesty, "criminal_proceeds_repatriated_gbp", since="2024-01") > 1.3 * total(
        baseline, "criminal_proceeds_repatriated_gbp", since="2024-01"
    )


def test_prison_sentences_end_in_removal(baseline):
    assert total(baseline, "removals_offenders") > 0
    assert baseline.series["prison_population"].iloc[-1] > 0


def _custody_spells(share: float) -> tuple[np.ndarray, np.ndarray]:
    """Months from entry into prison to leaving it, and the sentences recorded at entry (2012-2019;
    recruitment and arrests at their priors' tops, so that many are jailed at a test size)."""
    busy = {"destination.custody_share_of_sentence": share, "exploitation.recruitment_rate_per_month": 0.08,
            "destination.p_arrest_exploited_per_month": 0.08}  # fmt: skip
    sc = truncate(scenario("albania-uk").with_values(busy), 2019)
    life = Simulation(sc, agents=40_000, seed=5, record_events=True).run().life_events
    jailed = life[life["to_state"] == "in_prison"].drop_duplicates("person")
    left = life[life["from_state"] == "in_prison"].drop_duplicates("person").set_index("person")["month_index"]
    jailed = jailed[jailed["person"].isin(left.index)]
    return left.loc[jailed["person"]].to_numpy() - jailed["month_index"].to_numpy(), jailed["sentence_months"].to_numpy()


def test_offenders_serve_the_custodial_part_of_their_sentence_then_leave():
    """M8: release (or removal) at the share of the sentence served in custody, not at its end."""
    half_served, half_sentences = _custody_spells(0.5)
    full_served, full_sentences = _custody_spells(1.0)
    assert half_served.size > 20 and full_served.size > 20
    # in custody for about half the sentence (rounded to months), as the statute has it
    assert np.median(half_served / half_sentences) == pytest.approx(0.5, abs=0.06)
    assert np.median(full_served / full_sentences) == pytest.approx(1.0, abs=0.02)
    # the sentences handed down are the court's either way (the share changes custody, not sentence)
    assert np.median(half_sentences) == pytest.approx(np.median(full_sentences), rel=0.35)


def test_a_removal_slowdown_spares_offenders(baseline):
    """M8/M11: the slowdown of 2019-2022 (a lever, docs/experiments/removal-slowdown) cuts removals
    of refused and undocumented persons, not those of offenders on release."""
    slow = simulate("albania-uk", overrides=(("policy.removal_slowdown", True), ("policy.removal_slowdown_multiplier", 0.1)))
    early = {"since": "2012-01", "until": "2018-12"}  # before the agreement's fast track and multipliers
    others = lambda r: total(r, "removals", **early) - total(r, "removals_offenders", **early)  # noqa: E731
    assert others(baseline) > 2_000  # persons: enough removals at the test size for the ratio to mean something
    assert others(slow) < 0.3 * others(baseline)
    assert total(slow, "removals_offenders", **early) > 0.8 * total(baseline, "removals_offenders", **early)


def test_a_decision_slowdown_holds_claims_in_the_queue(baseline):
    """M8/M11: while a slowdown of decisions lasts (a lever, docs/experiments/decision-slowdown),
    the Home Office decides at most that share of its throughput a month, so fewer claims are
    decided and more wait (switched on here for the whole run)."""
    slow = simulate("albania-uk", overrides=(("policy.decision_slowdown", True), ("policy.decision_slowdown_multiplier", 0.1)))
    scale = baseline.manifest["agent_scale_people_per_agent"]
    per_month = scenario("albania-uk").value("destination.asylum_decisions_per_month")
    before_clearance = _decisions(slow).loc["2012-01":"2022-12"]
    assert before_clearance.max() <= (np.floor(0.1 * per_month / scale) + 1) * scale + 1e-6
    window = {"since": "2016-01", "until": "2022-12"}
    decided = lambda r: total(r, "asylum_grants", **window) + total(r, "asylum_refusals", **window)  # noqa: E731
    assert decided(slow) < 0.4 * decided(baseline)
    waiting = lambda r: r.series.set_index("month").loc["2022-12", "asylum_pending"]  # noqa: E731
    assert waiting(slow) > 1.5 * waiting(baseline)


def test_the_2022_surge_and_2023_fall_of_boat_arrivals(baseline):
    year = lambda y: total(baseline, "arrivals_small_boat", f"{y}-01", f"{y}-12")  # noqa: E731
    assert year(2022) > 3 * year(2020)
    assert year(2023) < 0.5 * year(2022)


def test_remittance_display_pulls_people_out(baseline):
    # both arms set (not the calibrated value, which moves with each calibration)
    no_display = simulate("albania-uk", overrides=(("remittance_display.b_remittance_display", 0.0),))
    strong = simulate("albania-uk", overrides=(("remittance_display.b_remittance_display", 0.9),))
    # once the stock of remitters has grown (before 2018 it is small and the pull is under 1%)
    grown = {"since": "2018-01", "until": "2021-12"}
    assert total(no_display, "departures", **grown) < 0.9 * total(strong, "departures", **grown)
    assert (baseline.series["remittance_display_north"].iloc[12:] > 0).all()


def test_awareness_campaign_lowers_departures(baseline):
    campaign = simulate("awareness-campaign")
    assert total(campaign, "departures", since="2025-01") < 0.97 * total(baseline, "departures", since="2025-01")
    assert total(campaign, "departures", until="2024-12") == total(baseline, "departures", until="2024-12")


def test_emigration_elsewhere_empties_the_origin(baseline):
    stay = simulate("albania-uk", overrides=(("demography.emigration_elsewhere_rate_per_year", 0.0),))
    last = lambda r: r.series["origin_young_men"].iloc[-1]  # noqa: E731
    assert last(stay) > 1.1 * last(baseline)
    s = baseline.series
    assert s["origin_young_men_north"].iloc[-1] < s["origin_young_men_north"].iloc[0]  # 003: no young men left



@pytest.mark.parametrize(
    "overrides",
    [(), (("network.b_ties_abroad", 5.0), ("smuggling.b_price", 5.0), ("social_media.b_lure", 5.0), ("family.female_logit_offset", 2.0))],
    ids=["default", "strong-terms"],
)
def test_thinning_is_exact_because_the_bounds_hold(monkeypatch, overrides):
    """Every module bounds its term, so no one's chance of leaving exceeds the cap the
    engine draws candidates under: evaluating everyone gives the same run."""
    sc = scenario("albania-uk").with_values(dict(overrides))
    thinned = Simulation(sc, agents=20_000, seed=5).run()
    assert total(thinned, "leave_probability_capped") == 0
    monkeypatch.setattr(engine, "BOUND_MARGIN", 100.0)  # cap 1: every person who may leave is a candidate
    everyone = Simulation(sc, agents=20_000, seed=5)
    for t in range(sc.n_months):
        everyone.step(t)
        bound = sum(m.max_decision_term(ctx, t) for m, ctx in zip(everyone.modules, everyone.contexts, strict=True))
        assert everyone.shared.p_leave.max(initial=0.0) <= logistic(bound + 1e-9), everyone.scenario.month_label(t)
    # the expected-value outputs estimate from the candidates, so they depend on the cap; nothing else does
    same = [c for c in thinned.series.columns if not c.startswith("expected_")]
    assert everyone.results().series[same].equals(thinned.series[same])


def test_every_module_with_a_decision_term_bounds_it():
    from corridor.mechanisms import MECHANISMS
    from corridor.mechanisms.base import Mechanism

    for cls in MECHANISMS:
        if cls.decision_terms is not Mechanism.decision_terms:
            assert cls.max_decision_term is not Mechanism.max_decision_term, cls.__name__


def test_boats_cross_in_summer_and_lorries_all_year(baseline):
    """The season acts on the boat alone: in winter fewer leave for the boat, while the lorry's
    leavers are about as many as without a season. The lorries' own winter-to-summer ratio in
    2019-2022 is compared with the arm without a season, not with 1. It is lower there (0.79 of
    it at this seed): without a season the winter's boat arrivals add ties abroad, which raise
    the lorry departures of the next winter too (M2), and the lorries are a few agents a month. A
    season that held lorries back too takes it to 0.08 (measured by mutation)."""
    no_season = (("smuggling.boat_season_rise_sharpness", 0.0), ("smuggling.boat_season_fall_sharpness", 0.0))
    flat = simulate("albania-uk", overrides=(*no_season, ("smuggling.boat_season_floor", 1.0)))

    def winter_over_summer(results, column):
        s = results.series[(results.series["month"] >= "2019-01") & (results.series["month"] < "2023-01")]
        month = s["month"].str[5:7].astype(int)
        return s.loc[month.isin([12, 1, 2, 3]), column].sum() / s.loc[month.isin([6, 7, 8, 9]), column].sum()

    assert winter_over_summer(baseline, "arrivals_small_boat") < 0.25
    assert winter_over_summer(flat, "arrivals_small_boat") > 0.5
    # a season that held lorries back too would take this ratio towards the boats' (0.01)
    assert winter_over_summer(baseline, "arrivals_lorry") > 0.6 * winter_over_summer(flat, "arrivals_lorry")


def test_the_returns_agreement_deters_through_what_arrivals_face_not_mass_removals(baseline):
    """The fast track for new claimants is announced and perceived at once: departures fall
    within months while removals of the stock stay in the hundreds to a few thousand a year."""
    s = baseline.series.set_index("month")
    assert s.loc["2023-03", "perceived_p_return"] > 3 * s.loc["2022-10", "perceived_p_return"]
    without = simulate("no-returns-agreement")
    assert total(baseline, "departures", "2023-01", "2023-12") < 0.6 * total(without, "departures", "2023-01", "2023-12")
    assert total(baseline, "removals", "2023-01", "2023-12") < 8_000


def test_undocumented_persons_claim_asylum_in_the_uk(baseline):
    never = simulate("albania-uk", overrides=(("destination.p_late_claim_per_month", 0.0),))
    assert total(never, "asylum_claims_in_country") == 0
    # a share of the claims of the lorry years: 7% at the calibrated late-claim rate (0.46% a month)
    assert total(baseline, "asylum_claims_in_country", "2019-01", "2021-12") > 0.05 * total(baseline, "asylum_claims", "2019-01", "2021-12")
    assert total(baseline, "asylum_claims", "2019-01", "2021-12") > total(never, "asylum_claims", "2019-01", "2021-12")


def test_the_lorry_route_takes_no_more_than_its_capacity_and_the_rest_wait():
    cap = "smuggling.lorry_capacity_persons_per_month"
    loose = simulate("no-small-boats", overrides=((cap, 100_000.0),))
    tight = simulate("no-small-boats", overrides=((cap, 100.0),))
    years = {"since": "2014-01", "until": "2019-12"}
    months = 72
    wanted = total(loose, "expected_departures_lorry", **years) / months
    assert wanted > 2 * 100  # the demand the route would carry is well above the capacity
    assert (loose.series["lorry_slots_share"] == 1.0).all()
    # with the capacity binding, lorry crossings stay near it (expected and realised) ...
    assert 0.8 * 100 < total(tight, "expected_departures_lorry", **years) / months < 1.2 * 100
    assert 0.75 * 100 < total(tight, "departures_lorry", **years) / months < 1.25 * 100
    s = tight.series
    window = s[(s["month"] >= "2014-01") & (s["month"] <= "2019-12")]
    assert window["lorry_slots_share"].mean() < 0.6
    # ... and those without a place wait at origin rather than leave: fewer depart, more stay
    assert total(tight, "departures", **years) < 0.6 * total(loose, "departures", **years)


def test_claims_in_the_uk_rise_and_fall_with_the_grant_rate():
    flat = simulate("albania-uk", overrides=(("destination.late_claim_stay_elasticity", 0.0),))
    pulled = simulate("albania-uk", overrides=(("destination.late_claim_stay_elasticity", 2.0),))
    # the adults' grant rate was 7.9% in 2018 and 45.9% in 2021 (scenario events): below the
    # reference rate (25%) fewer claim than without the pull, above it more
    low, high = {"since": "2018-01", "until": "2018-12"}, {"since": "2021-01", "until": "2021-12"}
    assert total(pulled, "asylum_claims_in_country", **low) < 0.7 * total(flat, "asylum_claims_in_country", **low)
    assert total(pulled, "asylum_claims_in_country", **high) > 1.5 * total(flat, "asylum_claims_in_country", **high)


def test_the_agreement_raises_voluntary_returns_claims_and_referrals_of_those_facing_removal():
    levers = ("voluntary", "referral", "claim")
    # labour-exploitation referrals of the undocumented at their prior's top in both arms: the test
    # checks the direction of the levers, and at the calibrated rate a year holds a few agents
    referrals = (("destination.p_refer_undocumented_per_month", 0.01),)
    plain = referrals + tuple((f"policy.returns_agreement_{lever}_multiplier", 1.0) for lever in levers)
    push = referrals + tuple((f"policy.returns_agreement_{lever}_multiplier", 3.0) for lever in levers)
    base, no_push = simulate("albania-uk", overrides=push), simulate("albania-uk", overrides=plain)
    year = {"since": "2023-01", "until": "2023-12"}
    assert total(base, "voluntary_returns", **year) > 1.3 * total(no_push, "voluntary_returns", **year)
    assert total(base, "trafficking_referrals", **year) > total(no_push, "trafficking_referrals", **year)
    assert total(base, "asylum_claims_in_country", **year) > 1.5 * total(no_push, "asylum_claims_in_country", **year)
    assert total(base, "asylum_claims_in_country", "2012-01", "2022-11") == total(no_push, "asylum_claims_in_country", "2012-01", "2022-11")


def test_expected_arrivals_are_the_mean_of_the_realised_ones_with_less_noise():
    """Conditional Monte Carlo: the expected boat arrivals estimate what the realised count
    measures, without the noise of who drew under their chance (small flows stay smooth)."""
    runs = [Simulation(scenario("albania-uk"), agents=10_000, seed=s).run().series for s in range(12)]
    window = lambda df, col: df[(df["month"] >= "2020-01") & (df["month"] <= "2022-12")][col].sum()  # noqa: E731
    realised = np.array([window(r, "arrivals_small_boat") for r in runs])
    expected = np.array([window(r, "expected_arrivals_small_boat") for r in runs])
    assert abs(expected.mean() - realised.mean()) < 3 * realised.std(ddof=1) / np.sqrt(len(runs))
    # a small flow: the few hundred boat arrivals of 2023, a handful of agents at this scale
    # (2019's few dozen are no agent at all in most runs, where the realised count is 0)
    late = lambda df, col: df[df["month"].str.startswith("2023")][col].sum()  # noqa: E731
    cv = lambda x: np.std(x, ddof=1) / np.mean(x)  # noqa: E731
    assert cv([late(r, "expected_arrivals_small_boat") for r in runs]) < 0.8 * cv([late(r, "arrivals_small_boat") for r in runs])


def _decisions(results):
    """Initial decisions a month from the queue (fast-track refusals are not queued)."""
    s = results.series.set_index("month")
    return s["asylum_grants"] + s["asylum_refusals"] - s["removals_fast_track"]


def test_claims_queue_for_the_home_offices_decisions(baseline):
    """Claims wait in a queue: no month decides more than the Home Office's throughput, so the
    claims of 2021-2022 pile up; the 2023 clearance decides them, mostly refused at 2023's rates."""
    scale = baseline.manifest["agent_scale_people_per_agent"]
    sc = scenario("albania-uk")
    per_month = sc.value("destination.asylum_decisions_per_month")
    clearance = sc.value("policy.backlog_clearance_multiplier")
    decided = _decisions(baseline)
    usual = decided.drop(decided.loc["2023-01":"2023-12"].index)
    assert usual.max() <= (np.floor(per_month / scale) + 1) * scale + 1e-6
    assert decided.loc["2023-01":"2023-12"].max() <= (np.floor(per_month * clearance / scale) + 1) * scale + 1e-6
    assert decided.loc["2023-01":"2023-12"].sum() > 3 * decided.loc["2022-01":"2022-12"].sum()
    claims = total(baseline, "asylum_claims", "2021-01", "2022-12")
    assert decided.loc["2021-01":"2022-12"].sum() < 0.5 * claims
    unlimited = simulate("albania-uk", overrides=(("destination.asylum_decisions_per_month", 1e6),))
    free = _decisions(unlimited)
    # 1.49 times at this release's calibrated throughput (278 a month, where the record's 748
    # decisions of 2022 say about 60: docs/calibration.md), 1 if the queue held nothing back
    assert free.loc["2022-01":"2022-12"].sum() > 1.3 * decided.loc["2022-01":"2022-12"].sum()
    # without a queue, most 2023 decisions are on claims of 2022 (at 2023's low grant rates)
    assert total(baseline, "asylum_refusals", "2023-01", "2023-12") > 2 * total(baseline, "asylum_refusals", "2022-01", "2022-12")


def test_the_oldest_claims_are_decided_first():
    """First in, first out: no adult claim is decided while an older one, due and still
    waiting, is left for a later month (read from the persons' life events)."""
    sc = scenario("albania-uk").with_values({"destination.asylum_decisions_per_month": 150.0})
    life = Simulation(sc, agents=20_000, seed=5, record_events=True).run().life_events
    spells = []  # (claimed, decided) of adults waiting in asylum_pending from claim to decision
    for _, events in life.sort_values(["person", "month_index"]).groupby("person"):
        rows = events[["month_index", "from_state", "to_state"]].to_numpy()
        for (m0, from0, to0), (m1, from1, to1) in zip(rows[:-1], rows[1:], strict=True):
            claim = from0 in ("in_transit", "undocumented") and to0 == "asylum_pending"  # not a child turning 18
            if claim and from1 == "asylum_pending" and to1 in ("legal_resident", "undocumented"):
                spells.append((m0, m1))
    spells = np.array(spells)
    assert len(spells) > 100
    claimed, decided = spells[:, 0], spells[:, 1]
    order = np.argsort(claimed, kind="stable")
    claimed, decided = claimed[order], decided[order]
    # an older claim (smaller claim month) is never decided after a newer one was
    later_decided_before = decided[None, :] < decided[:, None]
    newer = claimed[None, :] > claimed[:, None]
    assert not (later_decided_before & newer).any()
    assert (decided - claimed).max() > sc.value("destination.asylum_processing_months") + 3  # a queue formed


def test_the_agreement_is_known_the_month_it_is_announced(baseline):
    """The fast track is news, not experience: December 2022's leavers already weigh it."""
    without = simulate("no-returns-agreement")
    month = lambda r: total(r, "departures", "2022-12", "2022-12")  # noqa: E731
    assert month(baseline) < 0.7 * month(without)
    assert total(baseline, "departures", "2022-01", "2022-11") == total(without, "departures", "2022-01", "2022-11")


def test_the_fast_track_deters_boat_crossings_not_lorry_entries(baseline):
    """Boat arrivals are held on landing and fast-tracked; a lorry entrant is found later, if
    at all. So the fast track empties the boats and leaves the lorries: from 2022 to 2023 boat
    arrivals fell 14-fold, detections of lorry entrants 2-fold. When the fast track weighed on
    everyone's decision to leave instead, lorry departures fell with the boats'."""
    no_fast_track = simulate("albania-uk", overrides=(("policy.returns_agreement_fast_track_share", 0.0),))
    # expected departures: smooth, where a few agents take a lorry
    flow = lambda r, name, since, until: total(r, f"expected_departures_{name}", since, until)  # noqa: E731
    # the month it is announced (the same state before it): the boats' odds fall, the lorries' do not
    december = ("2022-12", "2022-12")
    assert flow(baseline, "small_boat", *december) < 0.6 * flow(no_fast_track, "small_boat", *december)
    # (lorry departures dip a little: the boat's worse odds make leaving at all a little less worth it)
    assert flow(baseline, "lorry", *december) > 0.9 * flow(no_fast_track, "lorry", *december)
    # and over 2023, after the feedback of fewer arrivals on ties and prices
    year = ("2022-12", "2023-12")
    ratio = lambda name: flow(baseline, name, *year) / flow(no_fast_track, name, *year)  # noqa: E731
    assert ratio("small_boat") < 0.6 * ratio("lorry")
    # only boat arrivals are fast-tracked: none without the boat route
    closed = simulate("no-small-boats")
    assert total(closed, "removals_fast_track") == 0 < total(closed, "arrivals_lorry", *year)
    # (at the calibrated share, 0.2 of 2023's few boat claimants, 40,000 agents may hold none: more agents)
    assert total(simulate("albania-uk", agents=200_000), "removals_fast_track", *year) > 0


def test_an_announced_fast_track_deters_at_once_and_gives_way_to_the_share_applied():
    """Believed at first as announced (all returned), the fast track deters the first winter's
    boats more than the share applied would; over the months the belief gives way to that
    share, so the deterrence fades, and the removals, drawn at the share applied, do not move."""
    applied = (("policy.returns_agreement_fast_track_share", 0.3), ("policy.returns_agreement_announcement_months", 2.0))
    plain = simulate("albania-uk", overrides=(*applied, ("policy.returns_agreement_announced_fast_track_share", 0.3)))
    promised = simulate("albania-uk", overrides=(*applied, ("policy.returns_agreement_announced_fast_track_share", 1.0)))
    flow = lambda r, since, until: total(r, "expected_departures_small_boat", since, until)  # noqa: E731
    assert flow(promised, "2022-12", "2022-12") < 0.7 * flow(plain, "2022-12", "2022-12")
    assert flow(promised, "2022-01", "2022-11") == flow(plain, "2022-01", "2022-11")  # nothing before it
    # a year on, eight announcement-months later, the belief is the share applied (within e^-6)
    late = ("2023-12", "2023-12")
    assert abs(promised.series.set_index("month").loc["2023-12", "perceived_p_return"]
               - plain.series.set_index("month").loc["2023-12", "perceived_p_return"]) < 0.02
    assert flow(promised, *late) > 0.5 * flow(plain, *late)
    # the fast track's removals are drawn at the share applied, not at the one believed
    removed = lambda r: total(r, "removals_fast_track", "2022-12", "2023-12") / total(r, "arrivals_small_boat", "2022-12", "2023-12")  # noqa: E731
    assert removed(promised) == pytest.approx(removed(plain), abs=0.1)


def test_the_agreement_speeds_the_removal_of_offenders():
    base = (("destination.p_removal_on_release", 0.5),)
    plain = simulate("albania-uk", overrides=(*base, ("policy.returns_agreement_removal_multiplier", 1.0)))
    faster = simulate("albania-uk", overrides=(*base, ("policy.returns_agreement_removal_multiplier", 1.9)))
    window = {"since": "2023-01", "until": "2024-12"}
    assert total(faster, "removals_offenders", **window) > 1.3 * total(plain, "removals_offenders", **window)
    assert total(faster, "removals_offenders", "2012-01", "2022-11") == total(plain, "removals_offenders", "2012-01", "2022-11")


def test_voluntary_returns_are_of_persons_with_no_right_to_stay():
    """The Home Office counts voluntary returns of persons with no right to stay; settled
    residents who go home are counted apart, and only the former answer the agreement."""
    quiet = simulate("albania-uk", overrides=(("destination.voluntary_return_rate_per_month", 0.0),))
    assert total(quiet, "voluntary_returns") == 0
    assert total(quiet, "resident_returns") > 0
    none_home = simulate("albania-uk", overrides=(("destination.resident_return_rate_per_month", 0.0),))
    assert total(none_home, "resident_returns") == 0
    assert total(none_home, "voluntary_returns") > 0


def test_examining_a_claim_leads_to_referrals_that_follow_the_queue():
    """Referrals at decision come when the queue is worked through (the 2023 clearance),
    not when people arrive; only persons who came by boat count as boat arrivals' referrals."""
    none = simulate("albania-uk", overrides=(("destination.p_refer_at_decision", 0.0),))
    some = simulate("albania-uk", overrides=(("destination.p_refer_at_decision", 0.4),))
    year = {"since": "2023-01", "until": "2023-12"}
    assert total(some, "trafficking_referrals", **year) > 1.2 * total(none, "trafficking_referrals", **year)
    for run in (none, some):
        s = run.series
        assert (s["trafficking_referrals_small_boat"] <= s["trafficking_referrals"] + 1e-9).all()
    assert total(simulate("no-small-boats"), "trafficking_referrals_small_boat") == 0
    assert total(some, "trafficking_referrals_small_boat", **year) > 0


def test_expected_boat_deaths_are_the_mean_of_the_realised_ones():
    risky = scenario("albania-uk").with_values({"smuggling.small_boat_p_death": 0.02})
    # enough agents and years that deaths are several agents a run (at 10,000 agents and four years
    # they were a fraction of one, and the realised spread too rough for the comparison)
    runs = [Simulation(risky, agents=40_000, seed=s).run().series for s in range(12)]
    window = lambda df, col: df[(df["month"] >= "2018-01") & (df["month"] <= "2030-12")][col].sum()  # noqa: E731
    realised = np.array([window(r, "deaths_small_boat") for r in runs])
    expected = np.array([window(r, "expected_deaths_small_boat") for r in runs])
    assert realised.mean() > 0
    assert abs(expected.mean() - realised.mean()) < 3 * realised.std(ddof=1) / np.sqrt(len(runs))
    for r in runs:  # the total is the sum of the routes
        both = r["expected_deaths_lorry"] + r["expected_deaths_small_boat"]
        assert np.allclose(r["expected_deaths_in_transit"], both)


def test_the_lifestyle_display_lures_boys_too():
    """M4: the display reaches boys from lure_min_age (15): before the boats a fifth of claims were children's."""
    window = {"since": "2012-01", "until": "2014-12"}  # before any ads event; the same draws in each arm

    def arm(display: float):
        # the lure's response at its prior's top in both arms: the test checks the direction, not the calibrated size
        lure = (("social_media.b_lure", 1.5), ("social_media.lifestyle_display_intensity", display))
        r = simulate("albania-uk", overrides=lure)
        return total(r, "departures", **window), total(r, "departures_minors", **window)

    departures, minors = arm(0.0)
    display_departures, display_minors = arm(1.0)
    assert display_departures > 1.3 * departures and display_minors > 1.3 * minors


def test_crossing_ads_sell_boat_crossings_to_men():
    """M4 through M6: the ads' lure multiplies the boat's odds, so it adds boat departures of
    adult men and leaves a lorry leaver's chance as it was. The ads' other channel, spreading
    knowledge of the boats (which empties the lorries by substitution), is switched off, so
    that the lure is compared alone: when it added to everyone's log-odds of leaving instead,
    the same arms gave 2.1 times the lorry departures (measured by mutation)."""
    window = {"since": "2021-07", "until": "2022-12"}

    def arm(takedown: float):
        # the lure at its prior's top (a mechanism's direction, not the calibrated size: at the
        # calibrated 0.91 the ads add 1.27 times the boat departures)
        overrides = (("policy.ad_takedown_share", takedown), ("smuggling.ads_awareness_multiplier", 0.0),
                     ("social_media.b_lure", 1.5))  # fmt: skip
        r = simulate("albania-uk", overrides=overrides)
        return {c: total(r, c, **window) for c in ("departures_small_boat", "departures_lorry", "departures", "departures_minors")}

    ads, none = arm(0.0), arm(1.0)
    assert ads["departures_small_boat"] > 1.5 * none["departures_small_boat"]
    # feedback on ties and prices only: 1.24 times at this release's calibrated values (the ads'
    # boat arrivals add ties abroad), 6.2 times when the lure adds to everyone's log-odds (mutation)
    assert ads["departures_lorry"] < 1.5 * none["departures_lorry"]
    # the ads reach men from ads_min_age (18): the 2022 surge was of adults (14% under 18)
    assert ads["departures_minors"] / ads["departures"] < 0.95 * none["departures_minors"] / none["departures"]
