"""S3-first writes: in a project whose storage mode is ``s3``, each output goes to the bucket as it
is made, at its project-relative key (``s3://bucket/prefix/slug/<rel_path>``) with its sha256 in
the object metadata, the sync state and the asset row; the local root is then only a cache
(:mod:`kroma_kit.sync.files` reads it back and evicts it).

An upload that fails never loses work: the file stays on disk, is recorded in
``storage_pending_uploads`` (so eviction keeps it), and is retried by the next output written and by
``kroma sync push``. Writers call :func:`put_outputs` at the one point where an output is final;
in any other mode it returns at once without touching S3.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.catalog import s3_files, sync_state
from kroma_kit.catalog.db import connect, transaction
from kroma_kit.catalog.sync_state import storage_row
from kroma_kit.errors import StorageError
from kroma_kit.storage import s3
from kroma_kit.sync.policy import s3_credentials, s3_location, storage_mode
from kroma_kit.workspace import Workspace

log = logging.getLogger(__name__)

# Write-through runs on the run's worker threads: fail fast and leave the retry to the next write
# or push instead of holding a candidate for a minute of backoff.
WRITE_THROUGH = s3.TransferSettings(max_attempts=2, connect_timeout_s=3.0, read_timeout_s=60.0)


@dataclass
class PutReport:
    """What one :func:`put_outputs` call did: keys uploaded now, already up, or left pending."""

    mode: str = "local"
    uploaded: dict[str, str] = field(default_factory=dict)  # rel_path -> sha256
    unchanged: list[str] = field(default_factory=list)
    pending: dict[str, str] = field(default_factory=dict)  # rel_path -> error
    retried: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "uploaded": len(self.uploaded), "unchanged": len(self.unchanged),
                "pending": dict(sorted(self.pending.items())), "retried_pending": self.retried}


def is_s3_first(ws: Workspace, project: dict[str, Any]) -> bool:
    conn = connect(ws.catalog_path, read_only=True)
    try:
        return storage_mode(storage_row(conn, project["id"])) == "s3"
    finally:
        conn.close()


def pending_uploads(ws: Workspace, project: dict[str, Any]) -> list[dict[str, Any]]:
    conn = connect(ws.catalog_path, read_only=True)
    try:
        return s3_files.list_pending(conn, project["id"])
    finally:
        conn.close()


def put_outputs(ws: Workspace, project: dict[str, Any], rel_paths: list[str], *, run_id: str | None = None,
                settings: s3.TransferSettings | None = None, retry_pending: bool = True) -> PutReport:
    """Upload the files at ``rel_paths`` (project-relative) when the project is S3-first.

    Paths that are no longer files (moved to an archive meanwhile) are skipped; one already in the
    bucket with the same sha256, size and mtime is not sent again. After a clean batch, uploads
    left pending by earlier failures are retried. Never raises for S3 trouble: it shows in the
    report's ``pending`` and in the catalog.
    """
    report = PutReport()
    if not is_s3_first(ws, project):
        return report
    report.mode = "s3"
    root = Path(project["root"])
    location = s3_location(ws, project)
    settings = settings or WRITE_THROUGH
    conn = connect(ws.catalog_path)
    try:
        state = {row["rel_path"]: row for row in sync_state.load_state(conn, project["id"], location.destination)}
        todo = _unique(rel_paths)
        if retry_pending:
            pending = [row["rel_path"] for row in s3_files.list_pending(conn, project["id"])]
            report.retried = len([rel for rel in pending if rel not in todo])
            todo += [rel for rel in pending if rel not in todo]
        client = None
        unreachable: str | None = None
        for rel in todo:
            path = root / rel
            if not path.is_file():
                continue
            info = path.stat()
            known = state.get(rel)
            if known and (known["size_bytes"], known["mtime_ns"]) == (info.st_size, info.st_mtime_ns):
                # the bytes our last upload or verified fetch recorded (as `kroma sync push` trusts them)
                report.unchanged.append(rel)
                with transaction(conn):
                    _settled(conn, project["id"], {}, [rel])
                continue
            sha = s3.sha256_file(path)
            error = unreachable
            if error is None:
                try:
                    client = client or s3.make_client(location, settings=settings,
                                                      credentials=s3_credentials(ws, project["id"], location))
                    etag = s3.upload_file(client, location, path, location.key(rel), sha, settings=settings,
                                          content_type=mimetypes.guess_type(rel)[0])
                except s3.s3_errors() as exc:
                    error = s3.describe_error(exc, "upload", location, location.key(rel))
                    if "cannot reach the endpoint" in error:
                        unreachable = error  # the rest of the batch would only wait for the same timeout
                except StorageError as exc:
                    error = str(exc)
                    unreachable = error
            if error is not None:
                report.pending[rel] = error
                with transaction(conn):
                    s3_files.mark_pending(conn, project["id"], rel, sha256=sha, size_bytes=info.st_size,
                                          error=error, run_id=run_id)
                continue
            with transaction(conn):
                sync_state.save_state(conn, project["id"], location.destination, rel, size_bytes=info.st_size,
                                      mtime_ns=info.st_mtime_ns, sha256=sha, etag=etag)
                _settled(conn, project["id"], {rel: sha}, [rel])
            report.uploaded[rel] = sha
    finally:
        conn.close()
    if report.pending:
        log.warning("S3-first %s: %d file(s) kept local and pending upload (%s)", project["slug"],
                    len(report.pending), next(iter(report.pending.values())))
    return report


def _settled(conn: Any, project_id: str, uploaded: dict[str, str], rel_paths: list[str]) -> None:
    s3_files.clear_pending(conn, project_id, rel_paths)
    if uploaded:
        s3_files.mark_assets_in_bucket(conn, project_id, uploaded)


def _unique(rel_paths: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for rel in rel_paths:
        if rel:
            seen.setdefault(Path(rel).as_posix(), None)
    return list(seen)
