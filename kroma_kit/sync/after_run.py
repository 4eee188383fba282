"""The post-run push (``storage_sync_s3 = true`` in the pipeline settings): after a real run ends,
mirror the project to S3. A failed push never fails the run: it is logged, written to
``sync_runs`` and the audit trail, and the next push (or ``kroma sync push``) completes it."""

from __future__ import annotations

import logging
from typing import Any

from kroma_kit.catalog import sync_state
from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.db import connect
from kroma_kit.catalog.projects import get_project
from kroma_kit.errors import KromaError
from kroma_kit.sync.policy import s3_location
from kroma_kit.sync.push import push_project
from kroma_kit.workspace import Workspace

log = logging.getLogger(__name__)


def push_after_run(ws: Workspace, slug: str, run_id: str) -> dict[str, Any]:
    """Push ``slug`` for run ``run_id``; answer ``{"status": ..., ...counts}`` or the error. Never raises
    (an interrupt still does: the run itself is already settled and ingested)."""
    try:
        project = get_project(ws, slug)
        s3_location(ws, project)
    except KromaError as exc:
        _record_refused(ws, slug, run_id, str(exc))
        log.warning("post-run S3 push of %s skipped: %s", slug, exc)
        return {"status": "failed", "error": str(exc)}
    try:
        report = push_project(ws, slug, triggered_by="run", run_id=run_id)
    except Exception as exc:  # noqa: BLE001 - recorded by push_project; the run must not fail
        log.warning("post-run S3 push of %s failed: %s", slug, exc)
        return {"status": "failed", "error": str(exc)}
    if report.failed:
        log.warning("post-run S3 push of %s: %d file(s) failed", slug, len(report.failed))
    return {"status": report.status, **report.counts()}


def _record_refused(ws: Workspace, slug: str, run_id: str, error: str) -> None:
    try:
        project = get_project(ws, slug)
    except KromaError:
        return
    conn = connect(ws.catalog_path)
    try:
        sync_id = sync_state.start_sync_run(conn, project["id"], "push", "-", dry_run=False, triggered_by="run",
                                            run_id=run_id)
        sync_state.finish_sync_run(conn, sync_id, "failed", {}, error)
        record_event(conn, "sync.push", {"status": "failed", "error": error, "run_id": run_id},
                     project_id=project["id"])
    finally:
        conn.close()
