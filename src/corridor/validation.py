"""Validation: the posterior-predictive ensemble against the observations, in and out of sample.

For every observed series and period the ensemble gives a predictive distribution
of the observed value: one draw per run of the series' noise model around the
run's expected value, so it carries parameter, stochastic and observation/
structural uncertainty (``corridor.ensemble``). Reported per series, for the
points after the fit window (out of sample, years >= ``from_year``) and for the
fitted points inside it (in sample):

- **coverage** of the central 50% and 90% predictive intervals: the share of
  observations inside them (a calibrated forecast covers about 0.5 and 0.9);
  pooled over the series the model predicts (``overall``); series that the
  scenario's inputs copy (mapping.yaml ``scenario_input``: the grant rates set by
  events, the unemployment trend read off its series) are pooled apart
  (``overall_scenario_inputs``), since their out-of-sample points are read into
  the run, and ``overall_all_series`` pools everything;
- **CRPS**, the continuous ranked probability score of the predictive sample,
  E|X - y| - E|X - X'| / 2, in the units of the series (lower is better; it
  rewards sharpness and calibration at once). It is this module's own vectorised
  estimator from the sorted sample (``crps_sample``), not a library's; it is also
  given divided by the series' naive-forecast scale, to compare series;
- **MASE**, the mean absolute scaled error of the predictive median: the mean of
  |median - observed| over the mean absolute change between consecutive observed
  periods of the same kind (the error of a "same as last time" forecast); below 1
  beats that naive forecast;
- the **surge check** of Albanian small-boat arrivals: the 2022 surge and the 2023
  fall in direction and order of magnitude (yearly), and the 2022Q3 peak and the
  2023Q1 trough (quarterly) in the predictive median within a factor of 2;
- the **components** of the 2022-2023 turn (returns by kind, claims, decisions,
  referrals): each predictive median against the record, so that a total fitted by
  the wrong part shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from corridor.observed import ObservedSeries, load_mapping, load_observed
from corridor.results import write_json_atomic

QUANTILES = {"q05": 0.05, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q95": 0.95}
UNCERTAINTY = "parameters, stochastic (seed) and observation/structural error (noise model of each series)"
BOATS, BOATS_QUARTERLY = "small_boat_arrivals_albanian", "small_boat_arrivals_albanian_quarterly"
# the parts of the 2022-2023 turn a total can hide: how people left the UK, claimed, were decided, referred
COMPONENTS = (
    "returns_enforced", "returns_voluntary", "foreign_national_offender_returns", "asylum_applications_main",
    "asylum_initial_grants", "asylum_initial_refusals", "nrm_referrals_albanian",
)
COMPONENT_PERIODS = ("2022", "2023")
COMPONENT_FACTOR = 2.0


def crps_sample(draws: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """CRPS of each row's sample (NaN draws ignored) against its observation, vectorised over rows.

    With the m finite draws of a row sorted, E|X - X'| = 2 / m^2 * sum_i (2i - m - 1) x_(i)."""
    x = np.sort(np.atleast_2d(np.asarray(draws, float)), axis=1)  # NaN sort last
    y = np.asarray(observed, float)[:, None]
    finite = np.isfinite(x)
    m = finite.sum(axis=1)
    abs_error = np.where(finite, np.abs(x - y), 0.0).sum(axis=1) / np.maximum(m, 1)
    i = np.arange(1, x.shape[1] + 1)[None, :]
    spread = np.where(finite, (2 * i - m[:, None] - 1) * np.nan_to_num(x), 0.0).sum(axis=1) * 2 / np.maximum(m, 1) ** 2
    return np.where(m > 0, abs_error - 0.5 * spread, np.nan)


def naive_scale(obs: ObservedSeries) -> float:
    """Mean absolute change between consecutive observed periods of the same kind (the MASE denominator)."""
    diffs = []
    for _, f in obs.frame.groupby("period_kind"):
        v = f.sort_values("period")["value"].to_numpy(float)
        diffs.extend(np.abs(np.diff(v)))
    if diffs and np.mean(diffs) > 0:
        return float(np.mean(diffs))
    return float(max(np.mean(obs.values), 1.0))  # a single observation: scale by its level


