"""Speed of the engine at two commits, measured in one run (alternating, same machine).

    python benchmarks/commits.py BEFORE AFTER [--agents 100000] [--rounds 7]

Each commit is checked out into a temporary git worktree; every round runs one fresh
process per commit (in alternating order), each timing the default scenario over the full
horizon after a warm-up run. Reported: the median and the minimum, over rounds, of the CPU
seconds of the timed run, and their ratio AFTER / BEFORE. CPU time, not wall time, so that
a busy machine disturbs the figures less; the machine is named on the first line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.machine import describe  # noqa: E402

CHILD = """
import json, sys, time
from corridor.engine import Simulation
from corridor.scenario import load_scenario
sc = load_scenario("albania-uk")
Simulation(sc, agents=2_000, seed=1).run()
sim = Simulation(sc, agents={agents}, seed=1)
start = time.process_time()
sim.run()
import corridor
print(json.dumps({{"cpu_s": time.process_time() - start, "module": corridor.__file__}}))
"""


def time_once(src: Path, agents: int) -> float:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(agents=agents)],
        capture_output=True, text=True, env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}, check=True,
    )  # fmt: skip
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["module"].startswith(str(src)), result["module"]  # the commit's code, not the installed one
    return result["cpu_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"# engine speed at two commits, {args.agents:,} agents, {args.rounds} rounds; machine: {describe()}")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {}
        for name in (args.before, args.after):
            tree = Path(tmp) / name
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), name], check=True)
            trees[name] = tree / "src"
        try:
            times = {name: [] for name in trees}
            for r in range(args.rounds):
                order = list(trees) if r % 2 == 0 else list(trees)[::-1]
                for name in order:
                    times[name].append(time_once(trees[name], args.agents))
        finally:
            for tree in trees.values():
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree.parent)], check=False)
    for name, t in times.items():
        print(f"{name}: median {statistics.median(t):.3f} s, min {min(t):.3f} s over {len(t)} runs")
    b, a = (statistics.median(times[n]) for n in (args.before, args.after))
    print(f"ratio_after_over_before_median: {a / b:.3f}")
    print(f"ratio_after_over_before_min: {min(times[args.after]) / min(times[args.before]):.3f}")


if __name__ == "__main__":
    main()
