"""Command line: `corridor run`, `corridor compare`, `corridor scenarios ...`.

Bad input ends with one line on stderr naming the field and the fix, and exit
code 2; never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from corridor import cli_policy
from corridor.errors import CorridorInputError
from corridor.exports import stdout_console, write_run_dictionary

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Simulate an irregular-migration corridor.")
scenarios_app = typer.Typer(no_args_is_help=True, help="List, show and validate scenarios.")
app.add_typer(scenarios_app, name="scenarios")
console = stdout_console()  # a pipe never cuts a scenario or file name
err_console = Console(stderr=True)

# outputs shown in the summary table: (column, how it is summarised)
SUMMARY = [
    ("departures", "sum"),
    ("arrivals", "sum"),
    ("arrivals_small_boat", "sum"),
    ("deaths_in_transit", "sum"),
    ("interceptions", "sum"),
    ("asylum_claims", "sum"),
    ("trafficking_referrals", "sum"),
    ("in_criminal_exploitation", "stock"),
    ("prison_population", "stock"),
    ("minors_in_care", "stock"),
    ("missing_from_care", "stock"),
    ("removals", "sum"),
    ("remittances_gbp", "sum"),
    ("smuggler_revenue_gbp", "sum"),
    ("gang_revenue_gbp", "sum"),
    ("origin_young_men", "stock"),
]

ScenarioArg = Annotated[str, typer.Argument(help="Bundled scenario name or a YAML file.")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help="Random seed.")]
AgentsOpt = Annotated[int, typer.Option("--agents", min=100, max=20_000_000, help="Number of simulated persons.")]
MarkdownOpt = cli_policy.MarkdownOpt
JsonOpt = cli_policy.JsonOpt


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("months"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def _simulate(scenario, agents: int, seed: int, record_events: bool = False, label: str | None = None, threads: int = 1):
    from corridor.engine import Simulation

    sim = Simulation(scenario, agents=agents, seed=seed, record_events=record_events, threads=threads)
    with _progress() as progress:
        task = progress.add_task(label or scenario.name, total=sim.n_months)
        return sim.run(progress=lambda done, total: progress.update(task, completed=done))


def _fmt(x: float) -> str:
    return f"{x:,.0f}"


def summary_frame(series):
    """The run summary: per output its total (flows), peak, peak month and last month."""
    import pandas as pd

    rows = []
    for name, kind in SUMMARY:
        col = series[name]
        peak = int(col.to_numpy().argmax())
        rows.append([name, col.sum() if kind == "sum" else None, col.iloc[peak], series["month"].iloc[peak], col.iloc[-1]])
    return pd.DataFrame(rows, columns=["output", "total", "peak", "peak month", "last month"])


def summary_table(series, title: str) -> Table:
    table = Table(title=title)
    for col in ("output", "total", "peak", "peak month", "last month"):
        table.add_column(col, justify="left" if col == "output" else "right")
    for r in summary_frame(series).itertuples(index=False):
        table.add_row(r[0], "-" if r[1] is None else _fmt(r[1]), _fmt(r[2]), r[3], _fmt(r[4]))
    return table


@app.command()
def run(
    scenario: ScenarioArg = "albania-uk",
    seed: SeedOpt = 0,
    agents: AgentsOpt = 100_000,
    out: Annotated[Path, typer.Option("--out", help="Output folder for series.parquet and manifest.json.")] = Path(
        "runs/latest"
    ),
    life_events: Annotated[bool, typer.Option("--life-events", help="Also write person-level life events.")] = False,
    threads: Annotated[int, typer.Option("--threads", min=1, max=256, help="Threads for the person passes.")] = 1,
    markdown: MarkdownOpt = False,
    json_file: JsonOpt = None,
) -> None:
    """Run a scenario and write DIR/series.parquet and DIR/manifest.json."""
    from corridor.scenario import load_scenario

    sc = load_scenario(scenario)
    _check_writable(out)
    results = _simulate(sc, agents, seed, record_events=life_events, threads=threads)
    results.write(out)
    write_run_dictionary(out, results.manifest)  # data_dictionary.csv beside the outputs
    title = f"{sc.name}: {sc.start}..{sc.end}, {agents:,} agents, seed {seed}"
    cli_policy.emit(summary_frame(results.series), title, markdown, json_file, rich=lambda: console.print(summary_table(results.series, title)))
    console.print(f"wall time {results.manifest['wall_seconds']:.1f} s; results in [bold]{out}[/bold]")


DEFAULT_TABLE = (
    "departures,arrivals_lorry,arrivals_small_boat,deaths_in_transit,asylum_claims,trafficking_referrals,"
    "removals,prison_population,price_lorry_gbp,price_small_boat_gbp"
)


@app.command()
def table(
    run_dir: Annotated[Path, typer.Argument(help="Folder written by `corridor run`.")],
    columns: Annotated[str, typer.Option(help="Comma-separated outputs.")] = DEFAULT_TABLE,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a markdown table.")] = False,
    json_file: JsonOpt = None,
) -> None:
    """Yearly table of a run: flows summed, stocks at December, prices and rates averaged (via DuckDB)."""
    import json

    import duckdb

    from corridor.results import output_kinds

    series, manifest = run_dir / "series.parquet", run_dir / "manifest.json"
    if not series.is_file() or not manifest.is_file():
        raise CorridorInputError(f"{run_dir}: no series.parquet and manifest.json; give a folder written by `corridor run`")
    kinds = output_kinds(json.loads(manifest.read_text()))
    names = [c.strip() for c in columns.split(",") if c.strip()]
    unknown = [c for c in names if c not in kinds]
    if unknown:
        raise CorridorInputError(f"--columns: unknown output '{unknown[0]}'; see the columns of {series}")
    agg = {"flow": "sum({c})", "stock": "last({c} order by month)", "level": "avg({c})"}
    select = ", ".join(f"round({agg[kinds[c]].format(c=c)}) as {c}" for c in names)
    rows = duckdb.sql(
        f"select substr(month, 1, 4) as year, {select} from read_parquet('{series}') group by 1 order by 1"
    ).fetchall()
    header = ["year", *names]
    if json_file is not None:
        from corridor.exports import write_json

        write_json([dict(zip(header, row, strict=True)) for row in rows], json_file)
        if str(json_file) == "-":
            return
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join([row[0], *(f"{v:,.0f}" for v in row[1:])]) + " |")
        return
    out = Table(title=f"{run_dir}: yearly")
    for h in header:
        out.add_column(h, justify="right")
    for row in rows:
        out.add_row(row[0], *(f"{v:,.0f}" for v in row[1:]))
    console.print(out)


@app.command()
def plot(
    run_dir: Annotated[Path, typer.Argument(help="Folder written by `corridor run`.")],
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.")] = Path("corridor.png"),
    columns: Annotated[str, typer.Option(help="Comma-separated outputs, one panel each.")] = (
        "arrivals_lorry,arrivals_small_boat,asylum_claims,trafficking_referrals,removals,prison_population"
    ),
) -> None:
    """Plot monthly outputs of a run, one panel per output, to a PNG."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    path = run_dir / "series.parquet"
    if not path.is_file():
        raise CorridorInputError(f"{run_dir}: no series.parquet; give a folder written by `corridor run`")
    df = pd.read_parquet(path)
    names = [c.strip() for c in columns.split(",") if c.strip()]
    unknown = [c for c in names if c not in df.columns]
    if unknown:
        raise CorridorInputError(f"--columns: unknown output '{unknown[0]}'; see the columns of {path}")
    dates = pd.to_datetime(df["month"])
    ncols = 2 if len(names) > 1 else 1
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(6 * ncols, 2.6 * nrows), sharex=True, squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        ax.plot(dates, df[name], lw=1.2)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    manifest = run_dir / "manifest.json"
    label = json.loads(manifest.read_text()).get("scenario", run_dir.name) if manifest.is_file() else run_dir.name
    fig.suptitle(f"{label}: monthly outputs", fontsize=11)
    fig.tight_layout()
    try:
        fig.savefig(out, dpi=110)
    except OSError as exc:
        raise CorridorInputError(f"--out {out}: cannot write ({exc.strerror}); choose a writable path") from None
    console.print(f"wrote {out}")


