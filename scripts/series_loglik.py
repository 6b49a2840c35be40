"""Which fitted series pull a parameter: the log-likelihood of the all-years point estimate
by dispersion group (the series sharing one noise parameter), over several runs, with
parameters overridden on the command line.

    python scripts/series_loglik.py                                        # the point estimate
    python scripts/series_loglik.py smuggling.boat_season_floor=0.015      # the same runs, one value moved

Runs use seeds 1000, 1001, ... (``--seeds N``, default 10), so two calls differ only by the
overrides (common random numbers). Prints the mean and standard deviation over the runs of
each group's log-likelihood and of the total (``corridor.calibration.log_likelihood``).
"""

from __future__ import annotations

import argparse

import pandas as pd

from corridor.calibration import build_problem, load_posterior, point_estimate
from corridor.errors import CorridorInputError


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("overrides", nargs="*", help="module.name=value")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--until", type=int, default=2023)
    args = ap.parse_args()
    posterior, _ = load_posterior(None)
    problem = build_problem("albania-uk", args.until)
    best = point_estimate(posterior)
    values = {k: float(best[k]) for k in problem.priors}
    overrides = parse_overrides(args.overrides)
    for key in overrides:
        if key.startswith("observation.") and key not in problem.obs_priors:
            raise CorridorInputError(f"{key}: not a reporting factor of the fit; see src/corridor/data/observed/mapping.yaml")
    values.update(overrides)
    # the scenario carries overrides of parameters the calibration does not draw (and refuses unknown ones)
    scenario = problem.run_scenario.with_values({k: v for k, v in overrides.items() if not k.startswith("observation.")})
    model = problem.observation_model
    rows = []
    for s in range(args.seeds):
        expected = problem.expected(problem.simulate(values, 1000 + s, scenario), values)
        rows.append({g.removeprefix("observation."): v for g, v in model.group_log_likelihoods(expected).items()})
    table = pd.DataFrame(rows)
    table["TOTAL"] = table.sum(axis=1)
    print(pd.DataFrame({"mean": table.mean(), "sd": table.std()}).round(2).to_string())


def parse_overrides(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = float(value)
        except ValueError:
            raise CorridorInputError(f"{item}: give module.name=NUMBER, e.g. smuggling.boat_season_floor=0.015") from None
    return out


if __name__ == "__main__":
    try:
        main()
    except CorridorInputError as err:
        raise SystemExit(f"error: {err}") from None
