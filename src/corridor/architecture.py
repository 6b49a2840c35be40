"""docs/architecture.md, generated from the mechanisms' declarations so that it cannot drift.

    python -m corridor.architecture > docs/architecture.md
"""

from __future__ import annotations

import sys


def architecture() -> str:
    from corridor.engine import ENGINE_OUTPUTS, wiring
    from corridor.mechanisms import MECHANISMS
    from corridor.wiring import architecture_markdown

    outputs = {o.name: o for o in ENGINE_OUTPUTS}
    for m in MECHANISMS:
        outputs.update({o.name: o for o in m.outputs})
    return architecture_markdown(wiring(), outputs)


if __name__ == "__main__":
    sys.stdout.write(architecture())
