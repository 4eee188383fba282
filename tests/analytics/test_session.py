"""How analytics sessions touch the catalog: the offline extension, the sqlite3 fallback (same
numbers, one warning), ad-hoc SQL over the views and run logs, and no lock held on the catalog."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from kroma_kit import analytics
from kroma_kit.analytics.engine import EXTENSION_ENV, extension_cache_dir
from kroma_kit.errors import KromaError, NotFoundError, StorageError
from kroma_kit.workspace import Workspace

NAMED = {
    "project_overview": lambda ws, runs: analytics.project_overview(ws),
    "runs_table": lambda ws, runs: analytics.runs_table(ws, "demo"),
    "run_detail_jobs": lambda ws, runs: analytics.run_detail(ws, runs["style"].run_id)["jobs"],
    "candidates": lambda ws, runs: analytics.candidates(ws, slug="demo"),
    "qa_pass_rate_by_stage": lambda ws, runs: analytics.qa_pass_rate_by_stage(ws, "demo"),
    "qa_by_run": lambda ws, runs: analytics.qa_by_run(ws, "demo"),
    "cost_by_provider_day": lambda ws, runs: analytics.cost_by_provider_day(ws),
    "cost_by_project": lambda ws, runs: analytics.cost_by_project(ws),
    "budget_vs_actual": lambda ws, runs: analytics.budget_vs_actual(ws, "demo"),
    "estimated_vs_actual": lambda ws, runs: analytics.estimated_vs_actual(ws, "demo"),
    "winner_reasons": lambda ws, runs: analytics.winner_reasons(ws, slug="demo"),
    "sql_run_logs": lambda ws, runs: analytics.sql(ws, "SELECT project, run_id, mode, status FROM run_logs ORDER BY run_id"),
}

WRITER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
conn.execute("PRAGMA busy_timeout = 0")
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO audit_events (id, event_code, payload_json, created_at) "
             "VALUES (lower(hex(randomblob(16))), 'test.writer', '{}', '2026-01-01T00:00:00.000Z')")
conn.execute("COMMIT")
print(conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0])
"""


@pytest.fixture
def fresh_engine():
    """A new process-wide DuckDB database for this test, and a clean one again afterwards."""
    analytics.reset_engine()
    yield
    analytics.reset_engine()


