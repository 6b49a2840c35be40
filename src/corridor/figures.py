"""Plotly figures built from corridor's tidy tables, shared by the HTML report and the web workbench.

Every figure says in words what it shows, puts units on its axes and months on a
date axis, and names the number of runs and the uncertainty a band carries. Colours
are the Okabe-Ito palette, which stays distinct for colour-blind readers. Observed
points always carry their source (file and title) in the hover text and legend.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

# Okabe & Ito (2008), in the order lines are drawn: blue, orange, green, vermillion, sky, purple, yellow, black
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
STATE_COLOURS = {
    "at_origin": "#999999",
    "in_transit": "#E69F00",
    "in_care": "#56B4E9",
    "missing_from_care": "#CC79A7",
    "asylum_pending": "#0072B2",
    "undocumented": "#F0E442",
    "legal_resident": "#009E73",
    "criminal_exploitation": "#D55E00",
    "in_prison": "#000000",
    "emigrated_elsewhere": "#BBBBBB",
    "dead_in_transit": "#7F0000",
    "dead_other": "#555555",
}
WORDS = {
    "departures": "Departures for the UK",
    "arrivals": "Arrivals in the UK",
    "arrivals_lorry": "Arrivals hidden in lorries",
    "arrivals_small_boat": "Small-boat arrivals",
    "deaths_in_transit": "Deaths on the way",
    "interceptions": "Crossings intercepted",
    "asylum_claims": "Asylum claims",
    "trafficking_referrals": "Trafficking referrals",
    "arrests": "Arrests",
    "removals": "Removals to Albania",
    "prison_population": "Albanians in UK prisons",
    "in_criminal_exploitation": "Persons in criminal exploitation",
    "minors_in_care": "Minors in care",
    "missing_from_care": "Minors missing from care",
    "remittances_gbp": "Remittances sent home",
    "smuggler_revenue_gbp": "Smugglers' revenue",
    "gang_revenue_gbp": "Gangs' revenue",
    "price_lorry_gbp": "Lorry crossing price",
    "price_small_boat_gbp": "Small-boat crossing price",
}
LAYOUT = dict(
    template="plotly_white", font=dict(size=12), margin=dict(l=70, r=20, t=70, b=110), height=420,
    legend=dict(orientation="h", x=0, y=-0.22, yanchor="top"),  # below the chart, so the plot keeps its width
)


def words(output: str) -> str:
    return WORDS.get(output, output.replace("_gbp", "").replace("_", " ").capitalize())


def in_sentence(output: str) -> str:
    """The output's words inside a sentence: first letter lower-cased, proper nouns kept ('departures for the UK')."""
    w = words(output)
    return w if w.startswith("Albanians") else w[0].lower() + w[1:]


def unit_of(output: str, meta: dict | None = None, summed: bool = False) -> str:
    """The output's unit; ``summed``: of its total over a period (a monthly flow summed is no longer per month)."""
    m = (meta or {}).get("output_metadata", {}).get(output)
    unit = m["unit"] if m else ("GBP" if output.endswith("_gbp") else "persons")
    if summed and m and m.get("aggregation") == "sum":
        unit = unit.replace(" per month", "").replace("/month", "")
    return unit


def label_of(output: str, meta: dict | None = None, summed: bool = False) -> str:
    return f"{words(output)} ({unit_of(output, meta, summed)})"


def month_dates(months) -> pd.DatetimeIndex:
    return pd.to_datetime(pd.Series(months).astype(str) + "-01")


