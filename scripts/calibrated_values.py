"""Write the all-years posterior's point estimate into the default scenario's values.

`corridor run albania-uk` uses each parameter's `value`; ensembles, comparisons and
forecasts draw the calibrated parameters from the posterior instead. So that the default
run is the calibrated model and not the hand-set starting point, the `value` of every
calibrated model parameter (kind `model` in summary.csv) is set to that of one particle
(``corridor.calibration.point_estimate``): the one of highest prior x likelihood of a
tempered SMC posterior, or the heaviest of an ABC-SMC one. A joint point the calibration
simulated: the marginal medians may mix several particles into a point none of them is.
Priors and sources stay as they are (the prior is what the
calibration started from).

    python scripts/calibrated_values.py            # print what would change
    python scripts/calibrated_values.py --write    # rewrite src/corridor/scenarios/albania-uk.yaml

Only the `value:` of a parameter's line changes, so comments and layout are kept. Integer
parameters are rounded, the others written to four significant figures. Rerun after every
calibration that is shipped.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "src" / "corridor" / "scenarios" / "albania-uk.yaml"
POSTERIOR = ROOT / "src" / "corridor" / "data" / "posteriors" / "all-years"
GROUP = re.compile(r"^  ([a-z_]+):\s*$")
VALUE = re.compile(r"^(    ([a-z_0-9]+): \{value: )([^,}]+)(.*)$")


def significant(x: float) -> str:
    return f"{x:.4g}"


def rewrite(text: str, chosen: dict[str, float], integers: set[str]) -> tuple[str, list[str]]:
    group, lines, changes = None, [], []
    for line in text.splitlines(keepends=True):
        if m := GROUP.match(line):
            group = m.group(1)
        m = VALUE.match(line)
        key = f"{group}.{m.group(2)}" if m else None
        if m and key in chosen:
            old = m.group(3)
            new = str(round(chosen[key])) if key in integers else significant(chosen[key])
            changes.append(f"{key}: {old} -> {new}")
            line = f"{m.group(1)}{new}{m.group(4)}" + ("\n" if line.endswith("\n") else "")
        lines.append(line)
    return "".join(lines), changes


def main() -> None:
    summary = pd.read_csv(POSTERIOR / "summary.csv")
    particles = pd.read_parquet(POSTERIOR / "posterior.parquet")
    from corridor.calibration import point_estimate

    best = point_estimate(particles)
    chosen = {k: float(best[k]) for k in summary.loc[summary["kind"] == "model", "parameter"]}
    from corridor.scenario import load_scenario

    values = load_scenario("albania-uk").flat_values()
    integers = {k for k, v in values.items() if isinstance(v, int)}  # typed by the parameter schemas
    text, changes = rewrite(SCENARIO.read_text(), chosen, integers)
    missing = set(chosen) - {c.split(":")[0] for c in changes}
    if missing:
        sys.exit(f"not found in {SCENARIO.name}: {', '.join(sorted(missing))}")
    print("\n".join(changes))
    if "--write" in sys.argv[1:]:
        SCENARIO.write_text(text)
        print(f"wrote {SCENARIO}")


if __name__ == "__main__":
    main()
