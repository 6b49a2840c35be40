"""Analysis commands: calibrate, ensemble, validate, forecast, claims, report.

``register(app)`` adds them to the main typer app. Bad input raises
``CorridorInputError`` with a one-line message (the main CLI prints it, exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from corridor.cli_policy import ClusterOpt, JsonOpt, WorkerWaitOpt
from corridor.errors import CorridorInputError
from corridor.exports import stdout_console

console = stdout_console()  # a pipe never cuts a name
err_console = Console(stderr=True)

ScenarioArg = Annotated[str, typer.Argument(help="Bundled scenario name or a YAML file.")]


SchedulerOpt = Annotated[
    str | None, typer.Option("--scheduler", help="local (default), threads, sync, or a running scheduler's address (tcp://HOST:8786).")
]


def calibrate_cmd(
    scenario: ScenarioArg,
    until: Annotated[int, typer.Option("--until", help="Last observed year used in the fit.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (holds the sampler's state; rerun to resume).")],
    agents: Annotated[int | None, typer.Option("--agents", min=100, max=20_000_000, help="Agents per simulation.")] = None,
    population: Annotated[
        int | None, typer.Option("--population", min=5, max=100_000, help="Tempered SMC: chains (default 100); ABC-SMC: particles.")
    ] = None,
    generations: Annotated[
        int | None, typer.Option("--generations", min=1, max=1000, help="Tempered SMC: most iterations; ABC-SMC: generations.")
    ] = None,
    method: Annotated[
        str | None, typer.Option("--method", help="Sampler: tempered-smc (default) or abc-smc (pyabc).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=1024, help="Worker processes (or SLURM jobs).")] = 2,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed of the sampler.")] = 0,
    scheduler: SchedulerOpt = None,
    cluster: ClusterOpt = None,
) -> None:
    """Calibrate a scenario to the observed series (tempered SMC, or pyabc's ABC-SMC); resumable, same result on any cluster."""
    from corridor.calibration import build_problem, calibrate, print_summary
    from corridor.cluster import check_scheduler
    from corridor.folders import claim

    check_scheduler(scheduler, cluster)
    problem = build_problem(scenario, until, agents)
    with claim(out):  # refused here, before any simulation, if it cannot be written or is in use
        result = calibrate(scenario, until, out, agents, population, generations, workers=workers, seed=seed,
                           problem=problem, scheduler=scheduler, cluster=cluster, method=method)  # fmt: skip
    print_summary(result["summary"], console)
    m = result["meta"]
    console.print(
        f"{m['generations']} {'iterations' if m['sampler'] == 'tempered-smc' else 'generations'}, "
        f"{m['simulations']} simulations, {m['wall_seconds_this_session']} s; wrote {out}"
    )


def ensemble_cmd(
    scenario: ScenarioArg,
    runs: Annotated[int, typer.Option("--runs", min=1, max=1_000_000, help="Number of runs.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (rerun to continue an interrupted ensemble).")],
    posterior: Annotated[str | None, typer.Option("--posterior", help="Calibration folder or shipped name.")] = None,
    scheduler: SchedulerOpt = None,
    agents: Annotated[int, typer.Option("--agents", min=100, max=20_000_000, help="Agents per run.")] = 20_000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=1024, help="Local worker processes (or SLURM jobs).")] = 2,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    cluster: ClusterOpt = None,
    worker_wait: WorkerWaitOpt = None,
) -> None:
    """Posterior-predictive ensemble (default posterior: all-years) -> quantiles.parquet; resumable."""
    from corridor.ensemble import ensemble_to_folder

    ens = ensemble_to_folder(out, scenario, runs, posterior=posterior, posterior_default="all-years", agents=agents,
                             seed=seed, scheduler=scheduler, workers=workers, cluster=cluster, worker_wait_s=worker_wait)  # fmt: skip
    resumed = f" ({ens.meta['runs_resumed']} of them from an interrupted ensemble)" if ens.meta["runs_resumed"] else ""
    console.print(f"{runs} runs{resumed} in {ens.meta['wall_seconds']} s; wrote {out / 'quantiles.parquet'}")


