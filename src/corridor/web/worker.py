"""One workbench job in its own process: ``python -m corridor.web.worker RUN_FOLDER``.

Reads ``job.json`` in the folder, runs it through the library (``corridor.web.library``)
and writes the outputs into the same folder. It speaks to its supervisor
(``corridor.web.jobs``) in JSON lines on the stdout it was given: ``progress``
events, then ``done``, or ``error`` with the one line the page shows. Anything
else written to stdout or stderr (a library's progress bar, a traceback) goes to
``worker.log`` in the folder.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

from corridor.errors import CorridorInputError


def one_line(exc: BaseException) -> str:
    """The message the page shows for an unexpected failure: its type and first line, no traceback."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no message'}"[:300]


def main(argv: list[str]) -> int:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the library prints lands in worker.log, not in the protocol

    def say(**message) -> None:
        protocol.write(json.dumps(message) + "\n")

    def progress(done: int, total: int, stage: str) -> None:
        say(event="progress", done=done, total=total, stage=stage)

    try:
        from corridor.web.library import JOB_KINDS

        folder = Path(argv[0])
        spec = json.loads((folder / "job.json").read_text())
        JOB_KINDS[spec["kind"]](folder, spec, progress)
    except CorridorInputError as exc:
        say(event="error", message=str(exc))
        return 2
    except MemoryError:
        say(event="error", message="out of memory: run fewer agents or fewer runs")
        return 1
    except Exception as exc:
        traceback.print_exc()
        say(event="error", message=one_line(exc))
        return 1
    say(event="done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
