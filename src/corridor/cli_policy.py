"""Policy commands: compare, sweep, report (HTML), cases, export.

``register(app)`` adds them to the main typer app (it replaces the matplotlib-only
``report`` of the analysis commands by one that also writes the HTML report, and
keeps its ``--ensemble ... --out x.png`` form). Bad input raises
``CorridorInputError`` with a one-line message (the main CLI prints it, exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corridor.errors import CorridorInputError
from corridor.exports import print_table, significant, stdout_console, write_json
from corridor.folders import check_output_file, check_output_folder

ScenarioArg = Annotated[str, typer.Argument(help="Bundled scenario name or a YAML file.")]
RunsOpt = Annotated[int, typer.Option("--runs", min=2, max=100_000, help="Posterior draws (each runs every arm).")]
PosteriorOpt = Annotated[str | None, typer.Option("--posterior", help="Calibration folder or shipped name (default all-years).")]
AgentsOpt = Annotated[int, typer.Option("--agents", min=100, max=20_000_000, help="Simulated persons per run.")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help="Random seed (draws and runs).")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="First month of the window (YYYY-MM).")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Last month of the window (YYYY-MM).")]
SchedulerOpt = Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address, or local|threads|sync.")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, max=64, help="Local worker processes.")]
ClusterOpt = Annotated[
    str | None, typer.Option("--cluster", help="slurm: start the workers as SLURM jobs (dask-jobqueue); --workers jobs.")
]
WorkerWaitOpt = Annotated[
    float | None,
    typer.Option("--worker-wait", min=1, max=86_400, help="Seconds to wait for a worker when the cluster has none "
                 "[default: 120; 3600 with --cluster slurm]."),
]
def _json_path(value: Path | None) -> Path | None:
    """--json is checked when the command line is read, before any work ('-': stdout)."""
    if value is not None and str(value) != "-":
        check_output_file(value, "--json")
    return value


JsonOpt = Annotated[
    Path | None, typer.Option("--json", help="Also write the result as JSON to this file ('-': stdout).", callback=_json_path)
]
MarkdownOpt = Annotated[bool, typer.Option("--markdown", help="Print Markdown tables instead of terminal tables.")]


def _lean(meta: dict) -> dict:
    """Meta without the resolved scenarios (they stay in meta.json, for the report)."""
    return {k: v for k, v in meta.items() if not k.startswith("resolved_scenario")}


def emit(frame, title: str, markdown: bool, json_file, rich=None) -> None:
    """A reporting verb's table: Markdown, or Rich (``rich`` draws a custom one); ``--json`` gets the raw rows."""
    from corridor.exports import records

    if str(json_file) == "-":  # JSON alone on stdout
        pass
    elif markdown or rich is None:
        print_table(frame.map(lambda x: significant(x) if isinstance(x, float) else ("-" if x is None else x)), title, markdown)
    else:
        rich()
    if json_file is not None:
        write_json({"title": title, "rows": records(frame)}, json_file)


def _interval(lo: float, hi: float) -> str:
    return f"{significant(lo)} to {significant(hi)}"


# ---------------------------------------------------------------- compare


