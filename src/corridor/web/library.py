"""Where the workbench calls the library: every run, table, figure, report and export it shows.

Nothing here computes an answer of its own. A quick run is ``Simulation.run``, an
ensemble ``corridor.ensemble.run_ensemble``, a comparison
``corridor.effects.paired_effects``; figures come from ``corridor.figures`` (the
builders the HTML report uses), case histories from ``corridor.cases``, the HTML
report from ``corridor.report_html`` and CSV/XLSX from ``corridor.exports``. The
job runners (``JOB_KINDS``) execute in a worker process (``corridor.web.worker``);
the view functions in the server, on the files a finished job wrote.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from corridor import __version__
from corridor.errors import CorridorInputError
from corridor.web import editor
from corridor.web.registry import Registry

Progress = Callable[[int, int, str], None]

# the cards of the results view: (output, what a reader calls it)
KEY_OUTPUTS = [
    ("departures", "departures"),
    ("arrivals_small_boat", "small-boat arrivals"),
    ("deaths_in_transit", "deaths on the way"),
    ("trafficking_referrals", "trafficking referrals"),
    ("prison_population", "Albanians in UK prisons"),
    ("removals", "removals"),
    ("remittances_gbp", "remittances (GBP)"),
    ("smuggler_revenue_gbp", "smuggler revenue (GBP)"),
    ("gang_revenue_gbp", "gang revenue (GBP)"),
]
MAIN_TABLE = {"run": "series", "ensemble": "quantiles", "compare": "effects"}
JOB_SCHEDULER = "sync"  # one process per job; the queue runs jobs side by side


def plotly_js_path() -> Path:
    """Plotly.js as shipped inside the installed plotly package (no CDN: the pages work offline)."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def shipped_posteriors() -> list[str]:
    folder = resources.files("corridor") / "data" / "posteriors"
    return sorted(p.name for p in folder.iterdir() if (p / "posterior.parquet").is_file())


# ---------------------------------------------------------------- jobs (run in the worker process)


def _run(folder: Path, spec: dict, progress: Progress) -> None:
    from corridor.engine import Simulation
    from corridor.scenario import load_scenario

    scenario = load_scenario(folder / "scenario.yaml")
    sim = Simulation(scenario, agents=spec["agents"], seed=spec["seed"], record_events=spec["life_events"])
    sim.run(progress=lambda done, total: progress(done, total, "months simulated")).write(folder / OUTPUT)


def _ensemble(folder: Path, spec: dict, progress: Progress) -> None:
    from corridor.effects import probe_outputs
    from corridor.ensemble import run_ensemble
    from corridor.scenario import load_scenario

    scenario = load_scenario(folder / "scenario.yaml")
    ens = run_ensemble(
        scenario, spec["runs"], spec["posterior"], "all-years", spec["agents"], spec["seed"], spec["scheduler"],
        spec["workers"], progress=lambda done, total: progress(done, total, "runs done"),
    )  # fmt: skip
    ens.meta["output_metadata"] = probe_outputs(scenario)[1]  # units and aggregation rules for the cards and axes
    ens.write(folder / OUTPUT)


def _compare(folder: Path, spec: dict, progress: Progress) -> None:
    from corridor.effects import paired_effects
    from corridor.scenario import load_scenario

    effects = paired_effects(
        load_scenario(folder / "baseline.yaml"), [load_scenario(folder / "scenario.yaml")], spec["runs"],
        posterior=spec["posterior"], agents=spec["agents"], seed=spec["seed"], since=spec["since"],
        until=spec["until"], scheduler=spec["scheduler"], workers=spec["workers"],
        progress=lambda done, total: progress(done, total, "paired draws done"),
    )  # fmt: skip
    effects.write(folder / OUTPUT)


OUTPUT = "output"  # a run's results: a corridor output folder (complete or absent) inside its registry folder
JOB_KINDS: dict[str, Callable[[Path, dict, Progress], None]] = {"run": _run, "ensemble": _ensemble, "compare": _compare}


