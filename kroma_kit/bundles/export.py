"""``kroma project export``: one project as a standalone bundle (seed 002 §2.1.4).

A bundle is a folder ``<slug>_<stamp>/`` (as ``.tar.gz`` or a plain folder) holding
``project.db`` (a fresh catalog with the full schema and only this project's rows),
``files/`` (the project root, minus the thumbnail cache) and ``metadata.json`` (when, which
schema, row counts, and every file with its size and sha256). Secret values never leave: the
metadata names the secrets so the receiver knows which keys to set. Each export is recorded as an
``export`` asset, a ``project_exports`` row and a ``project.exported`` audit event.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kroma_kit.catalog import slices
from kroma_kit.catalog.assets import register_asset
from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.db import connect, new_id, to_json, transaction, utcnow
from kroma_kit.catalog.migrations import applied_versions, migrate
from kroma_kit.catalog.projects import get_project
from kroma_kit.errors import InputError, NotFoundError
from kroma_kit.storage.atomic import atomic_write_json, file_stamp
from kroma_kit.storage.bundle_tar import BundleEntry, write_tar_gz
from kroma_kit.storage.s3 import sha256_file
from kroma_kit.storage.sync_plan import scan_local
from kroma_kit.sync.files import fetch_missing
from kroma_kit.workspace import Workspace

BUNDLE_FORMAT = "kroma.bundle.v1"
TAR_SUFFIXES = (".tar.gz", ".tgz")


@dataclass(frozen=True)
class ExportResult:
    project: str
    path: str
    format: str
    sha256: str | None
    files: int
    bytes: int
    row_counts: dict[str, int]
    export_id: str
    asset_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def default_output(ws: Workspace, slug: str, stamp: str) -> Path:
    """``<KROMA_HOME>/exports/<slug>_<stamp>.tar.gz``: outside the project root, so a bundle
    never ends up inside the next one."""
    return ws.home / "exports" / f"{slug}_{stamp}.tar.gz"


def exports_folder(ws: Workspace, slug: str) -> Path:
    """``<KROMA_HOME>/exports/<slug>/``: where an export asked for over the API lands. Outside the
    project root (a bundle never ends up inside the next one) and one folder per project, so a
    client of one project can neither read nor overwrite another project's bundles."""
    return ws.home / "exports" / slug


def confined_output(ws: Workspace, slug: str, output: str | None, stamp: str | None = None) -> Path:
    """``output`` (a file name or a relative path) resolved inside :func:`exports_folder`; no
    output: ``<slug>_<stamp>.tar.gz`` there. Absolute paths, ``..`` climbing out and symlinks
    pointing out are refused before anything is written."""
    slug = get_project(ws, slug)["slug"]  # an unknown project is a 404 before any folder is made
    folder = exports_folder(ws, slug)
    name = (output or "").strip()
    if not name:
        name = f"{slug}_{stamp or file_stamp(datetime.now(UTC))}.tar.gz"
    relative = Path(name)
    if any(ord(ch) < 32 for ch in name) or any(len(part.encode("utf-8")) > 200 for part in relative.parts):
        raise InputError("Export output must be a plain file name or relative path: no control characters, "
                         "each part at most 200 bytes.")
    if relative.is_absolute() or name.startswith("~"):
        raise InputError(f"Export output '{name}' must be a file name or a relative path inside the project's "
                         f"exports folder ({folder}), not an absolute path.")
    folder.mkdir(parents=True, exist_ok=True)
    base = folder.resolve()
    target = (base / relative).resolve()
    if target == base or base not in target.parents:
        raise InputError(f"Export output '{name}' resolves outside the project's exports folder ({folder}); "
                         "give a file name such as book.tar.gz or a sub-folder path without '..'.")
    return target


def write_project_db(ws: Workspace, project_id: str, target: Path) -> dict[str, int]:
    """A fresh SQLite catalog at ``target`` with the full schema and this project's rows only."""
    out = connect(target)
    source = connect(ws.catalog_path, read_only=True)
    try:
        migrate(out)
        counts = slices.copy_project_slice(source, out, project_id)
    except ValueError as exc:
        raise InputError(f"The exported slice of the project is inconsistent ({exc}); run `kroma db migrate` "
                         "or repair the catalog, then export again.") from None
    finally:
        source.close()
        out.close()
    for leftover in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return counts


