"""Project-level reads and settings the REST API and the CLI share: the detail counts, the
seed's upsert (``POST /api/projects``), and the storage policy fields (local base dir, S3).

The S3 fields are only a policy here (where a sync would go); syncing is the storage service's.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from kroma_kit.catalog.access import reading, writing
from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.db import utcnow
from kroma_kit.catalog.projects import (
    create_project,
    get_project,
    get_storage,
    set_local_root,
    update_project,
    validate_slug,
)
from kroma_kit.errors import InputError, NotFoundError, StorageError
from kroma_kit.workspace import ProjectLayout, Workspace

S3_FIELDS = ("enabled", "bucket", "prefix", "region", "profile", "endpoint_url")


def slug_from_name(name: str) -> str:
    """The slug the seed derived from a project name: lower case, runs of other characters -> '-'."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.strip().lower()).strip("-_")[:64].strip("-_")
    if not slug:
        raise InputError(f"Cannot derive a slug from the name {name!r}; give 'slug' (a-z, 0-9, '_', '-').")
    return slug


def project_counts(ws: Workspace, slug: str) -> dict[str, int]:
    """How many runs, jobs and assets the project holds (the seed's project detail ``counts``)."""
    project_id = get_project(ws, slug)["id"]
    with reading(ws) as conn:
        runs = conn.execute("SELECT COUNT(*) FROM runs WHERE project_id = ?", (project_id,)).fetchone()[0]
        jobs = conn.execute("SELECT COUNT(*) FROM run_jobs j JOIN runs r ON r.id = j.run_id WHERE r.project_id = ?",
                            (project_id,)).fetchone()[0]
        assets = conn.execute("SELECT COUNT(*) FROM assets WHERE project_id = ?", (project_id,)).fetchone()[0]
    return {"runs": int(runs), "jobs": int(jobs), "assets": int(assets)}


def upsert_project(ws: Workspace, name: str, *, slug: str | None = None,
                   description: str | None = None) -> tuple[dict[str, Any], bool]:
    """Create the project, or update the name and description of an existing one (the seed's
    ``POST /api/projects``). Returns ``(project, created)``."""
    if not isinstance(name, str) or not name.strip():
        raise InputError("Field 'name' is required: a project needs a name.")
    slug = validate_slug(slug) if slug else slug_from_name(name)
    try:
        get_project(ws, slug)
    except NotFoundError:
        return create_project(ws, slug, name.strip(), description=description or ""), True
    return update_project(ws, slug, name=name.strip(), description=description), False


def storage_policy(ws: Workspace, slug: str) -> dict[str, Any]:
    """The project's storage row with ``s3_enabled`` as a boolean and the resolved root."""
    storage = get_storage(ws, slug)
    storage["s3_enabled"] = bool(storage.get("s3_enabled"))
    return storage


def set_local_base_dir(ws: Workspace, slug: str, base_dir: str) -> dict[str, Any]:
    """Set the folder under which the project's root is ``<base_dir>/<slug>`` (used when no explicit
    root is set). Relative base dirs are inside the workspace and may not climb out of it."""
    project = get_project(ws, slug)
    text = str(base_dir or "").strip()
    if not text:
        raise InputError("Field 'base_dir' is empty.")
    if not Path(text).expanduser().is_absolute() and ".." in PurePosixPath(text.replace("\\", "/")).parts:
        raise InputError(f"base_dir {text!r} climbs out of the workspace ('..'); use a folder inside it or "
                         "an absolute path.")
    base = Path(text).expanduser()
    if not project.get("local_project_root"):
        try:
            ProjectLayout((base if base.is_absolute() else ws.home / base) / slug).ensure()
        except OSError as exc:
            raise StorageError(f"Cannot use {text!r} as the base folder: {exc.strerror or exc}.") from None
    with writing(ws) as conn:
        conn.execute("UPDATE project_storage SET local_base_dir = ?, updated_at = ? WHERE project_id = ?",
                     (text, utcnow(), project["id"]))
        record_event(conn, "storage.local.updated", {"base_dir": text}, project_id=project["id"])
    return storage_policy(ws, slug)


def set_project_root(ws: Workspace, slug: str, root: str) -> dict[str, Any]:
    """Point the project at an explicit absolute folder (a relative one would depend on the
    caller's working directory). The folders are created first, so a root that cannot be created
    changes nothing."""
    path = Path(str(root or "").strip()).expanduser()
    if not str(root or "").strip() or not path.is_absolute():
        raise InputError(f"project_root {root!r} must be an absolute folder path.")
    try:
        ProjectLayout(path).ensure()
    except OSError as exc:
        raise StorageError(f"Cannot use {path} as the project root: {exc.strerror or exc}.") from None
    set_local_root(ws, slug, path)
    return storage_policy(ws, slug)


def set_s3_policy(ws: Workspace, slug: str, **fields: Any) -> dict[str, Any]:
    """Change any of ``enabled, bucket, prefix, region, profile, endpoint_url`` (None = keep)."""
    project = get_project(ws, slug)
    unknown = sorted(set(fields) - set(S3_FIELDS))
    if unknown:
        raise InputError(f"Unknown S3 field(s): {', '.join(unknown)}; expected {', '.join(S3_FIELDS)}.")
    changes = {key: value for key, value in fields.items() if value is not None}
    bucket = changes.get("bucket")
    if bucket is not None and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        raise InputError(f"S3 bucket name {bucket!r} is not valid (3-63 characters: a-z, 0-9, '.', '-').")
    if changes.get("prefix") is not None:
        changes["prefix"] = str(changes["prefix"]).strip("/")
    if changes:
        columns = ", ".join(f"s3_{key} = ?" for key in changes)
        values = [int(bool(v)) if key == "enabled" else v for key, v in changes.items()]
        with writing(ws) as conn:
            conn.execute(f"UPDATE project_storage SET {columns}, updated_at = ? WHERE project_id = ?",
                         (*values, utcnow(), project["id"]))
            record_event(conn, "storage.s3.updated", changes, project_id=project["id"])
    return storage_policy(ws, slug)
