"""Results of a run: the monthly series, the manifest, and optional life events.

Counts and money are recorded per agent and scaled to real people here, once.
A run's folder is written as a whole (``corridor.folders``): into a temporary
folder, the manifest last with the size and SHA-256 of every file, then renamed
into place, so an interrupted run never leaves a folder that looks complete,
and readers (``load_run``) check the files against the manifest.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from corridor import __version__, folders
from corridor.states import COUNTED_STATES, REGIONS, RETURN_KINDS, STOCK_OUTPUTS, State

if TYPE_CHECKING:
    from corridor.engine import Simulation

LIFE_EVENT_COLUMNS = ["month_index", "person", "from_state", "to_state", "route"]


@dataclass
class Results:
    series: pd.DataFrame  # one row per month, scaled to real people
    agent_stocks: pd.DataFrame  # unscaled stocks per state, in agents
    manifest: dict
    life_events: pd.DataFrame | None = field(default=None)

    @classmethod
    def from_simulation(cls, sim: Simulation) -> Results:
        months = [sim.scenario.month_label(t) for t in range(sim.n_months)]
        stock_of = {column: s for s, (column, _) in STOCK_OUTPUTS.items()}
        columns: dict[str, np.ndarray] = {"month": np.array(months)}
        for name, o in sim.outputs.items():
            if name in stock_of:
                values = sim.stocks[:, stock_of[name]]
            elif o.total_of:
                values = sum(sim.series[part] for part in o.total_of)
            else:
                values = sim.series[name]
            columns[name] = values * sim.scale if o.scaled else values
        series = pd.DataFrame(columns)
        agent_stocks = pd.DataFrame({STOCK_OUTPUTS[s][0]: sim.stocks[:, s] for s in COUNTED_STATES})
        agent_stocks.insert(0, "month", months)
        life = _life_events(sim, months) if sim.record_events else None
        manifest = {
            "version": __version__,
            "scenario": sim.scenario.name,
            "scenario_sha256": sim.scenario.sha256(),
            "seed": sim.seed,
            "agents": sim.agents,
            "agent_scale_people_per_agent": sim.scale,
            "months": sim.n_months,
            "start": sim.scenario.start,
            "end": sim.scenario.end,
            "wall_seconds": round(sim.wall_seconds, 3),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "outputs": {name: o.describe() for name, o in sim.outputs.items()},
            "resolved_scenario": sim.scenario.model_dump(mode="json"),
        }
        return cls(series=series, agent_stocks=agent_stocks, manifest=manifest, life_events=life)

    def write(self, out_dir: str | Path) -> Path:
        """Write the run's folder, with its data dictionary: complete or absent (see ``corridor.folders``)."""
        from corridor.exports import write_run_dictionary

        with folders.staging(out_dir) as stage:
            write_parquet_atomic(self.series, stage.path / "series.parquet")
            if self.life_events is not None:
                write_parquet_atomic(self.life_events, stage.path / "life_events.parquet")
            write_run_dictionary(stage.path, self.manifest)
            return stage.commit(MANIFEST, self.manifest)


def _life_events(sim: Simulation, months: list[str]) -> pd.DataFrame:
    columns = {k: np.concatenate([b[k] for b in sim.life_events]) for k in sim.life_events[0]} if sim.life_events else {}
    life = pd.DataFrame(columns or {c: np.empty(0, np.int32) for c in LIFE_EVENT_COLUMNS})
    life.insert(1, "month", np.array(months)[life["month_index"].to_numpy()] if len(life) else [])
    names = np.array([s.name.lower() for s in State])
    life["from_state"] = names[life["from_state"].to_numpy(int)] if len(life) else []
    life["to_state"] = names[life["to_state"].to_numpy(int)] if len(life) else []
    if "region" in life:
        life["region"] = np.array(REGIONS)[life["region"].to_numpy(int)] if len(life) else []
        kinds = np.array([None, *RETURN_KINDS[1:]], dtype=object)
        life["removal_kind"] = kinds[life.pop("return_kind").to_numpy(int)] if len(life) else []
        life["sentence_months"] = life["sentence_months"].where(life["sentence_months"] >= 0)
    return life


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    folders.write_atomic(path, lambda tmp: pq.write_table(table, tmp))


def write_json_atomic(data: dict, path: Path) -> None:
    folders.write_json(data, path)


# ---------------------------------------------------------------- reading a run folder

MANIFEST = "manifest.json"


def _rerun_run(folder: Path):
    def hint(manifest: dict) -> str:
        scenario = manifest.get("scenario") if isinstance(manifest.get("scenario"), str) else "SCENARIO"
        extra = "".join(
            f" --{key} {manifest[key]}" for key in ("seed", "agents") if isinstance(manifest.get(key), int)
        )
        return f"`corridor run {scenario}{extra} --out {folder}`"

    return hint


def verify_run(folder: str | Path, flag: str = "run folder", life_events: bool = False) -> dict:
    """The manifest of a complete run folder, its files checked against it; else a one-line refusal."""
    folder = Path(folder)
    rerun = _rerun_run(folder)
    manifest = folders.read_manifest(folder, MANIFEST, "run", rerun, flag)
    names = ["series.parquet", *(["life_events.parquet"] if life_events else [])]
    folders.verify(folder, manifest, names, "run", rerun(manifest))
    return manifest


def load_run(folder: str | Path, flag: str = "run folder") -> tuple[pd.DataFrame, dict]:
    """The monthly series and the manifest of a complete run folder."""
    folder = Path(folder)
    manifest = verify_run(folder, flag)
    try:
        series = pq.read_table(folder / "series.parquet").to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = f"series.parquet cannot be read: {' '.join(str(exc).split())[:120]}"
        raise folders.incomplete(folder, "run", reason, _rerun_run(folder)(manifest)) from None
    if "month" not in series.columns or series.empty:
        raise folders.incomplete(folder, "run", "series.parquet has no months", _rerun_run(folder)(manifest))
    return series, manifest


def output_aggregations(manifest: dict) -> dict[str, str]:
    """Column -> 'sum' | 'last' | 'mean', from the manifest's ``outputs`` (or the older ``output_kinds``)."""
    by_kind = {"flow": "sum", "stock": "last", "level": "mean"}
    outputs = manifest.get("outputs")
    if isinstance(outputs, dict):
        found = {}
        for column, meta in outputs.items():
            if isinstance(meta, dict):
                agg = meta.get("aggregation") or by_kind.get(meta.get("kind"))
                if agg in ("sum", "last", "mean"):
                    found[column] = agg
        return found
    kinds = manifest.get("output_kinds")
    if isinstance(kinds, dict):
        return {c: by_kind[k] for c, k in kinds.items() if isinstance(k, str) and k in by_kind}
    return {}
