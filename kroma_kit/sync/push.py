"""``kroma sync push``: mirror a project root to ``s3://<bucket>/<prefix>/<slug>/``.

Incremental: a file whose sha256 and size match what the bucket holds is skipped. The local sync
state (size, mtime, sha256 and ETag per key) makes an unchanged project cost one LIST and no
hashing; keys the state does not know are checked against the object's sha256 metadata (HEAD).
Each upload is recorded as it lands, so an interrupted or partly failed push resumes where it
stopped. A push never changes a local file. Every real push leaves a ``sync_runs`` row and an
audit event with its counts.
"""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from kroma_kit.catalog import s3_files, sync_state
from kroma_kit.catalog.db import connect
from kroma_kit.catalog.projects import get_project
from kroma_kit.errors import StorageError
from kroma_kit.storage import s3
from kroma_kit.storage.sync_plan import LocalFile, StateEntry, known_sha, plan_push, scan_local
from kroma_kit.sync.policy import s3_credentials, s3_location
from kroma_kit.sync.report import NoProgress, SyncProgress, SyncReport
from kroma_kit.sync.session import recorded_sync
from kroma_kit.workspace import Workspace


def load_state_map(ws: Workspace, project_id: str, destination: str) -> dict[str, StateEntry]:
    conn = connect(ws.catalog_path, read_only=True)
    try:
        rows = sync_state.load_state(conn, project_id, destination)
    finally:
        conn.close()
    return {row["rel_path"]: StateEntry(**row) for row in rows}


def push_project(ws: Workspace, slug: str, *, dry_run: bool = False, delete: bool = False,
                 allow_missing_local: bool = False, progress: SyncProgress | None = None,
                 settings: s3.TransferSettings | None = None, client: Any = None, triggered_by: str = "cli",
                 run_id: str | None = None, after_file: Callable[[str], None] | None = None) -> SyncReport:
    """Push the project root; answer with counts and bytes. ``dry_run`` reads the bucket but
    writes nothing anywhere. Per-file failures do not stop the others: they are listed in
    ``report.failed`` (the CLI exits non-zero) and the next push retries them."""
    project = get_project(ws, slug)
    location = s3_location(ws, project)
    report = SyncReport(slug, "push", location.uri, dry_run)
    root = Path(project["root"])
    if not root.is_dir():
        if allow_missing_local:
            report.skipped, report.reason = True, "missing_local_project_root"
            return report
        raise StorageError(f"Project root {root} does not exist, nothing to push. Restore it (`kroma sync pull`) "
                           "or pass --allow-missing-local to skip quietly.")
    settings = settings or s3.TransferSettings()
    progress = progress or NoProgress()
    started = time.monotonic()
    with recorded_sync(ws, project, report, location.destination, progress, triggered_by=triggered_by,
                       run_id=run_id) as conn:
        client = client or s3.make_client(location, credentials=s3_credentials(ws, project["id"], location),
                                          settings=settings)
        state = load_state_map(ws, project["id"], location.destination)
        shas: dict[str, str] = {}
        local = []
        for item in scan_local(root):
            try:
                shas[item.rel_path] = known_sha(item, state) or s3.sha256_file(item.path)
            except FileNotFoundError:
                continue  # removed since the scan (e.g. archived by a running job): not ours to push
            local.append(item)
        remote = s3.list_objects(client, location)
        plan = plan_push(local, shas, state, remote, delete=delete)
        report.files_total, report.bytes_total = len(local), sum(f.size for f in local)
        report.unchanged, report.remote_only = len(plan.unchanged), len(plan.remote_only)
        pushed: dict[str, str] = {}  # sent or verified now: S3-first bookkeeping below
        uploads = list(plan.upload)
        for item in plan.verify:
            remote_sha, obj = s3.head_sha256(client, location, location.key(item.rel_path))
            if obj is not None and remote_sha == shas[item.rel_path]:
                report.verified += 1
                pushed[item.rel_path] = remote_sha
                if conn is not None:
                    sync_state.save_state(conn, project["id"], location.destination, item.rel_path,
                                          size_bytes=item.size, mtime_ns=item.mtime_ns, sha256=remote_sha,
                                          etag=obj.etag)
            else:
                uploads.append(item)
        uploads.sort(key=lambda f: f.rel_path)
        if dry_run:
            report.planned = {"upload": [f.rel_path for f in uploads], "delete": [o.key for o in plan.delete]}
            report.bytes_planned = sum(f.size for f in uploads)
            report.transferred = 0
            report.seconds = time.monotonic() - started
            return report
        assert conn is not None
        progress.start(len(uploads), sum(f.size for f in uploads), f"push {slug}")

        def upload(item: LocalFile) -> str:
            return s3.upload_file(client, location, item.path, location.key(item.rel_path), shas[item.rel_path],
                                  settings=settings, content_type=mimetypes.guess_type(item.rel_path)[0],
                                  on_bytes=progress.advance)

        # Several files in flight (boto3 clients are thread-safe); the catalog is written here, on
        # this thread, as each upload lands. On an interrupt the queued uploads are dropped; ones
        # that landed unrecorded are recognised by their sha256 metadata next time, not re-sent.
        pool = ThreadPoolExecutor(max_workers=max(1, settings.max_concurrency), thread_name_prefix="kroma-push")
        try:
            futures = {pool.submit(upload, item): item for item in uploads}
            for future in as_completed(futures):
                item = futures[future]
                try:
                    etag = future.result()
                except FileNotFoundError:
                    report.failed[item.rel_path] = f"{item.rel_path} vanished during the push; it is pushed next time."
                    continue
                except s3.s3_errors() as exc:
                    report.failed[item.rel_path] = s3.describe_error(exc, "upload", location,
                                                                     location.key(item.rel_path))
                    continue
                sync_state.save_state(conn, project["id"], location.destination, item.rel_path,
                                      size_bytes=item.size, mtime_ns=item.mtime_ns, sha256=shas[item.rel_path],
                                      etag=etag)
                report.transferred += 1
                report.bytes_transferred += item.size
                pushed[item.rel_path] = shas[item.rel_path]
                if after_file is not None:
                    after_file(item.rel_path)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        _settle_pending(conn, project["id"], pushed, {f.rel_path for f in plan.unchanged})
        if plan.delete:
            keys = [obj.key for obj in plan.delete]
            not_deleted = set(s3.delete_keys(client, location, keys))
            for key in keys:
                if key in not_deleted:
                    report.failed[key] = f"S3 delete failed for s3://{location.bucket}/{key}."
            report.deleted = len(keys) - len(not_deleted)
            gone = [location.rel(k) or "" for k in keys if k not in not_deleted]
            sync_state.forget_state(conn, project["id"], location.destination, gone)
    return report


def _settle_pending(conn: Any, project_id: str, pushed: dict[str, str], unchanged: set[str]) -> None:
    """S3-first bookkeeping: uploads left pending by a failed write are done once the push has them
    up (sent, verified or already there), and asset rows whose bytes went up now say so."""
    pending = {row["rel_path"] for row in s3_files.list_pending(conn, project_id)}
    s3_files.clear_pending(conn, project_id, sorted(pending & (set(pushed) | unchanged)))
    s3_files.mark_assets_in_bucket(conn, project_id, pushed)
