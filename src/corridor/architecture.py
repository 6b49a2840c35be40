"""docs/architecture.md, generated from the mechanisms' declarations so that it cannot drift.

    python -m corridor.architecture > docs/architecture.md
"""

from __future__ import annotations

import sys


def architecture() -> str:
    from corridor.engine import declared_outputs, wiring
    from corridor.wiring import architecture_markdown

    return architecture_markdown(wiring(), declared_outputs())


if __name__ == "__main__":
    sys.stdout.write(architecture())