def validate_cmd(
    scenario: ScenarioArg,
    from_year: Annotated[
        int | None, typer.Option("--from", help="First year of the out-of-sample period (default: after the fit).")
    ] = None,
    in_sample: Annotated[
        bool, typer.Option("--in-sample", help="Check the fit: the fitted points inside the bands (posterior all-years).")
    ] = False,
    posterior: Annotated[str | None, typer.Option("--posterior", help="Calibration folder or shipped name.")] = None,
    json_file: JsonOpt = None,
    ensemble: Annotated[Path | None, typer.Option("--ensemble", help="Use an existing ensemble folder.")] = None,
    runs: Annotated[int, typer.Option("--runs", min=2, max=1_000_000, help="Runs of the ensemble.")] = 40,
    agents: Annotated[int, typer.Option("--agents", min=100, max=20_000_000, help="Agents per run.")] = 20_000,
    scheduler: SchedulerOpt = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table.")] = False,
) -> None:
    """Validate the posterior-predictive ensemble: out of sample (default posterior: until-2020) from a
    year on, or with --in-sample the fit itself (default posterior: all-years). Coverage of the 50% and
    90% intervals, CRPS and MASE per series; the small-boat surge, peak and trough."""
    from corridor.cluster import check_scheduler
    from corridor.ensemble import load_ensemble, run_ensemble
    from corridor.folders import check_output_file
    from corridor.validation import print_validation, validate, write_report

    if from_year is not None and not 1990 <= from_year <= 2100:
        raise CorridorInputError(f"--from {from_year}: give a year such as 2021")
    if json_file is not None:
        check_output_file(json_file, "--json")
    _check_new_ensemble_options(scenario, posterior, "all-years" if in_sample else "until-2020", ensemble)
    check_scheduler(scheduler)
    if ensemble is not None:
        ens = load_ensemble(ensemble)
    else:
        default = "all-years" if in_sample else "until-2020"
        ens = run_ensemble(scenario, runs, posterior, default, agents, seed, scheduler)
    fit_until = ens.meta.get("posterior_until")
    if from_year is None:
        if fit_until is None:
            raise CorridorInputError("--from: the ensemble does not say its posterior's fit window; give --from YEAR")
        from_year = int(fit_until) + 1
    result = validate(ens.observables, from_year, fit_until=fit_until)
    result["ensemble"] = ens.meta
    if in_sample and "in_sample" not in result:
        raise CorridorInputError("--in-sample: the ensemble does not say its posterior's fit window; rerun it")
    if not in_sample and result["overall"]["n"] == 0:
        raise CorridorInputError(f"--from {from_year}: no observations in or after that year; give an earlier year")
    if markdown:
        from corridor.cli_policy import validation_frame
        from corridor.exports import print_table

        block, title = (result["in_sample"], f"in sample, up to {fit_until}") if in_sample else (result, f"validation from {from_year}")
        print_table(validation_frame(block), f"{title} (posterior-predictive)", markdown=True)
    elif str(json_file) != "-":
        print_validation(result, console, in_sample_only=in_sample)
    if json_file is not None and str(json_file) == "-":
        from corridor.exports import write_json

        write_json(result, "-")
    elif json_file is not None:
        write_report(result, json_file)
        console.print(f"wrote {json_file}")


def forecast_cmd(
    scenario: ScenarioArg,
    posterior: Annotated[str | None, typer.Option("--posterior", help="Calibration folder or shipped name.")] = None,
    from_year: Annotated[
        int | None, typer.Option("--from", help="First forecast year (default: the year after the fit window).")
    ] = None,
    until: Annotated[int | None, typer.Option("--until", help="Last forecast year (default: from + 2).")] = None,
    runs: Annotated[int, typer.Option("--runs", min=2, max=1_000_000, help="Runs of the ensemble.")] = 100,
    agents: Annotated[int, typer.Option("--agents", min=100, max=20_000_000, help="Agents per run.")] = 20_000,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for forecast.parquet and meta.json.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the table as Markdown.")] = False,
    json_file: JsonOpt = None,
    scheduler: SchedulerOpt = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=1024, help="Local worker processes.")] = 2,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
) -> None:
    """Posterior-predictive forecast of every observable series after the fit window (default posterior:
    all-years): median, 50% and 90% intervals in the units of each official series."""
    from corridor.cluster import check_scheduler
    from corridor.exports import write_json
    from corridor.folders import check_output_folder
    from corridor.forecast import forecast

    if out is not None:
        check_output_folder(out, "--out")
    check_scheduler(scheduler)
    fc = forecast(scenario, posterior, from_year, until, runs, agents, seed, scheduler, workers)
    if markdown:
        print(fc.to_markdown())
    elif str(json_file) != "-":
        print_forecast(fc)
    if out is not None:
        fc.write(out)
        console.print(f"wrote {out / 'forecast.parquet'}")
    if json_file is not None:
        write_json(fc.to_json(), json_file)
        if str(json_file) != "-":
            console.print(f"wrote {json_file}")


def print_forecast(fc) -> None:
    from rich.table import Table

    from corridor.forecast import format_value

    m = fc.meta
    table = Table(
        title=f"forecast {m['from_year']}-{m['until']}, posterior {m['posterior']} ({m['runs']} runs; {m['uncertainty']})"
    )
    for col in ("series", "period", "unit", "median", "50%", "90%"):
        table.add_column(col, justify="left" if col in ("series", "period", "unit") else "right", no_wrap=True)
    for r in fc.table.itertuples():
        f = lambda v, u=r.unit: format_value(v, u)  # noqa: E731
        table.add_row(r.series, r.period, r.unit, f(r.q50), f"{f(r.q25)}-{f(r.q75)}", f"{f(r.q05)}-{f(r.q95)}")
    console.print(table)


