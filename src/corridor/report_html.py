"""A self-contained HTML report of a run, an ensemble, a comparison, a sweep or a validation.

One file that opens offline in any browser: Plotly's JavaScript is embedded once,
from the installed plotly package (``plotly.offline.get_plotlyjs()``), and nothing
is fetched from a network. The report holds interactive charts (bands, observed
points with their sources, effect distributions), the scenario and its events as a
timeline, the parameter provenance (value, prior, source, and the posterior where
one was used), the caveats (what the model leaves out, coverage achieved where
known) and the exact command, version and seed that reproduce it. The charts come
from ``corridor.figures``, which the web workbench uses too.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from corridor import __version__
from corridor import figures as F
from corridor.errors import CorridorInputError
from corridor.exports import significant

MAIN_OUTPUTS = ["departures", "arrivals_small_boat", "asylum_claims", "trafficking_referrals", "removals", "prison_population"]
# what the model leaves out (docs/odd.md section 8 and the README's "Not modelled"), in short
CAVEATS = [
    ("Deciding and financing", "decision, route, financing and departure happen within one month; a leaver who cannot pay stays."),
    ("Families", "the household is not a decision-maker; family complicity only labels departing minors."),
    ("Smugglers", "two routes with a price rule, no competition and no credit except the gang-fronted crossing; the death risk does not respond to enforcement or season."),
    ("Debt", "one number per person without interest, repaid only by work in exploitation."),
    ("Gangs", "one aggregate demand for labour; no individual gangs, drug prices or seizures; labour and sexual exploitation are not states."),
    ("Destination state", "no asylum appeals, no detention, no stages of the trafficking referral process; only persons in exploitation are arrested; legal routes other than family reunification are absent."),
    ("Origin economy", "three regions with regional, not personal, wages that do not respond to emigration."),
    ("Fiscal amnesty", "a multiplier and a tax on repatriated proceeds; its EUR 2 million ceiling is not modelled."),
    ("Networks and perceptions", "fixed village ties; awareness and perceptions are national aggregates."),
    ("Demography", "births on a fixed schedule; one mortality rate for everyone, in the UK included."),
    ("Albania's prisons", "not modelled, so claims comparing UK and Albanian prison numbers cannot be tested in full."),
    ("Uncertainty", "bands carry parameter (posterior) and stochastic uncertainty but no structural error: read them as a lower bound on the uncertainty."),
]
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1150px;margin:0 auto;padding:1.5em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:2em}
code,pre{background:#f4f4f4;border-radius:3px;padding:.1em .3em;font-size:.92em} pre{padding:.6em;white-space:pre-wrap}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em} th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right;vertical-align:top}
th{background:#eef4fa} td.l,th.l{text-align:left} .muted{color:#666;font-size:.9em} .chart{margin:1em 0}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:.5em} .grid>.chart{min-width:0;overflow:hidden}
.timeline li{margin:.15em 0} .case{border-left:4px solid #0072B2;padding:.2em .8em;margin:.8em 0}
"""


# ---------------------------------------------------------------- what a path is


def detect(path: str | Path) -> str:
    """'run', 'ensemble', 'comparison', 'sweep' or 'validation' (a validation JSON file)."""
    path = Path(path)
    if path.is_file() and path.suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            raise CorridorInputError(f"{path}: not a readable JSON file; give a validation JSON from `corridor validate --json`") from None
        if isinstance(data, dict) and {"overall", "series", "from_year"} <= set(data):
            return "validation"
        raise CorridorInputError(f"{path}: not a validation result; give one written by `corridor validate --json`")
    if not path.is_dir():
        raise CorridorInputError(f"{path}: no such folder or validation JSON; give a run, ensemble, comparison or sweep folder")
    for kind, marker in (("comparison", "effects.parquet"), ("sweep", "sweep.parquet"), ("ensemble", "quantiles.parquet"), ("run", "series.parquet")):
        if (path / marker).is_file():
            return kind
    raise CorridorInputError(f"{path}: not a folder written by corridor (run, ensemble, compare or sweep); check the path")


# ---------------------------------------------------------------- building blocks


def _esc(x) -> str:
    return html.escape(str(x))


def figure_html(fig) -> str:
    return '<div class="chart">' + fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True}) + "</div>"