@app.command()
def sensitivity(
    scenario: ScenarioArg = "albania-uk",
    output: Annotated[list[str], typer.Option("--output", help="Output to explain (repeatable).")] = ["departures"],  # noqa: B006
    since: Annotated[str | None, typer.Option(help="First month summed (YYYY-MM).")] = None,
    until: Annotated[str | None, typer.Option(help="Last month summed (YYYY-MM).")] = None,
    trajectories: Annotated[int, typer.Option(min=2, max=1000, help="Morris trajectories (runs = r x (k + 1)).")] = 4,
    agents: AgentsOpt = 10_000,
    seed: SeedOpt = 0,
    parameters: Annotated[str | None, typer.Option(help="Comma-separated subset of parameters to vary.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for sensitivity.csv.")] = Path("runs/sensitivity"),
    top: Annotated[int, typer.Option(min=1, help="Rows shown per output.")] = 12,
    markdown: MarkdownOpt = False,
    json_file: JsonOpt = None,
) -> None:
    """Which assumptions drive an answer: Morris screening (SALib) over every uncertain parameter's prior."""
    import pandas as pd

    from corridor.exports import print_table, records, write_json
    from corridor.results import write_parquet_atomic
    from corridor.scenario import load_scenario
    from corridor.sensitivity import morris, uncertain_parameters

    sc = load_scenario(scenario)
    only = [p.strip() for p in parameters.split(",")] if parameters else None
    k = len(uncertain_parameters(sc, only))
    _check_writable(out)
    with _progress() as progress:
        task = progress.add_task(f"sensitivity ({k} parameters)", total=trajectories * (k + 1))
        table = morris(
            sc, output, trajectories, agents, seed, since, until, only,
            progress=lambda done, total: progress.update(task, completed=done),
        )  # fmt: skip
    table.to_csv(out / "sensitivity.csv", index=False, float_format="%.6g")
    write_parquet_atomic(table, out / "sensitivity.parquet")
    for name in output:
        rows = [[str(r["rank"]), r["parameter"], f"{r['low']:.4g} .. {r['high']:.4g}", _fmt(r["mu_star"]), _fmt(r["sigma"])]
                for _, r in table[table["output"] == name].head(top).iterrows()]  # fmt: skip
        view = pd.DataFrame(rows, columns=["rank", "parameter", "range varied", "mu*", "sigma"])
        title = f"{name}, summed {since or sc.start}..{until or sc.end}: mean absolute elementary effect"
        if str(json_file) != "-":
            print_table(view, title, markdown, console, left=("parameter", "range varied"))
    if json_file is not None:
        write_json(records(table), json_file)
    console.print(f"results in [bold]{out}[/bold]/sensitivity.csv")


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CorridorInputError(f"--out {out}: cannot create folder ({exc.strerror}); choose a writable path") from None
    if not out.is_dir():
        raise CorridorInputError(f"--out {out}: not a folder; choose a folder path")


