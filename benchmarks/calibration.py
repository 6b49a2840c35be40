"""Wall time of a default-size calibration (data/calibration.yaml defaults).

Run: .venv/bin/python benchmarks/calibration.py [--until 2023] [--workers 2]
"""

import argparse
import tempfile
import time

from corridor.calibration import calibrate, load_config

parser = argparse.ArgumentParser()
parser.add_argument("--until", type=int, default=2023)
parser.add_argument("--workers", type=int, default=2)
args = parser.parse_args()
d = load_config().defaults
with tempfile.TemporaryDirectory() as out:
    start = time.perf_counter()
    result = calibrate("albania-uk", args.until, out, workers=args.workers, progress=True)
    wall = time.perf_counter() - start
m = result["meta"]
print(
    f"calibration until {args.until}: agents {d.agents}, population {d.population}, "
    f"{m['generations']} generations, {m['simulations']} simulations, {args.workers} workers: {wall:.1f} s wall"
)
