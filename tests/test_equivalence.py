"""The engine and the Mesa reference implementation (benchmarks/reference) agree in distribution.

Design
------
Scenario ``tests/data/equivalence.yaml`` (extends albania-uk): 60 months, a small origin
population (one agent is ~35 people) and high base rates, with every event and
policy lever inside the horizon, so that every mechanism fires many times with
3,000 agents. The engine runs seeds 1..40, the reference seeds 1001..1040 (disjoint
seeds: the two samples are independent even though both build their initial
population with ``corridor.population.build_population``).

For each of the m = 22 outputs below (horizon totals of flows, horizon means of
stocks) a two-sided Mann-Whitney U test compares the 40 engine values with the
40 reference values; the family of 22 tests is corrected with Holm's procedure at
a family-wise significance of alpha = 0.01. The test fails if any output differs.

Power
-----
The smallest Holm threshold is alpha/m = 4.5e-4 (two-sided, z = 3.51). For 90%
power (z = 1.28) against a shift of the mean by a fraction delta, a two-sample
location test with n = 40 per arm needs

    delta >= (3.51 + 1.28) * sqrt(2 / 40) * CV / sqrt(3 / pi) = 1.10 * CV

where CV is the coefficient of variation of the output across seeds and
sqrt(3/pi) the asymptotic efficiency of Mann-Whitney relative to the t-test for
normal data. A 10% shift is therefore detected with >= 90% power for every
output with CV <= 0.091. The main outputs (``MAIN`` below: departures, arrivals,
claims, referrals, removals, arrests, exploitation, prison, remittances, young
men at origin) have CVs of 0.03-0.07 at 3,000 agents; ``test_power`` measures
the CVs of this very sample and asserts the bound, so the claim is checked, not
assumed. Rarer outputs (deaths in transit, minors in care, missing from care,
reunions, regularisations) are tested too, with less power (CV 0.1-0.2).

The test is not vacuous: ``test_switched_off_mechanism_is_detected`` runs the
engine with one mechanism switched off (the network effect of ties abroad, M2;
the returns agreement, M11/M8) against the same reference sample and asserts that
the same procedure now rejects. Switching off in the engine rather than in the
reference costs a fraction of the time and tests the same thing: whether the
procedure tells two different models apart.

Seeds are fixed, so the test is deterministic; with alpha = 0.01 a correct
implementation fails for at most 1% of seed sets. Runtime: about 30 s on 2
shared cores (80 engine runs of which 40 with a mechanism off, 40 reference runs,
the reference taking three quarters of the time).
"""

from __future__ import annotations

import functools
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

from corridor.engine import Simulation
from corridor.scenario import load_scenario, month_index

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.reference import run_reference  # noqa: E402

SCENARIO = Path(__file__).parent / "data" / "equivalence.yaml"
AGENTS = 3_000
N_SEEDS = 40
ENGINE_SEEDS = tuple(range(1, N_SEEDS + 1))
REFERENCE_SEEDS = tuple(range(1001, 1001 + N_SEEDS))
OFF_SEEDS = tuple(range(1, 21))  # engine runs with a mechanism switched off
ALPHA = 0.01  # family-wise, Holm
POWER_Z = 1.2816  # 90% power
MAX_DETECTABLE_SHIFT = 0.10

TOTALS = (
    "departures",
    "departures_blocked_by_cost",
    "gang_recruited_departures",
    "arrivals",
    "arrivals_lorry",
    "arrivals_small_boat",
    "interceptions",
    "deaths_in_transit",
    "asylum_claims",
    "asylum_claims_in_country",
    "asylum_grants",
    "trafficking_referrals",
    "removals",
    "voluntary_returns",
    "arrests",
    "recruited_into_exploitation",
    "family_reunions",
    "regularisations",
    "remittances_gbp",
)
MEANS = ("prison_population", "in_criminal_exploitation", "minors_in_care", "missing_from_care", "origin_young_men")
OUTPUTS = TOTALS + MEANS
MAIN = (
    "departures",
    "arrivals",
    "arrivals_small_boat",
    "asylum_claims",
    "trafficking_referrals",
    "removals",
    "arrests",
    "recruited_into_exploitation",
    "remittances_gbp",
    "prison_population",
    "in_criminal_exploitation",
    "origin_young_men",
)


@functools.cache
def scenario():
    """The test scenario. Events that albania-uk gains later and that fall outside the test's
    horizon would make it invalid; they are disabled here (the engine and the reference get the same)."""
    data = yaml.safe_load(SCENARIO.read_text())
    parent = load_scenario(data["extends"])
    last = month_index(data["start"], data["end"])
    named = {event["id"] for event in data["events"]}
    for event in parent.events:
        if event.id not in named and not 0 <= month_index(data["start"], event.month) <= last:
            data["events"].append({"id": event.id, "month": data["start"], "enabled": False})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / SCENARIO.name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return load_scenario(path)