def prepare_job(registry: Registry, request, scheduler: str = JOB_SCHEDULER) -> tuple[str, Path, str]:
    """Resolve the scenario(s) of a job request, then write its folder (YAML, job.json, record); (id, folder, label)."""
    uploads = registry.uploads
    edited = editor.resolve_edit(request.scenario, uploads)
    files = {"scenario.yaml": edited.yaml_text}
    record = {
        "kind": request.kind,
        "status": "queued",
        "scenario": edited.scenario.name,
        "scenario_sha256": edited.scenario.sha256(),
        "base": request.scenario.base,
        "version": __version__,
        "seed": request.seed,
        "agents": request.agents,
        "runs": request.runs if request.kind != "run" else 1,
        "posterior": request.posterior if request.kind != "run" else None,
        "life_events": request.life_events and request.kind == "run",
    }
    if request.kind == "compare":
        baseline = editor.resolve_edit(request.baseline or editor.ScenarioEdit(base=request.scenario.base), uploads)
        if baseline.scenario.name == edited.scenario.name:
            raise CorridorInputError(
                f"name '{edited.scenario.name}': the variant needs a name of its own to be told from its baseline"
            )
        from corridor.effects import window_bounds

        window_bounds(baseline.scenario, request.since, request.until)  # refused now, not after the queue
        files["baseline.yaml"] = baseline.yaml_text
        record |= {"arms": [baseline.scenario.name, edited.scenario.name], "since": request.since, "until": request.until}
    spec = {
        "kind": request.kind,
        "agents": request.agents,
        "seed": request.seed,
        "runs": request.runs,
        "posterior": request.posterior,
        "since": request.since,
        "until": request.until,
        "life_events": record["life_events"],
        "scheduler": scheduler,
        "workers": 1,
    }
    record["label"] = job_label(record)
    run_id, folder = registry.create(record)
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "job.json").write_text(json.dumps(spec, indent=2))
    return run_id, folder, record["label"]


def job_label(record: dict) -> str:
    """What a job is, in words: 'comparison of A vs B (20 runs of 20,000 agents)'."""
    what = {"run": "quick run", "ensemble": "ensemble", "compare": "comparison"}[record["kind"]]
    names = " vs ".join(record.get("arms") or [record["scenario"]])
    size = f"{record['agents']:,} agents" if record["kind"] == "run" else f"{record['runs']} runs of {record['agents']:,} agents"
    return f"{what} of {names} ({size})"


def job_from_record(record: dict) -> dict:
    """A job's status as the registry kept it (after a restart, or once forgotten in memory)."""
    done = record.get("status") == "done"
    return {
        "id": record["id"],
        "kind": record.get("kind"),
        "label": record.get("label", ""),
        "status": record.get("status"),
        "done": int(done),
        "total": 1,
        "fraction": float(done),
        "stage": record.get("status"),
        "error": record.get("error"),
        "elapsed_seconds": record.get("wall_seconds"),
    }


# ---------------------------------------------------------------- views (in the server, on finished runs)


def _figure_json(fig) -> dict:
    """A Plotly figure as plain JSON for Plotly.react (dates and arrays encoded by plotly itself)."""
    return json.loads(fig.to_json())


def _pick(output: str | None, outputs: list[str], default: str = "departures") -> str:
    if output is None:
        return default if default in outputs else outputs[0]
    if output not in outputs:
        raise CorridorInputError(f"output '{output}': not an output of this run; choose one of the list")
    return output


def _interval(values) -> tuple[float, float, float]:
    import numpy as np

    q05, q50, q95 = np.quantile(np.asarray(values, float), [0.05, 0.5, 0.95])
    return float(q05), float(q50), float(q95)


def _cards_of_runs(per_run: dict[str, list[float]], single: bool) -> list[dict]:
    """Key-number cards: the median and 90% interval over runs (one run: its value, said to have no interval)."""
    from corridor.exports import significant

    cards = []
    for output, label in KEY_OUTPUTS:
        if output not in per_run:
            continue
        q05, q50, q95 = _interval(per_run[output])
        interval = "one run: no interval" if single else f"90%: {significant(q05)} to {significant(q95)}"
        cards.append({"output": output, "label": label, "value": significant(q50), "interval": interval})
    return cards