def table_html(df: pd.DataFrame, left: tuple[str, ...] = ()) -> str:
    head = "".join(f'<th class="{"l" if c in left else ""}">{_esc(c)}</th>' for c in df.columns)
    rows = []
    for r in df.astype(str).itertuples(index=False):
        cells = "".join(f'<td class="{"l" if c in left else ""}">{_esc(v)}</td>' for c, v in zip(df.columns, r, strict=True))
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _scenario(ref, resolved: dict | None = None):
    from corridor.scenario import load_scenario, validate_resolved

    try:
        return validate_resolved(resolved, origin="manifest") if resolved else load_scenario(ref)
    except CorridorInputError:
        return None


def events_html(scenario, baseline=None) -> str:
    """The scenario's events as a timeline; with a baseline, only the events that differ from it."""
    from corridor.paramdoc import number_text

    if scenario is None:
        return '<p class="muted">scenario not available (a file that has moved?)</p>'
    base = {(e.id, e.month, json.dumps(e.set, sort_keys=True), e.enabled) for e in (baseline.events if baseline else [])}
    items = []
    for e in sorted(scenario.events, key=lambda e: e.month):
        if (e.id, e.month, json.dumps(e.set, sort_keys=True), e.enabled) in base:
            continue
        sets = ", ".join(f"<code>{_esc(k)}</code> = {_esc(number_text(v) if isinstance(v, float) else v)}" for k, v in e.set.items())
        off = " (disabled)" if not e.enabled else ""
        items.append(f"<li><b>{_esc(e.month)}</b> {_esc(e.id)}{off}: {sets}{' — ' + _esc(e.note) if e.note else ''}</li>")
    what = f"events of {_esc(scenario.name)}" + (f" that differ from {_esc(baseline.name)}" if baseline else "")
    body = "".join(items) or "<li>none</li>"
    return (f"<p><b>{_esc(scenario.name)}</b>: {_esc(scenario.description)} Horizon {scenario.start} to {scenario.end}.</p>"
            f"<p class='muted'>{what}, in time order:</p><ul class='timeline'>{body}</ul>")  # fmt: skip


def provenance_html(scenario, posterior: str | None = None) -> str:
    """Every parameter with value, prior and source; the posterior median and 90% interval where calibrated."""
    from corridor.paramdoc import number_text, prior_text

    if scenario is None:
        return ""
    post = {}
    if posterior:
        try:
            from corridor.calibration import posterior_dir

            summary = pd.read_csv(posterior_dir(posterior, "all-years") / "summary.csv")
            post = {r.parameter: r for r in summary.itertuples()}
        except (CorridorInputError, OSError, ValueError):
            post = {}
    rows = []
    for module, group in scenario.parameters.items():
        for name, e in group.items():
            key = f"{module}.{name}"
            p = post.get(key)
            fitted = f"{p.posterior_median:.4g} ({p.posterior_q05:.4g} to {p.posterior_q95:.4g})" if p is not None else ""
            rows.append([key, number_text(e.value), prior_text(e.prior), fitted, e.source])
    df = pd.DataFrame(rows, columns=["parameter", "value", "prior", f"posterior median (90%){' — ' + posterior if posterior else ''}", "source"])
    df = df.sort_values(df.columns[3], ascending=False, key=lambda s: s.ne("")).reset_index(drop=True)
    note = ("<p class='muted'>Runs drawn from a posterior use its values for the calibrated parameters (listed first) "
            "and the scenario's values for the rest.</p>") if post else ""  # fmt: skip
    return note + f"<details><summary>{len(df)} parameters (click to open)</summary>{table_html(df, left=('parameter', 'prior', 'source'))}</details>"


def caveats_html(coverage: dict | None) -> str:
    items = "".join(f"<li><b>{_esc(t)}</b>: {_esc(d)}</li>" for t, d in CAVEATS)
    if coverage:
        cov = (f"<p>Coverage achieved out of sample (validation from {coverage['from_year']}): the 50% intervals held "
               f"{coverage['coverage50']:.0%} and the 90% intervals {coverage['coverage90']:.0%} of {coverage['n']} observations "
               f"(a calibrated forecast holds 50% and 90%).</p>")  # fmt: skip
    else:
        cov = "<p class='muted'>Coverage of the intervals is not measured in this report: see <code>corridor validate</code> and docs/calibration.md.</p>"
    return f"<p>What the model leaves out (docs/odd.md, section 8):</p><ul>{items}</ul>{cov}"


