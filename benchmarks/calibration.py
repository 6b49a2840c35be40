"""Wall time and simulation count of a full calibration (data/calibration.yaml defaults).

Run: .venv/bin/python benchmarks/calibration.py [--until 2023] [--workers 2] [--agents N]
     [--method tempered-smc|abc-smc] [--population N] [--generations N] [--out DIR]

Prints the machine (CPU model, cores), the configuration, and per iteration (tempered
SMC: beta, acceptance of the moves, distinct particles) or generation (ABC-SMC:
temperature); then the wall time, the simulations in all, whether the posterior is the
exact one (beta or temperature 1), and the distinct particles (tempered SMC) or the
effective sample size (ABC-SMC) of the posterior. The bar for the full configuration is
under 60 minutes on the 2-core machine.
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
    parser.add_argument("--method", choices=["tempered-smc", "abc-smc"], default=d.method)
    parser.add_argument("--population", type=int, default=None, help="chains (tempered SMC) or particles (ABC-SMC)")
    parser.add_argument("--generations", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="keep the calibration here (default: a temporary folder)")
    args = parser.parse_args()
    tempered = args.method == "tempered-smc"
    population = args.population or (d.chains if tempered else d.population)
    size = f"{population} chains of {d.chain_length}" if tempered else f"population {population}"
    print(f"machine: {describe()} (shared with other work: times vary)")
    print(
        f"configuration: until {args.until}, agents {args.agents}, {args.method}, {size}, "
        f"{d.runs_per_particle} run(s) per particle, {args.workers} workers"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        start = time.perf_counter()
        result = calibrate(
            "albania-uk", args.until, out, agents=args.agents, population=population, generations=args.generations,
            workers=args.workers, progress=True, method=args.method,
        )  # fmt: skip
        wall = time.perf_counter() - start
    m = result["meta"]
    for step in m.get("iterations", []):
        print(f"  iteration {step['iteration']}: beta {step['beta']:.3g}, acceptance {step['acceptance']:.2f}, "
              f"{step['distinct']} distinct particles")  # fmt: skip
    if not tempered:
        for t, temperature in enumerate(m["temperatures"]):
            print(f"  generation {t}: temperature {temperature:.3g}")
    spread = "distinct particles" if tempered else "effective sample size"
    print(
        f"calibration until {args.until}: {m['generations']} {'iterations' if tempered else 'generations'}, "
        f"{m['simulations']} simulations, {wall:.1f} s wall ({wall / 60:.1f} min), "
        f"{wall / max(m['simulations'], 1) * args.workers:.2f} s per simulation and worker; "
        f"{'exact' if m['exact'] else 'tempered, final temperature ' + format(m['final_temperature'], '.3g')}, "
        f"{spread} {m['effective_sample_size']:.0f} of {len(result['posterior'])}"
    )


if __name__ == "__main__":
    main()
