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
    sim.run(progress=lambda done, total: progress(done, total, "months simulated")).write(folder)


def _ensemble(folder: Path, spec: dict, progress: Progress) -> None:
    from corridor.ensemble import run_ensemble
    from corridor.scenario import load_scenario

    ens = run_ensemble(
        load_scenario(folder / "scenario.yaml"), spec["runs"], spec["posterior"], "all-years", spec["agents"],
        spec["seed"], spec["scheduler"], spec["workers"], progress=lambda done, total: progress(done, total, "runs done"),
    )  # fmt: skip
    ens.write(folder)


def _compare(folder: Path, spec: dict, progress: Progress) -> None:
    from corridor.effects import paired_effects
    from corridor.scenario import load_scenario

    effects = paired_effects(
        load_scenario(folder / "baseline.yaml"), [load_scenario(folder / "scenario.yaml")], spec["runs"],
        posterior=spec["posterior"], agents=spec["agents"], seed=spec["seed"], since=spec["since"],
        until=spec["until"], scheduler=spec["scheduler"], workers=spec["workers"],
        progress=lambda done, total: progress(done, total, "paired draws done"),
    )  # fmt: skip
    effects.write(folder)


JOB_KINDS: dict[str, Callable[[Path, dict, Progress], None]] = {"run": _run, "ensemble": _ensemble, "compare": _compare}


def prepare_job(registry: Registry, request, scheduler: str = JOB_SCHEDULER) -> tuple[str, Path]:
    """Resolve the scenario(s) of a job request, then write its folder: YAML, job.json, record."""
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
    run_id, folder = registry.create(record)
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "job.json").write_text(json.dumps(spec, indent=2))
    return run_id, folder


def job_from_record(record: dict) -> dict:
    """A job's status as the registry kept it (after a restart, or once forgotten in memory)."""
    done = record.get("status") == "done"
    return {
        "id": record["id"],
        "kind": record.get("kind"),
        "status": record.get("status"),
        "done": int(done),
        "total": 1,
        "fraction": float(done),
        "stage": record.get("status"),
        "error": record.get("error"),
        "elapsed_seconds": record.get("wall_seconds"),
    }
