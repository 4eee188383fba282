"""Mirroring a run log into the catalog while the run goes on, off the workers' critical path.

Workers only say "job X changed"; one background thread (with its own connection, so no
connection ever crosses threads) writes the newest state of every changed job in one short
transaction, coalescing bursts. A paid call therefore never waits on SQLite, and ten candidates
settling at once cost one transaction, not ten. The run log stays the record: a catalog hiccup is
logged and retried on the next change, and the run's final ingest brings the catalog level with
the log whatever happened before.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from kroma_kit.catalog.db import transaction
from kroma_kit.pipeline.runlog import RunLog
from kroma_kit.workspace import ProjectLayout, Workspace

log = logging.getLogger(__name__)
ALL_JOBS = "*"


class CatalogRecorder:
    """Background catalog writer for one run. ``record`` never blocks on the database;
    ``record_now`` writes synchronously (the run's first row); ``close`` flushes and stops."""

    def __init__(self, ws: Workspace, project: dict[str, Any], runlog: RunLog) -> None:
        self.ws = ws
        self.project = project
        self.runlog = runlog
        self._assets: dict[str, str] = {}
        self._dirty: set[str] = set()
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None

    def record(self, job_id: str | None = None) -> None:
        with self._cond:
            self._dirty.add(job_id or ALL_JOBS)
            if self._thread is None and not self._closing:
                self._thread = threading.Thread(target=self._loop, name="kroma-catalog", daemon=True)
                self._thread.start()
            self._cond.notify()

    def record_now(self) -> None:
        conn = self.ws.connect()
        try:
            self._write(conn, {ALL_JOBS})
        finally:
            conn.close()

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        conn = self.ws.connect()
        try:
            while True:
                with self._cond:
                    while not self._dirty and not self._closing:
                        self._cond.wait()
                    if not self._dirty and self._closing:
                        return
                    dirty, self._dirty = self._dirty, set()
                try:
                    self._write(conn, dirty)
                except sqlite3.Error as exc:
                    log.warning("catalog update for run %s deferred: %s", self.runlog.run_id, exc)
        finally:
            conn.close()

    def _write(self, conn: sqlite3.Connection, dirty: set[str]) -> None:
        from kroma_kit.catalog.run_ingest import Ingestor

        snapshot = self.runlog.snapshot()
        rel = ProjectLayout(Path(self.project["root"])).relative(self.runlog.path)
        everything = ALL_JOBS in dirty
        with transaction(conn):
            ingestor = Ingestor(conn, self.project)
            ingestor.assets = self._assets
            ingestor.run_row(snapshot, rel)
            for job in snapshot["jobs"]:
                if everything or job["id"] in dirty:
                    ingestor.job(snapshot, job)
            ingestor.cost_events(snapshot)