def predictive_table(observables: pd.DataFrame, observed: dict[str, ObservedSeries]) -> pd.DataFrame:
    """One row per observation with the ensemble's predictive quantiles and CRPS."""
    g = observables.groupby(["series", "period"])["value"]
    q = pd.concat({k: g.quantile(p) for k, p in QUANTILES.items()}, axis=1).reset_index()
    obs_df = pd.concat(
        [o.frame[["period", "period_kind", "year", "value"]].assign(series=n) for n, o in observed.items()],
        ignore_index=True,
    ).rename(columns={"value": "observed"})
    table = obs_df.merge(q, on=["series", "period"], how="inner")
    wide = observables.pivot_table(index=["series", "period"], columns="run", values="value", aggfunc="first")
    draws = wide.reindex(pd.MultiIndex.from_frame(table[["series", "period"]])).to_numpy(float)
    table["crps"] = crps_sample(draws, table["observed"].to_numpy(float)) if len(table) else []
    table["in50"] = (table["observed"] >= table["q25"]) & (table["observed"] <= table["q75"])
    table["in90"] = (table["observed"] >= table["q05"]) & (table["observed"] <= table["q95"])
    return table


def series_label(name: str, scores: dict) -> str:
    """A series' name in a table, marked when the scenario's inputs copy it."""
    return name + (" (scenario input)" if scores.get("scenario_input") else "")


def score(
    points: pd.DataFrame, observed: dict[str, ObservedSeries], fitted: dict[str, bool], inputs: frozenset[str] = frozenset()
) -> dict:
    """Per series and overall: coverage, CRPS and MASE of a set of predictive points.

    ``overall`` pools the series the model predicts; the series that the scenario's
    inputs copy (``inputs``: mapping.yaml ``scenario_input``) are pooled apart, since
    a band around an input read from the record is no forecast of it, and
    ``overall_all_series`` pools everything."""
    per_series = {}
    for name, grp in points.groupby("series", sort=False):
        scale = naive_scale(observed[name])
        per_series[name] = {
            "fitted": bool(fitted.get(name, False)),
            "scenario_input": name in inputs,
            "n": int(len(grp)),
            "coverage50": float(grp["in50"].mean()),
            "coverage90": float(grp["in90"].mean()),
            "crps": float(grp["crps"].mean()),
            "crps_scaled": float(grp["crps"].mean() / scale),
            "mase": float(np.mean(np.abs(grp["q50"] - grp["observed"])) / scale),
            "points": [
                {k: (r[k] if k == "period" else float(r[k])) for k in ("period", "observed", "q05", "q25", "q50", "q75", "q95", "crps")}
                for _, r in grp.sort_values("period").iterrows()
            ],
        }

    def pooled(names):
        pts = points[points["series"].isin(names)]
        if pts.empty:
            return {"n": 0, "coverage50": None, "coverage90": None, "mase_mean_over_series": None, "crps_scaled_mean_over_series": None}
        return {
            "n": int(len(pts)),
            "coverage50": float(pts["in50"].mean()),
            "coverage90": float(pts["in90"].mean()),
            "mase_mean_over_series": float(np.mean([per_series[n]["mase"] for n in names])),
            "crps_scaled_mean_over_series": float(np.mean([per_series[n]["crps_scaled"] for n in names])),
        }

    return {
        "overall": pooled([n for n in per_series if n not in inputs]),
        "overall_fitted": pooled([n for n, s in per_series.items() if s["fitted"]]),
        "overall_scenario_inputs": pooled([n for n in per_series if n in inputs]),
        "overall_all_series": pooled(list(per_series)),
        "series": per_series,
    }