def period_date(period: str) -> pd.Timestamp:
    """A period is drawn at its middle month's first day: a year at July, a quarter at its second month."""
    from corridor.observed import parse_period

    p = parse_period(str(period))
    return pd.Timestamp(year=p.year, month=p.first_month + p.n_months // 2, day=1)


def _layout(fig: go.Figure, title: str, y_title: str, x_title: str = "month", **extra) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0.01, font=dict(size=14)), **{**LAYOUT, **extra})
    fig.update_yaxes(title_text=y_title, separatethousands=True)
    fig.update_xaxes(title_text=x_title)
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def add_band(fig: go.Figure, x, q: pd.DataFrame, colour: str, name: str, prefix: str = "", show_median=True) -> None:
    """Median line with 50% and 90% bands from columns q05, q25, q50, q75, q95 (optionally prefixed)."""
    c = lambda k: q[f"{prefix}{k}"].to_numpy(float)  # noqa: E731
    for lo, hi, alpha, label in (("q05", "q95", 0.15, "90%"), ("q25", "q75", 0.3, "50%")):
        fig.add_trace(go.Scatter(x=list(x) + list(x)[::-1], y=list(c(hi)) + list(c(lo))[::-1], fill="toself",
                                 fillcolor=_rgba(colour, alpha), line=dict(width=0), hoverinfo="skip",
                                 name=f"{name}: {label} interval", legendgroup=name))  # fmt: skip
    if show_median:
        fig.add_trace(go.Scatter(x=x, y=c("q50"), mode="lines", line=dict(color=colour, width=2), name=f"{name}: median", legendgroup=name))


def add_observed(fig: go.Figure, observed: pd.DataFrame, name: str) -> None:
    """Observed points (columns period, value, source) with their source in the hover text."""
    fig.add_trace(go.Scatter(
        x=[period_date(p) for p in observed["period"]], y=observed["value"], mode="markers",
        marker=dict(color="#000000", size=8, symbol="diamond"), name=f"observed ({name})",
        text=observed["source"], hovertemplate="%{x|%Y-%m}: %{y:,.0f}<br>%{text}<extra>observed</extra>",
    ))  # fmt: skip


# ---------------------------------------------------------------- runs and ensembles


