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

ScenarioArg = Annotated[str, typer.Argument(help="Bundled scenario name or a YAML file.")]
RunsOpt = Annotated[int, typer.Option("--runs", min=2, max=100_000, help="Posterior draws (each runs every arm).")]
PosteriorOpt = Annotated[str | None, typer.Option("--posterior", help="Calibration folder or shipped name (default all-years).")]
AgentsOpt = Annotated[int, typer.Option("--agents", min=100, max=20_000_000, help="Simulated persons per run.")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help="Random seed (draws and runs).")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="First month of the window (YYYY-MM).")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Last month of the window (YYYY-MM).")]
SchedulerOpt = Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address, or local|threads|sync.")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, max=64, help="Local worker processes.")]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Also write the result as JSON to this file ('-': stdout).")]
MarkdownOpt = Annotated[bool, typer.Option("--markdown", help="Print Markdown tables instead of terminal tables.")]


def _check_out(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise CorridorInputError(f"--out {out}: not a folder; choose a folder path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CorridorInputError(f"--out {out}: cannot create folder ({exc.strerror}); choose a writable path") from None
    return out


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
) -> None:
    """What a policy changes, and how sure we are: paired effects over posterior draws (common random numbers)."""
    from corridor.effects import paired_effects

    if runs is not None and out is None:
        out = Path("runs/compare")
    if out is not None:
        _check_out(out)
    agents = agents or (20_000 if runs else 100_000)
    effects = paired_effects(baseline, variants, runs, posterior, agents, seed, since, until, scheduler, workers)
    console = stdout_console()
    for arm in effects.meta["variants"]:
        print_table(effects_view(effects, arm), effects_title(effects, arm), markdown, console, left=("output",))
        if effects.meta["mode"] != "single":
            (print if markdown else console.print)(("\n" if markdown else "") + pairing_summary(effects, arm) + "\n")
    if out is not None:
        effects.write(out)
        (print if markdown else console.print)(f"results in {out} (effects.parquet, effects.csv/.xlsx, data_dictionary.csv)")
    if json_file is not None:
        from corridor.exports import records

        write_json({"meta": effects.meta, "effects": records(effects.table)}, json_file)


# ---------------------------------------------------------------- registration


def register(app: typer.Typer) -> None:
    """Add the policy commands to the main CLI."""
    app.command("compare")(compare_cmd)
