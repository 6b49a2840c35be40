"""Wall time and simulation count of a full calibration (data/calibration.yaml defaults).

Run: .venv/bin/python benchmarks/calibration.py [--until 2023] [--workers 2] [--agents N]
     [--population N] [--generations N] [--out DIR]

Prints the machine (CPU model, cores), the configuration, and per generation the
temperature and the simulations it took; then the wall time, the simulations in all,
the final temperature (1 = exact) and the effective sample size of the posterior.
The bar for the full configuration is under 60 minutes on the 2-core machine.
"""

import argparse
import tempfile
import time
from pathlib import Path

from machine import describe

from corridor.calibration import calibrate, load_config


def main() -> None:
    d = load_config().defaults
    parser = argparse.ArgumentParser()
    parser.add_argument("--until", type=int, default=2023)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--agents", type=int, default=d.agents)
    parser.add_argument("--population", type=int, default=d.population)
    parser.add_argument("--generations", type=int, default=d.generations)
    parser.add_argument("--out", type=Path, default=None, help="keep the calibration here (default: a temporary folder)")
    args = parser.parse_args()
    print(f"machine: {describe()} (shared with other work: times vary)")
    print(
        f"configuration: until {args.until}, agents {args.agents}, population {args.population}, "
        f"{args.generations} generations, {d.runs_per_particle} run(s) per particle, {args.workers} workers"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        start = time.perf_counter()
        result = calibrate(
            "albania-uk", args.until, out, agents=args.agents, population=args.population,
            generations=args.generations, workers=args.workers, progress=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
    m = result["meta"]
    for t, temperature in enumerate(m["temperatures"]):
        print(f"  generation {t}: temperature {temperature:.3g}")
    print(
        f"calibration until {args.until}: {m['generations']} generations, {m['simulations']} simulations, "
        f"{wall:.1f} s wall ({wall / 60:.1f} min), {wall / max(m['simulations'], 1) * args.workers:.2f} s per simulation "
        f"and worker; final temperature {m['final_temperature']:.3g} ({'exact' if m['exact'] else 'tempered'}), "
        f"effective sample size {m['effective_sample_size']:.0f} of {args.population}"
    )


if __name__ == "__main__":
    main()
