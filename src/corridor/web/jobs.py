"""Background jobs: a bounded queue of runs, each run in its own worker process.

A job is one folder of the registry with a ``job.json``. A few supervisor
threads take jobs from the queue and start ``python -m corridor.web.worker
FOLDER`` in a new process group; the worker reports progress as JSON lines on
its stdout and its traceback, if any, goes to ``worker.log`` in the folder,
never to the page. The event loop of the server only reads this module's
in-memory state, so a run never blocks a page, and a crashing run (even one
that kills its interpreter) only fails its own job.

Cancelling a queued job drops it; cancelling a running one terminates its whole
process group (a Dask cluster the worker started included), so the work really
stops. The queue holds at most ``capacity`` jobs waiting or running and refuses
more with ``QueueFull``.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from corridor.web.registry import ACTIVE, Registry, now_iso

KILL_AFTER_SECONDS = 5.0
KEEP_FINISHED = 200  # finished jobs remembered in memory (the registry keeps them all)


class QueueFull(Exception):
    """The queue already holds its capacity of waiting and running jobs."""


@dataclass
class Job:
    id: str
    kind: str
    folder: Path
    label: str = ""
    status: str = "queued"
    done: int = 0
    total: int = 0
    stage: str = "waiting for a free worker"
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)
    cancel_requested: bool = False

    def public(self) -> dict:
        elapsed = None
        if self.started is not None:
            elapsed = round((self.finished or time.time()) - self.started, 1)
        return {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "status": self.status,
            "done": self.done,
            "total": self.total,
            "fraction": round(self.done / self.total, 4) if self.total else 0.0,
            "stage": self.stage,
            "error": self.error,
            "elapsed_seconds": elapsed,
        }


class JobQueue:
    """Runs jobs in worker processes, ``slots`` at a time, at most ``capacity`` waiting or running."""

    def __init__(self, registry: Registry, slots: int = 2, capacity: int = 16, python: str = sys.executable):
        self.registry = registry
        self.slots = max(1, slots)
        self.capacity = max(1, capacity)
        self.python = python
        self._pending: queue.Queue[Job | None] = queue.Queue()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        for i in range(self.slots):
            thread = threading.Thread(target=self._supervise, name=f"corridor-job-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Cancel everything and wait for the supervisors to finish."""
        for job in list(self._jobs.values()):
            if job.status in ACTIVE:
                self.cancel(job.id, reason="the server stopped before this run finished; start it again")
        for _ in self._threads:
            self._pending.put(None)
        for thread in self._threads:
            thread.join(timeout=KILL_AFTER_SECONDS + 2)
        self._threads.clear()

    # ------------------------------------------------------------ requests

    def submit(self, run_id: str, kind: str, folder: Path, label: str = "") -> Job:
        with self._lock:
            waiting = sum(j.status in ACTIVE for j in self._jobs.values())
            if waiting >= self.capacity:
                raise QueueFull(
                    f"the job queue is full ({waiting} runs waiting or running); wait for one to finish or cancel one"
                )
            job = Job(run_id, kind, folder, label)
            self._jobs[run_id] = job
            self._forget_old()
        self._pending.put(job)
        return job

    def get(self, run_id: str) -> Job | None:
        return self._jobs.get(run_id)

    def jobs(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: j.id, reverse=True)

    def cancel(self, run_id: str, reason: str | None = None) -> Job | None:
        with self._lock:
            job = self._jobs.get(run_id)
            if job is None or job.status not in ACTIVE:
                return job
            job.cancel_requested = True
            if job.status == "queued":  # its supervisor will skip it
                self._finish(job, "cancelled", reason)
                return job
            process = job.process
        if process is not None:
            _terminate(process)
        return job

    # ------------------------------------------------------------ supervision

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.status not in ACTIVE]
        for job in sorted(finished, key=lambda j: j.id)[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.id]

    def _supervise(self) -> None:
        while True:
            job = self._pending.get()
            if job is None:
                return
            try:
                self._run(job)
            except Exception as exc:  # a supervisor must survive anything a job does
                with self._lock:
                    self._finish(job, "failed", f"the workbench could not run this job ({type(exc).__name__}: {exc})")

    def _run(self, job: Job) -> None:
        with self._lock:
            if job.cancel_requested or job.status != "queued":
                return
            log = open(job.folder / "worker.log", "ab")  # noqa: SIM115 (closed below, after the process)
            job.process = subprocess.Popen(
                [self.python, "-m", "corridor.web.worker", str(job.folder)],
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: cancel kills everything it started
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            job.status, job.stage, job.started = "running", "starting", time.time()
        self.registry.update(job.id, status="running", started=now_iso())
        said_done = False
        try:
            for line in job.process.stdout:
                said_done |= self._read(job, line)
            rc = job.process.wait()
        finally:
            log.close()
            job.process.stdout.close()
        with self._lock:
            if job.cancel_requested:
                self._finish(job, "cancelled", None)
            elif rc == 0 and said_done:
                self._finish(job, "done", None)
            else:
                self._finish(job, "failed", job.error or f"the run stopped unexpectedly (exit code {rc}); see worker.log in its folder")

    def _read(self, job: Job, line: bytes) -> bool:
        """Apply one protocol line of the worker; True when it says the outputs are written."""
        try:
            msg = json.loads(line)
        except ValueError:
            return False
        event = msg.get("event")
        if event == "progress":
            job.done, job.total, job.stage = int(msg["done"]), int(msg["total"]), str(msg.get("stage", ""))
        elif event == "error":
            job.error = str(msg.get("message", ""))[:500]
        return event == "done"

    def _finish(self, job: Job, status: str, error: str | None) -> None:
        """Record a final status (caller holds the lock)."""
        job.status, job.finished = status, time.time()
        job.error = error if status != "done" else None
        job.stage = {"done": "finished", "cancelled": "cancelled", "failed": "failed"}[status]
        if status == "done":
            job.done = job.total = max(job.total, 1)
        wall = round(job.finished - job.started, 1) if job.started else None
        self.registry.update(job.id, status=status, finished=now_iso(), error=job.error, wall_seconds=wall)


def _terminate(process: subprocess.Popen) -> None:
    """SIGTERM to the worker's process group, SIGKILL if it is still there a few seconds later."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return

    def kill_later() -> None:
        try:
            process.wait(timeout=KILL_AFTER_SECONDS)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    threading.Thread(target=kill_later, daemon=True).start()