def write_from_another_process(ws: Workspace) -> int:
    """BEGIN IMMEDIATE + INSERT + COMMIT with no busy timeout, then a TRUNCATE checkpoint; returns
    the checkpoint's busy flag (0 = no reader holds a snapshot). Fails if the write is blocked."""
    done = subprocess.run([sys.executable, "-c", WRITER, str(ws.catalog_path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


@pytest.mark.sqlite_only  # SQLite's extension, fallback and locks
def test_extension_is_loaded_offline_from_the_wheel(real, fresh_engine):
    assert analytics.uses_sqlite_scanner(real.ws)
    staged = extension_cache_dir(real.ws.home)
    assert list(staged.glob("v*/sqlite_scanner.duckdb_extension"))
    with analytics.open_session(real.ws) as session:
        loaded = session.query("SELECT install_path, installed_from FROM duckdb_extensions() "
                               "WHERE extension_name = 'sqlite_scanner' AND loaded")
        settings = session.query("SELECT current_setting('autoinstall_known_extensions') AS i, "
                                 "current_setting('autoload_known_extensions') AS l")
    assert len(loaded) == 1 and str(staged) in loaded["install_path"].iloc[0]
    assert loaded["installed_from"].iloc[0].endswith("sqlite_scanner.duckdb_extension")
    assert not settings["i"].iloc[0] and not settings["l"].iloc[0]


@pytest.mark.parametrize("extension", ["garbage", "off"])
@pytest.mark.sqlite_only  # SQLite's extension, fallback and locks
def test_fallback_gives_the_same_numbers_and_warns_once(real, fresh_engine, monkeypatch, tmp_path, caplog,
                                                        extension):
    expected = {name: query(real.ws, real.runs) for name, query in NAMED.items()}
    assert analytics.uses_sqlite_scanner(real.ws)

    if extension == "garbage":
        bogus = tmp_path / "sqlite_scanner.duckdb_extension"
        bogus.write_bytes(b"this is not a DuckDB extension")
        monkeypatch.setenv(EXTENSION_ENV, str(bogus))
    else:
        monkeypatch.setenv(EXTENSION_ENV, "off")
    analytics.reset_engine()
    with caplog.at_level(logging.WARNING, logger="kroma_kit.analytics"):
        with pytest.warns(RuntimeWarning, match="falls back to copying the catalog through Python's sqlite3"):
            first = analytics.project_overview(real.ws)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # once per process: the second call must stay quiet
            got = {name: query(real.ws, real.runs) for name, query in NAMED.items()}
    assert not analytics.uses_sqlite_scanner(real.ws)
    assert len([r for r in caplog.records if "falls back" in r.getMessage()]) == 1
    pd.testing.assert_frame_equal(first, expected["project_overview"])
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(got[name], frame, obj=name)


def test_sql_over_views_tables_and_run_logs(real):
    counts = analytics.sql(real.ws, "SELECT (SELECT COUNT(*) FROM v_candidates) AS c, (SELECT COUNT(*) FROM v_jobs) "
                                    "AS j, (SELECT COUNT(*) FROM v_runs) AS r, (SELECT COUNT(*) FROM v_costs) AS e, "
                                    "(SELECT COUNT(*) FROM v_assets) AS a, (SELECT COUNT(*) FROM run_candidates) AS t")
    for column, table in (("c", "run_candidates"), ("j", "run_jobs"), ("r", "runs"), ("e", "cost_events"),
                          ("a", "assets"), ("t", "run_candidates")):
        assert counts[column].iloc[0] == real.scalar(f"SELECT COUNT(*) FROM {table}")

    logs = analytics.sql(real.ws, "SELECT run_id, project, mode, status, stage, actual_cost_usd, path, "
                                  "json_array_length(log -> '$.jobs') AS jobs FROM run_logs ORDER BY run_id")
    files = sorted((real.root / "runs").glob("*.json"))
    assert len(logs) == len(files) == 5
    for record in logs.to_dict("records"):
        on_disk = json.loads(open(record["path"]).read())
        assert record["run_id"] == on_disk["run_id"] and record["mode"] == on_disk["mode"]
        assert record["jobs"] == len(on_disk["jobs"]) and record["project"] == "demo"
        catalog = real.rows("SELECT status, actual_cost_usd FROM runs WHERE id = ?", (record["run_id"],))[0]
        assert record["status"] == catalog["status"]
        assert record["actual_cost_usd"] == pytest.approx(catalog["actual_cost_usd"])

    joined = analytics.sql(real.ws, "SELECT l.run_id FROM run_logs l JOIN v_runs r USING (run_id) "
                                    "WHERE l.stage = r.stage AND r.project = ?", ["demo"])
    assert len(joined) == 5


def test_sql_errors_are_typed_and_the_catalog_is_read_only(real):
    with pytest.raises(analytics.AnalyticsError, match="nope"):
        analytics.sql(real.ws, "SELECT * FROM nope")
    with pytest.raises(KromaError):
        analytics.sql(real.ws, "DELETE FROM runs")
    assert real.scalar("SELECT COUNT(*) FROM runs") == 5


@pytest.mark.sqlite_only  # SQLite's extension, fallback and locks
def test_no_lock_is_held_during_or_after_sessions(real):
    with analytics.open_session(real.ws) as session:
        before = session.query("SELECT COUNT(*) AS n FROM audit_events")["n"].iloc[0]
        write_from_another_process(real.ws)  # a writer gets the lock while this session is open
        assert session.query("SELECT COUNT(*) AS n FROM audit_events")["n"].iloc[0] == before + 1
    for call in NAMED.values():
        call(real.ws, real.runs)
    assert write_from_another_process(real.ws) == 0  # and no reader snapshot is left behind
    with analytics.open_session(real.ws) as session:
        attached = session.query("SELECT database_name FROM duckdb_databases() WHERE database_name LIKE 'kroma_%'")
    assert len(attached) == 0  # sessions attach no SQLite file; the snapshot's copy attachment is detached


def test_parallel_calls_from_threads_agree(real):
    expected = analytics.project_overview(real.ws)
    with ThreadPoolExecutor(max_workers=4) as pool:
        frames = list(pool.map(lambda _i: analytics.project_overview(real.ws), range(12)))
    for frame in frames:
        pd.testing.assert_frame_equal(frame, expected)


def test_empty_workspace_gives_empty_frames_not_errors(workspace):
    assert len(analytics.project_overview(workspace)) == 0
    assert list(analytics.project_overview(workspace).columns) == [
        "slug", "name", "total_runs", "assets", "cost_usd", "qa_pass_rate", "last_run_at"]
    assert len(analytics.cost_by_project(workspace)) == 0
    assert len(analytics.cost_by_provider_day(workspace)) == 0
    assert len(analytics.candidates(workspace)) == 0
    assert len(analytics.winner_reasons(workspace)) == 0
    assert len(analytics.sql(workspace, "SELECT * FROM run_logs")) == 0
    with pytest.raises(NotFoundError):
        analytics.project_summary(workspace, "demo")


@pytest.mark.sqlite_only  # SQLite's extension, fallback and locks
def test_a_missing_catalog_is_a_clear_error(tmp_path):
    with pytest.raises(StorageError, match="No catalog"):
        analytics.project_overview(Workspace(tmp_path / "nowhere"))


def test_duckdb_and_sqlite_engines_give_identical_frames(real):
    """Selective queries run in SQLite, workspace-wide ones in DuckDB: same columns, same dtypes."""
    from kroma_kit.analytics import costs, queries

    pid = real.scalar("SELECT id FROM projects WHERE slug = 'demo'")
    run_id = real.runs["paid"].run_id
    cases = [
        (queries.OVERVIEW_SQL.format(scope="project_id = ?", where="p.id = ?"), [pid] * 5),
        (queries.RUNS_SQL, [pid]),
        (queries.RUN_JOBS_SQL, [run_id, run_id]),
        ("SELECT * FROM v_runs WHERE run_id = ?", [run_id]),
        (f"SELECT {', '.join(queries.CANDIDATE_COLUMNS)} FROM v_candidates WHERE project_id = ? "
         "ORDER BY run_id, job_key, candidate_index", [pid]),
        (queries.QA_BY_STAGE_SQL.format(where="r.project_id = ?"), [pid]),
        (queries.QA_BY_RUN_SQL, [pid, pid]),
        (queries.CANDIDATE_STATS_SQL.format(where="r.project_id = ?"), [pid]),
        (queries.WINNERS_SQL.format(where="project_id = ?"), [pid]),
        (costs.COST_BY_PROVIDER_DAY_SQL.format(where="p.id = ?"), [pid]),
        (costs.RUN_COSTS_SQL, [pid, pid]),
        ("SELECT * FROM v_assets WHERE project_id = ? ORDER BY asset_id", [pid]),
        ("SELECT * FROM v_costs WHERE project_id = ? ORDER BY cost_event_id", [pid]),
    ]
    with analytics.open_session(real.ws) as session:
        for sql, params in cases:
            in_sqlite = session.query(sql, params, engine="sqlite")
            assert len(in_sqlite) > 0, sql
            pd.testing.assert_frame_equal(in_sqlite, session.query(sql, params), obj=sql[:60])
    pd.testing.assert_frame_equal(analytics.candidates(real.ws), analytics.candidates(real.ws, slug="demo"))
    pd.testing.assert_frame_equal(analytics.winner_reasons(real.ws), analytics.winner_reasons(real.ws, slug="demo"))
