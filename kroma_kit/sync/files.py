"""Reading project files when the local root is only a cache (storage mode ``s3``), and emptying
that cache safely. Projects in the ``local`` and ``mirror`` modes keep disk as the truth: their
files are read as they are and never evicted.

:func:`local_copy` is the one way readers (candidate grid, dashboards, review, export,
post-processing inputs) turn a project file into a local path: the file on disk when its sha256
is the one the catalog expects, else the object downloaded into a temp file beside it, checked
against the sha256 it carries (and the catalog's), and moved into place. A local file with a
pending upload is the newer work and is returned as it is; any other local file that differs is
moved to ``archive/replaced/`` before the verified copy takes its place, never overwritten.

:func:`evict` deletes cached images whose exact bytes are in the bucket (sync state written by a
verified upload, same sha256, size and mtime) and no pending upload; run logs, manifests and
settings always stay local (the run log is the live record other code writes to).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.catalog import s3_files, sync_state
from kroma_kit.catalog.db import connect
from kroma_kit.catalog.projects import get_project
from kroma_kit.catalog.sync_state import storage_row
from kroma_kit.errors import InputError, NotFoundError, StorageError
from kroma_kit.storage import s3
from kroma_kit.storage.atomic import move_to_archive
from kroma_kit.storage.sync_plan import is_synced_path, scan_local
from kroma_kit.sync.policy import s3_credentials, s3_location, storage_mode
from kroma_kit.workspace import ProjectLayout, Workspace

EVICTABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")


def local_copy(ws: Workspace, project: dict[str, Any] | str, ref: str | os.PathLike[str] | dict[str, Any], *,
               settings: s3.TransferSettings | None = None) -> Path:
    """A local path holding the project file ``ref`` (a project-relative path, an absolute path
    under the project root, or an asset row with ``rel_path``/``sha256``), fetched from the bucket
    into the cache when it is missing or stale there."""
    project = get_project(ws, project) if isinstance(project, str) else project
    root = Path(project["root"])
    rel, expected = _rel_and_sha(root, ref)
    target = root / rel
    conn = connect(ws.catalog_path, read_only=True)
    try:
        row = storage_row(conn, project["id"])
        expected = expected or s3_files.expected_sha256(conn, project["id"], rel)
        pending = {p["rel_path"] for p in s3_files.list_pending(conn, project["id"])}
    finally:
        conn.close()
    s3_first = storage_mode(row) == "s3"
    if target.is_file():
        if not s3_first or rel in pending or expected is None or s3.sha256_file(target) == expected:
            return target
    elif not s3_first:
        raise StorageError(f"Project file {rel} is missing from {root} (project '{project['slug']}' keeps "
                           "its files on local disk; its storage mode is not s3).")
    return _download(ws, project, rel, target, expected, settings or s3.TransferSettings())


def _rel_and_sha(root: Path, ref: str | os.PathLike[str] | dict[str, Any]) -> tuple[str, str | None]:
    expected = None
    if isinstance(ref, dict):
        expected = ref.get("sha256") or None
        ref = ref.get("rel_path") or ref.get("storage_uri") or ""
    path = Path(ref)
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(root.resolve())
        except ValueError:
            raise InputError(f"{ref} is not inside the project root {root}.") from None
    rel = path.as_posix()
    if not rel or rel == "." or any(part in ("", "..") for part in rel.split("/")):
        raise InputError(f"Not a project file path: {str(ref)!r}.")
    return rel, expected


def _download(ws: Workspace, project: dict[str, Any], rel: str, target: Path, expected: str | None,
              settings: s3.TransferSettings) -> Path:
    location = s3_location(ws, project)
    key = location.key(rel)
    client = s3.make_client(location, credentials=s3_credentials(ws, project["id"], location), settings=settings)
    remote_sha, head = s3.head_sha256(client, location, key)
    if head is None:
        raise NotFoundError(f"s3://{location.bucket}/{key} does not exist, and {rel} is not in the local cache "
                            f"of project '{project['slug']}'. Was it uploaded? See `kroma storage pending "
                            f"--project {project['slug']}`.")
    if expected and remote_sha and remote_sha != expected:
        raise StorageError(f"s3://{location.bucket}/{key} holds sha256 {remote_sha[:12]}..., the catalog expects "
                           f"{expected[:12]}... for {rel}: refusing a different file.")
    temp = s3.temp_beside(target)
    try:
        try:
            s3.download_to(client, location, key, temp, settings=settings)
        except s3.s3_errors() as exc:
            raise StorageError(s3.describe_error(exc, "download", location, key)) from None
        got = s3.sha256_file(temp)
        want = expected or remote_sha
        if want and got != want:
            raise StorageError(f"Download of s3://{location.bucket}/{key} is corrupt: sha256 {got[:12]}... "
                               f"!= {want[:12]}...; the cache was not changed.")
        if target.exists():
            layout = ProjectLayout(Path(project["root"]))
            move_to_archive(target, layout.archive_replaced, "replaced")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    _record(ws, project["id"], location.destination, rel, target, got, head.etag)
    return target


def _record(ws: Workspace, project_id: str, destination: str, rel: str, target: Path, sha: str,
            etag: str | None) -> None:
    """The fetched file is the bucket's object: record it so eviction and push know it is up."""
    info = target.stat()
    conn = connect(ws.catalog_path)
    try:
        sync_state.save_state(conn, project_id, destination, rel, size_bytes=info.st_size,
                              mtime_ns=info.st_mtime_ns, sha256=sha, etag=etag)
    finally:
        conn.close()


