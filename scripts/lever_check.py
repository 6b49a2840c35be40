"""What one parameter does to the components of 2022-2023, at the calibrated values.

    python scripts/lever_check.py policy.returns_agreement_claim_multiplier 1 1.8 5.298
    python scripts/lever_check.py destination.b_perceived_return 2 3.3 5 --seeds 8 --agents 20000

Each value runs the default scenario (the all-years posterior's point estimate) with that
one parameter changed, on the same seeds (common random numbers), and prints the mean over
seeds of yearly components the record also counts: claims (and those made in the UK),
refusals, NRM referrals, voluntary returns, removals and boat arrivals. It answers "which
component does this lever buy, and at what cost to another", the check behind a fit that
gets a total right through a wrong part.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from corridor.errors import CorridorInputError

COLUMNS = ("arrivals_small_boat", "asylum_claims", "asylum_claims_in_country", "asylum_refusals",
           "trafficking_referrals", "voluntary_returns", "removals")  # fmt: skip


def components(parameter: str, value: float, seeds: int, agents: int, years: tuple[str, ...]) -> dict:
    from corridor.engine import Simulation
    from corridor.scenario import load_scenario

    scenario = load_scenario("albania-uk").with_values({parameter: value})
    rows = []
    for seed in range(1, seeds + 1):
        s = Simulation(scenario, agents=agents, seed=seed).run().series
        rows.append([s.loc[s["month"].str.startswith(y), c].sum() for y in years for c in COLUMNS])
    mean = np.mean(rows, axis=0)
    return {(y, c): mean[i * len(COLUMNS) + j] for i, y in enumerate(years) for j, c in enumerate(COLUMNS)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parameter")
    ap.add_argument("values", type=float, nargs="+")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--agents", type=int, default=100_000)
    args = ap.parse_args()
    years = ("2022", "2023")
    try:
        found = {value: components(args.parameter, value, args.seeds, args.agents, years) for value in args.values}
    except CorridorInputError as exc:  # an unknown parameter or a value out of bounds: one line, exit 2
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"| {args.parameter} | year | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for value, by_year in found.items():
        for y in years:
            print(f"| {value:g} | {y} | " + " | ".join(f"{by_year[(y, c)]:,.0f}" for c in COLUMNS) + " |")


if __name__ == "__main__":
    main()
