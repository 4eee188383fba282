"""`make lab` starts for root and non-root users, with JupyterLab's news prompt off.

The test starts the very command `make lab` runs (:func:`kroma_kit.lab_server.lab_command` with
:func:`~kroma_kit.lab_server.lab_env`) on an ephemeral loopback port with a token, reads ``/lab``
and stops it. Jupyter's own folders point into the test's temp folder, so nothing of the user's
``~/.jupyter`` is read or written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kroma_kit.lab_server import jupyter_settings_dir, lab_command, lab_env, notebooks_dir

URL_LINE = re.compile(r"http://127\.0\.0\.1:(\d+)/lab\?token=")  # logged once the port is bound
TOKEN = "kroma-test-token"


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER")}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        folder = tmp_path / name.lower()
        folder.mkdir()
        env[name] = str(folder)
    return env


def _start(env: dict[str, str]) -> tuple[subprocess.Popen, list[str], threading.Event]:
    command = lab_command(port=0, ip="127.0.0.1", token=TOKEN, open_browser=False)
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    seen_url = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if URL_LINE.search(line):
                seen_url.set()

    threading.Thread(target=read, daemon=True).start()
    return proc, lines, seen_url


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _get_when_listening(url: str, deadline: float) -> tuple[int, str]:
    """GET ``url``; the server logs its URL just before its event loop binds the port, so a
    refused connection is retried until ``deadline``."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.URLError as exc:
            if not isinstance(exc.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _page_config(html: str) -> dict:
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the /lab page carries no jupyter-config-data"
    return json.loads(found.group(1))


def test_lab_command_serves_lab_for_this_user_with_news_off(tmp_path):
    proc, lines, seen_url = _start(lab_env(_isolated_env(tmp_path)))
    try:
        deadline = time.monotonic() + 30
        while not seen_url.is_set() and proc.poll() is None and time.monotonic() < deadline:
            seen_url.wait(0.1)
        assert seen_url.is_set(), f"JupyterLab did not start (uid {os.geteuid()}):\n{''.join(lines)[-2000:]}"
        port = int(next(URL_LINE.search(line).group(1) for line in lines if URL_LINE.search(line)))
        assert port != 0
        status, html = _get_when_listening(f"http://127.0.0.1:{port}/lab?token={TOKEN}", deadline)
        assert status == 200
        config = _page_config(html)
    finally:
        _stop(proc)
    assert Path(config["serverRoot"]) == notebooks_dir()
    assert "@jupyterlab/apputils-extension:announcements" in config["disabledExtensions"]  # no news prompt
    assert config["news"] == {"disabled": True}  # and the server fetches no feed


@pytest.mark.skipif(os.geteuid() != 0, reason="the refusal only happens for root")
def test_without_the_project_config_root_is_refused(tmp_path):
    """The control: the same command without the project's Jupyter config stops as root, so the
    test above passes because of ``settings/jupyter`` and not by accident."""
    env = _isolated_env(tmp_path)
    assert str(jupyter_settings_dir()) not in env.get("JUPYTER_CONFIG_PATH", "")
    proc, lines, _seen = _start(env)
    try:
        proc.wait(30)
    finally:
        _stop(proc)
    assert proc.returncode != 0
    assert "Running as root is not recommended" in "".join(lines)


def test_the_browsed_folders_hold_notebooks_only():
    """`make lab` opens notebooks/ and Voilà lists dashboards/: test plumbing (nbval's workspace
    hooks, tests/nbval_workspaces.py) stays out of both."""
    for folder in (notebooks_dir(), notebooks_dir().parent / "dashboards"):
        others = sorted(p.name for p in folder.iterdir() if p.suffix != ".ipynb" and p.name != ".ipynb_checkpoints")
        assert others == [], f"{folder} holds more than notebooks: {others}"
