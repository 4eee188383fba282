"""``kroma sync pull``: restore a project root from its S3 mirror (a new machine, a lost disk).

Every download lands in a temp file beside its target and is checked against the sha256 the
object carries before it is moved into place; a local file that differs is moved to
``archive/replaced/`` first, never overwritten. Keys that would land outside the project root
are refused. Local files the bucket does not have are left alone.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from kroma_kit.catalog import sync_state
from kroma_kit.catalog.projects import get_project
from kroma_kit.errors import StorageError
from kroma_kit.storage import s3
from kroma_kit.storage.atomic import move_to_archive
from kroma_kit.storage.sync_plan import is_synced_path
from kroma_kit.sync.policy import s3_credentials, s3_location
from kroma_kit.sync.push import load_state_map
from kroma_kit.sync.report import NoProgress, SyncProgress, SyncReport
from kroma_kit.sync.session import recorded_sync
from kroma_kit.workspace import ProjectLayout, Workspace


def pull_project(ws: Workspace, slug: str, *, dry_run: bool = False, progress: SyncProgress | None = None,
                 settings: s3.TransferSettings | None = None, client: Any = None,
                 triggered_by: str = "cli") -> SyncReport:
    """Download what the bucket has and the root lacks or holds differently; answer with counts."""
    project = get_project(ws, slug)
    location = s3_location(ws, project)
    layout = ProjectLayout(Path(project["root"]))
    report = SyncReport(slug, "pull", location.uri, dry_run)
    settings = settings or s3.TransferSettings()
    progress = progress or NoProgress()
    started = time.monotonic()
    if not dry_run:
        layout.ensure()
    with recorded_sync(ws, project, report, location.destination, progress, triggered_by=triggered_by) as conn:
        client = client or s3.make_client(location, credentials=s3_credentials(ws, project["id"], location),
                                          settings=settings)
        state = load_state_map(ws, project["id"], location.destination)
        remote = s3.list_objects(client, location)
        report.files_total, report.bytes_total = len(remote), sum(o.size for o in remote.values())
        candidates: list[tuple[str, s3.RemoteObject, Path, bool]] = []
        for rel, obj in sorted(remote.items()):
            if not is_synced_path(rel):
                continue
            try:
                target = _safe_target(layout, rel)
            except StorageError as exc:
                report.failed[rel] = str(exc)
                continue
            entry = state.get(rel)
            exists = target.is_file()
            if exists and entry is not None and entry.etag == obj.etag and entry.size_bytes == obj.size:
                info = target.stat()
                if info.st_size == entry.size_bytes and info.st_mtime_ns == entry.mtime_ns:
                    report.unchanged += 1
                    continue
            candidates.append((rel, obj, target, exists))
        workers = max(1, settings.max_concurrency)
        todo: list[tuple[str, s3.RemoteObject, str | None, bool]] = []
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kroma-pull-check") as pool:
            checks = pool.map(lambda c: _check(client, location, *c), candidates)
            for (rel, _obj, target, exists), (remote_sha, head, same) in zip(candidates, checks, strict=True):
                if head is None:
                    continue  # deleted since the LIST
                if same:
                    report.verified += 1
                    if conn is not None:
                        info = target.stat()
                        sync_state.save_state(conn, project["id"], location.destination, rel,
                                              size_bytes=info.st_size, mtime_ns=info.st_mtime_ns,
                                              sha256=str(remote_sha), etag=head.etag)
                    continue
                todo.append((rel, head, remote_sha, exists))
        if dry_run:
            report.planned = {"download": [rel for rel, *_ in todo],
                              "archive": [rel for rel, _obj, _sha, exists in todo if exists]}
            report.bytes_planned = sum(obj.size for _rel, obj, _sha, _exists in todo)
            report.seconds = time.monotonic() - started
            return report
        assert conn is not None
        progress.start(len(todo), sum(obj.size for _rel, obj, _sha, _exists in todo), f"pull {slug}")
        # Downloads (and their hashing) run several at once into temp files; the checks, the
        # archive moves, the renames and the catalog writes happen here, one file at a time.
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kroma-pull")
        try:
            futures = {pool.submit(_fetch, client, location, layout, rel, obj, settings, progress): (rel, obj, sha)
                       for rel, obj, sha, _exists in todo}
            for future in as_completed(futures):
                rel, obj, remote_sha = futures[future]
                _settle(conn, location, layout, project["id"], rel, obj, remote_sha, future.result(), report)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for rel, *_rest in todo:  # temp files of downloads that were never settled
                s3.temp_beside(layout.root / rel).unlink(missing_ok=True)
    return report


def _safe_target(layout: ProjectLayout, rel: str) -> Path:
    parts = rel.split("/")
    if rel.startswith("/") or any(part in ("", ".", "..") for part in parts) or "\\" in rel:
        raise StorageError(f"Refusing S3 key {rel!r}: it would land outside the project root.")
    return layout.inside(rel)


def _check(client: Any, location: s3.S3Location, rel: str, obj: s3.RemoteObject, target: Path,
           exists: bool) -> tuple[str | None, s3.RemoteObject | None, bool]:
    """(remote sha256, the object now, whether the local file already has that content)."""
    remote_sha, head = s3.head_sha256(client, location, obj.key)
    same = bool(exists and head is not None and remote_sha and target.stat().st_size == head.size
                and s3.sha256_file(target) == remote_sha)
    return remote_sha, head, same


def _fetch(client: Any, location: s3.S3Location, layout: ProjectLayout, rel: str, obj: s3.RemoteObject,
           settings: s3.TransferSettings, progress: SyncProgress) -> tuple[Path | None, str | None, str | None]:
    """Download one object into a temp file beside its target: (temp, its sha256, error)."""
    temp = s3.temp_beside(_safe_target(layout, rel))
    try:
        s3.download_to(client, location, obj.key, temp, settings=settings, on_bytes=progress.advance)
    except s3.s3_errors() as exc:
        temp.unlink(missing_ok=True)
        return None, None, s3.describe_error(exc, "download", location, obj.key)
    return temp, s3.sha256_file(temp), None


def _settle(conn: Any, location: s3.S3Location, layout: ProjectLayout, project_id: str, rel: str,
            obj: s3.RemoteObject, remote_sha: str | None, fetched: tuple[Path | None, str | None, str | None],
            report: SyncReport) -> None:
    """Verify one download, archive a differing local file, move the download into place."""
    temp, got_sha, error = fetched
    if temp is None or error is not None:
        report.failed[rel] = error or f"Download of {rel} failed."
        return
    try:
        if temp.stat().st_size != obj.size or (remote_sha is not None and got_sha != remote_sha):
            report.failed[rel] = (f"Downloaded s3://{location.bucket}/{obj.key} does not match its recorded "
                                  "size/sha256; the local file was left as it was. Push it again from a good copy.")
            return
        target = _safe_target(layout, rel)
        if target.exists():
            archived = move_to_archive(target, layout.archive_replaced, "pulled")
            report.archived += 1
            report.archived_paths.append(layout.relative(archived))
        os.replace(temp, target)
        info = target.stat()
        sync_state.save_state(conn, project_id, location.destination, rel, size_bytes=info.st_size,
                              mtime_ns=info.st_mtime_ns, sha256=str(got_sha), etag=obj.etag)
        report.transferred += 1
        report.bytes_transferred += info.st_size
        if remote_sha is None:
            report.planned.setdefault("unverified", []).append(rel)
    finally:
        temp.unlink(missing_ok=True)
