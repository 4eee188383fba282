"""The per-process DuckDB snapshot behind workspace-wide analytics (kroma_kit.analytics.snapshot):
a commit by another process shows on the very next call, whatever the file stats do; frames are
identical to reading the catalog directly; no SQLite lock or read transaction is left behind, and
a writer never waits, not even during a copy; the sqlite3 fallback gives the same answers."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from kroma_kit import analytics
from kroma_kit.analytics import costs, queries, snapshot, snapshot_cache, snapshot_fill, snapshot_temp
from kroma_kit.analytics.engine import EXTENSION_ENV, get_engine
from kroma_kit.analytics.snapshot import CatalogCache, refresh_snapshot, snapshot_info
from kroma_kit.analytics.views import VIEW_SQL

pytestmark = pytest.mark.sqlite_only  # the SQLite snapshot's machinery; PostgreSQL is read live (live_pg)

WRITER = r"""
import sqlite3, sys, uuid
path, project_id, candidates, cost, checkpoint = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
conn = sqlite3.connect(path, timeout=0, isolation_level=None)
conn.execute("PRAGMA busy_timeout = 0")  # a lock held by any reader would fail this write at once
conn.execute("BEGIN IMMEDIATE")
now = "2026-03-01T00:00:00.000Z"
run, job = str(uuid.uuid4()), str(uuid.uuid4())
conn.execute("INSERT INTO runs (id, project_id, run_mode, status, stage, provider_code, created_at) "
             "VALUES (?, ?, 'run', 'done', 'style', 'local', ?)", (run, project_id, now))
conn.execute("INSERT INTO run_jobs (id, run_id, job_key, status, prompt_text, selected_candidate_index, created_at) "
             "VALUES (?, ?, 'job_1', 'done', 'prompt', 1, ?)", (job, run, now))
for index in range(1, candidates + 1):
    conn.execute("INSERT INTO run_candidates (id, job_id, candidate_index, status, cost_usd, created_at) "
                 "VALUES (?, ?, ?, 'done', ?, ?)", (str(uuid.uuid4()), job, index, cost, now))
    conn.execute("INSERT INTO cost_events (id, project_id, run_id, job_key, candidate_index, provider_code, "
                 "operation_code, cost_usd, event_key, created_at) "
                 "VALUES (?, ?, ?, 'job_1', ?, 'local', 'image_generation', ?, ?, ?)",
                 (str(uuid.uuid4()), project_id, run, index, cost, f"{run}:{index}", now))
