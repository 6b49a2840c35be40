"""How finely the model resolves small flows: the stochastic coefficient of variation of
Albanian small-boat arrivals in 2019 (13 observed) and 2023 (924), by agent count, for the
realised counts and for the expected counts (conditional Monte Carlo, same compute).

    python benchmarks/resolution.py              # 20k, 100k, 200k agents; 24/16/12 seeds
    python benchmarks/resolution.py --quick      # 20k and 100k; 12/8 seeds

Every run uses the default scenario (to December 2023) with a different seed; the CV is the
standard deviation over seeds divided by the mean, and a step is the number of real people
one agent stands for. Seconds per run are wall time on this machine (named on the first line).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.machine import describe  # noqa: E402


def yearly(series, column: str, year: int) -> float:
    return float(series.loc[series["month"].str.startswith(str(year)), column].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from corridor.calibration import truncate
    from corridor.engine import Simulation
    from corridor.scenario import load_scenario

    scenario = truncate(load_scenario("albania-uk"), 2023)
    sizes = [(20_000, 12), (100_000, 8)] if args.quick else [(20_000, 24), (100_000, 16), (200_000, 12)]
    Simulation(scenario, agents=1_000, seed=0).run()  # compile
    print(f"# resolution of small flows; machine: {describe()}")
    print("| agents | people per agent | seeds | s per run | year | realised mean | realised CV | expected mean | expected CV |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for agents, seeds in sizes:
        rows, seconds = [], []
        for seed in range(1, seeds + 1):
            start = time.perf_counter()
            sim = Simulation(scenario, agents=agents, seed=seed)
            series = sim.run().series
            seconds.append(time.perf_counter() - start)
            rows.append(series)
        for year in (2019, 2023):
            realised = np.array([yearly(s, "arrivals_small_boat", year) for s in rows])
            expected = np.array([yearly(s, "expected_arrivals_small_boat", year) for s in rows])
            cv = lambda x: float(np.std(x, ddof=1) / np.mean(x)) if np.mean(x) > 0 else float("nan")  # noqa: E731
            print(
                f"| {agents:,} | {sim.scale:,.0f} | {seeds} | {np.median(seconds):.2f} | {year} | {realised.mean():,.0f} | "
                f"{cv(realised):.2f} | {expected.mean():,.0f} | {cv(expected):.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