def export_project(ws: Workspace, slug: str, *, output: str | Path | None = None,
                   include_files: bool = True) -> ExportResult:
    """Write the bundle and record it; answer where it is, its sha256 and what it holds."""
    project = get_project(ws, slug)
    root = Path(project["root"])
    now = datetime.now(UTC)
    stamp = file_stamp(now)
    target = Path(output).expanduser() if output else default_output(ws, slug, stamp)
    target = target if target.is_absolute() else Path.cwd() / target
    fmt = "tar.gz" if target.name.endswith(TAR_SUFFIXES) else "folder"
    if fmt == "folder" and target.exists() and any(target.iterdir()):
        raise InputError(f"Export folder {target} exists and is not empty; name a new folder or a .tar.gz file.")
    if root.resolve() in (target.resolve(), *target.resolve().parents):
        raise InputError(f"Export target {target} is inside the project root {root}: it would export itself. "
                         "Pick a place outside it (the default is <KROMA_HOME>/exports/).")
    bundle_name = f"{slug}_{stamp}"
    if include_files:
        fetch_missing(ws, project)  # S3-first: files evicted from the local cache come back (verified) first
    files = scan_local(root) if include_files and root.is_dir() else []
    with tempfile.TemporaryDirectory(prefix=".kroma-export-", dir=ws.home) as tmp:
        db_path = Path(tmp) / "project.db"
        counts = write_project_db(ws, project["id"], db_path)
        conn = connect(ws.catalog_path, read_only=True)
        try:
            version = (applied_versions(conn) or [""])[-1]
            secrets = slices.secret_names(conn, project["id"])
        finally:
            conn.close()
        listed = [{"path": f.rel_path, "size": f.size, "sha256": sha256_file(f.path)} for f in files]
        metadata = {
            "format": BUNDLE_FORMAT, "exported_at": utcnow(), "schema_version": version,
            "project": {k: project[k] for k in ("id", "slug", "name", "description", "owner_user_id")},
            "project_root": str(root), "include_files": include_files, "row_counts": counts,
            "files": listed, "file_count": len(listed), "file_bytes": sum(f["size"] for f in listed),
            "project_db_sha256": sha256_file(db_path), "secrets": secrets,
            "secrets_note": "secret values are never exported; set them again with `kroma secrets set`",
        }
        meta_bytes = (json.dumps(metadata, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        if fmt == "tar.gz":
            entries = [BundleEntry("metadata.json", data=meta_bytes), BundleEntry("project.db", source=db_path)]
            entries += [BundleEntry(f"files/{f.rel_path}", source=f.path) for f in files]
            write_tar_gz(target, bundle_name, entries)
            digest = sha256_file(target)
        else:
            staging = target.with_name(f".{target.name}.partial")
            shutil.rmtree(staging, ignore_errors=True)
            (staging / "files").mkdir(parents=True)
            shutil.copy2(db_path, staging / "project.db")
            for f in files:
                dest = staging / "files" / f.rel_path
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f.path, dest)
            atomic_write_json(staging / "metadata.json", metadata)
            if target.exists():
                target.rmdir()  # checked empty above
            staging.rename(target)
            digest = hashlib.sha256(meta_bytes).hexdigest()
    return _record(ws, project, target, fmt, digest, include_files, metadata, counts, len(listed),
                   metadata["file_bytes"])


def _record(ws: Workspace, project: dict[str, Any], target: Path, fmt: str, digest: str | None,
            include_files: bool, metadata: dict[str, Any], counts: dict[str, int], nfiles: int,
            nbytes: int) -> ExportResult:
    export_id = new_id()
    conn = connect(ws.catalog_path)
    try:
        with transaction(conn):
            asset_id = register_asset(conn, project["id"], target, "export",
                                      metadata={"format": fmt, "files": nfiles, "include_files": include_files}) \
                if fmt == "tar.gz" else None
            summary = {"row_counts": counts, "files": nfiles, "bytes": nbytes, "schema_version":
                       metadata["schema_version"]}
            slices.record_export(conn, export_id, project["id"], asset_id, fmt, digest, str(target), include_files,
                                 to_json(summary), utcnow())
            record_event(conn, "project.exported", {"path": str(target), "format": fmt, "sha256": digest,
                                                    "files": nfiles, "include_files": include_files},
                         project_id=project["id"])
    finally:
        conn.close()
    return ExportResult(project["slug"], str(target), fmt, digest, nfiles, nbytes, counts, export_id, asset_id)


def _export_row(row: dict[str, Any]) -> dict[str, Any]:
    row["include_files"] = bool(row["include_files"])
    row["summary"] = json.loads(row.pop("metadata_json") or "{}")
    row["present"] = bool(row["output_path"]) and Path(row["output_path"]).exists()
    return row


def get_project_export(ws: Workspace, slug: str, export_id: str) -> dict[str, Any]:
    """One export record of the project (its ``export_asset_id``, where the bundle is, whether it
    is still there); an id of another project is unknown here."""
    project = get_project(ws, slug)
    conn = connect(ws.catalog_path, read_only=True)
    try:
        row = slices.get_export(conn, project["id"], export_id)
    finally:
        conn.close()
    if row is None:
        raise NotFoundError(f"Project '{slug}' has no export '{export_id}'. See `kroma project exports {slug}`.")
    return _export_row(row)


def list_project_exports(ws: Workspace, slug: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The project's exports, newest first, with whether each bundle is still where it was written."""
    project = get_project(ws, slug)
    conn = connect(ws.catalog_path, read_only=True)
    try:
        rows = slices.list_exports(conn, project["id"], max(1, min(limit, 1000)))
    finally:
        conn.close()
    return [_export_row(row) for row in rows]
