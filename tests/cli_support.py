"""Helpers of the robustness tests: the CLI in-process and as a process, a short scenario."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from corridor.calibration import truncate
from corridor.cli import run_cli
from corridor.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def refused_in_one_line(self) -> bool:
        """Exit code 2 and exactly one line on stderr, which names an error; no traceback."""
        return self.code == 2 and len(self.lines) == 1 and self.lines[0].startswith("error: ")

    def describe(self) -> str:
        return f"exit {self.code}; stderr:\n{self.stderr}\nstdout (end):\n{self.stdout[-600:]}"


def invoke(*args: str) -> Outcome:
    """The command line run in this process through its error boundary (``corridor.cli.run_cli``)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_cli([str(a) for a in args])
    return Outcome(code, out.getvalue(), err.getvalue())


def corridor_process(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """``corridor ARGS`` as a separate process (for exit codes, signals and kills)."""
    return subprocess.Popen(
        [sys.executable, "-m", "corridor", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **kwargs,
    )


def run_process(*args: str, env: dict | None = None, timeout: float = 300) -> Outcome:
    proc = corridor_process(*args, env=env)
    out, err = proc.communicate(timeout=timeout)
    return Outcome(proc.returncode, out, err)


def write_short_scenario(folder: Path, last_year: int = 2014, name: str = "short.yaml") -> Path:
    """The default scenario ending in December of ``last_year`` (later events dropped), as a file:
    runs of a few dozen months keep these tests fast."""
    scenario = truncate(load_scenario("albania-uk"), last_year)
    data = scenario.model_dump(mode="json")
    data["name"] = f"short-{last_year}"
    path = Path(folder) / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
