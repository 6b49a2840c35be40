"""Analysis commands: calibrate, ensemble, validate, claims, report.

``register(app)`` adds them to the main typer app. Bad input raises
``CorridorInputError`` with a one-line message (the main CLI prints it, exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from corridor.errors import CorridorInputError
from corridor.exports import stdout_console

console = stdout_console()  # a pipe never cuts a name
err_console = Console(stderr=True)

ScenarioArg = Annotated[str, typer.Argument(help="Bundled scenario name or a YAML file.")]


def _check_out(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise CorridorInputError(f"--out {out}: not a folder; choose a folder path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CorridorInputError(
            f"--out {out}: cannot create folder ({exc.strerror}); choose a writable path"
        ) from None
    return out


def calibrate_cmd(
    scenario: ScenarioArg,
    until: Annotated[int, typer.Option("--until", help="Last observed year used in the fit.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (holds the pyabc database; rerun to resume).")],
    agents: Annotated[int | None, typer.Option("--agents", min=100, help="Agents per simulation.")] = None,
    population: Annotated[int | None, typer.Option("--population", min=5, help="ABC-SMC population size.")] = None,
    generations: Annotated[int | None, typer.Option("--generations", min=1, help="Total ABC-SMC generations.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 2,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed of the sampler.")] = 0,
) -> None:
    """Calibrate a scenario to the observed series with ABC-SMC (pyabc); resumable."""
    from corridor.calibration import calibrate, print_summary

    _check_out(out)
    result = calibrate(scenario, until, out, agents, population, generations, workers=workers, seed=seed)
    print_summary(result["summary"], console)
    m = result["meta"]
    console.print(
        f"{m['generations']} generations, {m['simulations']} simulations, {m['wall_seconds_this_session']} s; wrote {out}"
    )


def ensemble_cmd(
    scenario: ScenarioArg,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Number of runs.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    posterior: Annotated[str | None, typer.Option("--posterior", help="Calibration folder or shipped name.")] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address, or local|threads|sync.")
    ] = None,
    agents: Annotated[int, typer.Option("--agents", min=100, help="Agents per run.")] = 20_000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Local worker processes.")] = 2,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
) -> None:
    """Posterior-predictive ensemble (default posterior: all-years) -> quantiles.parquet."""
    from corridor.ensemble import run_ensemble

    _check_out(out)
    ens = run_ensemble(scenario, runs, posterior, "all-years", agents, seed, scheduler, workers)
    ens.write(out)
    console.print(f"{runs} runs in {ens.meta['wall_seconds']} s; wrote {out / 'quantiles.parquet'}")


def validate_cmd(
    scenario: ScenarioArg,
    from_year: Annotated[int, typer.Option("--from", help="First year of the out-of-sample period.")],
    posterior: Annotated[str | None, typer.Option("--posterior", help="Calibration folder or shipped name.")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the result as JSON here.")] = None,
    ensemble: Annotated[Path | None, typer.Option("--ensemble", help="Use an existing ensemble folder.")] = None,
    runs: Annotated[int, typer.Option("--runs", min=2, help="Runs of the ensemble.")] = 40,
    agents: Annotated[int, typer.Option("--agents", min=100, help="Agents per run.")] = 20_000,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address, or local|threads|sync.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table.")] = False,
) -> None:
    """Validate the posterior-predictive ensemble (default posterior: until-2020) from a year on."""
    from corridor.ensemble import load_ensemble, run_ensemble
    from corridor.validation import print_validation, validate, write_report

    if not 1990 <= from_year <= 2100:
        raise CorridorInputError(f"--from {from_year}: give a year such as 2021")
    if ensemble is not None:
        ens = load_ensemble(ensemble)
    else:
        ens = run_ensemble(scenario, runs, posterior, "until-2020", agents, seed, scheduler)
    result = validate(ens.observables, from_year)
    result["ensemble"] = ens.meta
    if result["overall"]["n"] == 0:
        raise CorridorInputError(f"--from {from_year}: no observations in or after that year; give an earlier year")
    if markdown:
        from corridor.cli_policy import validation_frame
        from corridor.exports import print_table

        print_table(validation_frame(result), f"validation from {from_year} (posterior-predictive)", markdown=True)
    elif str(json_file) != "-":
        print_validation(result, console)
    if json_file is not None and str(json_file) == "-":
        from corridor.exports import write_json

        write_json(result, "-")
    elif json_file is not None:
        write_report(result, json_file)
        console.print(f"wrote {json_file}")


def claims_cmd(
    ensemble: Annotated[
        Path | None, typer.Option("--ensemble", help="Ensemble folder (from `corridor ensemble`).")
    ] = None,
    scenario: Annotated[str, typer.Option("--scenario", help="Scenario, when no ensemble is given.")] = "albania-uk",
    posterior: Annotated[str | None, typer.Option("--posterior", help="Calibration folder or shipped name.")] = None,
    runs: Annotated[int, typer.Option("--runs", min=2, help="Runs, when no ensemble is given.")] = 40,
    agents: Annotated[int, typer.Option("--agents", min=100, help="Agents per run.")] = 20_000,
    claims_file: Annotated[Path | None, typer.Option("--claims", help="Claims YAML (default: bundled).")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the table as CSV here.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table.")] = False,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the table as JSON here ('-': stdout).")] = None,
) -> None:
    """Evaluate the sources' quantitative claims against a posterior-predictive ensemble."""
    from corridor.claims import evaluate_claims, load_claims, print_claims
    from corridor.ensemble import load_ensemble, run_ensemble

    claims = load_claims(claims_file)
    ens = load_ensemble(ensemble) if ensemble else run_ensemble(scenario, runs, posterior, "all-years", agents)
    table = evaluate_claims(ens.runs, claims)
    from corridor.cli_policy import emit

    view = table[[c for c in ("id", "source", "condition", "probability", "median", "q05", "q95") if c in table.columns]]
    emit(view, "claims against the posterior-predictive ensemble", markdown, json_file, rich=lambda: print_claims(table, console))
    if csv is not None:
        table.to_csv(csv, index=False)