def effects_view(effects, arm: str, period: str | None = None):
    """The display table of one variant: one row per output, for the window (or a period)."""
    import pandas as pd

    meta = effects.meta
    period = period or meta["periods"][0]
    t = effects.table[(effects.table["arm"] == arm) & (effects.table["period"] == period)]
    wide = t.pivot_table(index="output", columns="statistic", values="value", aggfunc="first")
    rows = []
    for output in meta["outputs"]:
        if output not in wide.index:
            continue
        s = wide.loc[output]
        if meta["mode"] == "single":
            change = f"{s['ratio'] - 1:+.1%}" if pd.notna(s["ratio"]) else "-"
            rows.append([output, significant(s["baseline"]), significant(s["variant"]), significant(s["effect"]), change])
            continue
        change = (
            f"{s['ratio_q50'] - 1:+.0%} ({s['ratio_q05'] - 1:+.0%} to {s['ratio_q95'] - 1:+.0%})"
            if pd.notna(s["ratio_q50"])
            else "-"
        )
        vr = s.get("variance_reduction")
        rows.append([
            output,
            significant(s["baseline_median"]),
            significant(s["effect_q50"]),
            _interval(s["effect_q25"], s["effect_q75"]),
            _interval(s["effect_q05"], s["effect_q95"]),
            change,
            f"{s['p_effect_negative']:.2f}",
            "identical" if pd.isna(vr) else ("∞" if vr == float("inf") else f"{vr:.1f}x"),
        ])  # fmt: skip
    if meta["mode"] == "single":
        cols = ["output", meta["baseline"], arm, "effect", "change"]
    else:
        cols = ["output", "baseline median", "effect median", "50% interval", "90% interval",
                "change median (90%)", "P(effect < 0)", "variance reduction"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def effects_title(effects, arm: str, period: str | None = None) -> str:
    m = effects.meta
    period = period or m["periods"][0]
    if m["mode"] == "single":
        return f"{arm} vs {m['baseline']}, {period}: {m['label']} (seed {m['seed']}, {m['agents']:,} agents)"
    return (
        f"{arm} vs {m['baseline']}, {period}: effect = {arm} minus {m['baseline']}, {m['runs']} posterior draws "
        f"({m['posterior']}), same draw and seed in both arms, {m['agents']:,} agents per run"
    )


def pairing_summary(effects, arm: str) -> str:
    t = effects.table
    window = effects.meta["periods"][0]
    vr = t[(t["arm"] == arm) & (t["period"] == window) & (t["statistic"] == "variance_reduction")]
    finite = vr[vr["value"].between(0, 1e300)]
    if finite.empty:
        return f"{arm}: paired and unpaired effects are identical (the arms gave the same runs)"
    by_output = dict(zip(finite["output"], finite["value"], strict=True))
    show = ", ".join(f"{o} {by_output[o]:.1f}x" for o in ("departures", "arrivals_small_boat", "removals", "prison_population") if o in by_output)
    return (
        f"{arm}: pairing divides the variance of the effect by {finite['value'].median():.1f} (median over "
        f"{len(finite)} outputs; {show}) against two independent ensembles built from the same runs "
        "(every variant run against every baseline run of another draw and seed)"
    )


def compare_cmd(
    baseline: Annotated[str, typer.Argument(help="Baseline scenario name or YAML file.")],
    variants: Annotated[list[str], typer.Argument(help="One or more policy variants (names or YAML files).")],
    runs: Annotated[int | None, typer.Option("--runs", min=2, max=100_000, help="Posterior draws; leave out for one run of the hand-set values.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for effects.parquet, runs, tables and meta.json.")] = None,
    posterior: PosteriorOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    agents: Annotated[int | None, typer.Option("--agents", min=100, max=20_000_000, help="Persons per run (default 20,000 with --runs, 100,000 without).")] = None,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = 2,
    seed: SeedOpt = 0,
    json_file: JsonOpt = None,
    markdown: MarkdownOpt = False,
    cluster: ClusterOpt = None,
    worker_wait: WorkerWaitOpt = None,
) -> None:
    """What a policy changes, and how sure we are: paired effects over posterior draws (common random numbers)."""
    from corridor.effects import paired_effects

    if runs is not None and out is None:
        out = Path("runs/compare")
    if out is not None:
        check_output_folder(out)
    agents = agents or (20_000 if runs else 100_000)
    effects = paired_effects(baseline, variants, runs, posterior, agents, seed, since, until, scheduler, workers,
                             cluster=cluster, worker_wait_s=worker_wait)  # fmt: skip
    console = stdout_console(quiet=str(json_file) == "-")
    markdown = markdown and str(json_file) != "-"
    for arm in effects.meta["variants"]:
        if str(json_file) != "-":
            print_table(effects_view(effects, arm), effects_title(effects, arm), markdown, console, left=("output",))
        if effects.meta["mode"] != "single":
            (print if markdown else console.print)(pairing_summary(effects, arm) + "\n")
    if out is not None:
        effects.write(out)
        (print if markdown else console.print)(f"results in {out} (effects.parquet, effects.csv/.xlsx, data_dictionary.csv)")
    if json_file is not None:
        from corridor.exports import records

        write_json({"meta": _lean(effects.meta), "effects": records(effects.table)}, json_file)


def validation_frame(result: dict):
    """The validation table (per series and overall) as display rows."""
    import pandas as pd

    from corridor.validation import series_label

    rows = [
        [series_label(n, s), s["n"], f"{s['coverage50']:.2f}", f"{s['coverage90']:.2f}", f"{s['mase']:.2f}"]
        for n, s in result["series"].items()
    ]
    o = result["overall"]
    if o["n"]:
        rows.append(["overall (predicted series)", o["n"], f"{o['coverage50']:.2f}", f"{o['coverage90']:.2f}", f"{o['mase_mean_over_series']:.2f}"])
    return pd.DataFrame(rows, columns=["series", "n", "cover 50%", "cover 90%", "MASE"])


# ---------------------------------------------------------------- sweep


def sweep_view(sweep, output: str):
    import pandas as pd

    from corridor.sweep import curve

    keys = list(sweep.meta["levers"])
    c = curve(sweep, output)
    rows = []
    for _, r in c.iterrows():
        rows.append([*(f"{r[k]:g}" for k in keys), significant(r["level_q50"]), _interval(r["level_q05"], r["level_q95"]),
                     significant(r["effect_q50"]), _interval(r["effect_q05"], r["effect_q95"]), f"{r['p_effect_negative']:.2f}"])  # fmt: skip
    cols = [*keys, "median", "90% interval", "effect median", "effect 90% interval", "P(effect < 0)"]
    return pd.DataFrame(rows, columns=cols)


def sweep_cmd(
    scenario: ScenarioArg,
    param: Annotated[list[str], typer.Option("--param", help="Lever as module.name=LOW:HIGH:N (once or twice).")],
    runs: Annotated[int, typer.Option("--runs", min=2, max=100_000, help="Posterior draws (each runs every grid point).")] = 20,
    out: Annotated[Path, typer.Option("--out", help="Folder for sweep.parquet, tables, response.png/.svg.")] = Path("runs/sweep"),
    output: Annotated[list[str] | None, typer.Option("--output", help="Output to trace (repeatable).")] = None,
    posterior: PosteriorOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    agents: AgentsOpt = 20_000,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = 2,
    seed: SeedOpt = 0,
    json_file: JsonOpt = None,
    markdown: MarkdownOpt = False,
    cluster: ClusterOpt = None,
    worker_wait: WorkerWaitOpt = None,
) -> None:
    """How an answer responds to one or two numeric levers, paired over posterior draws."""
    from corridor.sweep import run_sweep

    check_output_folder(out)
    sweep = run_sweep(scenario, param, runs, posterior, agents, seed, since, until, output, scheduler, workers,
                      cluster=cluster, worker_wait_s=worker_wait)  # fmt: skip
    sweep.write(out)
    console = stdout_console(quiet=str(json_file) == "-")
    markdown = markdown and str(json_file) != "-"
    m = sweep.meta
    for name in m["outputs"] if str(json_file) != "-" else []:
        title = (f"{m['scenario']}: {name}, {m['periods'][0]}, {m['runs']} posterior draws; effect against the scenario "
                 "as given, same draw and seed")  # fmt: skip
        print_table(sweep_view(sweep, name), title, markdown, console)
    if m["events_that_reset_a_lever"]:
        (print if markdown else console.print)(f"note: events {', '.join(m['events_that_reset_a_lever'])} set a swept lever later in the horizon")
    (print if markdown else console.print)(f"results in {out} (sweep.parquet, sweep.csv/.xlsx, response.png/.svg, data_dictionary.csv)")
    if json_file is not None:
        from corridor.exports import records

        write_json({"meta": _lean(m), "sweep": records(sweep.table)}, json_file)


# ---------------------------------------------------------------- report, cases, export


def report_cmd(
    path: Annotated[Path | None, typer.Argument(help="A run, ensemble, compare or sweep folder, or a validation JSON.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Self-contained HTML file to write (default: PATH.html, beside it).")] = None,
    validation: Annotated[Path | None, typer.Option("--validation", help="A validation JSON whose coverage the caveats quote.")] = None,
    ensemble: Annotated[Path | None, typer.Option("--ensemble", help="PNG mode: ensemble folder (from `corridor ensemble`).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="PNG mode: file to write (default calibration.png).")] = None,
    scenario: Annotated[str | None, typer.Option("--scenario", help="PNG mode: scenario, when no ensemble is given (default albania-uk).")] = None,
    posterior: PosteriorOpt = None,
    runs: Annotated[int | None, typer.Option("--runs", min=2, help="PNG mode: runs, when no ensemble is given (default 40).")] = None,
    agents: Annotated[int | None, typer.Option("--agents", min=100, help="PNG mode: agents per run (default 20,000).")] = None,
) -> None:
    """A self-contained HTML report of PATH (interactive charts, scenario, parameters, caveats, command);
    without PATH, the PNG of observed points over posterior-predictive bands (--ensemble ... --out x.png)."""
    if path is None and (html is not None or validation is not None):
        flag = "--html" if html is not None else "--validation"
        raise CorridorInputError(f"{flag}: give the folder to report on, e.g. corridor report runs/albania-uk {flag} ...")
    png_options = {"--ensemble": ensemble, "--out": out, "--scenario": scenario, "--posterior": posterior, "--runs": runs, "--agents": agents}
    given = [flag for flag, value in png_options.items() if value is not None]
    if path is not None and given:
        raise CorridorInputError(f"{given[0]}: an option of the PNG report; give either PATH (an HTML report) or PNG options, not both")
    if path is None:
        from corridor.cli_analysis import report_cmd as png_report

        return png_report(ensemble, out or Path("calibration.png"), scenario or "albania-uk", posterior, runs or 40, agents or 20_000)
    from corridor.report_html import write_report

    if validation is not None and not validation.is_file():
        raise CorridorInputError(f"--validation {validation}: file not found; give a JSON from `corridor validate --json`")
    if html is None:  # beside the folder: a run folder holds only what corridor wrote into it
        html = path.with_suffix(".html") if path.is_file() else path.parent / f"{path.name}.html"
    written = write_report(path, html, validation)
    stdout_console().print(f"wrote {written} (self-contained; opens offline)")


def cases_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Folder of `corridor run ... --life-events`.")],
    n: Annotated[int, typer.Option("--n", min=1, max=10_000, help="Number of cases to show.")] = 20,
    where: Annotated[str | None, typer.Option("--where", help="Conditions, comma-separated: arrested, removed, minor, missing, exploited, died, redeparted, lorry, small_boat, family.")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the sample.")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for cases.csv/.xlsx and court_comparison.csv/.xlsx.")] = None,
    json_file: JsonOpt = None,
    markdown: MarkdownOpt = False,
) -> None:
    """Synthetic case histories: sampled persons' life courses as dated timelines, against the seed court cases."""
    from corridor.cases import case_summaries, court_comparison, load_case_data, render_cases, sample_cases, timeline

    if out is not None:
        check_output_folder(out)
    data = load_case_data(run_dir)
    summary = case_summaries(data)
    cases = sample_cases(summary, n, where, seed)
    comparison = court_comparison(summary)
    shown = comparison.copy()
    for c in ("median", "q05", "q95"):
        shown[c] = shown[c].map(lambda x: significant(x, 2))
    notes = "; ".join(data.notes)
    from corridor.cases import matches

    pool = int(matches(summary, where).sum())
    heading = (f"{len(cases)} sampled (seed {seed}) of {pool:,} cases{' where ' + where if where else ''}, among {len(summary):,} "
               f"persons who left for the UK or joined family there{'; ' + notes if notes else ''}")  # fmt: skip
    if str(json_file) == "-":
        pass
    elif markdown:
        for i, c in cases.iterrows():
            print(f"**Case {i + 1}** (person {c['person']}{', from ' + str(c['region']) if c.get('region') else ''})\n")
            print("\n".join(f"- {m}: {t}" for m, t in timeline(data, int(c["person"]))) + "\n")
        print(f"_{heading}_\n")
    else:
        render_cases(cases, data, stdout_console(), heading)
    if str(json_file) != "-":
        print_table(shown, "model cases against the seed court cases (court_cases_seed.csv, seed 000_486404c3d6eb819b.txt)",
                    markdown, left=("quantity", "court cases", "model cases", "share of model cases at or below each court value"))  # fmt: skip
    if out is not None:
        from corridor.exports import dictionary_rows, write_dictionary, write_table
        from corridor.folders import staging

        with staging(out) as stage:
            write_table(cases, stage.path / "cases")
            write_table(comparison, stage.path / "court_comparison")
            write_dictionary(stage.path, dictionary_rows("cases", CASE_COLUMNS))
            stage.commit("meta.json", {"kind": "cases", "run": str(run_dir), "n": int(len(cases))})
    if json_file is not None:
        from corridor.exports import records

        write_json({"notes": data.notes, "cases": [{**r, "timeline": timeline(data, int(r["person"]))} for r in records(cases)],
                    "court_comparison": records(comparison)}, json_file)  # fmt: skip


CASE_COLUMNS = {
    "person": ("index", "the person's index in the run", "-"),
    "departures": ("crossings", "crossings to the UK attempted", "-"),
    "first_departure": ("YYYY-MM", "month of the first departure", "-"),
    "age_at_departure": ("years", "age at the first departure", "-"),
    "route": ("route", "route of the first crossing", "-"),
    "price_gbp": ("GBP", "price of that route in the departure month", "-"),
    "debt_gbp": ("GBP", "debt after paying the crossing (blank: not recorded by the engine)", "-"),
    "arrival": ("YYYY-MM", "month of the first arrival in the UK", "-"),
    "age_at_arrival": ("years", "age at the first arrival", "-"),
    "prison": ("YYYY-MM", "month of the first conviction (arrest and prison)", "-"),
    "months_to_prison": ("months", "from the last arrival to that conviction", "-"),
    "age_at_prison": ("years", "age at that conviction", "-"),
    "sentence_months": ("months", "the court's sentence (months in custody where the log lacks it: a lower bound when sentence_complete is false)", "-"),
    "removed": ("YYYY-MM", "month of the first return from the UK to Albania", "-"),
    "region": ("region", "origin region", "-"),
}


def export_cmd(
    folder: Annotated[Path, typer.Argument(help="A folder written by corridor (run, ensemble, compare, sweep, calibration).")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the CSV/XLSX files (default: FOLDER-export, beside it).")] = None,
) -> None:
    """Every table of a folder as CSV and XLSX, with the data dictionary of a run, in a folder of their own."""
    from corridor.exports import export_folder

    target, written = export_folder(folder, out)
    stdout_console().print(f"wrote {len(written)} files in {target}")


# ---------------------------------------------------------------- registration


def register(app: typer.Typer) -> None:
    """Add the policy commands to the main CLI."""
    app.registered_commands = [c for c in app.registered_commands if c.name != "report"]
    app.command("compare")(compare_cmd)
    app.command("sweep")(sweep_cmd)
    app.command("report")(report_cmd)
    app.command("cases")(cases_cmd)
    app.command("export")(export_cmd)
