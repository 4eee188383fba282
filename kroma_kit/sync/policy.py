"""A project's storage policy: show and change it, and turn it into an
:class:`~kroma_kit.storage.s3.S3Location` plus credentials for a sync.

Three modes: ``local`` (files on disk only), ``mirror`` (disk is the truth, ``kroma sync push``
copies it to S3) and ``s3`` (S3-first: each output goes to the bucket as it is made and the local
root is a cache, :mod:`kroma_kit.sync.s3_first`)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from kroma_kit.catalog import projects
from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.db import connect, transaction
from kroma_kit.catalog.sync_state import storage_row, update_s3_policy
from kroma_kit.errors import InputError, StorageError
from kroma_kit.storage.s3 import Credentials, S3Location
from kroma_kit.workspace import Workspace

BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MODES = ("local", "mirror", "s3")
_UNSET: Any = object()


def storage_mode(row: dict[str, Any]) -> str:
    """The mode a ``project_storage`` row is in (rows from before ``storage_mode`` read by ``s3_enabled``)."""
    if not row.get("s3_enabled"):
        return "local"
    return "s3" if row.get("storage_mode") == "s3" else "mirror"


def show_policy(ws: Workspace, slug: str) -> dict[str, Any]:
    """The project's storage policy as people read it (no credentials: there are none in it)."""
    project = projects.get_project(ws, slug)
    conn = connect(ws.catalog_path, read_only=True)
    try:
        row = storage_row(conn, project["id"])
    finally:
        conn.close()
    location = _location(project, row)
    return {
        "project": slug, "mode": storage_mode(row), "root": project["root"], "local_base_dir": row.get("local_base_dir"),
        "local_project_root": row.get("local_project_root"), "s3_enabled": bool(row.get("s3_enabled")),
        "s3_bucket": row.get("s3_bucket"), "s3_prefix": row.get("s3_prefix"), "s3_region": row.get("s3_region"),
        "s3_profile": row.get("s3_profile"), "s3_endpoint_url": row.get("s3_endpoint_url"),
        "destination": location.uri if location else None, "updated_at": row.get("updated_at"),
    }


def set_local(ws: Workspace, slug: str, root: str | Path) -> dict[str, Any]:
    """Point the project at another local root (files are not moved)."""
    projects.set_local_root(ws, slug, root)
    return show_policy(ws, slug)


def set_s3(ws: Workspace, slug: str, *, bucket: Any = _UNSET, prefix: Any = _UNSET, region: Any = _UNSET,
           profile: Any = _UNSET, endpoint_url: Any = _UNSET, enabled: bool | None = None,
           mode: str | None = None) -> dict[str, Any]:
    """Change the S3 settings given (others stay). ``""`` clears a field. Enabling needs a bucket.

    ``mode``: ``local`` (S3 off), ``mirror`` (S3 on, disk first) or ``s3`` (S3-first). ``enabled``
    alone keeps today's meaning: true turns a local project into a mirror, false makes it local."""
    project = projects.get_project(ws, slug)
    changes: dict[str, Any] = {}
    for name, value in (("s3_bucket", bucket), ("s3_prefix", prefix), ("s3_region", region),
                        ("s3_profile", profile), ("s3_endpoint_url", endpoint_url)):
        if value is not _UNSET and value is not None:
            changes[name] = str(value).strip() or None
    if changes.get("s3_bucket") and not BUCKET_PATTERN.fullmatch(changes["s3_bucket"]):
        raise InputError(f"Invalid S3 bucket name {changes['s3_bucket']!r}: 3-63 characters a-z, 0-9, '.' and '-', "
                         "starting and ending with a letter or digit.")
    if changes.get("s3_prefix"):
        changes["s3_prefix"] = changes["s3_prefix"].strip("/") or None
        if changes["s3_prefix"] and ".." in changes["s3_prefix"].split("/"):
            raise InputError("The S3 prefix may not contain '..'.")
    url = changes.get("s3_endpoint_url")
    if url and not re.match(r"^https?://[^\s/]+", url):
        raise InputError(f"Invalid endpoint URL {url!r}: use http(s)://host[:port].")
    if mode is not None:
        if mode not in MODES:
            raise InputError(f"Unknown storage mode {mode!r}: use one of {', '.join(MODES)}.")
        if enabled is not None and bool(enabled) != (mode != "local"):
            raise InputError(f"--enabled {str(bool(enabled)).lower()} contradicts --mode {mode}; give one of them.")
        changes["storage_mode"], changes["s3_enabled"] = mode, int(mode != "local")
    elif enabled is not None:
        changes["s3_enabled"] = int(bool(enabled))
        if not enabled:
            changes["storage_mode"] = "local"
    conn = connect(ws.catalog_path)
    try:
        with transaction(conn):
            current = storage_row(conn, project["id"])
            merged = {**current, **changes}
            if merged.get("s3_enabled") and not merged.get("s3_bucket"):
                raise InputError("Cannot enable S3 sync without a bucket: add --bucket NAME.")
            if merged.get("s3_enabled") and merged.get("storage_mode") == "local":
                changes["storage_mode"] = "mirror"
            update_s3_policy(conn, project["id"], changes)
            record_event(conn, "storage.s3.updated",
                         {k: v for k, v in changes.items()}, project_id=project["id"])
    finally:
        conn.close()
    return show_policy(ws, slug)


def _location(project: dict[str, Any], row: dict[str, Any]) -> S3Location | None:
    if not row.get("s3_bucket"):
        return None
    return S3Location(bucket=row["s3_bucket"], prefix=row.get("s3_prefix") or "", slug=project["slug"],
                      region=row.get("s3_region"), profile=row.get("s3_profile"),
                      endpoint_url=row.get("s3_endpoint_url"))


def s3_location(ws: Workspace, project: dict[str, Any]) -> S3Location:
    """The project's S3 location; a clear error when sync is off or has no bucket."""
    conn = connect(ws.catalog_path, read_only=True)
    try:
        row = storage_row(conn, project["id"])
    finally:
        conn.close()
    slug = project["slug"]
    if not row.get("s3_enabled"):
        raise StorageError(f"S3 storage is disabled for project '{slug}'. Enable it with "
                           f"`kroma storage set-s3 --project {slug} --bucket NAME --enabled true`.")
    location = _location(project, row)
    if location is None:
        raise StorageError(f"S3 bucket is not configured for project '{slug}'. Set it with "
                           f"`kroma storage set-s3 --project {slug} --bucket NAME`.")
    return location


def s3_credentials(ws: Workspace, project_id: str, location: S3Location) -> Credentials | None:
    """Explicit keys from the project's secrets (``aws access_key_id`` / ``secret_access_key``
    [/ ``session_token``]) unless the environment or a profile already supplies them: then boto3's
    own chain decides (None)."""
    if location.profile or os.environ.get("AWS_ACCESS_KEY_ID"):
        return None
    from kroma_kit.security.secrets import secret_value

    key_id = secret_value(ws, project_id, "aws", ("access_key_id", "AWS_ACCESS_KEY_ID"))
    secret = secret_value(ws, project_id, "aws", ("secret_access_key", "AWS_SECRET_ACCESS_KEY"))
    if not key_id or not secret:
        return None
    token = secret_value(ws, project_id, "aws", ("session_token", "AWS_SESSION_TOKEN"))
    return Credentials(key_id, secret, token)