def fetch_missing(ws: Workspace, project: dict[str, Any], *, settings: s3.TransferSettings | None = None) -> list[str]:
    """Bring every object of the project's bucket folder that the local cache lacks back to disk
    (verified, one :func:`local_copy` each) before something reads the whole root (an export).
    Does nothing unless the project is S3-first; answers the paths fetched."""
    conn = connect(ws.catalog_path, read_only=True)
    try:
        mode = storage_mode(storage_row(conn, project["id"]))
    finally:
        conn.close()
    if mode != "s3":
        return []
    location = s3_location(ws, project)
    settings = settings or s3.TransferSettings()
    client = s3.make_client(location, credentials=s3_credentials(ws, project["id"], location), settings=settings)
    root = Path(project["root"])
    fetched = []
    for rel in sorted(s3.list_objects(client, location)):
        if is_synced_path(rel) and not (root / rel).is_file():
            local_copy(ws, project, rel, settings=settings)
            fetched.append(rel)
    return fetched


@dataclass
class EvictReport:
    project: str
    dry_run: bool
    evicted: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    kept_pending: list[str] = field(default_factory=list)
    kept_not_uploaded: list[str] = field(default_factory=list)
    kept_recent: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "dry_run": self.dry_run, "evicted": len(self.evicted),
                "bytes_freed": self.bytes_freed, "kept_pending": self.kept_pending,
                "kept_not_uploaded": len(self.kept_not_uploaded), "kept_recent": self.kept_recent,
                "evicted_paths": self.evicted[:50]}


def evict(ws: Workspace, slug: str, *, older_than_s: float | None = None, dry_run: bool = False) -> EvictReport:
    """Delete cached image files that are safely in the bucket (optionally only those not modified
    for ``older_than_s`` seconds). Never a file with a pending upload or one whose bytes the sync
    state does not vouch for."""
    if older_than_s is not None and older_than_s < 0:
        raise InputError("--older-than must not be negative.")
    project = get_project(ws, slug)
    location = s3_location(ws, project)
    conn = connect(ws.catalog_path, read_only=True)
    try:
        if storage_mode(storage_row(conn, project["id"])) != "s3":
            raise InputError(f"Project '{slug}' is not S3-first, so its local files are the only copy that counts; "
                             f"evict works in storage mode s3 (`kroma storage set-s3 --project {slug} --mode s3`).")
        state = {row["rel_path"]: row for row in sync_state.load_state(conn, project["id"], location.destination)}
        pending = {row["rel_path"] for row in s3_files.list_pending(conn, project["id"])}
    finally:
        conn.close()
    report = EvictReport(slug, dry_run)
    cutoff = time.time() - older_than_s if older_than_s else None
    for item in scan_local(Path(project["root"])):
        if not item.rel_path.lower().endswith(EVICTABLE_SUFFIXES):
            continue
        if item.rel_path in pending:
            report.kept_pending.append(item.rel_path)
            continue
        known = state.get(item.rel_path)
        if cutoff is not None and item.mtime_ns / 1e9 > cutoff:
            report.kept_recent += 1
            continue
        if not known or known["size_bytes"] != item.size or known["sha256"] != s3.sha256_file(item.path):
            report.kept_not_uploaded.append(item.rel_path)
            continue
        if not dry_run:
            item.path.unlink(missing_ok=True)
        report.evicted.append(item.rel_path)
        report.bytes_freed += item.size
    return report
