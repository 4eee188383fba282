"""``make dashboards`` (``python -m kroma_kit.dashboards_server``): URLs, flags, Ctrl-C, busy port."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kroma_kit.dashboards_server import DASHBOARDS, READY_PATH, dashboard_urls, voila_command
from tests.conftest import cli_env
from tests.dashboards.conftest import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_dashboard_urls_name_every_page() -> None:
    urls = dashboard_urls(8866)
    assert list(urls) == ["Project overview", "Run viewer", "QA report", "Costs", "Characters", "Queue"]
    assert urls["Run viewer"] == "http://127.0.0.1:8866/voila/render/run_viewer.ipynb"
    assert all((REPO_ROOT / "dashboards" / notebook).is_file() for notebook in DASHBOARDS.values())


def test_voila_command_is_loopback_fixed_port_and_culls_idle_kernels() -> None:
    command = voila_command(9000, REPO_ROOT / "dashboards")
    assert command[:3] == [sys.executable, "-m", "voila"]
    for flag in ("--no-browser", "--Voila.ip=127.0.0.1", "--port=9000", "--Voila.port_retries=0"):
        assert flag in command
    assert any(f.startswith("--MappingKernelManager.cull_idle_timeout=") for f in command)
    assert any(f.startswith("--MappingKernelManager.cull_interval=") for f in command)


def _serve(port: int, home: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kroma_kit.dashboards_server", "--port", str(port)],
                            env=cli_env(home), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_prints_the_urls_and_stops_cleanly(tmp_path: Path, stop_signal: signal.Signals) -> None:
    port = free_port()
    proc = _serve(port, tmp_path / "home")
    lines: list[str] = []
    try:
        while not any("Ctrl-C to stop" in line for line in lines):
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "".join(lines)
            lines.append(line)
        printed = "".join(lines)
        assert all(url in printed for url in dashboard_urls(port).values()), printed
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{READY_PATH}", timeout=5) as response:
            assert response.status == 200
        proc.send_signal(stop_signal)
        assert proc.wait(30) == 0
        assert "Traceback" not in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    with pytest.raises(OSError):  # Voilà (in its own session) went with us
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.timeout(90)
def test_a_busy_port_fails_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = _serve(port, tmp_path / "home")
        started = time.monotonic()
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    assert "Could not start the dashboards" in out and f"port {port}" in out
    assert time.monotonic() - started < 60
