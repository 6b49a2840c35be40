"""Command line: `corridor run`, `corridor compare`, `corridor scenarios ...`.

``main`` is the one error boundary of every command: bad input (a
``CorridorInputError``, a usage error) ends with one line on stderr naming the
field and the fix, and exit code 2; an expected failure that is not the input's
(a ``CorridorError``: a lost cluster) with one line and exit code 1; Ctrl-C
with one line and exit code 130. Anything else is a bug and shows its
traceback. ``corridor --debug VERB ...`` shows the traceback of every error.
Paths and folders are checked before any simulation starts.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from corridor import cli_policy
from corridor.errors import CorridorError, CorridorInputError
from corridor.exports import stdout_console

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Simulate an irregular-migration corridor.")
scenarios_app = typer.Typer(no_args_is_help=True, help="List, show and validate scenarios.")
app.add_typer(scenarios_app, name="scenarios")
console = stdout_console()  # a pipe never cuts a scenario or file name
err_console = Console(stderr=True)
_options = {"debug": False}


@app.callback()
def _global_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show the Python traceback of an error (for bug reports).")] = False,
) -> None:
    """Simulate an irregular-migration corridor."""
    _options["debug"] = debug or _options["debug"]

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
    from corridor.folders import checkpoint, claim
    from corridor.scenario import load_scenario

    sc = load_scenario(scenario)
    with claim(out) as target:  # refused here, before the simulation, if it cannot be written
        checkpoint("run:simulate")
        results = _simulate(sc, agents, seed, record_events=life_events, threads=threads)
        results.write(target)
    title = f"{sc.name}: {sc.start}..{sc.end}, {agents:,} agents, seed {seed}"
    cli_policy.emit(summary_frame(results.series), title, markdown, json_file, rich=lambda: console.print(summary_table(results.series, title)))
    console.print(f"wall time {results.manifest['wall_seconds']:.1f} s; results in [bold]{out}[/bold]")


def _check_month(flag: str, value: str | None, *scenarios) -> str | None:
    """A month given on the command line, within every scenario's horizon, or a one-line refusal."""
    from corridor.scenario import parse_month

    if value is None:
        return None
    try:
        parse_month(value)
    except ValueError as exc:
        raise CorridorInputError(f"{flag}: {exc}") from None
    first, last = max(sc.start for sc in scenarios), min(sc.end for sc in scenarios)
    if not first <= value <= last:
        raise CorridorInputError(f"{flag} {value}: outside the horizon {first}..{last}; give a month inside it")
    return value


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
    import duckdb
    import pyarrow.parquet as pq

    from corridor.results import output_aggregations, verify_run

    manifest = verify_run(run_dir, "RUN_DIR")
    series = pq.read_table(run_dir / "series.parquet")
    names = _columns("--columns", columns, output_aggregations(manifest), series.schema.names, run_dir)
    # identifiers are checked against the run's columns and quoted; the data is registered, not read by path
    agg = {"sum": "sum({c})", "last": "arg_max({c}, month)", "mean": "avg({c})"}
    aggregations = output_aggregations(manifest)
    select = ", ".join(f"round({agg[aggregations[c]].format(c=_quoted(c))}) as {_quoted(c)}" for c in names)
    con = duckdb.connect()
    con.register("series", series)
    rows = con.execute(f"select substr(month, 1, 4) as year, {select} from series group by 1 order by 1").fetchall()
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
            print("| " + " | ".join([row[0], *(_fmt_cell(v) for v in row[1:])]) + " |")
        return
    out = Table(title=f"{run_dir}: yearly")
    for h in header:
        out.add_column(h, justify="right")
    for row in rows:
        out.add_row(row[0], *(_fmt_cell(v) for v in row[1:]))
    console.print(out)


def _quoted(identifier: str) -> str:
    """A SQL identifier in double quotes (a quote inside doubled): never read as SQL."""
    return '"' + identifier.replace('"', '""') + '"'


def _fmt_cell(value) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _columns(flag: str, text: str, known, present, run_dir: Path) -> list[str]:
    """The outputs named in a comma-separated option: at least one, each an output of the run."""
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise CorridorInputError(f"{flag}: no output named; give one or more outputs separated by commas, e.g. departures")
    for name in names:
        if name not in known or name not in present:
            raise CorridorInputError(f"{flag}: unknown output '{name}'; see the columns of {run_dir / 'series.parquet'}")
    return list(dict.fromkeys(names))