def claims_cmd(
    ensemble: Annotated[
        Path | None, typer.Option("--ensemble", help="Ensemble folder (from `corridor ensemble`).")
    ] = None,
    scenario: Annotated[str, typer.Option("--scenario", help="Scenario, when no ensemble is given.")] = "albania-uk",
    posterior: Annotated[str | None, typer.Option("--posterior", help="Calibration folder or shipped name.")] = None,
    runs: Annotated[int, typer.Option("--runs", min=2, max=1_000_000, help="Runs, when no ensemble is given.")] = 40,
    agents: Annotated[int, typer.Option("--agents", min=100, max=20_000_000, help="Agents per run.")] = 20_000,
    claims_file: Annotated[Path | None, typer.Option("--claims", help="Claims YAML (default: bundled).")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the table as CSV here.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table.")] = False,
    json_file: JsonOpt = None,
) -> None:
    """Evaluate the sources' quantitative claims against a posterior-predictive ensemble."""
    from corridor.claims import evaluate_claims, load_claims, print_claims
    from corridor.ensemble import load_ensemble, run_ensemble
    from corridor.folders import check_output_file, write_atomic

    if csv is not None:
        check_output_file(csv, "--csv")
    claims = load_claims(claims_file)
    _check_new_ensemble_options(scenario, posterior, "all-years", ensemble)
    ens = load_ensemble(ensemble) if ensemble else run_ensemble(scenario, runs, posterior, "all-years", agents)
    table = evaluate_claims(ens.runs, claims)
    from corridor.cli_policy import emit

    view = table[[c for c in ("id", "source", "condition", "probability", "median", "q05", "q95") if c in table.columns]]
    emit(view, "claims against the posterior-predictive ensemble", markdown, json_file, rich=lambda: print_claims(table, console))
    if csv is not None:
        write_atomic(csv, lambda tmp: table.to_csv(tmp, index=False))


def report_cmd(
    ensemble: Annotated[
        Path | None, typer.Option("--ensemble", help="Ensemble folder (from `corridor ensemble`).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Image file (PNG, PDF, SVG, ...).")] = Path("docs/calibration.png"),
    scenario: Annotated[str, typer.Option("--scenario", help="Scenario, when no ensemble is given.")] = "albania-uk",
    posterior: Annotated[str | None, typer.Option("--posterior", help="Calibration folder or shipped name.")] = None,
    runs: Annotated[int, typer.Option("--runs", min=2, max=1_000_000, help="Runs, when no ensemble is given.")] = 40,
    agents: Annotated[int, typer.Option("--agents", min=100, max=20_000_000, help="Agents per run.")] = 20_000,
) -> None:
    """Plot observed points over posterior-predictive bands for each series (PNG)."""
    from corridor.cli import image_formats
    from corridor.ensemble import load_ensemble, run_ensemble
    from corridor.folders import check_output_file

    check_output_file(out, "--out", image_formats())
    _check_new_ensemble_options(scenario, posterior, "all-years", ensemble)
    ens = load_ensemble(ensemble) if ensemble else run_ensemble(scenario, runs, posterior, "all-years", agents)
    path = plot_report(ens.observables, out, title=f"posterior: {ens.meta.get('posterior', '?')}")
    console.print(f"wrote {path}")


def _check_new_ensemble_options(scenario: str, posterior: str | None, default: str, ensemble: Path | None) -> None:
    """The scenario and posterior options are checked even when --ensemble makes them unused:
    bad input is refused, not ignored. Every particle is checked against the scenario only
    then; without --ensemble, the ensemble checks the draws it takes."""
    from corridor.calibration import load_posterior
    from corridor.ensemble import check_posterior_for
    from corridor.scenario import load_scenario

    sc = load_scenario(scenario)
    post, meta = load_posterior(posterior, default)
    if ensemble is not None:
        check_posterior_for(sc, post, meta.get("path", str(posterior or default)))


def plot_report(observables, out: Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from corridor.cli import save_figure
    from corridor.observed import load_mapping, load_observed, parse_period
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
        x = np.array([(q := parse_period(p)).year + (q.first_month - 1 + q.n_months / 2) / 12 for p in t["period"]])
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
    save_figure(fig, out, dpi=90)
    plt.close(fig)
    return out


def register(app: typer.Typer) -> None:
    """Add the analysis commands to the main CLI."""
    app.command("calibrate")(calibrate_cmd)
    app.command("ensemble")(ensemble_cmd)
    app.command("validate")(validate_cmd)
    app.command("forecast")(forecast_cmd)
    app.command("claims")(claims_cmd)
    app.command("report")(report_cmd)