def _record_figures(table, output: str, runs) -> list[dict]:
    """Observed points with their sources over the model's values, for every series that measures ``output``."""
    from corridor import figures
    from corridor.observed import load_mapping
    from corridor.report_html import observed_frames

    frames = observed_frames()
    shown = []
    for name, m in load_mapping().series.items():
        t = table[table["series"] == name].sort_values("period")
        # a series fitted to the expected flow (expected_arrivals_small_boat) measures the realised one too
        if {output, f"expected_{output}"} & set(m.outputs) and len(t):
            sources = frames[name].set_index("period").loc[t["period"], "source"].tolist()
            shown.append(_figure_json(figures.predictive_vs_observed_figure(t, name, runs, sources)))
    return shown


def _run_view(folder: Path, record: dict, output: str | None, since: str | None, until: str | None, period: str | None) -> dict:

    from corridor import figures
    from corridor.effects import window_bounds
    from corridor.exports import aggregate, output_metadata
    from corridor.report_html import run_against_record
    from corridor.results import load_run
    from corridor.scenario import Scenario

    series, manifest = load_run(folder / OUTPUT)
    scenario = Scenario.model_validate(manifest["resolved_scenario"])
    meta = output_metadata(manifest)
    outputs = [c for c in series.columns if c != "month"]
    output = _pick(output, outputs)
    lo, hi = window_bounds(scenario, since, until)
    window = series[(series["month"] >= lo) & (series["month"] <= hi)]
    per_run = {o: [aggregate(window, o, meta.get(o, {}).get("aggregation", "sum"))] for o in outputs}
    figure = figures.run_series_figure(series, output, {**manifest, "output_metadata": meta})
    return {
        "outputs": outputs,
        "output": output,
        "window": f"{lo}..{hi}",
        "cards": _cards_of_runs(per_run, single=True),
        "figures": [_figure_json(figure), *_record_figures(run_against_record(series), output, 1)],
        "provenance": editor.provenance_rows(scenario),
    }


def _ensemble_view(folder: Path, record: dict, output: str | None, since: str | None, until: str | None, period: str | None) -> dict:
    from corridor import figures
    from corridor.effects import window_bounds
    from corridor.ensemble import load_ensemble
    from corridor.exports import aggregate
    from corridor.observed import load_observed
    from corridor.scenario import load_scenario
    from corridor.validation import predictive_table

    ens = load_ensemble(folder / OUTPUT)
    scenario = load_scenario(folder / "scenario.yaml")
    meta = {**ens.meta, "output_metadata": ens.meta.get("output_metadata", {})}
    outputs = sorted(ens.quantiles["output"].unique())
    output = _pick(output, outputs)
    lo, hi = window_bounds(scenario, since, until)
    window = ens.runs[(ens.runs["month"] >= lo) & (ens.runs["month"] <= hi)]
    aggregation = {o: meta["output_metadata"].get(o, {}).get("aggregation", "sum") for o in outputs}
    per_run = {o: [aggregate(g, o, aggregation[o]) for _, g in window.groupby("run")] for o in outputs if o in window}
    band = figures.ensemble_band_figure(ens.quantiles, output, meta)
    record = predictive_table(ens.observables, load_observed())
    return {
        "outputs": outputs,
        "output": output,
        "window": f"{lo}..{hi}",
        "cards": _cards_of_runs(per_run, single=False),
        "figures": [_figure_json(band), *_record_figures(record, output, ens.meta.get("runs", "?"))],
        "provenance": editor.provenance_rows(scenario),
    }