def run_series_figure(series: pd.DataFrame, output: str, meta: dict, observed: pd.DataFrame | None = None) -> go.Figure:
    """One run: the monthly values of an output (no interval: one seed, one parameter set)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=month_dates(series["month"]), y=series[output], mode="lines",
                             line=dict(color=OKABE_ITO[0], width=2), name="model, one run"))  # fmt: skip
    if observed is not None and len(observed):
        add_observed(fig, observed, observed["file"].iloc[0])
    title = f"{words(output)} per month: {meta.get('scenario', '')}, one run (seed {meta.get('seed')}), no interval"
    return _layout(fig, title, label_of(output, meta))


def ensemble_band_figure(quantiles: pd.DataFrame, output: str, meta: dict) -> go.Figure:
    """Posterior-predictive monthly bands of an output from quantiles.parquet."""
    q = quantiles[quantiles["output"] == output].sort_values("month")
    fig = go.Figure()
    add_band(fig, month_dates(q["month"]), q, OKABE_ITO[0], "model")
    title = (f"{words(output)} per month, {meta.get('scenario', '')}: median, 50% and 90% bands over "
             f"{meta.get('runs', '?')} runs (posterior parameters and stochastic noise; no structural error)")  # fmt: skip
    return _layout(fig, title, label_of(output, meta))


def predictive_vs_observed_figure(table: pd.DataFrame, series: str, runs: int | str, source: str) -> go.Figure:
    """Observed points over the predictive interval of the expected observed value (observation model applied)."""
    t = table[table["series"] == series].sort_values("period")
    x = [period_date(p) for p in t["period"]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=x, y=t["q50"], mode="markers+lines", line=dict(color=OKABE_ITO[0]), name="model median",
        error_y=dict(type="data", symmetric=False, array=t["q95"] - t["q50"], arrayminus=t["q50"] - t["q05"], color=OKABE_ITO[0]),
    ))  # fmt: skip
    obs = pd.DataFrame({"period": t["period"], "value": t["observed"], "source": source})
    add_observed(fig, obs, series + ".csv")
    band = "model, one run, no interval" if runs == 1 else f"model median and 90% interval ({runs} runs)"
    title = f"{series.replace('_', ' ')}: observed vs {band}"
    _layout(fig, title, "persons or GBP, as the series counts", x_title="period")
    if len(x) and all(len(str(p)) == 4 for p in t["period"]):
        fig.update_xaxes(tickformat="%Y", dtick="M12", tick0="2000-07-01")  # a year's tick where its point is
    if len(x) == 1:  # one point: a year either side, not a zoom into microseconds
        fig.update_xaxes(range=[x[0] - pd.Timedelta(days=365), x[0] + pd.Timedelta(days=365)])
    return fig


# ---------------------------------------------------------------- comparisons


def effect_summary_figure(effects, period: str | None = None) -> go.Figure:
    """Change against the baseline per output and arm: median, 50% and 90% intervals of variant / baseline - 1."""
    m = effects.meta
    period = period or m["periods"][0]
    t = effects.table[effects.table["period"] == period]
    fig = go.Figure()
    single = m["mode"] == "single"
    outputs = [o for o in m["outputs"] if o in set(t["output"])]
    k = len(m["variants"])
    for i, arm in enumerate(m["variants"]):
        w = t[t["arm"] == arm].pivot_table(index="output", columns="statistic", values="value", aggfunc="first").reindex(outputs)
        y = np.arange(len(outputs)) + (i - (k - 1) / 2) * min(0.25, 0.8 / k)  # arms side by side on an output's row
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        text = [words(o) for o in outputs]
        if single:
            fig.add_trace(go.Scatter(x=(w["ratio"] - 1) * 100, y=y, text=text, mode="markers", marker=dict(color=colour, size=9), name=arm,
                                     hovertemplate="%{text}: %{x:+.0f}%<extra>" + arm + "</extra>"))  # fmt: skip
            continue
        mid = (w["ratio_q50"] - 1) * 100
        fig.add_trace(go.Scatter(
            x=mid, y=y, text=text, mode="markers", marker=dict(color=colour, size=9), name=arm,
            error_x=dict(type="data", symmetric=False, array=(w["ratio_q95"] - 1) * 100 - mid,
                         arrayminus=mid - (w["ratio_q05"] - 1) * 100, color=colour, thickness=1.5),
            hovertemplate="%{text}: %{x:+.0f}%<extra>" + arm + "</extra>",
        ))  # fmt: skip
    band = "one run each, hand-set values, no interval" if single else (
        f"median and 90% interval over {m['runs']} posterior draws, same draw and seed in every arm")
    fig.add_vline(x=0, line=dict(color="#777777", width=1))
    _layout(fig, f"Change against {m['baseline']}, {period}: {band}", "", x_title="change against the baseline (%)",
            height=max(380, 60 + 34 * len(outputs)))  # fmt: skip
    fig.update_yaxes(autorange="reversed", tickvals=list(range(len(outputs))), ticktext=[words(o) for o in outputs], zeroline=False)
    return fig


def effect_distribution_figure(effects, output: str, period: str | None = None) -> go.Figure:
    """The paired effect per draw against the unpaired differences of the same runs: why pairing matters."""
    from corridor.effects import cross_differences

    m = effects.meta
    period = period or m["periods"][0]
    r = effects.runs[(effects.runs["output"] == output) & (effects.runs["period"] == period)]
    wide = r.pivot_table(index="draw", columns="arm", values="value", aggfunc="first")
    base = wide[m["baseline"]].to_numpy(float)
    fig = go.Figure()
    for i, arm in enumerate(m["variants"]):
        v = wide[arm].to_numpy(float)
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        fig.add_trace(go.Box(x=v - base, name=f"{arm}: paired", marker_color=colour, boxpoints="all", jitter=0.4,
                             hovertemplate="%{x:,.0f}<extra>paired draw</extra>"))  # fmt: skip
        if len(base) > 1:
            fig.add_trace(go.Box(x=cross_differences(base, v), name=f"{arm}: unpaired", marker_color=_rgba(colour, 0.45),
                                 boxpoints=False, hovertemplate="%{x:,.0f}<extra>unpaired</extra>"))  # fmt: skip
    fig.add_vline(x=0, line=dict(color="#777777", width=1))
    title = (f"Effect on {in_sentence(output)}, {period}: each dot one posterior draw ({m['runs']}), variant minus "
             f"baseline with the same draw and seed; 'unpaired' pairs runs of different draws")  # fmt: skip
    _layout(fig, title, "", x_title=f"effect ({unit_of(output, m, summed=True)} over the period)", showlegend=False,
            height=max(300, 120 + 70 * len(m["variants"])))  # fmt: skip
    return fig


def monthly_effect_figure(effects, output: str) -> go.Figure:
    """The effect month by month: median, 50% and 90% bands of the paired difference."""
    m = effects.meta
    q = effects.monthly[effects.monthly["output"] == output]
    fig = go.Figure()
    for i, arm in enumerate(m["variants"]):
        a = q[q["arm"] == arm].sort_values("month")
        add_band(fig, month_dates(a["month"]), a, OKABE_ITO[i % len(OKABE_ITO)], arm)
    fig.add_hline(y=0, line=dict(color="#777777", width=1))
    title = f"Effect on {in_sentence(output)} per month ({m['runs']} paired draws; bands: posterior and stochastic)"
    return _layout(fig, title, f"variant minus baseline ({unit_of(output, m)} per month)")


# ---------------------------------------------------------------- sweeps


def sweep_figure(sweep, output: str) -> go.Figure:
    """Response curve of an output to the levers: median with 50% and 90% bands over posterior draws."""
    from corridor.sweep import curve

    m = sweep.meta
    keys = list(m["levers"])
    c = curve(sweep, output)
    groups = [(None, c)] if len(keys) == 1 else list(c.groupby(keys[1]))
    fig = go.Figure()
    for i, (second, g) in enumerate(groups):
        name = "model" if second is None else f"{keys[1]} = {second:g}"
        add_band(fig, g[keys[0]].to_numpy(float), g, OKABE_ITO[i % len(OKABE_ITO)], name, prefix="level_")
    title = f"{words(output)}, {m['periods'][0]}, against {keys[0]} ({m['runs']} posterior draws; bands: posterior and stochastic)"
    return _layout(fig, title, label_of(output, m, summed=True), x_title=keys[0])


# ---------------------------------------------------------------- case histories


def cases_timeline_figure(events: pd.DataFrame, end_month: str) -> go.Figure:
    """Each sampled person's states as coloured spans on a date axis (one row per person)."""
    fig = go.Figure()
    shown = set()
    end = pd.Timestamp(f"{end_month}-01") + pd.offsets.MonthEnd(1)
    for person, ev in events.groupby("case", sort=False):
        ev = ev.sort_values("month_index")
        starts = list(month_dates(ev["month"]))
        stops = starts[1:] + [end]
        for (_, e), x0, x1 in zip(ev.iterrows(), starts, stops, strict=True):
            state = e["to_state"]
            fig.add_trace(go.Scatter(
                x=[x0, x1], y=[person, person], mode="lines", line=dict(color=STATE_COLOURS.get(state, "#777777"), width=12),
                name=state.replace("_", " "), legendgroup=state, showlegend=state not in shown,
                hovertemplate=f"{person}: {state.replace('_', ' ')} from {e['month']}<extra></extra>",
            ))  # fmt: skip
            shown.add(state)
    n = events["case"].nunique()
    return _layout(fig, f"Synthetic case histories: the life course of {n} sampled persons", "case", height=max(300, 90 + 28 * n))


def cases_comparison_figure(model: np.ndarray, court: list[tuple[str, float]], quantity: str, unit: str) -> go.Figure:
    """Distribution of a quantity over the model's cases, with the court cases as marked lines."""
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=model, marker_color=OKABE_ITO[0], opacity=0.75, name=f"model cases ({len(model)})"))
    for i, (case, value) in enumerate(court):
        fig.add_vline(x=value, line=dict(color=OKABE_ITO[3], width=2, dash="dash"),
                      annotation_text=f"court case {case}", annotation_position="top" if i % 2 == 0 else "bottom")  # fmt: skip
    return _layout(fig, f"{quantity}: model cases against the seed court cases (dashed)", "model cases", x_title=unit)
