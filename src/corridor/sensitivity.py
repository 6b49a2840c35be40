"""Global sensitivity analysis: which assumptions drive an answer (SALib, Morris method).

Every parameter with a non-fixed prior is varied over the central 90% of its
prior (clipped to the schema's bounds); the scenario's other values and its
events stay as they are. SALib's three verbs: ``sample`` Morris trajectories,
``evaluate`` one run per row (all runs share the seed, so the elementary effects
are differences between arms with common random numbers), ``analyze`` the mean
absolute elementary effect (mu*, in units of the output) and its spread (sigma:
interactions and non-linearity) per parameter and output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from corridor.errors import CorridorInputError
from corridor.priors import prior_interval
from corridor.scenario import Scenario, _bounds, parse_month

LEVELS = 4


def uncertain_parameters(scenario: Scenario, only: list[str] | None = None) -> dict[str, tuple[float, float]]:
    """Parameter -> (low, high) range: the prior's central 90%, within the schema's bounds."""
    from corridor.mechanisms import PARAMETER_MODELS

    ranges = {}
    for module, group in scenario.parameters.items():
        for name, entry in group.items():
            key = f"{module}.{name}"
            if entry.prior.dist == "fixed" or (only and key not in only):
                continue
            lo, hi = prior_interval(entry.prior)
            b_lo, b_hi = _bounds(PARAMETER_MODELS[module].model_fields[name])
            lo = max(lo, b_lo) if b_lo is not None else lo
            hi = min(hi, b_hi) if b_hi is not None else hi
            if hi > lo:
                ranges[key] = (lo, hi)
    missing = sorted(set(only or ()) - set(ranges))
    if missing:
        raise CorridorInputError(
            f"--parameters: '{missing[0]}' is not an uncertain parameter of {scenario.name} (unknown, or its prior is fixed)"
        )
    if not ranges:
        raise CorridorInputError(f"{scenario.name}: no parameter has a non-fixed prior; nothing to vary")
    return ranges


def _window_totals(series: pd.DataFrame, outputs: list[str], since: str, until: str) -> list[float]:
    window = series[(series["month"] >= since) & (series["month"] <= until)]
    return [float(window[o].sum()) for o in outputs]


def morris(
    scenario: Scenario,
    outputs: list[str],
    trajectories: int = 4,
    agents: int = 10_000,
    seed: int = 0,
    since: str | None = None,
    until: str | None = None,
    parameters: list[str] | None = None,
    progress=None,
) -> pd.DataFrame:
    """Morris screening of ``outputs`` (summed over [since, until]); one row per parameter and output."""
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    from corridor.engine import Simulation, declared_outputs

    known = declared_outputs()
    unknown = [o for o in outputs if o not in known]
    if unknown:
        raise CorridorInputError(f"--output: unknown output '{unknown[0]}'; see docs/architecture.md for the outputs")
    since, until = since or scenario.start, until or scenario.end
    for label, month in (("--since", since), ("--until", until)):
        try:
            parse_month(month)
        except ValueError as exc:
            raise CorridorInputError(f"{label}: {exc}") from None
    if trajectories < 2:
        raise CorridorInputError("--trajectories must be at least 2")
    ranges = uncertain_parameters(scenario, parameters)
    names = list(ranges)
    problem = {"num_vars": len(names), "names": names, "bounds": [list(ranges[n]) for n in names]}
    X = sample.sample(problem, trajectories, num_levels=LEVELS, seed=seed)
    Y = np.empty((X.shape[0], len(outputs)))
    for i, row in enumerate(X):
        series = Simulation(scenario.with_values(dict(zip(names, row, strict=True))), agents=agents, seed=seed).run().series
        Y[i] = _window_totals(series, outputs, since, until)
        if progress is not None:
            progress(i + 1, X.shape[0])
    rows = []
    for k, output in enumerate(outputs):
        result = analyze.analyze(problem, X, Y[:, k], num_levels=LEVELS, seed=seed)
        for j, name in enumerate(names):
            rows.append(
                {
                    "output": output,
                    "parameter": name,
                    "low": ranges[name][0],
                    "high": ranges[name][1],
                    "mu_star": float(result["mu_star"][j]),
                    "mu_star_conf": float(result["mu_star_conf"][j]),
                    "sigma": float(result["sigma"][j]),
                }
            )
    table = pd.DataFrame(rows)
    table["rank"] = table.groupby("output")["mu_star"].rank(ascending=False, method="first").astype(int)
    return table.sort_values(["output", "rank"]).reset_index(drop=True)
