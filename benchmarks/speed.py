"""Speed and memory of the engine against the Mesa reference implementation.

    python benchmarks/speed.py            # engine 10k, 100k, 1M and the real population (1 thread, then all cores); reference 10k, 100k
    python benchmarks/speed.py --quick    # engine 10k, 100k, 1M; reference 10k (under 3 minutes)

Every size runs in a fresh subprocess, which reports its own wall times and peak
resident memory (``ru_maxrss``, which includes the interpreter and the imported
libraries: about 150-250 MiB before any agent exists). The scenario is the
bundled default (albania-uk, 2012-01..2030-12, 228 months). An agent-month is one
initial agent (of the ``agents`` asked for) stepped for one month; throughput is
agent-months per second of simulation (building the population plus running
all months). Numba's cache is warmed by a first tiny run before anything is
timed, and each engine subprocess runs a tiny warm-up before its timed run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.machine import describe  # noqa: E402

SCENARIO = "albania-uk"
SEED = 1


def _child(model: str, agents: int, threads: int) -> None:
    """Run one size in this (fresh) process and print one JSON line."""
    sys.path.insert(0, str(ROOT))
    from corridor.engine import Simulation
    from corridor.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    if model == "engine":
        Simulation(scenario, agents=1_000, seed=0, threads=threads).run()  # load compiled kernels
    else:
        from benchmarks.reference import CorridorModel
    rss_before_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    if model == "engine":
        sim = Simulation(scenario, agents=agents, seed=SEED, threads=threads)
        built = time.perf_counter()
        series = sim.run().series
    else:
        reference = CorridorModel(scenario, agents=agents, seed=SEED)
        built = time.perf_counter()
        series = reference.run()
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "model": model,
                "agents": agents,
                "months": scenario.n_months,
                "init_s": built - start,
                "run_s": done - built,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rss_before_mib": rss_before_mib,
                "departures": float(series["departures"].sum()),
            }
        )
    )


def measure(model: str, agents: int, threads: int, label: str = "") -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", model, str(agents), "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{model} at {agents:,} agents failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["total_s"] = result["init_s"] + result["run_s"]
    result["threads"] = threads if model == "engine" else 1
    result["agent_months_per_s"] = result["agents"] * result["months"] / result["total_s"]
    print(
        f"{model:9s} agents={agents:>9,d} threads={result['threads']} months={result['months']} init_s={result['init_s']:.2f} "
        f"run_s={result['run_s']:.2f} agent_months_per_s={result['agent_months_per_s']:,.0f} "
        f"peak_rss_mib={result['peak_rss_mib']:.0f}{label}",
        flush=True,
    )
    return result


def cli_run_seconds(agents: int) -> float:
    """Wall time of `corridor run` end to end: start-up, run, summary and files written."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "corridor", "run", SCENARIO, "--agents", str(agents), "--seed", str(SEED)]
        start = time.perf_counter()
        proc = subprocess.run([*cmd, "--out", out], capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            raise SystemExit(f"corridor run failed:\n{proc.stderr}")
        return time.perf_counter() - start


def real_population() -> int:
    """One agent per person: the origin's real population plus the 2012 diaspora."""
    sys.path.insert(0, str(ROOT))
    from corridor.scenario import load_scenario

    sc = load_scenario(SCENARIO)
    return int(
        round(sc.value("demography.real_origin_population") + sc.value("demography.initial_uk_diaspora_persons"))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="engine 10k/100k/1M and reference 10k only")
    parser.add_argument("--threads", type=int, default=1, help="numba threads for the engine (default 1)")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "AGENTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]), args.threads)
        return

    print(f"# corridor speed benchmark: scenario {SCENARIO}, seed {SEED}, engine threads {args.threads}")
    print(f"# python {platform.python_version()}, {platform.machine()}; machine: {describe()}")
    started = time.perf_counter()
    measure("engine", 1_000, args.threads, " (warm-up, not reported)")  # fills numba's cache on a fresh checkout
    engine_sizes = [10_000, 100_000, 1_000_000] + ([] if args.quick else [real_population()])
    reference_sizes = [10_000] if args.quick else [10_000, 100_000]
    rows = [measure("engine", n, args.threads) for n in engine_sizes]
    cores = os.cpu_count() or 1
    all_cores = [] if args.quick or cores <= args.threads else [100_000, real_population()]
    rows += [measure("engine", n, cores) for n in all_cores]  # the same results, on every core
    rows += [measure("reference", n, args.threads) for n in reference_sizes]

    def total(model, agents, threads=args.threads):
        wanted = threads if model == "engine" else 1
        return next(
            r["total_s"] for r in rows if r["model"] == model and r["agents"] == agents and r["threads"] == wanted
        )

    print(f"cli_run_100k_wall_s: {cli_run_seconds(100_000):.1f}")
    common = max(reference_sizes)
    print(f"speedup_vs_reference_{common // 1000}k: {total('reference', common) / total('engine', common):.1f}")
    if all_cores:
        ratio = total("reference", common) / total("engine", common, cores)
        print(f"speedup_vs_reference_{common // 1000}k_{cores}_threads: {ratio:.1f}")
    per_agent_month = {n: total("engine", n) / n for n in (100_000, 1_000_000)}
    print(f"linearity_1m_over_100k: {per_agent_month[1_000_000] / per_agent_month[100_000]:.2f}")
    print(f"benchmark_wall_s: {time.perf_counter() - started:.0f}")
    print()
    print("| model | agents | threads | months | build (s) | run (s) | agent-months/s | peak RSS (MiB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['model']} | {r['agents']:,} | {r['threads']} | {r['months']} | {r['init_s']:.2f} | {r['run_s']:.2f} | "
            f"{r['agent_months_per_s']:,.0f} | {r['peak_rss_mib']:,.0f} |"
        )


if __name__ == "__main__":
    main()
