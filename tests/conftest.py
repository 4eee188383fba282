"""Shared fixtures: every test gets its own workspace (KROMA_HOME in a temp folder), so nothing
touches ~/.kroma and tests can run in any order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def kroma_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace folder, exported as KROMA_HOME for code and child processes."""
    home = tmp_path / "kroma-home"
    monkeypatch.setenv("KROMA_HOME", str(home))
    for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REMOVE_BG_API_KEY", "PHOTOROOM_API_KEY",
                "KROMA_SETTINGS_DIR"):
        monkeypatch.delenv(key, raising=False)
    return home


@pytest.fixture
def workspace(kroma_home: Path):
    from kroma_kit.catalog import open_workspace

    return open_workspace(kroma_home)


@pytest.fixture
def demo_project(workspace):
    """The sample project (4 scenes, style refs, characters, manifest with 3 candidates)."""
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.project_setup import install_sample_project

    project = create_project(workspace, "demo", "Demo")
    install_sample_project(Path(project["root"]))
    return project


def cli_env(home: Path) -> dict[str, str]:
    """Environment for running `python -m kroma_kit` in a child process against ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "REMOVE_BG", "PHOTOROOM"))}
    env["KROMA_HOME"] = str(home)
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env