def reproduce_html(meta: dict) -> str:
    rows = [("command", meta.get("command", "")), ("corridor version", meta.get("version", __version__)),
            ("seed", meta.get("seed", "")), ("agents per run", meta.get("agents", "")), ("runs", meta.get("runs", 1)),
            ("posterior", meta.get("posterior") or "none (hand-set values)")]  # fmt: skip
    body = "".join(f"<tr><th class='l'>{_esc(k)}</th><td class='l'><code>{_esc(v)}</code></td></tr>" for k, v in rows)
    return f"<table>{body}</table><p class='muted'>Same scenario, seed, version and agents give identical numbers.</p>"


def observed_frames() -> dict[str, pd.DataFrame]:
    from corridor.observed import load_observed

    out = {}
    for name, s in load_observed().items():
        f = s.frame.copy()
        f["source"] = f"{name}.csv: " + f["source_title"].astype(str)
        out[name] = f
    return out


# ---------------------------------------------------------------- the five kinds


def run_against_record(series: pd.DataFrame) -> pd.DataFrame:
    """One run's expected observed values (observation model at its prior medians) beside the observations,
    in the columns of ``validation.predictive_table``; q05 = q50 = q95, since one run has no interval."""
    from corridor.observed import expected_observed, has_outputs, load_mapping, load_observed, prior_factors

    mapping = load_mapping()
    # a series whose output the engine does not record (its reason in mapping.yaml) has no value here
    observed = {k: v for k, v in load_observed().items() if has_outputs(series, mapping.series[k])}
    frames = []
    for name, values in expected_observed(series, mapping, observed, prior_factors(mapping)).items():
        t = observed[name].frame[["period", "year", "value"]].rename(columns={"value": "observed"}).assign(series=name)
        t["q05"] = t["q50"] = t["q95"] = values
        frames.append(t.dropna(subset=["q50"]))
    return pd.concat(frames, ignore_index=True)


def _run_sections(folder: Path, coverage) -> tuple[str, dict, list]:
    series = pd.read_parquet(folder / "series.parquet")
    manifest = json.loads((folder / "manifest.json").read_text()) if (folder / "manifest.json").is_file() else {}
    from corridor.exports import output_metadata

    meta = {**manifest, "output_metadata": output_metadata(manifest), "runs": 1, "posterior": None,
            "command": f"corridor run {manifest.get('scenario', '?')} --agents {manifest.get('agents')} --seed {manifest.get('seed')}"
                       + (" --life-events" if (folder / "life_events.parquet").is_file() else "") + f" --out {folder}"}  # fmt: skip
    title = f"One run of {manifest.get('scenario', folder.name)}: hand-set values, seed {manifest.get('seed')}, no interval"
    sections = []
    charts = [figure_html(F.run_series_figure(series, o, meta)) for o in MAIN_OUTPUTS if o in series.columns]
    sections.append(("Monthly outputs", "<div class='grid'>" + "".join(charts) + "</div>"))
    record = run_against_record(series)
    frames = observed_frames()
    obs_charts = []
    for name, t in record.groupby("series", sort=False):
        obs_charts.append(figure_html(F.predictive_vs_observed_figure(t, name, 1, frames[name].set_index("period").loc[t["period"], "source"].tolist())))
    sections.append(("Against the record (one run, observation model applied)", "<div class='grid'>" + "".join(obs_charts) + "</div>"))
    if (folder / "life_events.parquet").is_file():
        sections.append(("Synthetic case histories", cases_html(folder)))
    sc = _scenario(manifest.get("scenario"), manifest.get("resolved_scenario"))
    return title, meta, [*sections, *_common(sc, None, meta, coverage)]


