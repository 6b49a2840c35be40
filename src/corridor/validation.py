"""Out-of-sample validation: the posterior-predictive ensemble against observations from a year on.

For every observed series and every observation of year >= ``from_year`` the
ensemble gives a predictive distribution of the expected observed value (the
observation model applied, run by run). Reported per series and overall:

- coverage of the central 50% and 90% predictive intervals (share of
  observations inside them; a calibrated forecast covers about 0.5 and 0.9);
- MASE, the mean absolute scaled error of the predictive median: the mean of
  |median - observed| divided by the mean absolute year-on-year change of the
  observed series over all its years (the error of a naive "same as last
  observation" forecast); below 1 beats the naive forecast's typical error;
- for the Albanian small-boat series, whether the 2022 surge and the 2023 fall
  are reproduced in direction and in order of magnitude (median within a factor
  of 10 of the observation).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from corridor.observed import ObservedSeries, load_observed
from corridor.results import write_json_atomic


def _scale(obs: ObservedSeries) -> float:
    v = obs.frame.sort_values("period")["value"].to_numpy(float)
    if len(v) >= 2:
        d = np.mean(np.abs(np.diff(v)))
        if d > 0:
            return float(d)
    return float(max(np.mean(v), 1.0))


def predictive_table(observables: pd.DataFrame, observed: dict[str, ObservedSeries]) -> pd.DataFrame:
    """One row per observation with the ensemble's predictive quantiles."""
    g = observables.groupby(["series", "period"])["value"]
    q = pd.concat(
        {k: g.quantile(p) for k, p in {"q05": 0.05, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q95": 0.95}.items()}, axis=1
    )
    q = q.reset_index()
    rows = []
    for name, obs in observed.items():
        f = obs.frame[["period", "year", "value"]].assign(series=name)
        rows.append(f)
    obs_df = pd.concat(rows, ignore_index=True).rename(columns={"value": "observed"})
    return obs_df.merge(q, on=["series", "period"], how="inner")


def validate(observables: pd.DataFrame, from_year: int, observed: dict[str, ObservedSeries] | None = None) -> dict:
    observed = observed or load_observed()
    table = predictive_table(observables, observed)
    test = table[table["year"] >= from_year].copy()
    test["in50"] = (test["observed"] >= test["q25"]) & (test["observed"] <= test["q75"])
    test["in90"] = (test["observed"] >= test["q05"]) & (test["observed"] <= test["q95"])
    per_series = {}
    for name, grp in test.groupby("series"):
        scale = _scale(observed[name])
        per_series[name] = {
            "n": int(len(grp)),
            "coverage50": float(grp["in50"].mean()),
            "coverage90": float(grp["in90"].mean()),
            "mase": float(np.mean(np.abs(grp["q50"] - grp["observed"])) / scale),
            "points": [
                {
                    "period": r.period,
                    "observed": float(r.observed),
                    "q05": float(r.q05),
                    "q50": float(r.q50),
                    "q95": float(r.q95),
                }
                for r in grp.sort_values("period").itertuples()
            ],
        }
    overall = {
        "n": int(len(test)),
        "coverage50": float(test["in50"].mean()) if len(test) else None,
        "coverage90": float(test["in90"].mean()) if len(test) else None,
        "mase_mean_over_series": float(np.mean([s["mase"] for s in per_series.values()])) if per_series else None,
    }
    return {"from_year": from_year, "overall": overall, "series": per_series, "surge": surge_check(table)}


def surge_check(table: pd.DataFrame, series: str = "small_boat_arrivals_albanian") -> dict:
    t = table[table["series"] == series].set_index("period")
    need = [p for p in ("2021", "2022", "2023") if p in t.index]
    if len(need) < 3:
        return {"available": False}
    m = {p: float(t.loc[p, "q50"]) for p in need}
    o = {p: float(t.loc[p, "observed"]) for p in need}

    def within10(p):
        return bool(m[p] > 0 and abs(np.log10(m[p] / o[p])) <= 1.0)

    return {
        "available": True,
        "observed": o,
        "predicted_median": m,
        "predicted_q05": {p: float(t.loc[p, "q05"]) for p in need},
        "predicted_q95": {p: float(t.loc[p, "q95"]) for p in need},
        "surge_2022_direction": bool(m["2022"] > m["2021"]),
        "fall_2023_direction": bool(m["2023"] < m["2022"]),
        "surge_2022_order_of_magnitude": within10("2022"),
        "fall_2023_order_of_magnitude": within10("2023"),
        "ratio_2022_to_2021": {"observed": o["2022"] / o["2021"], "predicted": m["2022"] / max(m["2021"], 1e-9)},
        "ratio_2023_to_2022": {"observed": o["2023"] / o["2022"], "predicted": m["2023"] / max(m["2022"], 1e-9)},
    }


def write_report(result: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(json.loads(json.dumps(result)), path)
    return path


def print_validation(result: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"validation from {result['from_year']} (posterior-predictive)")
    for col in ("series", "n", "cover 50%", "cover 90%", "MASE"):
        table.add_column(col, justify="left" if col == "series" else "right")
    for name, s in result["series"].items():
        table.add_row(name, str(s["n"]), f"{s['coverage50']:.2f}", f"{s['coverage90']:.2f}", f"{s['mase']:.2f}")
    o = result["overall"]
    if o["n"]:
        table.add_row(
            "overall",
            str(o["n"]),
            f"{o['coverage50']:.2f}",
            f"{o['coverage90']:.2f}",
            f"{o['mase_mean_over_series']:.2f}",
        )
    console.print(table)
    s = result["surge"]
    if s.get("available"):
        console.print(
            "small boats 2021/2022/2023 observed "
            + " / ".join(f"{s['observed'][p]:,.0f}" for p in ("2021", "2022", "2023"))
            + "; predicted median "
            + " / ".join(f"{s['predicted_median'][p]:,.0f}" for p in ("2021", "2022", "2023"))
            + f"; surge direction {s['surge_2022_direction']}, fall direction {s['fall_2023_direction']}, "
            f"order of magnitude 2022 {s['surge_2022_order_of_magnitude']}, 2023 {s['fall_2023_order_of_magnitude']}"
        )
