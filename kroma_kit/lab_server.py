"""``make lab``: JupyterLab on the artist's workbench (``notebooks/``), the same for every user.

Why a module and not ``jupyter lab`` in the Makefile: the command and its environment must be
the same for ``make lab`` and the test that starts it (``tests/test_lab_server.py``), and two
defaults of JupyterLab get in a new user's way:

- as root (containers, CI images) it refuses to start ("Running as root is not recommended");
- on first open it asks whether to fetch Jupyter news from the internet.

Both are settled by the project's Jupyter configuration in ``settings/jupyter/`` (``allow_root``,
no news feed or update checks, the announcements plugin off), which :func:`lab_env` adds to
Jupyter's search path through ``JUPYTER_CONFIG_PATH``: nothing is written to ``~/.jupyter``, and
a user's own settings there still win. The server is then ``exec``'d, so Ctrl-C and signals go
straight to Jupyter as if it had been started by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def jupyter_settings_dir() -> Path:
    """The project's Jupyter configuration (``settings/jupyter``)."""
    return REPO_ROOT / "settings" / "jupyter"


def notebooks_dir() -> Path:
    """The folder the artist browses: ``notebooks/`` of this checkout."""
    return REPO_ROOT / "notebooks"


def lab_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for the server: the project's Jupyter config first on ``JUPYTER_CONFIG_PATH``
    (existing entries kept after it)."""
    env = dict(os.environ if base is None else base)
    ours = str(jupyter_settings_dir())
    existing = [part for part in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if part and part != ours]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([ours, *existing])
    return env


def lab_command(*, port: int | None = None, ip: str | None = None, token: str | None = None,
                open_browser: bool = True, notebook_dir: Path | None = None,
                extra_args: Sequence[str] = ()) -> list[str]:
    """The JupyterLab command line; options left ``None`` keep Jupyter's (and the user's) defaults."""
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={notebook_dir or notebooks_dir()}"]
    if port is not None:
        command += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    if ip is not None:
        command.append(f"--ServerApp.ip={ip}")
    if token is not None:
        command.append(f"--IdentityProvider.token={token}")
    if not open_browser:
        command.append("--no-browser")
    return [*command, *extra_args]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kroma_kit.lab_server",
                                     description="JupyterLab on the Kroma Kit notebooks.")
    parser.add_argument("--port", type=int, help="port (default: Jupyter's, 8888 or the next free one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    args, rest = parser.parse_known_args(argv)
    command = lab_command(port=args.port, open_browser=not args.no_browser, extra_args=rest)
    os.execve(command[0], command, lab_env())
    return 0  # not reached: execve replaces this process


if __name__ == "__main__":
    sys.exit(main())