def summarise(series) -> dict[str, float]:
    out = {name: float(series[name].sum()) for name in TOTALS}
    out.update({name: float(series[name].mean()) for name in MEANS})
    return out


@functools.cache
def engine_runs(variant: str = "as is"):
    sc = scenario()
    seeds = ENGINE_SEEDS
    if variant == "no network ties effect":
        sc, seeds = sc.with_values({"network.b_ties_abroad": 0.0}), OFF_SEEDS
    elif variant == "no returns agreement":
        sc, seeds = sc.model_copy(update={"events": [e for e in sc.events if e.id != "returns-agreement"]}), OFF_SEEDS
    return [Simulation(sc, agents=AGENTS, seed=s).run().series for s in seeds]


@functools.cache
def reference_runs():
    return [run_reference(scenario(), agents=AGENTS, seed=s) for s in REFERENCE_SEEDS]


def samples(runs) -> dict[str, np.ndarray]:
    rows = [summarise(series) for series in runs]
    return {name: np.array([row[name] for row in rows]) for name in OUTPUTS}


def holm(pvalues: dict[str, float], alpha: float) -> list[str]:
    """Outputs whose null hypothesis Holm's step-down procedure rejects at family-wise level alpha."""
    ordered = sorted(pvalues, key=pvalues.get)
    rejected = []
    for i, name in enumerate(ordered):
        if pvalues[name] > alpha / (len(ordered) - i):
            break
        rejected.append(name)
    return rejected


def compare(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> tuple[list[str], str]:
    pvalues = {name: float(stats.mannwhitneyu(a[name], b[name], alternative="two-sided").pvalue) for name in OUTPUTS}
    rejected = holm(pvalues, ALPHA)
    lines = [f"{'output':30s} {'engine mean':>14s} {'reference mean':>14s} {'ratio':>7s} {'p':>9s}"]
    for name in OUTPUTS:
        ratio = b[name].mean() / a[name].mean() if a[name].mean() else math.nan
        mark = "  <- differs" if name in rejected else ""
        lines.append(
            f"{name:30s} {a[name].mean():14.1f} {b[name].mean():14.1f} {ratio:7.3f} {pvalues[name]:9.2g}{mark}"
        )
    return rejected, "\n".join(lines)


def test_reference_produces_the_engine_outputs_with_the_same_scaling():
    engine, reference = engine_runs()[0], reference_runs()[0]
    for column in OUTPUTS:
        assert column in engine.columns and column in reference.columns, column
    unknown = set(reference.columns) - set(engine.columns)
    assert not unknown, f"reference columns the engine does not have: {sorted(unknown)}"
    assert list(reference["month"]) == list(engine["month"])
    # births follow a schedule fixed by the number of agents, and everyone ever born stays counted
    # (dead included): identical series check the scale factor
    np.testing.assert_allclose(reference["births"], engine["births"])
    np.testing.assert_allclose(reference["population_total"], engine["population_total"])


def test_engine_and_reference_agree_in_distribution():
    rejected, table = compare(samples(engine_runs()), samples(reference_runs()))
    assert not rejected, f"engine and reference differ (Holm, alpha={ALPHA}) in {rejected}:\n{table}"


def test_power():
    """The sample detects a 10% shift of any main output with 90% power (see the module docstring)."""
    a, b = samples(engine_runs()), samples(reference_runs())
    z_alpha = stats.norm.ppf(1 - ALPHA / len(OUTPUTS) / 2)
    factor = (z_alpha + POWER_Z) * math.sqrt(1 / len(ENGINE_SEEDS) + 1 / len(REFERENCE_SEEDS)) / math.sqrt(3 / math.pi)
    too_noisy = {}
    for name in MAIN:
        cv = math.sqrt((a[name].var(ddof=1) + b[name].var(ddof=1)) / 2) / abs(a[name].mean())
        if factor * cv > MAX_DETECTABLE_SHIFT:
            too_noisy[name] = round(factor * cv, 3)
    assert not too_noisy, f"smallest shift detectable with 90% power exceeds 10% for {too_noisy}"


@pytest.mark.parametrize(
    "variant, shows_in",
    [("no network ties effect", "departures"), ("no returns agreement", "removals")],
)
def test_switched_off_mechanism_is_detected(variant, shows_in):
    rejected, table = compare(samples(engine_runs(variant)), samples(reference_runs()))
    assert shows_in in rejected, f"switching off '{variant}' went unnoticed:\n{table}"
