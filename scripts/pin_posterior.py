"""A copy of a posterior with some parameters pinned at another posterior's weighted medians.

    python scripts/pin_posterior.py until-2020 all-years runs/until-2020-agreement-pinned \\
        --match returns_agreement
    corridor validate albania-uk --from 2021 --runs 100 --posterior runs/until-2020-agreement-pinned

A diagnostic, never a score: it asks how much of an out-of-sample band's width comes from
parameters the fit window cannot inform (here the 2022 returns agreement's), by giving them
what a later fit learnt. The copy's manifest is rewritten so that corridor accepts it; its
meta.json says which parameters were pinned and from where.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from corridor.calibration import load_posterior, weighted_quantile
from corridor.errors import CorridorInputError
from corridor.folders import sha256_of


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("posterior", help="bundled name (until-2020) or folder")
    ap.add_argument("source", help="posterior whose weighted medians are taken")
    ap.add_argument("out", type=Path)
    ap.add_argument("--match", required=True, help="pin every parameter whose name contains this")
    args = ap.parse_args()
    try:
        pin(args.posterior, args.source, args.out, args.match)
    except CorridorInputError as exc:  # one line and exit 2, as corridor's own commands
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def pin(name: str, source_name: str, out: Path, match: str) -> None:
    if out.exists():
        raise CorridorInputError(f"{out}: exists; give a new folder to write the pinned copy to")
    table, meta = load_posterior(name)  # checked: a missing or damaged posterior is refused in one line
    source, _ = load_posterior(source_name)
    pinned = {c: float(weighted_quantile(source[c].to_numpy(), source["weight"].to_numpy(), 0.5)) for c in table.columns
              if match in c and c in source.columns}  # fmt: skip
    if not pinned:
        raise CorridorInputError(f"--match: no parameter of {name} contains '{match}'")
    shutil.copytree(Path(meta["path"]).parent, out)
    for column, value in pinned.items():
        table[column] = value
        print(f"{column} = {value:.4g}")
    path = out / "posterior.parquet"
    table.to_parquet(path)
    meta = json.loads((out / "meta.json").read_text())
    meta["files"]["posterior.parquet"] = {"bytes": path.stat().st_size, "sha256": sha256_of(path)}
    meta["pinned_for_diagnosis"] = {"from": source_name, "values": pinned}
    (out / "meta.json").write_text(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