def _ensemble_sections(folder: Path, coverage) -> tuple[str, dict, list]:
    from corridor.ensemble import load_ensemble
    from corridor.observed import load_observed
    from corridor.validation import predictive_table

    ens = load_ensemble(folder)
    meta = {**ens.meta, "command": f"corridor ensemble {ens.meta.get('scenario')} --runs {ens.meta.get('runs')} "
                                   f"--agents {ens.meta.get('agents')} --seed {ens.meta.get('seed')} --posterior {ens.meta.get('posterior')} --out {folder}"}  # fmt: skip
    title = f"Posterior-predictive ensemble of {meta.get('scenario')}: {meta.get('runs')} runs ({meta.get('posterior')} posterior)"
    outputs = [o for o in MAIN_OUTPUTS if o in set(ens.quantiles["output"])]
    bands = "<div class='grid'>" + "".join(figure_html(F.ensemble_band_figure(ens.quantiles, o, meta)) for o in outputs) + "</div>"
    table = predictive_table(ens.observables, load_observed())
    frames = observed_frames()
    obs = []
    for name in table["series"].unique():
        t = table[table["series"] == name].sort_values("period")
        obs.append(figure_html(F.predictive_vs_observed_figure(t, name, meta.get("runs"), frames[name].set_index("period").loc[t["period"], "source"].tolist())))
    sections = [("Monthly bands", bands), ("Against the record", "<div class='grid'>" + "".join(obs) + "</div>")]
    sc = _scenario(meta.get("scenario"))
    return title, meta, [*sections, *_common(sc, None, meta, coverage)]


def _comparison_sections(folder: Path, coverage) -> tuple[str, dict, list]:
    from corridor.cli_policy import effects_title, effects_view, pairing_summary
    from corridor.effects import load_effects

    eff = load_effects(folder)
    m = eff.meta
    title = f"What {', '.join(m['variants'])} change against {m['baseline']}, {m['periods'][0]} ({m['label']})"
    sections = [("Effects at a glance", figure_html(F.effect_summary_figure(eff)))]
    for arm in m["variants"]:
        text = f"<p><b>{_esc(effects_title(eff, arm))}</b></p>" + table_html(effects_view(eff, arm), left=("output",))
        if m["mode"] != "single":
            text += f"<p>{_esc(pairing_summary(eff, arm))}.</p>"
        sections.append((f"{arm} against {m['baseline']}", text))
    outputs = [o for o in ("departures", "arrivals_small_boat", "removals", "prison_population") if o in m["outputs"]]
    if m["mode"] != "single":
        sections.append(("Effect distributions: paired and unpaired", "".join(figure_html(F.effect_distribution_figure(eff, o)) for o in outputs)))
    sections.append(("Effects month by month", "<div class='grid'>" + "".join(figure_html(F.monthly_effect_figure(eff, o)) for o in outputs) + "</div>"))
    resolved = m.get("resolved_scenarios", {})
    base = _scenario(m["baseline"], resolved.get(m["baseline"]))
    timeline = "".join(events_html(_scenario(v, resolved.get(v)), base) for v in m["variants"])
    return title, m, [*sections, *_common(base, None, m, coverage, timeline=timeline)]


def _sweep_sections(folder: Path, coverage) -> tuple[str, dict, list]:
    from corridor.cli_policy import sweep_view
    from corridor.sweep import load_sweep

    sw = load_sweep(folder)
    m = sw.meta
    title = f"Response of {m['scenario']} to {' and '.join(m['levers'])}, {m['periods'][0]} ({m['runs']} posterior draws)"
    charts = "<div class='grid'>" + "".join(figure_html(F.sweep_figure(sw, o)) for o in m["outputs"]) + "</div>"
    tables = "".join(f"<p><b>{_esc(o)}</b></p>" + table_html(sweep_view(sw, o)) for o in m["outputs"])
    return title, m, [("Response curves", charts), ("Tables", tables), *_common(_scenario(m["scenario"], m.get("resolved_scenario")), None, m, coverage)]


def _validation_sections(path: Path) -> tuple[str, dict, list]:
    result = json.loads(path.read_text())
    ens = result.get("ensemble", {})
    meta = {**ens, "command": f"corridor validate {ens.get('scenario', 'albania-uk')} --from {result['from_year']} --runs {ens.get('runs')} "
                              f"--agents {ens.get('agents')} --seed {ens.get('seed')} --json {path.name}"}  # fmt: skip
    o = result["overall"]
    title = f"Out-of-sample validation from {result['from_year']} ({ens.get('posterior', '?')} posterior, {ens.get('runs', '?')} runs)"
    from corridor.cli_policy import validation_frame

    table = table_html(validation_frame(result), left=("series",))
    frames = observed_frames()
    charts = []
    for name, s in result["series"].items():
        t = pd.DataFrame(s["points"]).assign(series=name)
        src = frames[name].set_index("period").reindex(t["period"])["source"].fillna(name + ".csv").tolist() if name in frames else name
        charts.append(figure_html(F.predictive_vs_observed_figure(t, name, ens.get("runs", "?"), src)))
    coverage = {"from_year": result["from_year"], **o}
    sc = _scenario(ens.get("scenario", "albania-uk"))
    return title, meta, [("Coverage and error", table), ("Series", "<div class='grid'>" + "".join(charts) + "</div>"), *_common(sc, None, meta, coverage)]


