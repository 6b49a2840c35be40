"""Results of a run: the monthly series, the manifest, and optional life events.

Counts and money are recorded per agent and scaled to real people here, once.
Files are written atomically (to a temporary name, then renamed), so an
interrupted run never leaves a file that looks complete.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from corridor import __version__
from corridor.states import COUNTED_STATES, STOCK_OUTPUTS, State

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
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_parquet_atomic(self.series, out / "series.parquet")
        if self.life_events is not None:
            write_parquet_atomic(self.life_events, out / "life_events.parquet")
        write_json_atomic(self.manifest, out / "manifest.json")
        return out


def _life_events(sim: Simulation, months: list[str]) -> pd.DataFrame:
    block = np.concatenate(sim.life_events) if sim.life_events else np.empty((0, 5), np.int32)
    life = pd.DataFrame(block, columns=LIFE_EVENT_COLUMNS)
    life.insert(1, "month", np.array(months)[life["month_index"].to_numpy()] if len(life) else [])
    life["from_state"] = [State(s).name.lower() for s in life["from_state"]]
    life["to_state"] = [State(s).name.lower() for s in life["to_state"]]
    return life


def output_kinds(manifest: dict) -> dict[str, str]:
    """How each column of a run aggregates over time ('flow', 'stock' or 'level'), from its manifest."""
    return {name: o["kind"] for name, o in manifest.get("outputs", {}).items()}


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    _atomic(path, lambda tmp: pq.write_table(table, tmp))


def write_json_atomic(data: dict, path: Path) -> None:
    def write(tmp):
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")

    _atomic(path, write)
