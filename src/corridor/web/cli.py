"""The `corridor serve` verb: start the workbench (uvicorn) on a local address.

``register(app)`` adds it to the main CLI. The server, its dependencies and the
engine are imported only when the verb runs, so `corridor --help` stays fast.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from corridor.errors import CorridorInputError

console = Console()
err_console = Console(stderr=True)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a taken port is one line, not a server log."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        raise CorridorInputError(f"--host {host}: not an address of this machine; use 127.0.0.1") from None
    # the protocol number too: asyncio sets TCP_NODELAY on accepted connections only for IPPROTO_TCP
    # sockets, and without it a keep-alive client waits ~40 ms for each response (Nagle + delayed ACK)
    sock = socket.socket(info[0], info[1], info[2])
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(info[4])
    except OSError as exc:
        sock.close()
        raise CorridorInputError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}); choose another port") from None
    return sock


def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on; 127.0.0.1 keeps it to this machine.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Folder that keeps every run (the only folder the server writes).")] = Path("runs"),
    parallel: Annotated[int, typer.Option("--parallel", min=1, max=64, help="Runs computed at the same time.")] = 2,
    queue: Annotated[int, typer.Option("--queue", min=1, max=1000, help="Runs waiting or running before new ones are refused.")] = 16,
) -> None:
    """Start the web workbench: edit a scenario, run it, compare policies, download results."""
    import uvicorn

    from corridor.web.app import create_app

    sock = _bind(host, port)
    app = create_app(runs_dir, slots=parallel, capacity=queue)
    if host not in LOCAL_HOSTS:
        err_console.print(f"[yellow]warning:[/yellow] listening on {host}: anyone who can reach this machine can start runs and read them", soft_wrap=True)
    shown = f"[{host}]" if ":" in host else host
    console.print(f"corridor workbench on http://{shown}:{port}/  (runs kept in {runs_dir}; Ctrl+C stops it)", highlight=False, soft_wrap=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])


@contextmanager
def running_server(runs_dir: str | Path, host: str = "127.0.0.1", port: int = 0, **options) -> Iterator[str]:
    """The workbench served in a thread of this process (a notebook, a script, a browser test); yields its URL.

    ``port=0`` takes a free port; ``options`` go to ``create_app`` (slots, capacity)."""
    import uvicorn

    from corridor.web.app import create_app

    sock = _bind(host, port)
    server = uvicorn.Server(uvicorn.Config(create_app(runs_dir, **options), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the workbench did not start")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def register(app: typer.Typer) -> None:
    """Add `corridor serve` to the main CLI."""
    app.command("serve")(serve_cmd)
