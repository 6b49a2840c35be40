"""Where ensembles and calibrations run: Dask, from one laptop to a cluster.

``executor(scheduler, workers, cluster)`` opens one of

- ``sync`` or ``threads``: no cluster, Dask's synchronous or threaded scheduler;
- ``local`` (the default): a ``LocalCluster`` of ``workers`` single-threaded processes;
- an address (``tcp://HOST:8786``): a running ``dask scheduler`` with its ``dask worker``s;
- ``cluster="slurm"``: ``workers`` SLURM jobs of one single-threaded worker each,
  submitted by dask-jobqueue; its settings (partition, account, memory, walltime)
  come from Dask's configuration (``jobqueue.slurm`` in ``~/.config/dask/jobqueue.yaml``)
  with corridor's defaults below. ``slurm_job_script`` shows the script it would submit.

Results do not depend on which: every run's seed is fixed before it is sent out.
Dashboards are off or bound to 127.0.0.1.
"""

from __future__ import annotations

import logging
import re
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from corridor import __version__
from corridor.errors import ClusterError, CorridorInputError

NO_CLUSTER = ("sync", "threads")
LOCAL = ("local",)
CLUSTERS = ("slurm",)
ADDRESS = re.compile(r"^(tcp|tls|ws|wss|ucx)://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?/?$")
CONNECT_TIMEOUT = "10s"
LOOPBACK = "127.0.0.1"
# corridor's SLURM defaults; Dask's jobqueue.slurm configuration overrides them
SLURM_DEFAULTS = {"memory": "4GiB", "job_name": "corridor-worker"}


def check_scheduler(scheduler: str | None, cluster: str | None = None) -> str:
    """The normalised scheduler ('sync', 'threads', 'local', an address or 'slurm'), or a one-line refusal."""
    if cluster is not None:
        if cluster not in CLUSTERS:
            raise CorridorInputError(f"--cluster {cluster}: not offered; use one of: {', '.join(CLUSTERS)}")
        if scheduler not in (None, ""):
            raise CorridorInputError("--cluster and --scheduler: give one of them, not both")
        if shutil.which("sbatch") is None:
            raise CorridorInputError(
                "--cluster slurm: sbatch is not on this machine; run corridor on the cluster's login node, "
                "or start workers yourself and give --scheduler ADDRESS"
            )
        return cluster
    if scheduler in (None, "", "processes", "local"):
        return "local"
    if scheduler == "synchronous":
        return "sync"
    if scheduler in NO_CLUSTER or ADDRESS.match(scheduler):
        return scheduler
    raise CorridorInputError(
        f"--scheduler {scheduler}: give local, threads, sync or a running scheduler's address such as tcp://127.0.0.1:8786"
    )


@dataclass
class Executor:
    """Where tasks go: ``client`` is None for the synchronous and threaded schedulers."""

    mode: str  # sync | threads | local | address | slurm
    workers: int
    client: object | None = None
    address: str = ""


@contextmanager
def executor(scheduler: str | None, workers: int = 2, cluster: str | None = None) -> Iterator[Executor]:
    """An ``Executor`` for the block; a cluster started here is closed at its end."""
    mode = check_scheduler(scheduler, cluster)
    if mode in NO_CLUSTER:
        yield Executor(mode, max(1, workers))
        return
    from dask.distributed import Client

    started = None
    if mode == "local":
        with _children_ignore_sigint():
            started = _local_cluster(workers)
        client = Client(started)
    elif mode == "slurm":
        started = slurm_cluster()
        started.scale(jobs=workers)
        client = Client(started)
    else:
        client = _connect(mode)
    try:
        _check_versions(client, mode)
        yield Executor("address" if started is None else mode, workers, client, str(client.scheduler.address))
    finally:  # a cluster that failed may fail to close too: that must not hide why it failed
        with suppress(Exception):
            client.close()
        if started is not None:
            with suppress(Exception):
                started.close()


def _local_cluster(workers: int):
    from dask.distributed import LocalCluster

    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host=LOOPBACK,
        dashboard_address=None,  # the scheduler's web server (dashboard off) and the workers' on 127.0.0.1
        scheduler_kwargs={"dashboard": False, "dashboard_address": f"{LOOPBACK}:0"},
        worker_dashboard_address=f"{LOOPBACK}:0",
        # a worker still beating after the scheduler closed (Ctrl-C, end of a command) logs an
        # ERROR with a traceback; what matters reaches this process through the futures
        silence_logs=logging.CRITICAL,
    )


@contextmanager
def _children_ignore_sigint():
    """Worker processes started in the block inherit an ignored SIGINT (Python then never turns it into
    KeyboardInterrupt): Ctrl-C in a terminal reaches the whole process group, and only this process
    should answer it, by stopping the workers and saying so in one line."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _connect(address: str):
    from dask.distributed import Client

    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise CorridorInputError(
            f"--scheduler {address}: cannot connect ({reason}); give a running scheduler's address"
        ) from None


def _corridor_version() -> str:
    import corridor

    return corridor.__version__


def _check_versions(client, where: str) -> None:
    """Workers must run the same corridor, or their results would differ from a local run."""
    try:
        versions = client.run(_corridor_version)
    except Exception as exc:  # a worker that cannot import corridor fails here
        raise ClusterError(
            f"{where}: a worker cannot run corridor ({type(exc).__name__}: {' '.join(str(exc).split())[:120]}); "
            f"install corridor {__version__} where the workers run"
        ) from None
    other = sorted({v for v in versions.values() if v != __version__})
    if other:
        raise ClusterError(
            f"{where}: workers run corridor {other[0]}, this is {__version__}; install the same version on the workers"
        )


# ---------------------------------------------------------------- SLURM


def slurm_options() -> dict:
    """Keyword arguments of ``dask_jobqueue.SLURMCluster``: one single-threaded worker per job,
    the worker running this Python, dashboards on 127.0.0.1 (the scheduler's) or off (the workers')."""
    import dask

    configured = dask.config.get("jobqueue.slurm", default={}) or {}
    options = {k: v for k, v in SLURM_DEFAULTS.items() if configured.get(k.replace("_", "-")) is None}
    options.update(
        cores=1,
        processes=1,
        python=sys.executable,
        worker_extra_args=["--no-dashboard"],
        scheduler_options={"dashboard_address": f"{LOOPBACK}:0"},
    )
    return options


def slurm_cluster():
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise CorridorInputError("--cluster slurm: dask-jobqueue is not installed; pip install dask-jobqueue") from None
    try:
        return SLURMCluster(**slurm_options())
    except ValueError as exc:  # e.g. a malformed jobqueue.slurm configuration
        raise CorridorInputError(f"--cluster slurm: {' '.join(str(exc).split())}; check jobqueue.slurm in Dask's configuration") from None


def slurm_job_script() -> str:
    """The batch script ``--cluster slurm`` submits for each worker (needs no SLURM to show it)."""
    cluster = slurm_cluster()
    try:
        return cluster.job_script()
    finally:
        cluster.close()
