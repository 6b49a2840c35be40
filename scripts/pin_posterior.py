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
from pathlib import Path

import pandas as pd

from corridor.calibration import weighted_quantile
from corridor.folders import sha256_of

BUNDLED = Path(__file__).resolve().parents[1] / "src" / "corridor" / "data" / "posteriors"


def folder(name: str) -> Path:
    path = Path(name)
    return path if path.is_dir() else BUNDLED / name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("posterior", help="bundled name (until-2020) or folder")
    ap.add_argument("source", help="posterior whose weighted medians are taken")
    ap.add_argument("out", type=Path)
    ap.add_argument("--match", required=True, help="pin every parameter whose name contains this")
    args = ap.parse_args()
    shutil.copytree(folder(args.posterior), args.out)
    table = pd.read_parquet(args.out / "posterior.parquet")
    source = pd.read_parquet(folder(args.source) / "posterior.parquet")
    pinned = {c: float(weighted_quantile(source[c].to_numpy(), source["weight"].to_numpy(), 0.5)) for c in table.columns
              if args.match in c and c in source.columns}  # fmt: skip
    if not pinned:
        raise SystemExit(f"--match: no parameter of {args.posterior} contains '{args.match}'")
    for column, value in pinned.items():
        table[column] = value
        print(f"{column} = {value:.4g}")
    table.to_parquet(args.out / "posterior.parquet")
    meta = json.loads((args.out / "meta.json").read_text())
    path = args.out / "posterior.parquet"
    meta["files"]["posterior.parquet"] = {"bytes": path.stat().st_size, "sha256": sha256_of(path)}
    meta["pinned_for_diagnosis"] = {"from": args.source, "values": pinned}
    (args.out / "meta.json").write_text(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
