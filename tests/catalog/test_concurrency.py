"""One writer process and three reader processes share the catalog, as the CLI, JupyterLab
kernels and Voilà kernels will: zero errors, zero lost rows."""

from __future__ import annotations

import time
from multiprocessing import get_context
from pathlib import Path

from kroma_kit.catalog import open_workspace
from kroma_kit.catalog.db import connect, new_id, transaction, utcnow

WRITES = 2000
READS_PER_READER = 700


def _writer(home: str, project_id: str, count: int) -> dict:
    conn = connect(Path(home) / "catalog.db")
    errors = 0
    for i in range(count):
        try:
            with transaction(conn):
                conn.execute(
                    "INSERT INTO audit_events (id, project_id, event_code, payload_json, created_at) "
                    "VALUES (?, ?, 'test.write', ?, ?)", (new_id(), project_id, f'{{"i": {i}}}', utcnow()))
        except Exception:  # noqa: BLE001 - counted, the assertion is zero
            errors += 1
    return {"errors": errors}


def _reader(home: str, project_id: str, count: int) -> dict:
    """Read until the writer's last row is visible (at least ``count`` reads), counting reads
    that saw the table mid-write: those prove reader and writer really overlapped."""
    conn = connect(Path(home) / "catalog.db", read_only=True)
    errors, last, backwards, reads, overlapped = 0, 0, 0, 0, 0
    deadline = time.monotonic() + 200
    while (reads < count or last < WRITES) and time.monotonic() < deadline:
        reads += 1
        try:
            conn.execute("BEGIN")
            seen = conn.execute("SELECT count(*) FROM audit_events WHERE project_id = ? AND event_code = 'test.write'",
                                (project_id,)).fetchone()[0]
            conn.execute("SELECT max(created_at) FROM audit_events").fetchone()
            conn.execute("COMMIT")
            backwards += seen < last
            overlapped += 0 < seen < WRITES
            last = seen
        except Exception:  # noqa: BLE001
            errors += 1
    return {"errors": errors, "last": last, "backwards": backwards, "reads": reads, "overlapped": overlapped}


def test_one_writer_three_readers_no_errors_no_lost_rows(tmp_path: Path) -> None:
    ws = open_workspace(tmp_path / "home")
    from kroma_kit.catalog.projects import create_project

    project_id = create_project(ws, "busy", "Busy")["id"]
    ctx = get_context("spawn")
    started = time.perf_counter()
    with ctx.Pool(4) as pool:
        writer = pool.apply_async(_writer, (str(ws.home), project_id, WRITES))
        readers = [pool.apply_async(_reader, (str(ws.home), project_id, READS_PER_READER)) for _ in range(3)]
        write_result = writer.get(timeout=240)
        read_results = [r.get(timeout=240) for r in readers]
    assert write_result["errors"] == 0
    assert all(r["errors"] == 0 for r in read_results), read_results
    assert all(r["backwards"] == 0 for r in read_results), read_results
    assert all(r["last"] == WRITES for r in read_results), read_results
    assert sum(r["overlapped"] for r in read_results) > 0, "readers never ran while the writer was writing"
    conn = connect(ws.catalog_path)
    total = conn.execute("SELECT count(*) FROM audit_events WHERE event_code = 'test.write'").fetchone()[0]
    assert total == WRITES
    assert time.perf_counter() - started < 240