def validate(
    observables: pd.DataFrame,
    from_year: int,
    observed: dict[str, ObservedSeries] | None = None,
    fit_until: int | None = None,
    first_year: int = 2012,
) -> dict:
    """Out-of-sample scores (years >= ``from_year``) and, given the fit window, in-sample scores.

    The top-level ``overall`` and ``series`` are the out-of-sample ones; ``in_sample``
    scores the fitted periods of the fitted series between ``first_year`` and ``fit_until``."""
    observed = observed or load_observed()
    mapping = load_mapping()
    fitted = {n: mapping.series[n].fit for n in observed}
    inputs = frozenset(n for n in observed if mapping.series[n].copied_by_scenario)
    table = predictive_table(observables, observed)
    result = {"from_year": from_year, "fit_until": fit_until, "uncertainty": UNCERTAINTY}
    result.update(score(table[table["year"] >= from_year], observed, fitted, inputs))
    if fit_until is not None:
        excluded = {n: set(mapping.series[n].not_fitted_periods) for n in observed}
        inside = table[
            table["series"].map(fitted)
            & table["year"].between(first_year, fit_until)
            & ~table.apply(lambda r: r["period"] in excluded[r["series"]], axis=1)
        ]
        result["in_sample"] = score(inside, observed, fitted, inputs)
    result["surge"] = surge_check(table)
    result["enforced_returns_2023"] = ratio_check(table, "returns_enforced", "2023", 1.5)
    result["components"] = component_checks(table)
    return result


def component_checks(table: pd.DataFrame) -> list[dict]:
    """Each component of the 2022-2023 turn that was observed: predictive median against the record."""
    checks = (ratio_check(table, s, p, COMPONENT_FACTOR) for s in COMPONENTS for p in COMPONENT_PERIODS)
    return [c for c in checks if c["available"]]


def ratio_check(table: pd.DataFrame, series: str, period: str, factor: float) -> dict:
    """Whether the predictive median of one observation is within a factor of the observed value."""
    t = table[(table["series"] == series) & (table["period"] == period)]
    if t.empty:
        return {"available": False}
    r = t.iloc[0]
    ratio = float(r["q50"]) / float(r["observed"]) if r["observed"] > 0 else np.inf
    return {
        "available": True,
        "series": series,
        "period": period,
        "observed": float(r["observed"]),
        "predicted_median": float(r["q50"]),
        "predicted_q05": float(r["q05"]),
        "predicted_q95": float(r["q95"]),
        "ratio": ratio,
        "within_factor": factor,
        "ok": bool(1 / factor <= ratio <= factor),
    }


def surge_check(table: pd.DataFrame) -> dict:
    """The 2022 surge and 2023 fall (yearly), the 2022Q3 peak and the 2023Q1 trough (quarterly)."""
    out: dict = {"available": False}
    t = table[table["series"] == BOATS].set_index("period")
    years = ("2021", "2022", "2023")
    if all(p in t.index for p in years):
        m = {p: float(t.loc[p, "q50"]) for p in years}
        o = {p: float(t.loc[p, "observed"]) for p in years}

        def within10(p):
            return bool(m[p] > 0 and abs(np.log10(m[p] / o[p])) <= 1.0)

        out.update(
            available=True,
            observed=o,
            predicted_median=m,
            predicted_q05={p: float(t.loc[p, "q05"]) for p in years},
            predicted_q95={p: float(t.loc[p, "q95"]) for p in years},
            surge_2022_direction=bool(m["2022"] > m["2021"]),
            fall_2023_direction=bool(m["2023"] < m["2022"]),
            surge_2022_order_of_magnitude=within10("2022"),
            fall_2023_order_of_magnitude=within10("2023"),
            ratio_2022_to_2021={"observed": o["2022"] / o["2021"], "predicted": m["2022"] / max(m["2021"], 1e-9)},
            ratio_2023_to_2022={"observed": o["2023"] / o["2022"], "predicted": m["2023"] / max(m["2022"], 1e-9)},
        )
    q = table[table["series"] == BOATS_QUARTERLY].set_index("period").sort_index()
    if {"2022Q3", "2023Q1"} <= set(q.index):
        quarterly = {}
        for label, period, pick in (("peak", "2022Q3", "idxmax"), ("trough", "2023Q1", "idxmin")):
            median, obs = float(q.loc[period, "q50"]), float(q.loc[period, "observed"])
            quarterly[label] = {
                "period": period,
                "observed": obs,
                "predicted_median": median,
                "predicted_q05": float(q.loc[period, "q05"]),
                "predicted_q95": float(q.loc[period, "q95"]),
                "within_factor_2": bool(median > 0 and abs(np.log2(median / obs)) <= 1.0),
                "median_extreme_quarter": str(getattr(q["q50"], pick)()),
            }
        out["quarterly"] = quarterly
        out["available"] = True
    return out