def _compare_view(folder: Path, record: dict, output: str | None, since: str | None, until: str | None, period: str | None) -> dict:
    from corridor import figures
    from corridor.effects import load_effects
    from corridor.exports import significant
    from corridor.scenario import load_scenario

    effects = load_effects(folder / OUTPUT)
    m = effects.meta
    outputs = list(m["outputs"])
    output = _pick(output, outputs)
    periods = list(m["periods"])
    if period is not None and period not in periods:
        raise CorridorInputError(f"period '{period}': not a period of this comparison; choose one of {', '.join(periods)}")
    period = period or periods[0]
    arm = m["variants"][0]
    t = effects.table[(effects.table["arm"] == arm) & (effects.table["period"] == period)]
    stat = t.pivot_table(index="output", columns="statistic", values="value", aggfunc="first")
    single = m["mode"] == "single"
    cards = []
    for name, label in KEY_OUTPUTS:
        if name not in stat.index:
            continue
        s = stat.loc[name]
        if single:
            base, variant, effect, interval = s["baseline"], s["variant"], s["effect"], "one run each: no interval"
        else:
            base, variant, effect = s["baseline_median"], s["variant_median"], s["effect_q50"]
            interval = f"90%: {significant(s['effect_q05'])} to {significant(s['effect_q95'])}"
        cards.append({
            "output": name, "label": f"{label}: change", "value": ("+" if effect > 0 else "") + significant(effect),
            "interval": interval, "detail": f"{m['baseline']} {significant(base)} → {arm} {significant(variant)}",
            "direction": "up" if effect > 0 else "down" if effect < 0 else "",
        })  # fmt: skip
    shown = [figures.effect_summary_figure(effects, period), figures.monthly_effect_figure(effects, output)]
    if not single:
        shown.append(figures.effect_distribution_figure(effects, output, period))
    return {
        "outputs": outputs,
        "output": output,
        "periods": periods,
        "period": period,
        "window": period,
        "cards": cards,
        "figures": [_figure_json(f) for f in shown],
        "provenance": editor.provenance_rows(load_scenario(folder / "scenario.yaml")),
    }


VIEWS = {"run": _run_view, "ensemble": _ensemble_view, "compare": _compare_view}


def run_view(folder: Path, record: dict, output: str | None, since: str | None, until: str | None, period: str | None = None) -> dict:
    """What the results pane shows of a finished run: outputs, cards, figures, provenance."""
    return {"kind": record["kind"], **VIEWS[record["kind"]](folder, record, output, since, until, period)}


# ---------------------------------------------------------------- downloads, report, cases


def download(folder: Path, fmt: str) -> Path:
    """The file of a download button: the run's main table as Parquet, CSV or XLSX, or its scenario YAML."""
    from corridor.exports import write_table

    if fmt == "yaml":
        return folder / "scenario.yaml"
    kind = json.loads((folder / "run.json").read_text())["kind"]
    table = folder / OUTPUT / f"{MAIN_TABLE[kind]}.parquet"
    if fmt == "parquet":
        return table
    path = folder / f"{MAIN_TABLE[kind]}.{fmt}"  # beside the output folder, which keeps only what the run wrote
    if not path.is_file():
        import pandas as pd

        write_table(pd.read_parquet(table), folder / MAIN_TABLE[kind], formats=(fmt,))
    return path


def html_report(folder: Path) -> Path:
    """The self-contained HTML report of the run's folder (written once, then served)."""
    from corridor.report_html import write_report

    path = folder / "report.html"
    if not path.is_file():
        write_report(folder / OUTPUT, path)
    return path


def case_histories(folder: Path, n: int, seed: int = 0) -> dict:
    """Synthetic case histories of a run that kept its life events: each case in words, and their timelines."""
    from corridor import figures
    from corridor.cases import case_summaries, load_case_data, sample_cases, timeline

    data = load_case_data(folder / OUTPUT)
    cases = sample_cases(case_summaries(data), n, None, seed)
    names = {int(p): f"case {i + 1}" for i, p in enumerate(cases["person"])}
    stories = [
        {"title": f"{names[int(c['person'])]} (person {c['person']})", "lines": [f"{month}: {text}" for month, text in timeline(data, int(c["person"]))]}
        for _, c in cases.iterrows()
    ]
    events = data.events[data.events["person"].isin(names)].assign(case=lambda e: e["person"].map(names))
    return {"notes": data.notes, "cases": stories, "figure": _figure_json(figures.cases_timeline_figure(events, data.end_month))}
