"""``make dashboards``: serve the four stakeholder dashboards with Voilà on 127.0.0.1.

Why a module and not a one-line ``voila dashboards/`` in the Makefile: the flags matter and must
be the same for ``make dashboards``, ``make demo`` (which ends by calling :func:`serve`) and the
browser tests (which build their command with :func:`voila_command`):

- folder mode over ``dashboards/``, loopback only, no browser, ``--Voila.port_retries=0`` so a
  busy port fails loudly instead of Voilà silently moving to another one;
- the inline matplotlib backend in the environment (a CI-style ``MPLBACKEND=Agg`` would turn
  charts into ``<Figure ...>`` text);
- idle kernel culling: Voilà starts one kernel per page load and its shutdown beacon is refused
  (voila-dashboards/voila#1458), so without culling every closed tab leaks a ~150 MB kernel.

Voilà runs as a child process in its own session so that Ctrl-C reaches only us; we then stop it
with SIGTERM, which makes Voilà shut its kernels down cleanly.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_PORT = 8866
DASHBOARDS = {
    "Project overview": "project_overview.ipynb",
    "Run viewer": "run_viewer.ipynb",
    "QA report": "qa_report.ipynb",
    "Costs": "costs.ipynb",
    "Characters": "characters.ipynb",
    "Queue": "queue.ipynb",
}
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
# A kernel with no page attached for this long is shut down; one with an open tab never is.
CULL_IDLE_TIMEOUT_S = 300
CULL_INTERVAL_S = 60
READY_PATH = "/voila/templates/lab/static/index.css"
READY_TIMEOUT_S = 60.0


def dashboards_dir() -> Path:
    """The ``dashboards/`` folder beside the package (the project is installed editable)."""
    folder = Path(os.environ.get("KROMA_DASHBOARDS_DIR") or Path(__file__).resolve().parents[1] / "dashboards")
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Dashboards folder not found: {folder}. Run from a Kroma Kit checkout (pip install -e .) "
            "or set KROMA_DASHBOARDS_DIR to the folder holding the dashboard notebooks.")
    return folder


def base_url(port: int = DEFAULT_PORT, host: str = HOST) -> str:
    return f"http://{host}:{port}"


def dashboard_urls(port: int = DEFAULT_PORT, host: str = HOST) -> dict[str, str]:
    """Title -> URL of each dashboard page (``/voila/render/<notebook>`` in folder mode)."""
    return {title: f"{base_url(port, host)}/voila/render/{notebook}" for title, notebook in DASHBOARDS.items()}


def voila_command(port: int, folder: Path | None = None, *, cull_idle_timeout: int = CULL_IDLE_TIMEOUT_S,
                  cull_interval: int = CULL_INTERVAL_S, show_tracebacks: bool = False,
                  extra_args: Sequence[str] = ()) -> list[str]:
    """The Voilà command line (tests add ``disable_check_xsrf`` and shorter culling via the arguments)."""
    return [
        sys.executable, "-m", "voila", str(folder or dashboards_dir()),
        "--no-browser", f"--Voila.ip={HOST}", f"--port={port}", "--Voila.port_retries=0",
        f"--show_tracebacks={show_tracebacks}",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle_timeout}",
        f"--MappingKernelManager.cull_interval={cull_interval}",
        *extra_args,
    ]


def voila_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for Voilà and its kernels: inline matplotlib, unbuffered logs."""
    env = dict(os.environ if base is None else base)
    env["MPLBACKEND"] = INLINE_BACKEND
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def wait_until_ready(port: int, proc: subprocess.Popen | None = None, *, timeout: float = READY_TIMEOUT_S,
                     host: str = HOST) -> None:
    """Poll a static file until Voilà answers. Never poll a notebook URL: each GET starts a kernel."""
    deadline = time.monotonic() + timeout
    url = base_url(port, host) + READY_PATH
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"Voilà exited with code {proc.returncode} before it was ready "
                               f"(is port {port} already in use?).")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"Voilà did not answer {url} within {timeout:.0f} s.")


def start_voila(port: int, *, folder: Path | None = None, log_file: Path | None = None,
                env: dict[str, str] | None = None, **command_options) -> subprocess.Popen:
    """Start Voilà in its own session (so a terminal Ctrl-C is ours to handle) and return the process."""
    output = open(log_file, "ab") if log_file else None  # the child keeps its own copy of the handle
    try:
        return subprocess.Popen(voila_command(port, folder, **command_options), env=voila_env(env),
                                stdout=output, stderr=subprocess.STDOUT if output else None,
                                start_new_session=True)
    finally:
        if output:
            output.close()


def stop_voila(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM (Voilà then shuts its kernels down), SIGKILL if it does not exit in time."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):  # a second Ctrl-C means "now"
        proc.kill()
        proc.wait(5)


def print_urls(port: int) -> None:
    print("Kroma Kit dashboards:")
    for title, url in dashboard_urls(port).items():
        print(f"  {title:<17} {url}")


def serve(port: int = DEFAULT_PORT, open_browser: bool = False) -> int:
    """Serve the dashboards until Ctrl-C; return the exit code (0 after a clean Ctrl-C).

    SIGTERM and SIGHUP (a closed terminal, a CI timeout) stop it the same way: Voilà runs in its
    own session, so without this it would outlive us with its kernels.
    """
    proc = start_voila(port)
    previous = _stop_on_signals()
    try:
        try:
            wait_until_ready(port, proc)
        except (RuntimeError, TimeoutError) as exc:
            print(f"Could not start the dashboards: {exc}", file=sys.stderr)
            return 1
        print_urls(port)
        print("Ctrl-C to stop.", flush=True)
        if open_browser:
            import webbrowser

            webbrowser.open(dashboard_urls(port)["Project overview"])
        return proc.wait()
    except KeyboardInterrupt:
        print("\nStopping the dashboards...", flush=True)
        return 0
    finally:
        stop_voila(proc)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_on_signals() -> dict[int, object]:
    """Turn SIGTERM/SIGHUP into KeyboardInterrupt (main thread only); return the old handlers."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous[signum] = signal.signal(signum, interrupt)
    return previous


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kroma_kit.dashboards_server",
                                     description="Serve the Kroma Kit dashboards with Voilà on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--open", action="store_true", help="open the project overview in a browser")
    args = parser.parse_args(argv)
    return serve(args.port, open_browser=args.open)


if __name__ == "__main__":
    sys.exit(main())
