"""How late the crossing season may peak: for each peak month, the smallest ratio of fourth- to
third-quarter boat arrivals that the season can give with sharpnesses inside their priors, under
a steady flow (the record: 13% in 2022, 10% in 2023; uk_small_boats.csv). The reason for the
peak month's prior (docs/odd.md 7.7).

    python scripts/season_shape.py [--floor 0.015]
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import numpy as np

from corridor.mechanisms.smuggling import Smuggling
from corridor.scenario import load_scenario


def quarter_ratio(peak: float, rise: float, fall: float, floor: float) -> float:
    p = SimpleNamespace(boat_season_peak_month=peak, boat_season_rise_sharpness=rise,
                        boat_season_fall_sharpness=fall, boat_season_floor=floor)  # fmt: skip
    season = {m: Smuggling.boat_season(p, m) for m in range(1, 13)}
    return sum(season[m] for m in (10, 11, 12)) / sum(season[m] for m in (7, 8, 9))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--floor", type=float, default=0.015)
    args = ap.parse_args()
    params = {n: load_scenario("albania-uk").parameters["smuggling"][n].prior for n in ("boat_season_rise_sharpness", "boat_season_fall_sharpness")}
    grid = {n: np.linspace(prior.low, prior.high, 24) for n, prior in params.items()}
    print("peak month | smallest Q4/Q3 | at rise, fall sharpness")
    for peak in np.arange(7.0, 9.75, 0.25):
        best = min((quarter_ratio(peak, r, f, args.floor), r, f) for r in grid["boat_season_rise_sharpness"] for f in grid["boat_season_fall_sharpness"])
        print(f"{peak:10.2f} | {best[0]:14.3f} | {best[1]:.1f}, {best[2]:.1f}")


if __name__ == "__main__":
    main()
