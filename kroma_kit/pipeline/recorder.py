"""Mirroring a run log into the catalog while the run goes on, off the workers' critical path.

Workers only say "job X changed"; one background thread (with its own connection, so no
connection ever crosses threads) writes the newest state of every changed job in one short
transaction, coalescing bursts (it waits ``GATHER_S`` for the rest of a burst). A paid call
therefore never waits on SQLite, and ten candidates settling at once cost one transaction, not
ten. The run log stays the record: a catalog hiccup is logged and retried on the next change, and
the run's final ingest brings the catalog level with the log whatever happened before. No error
ends the thread: a dead mirror would leave the catalog silent for the rest of the run.

Each job is copied from the live log right before it is written, inside the catalog transaction,
after adopting any winner override another process wrote (that override is committed in its own
transaction, under the same locks), so the mirror never writes back a choice the artist replaced.
Files still move under a copy: a worker archives a guard failure while its job is being written;
the ingestor then finds the file where the live log says it is now (:meth:`RunLog.job_snapshot`).
The audit events of files a worker archived ride the same transactions (:meth:`CatalogRecorder.
audit_moves`), so no worker opens a connection of its own and waits on SQLite's write lock.

It remembers the JSON text of every job it committed (:meth:`CatalogRecorder.mirrored_jobs`), so
the run's final ingest writes only the jobs that changed since: the rows of the others are already
exactly what that ingest would write. A job whose write noted a missing file is not remembered
(the final ingest looks again), nor is a write that rolled back.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.db import transaction
from kroma_kit.catalog.run_ingest import Ingestor
from kroma_kit.pipeline.runlog import RunLog
from kroma_kit.security.audit_hooks import ARCHIVED, archive_moves_event
from kroma_kit.workspace import ProjectLayout, Workspace

log = logging.getLogger(__name__)
ALL_JOBS = "*"
# How long a write waits for the changes that follow the first one. While workers run side by
# side, candidates settle in bursts (a wave of calls answered together): one transaction for the
# burst instead of one per candidate, and less of the mirror's CPU (and GIL) competing with the
# workers. A dashboard cannot tell 100 ms.
GATHER_S = 0.1
NO_JOB = ""  # a write for queued audit events only (no job id is empty)


class CatalogRecorder:
    """Background catalog writer for one run. ``record`` never blocks on the database;
    ``record_now`` writes synchronously (the run's first row); ``close`` flushes and stops."""

    def __init__(self, ws: Workspace, project: dict[str, Any], runlog: RunLog) -> None:
        self.ws = ws
        self.project = project
        self.runlog = runlog
        self._assets: dict[str, str] = {}
        self._dirty: set[str] = set()
        self._retry: set[str] = set()  # jobs of a failed write: written again with the next change
        self._events: list[dict[str, Any]] = []  # audit payloads waiting for the next transaction
        self._mirrored: dict[str, bytes] = {}  # job id -> its JSON text as last committed
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None

    def record(self, job_id: str | None = None) -> None:
        self._mark(job_id or ALL_JOBS)

    def _mark(self, token: str) -> None:
        with self._cond:
            self._dirty.add(token)
            if self._thread is None and not self._closing:
                self._thread = threading.Thread(target=self._loop, name="kroma-catalog", daemon=True)
                self._thread.start()
            self._cond.notify()

    def audit_moves(self, moves: list[dict[str, Any]], *, reason: str) -> None:
        """Queue the ``files.archived`` audit event of files a worker moved; it is written in the
        mirror's next transaction (with the job rows that say where the files went), so a worker
        never waits on SQLite for it. ``close`` writes what is still queued."""
        payload = archive_moves_event(moves, reason=reason, run_id=self.runlog.run_id)
        if payload is None:
            return
        with self._cond:
            self._events.append(payload)
        self._mark(NO_JOB)

    def record_now(self) -> None:
        conn = self.ws.connect()
        try:
            self._write(conn, {ALL_JOBS})
        finally:
            conn.close()

    def close(self, *, flush: bool = True) -> None:
        """Stop the mirror. ``flush=False``: the jobs still waiting for their write are left to
        the run's final ingest, which writes every job not mirrored as it now is anyway (writing
        them here first was the same rows twice, on the run's critical path). Queued audit events
        are written either way: the final ingest does not know them."""
        with self._cond:
            self._closing = True
            if not flush:
                self._dirty.clear()
                self._retry.clear()
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        if self._events:  # the last write failed, or was left to the final ingest: the audit events still go in
            conn = self.ws.connect()
            try:
                with transaction(conn):
                    for payload in self._events:
                        record_event(conn, ARCHIVED, payload, project_id=self.project["id"])
                self._events.clear()
            finally:
                conn.close()

    def mirrored_jobs(self) -> dict[str, bytes]:
        """Job id -> the job's JSON text whose rows this recorder committed last (call after
        :meth:`close`): what the final ingest need not write again while the job still equals it."""
        with self._cond:
            return dict(self._mirrored)

    def _loop(self) -> None:
        conn = self.ws.connect()
        try:
            while True:
                with self._cond:
                    while not self._dirty and not self._closing:
                        self._cond.wait()
                    if not self._dirty and self._closing:
                        return
                    deadline = time.monotonic() + GATHER_S
                    while not self._closing and (left := deadline - time.monotonic()) > 0:
                        self._cond.wait(timeout=left)
                    if self._closing and not (self._dirty or self._retry):
                        return  # closed without a flush while gathering: nothing of it is written
                    dirty, self._dirty = self._dirty | self._retry, set()
                    self._retry = set()
                try:
                    self._write(conn, dirty)
                except Exception as exc:  # noqa: BLE001 - the mirror must outlive any one bad write
                    log.warning("catalog update for run %s deferred: %s: %s", self.runlog.run_id,
                                type(exc).__name__, exc, exc_info=not isinstance(exc, sqlite3.Error))
                    self._assets = {}  # ids registered in the rolled-back transaction are not in the catalog
                    with self._cond:
                        self._retry |= dirty
        finally:
            conn.close()

    def _write(self, conn: sqlite3.Connection, dirty: set[str]) -> None:
        rel = ProjectLayout(Path(self.project["root"])).relative(self.runlog.path)
        everything = ALL_JOBS in dirty
        with self._cond:
            events = list(self._events)
        with transaction(conn):
            for payload in events:
                record_event(conn, ARCHIVED, payload, project_id=self.project["id"])
            # One consistent copy of the run's fields, the changed jobs and their cost events
            # (typed, read as fields below): job rows and cost rows always come from the same moment.
            copy = self.runlog.mirror_copy(None if everything else dirty)
            snapshot = copy.log
            ingestor = Ingestor(conn, self.project, current_job=self.runlog.job_snapshot)
            ingestor.assets = self._assets
            ingestor.run_row(snapshot, rel, counts=(copy.jobs_total, copy.jobs_done))
            written: dict[str, bytes | None] = {}
            for job in snapshot.jobs:
                missing = ingestor.counts["missing_files"]
                ingestor.job(snapshot, job)
                written[job.id] = job.to_json_bytes() if ingestor.counts["missing_files"] == missing else None
            # A job's cost events are booked before the change that marks it, so the copy has them.
            ingestor.cost_events(snapshot)
        with self._cond:  # committed: not written again
            del self._events[:len(events)]
            for job_id, job in written.items():
                if job is None:
                    self._mirrored.pop(job_id, None)
                else:
                    self._mirrored[job_id] = job
