"""Simulation-based calibration of the inference methods on the surrogate corridor (corridor.sbc).

Run: .venv/bin/python benchmarks/sbc.py [--method tempered|abc|importance|npe] [--replicates 100]
     [--population 200] [--generations 5] [--workers 2]

``tempered`` is the production sampler (corridor.tempered_smc, 100 chains of 6, with the
observation-likelihood of the real calibration; tests/test_sbc.py runs it too), ``abc``
pyabc's ABC-SMC with the same likelihood as acceptance kernel (the other sampler),
``importance`` the same posterior by importance sampling (a reference),
``npe`` neural posterior estimation with sbi (needs torch and sbi installed: they are
not dependencies of corridor; see docs/calibration.md). Prints the uniformity tests
of the ranks per parameter (and of a posterior shrunk to half its width, which must
fail), the wall time, and the machine.
"""

import argparse
import time

from machine import describe

from corridor.sbc import SBCResult, run_sbc, shrink


def report(label: str, result: SBCResult, wall: float) -> None:
    print(f"{label}: {len(result.pairs)} replicates, {result.draws} posterior draws each, {wall:.0f} s wall")
    print(result.table().to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"  uniform at 1% (Bonferroni): {result.uniform()}; min p {result.min_p():.3g}")
    half = result.transformed(lambda d: shrink(d, 0.5))
    print(f"  same replicates, posterior shrunk to half width: uniform {half.uniform()}; min p {half.min_p():.3g}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", choices=["tempered", "abc", "importance", "npe"], default="tempered")
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--population", type=int, default=200)
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--simulations", type=int, default=20_000, help="npe: training simulations")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {describe()} (shared with other work: times vary)")
    start = time.perf_counter()
    if args.method == "npe":
        from sbc_npe import run_npe_sbc

        result = run_npe_sbc(args.replicates, args.simulations)
    else:
        options = {"population": args.population, "generations": args.generations} if args.method == "abc" else {}
        scheduler = "sync" if args.workers == 1 else None
        result = run_sbc(args.method, args.replicates, scheduler=scheduler, workers=args.workers, progress=True, **options)
    report(args.method, result, time.perf_counter() - start)


if __name__ == "__main__":
    main()
