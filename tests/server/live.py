"""A real uvicorn server on 127.0.0.1 with an ephemeral port, in a thread of the test process (or,
for benchmarks, in a child process), serving the API app over one workspace."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@contextmanager
def live_server(ws, *, bind_host: str = "127.0.0.1", dev_bypass: bool = False,
                bootstrap_first_token: bool = True) -> Iterator[str]:
    """Serve the app for ``ws`` on a thread; yields the base URL; stops the server (and its runs)."""
    from kroma_kit.server.app import create_app
    from kroma_kit.server.config import ServerConfig

    with serve_app(create_app(ServerConfig(ws=ws, bind_host=bind_host, dev_bypass=dev_bypass,
                                           bootstrap_first_token=bootstrap_first_token))) as base:
        yield base


@contextmanager
def serve_app(app) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 (ephemeral port) on a thread."""
    import uvicorn

    sock = _socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)
        sock.close()


@contextmanager
def server_process(home: Path, *, env: dict[str, str] | None = None, workers: int = 1) -> Iterator[str]:
    """``kroma serve`` in a child process on a free port; yields the base URL once /health answers."""
    sock = _socket()
    port = sock.getsockname()[1]
    sock.close()
    child_env = {**os.environ, "KROMA_HOME": str(home), "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "kroma_kit", "serve", "--bind", f"127.0.0.1:{port}",
                             "--log-level", "warning", "--workers", str(workers)], env=child_env, cwd=REPO_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kroma serve did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