def write_report(result: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(json.loads(json.dumps(result)), path)
    return path


def _table(title: str, block: dict, console) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col in ("series", "fitted", "n", "cover 50%", "cover 90%", "CRPS", "CRPS/scale", "MASE"):
        table.add_column(col, justify="left" if col == "series" else "right", no_wrap=col == "series")
    for name, s in block["series"].items():
        table.add_row(
            series_label(name, s), "yes" if s["fitted"] else "no", str(s["n"]), f"{s['coverage50']:.2f}", f"{s['coverage90']:.2f}",
            f"{s['crps']:,.4g}", f"{s['crps_scaled']:.2f}", f"{s['mase']:.2f}",
        )  # fmt: skip
    pools = (
        ("predicted series", "overall"), ("fitted series", "overall_fitted"),
        ("scenario inputs (no forecast)", "overall_scenario_inputs"), ("every series", "overall_all_series"),
    )  # fmt: skip
    for label, key in pools:
        o = block.get(key)
        if o and o["n"]:
            table.add_row(
                label, "", str(o["n"]), f"{o['coverage50']:.2f}", f"{o['coverage90']:.2f}", "",
                f"{o['crps_scaled_mean_over_series']:.2f}", f"{o['mase_mean_over_series']:.2f}",
            )  # fmt: skip
    console.print(table)


def _components(checks: list[dict], console) -> None:
    from rich.table import Table

    if not checks:
        return
    table = Table(title=f"components of the 2022-2023 turn: predictive median against the record (within a factor {COMPONENT_FACTOR:g})")
    for col in ("series", "period", "observed", "median", "90% interval", "median / observed", "ok"):
        table.add_column(col)
    for c in checks:
        table.add_row(c["series"], c["period"], f"{c['observed']:,.0f}", f"{c['predicted_median']:,.0f}",
                      f"{c['predicted_q05']:,.0f}-{c['predicted_q95']:,.0f}", f"{c['ratio']:.2f}", str(c["ok"]))  # fmt: skip
    console.print(table)


def print_validation(result: dict, console=None, in_sample_only: bool = False) -> None:
    from rich.console import Console

    console = console or Console()
    if not in_sample_only:
        _table(f"out of sample, from {result['from_year']} (posterior predictive: {UNCERTAINTY})", result, console)
    if "in_sample" in result:
        _table(f"in sample, fitted points up to {result['fit_until']}", result["in_sample"], console)
    s = result["surge"]
    if "observed" in s:
        console.print(
            "small boats 2021/2022/2023 observed "
            + " / ".join(f"{s['observed'][p]:,.0f}" for p in ("2021", "2022", "2023"))
            + "; predicted median "
            + " / ".join(f"{s['predicted_median'][p]:,.0f}" for p in ("2021", "2022", "2023"))
            + f"; surge direction {s['surge_2022_direction']}, fall direction {s['fall_2023_direction']}, "
            f"order of magnitude 2022 {s['surge_2022_order_of_magnitude']}, 2023 {s['fall_2023_order_of_magnitude']}"
        )
    for label, c in s.get("quarterly", {}).items():
        console.print(
            f"small boats {label} {c['period']}: observed {c['observed']:,.0f}, predicted median "
            f"{c['predicted_median']:,.0f} (90%: {c['predicted_q05']:,.0f}-{c['predicted_q95']:,.0f}); "
            f"within a factor 2: {c['within_factor_2']}; {label} quarter of the median: {c['median_extreme_quarter']}"
        )
    _components(result.get("components", []), console)
    e = result.get("enforced_returns_2023", {})
    if e.get("available"):
        console.print(
            f"enforced returns 2023: observed {e['observed']:,.0f}, predicted median {e['predicted_median']:,.0f} "
            f"(90%: {e['predicted_q05']:,.0f}-{e['predicted_q95']:,.0f}); within a factor {e['within_factor']}: {e['ok']}"
        )
