"""The golden baseline: the series of a short, fixed run, committed under tests/data/golden.

tests/test_golden.py compares every value of a fresh run with it, exactly. A change of
behaviour (or of the random numbers) must update it deliberately, in its own commit that
says why:

    python scripts/golden.py            # compare, print the first difference
    python scripts/golden.py --update   # rewrite the baseline
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "data" / "golden" / "albania-uk-3000-seed11.parquet"
SCENARIO, AGENTS, SEED = "albania-uk", 3_000, 11


def golden_run() -> pd.DataFrame:
    from corridor.engine import Simulation
    from corridor.scenario import load_scenario

    return Simulation(load_scenario(SCENARIO), agents=AGENTS, seed=SEED).run().series


def differences(new: pd.DataFrame, old: pd.DataFrame) -> list[str]:
    """Every column that is missing, new, or differs in any value (first month shown)."""
    out = [f"column {c} is gone" for c in old.columns if c not in new.columns]
    out += [f"column {c} is new" for c in new.columns if c not in old.columns]
    for c in old.columns.intersection(new.columns):
        a, b = old[c].to_numpy(), new[c].to_numpy()
        same = np.array_equal(a, b) if a.dtype.kind in "fiub" else bool((a == b).all())
        if not same:
            k = int(np.flatnonzero(a != b)[0])
            out.append(f"{c} differs from {old['month'].iloc[k]}: {a[k]!r} -> {b[k]!r}")
    return out


def main(argv: list[str]) -> int:
    new = golden_run()
    if "--update" in argv:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        new.to_parquet(GOLDEN, index=False)
        print(f"wrote {GOLDEN}")
        return 0
    diffs = differences(new, pd.read_parquet(GOLDEN))
    print("\n".join(diffs) if diffs else "identical to the golden baseline")
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
