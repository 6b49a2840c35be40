"""Write the damaged output folders of tests/damaged (run once; the files are committed).

Each folder starts as a real output of corridor (a short run, a small ensemble, the
shipped posterior) and is then damaged the way a crash, a full disk or a hand edit
would: a truncated or empty file, a manifest that is not JSON or not an object,
files of two different runs side by side, weights that are all zero. The test
`tests/test_fuzz_inputs.py::test_damaged_fixtures_are_refused_in_one_line` lists
what each must be refused with.

    python tests/damaged/make_fixtures.py
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from corridor.calibration import posterior_dir, truncate
from corridor.engine import Simulation
from corridor.ensemble import run_ensemble
from corridor.scenario import load_scenario

HERE = Path(__file__).parent


def _fresh(name: str) -> Path:
    path = HERE / name
    shutil.rmtree(path, ignore_errors=True)
    return path


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _slim(manifest: Path) -> None:
    """Drop the resolved scenario (60 kB) from a fixture's manifest: the damage is elsewhere."""
    data = json.loads(manifest.read_text())
    data.pop("resolved_scenario", None)
    manifest.write_text(json.dumps(data, indent=1, sort_keys=True))


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False)


def runs(short) -> None:
    a = Simulation(short, agents=100, seed=5).run()
    b = Simulation(short, agents=200, seed=9).run()
    for name in ("run-truncated-series", "run-empty-series", "run-manifest-not-json", "run-manifest-a-list",
                 "run-no-manifest", "run-series-of-another-run", "run-manifest-without-files"):  # fmt: skip
        a.write(_fresh(name))
        _slim(HERE / name / "manifest.json")
    _truncate(HERE / "run-truncated-series" / "series.parquet")
    (HERE / "run-empty-series" / "series.parquet").write_bytes(b"")
    (HERE / "run-manifest-not-json" / "manifest.json").write_text('{"seed": 5, "files": {')
    (HERE / "run-manifest-a-list" / "manifest.json").write_text("[1, 2, 3]\n")
    (HERE / "run-no-manifest" / "manifest.json").unlink()
    other = _fresh("tmp-other")
    b.write(other)  # a new series beside the old manifest: the kill between two renames of the issue
    shutil.copy(other / "series.parquet", HERE / "run-series-of-another-run" / "series.parquet")
    shutil.rmtree(other)
    manifest = json.loads((HERE / "run-manifest-without-files" / "manifest.json").read_text())
    del manifest["files"]
    (HERE / "run-manifest-without-files" / "manifest.json").write_text(json.dumps(manifest))


def ensembles(short) -> None:
    ens = run_ensemble(short, runs=2, agents=100, seed=1, scheduler="sync", progress=False)
    for name in ("ensemble-truncated-quantiles", "ensemble-empty-observables", "ensemble-meta-a-list",
                 "ensemble-runs-missing", "ensemble-quantiles-of-another"):  # fmt: skip
        ens.write(_fresh(name))
    _truncate(HERE / "ensemble-truncated-quantiles" / "quantiles.parquet", 0.3)
    (HERE / "ensemble-empty-observables" / "observables.parquet").write_bytes(b"")
    (HERE / "ensemble-meta-a-list" / "meta.json").write_text('["quantiles.parquet"]\n')
    (HERE / "ensemble-runs-missing" / "runs.parquet").unlink()
    other = run_ensemble(short, runs=2, agents=100, seed=2, scheduler="sync", progress=False)
    _write_parquet(other.quantiles, HERE / "ensemble-quantiles-of-another" / "quantiles.parquet")


def posteriors() -> None:
    source = posterior_dir("all-years", "all-years")
    frame = pd.read_parquet(source / "posterior.parquet")
    cases = {
        "posterior-truncated": None,
        "posterior-weights-zero": frame.assign(weight=0.0),
        "posterior-weight-nan": frame.assign(weight=np.where(np.arange(len(frame)) == 0, np.nan, frame["weight"])),
        "posterior-no-weight": frame.drop(columns="weight"),
        "posterior-empty": frame.iloc[:0],
        "posterior-out-of-bounds": frame.assign(**{"family.base_logit_per_month": 99.0}),
        "posterior-unknown-parameter": frame.assign(**{"smuggling.no_such_parameter": 1.0}),
    }
    for name, damaged in cases.items():
        folder = _fresh(name)
        folder.mkdir()
        if damaged is None:
            shutil.copy(source / "posterior.parquet", folder / "posterior.parquet")
            _truncate(folder / "posterior.parquet", 0.6)
        else:
            _write_parquet(damaged, folder / "posterior.parquet")
    folder = _fresh("posterior-meta-a-list")
    folder.mkdir()
    shutil.copy(source / "posterior.parquet", folder / "posterior.parquet")
    (folder / "meta.json").write_text("[]\n")


def claims() -> None:
    (HERE / "claims-a-list.yaml").write_text("- id: x\n  text: y\n")
    (HERE / "claims-an-int.yaml").write_text("5\n")
    (HERE / "claims-item-not-a-mapping.yaml").write_text("claims:\n  - 5\n  - [a, b]\n")


def main() -> None:
    short = truncate(load_scenario("albania-uk"), 2013)
    runs(short)
    ensembles(short)
    posteriors()
    claims()
    print("\n".join(sorted(p.name for p in HERE.iterdir() if p.name != Path(__file__).name)))


if __name__ == "__main__":
    main()
