"""Shared fixtures: every test gets its own workspace (KROMA_HOME in a temp folder), so nothing
touches ~/.kroma and tests can run in any order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def pg_server():
    """One real PostgreSQL server for the session (tests/pg_server.py); skipped, with the reason
    shown, only where the server binaries are not installed."""
    from tests.pg_server import pg_bin_dir, start_server

    if pg_bin_dir() is None:
        pytest.skip("PostgreSQL server binaries not installed (Debian package `postgresql`); "
                    "the PostgreSQL leg of the catalog tests cannot run here")
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def catalog_engine(request: pytest.FixtureRequest) -> str:
    """Which engine holds the test's catalog: ``sqlite`` unless a package parametrizes it with
    :func:`tests.pg_server.both_engines`."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def catalog_url(catalog_engine: str, request: pytest.FixtureRequest):
    """A fresh migrated PostgreSQL database for a ``postgresql`` test, else ``None``."""
    if catalog_engine != "postgresql":
        yield None
        return
    server = request.getfixturevalue("pg_server")
    url = server.new_database()
    yield url
    server.release(url)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: runs on the SQLite catalog only (SQLite machinery)")


@pytest.fixture
def kroma_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog_url: str | None) -> Path:
    """A fresh workspace folder, exported as KROMA_HOME for code and child processes (with
    KROMA_CATALOG_URL when the test runs on PostgreSQL)."""
    home = tmp_path / "kroma-home"
    monkeypatch.setenv("KROMA_HOME", str(home))
    if catalog_url:
        monkeypatch.setenv("KROMA_CATALOG_URL", catalog_url)
    else:
        monkeypatch.delenv("KROMA_CATALOG_URL", raising=False)
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


def cli_env(home: Path, catalog_url: str | None = None) -> dict[str, str]:
    """Environment for running `python -m kroma_kit` in a child process against ``home`` (and the
    PostgreSQL catalog ``catalog_url``, when the workspace's catalog is there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "REMOVE_BG", "PHOTOROOM"))}
    env["KROMA_HOME"] = str(home)
    if catalog_url:
        env["KROMA_CATALOG_URL"] = catalog_url
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env