conn.execute("COMMIT")
print(conn.execute(f"PRAGMA wal_checkpoint({checkpoint})").fetchone()[0] if checkpoint != "none" else 0)
"""

WORKSPACE_WIDE = {
    "overview": queries.OVERVIEW_SQL.format(scope="1 = 1", where="p.status = 'active'"),
    "qa_by_stage": queries.QA_BY_STAGE_SQL.format(where="1 = 1"),
    "candidate_stats": queries.CANDIDATE_STATS_SQL.format(where="1 = 1"),
    "cost_by_day": costs.COST_BY_PROVIDER_DAY_SQL.format(where="1 = 1"),
    "cost_by_project": costs.COST_BY_PROJECT_SQL,
    **{name: f"SELECT * FROM {name} ORDER BY ALL" for name in VIEW_SQL},
}


@pytest.fixture
def fresh_engine():
    """A new process-wide DuckDB database (no snapshot yet) for this test, and a clean one after."""
    analytics.reset_engine()
    yield
    analytics.reset_engine()


@pytest.fixture
def project(workspace):
    from kroma_kit.catalog.projects import create_project

    return create_project(workspace, "demo", "Demo")


def add_run(ws, project, candidates: int = 3, cost: float = 0.25, checkpoint: str = "none") -> int:
    """One finished run with one job, ``candidates`` candidates and their cost events, committed by
    ANOTHER process with no busy timeout; then an optional checkpoint. Returns its busy flag."""
    done = subprocess.run([sys.executable, "-c", WRITER, str(ws.catalog_path), project["id"], str(candidates),
                           str(cost), checkpoint], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def totals(ws) -> tuple[int, float, int]:
    """(runs, cost, candidates) as the dashboard shows them."""
    row = analytics.project_overview(ws).set_index("slug").loc["demo"]
    return int(row["total_runs"]), round(float(row["cost_usd"]), 6), int(analytics.candidate_stats(ws)["candidates"].sum())


def info_folder(ws) -> str:
    return str(snapshot.catalog_cache(get_engine(ws.home), ws.catalog_path)._folder)


def direct(ws, sql: str) -> pd.DataFrame:
    """``sql`` read straight from the catalog through sqlite_scanner, as sessions did before the
    snapshot: attach read-only, the views over the attached tables."""
    cur = get_engine(ws.home).database.cursor()
    try:
        cur.execute(f"ATTACH '{ws.catalog_path}' AS kroma_direct (TYPE sqlite, READ_ONLY)")
        cur.execute("SET search_path = 'kroma_direct.main'")
        for name, select in VIEW_SQL.items():
            cur.execute(f"CREATE TEMP VIEW {name} AS {select}")
        return cur.execute(sql).df()
    finally:
        cur.execute("SET search_path = 'memory.main'")
        cur.execute("DETACH DATABASE IF EXISTS kroma_direct")
        cur.close()


# --------------------------------------------------------------------------- freshness

def test_a_commit_from_another_process_shows_on_the_next_call(workspace, project, fresh_engine):
    assert totals(workspace) == (0, 0.0, 0)
    before = snapshot_info(workspace)
    add_run(workspace, project, candidates=3, cost=0.25)
    assert totals(workspace) == (1, 0.75, 3)
    after = snapshot_info(workspace)  # the change is applied in place, no new copy...
    assert (after.builds, after.refreshes) == (before.builds, before.refreshes + 1)
    assert totals(workspace) == (1, 0.75, 3)
    assert snapshot_info(workspace).refreshes == after.refreshes  # ...and nothing while nothing changes
    add_run(workspace, project, candidates=2, cost=0.5)
    assert totals(workspace) == (2, 1.75, 5)
    assert analytics.sql(workspace, "SELECT COUNT(*) AS n FROM v_candidates")["n"].iloc[0] == 5


@pytest.mark.parametrize("checkpoint", ["TRUNCATE", "RESTART", "PASSIVE"])
def test_checkpoints_that_shrink_or_restart_the_wal_do_not_hide_a_commit(workspace, project, fresh_engine,
                                                                         checkpoint):
    """TRUNCATE empties the WAL (its size shrinks); after RESTART the next writer overwrites the
    WAL from its start, so the file can keep its size."""
    add_run(workspace, project, candidates=4, checkpoint=checkpoint)
    assert totals(workspace) == (1, 1.0, 4)
    add_run(workspace, project, candidates=1, checkpoint="none")  # the WAL restarts from frame 1
    assert totals(workspace) == (2, 1.25, 5)
    add_run(workspace, project, candidates=1, checkpoint=checkpoint)
    assert totals(workspace) == (3, 1.5, 6)


def test_data_version_alone_catches_commits_in_one_timestamp_tick(workspace, project, fresh_engine, monkeypatch):
    """Two commits inside one coarse mtime tick, with the WAL's size unchanged, look identical to
    file stats: freeze every stat and the probe's PRAGMA data_version must still see each commit."""
    frozen: dict[str, object] = {}
    real_stat = snapshot_cache._stat

    def frozen_stat(path):
        key = str(path)
        if key not in frozen:
            try:
                frozen[key] = real_stat(path)
            except FileNotFoundError:
                frozen[key] = None
        if frozen[key] is None:
            raise FileNotFoundError(key)
        return frozen[key]

    monkeypatch.setattr(snapshot_cache, "_stat", frozen_stat)
    assert totals(workspace) == (0, 0.0, 0)
    add_run(workspace, project, candidates=2)
    assert totals(workspace) == (1, 0.5, 2)
    add_run(workspace, project, candidates=2, checkpoint="TRUNCATE")
    assert totals(workspace) == (2, 1.0, 4)


