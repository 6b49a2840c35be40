"""Load check of `corridor serve`: many quick runs at once, and how fast the pages answer meanwhile.

Starts the real server (`corridor serve`) on a free local port with a fresh runs
folder, measures page latency while idle, then submits N quick runs at the same
moment from N threads and keeps requesting the pages while they compute. Every
submission must be accepted, every run must finish, and every finished run's
view must be served; the script exits 1 otherwise. It prints the machine, the
wall time, and page latency (median, 95th percentile, maximum) idle and under load.

    python benchmarks/serve_load.py                 # 20 quick runs of 100,000 agents
    python benchmarks/serve_load.py --agents 20000  # lighter
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.machine import describe  # noqa: E402

PAGES = {"page": "/", "editor": "/api/scenarios/albania-uk", "jobs": "/api/jobs", "script": "/static/app.js"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, runs_dir: str, parallel: int, queue: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "corridor", "serve", "--port", str(port), "--runs-dir", runs_dir,
           "--parallel", str(parallel), "--queue", str(queue)]  # fmt: skip
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/info", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the server did not start: {server.stderr.read()}")


def sample_latency(client: httpx.Client, seconds: float | None, stop: threading.Event | None = None) -> dict[str, list[float]]:
    """Request every page in turn, every 0.2 s, for ``seconds`` or until ``stop`` is set; latencies in ms."""
    out: dict[str, list[float]] = {name: [] for name in PAGES}
    end = time.time() + seconds if seconds else None
    while (end is None or time.time() < end) and not (stop is not None and stop.is_set()):
        for name, path in PAGES.items():
            t0 = time.perf_counter()
            response = client.get(path)
            out[name].append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code} under load")
        time.sleep(0.2)
    return out


def summary(ms: list[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {statistics.median(ordered):6.1f} ms  p95 {p95:6.1f} ms  max {ordered[-1]:6.1f} ms  (n={len(ordered)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="quick runs submitted at once")
    parser.add_argument("--agents", type=int, default=100_000, help="agents per quick run")
    parser.add_argument("--parallel", type=int, default=2, help="runs the server computes at the same time")
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory() as runs_dir:
        server = start_server(port, runs_dir, args.parallel, queue=max(32, args.runs))
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                idle = sample_latency(client, seconds=5)
                request = {"kind": "run", "scenario": {"base": "albania-uk"}, "agents": args.agents}
                t0 = time.perf_counter()
                with ThreadPoolExecutor(max_workers=args.runs) as pool:
                    answers = list(pool.map(lambda seed: client.post("/api/jobs", json={**request, "seed": seed}), range(args.runs)))
                submit_s = time.perf_counter() - t0
                refused = [a.text for a in answers if a.status_code != 202]
                if refused:
                    print(f"refused: {refused[0]}")
                    return 1
                ids = [a.json()["id"] for a in answers]
                stop = threading.Event()
                load: dict[str, list[float]] = {}
                sampler = threading.Thread(target=lambda: load.update(sample_latency(client, None, stop)))
                sampler.start()
                while True:
                    statuses = [client.get(f"/api/jobs/{i}").json()["status"] for i in ids]
                    if all(s not in ("queued", "running") for s in statuses):
                        break
                    time.sleep(0.5)
                wall = time.perf_counter() - t0
                stop.set()
                sampler.join()
                views = [client.get(f"/api/runs/{i}/view").status_code for i in ids]
        finally:
            server.terminate()
            server.wait(timeout=30)
    done = statuses.count("done")
    print(f"machine: {describe()} (at the end; shared with other users)")
    print(f"{args.runs} quick runs of {args.agents:,} agents submitted at once, {args.parallel} computed at a time")
    print(f"accepted: {len(ids)}/{args.runs} in {submit_s:.2f} s; finished: {done}/{args.runs}; views served: {views.count(200)}/{args.runs}")
    print(f"wall time until the last run finished: {wall:.1f} s ({wall / args.runs:.2f} s per run)")
    for name, path in PAGES.items():
        print(f"{name:7s} {path:26s} idle:  {summary(idle[name])}")
        print(f"{'':7s} {'':26s} load:  {summary(load[name])}")
    ok = done == args.runs and views.count(200) == args.runs
    print("serve_load: ok" if ok else "serve_load: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
