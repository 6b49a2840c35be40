"""The run registry: one folder per run under the runs directory, with its record.

Every run the workbench starts gets a folder ``RUNS/<id>/`` holding ``run.json``
(kind, status, scenario name and hash, version, seed, agents, runs, timings,
the one-line error of a failed run), the scenario YAML it ran and the library's
own outputs (``series.parquet`` and ``manifest.json`` of a run, the ensemble's
tables, the comparison's effects). Run ids are generated here and checked
against one pattern, and file names against another, before any path is built:
no request can name a file outside the runs directory.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from pathlib import Path

from corridor.errors import CorridorInputError
from corridor.results import write_json_atomic

RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
OUTPUT = "output"  # the results, a corridor output folder inside the run's folder (see library.OUTPUT)
RECORD = "run.json"
ACTIVE = ("queued", "running")


class RunNotFound(LookupError):
    """A well-formed run id or file name that does not exist in the registry."""


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


class Registry:
    """Runs kept under one folder; the only place that turns ids into paths."""

    def __init__(self, root: str | Path):
        root = Path(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CorridorInputError(f"--runs-dir {root}: cannot create folder ({exc.strerror}); choose a writable path") from None
        if not root.is_dir():
            raise CorridorInputError(f"--runs-dir {root}: not a folder; choose a folder path")
        self.root = root.resolve()
        self.uploads = self.root / "uploads"
        self.uploads.mkdir(exist_ok=True)
        self._lock = threading.Lock()

    # ------------------------------------------------------------ paths

    def _inside(self, path: Path) -> Path:
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root) or path.is_symlink():
            raise CorridorInputError(f"'{path.name}': refused, it is not inside the runs directory")
        return resolved

    def folder(self, run_id: str) -> Path:
        if not RUN_ID.match(run_id or ""):
            raise CorridorInputError(f"run id '{run_id}' is malformed; run ids look like 20250101-120000-a1b2c3")
        folder = self._inside(self.root / run_id)
        if not (folder / RECORD).is_file():
            raise RunNotFound(f"no run '{run_id}' in the runs directory")
        return folder

    def file(self, run_id: str, name: str) -> Path:
        if not FILE_NAME.match(name or ""):
            raise CorridorInputError(f"file name '{name}' is malformed; give a name listed for the run")
        for where in self._places(run_id):  # the record's folder, then the results inside it
            path = self._inside(where / name)
            if path.is_file():
                return path
        raise RunNotFound(f"run '{run_id}' has no file '{name}'")

    def files(self, run_id: str) -> list[dict]:
        return [
            {"name": p.name, "bytes": p.stat().st_size}
            for where in self._places(run_id)
            for p in sorted(where.iterdir())
            if p.is_file() and not p.is_symlink() and FILE_NAME.match(p.name)
        ]

    def _places(self, run_id: str) -> list[Path]:
        folder = self.folder(run_id)
        results = folder / OUTPUT
        return [folder, *([self._inside(results)] if results.is_dir() else [])]

    # ------------------------------------------------------------ records

    def create(self, record: dict) -> tuple[str, Path]:
        """A new run folder with its record; returns (id, folder)."""
        with self._lock:
            while True:
                run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
                folder = self.root / run_id
                if not folder.exists():
                    break
            folder.mkdir()
            write_json_atomic({"id": run_id, "created": now_iso(), **record}, folder / RECORD)
        return run_id, folder

    def record(self, run_id: str) -> dict:
        return json.loads((self.folder(run_id) / RECORD).read_text())

    def update(self, run_id: str, **fields) -> dict:
        with self._lock:
            path = self.folder(run_id) / RECORD
            record = {**json.loads(path.read_text()), **fields}
            write_json_atomic(record, path)
        return record

    def list(self) -> list[dict]:
        """Every run's record, newest first (folders without a readable record are skipped)."""
        out = []
        for folder in self.root.iterdir():
            if RUN_ID.match(folder.name) and (folder / RECORD).is_file():
                try:
                    out.append(json.loads((folder / RECORD).read_text()))
                except (OSError, ValueError):
                    continue
        return sorted(out, key=lambda r: r["id"], reverse=True)

    def mark_interrupted(self) -> int:
        """Runs left queued or running by a server that stopped: they failed, say so."""
        n = 0
        for record in self.list():
            if record.get("status") in ACTIVE:
                self.update(record["id"], status="failed", error="the server stopped before this run finished; start it again")
                n += 1
        return n