@scenarios_app.command("list")
def scenarios_list() -> None:
    """One line per bundled scenario with its description."""
    from corridor.scenario import scenario_descriptions

    for name, description in scenario_descriptions():
        console.print(f"[bold]{name}[/bold]  {description}", highlight=False)


@scenarios_app.command("show")
def scenarios_show(name: ScenarioArg) -> None:
    """Print a resolved scenario: every parameter with value, bounds, prior and source, and the events."""
    from corridor.paramdoc import parameter_table_markdown
    from corridor.scenario import load_scenario

    print(parameter_table_markdown(load_scenario(name)))  # plain: markdown tables must not wrap


@scenarios_app.command("validate")
def scenarios_validate(file: ScenarioArg) -> None:
    """Validate a scenario file (schema, bounds, events); exit 2 with the first problem."""
    from corridor.scenario import load_scenario

    sc = load_scenario(file)
    n = sum(len(g) for g in sc.parameters.values())
    console.print(f"ok: {sc.name}: {n} parameters, {len(sc.events)} events, {sc.start}..{sc.end} ({sc.n_months} months)")


def _register_analysis() -> None:
    try:
        from corridor.cli_analysis import register
    except ImportError:  # the calibration commands need their optional dependencies
        return
    register(app)


_register_analysis()
cli_policy.register(app)  # compare, sweep, report --html, cases, export


def _register_serve() -> None:
    from corridor.web.cli import register

    register(app)


_register_serve()  # serve: the web workbench


def main() -> None:
    try:
        app(standalone_mode=False)
    except CorridorInputError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted; no result file was left half-written")
        sys.exit(130)
    except Exception as exc:  # usage errors of Typer's (vendored) click carry their own exit codes
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Exit":
            sys.exit(getattr(exc, "exit_code", 0))
        if type(exc).__name__ == "Abort":
            sys.exit(1)
        raise