def test_an_open_session_sees_each_commit_on_its_next_query(workspace, project, fresh_engine):
    with analytics.open_session(workspace) as session:
        count = "SELECT COUNT(*) AS n FROM run_candidates"
        assert session.query(count)["n"].iloc[0] == 0
        add_run(workspace, project, candidates=3)
        assert session.query(count)["n"].iloc[0] == 3


# --------------------------------------------------------------------------- identical frames

def test_snapshot_frames_are_identical_to_reading_the_catalog_directly(real):
    """Same columns, dtypes and values as the attached catalog gave before: the dashboard SQL,
    every view, and every catalog table (sql() serves them from the snapshot too)."""
    tables = [row["name"] for row in real.rows(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    cases = {**WORKSPACE_WIDE, **{table: f"SELECT * FROM {table} ORDER BY ALL" for table in tables}}
    for name, sql in cases.items():
        got = analytics.sql(real.ws, sql)
        pd.testing.assert_frame_equal(got, direct(real.ws, sql), obj=name)
    assert len(analytics.sql(real.ws, "SELECT * FROM v_candidates")) == 32


def test_snapshot_and_sqlite_engines_agree_on_workspace_wide_sql(real):
    with analytics.open_session(real.ws) as session:
        for name, sql in WORKSPACE_WIDE.items():
            if name.startswith("v_"):
                continue  # ORDER BY ALL is DuckDB's
            pd.testing.assert_frame_equal(session.query(sql), session.query(sql, engine="sqlite"), obj=name)


def test_fallback_snapshot_gives_the_same_frames_and_stays_fresh(real, workspace, project, fresh_engine,
                                                                 monkeypatch):
    expected = {name: analytics.sql(real.ws, sql) for name, sql in WORKSPACE_WIDE.items()}
    monkeypatch.setenv(EXTENSION_ENV, "off")
    analytics.reset_engine()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the once-per-process fallback warning
        assert not analytics.uses_sqlite_scanner(real.ws)
    for name, sql in WORKSPACE_WIDE.items():
        pd.testing.assert_frame_equal(analytics.sql(real.ws, sql), expected[name], obj=name)
    assert snapshot_info(real.ws).scanner is False and snapshot_info(real.ws).rows["run_candidates"] == 32

    assert totals(workspace) == (0, 0.0, 0)
    add_run(workspace, project, candidates=3)
    assert totals(workspace) == (1, 0.75, 3)


# --------------------------------------------------------------------------- locks

def test_no_read_transaction_or_attachment_is_left_after_calls(real):
    from tests.analytics.test_session import NAMED, write_from_another_process

    for call in NAMED.values():
        call(real.ws, real.runs)
    refresh_snapshot(real.ws)
    # BEGIN IMMEDIATE with no busy timeout, then a TRUNCATE checkpoint that no reader may block.
    assert write_from_another_process(real.ws) == 0
    databases = set(get_engine(real.ws.home).database.execute(
        "SELECT database_name FROM duckdb_databases()").df()["database_name"])
    assert not {name for name in databases if name.startswith("kroma_")}  # the copy's attachment is gone
    cache = snapshot.catalog_cache(get_engine(real.ws.home), real.ws.catalog_path)
    assert cache._probe is not None and not cache._probe.in_transaction  # the probe: open, idle


def test_a_writer_never_waits_during_a_copy_by_the_child(workspace, project, fresh_engine, monkeypatch, tmp_path):
    """The child copying through sqlite_scanner runs a writer (BEGIN IMMEDIATE, no busy timeout)
    right after its first table, its catalog attachment still open."""
    add_run(workspace, project, candidates=2)
    result = tmp_path / "writer.json"
    writer = [sys.executable, "-c", WRITER, str(workspace.catalog_path), project["id"], "1", "1.0", "none"]
    (tmp_path / "hooked_copy.py").write_text(  # the real child module, its copy_table wrapped
        "import json, os, pathlib, subprocess\n"
        "import kroma_kit.analytics.snapshot_copy as child\n"
        "real = child.copy_table\n"
        "def hooked(con, columns, table):\n"
        "    result = real(con, columns, table)\n"
        "    done_file = pathlib.Path(os.environ['KROMA_TEST_RESULT'])\n"
        "    try:\n"  # copy threads finish tables at once: exactly one of them runs the writer
        "        os.close(os.open(f'{done_file}.claim', os.O_CREAT | os.O_EXCL))\n"
        "        first = True\n"
        "    except FileExistsError:\n"
        "        first = False\n"
        "    if first:\n"
        "        done = subprocess.run(json.loads(os.environ['KROMA_TEST_WRITER']), capture_output=True, text=True)\n"
        "        done_file.write_text(json.dumps([done.returncode, done.stderr]))\n"
        "    return result\n"
        "child.copy_table = hooked\n"
        "child.main()\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    monkeypatch.setattr(snapshot_fill, "CHILD_MODULE", "hooked_copy")
    monkeypatch.setenv("KROMA_TEST_WRITER", json.dumps(writer))
    monkeypatch.setenv("KROMA_TEST_RESULT", str(result))
    analytics.project_overview(workspace)  # the copy; the writer ran inside it
    assert json.loads(result.read_text()) == [0, ""]
    monkeypatch.setattr(snapshot_fill, "CHILD_MODULE", "kroma_kit.analytics.snapshot_copy")
    assert totals(workspace) == (2, 1.5, 3)  # the write made during the copy shows on the next call


def test_a_writer_never_waits_during_a_fallback_copy(workspace, project, fresh_engine, monkeypatch):
    """Without the extension the copy is one sqlite3 read transaction in this process: a writer
    commits in the middle of it."""
    monkeypatch.setenv(EXTENSION_ENV, "off")
    analytics.reset_engine()
    with pytest.warns(RuntimeWarning, match="falls back"):
        assert not analytics.uses_sqlite_scanner(workspace)
    add_run(workspace, project, candidates=2)
    writes = []
    original = snapshot_fill.copy_rows

    def copy_then_write(*args):
        count = original(*args)
        if not writes:  # the read transaction is open, other tables still to go
            writes.append(add_run(workspace, project, candidates=1, cost=1.0))
        return count

    monkeypatch.setattr(snapshot_fill, "copy_rows", copy_then_write)
    analytics.project_overview(workspace)
    assert writes == [0]
    monkeypatch.setattr(snapshot_fill, "copy_rows", original)
    assert totals(workspace) == (2, 1.5, 3)


# --------------------------------------------------------------------------- in-place refresh

def write(ws, *statements: str) -> None:
    """Commit ``statements`` as one transaction, as any writer of the catalog does."""
    conn = sqlite3.connect(ws.catalog_path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for statement in statements:
            conn.execute(statement)
        conn.execute("COMMIT")
    finally:
        conn.close()


def every_table(ws) -> list[str]:
    conn = sqlite3.connect(ws.catalog_path)
    try:
        return [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    finally:
        conn.close()


def snapshot_tables(ws, tables: list[str]) -> dict[str, pd.DataFrame]:
    """Every table as this process's (refreshed) snapshot holds it, sorted."""
    engine = get_engine(ws.home)
    with snapshot.snapshot(engine, ws.catalog_path, " ".join(tables)) as search_path:
        return _read_tables(engine, search_path, tables)


def fresh_copy_tables(ws, tables: list[str]) -> dict[str, pd.DataFrame]:
    """Every table as a brand-new cache copies it whole, sorted."""
    engine = get_engine(ws.home)
    cache = CatalogCache(engine, ws.catalog_path)
    try:
        generation = cache.acquire_generation(" ".join(tables))
        try:
            assert cache.refreshes == 0 and cache.builds == 1
            return _read_tables(engine, generation.search_path, tables)
        finally:
            cache.release(generation)
    finally:
        cache.close()


def _read_tables(engine, search_path: str, tables: list[str]) -> dict[str, pd.DataFrame]:
    cur = engine.database.cursor()
    try:
        cur.execute(f"SET search_path = '{search_path}'")
        return {table: cur.execute(f'SELECT * FROM "{table}" ORDER BY ALL').df() for table in tables}
    finally:
        cur.close()


def assert_snapshot_is_a_fresh_copy(ws) -> None:
    tables = every_table(ws)
    mine, fresh = snapshot_tables(ws, tables), fresh_copy_tables(ws, tables)
    for table in tables:
        pd.testing.assert_frame_equal(mine[table], fresh[table], obj=table)


@pytest.mark.parametrize("extension", ["scanner", "off"])
def test_in_place_refreshes_equal_a_fresh_copy_of_every_table(workspace, project, fresh_engine, monkeypatch,
                                                              extension):
    """Inserts, updates of existing rows (run status, candidate verdict and metrics, NULLs, big
    integers, an UPSERT's DO UPDATE, a key change) are applied in place; a delete copies whole;
    after each step every catalog table equals a whole fresh copy."""
    if extension == "off":
        monkeypatch.setenv(EXTENSION_ENV, "off")
        analytics.reset_engine()
        with pytest.warns(RuntimeWarning, match="falls back"):
            assert not analytics.uses_sqlite_scanner(workspace)
    add_run(workspace, project, candidates=3)
    assert_snapshot_is_a_fresh_copy(workspace)  # every table, copied whole once
    first = snapshot_info(workspace)
    assert set(first.rows) == set(every_table(workspace))
    steps = [
        lambda: add_run(workspace, project, candidates=24, cost=0.04),
        lambda: write(workspace,
                      "UPDATE runs SET status = 'failed', status_reason = 'stopped', finished_at = 'x' "
                      "WHERE rowid = (SELECT min(rowid) FROM runs)",
                      "UPDATE run_candidates SET status = 'failed_output_guard', rank_hard_failures = 1, "
                      "chroma_delta = 7.25, seed = 4611686018427387904, latency_ms = NULL "
                      "WHERE rowid IN (SELECT rowid FROM run_candidates ORDER BY rowid LIMIT 2)",
                      f"UPDATE projects SET description = 'renamed' WHERE id = '{project['id']}'"),
        lambda: (add_run(workspace, project, candidates=1),
                 write(workspace,
                       "INSERT INTO cost_events (id, project_id, provider_code, operation_code, cost_usd, event_key, "
                       f"created_at) SELECT 'upserted', '{project['id']}', 'local', 'image_generation', 9.5, "
                       "event_key, 'now' FROM cost_events WHERE rowid = (SELECT min(rowid) FROM cost_events) "
                       "ON CONFLICT (project_id, event_key) DO UPDATE SET cost_usd = excluded.cost_usd",
                       "UPDATE run_jobs SET meta_json = '{\"winner_reason\": \"picked\"}', "
                       "selected_candidate_index = NULL WHERE rowid = (SELECT max(rowid) FROM run_jobs)",
                       "INSERT INTO audit_events (id, event_code, created_at) VALUES ('audit-1', 'test', 'now')")),
    ]
    for number, step in enumerate(steps, start=1):
        step()
        assert_snapshot_is_a_fresh_copy(workspace)
        info = snapshot_info(workspace)
        assert (info.builds, info.refreshes) == (first.builds, first.refreshes + number), number
    write(workspace, "UPDATE run_candidates SET id = 'rekeyed' WHERE rowid = (SELECT max(rowid) FROM run_candidates)")
    assert_snapshot_is_a_fresh_copy(workspace)  # the old key is gone: a whole copy, not a stale row
    assert snapshot_info(workspace).builds == first.builds + 1
    write(workspace, "DELETE FROM run_candidates WHERE rowid = (SELECT max(rowid) FROM run_candidates)",
          "INSERT INTO audit_events (id, event_code, created_at) VALUES ('audit-2', 'test', 'now')")
    assert_snapshot_is_a_fresh_copy(workspace)
    assert snapshot_info(workspace).builds == first.builds + 2
    assert totals(workspace) == (3, 11.21, 27)  # 1.96 run costs, one 0.25 event upserted to 9.5


def test_a_change_log_pruned_past_the_snapshot_makes_a_whole_copy(workspace, project, fresh_engine):
    """The log keeps only recent changes: when the entries a snapshot has not applied yet were
    pruned, an update is no longer traceable, so the snapshot is copied again whole, not left stale."""
    add_run(workspace, project, candidates=2)
    assert totals(workspace) == (1, 0.5, 2)
    before = snapshot_info(workspace)
    write(workspace, "UPDATE run_candidates SET cost_usd = 5 WHERE rowid = (SELECT min(rowid) FROM run_candidates)",
          "UPDATE cost_events SET cost_usd = 5 WHERE rowid = (SELECT min(rowid) FROM cost_events)",
          "UPDATE runs SET status = 'failed'")
    write(workspace, "DELETE FROM kroma_row_changes WHERE seq < (SELECT max(seq) FROM kroma_row_changes)")  # pruned
    assert totals(workspace) == (1, 5.25, 2)
    after = snapshot_info(workspace)
    assert (after.builds, after.refreshes) == (before.builds + 1, before.refreshes)
    assert_snapshot_is_a_fresh_copy(workspace)


def test_a_table_without_change_triggers_is_reread_whole_on_each_refresh(workspace, project, fresh_engine):
    """A later migration's table the change log does not cover: an UPDATE leaves no trace, so a
    refresh re-reads that table whole (and still applies the others' changes in place)."""
    write(workspace, "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT)", "INSERT INTO notes VALUES ('a', 'one')")
    assert analytics.sql(workspace, "SELECT body FROM notes")["body"].tolist() == ["one"]
    before = snapshot_info(workspace)
    write(workspace, "UPDATE notes SET body = 'two'", "INSERT INTO notes VALUES ('b', 'three')")
    assert analytics.sql(workspace, "SELECT body FROM notes ORDER BY id")["body"].tolist() == ["two", "three"]
    after = snapshot_info(workspace)
    assert (after.builds, after.refreshes, after.rows["notes"]) == (before.builds, before.refreshes + 1, 2)
    assert_snapshot_is_a_fresh_copy(workspace)


# --------------------------------------------------------------------------- lifecycle

def test_one_project_calls_run_in_sqlite_and_copy_nothing(workspace, project, fresh_engine):
    add_run(workspace, project, candidates=2)
    run_id = analytics.runs_table(workspace, "demo")["run_id"].iloc[0]
    analytics.project_summary(workspace, "demo")
    analytics.qa_pass_rate_by_stage(workspace, "demo")
    analytics.candidates(workspace, run_id=run_id)
    analytics.run_detail(workspace, run_id)
    info = snapshot_info(workspace)
    assert info.builds == 0 and info.databases == () and info.rows == {}


def test_view_tables_are_copied_together_and_others_on_demand(workspace, project, fresh_engine):
    add_run(workspace, project, candidates=2)
    analytics.sql(workspace, "SELECT COUNT(*) FROM runs")
    assert set(snapshot_info(workspace).rows) == snapshot.VIEW_TABLES  # one copy serves the dashboard
    analytics.project_overview(workspace)
    analytics.sql(workspace, "SELECT * FROM v_candidates")
    assert len(snapshot_info(workspace).databases) == 1
    conn = workspace.connect()
    try:
        events = conn.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0]
    finally:
        conn.close()
    assert events > 0  # creating the project and ingesting the run were audited
    assert analytics.sql(workspace, "SELECT COUNT(*) AS n FROM audit_events")["n"].iloc[0] == events
    info = snapshot_info(workspace)
    assert set(info.rows) == snapshot.VIEW_TABLES | {"audit_events"} and len(info.databases) == 2
    assert info.builds == 1 and info.rows["run_candidates"] == 2  # same generation, filled on demand
    assert analytics.sql(workspace, "SELECT 42 AS answer")["answer"].iloc[0] == 42  # no table, no copy
    assert snapshot_info(workspace).rows == info.rows


def test_old_generations_are_detached(workspace, project, fresh_engine):
    for _ in range(3):
        add_run(workspace, project, candidates=1)
        write(workspace, "DELETE FROM cost_events WHERE rowid = (SELECT max(rowid) FROM cost_events)")
        analytics.project_overview(workspace)  # a delete makes a new whole copy
    info = snapshot_info(workspace)
    assert info.builds == 3 and info.fresh
    attached = set(get_engine(workspace.home).database.execute(
        "SELECT database_name FROM duckdb_databases()").df()["database_name"])
    assert {name for name in attached if name.startswith(snapshot.SNAPSHOT_PREFIX)} == set(info.databases)
    assert len(info.databases) == 1 and len({name for name in attached if name.startswith(snapshot.SHAPE_PREFIX)}) == 1
    folder = Path(info_folder(workspace))
    assert [file.stem for file in folder.glob("*.duckdb")] == list(info.databases)  # older files deleted
    analytics.reset_engine()
    assert not folder.exists()


def test_analytics_sql_cannot_change_the_snapshot(workspace, project, fresh_engine):
    add_run(workspace, project, candidates=2)
    for statement in ("DELETE FROM run_candidates", "DROP TABLE runs", "CREATE TABLE runs2 AS SELECT 1",
                      "SELECT 1; DELETE FROM runs", f"DETACH {snapshot.SHAPE_PREFIX}1"):
        with pytest.raises(analytics.AnalyticsError, match="read-only"):
            analytics.sql(workspace, statement)
    assert totals(workspace) == (1, 0.5, 2)


def test_threads_share_one_build(workspace, project, fresh_engine):
    add_run(workspace, project, candidates=3)
    with ThreadPoolExecutor(max_workers=6) as pool:
        frames = list(pool.map(lambda _i: analytics.project_overview(workspace), range(12)))
    assert snapshot_info(workspace).builds == 1
    for frame in frames:
        pd.testing.assert_frame_equal(frame, frames[0])
    assert frames[0]["total_runs"].iloc[0] == 1


def test_folders_of_dead_processes_are_swept_and_live_ones_kept(tmp_path, monkeypatch):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(done.stdout)  # that process has exited
    dead = tmp_path / f"{snapshot.FOLDER_PREFIX}{dead_pid}-abc"
    mine = tmp_path / f"{snapshot.FOLDER_PREFIX}{os.getpid()}-def"
    parent = tmp_path / f"{snapshot.FOLDER_PREFIX}{os.getppid()}-ghi"
    other = tmp_path / "kroma-snapshot-notapid-x"
    for folder in (dead, mine, parent, other):
        folder.mkdir()
        (folder / "s_1_1.duckdb").write_bytes(b"copy")
    monkeypatch.setattr(snapshot_temp, "_swept", False)
    assert snapshot.sweep_stale_folders(tmp_path) == [dead]
    assert not dead.exists() and mine.exists() and parent.exists() and other.exists()
    assert snapshot.sweep_stale_folders(tmp_path) == []  # once per process