def _common(scenario, baseline, meta, coverage, timeline: str | None = None) -> list[tuple[str, str]]:
    return [
        ("Scenario and events", timeline if timeline is not None else events_html(scenario, baseline)),
        ("Parameters: value, prior, source", provenance_html(scenario, meta.get("posterior"))),
        ("Caveats", caveats_html(coverage)),
        ("Reproduce", reproduce_html(meta)),
    ]


def cases_html(folder: Path, n: int = 12, where: str | None = None, seed: int = 0) -> str:
    from corridor.cases import case_summaries, court_comparison, load_case_data, sample_cases, timeline

    data = load_case_data(folder)
    summary = case_summaries(data)
    cases = sample_cases(summary, n, where, seed)
    parts = [f"<p class='muted'>{len(cases)} persons sampled (seed {seed}) from the {len(summary):,} who left for the UK or joined family there. "
             + " ".join(_esc(x) + "." for x in data.notes) + "</p>"]  # fmt: skip
    for i, c in cases.iterrows():
        lines = "".join(f"<li><b>{_esc(mo)}</b> {_esc(t)}</li>" for mo, t in timeline(data, int(c["person"])))
        region = f", from {_esc(str(c['region']).replace('_', '-'))}" if c.get("region") else ""
        parts.append(f"<div class='case'><b>Case {i + 1}</b> (person {c['person']}{region})<ul class='timeline'>{lines}</ul></div>")
    ev = data.events[data.events["person"].isin(cases["person"])].copy()
    ev["case"] = ev["person"].map({p: f"case {i + 1}" for i, p in enumerate(cases["person"])})
    parts.append(figure_html(F.cases_timeline_figure(ev, data.end_month)))
    comp = court_comparison(summary)
    show = comp.assign(**{c: comp[c].map(lambda x: significant(x, 2) if isinstance(x, float) else x) for c in ("median", "q05", "q95")})
    parts.append("<p><b>Against the seed court cases</b> (court_cases_seed.csv, from 000_486404c3d6eb819b.txt)</p>"
                 + table_html(show, left=("quantity", "court cases", "model cases", "share of model cases at or below each court value")))  # fmt: skip
    return "".join(parts)


# ---------------------------------------------------------------- assembly


def build_report(path: str | Path, validation: str | Path | None = None) -> str:
    """The HTML text of the report of ``path`` (a run, ensemble, comparison or sweep folder, or a validation JSON)."""
    from plotly.offline import get_plotlyjs

    path = Path(path)
    kind = detect(path)
    coverage = None
    if validation is not None:
        v = json.loads(Path(validation).read_text())
        coverage = {"from_year": v["from_year"], **v["overall"]}
    builders = {"run": _run_sections, "ensemble": _ensemble_sections, "comparison": _comparison_sections, "sweep": _sweep_sections}
    title, meta, sections = _validation_sections(path) if kind == "validation" else builders[kind](path, coverage)
    toc = "".join(f"<li><a href='#s{i}'>{_esc(t)}</a></li>" for i, (t, _) in enumerate(sections))
    body = "".join(f"<h2 id='s{i}'>{_esc(t)}</h2>{h}" for i, (t, h) in enumerate(sections))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_esc(title)}</title><style>{STYLE}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<h1>{_esc(title)}</h1><p class='muted'>corridor {__version__} report of <code>{_esc(path)}</code> ({kind}), "
        f"written {stamp}. Colours: Okabe-Ito (colour-blind safe). Hover a chart for values and sources.</p>"
        f"<ul>{toc}</ul>{body}</body></html>"
    )


def write_report(path: str | Path, out: str | Path, validation: str | Path | None = None) -> Path:
    """Write the self-contained report of ``path`` to ``out`` (checked before the report is built)."""
    from corridor.folders import check_output_file, write_atomic

    out = check_output_file(out, "--html", ("html", "htm"))
    text = build_report(path, validation)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return out

