"""Analysis commands: calibrate, ensemble, validate, claims, report.

``register(app)`` adds them to the main typer app. Bad input raises
``CorridorInputError`` with a one-line message (the main CLI prints it, exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from corridor.cli_policy import JsonOpt
from corridor.errors import CorridorInputError
from corridor.exports import stdout_console

console = stdout_console()  # a pipe never cuts a name
err_console = Console(stderr=True)

ScenarioArg = Annotated[str, typer.Argument(help="Bundled scenario name or a YAML file.")]


SchedulerOpt = Annotated[
    str | None, typer.Option("--scheduler", help="local (default), threads, sync, or a running scheduler's address (tcp://HOST:8786).")
]
ClusterOpt = Annotated[
    str | None, typer.Option("--cluster", help="slurm: start the workers as SLURM jobs (dask-jobqueue); --workers jobs.")
]
WorkerWaitOpt = Annotated[
    float | None,
    typer.Option("--worker-wait", min=1, max=86_400, help="Seconds to wait for a worker when the cluster has none "
                 "[default: 120; 3600 with --cluster slurm]."),
]


def calibrate_cmd(
    scenario: ScenarioArg,
    until: Annotated[int, typer.Option("--until", help="Last observed year used in the fit.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (holds the pyabc database; rerun to resume).")],
    agents: Annotated[int | None, typer.Option("--agents", min=100, max=20_000_000, help="Agents per simulation.")] = None,
    population: Annotated[int | None, typer.Option("--population", min=5, max=100_000, help="ABC-SMC population size.")] = None,
    generations: Annotated[int | None, typer.Option("--generations", min=1, max=1000, help="Total ABC-SMC generations.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=1024, help="Worker processes (or SLURM jobs).")] = 2,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed of the sampler.")] = 0,
    scheduler: SchedulerOpt = None,
    cluster: ClusterOpt = None,
) -> None:
    """Calibrate a scenario to the observed series with ABC-SMC (pyabc); resumable, same result on any cluster."""
    from corridor.calibration import build_problem, calibrate, print_summary
    from corridor.cluster import check_scheduler
    from corridor.folders import claim

    check_scheduler(scheduler, cluster)
    problem = build_problem(scenario, until, agents)
    with claim(out):  # refused here, before any simulation, if it cannot be written or is in use
        result = calibrate(scenario, until, out, agents, population, generations, workers=workers, seed=seed,
                           problem=problem, scheduler=scheduler, cluster=cluster)  # fmt: skip
    print_summary(result["summary"], console)
    m = result["meta"]
    console.print(
        f"{m['generations']} generations, {m['simulations']} simulations, {m['wall_seconds_this_session']} s; wrote {out}"
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
    from_year: Annotated[int, typer.Option("--from", help="First year of the out-of-sample period.")],
    posterior: Annotated[str | None, typer.Option("--posterior", help="Calibration folder or shipped name.")] = None,
    json_file: JsonOpt = None,
    ensemble: Annotated[Path | None, typer.Option("--ensemble", help="Use an existing ensemble folder.")] = None,
    runs: Annotated[int, typer.Option("--runs", min=2, max=1_000_000, help="Runs of the ensemble.")] = 40,
    agents: Annotated[int, typer.Option("--agents", min=100, max=20_000_000, help="Agents per run.")] = 20_000,
    scheduler: SchedulerOpt = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table.")] = False,
) -> None:
    """Validate the posterior-predictive ensemble (default posterior: until-2020) from a year on."""
    from corridor.cluster import check_scheduler
    from corridor.ensemble import load_ensemble, run_ensemble
    from corridor.folders import check_output_file
    from corridor.validation import print_validation, validate, write_report

    if not 1990 <= from_year <= 2100:
        raise CorridorInputError(f"--from {from_year}: give a year such as 2021")
    if json_file is not None:
        check_output_file(json_file, "--json")
    _check_new_ensemble_options(scenario, posterior, "until-2020")
    check_scheduler(scheduler)
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
    _check_new_ensemble_options(scenario, posterior, "all-years")
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
    _check_new_ensemble_options(scenario, posterior, "all-years")
    ens = load_ensemble(ensemble) if ensemble else run_ensemble(scenario, runs, posterior, "all-years", agents)
    path = plot_report(ens.observables, out, title=f"posterior: {ens.meta.get('posterior', '?')}")
    console.print(f"wrote {path}")


def _check_new_ensemble_options(scenario: str, posterior: str | None, default: str) -> None:
    """The scenario and posterior options are checked even when --ensemble makes them unused:
    bad input is refused, not ignored."""
    from corridor.calibration import load_posterior
    from corridor.scenario import load_scenario

    load_scenario(scenario)
    load_posterior(posterior, default)


def plot_report(observables, out: Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from corridor.cli import save_figure
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
    save_figure(fig, out, dpi=90)
    plt.close(fig)
    return out


def register(app: typer.Typer) -> None:
    """Add the analysis commands to the main CLI."""
    app.command("calibrate")(calibrate_cmd)
    app.command("ensemble")(ensemble_cmd)
    app.command("validate")(validate_cmd)
    app.command("claims")(claims_cmd)
    app.command("report")(report_cmd)
