"""Engine against the Mesa reference over the whole default horizon, period by period.

    python benchmarks/equivalence_horizon.py                      # 40 seeds x 10,000 agents (about 5 minutes)
    python benchmarks/equivalence_horizon.py --seeds 12 --agents 3000

``tests/test_equivalence.py`` checks the two models on a five-year test scenario
in which every mechanism fires often. This script asks the other question: do
they drift apart over the default scenario's 19 years? It runs both on
albania-uk (2012-2030) with disjoint seeds, sums each output over three periods
(2012-17, 2018-23, 2024-30; stocks are averaged), and compares the two samples
per output and period with a two-sided Mann-Whitney test, Holm-corrected over
all comparisons. It prints one row per comparison and a last line
``equivalent_over_horizon: yes|no`` at family-wise alpha 0.01.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.reference import run_reference  # noqa: E402
from corridor.engine import Simulation  # noqa: E402
from corridor.scenario import load_scenario  # noqa: E402

FLOWS = (
    "departures",
    "arrivals",
    "arrivals_small_boat",
    "asylum_claims",
    "trafficking_referrals",
    "removals",
    "arrests",
    "recruited_into_exploitation",
    "remittances_gbp",
)
STOCKS = ("prison_population", "origin_young_men")
PERIODS = (("2012", "2017"), ("2018", "2023"), ("2024", "2030"))
ALPHA = 0.01


def by_period(series: pd.DataFrame) -> dict[tuple[str, str], float]:
    year = series["month"].str[:4]
    out = {}
    for first, last in PERIODS:
        window = series[(year >= first) & (year <= last)]
        for name in FLOWS:
            out[(name, f"{first}-{last}")] = float(window[name].sum())
        for name in STOCKS:
            out[(name, f"{first}-{last}")] = float(window[name].mean())
    return out


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values."""
    order = np.argsort(pvalues)
    m = len(pvalues)
    adjusted = np.empty(m)
    running = 0.0
    for rank, k in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[k]))
        adjusted[k] = running
    return adjusted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=40, help="runs per model (default 40)")
    parser.add_argument("--agents", type=int, default=10_000, help="agents per run (default 10,000)")
    args = parser.parse_args()
    scenario = load_scenario("albania-uk")
    engine = [by_period(Simulation(scenario, agents=args.agents, seed=s).run().series) for s in range(1, args.seeds + 1)]
    reference = [by_period(run_reference(scenario, agents=args.agents, seed=1000 + s)) for s in range(1, args.seeds + 1)]
    rows = []
    for key in engine[0]:
        e = np.array([run[key] for run in engine])
        r = np.array([run[key] for run in reference])
        if np.all(e == e[0]) and np.all(r == e[0]):
            continue  # identical constants (no boats before 2018): nothing to test
        p = stats.mannwhitneyu(e, r, alternative="two-sided").pvalue
        rows.append({"output": key[0], "period": key[1], "engine_mean": e.mean(), "reference_mean": r.mean(),
                     "relative_difference": e.mean() / r.mean() - 1.0, "p": p})  # fmt: skip
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p"].to_numpy())
    pd.set_option("display.width", 200)
    print(f"# albania-uk 2012-2030, {args.seeds} seeds x {args.agents:,} agents per model, Mann-Whitney, Holm")
    print(table.sort_values("p").to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    print(f"largest_relative_difference_departures: {table.loc[table.output == 'departures', 'relative_difference'].abs().max():.3f}")
    print(f"equivalent_over_horizon: {'yes' if (table['p_holm'] > ALPHA).all() else 'no'}")


if __name__ == "__main__":
    main()
