"""The bookkeeping every real sync shares, push or pull: a ``sync_runs`` row opened before the
first byte moves, and on every way out (done, partly failed, error, Ctrl-C) that row finished
and an audit event written with the counts, the progress bar closed and the connection closed.
A dry run records nothing."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kroma_kit.catalog import sync_state
from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.db import connect
from kroma_kit.sync.report import SyncProgress, SyncReport
from kroma_kit.workspace import Workspace


@contextmanager
def recorded_sync(ws: Workspace, project: dict[str, Any], report: SyncReport, destination: str,
                  progress: SyncProgress, *, triggered_by: str,
                  run_id: str | None = None) -> Iterator[sqlite3.Connection | None]:
    """Yield the catalog connection the sync records its files with (None for a dry run)."""
    started = time.monotonic()
    conn = None if report.dry_run else connect(ws.catalog_path)
    try:
        if conn is not None:
            report.sync_id = sync_state.start_sync_run(conn, project["id"], report.direction, destination,
                                                       dry_run=False, triggered_by=triggered_by, run_id=run_id)
        try:
            yield conn
        except BaseException as exc:
            report.seconds = time.monotonic() - started
            if conn is not None:
                record_sync(conn, project["id"], report.sync_id, report, "failed",
                            "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc))
            raise
        report.seconds = time.monotonic() - started
        if conn is not None:
            record_sync(conn, project["id"], report.sync_id, report, report.status,
                        f"{len(report.failed)} file(s) failed" if report.failed else None)
    finally:
        progress.close()
        if conn is not None:
            conn.close()


def record_sync(conn: Any, project_id: str, sync_id: str | None, report: SyncReport, status: str,
                error: str | None) -> None:
    counts = report.counts()
    if sync_id is not None:
        sync_state.finish_sync_run(conn, sync_id, status, {**counts, "failed_paths": sorted(report.failed)[:50]},
                                   error)
    record_event(conn, f"sync.{report.direction}", {**counts, "status": status, "destination": report.destination,
                                                    "error": error}, project_id=project_id)
