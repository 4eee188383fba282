"""``kroma db copy``: a workspace's catalog moves SQLite -> PostgreSQL -> SQLite with every row
intact (counts and checksums verified), a non-empty target is refused unless forced."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kroma_kit.catalog.catalog_copy import SKIPPED, copy_catalog
from kroma_kit.catalog.db import connect
from kroma_kit.catalog.schema import user_tables
from kroma_kit.errors import InputError, StorageError
from kroma_kit.workspace import connect_sqlite
from tests.conftest import REPO_ROOT, cli_env


@pytest.fixture
def filled(workspace):
    """A SQLite workspace with a project, a planned run (jobs, candidates, estimates), a queued
    instruction and a unicode audit event."""
    from kroma_kit.catalog.audit import record_event
    from kroma_kit.catalog.db import transaction
    from kroma_kit.catalog.instructions import create_instruction
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.pipeline.execute import dry_run
    from kroma_kit.pipeline.plan_model import PlanRequest
    from kroma_kit.project_setup import install_sample_project

    project = create_project(workspace, "demo", "Démo ✓")
    install_sample_project(Path(project["root"]))
    dry_run(workspace, PlanRequest(project="demo", candidates=2))
    create_instruction(workspace, project["id"], "custom", {"note": "née 'quoted' %s ?"}, requires_confirmation=False)
    conn = workspace.connect()
    with transaction(conn):
        record_event(conn, "test.unicode", {"text": "漫画 – ½"}, project_id=project["id"])
    conn.close()
    return workspace


def every_row(target) -> dict[str, list[tuple]]:
    conn = connect_sqlite(target, read_only=True) if isinstance(target, Path) else connect(target, read_only=True)
    try:
        return {t: sorted((tuple(r) for r in conn.execute(f'SELECT * FROM "{t}"')), key=repr)
                for t in user_tables(conn) if t not in SKIPPED}
    finally:
        conn.close()


@pytest.mark.parametrize("catalog_engine", ["sqlite"], indirect=True)
def test_sqlite_to_postgresql_and_back_keeps_every_row(filled, pg_server, tmp_path: Path) -> None:
    url = pg_server.new_database(migrated=False)  # the copy migrates an empty database itself
    original = every_row(filled.catalog_path)
    there = copy_catalog(filled.catalog_path, url)
    assert there.rows == sum(len(rows) for rows in original.values()) > 20
    assert {t: info["rows"] for t, info in there.tables.items()} == {t: len(r) for t, r in original.items()}
    assert every_row(url)["run_candidates"] == original["run_candidates"]  # floats, nulls, text as they were

    back = tmp_path / "back" / "catalog.db"
    home_again = copy_catalog(url, back)
    assert every_row(back) == original
    assert {t: i["sha256"] for t, i in home_again.tables.items()} == {t: i["sha256"] for t, i in there.tables.items()}
    pg_server.release(url)


@pytest.mark.parametrize("catalog_engine", ["sqlite"], indirect=True)
def test_a_target_with_rows_is_refused_unless_forced(filled, pg_server) -> None:
    url = pg_server.new_database()
    copy_catalog(filled.catalog_path, url)
    with pytest.raises(InputError, match=r"already holds rows: .*projects \(1\).*--force"):
        copy_catalog(filled.catalog_path, url)
    again = copy_catalog(filled.catalog_path, url, replace=True)
    assert again.tables["projects"]["rows"] == 1 and every_row(url) == every_row(filled.catalog_path)
    with pytest.raises(InputError, match="same catalog"):
        copy_catalog(url, url)
    with pytest.raises(StorageError, match="No catalog at"):
        copy_catalog(Path("/nonexistent/catalog.db"), url)
    pg_server.release(url)


@pytest.mark.parametrize("catalog_engine", ["sqlite"], indirect=True)
def test_cli_copies_to_postgresql_and_the_workspace_then_runs_on_it(filled, pg_server) -> None:
    url = pg_server.new_database()
    done = subprocess.run([sys.executable, "-m", "kroma_kit", "db", "copy", "--to", url, "--json"],
                          capture_output=True, text=True, env=cli_env(filled.home), cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["tables"]["runs"]["rows"] == 1 and report["target"] == url  # no password to hide here
    listed = subprocess.run([sys.executable, "-m", "kroma_kit", "project", "list", "--json"], capture_output=True,
                            text=True, env=cli_env(filled.home, url), cwd=REPO_ROOT, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert [p["slug"] for p in json.loads(listed.stdout)] == ["demo"]
    pg_server.release(url)
