"""Posterior-predictive forecasts of every observable series for the years after the fit window.

A forecast is an ensemble (``corridor.ensemble``) whose observables include the
periods from ``from_year`` to ``until``: for each series the kind of period it is
published in (years or quarters; a series observed at one month or quarter of the
year, such as the March prison counts, at that one each year), in the units of the
official series (its observation model applied, noise included). The table gives, per
series and period, the predictive median and the 50% and 90% intervals; they carry
parameter, stochastic and observation/structural uncertainty.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from corridor import folders
from corridor.calibration import load_posterior
from corridor.ensemble import run_ensemble
from corridor.errors import CorridorInputError
from corridor.observed import load_mapping, load_observed, parse_period, periods_between
from corridor.results import write_parquet_atomic
from corridor.scenario import Scenario, load_scenario
from corridor.validation import QUANTILES, UNCERTAINTY

COLUMNS = ["series", "period", "period_kind", "unit", "fitted", "runs", "q05", "q25", "q50", "q75", "q95"]


@dataclass
class Forecast:
    table: pd.DataFrame  # one row per series and forecast period (COLUMNS)
    meta: dict

    def write(self, out: str | Path) -> Path:
        """Write ``forecast.parquet`` and ``meta.json``: the folder complete or absent (``corridor.folders``)."""
        with folders.staging(out) as stage:
            write_parquet_atomic(self.table, stage.path / "forecast.parquet")
            return stage.commit("meta.json", self.meta)

    def to_json(self) -> dict:
        return {"meta": self.meta, "forecast": json.loads(self.table.to_json(orient="records"))}

    def to_markdown(self) -> str:
        lines = [
            "| series | period | unit | median | 50% interval | 90% interval |",
            "|---|---|---|---:|---:|---:|",
        ]
        for r in self.table.itertuples():
            fmt = lambda v, u=r.unit: format_value(v, u)  # noqa: E731
            lines.append(
                f"| {r.series} | {r.period} | {r.unit} | {fmt(r.q50)} | {fmt(r.q25)}-{fmt(r.q75)} | {fmt(r.q05)}-{fmt(r.q95)} |"
            )
        return "\n".join(lines)


def format_value(value: float, unit: str) -> str:
    """A predictive quantity rounded to what the model supports: 2 significant digits, units kept."""
    if not np.isfinite(value):
        return "-"
    if unit == "GBP":
        return f"{round_significant(value / 1e6, 2):,g}m"
    if unit in ("fraction", "percent"):
        smallest = 0.005 if unit == "fraction" else 0.5  # a share the model can resolve
        return "0" if abs(value) < smallest else f"{round_significant(value, 2):g}"
    return f"{round_significant(value, 2):,.0f}"


def round_significant(value: float, digits: int) -> float:
    if value == 0 or not np.isfinite(value):
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def forecast_periods(from_year: int, until: int, names: list[str] | None = None) -> dict[str, list[str]]:
    """For each series, the periods between the two years in which it is published: its most frequent
    kind of period; a series observed at one month (or one quarter) of the year, at that one each year
    (the month of its last observation where it varies)."""
    observed = load_observed(names)
    out = {}
    for name, obs in observed.items():
        f = obs.frame
        kind = f["period_kind"].value_counts().index[0]
        labels = sorted(f.loc[f["period_kind"] == kind, "period"])
        if kind == "year":
            out[name] = periods_between("year", from_year, until)
        elif kind == "quarter" and len({p[-1] for p in labels}) > 1:
            out[name] = periods_between("quarter", from_year, until)
        else:
            p = parse_period(labels[-1])
            suffix = f"Q{(p.first_month + 2) // 3}" if kind == "quarter" else f"-{p.first_month:02d}"
            out[name] = [f"{y}{suffix}" for y in range(from_year, until + 1)]
    return out


def forecast(
    scenario: Scenario | str,
    posterior: str | Path | None = None,
    from_year: int | None = None,
    until: int | None = None,
    runs: int = 100,
    agents: int = 20_000,
    seed: int = 0,
    scheduler: str | None = None,
    workers: int = 2,
    progress: bool = True,
) -> Forecast:
    """Posterior-predictive forecast of every observable series from ``from_year`` (default: the year
    after the posterior's fit window) to ``until`` (default: two years later)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    _, post_meta = load_posterior(posterior, "all-years")
    fitted_until = post_meta.get("until")
    from_year = from_year or (int(fitted_until) + 1 if fitted_until else None)
    if from_year is None:
        raise CorridorInputError("--from: the posterior does not say its fit window; give the first forecast year")
    until = until or from_year + 2
    last = int(scenario.end[:4])
    if not from_year <= until <= last:
        raise CorridorInputError(
            f"--from {from_year} --until {until}: give years with from <= until <= {last} (the scenario's last year)"
        )
    if fitted_until and from_year <= int(fitted_until):
        raise CorridorInputError(
            f"--from {from_year}: the posterior was fitted up to {fitted_until}; a forecast starts after it "
            f"(use `corridor validate` for the fitted years)"
        )
    periods = forecast_periods(from_year, until)
    ens = run_ensemble(
        scenario, runs, posterior, "all-years", agents, seed, scheduler, workers, progress, extra_periods=periods
    )
    recorded = {k: v for k, v in periods.items() if k not in ens.meta["series_not_in_runs"]}
    table = forecast_table(ens.observables, recorded)
    meta = {
        **ens.meta,
        "from_year": from_year,
        "until": until,
        "uncertainty": UNCERTAINTY,
        "quantiles": "predictive median (q50), 50% interval (q25-q75), 90% interval (q05-q95) over runs",
    }
    return Forecast(table, meta)


def forecast_table(observables: pd.DataFrame, periods: dict[str, list[str]]) -> pd.DataFrame:
    """Predictive quantiles of each series at its forecast periods, in the units of the official series;
    ``runs`` is the number of runs that define the value (a rate needs decisions in the period)."""
    mapping = load_mapping()
    observed = load_observed(list(periods))
    wanted = pd.DataFrame([(s, p) for s, ps in periods.items() for p in ps], columns=["series", "period"])
    values = observables.merge(wanted, on=["series", "period"])
    g = values.groupby(["series", "period"], sort=False)["value"]
    table = pd.concat({k: g.quantile(q) for k, q in QUANTILES.items()}, axis=1)
    table["runs"] = g.count()
    # a period no run defines (a share of zero arrivals) stays in the table, with no value
    table = table.reindex(pd.MultiIndex.from_frame(wanted)).fillna({"runs": 0}).reset_index()
    table["runs"] = table["runs"].astype(int)
    table["period_kind"] = [parse_period(p).kind for p in table["period"]]
    table["unit"] = [observed[s].frame["unit"].iloc[-1] for s in table["series"]]
    table["fitted"] = [mapping.series[s].fit for s in table["series"]]
    order = {s: i for i, s in enumerate(periods)}
    table = table.sort_values(["series", "period"], key=lambda c: c.map(order) if c.name == "series" else c)
    return table[COLUMNS].reset_index(drop=True)