@app.command()
def plot(
    run_dir: Annotated[Path, typer.Argument(help="Folder written by `corridor run`.")],
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.")] = Path("corridor.png"),
    columns: Annotated[str, typer.Option(help="Comma-separated outputs, one panel each.")] = (
        "arrivals_lorry,arrivals_small_boat,asylum_claims,trafficking_referrals,removals,prison_population"
    ),
) -> None:
    """Plot monthly outputs of a run, one panel per output, to a PNG (or PDF, SVG, ...)."""
    import pandas as pd

    from corridor.folders import check_output_file
    from corridor.results import load_run, output_aggregations

    check_output_file(out, "--out", image_formats())
    df, manifest = load_run(run_dir, "RUN_DIR")
    known = [c for c in df.columns if c != "month" and pd.api.types.is_numeric_dtype(df[c])]
    names = _columns("--columns", columns, output_aggregations(manifest) or known, known, run_dir)
    fig = _figure()
    dates = pd.to_datetime(df["month"])
    ncols = 2 if len(names) > 1 else 1
    nrows = -(-len(names) // ncols)
    fig.set_size_inches(6 * ncols, 2.6 * nrows)
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        ax.plot(dates, df[name], lw=1.2)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    label = manifest.get("scenario") if isinstance(manifest.get("scenario"), str) else run_dir.name
    fig.suptitle(f"{label}: monthly outputs", fontsize=11)
    fig.tight_layout()
    save_figure(fig, out, dpi=110)
    console.print(f"wrote {out}")


def image_formats() -> tuple[str, ...]:
    """The file formats matplotlib writes here (png, pdf, svg, ...)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return tuple(sorted(FigureCanvasAgg.get_supported_filetypes()))


def _figure():
    """A figure that is not registered with pyplot (nothing global to close)."""
    from matplotlib.figure import Figure

    return Figure()


def save_figure(fig, out: Path, dpi: int) -> Path:
    """Write a figure through a temporary name, in the format its extension names."""
    from corridor.folders import write_atomic

    fmt = Path(out).suffix.lower().lstrip(".")
    return write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt))


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
    from corridor.folders import staging
    from corridor.results import write_parquet_atomic
    from corridor.scenario import load_scenario
    from corridor.sensitivity import morris, uncertain_parameters

    sc = load_scenario(scenario)
    _check_month("--since", since, sc)
    _check_month("--until", until, sc)
    if since and until and since > until:
        raise CorridorInputError(f"--since {since} is after --until {until}; give a window with since <= until")
    only = [p.strip() for p in parameters.split(",") if p.strip()] if parameters is not None else None
    if only is not None and not only:
        raise CorridorInputError("--parameters: no parameter named; give module.name, ... or leave the option out")
    k = len(uncertain_parameters(sc, only))
    with staging(out) as stage:  # refused here, before the runs, if it cannot be written
        with _progress() as progress:
            task = progress.add_task(f"sensitivity ({k} parameters)", total=trajectories * (k + 1))
            table = morris(
                sc, output, trajectories, agents, seed, since, until, only,
                progress=lambda done, total: progress.update(task, completed=done),
            )  # fmt: skip
        table.to_csv(stage.path / "sensitivity.csv", index=False, float_format="%.6g")
        write_parquet_atomic(table, stage.path / "sensitivity.parquet")
        meta = {"scenario": sc.name, "scenario_sha256": sc.sha256(), "outputs": output, "since": since or sc.start,
                "until": until or sc.end, "trajectories": trajectories, "agents": agents, "seed": seed}  # fmt: skip
        stage.commit("meta.json", meta)
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


def run_cli(args: list[str] | None = None) -> int:
    """Run one command line and return its exit code: the error boundary of every verb.

    The tests call it in-process; ``main`` is the installed ``corridor`` command."""
    args = sys.argv[1:] if args is None else list(args)
    _options["debug"] = os.environ.get("CORRIDOR_DEBUG", "") not in ("", "0")
    command = _click_command()
    try:
        with command.make_context("corridor", args) as ctx, _quiet_libraries():
            command.invoke(ctx)
        return 0
    except typer.Exit as exc:  # --help, and commands that stop early on purpose
        return exc.exit_code
    except typer.TyperException as exc:  # usage errors (Typer's click): one line, which command, what to read
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":  # `corridor` or `corridor scenarios` alone: the help
            print((ctx or command.make_context("corridor", ["--help"], resilient_parsing=True)).get_help())
            return 0
        where = ctx.command_path if ctx is not None else "corridor"
        _error_line(f"{where}: {exc.format_message()}; see `{where} --help`")
        return exc.exit_code
    except typer.Abort:
        _error_line("aborted")
        return 1
    except KeyboardInterrupt as exc:
        notes = getattr(exc, "__notes__", [])
        _error_line("; ".join(["interrupted", *notes]), prefix="")
        return 130
    except CorridorError as exc:
        if _options["debug"]:
            traceback.print_exc()
        _error_line(str(exc))
        return exc.exit_code
    except BrokenPipeError:  # the reader of our output went away (`corridor table ... | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


@contextlib.contextmanager
def _quiet_libraries():
    """Silence the log records of the libraries under the runs (Dask, tornado, asyncio, pyabc): a lost
    cluster logs tracebacks of reconnection attempts that say less than the one line the boundary
    prints. ``--debug`` shows them."""
    import logging

    previous = logging.root.manager.disable
    if not _options["debug"]:
        logging.disable(logging.ERROR)
    try:
        yield
    finally:
        logging.disable(previous)


@functools.cache
def _click_command():
    """The click command of the Typer app, built once (it takes tens of milliseconds)."""
    return typer.main.get_command(app)


def _error_line(message: str, prefix: str = "error: ") -> None:
    """One line on stderr: newlines and control characters of user input never split it."""
    text = " ".join(str(message).split())
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    line = Text(prefix, style="red") + Text(text) if prefix else Text(text)
    err_console.print(line, soft_wrap=True, highlight=False)


def main() -> None:
    """The ``corridor`` command."""
    debug = "--debug" in sys.argv[1:] or os.environ.get("CORRIDOR_DEBUG", "") not in ("", "0")
    if not debug:  # for the whole process: a cluster's client may still log from its thread as the command ends
        import logging

        logging.disable(logging.ERROR)
    try:
        code = run_cli()
    except Exception:  # a bug: show it whole, and say so in the last line
        traceback.print_exc()
        _error_line("this is a bug in corridor, not in your input; please report it with the command and the traceback above")
        code = 1
    sys.exit(code)