def report_cmd(
    ensemble: Annotated[
        Path | None, typer.Option("--ensemble", help="Ensemble folder (from `corridor ensemble`).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="PNG file.")] = Path("docs/calibration.png"),
    scenario: Annotated[str, typer.Option("--scenario", help="Scenario, when no ensemble is given.")] = "albania-uk",
    posterior: Annotated[str | None, typer.Option("--posterior", help="Calibration folder or shipped name.")] = None,
    runs: Annotated[int, typer.Option("--runs", min=2, help="Runs, when no ensemble is given.")] = 40,
    agents: Annotated[int, typer.Option("--agents", min=100, help="Agents per run.")] = 20_000,
) -> None:
    """Plot observed points over posterior-predictive bands for each series (PNG)."""
    from corridor.ensemble import load_ensemble, run_ensemble

    ens = load_ensemble(ensemble) if ensemble else run_ensemble(scenario, runs, posterior, "all-years", agents)
    path = plot_report(ens.observables, out, title=f"posterior: {ens.meta.get('posterior', '?')}")
    console.print(f"wrote {path}")


def plot_report(observables, out: Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from corridor.observed import load_mapping, load_observed
    from corridor.validation import predictive_table

    observed = load_observed()
    mapping = load_mapping()
    table = predictive_table(observables, observed)
    names = [n for n in observed if (table["series"] == n).any()]
    if not names:
        raise CorridorInputError("the ensemble has no values for the observed series; rerun `corridor ensemble`")
    ncol = 3
    nrow = int(np.ceil(len(names) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(5 * ncol, 3.2 * nrow), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        t = table[table["series"] == name].sort_values("period")
        x = t["year"].to_numpy(float) + (np.array([int(p[5:7]) if len(p) == 7 else 6 for p in t["period"]]) - 0.5) / 12
        ax.fill_between(x, t["q05"], t["q95"], color="C0", alpha=0.2, label="90%")
        ax.fill_between(x, t["q25"], t["q75"], color="C0", alpha=0.4, label="50%")
        ax.plot(x, t["q50"], color="C0", lw=1)
        if len(t) == 1:  # one point: show it as an interval, not a line of zero width
            ax.errorbar(x, t["q50"], yerr=[t["q50"] - t["q05"], t["q95"] - t["q50"]], color="C0", capsize=4)
            ax.set_xlim(x[0] - 1, x[0] + 1)
        ax.plot(x, t["observed"], "o", color="k", ms=4, label="observed")
        fit = "" if mapping.series[name].fit else " (not fitted)"
        ax.set_title(name.replace("_", " ") + fit, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"Observed (dots) vs posterior-predictive bands; {title}", fontsize=11)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def register(app: typer.Typer) -> None:
    """Add the analysis commands to the main CLI."""
    app.command("calibrate")(calibrate_cmd)
    app.command("ensemble")(ensemble_cmd)
    app.command("validate")(validate_cmd)
    app.command("claims")(claims_cmd)
    app.command("report")(report_cmd)
