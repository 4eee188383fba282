"""``kroma project import``: bring a bundle into this workspace without trusting it.

Order of work, so a bad bundle changes nothing: refuse hostile members (absolute paths, ``..``,
links, devices, oversize) -> extract into a staging folder -> check every file's size and
sha256 against ``metadata.json`` and the schema against ours -> copy rows in one transaction
(ids kept when free, remapped on collision, foreign keys and project paths rewritten) -> move
files into the project root (a differing local file goes to ``archive/replaced/``) -> commit.
``--dry-run`` runs all of it, then rolls back and moves nothing, so its counts are the real ones.

Modes when the slug already exists: ``merge`` adds what the project lacks and keeps the rest;
``replace`` retires the existing project (archived, renamed ``<slug>-replaced-<stamp>``, its
folder moved beside it, nothing deleted) and imports the bundle as a fresh project.

The workspace's catalog may be SQLite or PostgreSQL (the bundle's ``project.db`` is always
SQLite). Rows are copied parents first, tables and the rows of a table that refers to itself
alike, because PostgreSQL checks each row's foreign keys as it lands; a row naming a parent the
bundle does not hold is refused there at its INSERT, on SQLite by the check before COMMIT, with
the same message either way, and the transaction rolls back whole.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.bundles.export import BUNDLE_FORMAT
from kroma_kit.catalog import slices
from kroma_kit.catalog.audit import LOCAL_USER_ID, record_event
from kroma_kit.catalog.db import connect, is_foreign_key_failure, new_id, utcnow
from kroma_kit.catalog.migrations import available_migrations
from kroma_kit.catalog.projects import get_project, validate_slug
from kroma_kit.catalog.schema import dangling_references, table_columns
from kroma_kit.errors import InputError, NotFoundError
from kroma_kit.storage.atomic import file_stamp, move_to_archive
from kroma_kit.storage.bundle_tar import (
    MAX_MEMBER_BYTES,
    MAX_TOTAL_BYTES,
    StagedFile,
    checked_members,
    stage_folder,
    stage_members,
)
from kroma_kit.storage.s3 import sha256_file
from kroma_kit.workspace import ProjectLayout, Workspace

MODES = ("merge", "replace")


@dataclass
class ImportResult:
    """What an import changed (or, for a dry run, would change)."""

    project: str
    mode: str
    dry_run: bool
    created_project: bool
    replaced_project: str | None = None
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=lambda: {"written": 0, "unchanged": 0, "archived": 0})
    warnings: list[str] = field(default_factory=list)
    root: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _stage(bundle: Path, staging: Path, max_member_bytes: int, max_total_bytes: int) -> dict[str, StagedFile]:
    if bundle.is_dir():
        staged = stage_folder(bundle, max_member_bytes=max_member_bytes)
    else:
        try:
            tar = tarfile.open(bundle, "r:*")
        except (tarfile.TarError, OSError) as exc:
            raise InputError(f"{bundle} is not a readable bundle (.tar.gz or folder): {exc}.") from None
        with tar:
            root, members = checked_members(tar, max_member_bytes=max_member_bytes, max_total_bytes=max_total_bytes)
            staged = stage_members(tar, root, members, staging)
    return {item.rel_path: item for item in staged}


def _verify(staged: dict[str, StagedFile]) -> dict[str, Any]:
    meta_file = staged.get("metadata.json")
    if meta_file is None or "project.db" not in staged:
        raise InputError("Not a Kroma bundle: metadata.json or project.db is missing.")
    try:
        meta = json.loads(meta_file.path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeError) as exc:
        raise InputError(f"The bundle's metadata.json is not valid JSON: {exc}.") from None
    if meta.get("format") != BUNDLE_FORMAT:
        raise InputError(f"Unknown bundle format {meta.get('format')!r}; this Kroma Kit reads {BUNDLE_FORMAT}.")
    if staged["project.db"].sha256 != meta.get("project_db_sha256"):
        raise InputError("The bundle's project.db does not match the sha256 in metadata.json; nothing was imported.")
    listed = {f["path"]: f for f in meta.get("files", [])}
    present = {rel[len("files/"):] for rel in staged if rel.startswith("files/")}
    for rel, item in listed.items():
        got = staged.get(f"files/{rel}")
        if got is None:
            raise InputError(f"The bundle lists files/{rel} but does not contain it; nothing was imported.")
        if got.size != item["size"] or got.sha256 != item["sha256"]:
            raise InputError(f"files/{rel} in the bundle does not match its size/sha256 in metadata.json "
                             "(corrupt or altered); nothing was imported.")
    extra = sorted(present - set(listed))
    if extra:
        raise InputError(f"The bundle holds files/{extra[0]} that metadata.json does not list; nothing was imported.")
    return meta


def _safe_rel(rel: str) -> str:
    parts = rel.split("/")
    if rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in parts):
        raise InputError(f"Refusing bundle file path {rel!r}.")
    return rel


def import_bundle(ws: Workspace, bundle: str | Path, *, slug: str | None = None, mode: str = "merge",
                  dry_run: bool = False, max_member_bytes: int = MAX_MEMBER_BYTES,
                  max_total_bytes: int = MAX_TOTAL_BYTES) -> ImportResult:
    """Import ``bundle`` as project ``slug`` (default: the bundle's own); answer with change counts."""
    if mode not in MODES:
        raise InputError(f"Import mode must be one of: {', '.join(MODES)} (got {mode!r}).")
    source = Path(bundle).expanduser()
    if not source.exists():
        raise NotFoundError(f"Bundle {source} does not exist.")
    with tempfile.TemporaryDirectory(prefix=".kroma-import-", dir=ws.home) as tmp:
        staged = _stage(source, Path(tmp) / "bundle", max_member_bytes, max_total_bytes)
        meta = _verify(staged)
        for item in meta.get("files", []):
            _safe_rel(item["path"])
        bundle_db = connect(staged["project.db"].path, read_only=True)
        try:
            theirs = set(slices.migration_versions(bundle_db))
            unknown = sorted(theirs - {v for v, _ in available_migrations()})
            if unknown:
                raise InputError(f"The bundle was made by a newer Kroma Kit (schema {unknown[-1]}); upgrade, "
                                 "then import again.")
            return _import(ws, bundle_db, meta, staged, slug or meta["project"]["slug"], mode, dry_run)
        except sqlite3.IntegrityError as exc:
            raise InputError(f"The bundle's rows do not fit this catalog ({exc}); nothing was imported. "
                             "Was it edited by hand, or made by an incompatible Kroma Kit?") from None
        finally:
            bundle_db.close()


def _import(ws: Workspace, bundle_db: Any, meta: dict[str, Any], staged: dict[str, StagedFile], slug: str,
            mode: str, dry_run: bool) -> ImportResult:
    validate_slug(slug)
    try:
        existing: dict[str, Any] | None = get_project(ws, slug)
    except NotFoundError:
        existing = None
    result = ImportResult(slug, mode, dry_run, created_project=existing is None or mode == "replace")
    bundle_pid = meta["project"]["id"]
    now = utcnow()
    conn = connect(ws.catalog_path)
    moved_folder: tuple[Path, Path] | None = None
    try:
        slices.begin_import(conn)
        if existing is not None and mode == "replace":
            retired = f"{slug}-replaced-{file_stamp().lower()}"[:64].rstrip("-")
            old_root = Path(existing["root"])
            pinned = old_root
            if old_root.resolve() == (ws.projects_dir / slug).resolve() and old_root.exists():
                pinned = ws.projects_dir / retired
                moved_folder = (old_root, pinned)
            slices.retire_project(conn, existing["id"], retired, str(pinned), now)
            record_event(conn, "project.replaced", {"slug": slug, "retired_as": retired, "root": str(pinned)},
                         project_id=existing["id"])
            result.replaced_project = retired
            existing = None
        if existing is None:
            target_pid, root = _create_project_rows(conn, ws, bundle_db, bundle_pid, slug, now)
        else:
            target_pid, root = existing["id"], Path(existing["root"])
        result.root = str(root)
        before = set(dangling_references(conn))  # a catalog's old problems are not the bundle's
        user_map = _map_users(conn, bundle_db, bundle_pid)
        _copy_rows(conn, bundle_db, bundle_pid, target_pid, merge=existing is not None, user_map=user_map,
                   old_root=str(meta.get("project_root") or ""), new_root=str(root), result=result)
        record_event(conn, "project.imported", {"mode": mode, "bundle_project": meta["project"]["slug"],
                                                "exported_at": meta.get("exported_at"),
                                                "rows_inserted": sum(r["inserted"] for r in result.rows.values()),
                                                "files": len(meta.get("files", []))}, project_id=target_pid)
        dangling = [p for p in dangling_references(conn, sorted(result.rows)) if p not in before]
        if dangling:
            raise _dangling(dangling[0][0], f"{len(dangling)} reference(s)")
        if dry_run:
            _plan_files(meta, root, result)
            slices.rollback(conn)
            return result
        if moved_folder is not None:
            os.rename(*moved_folder)
        try:
            _place_files(meta, staged, root, result)
            slices.commit(conn)
        except BaseException:
            if moved_folder is not None and moved_folder[1].exists() and not moved_folder[0].exists():
                os.rename(moved_folder[1], moved_folder[0])
            raise
    except BaseException:
        slices.rollback(conn)
        raise
    finally:
        conn.close()
    return result


def _dangling(table: str, how_many: str) -> InputError:
    """The refusal of a bundle whose rows name rows it does not hold: SQLite finds them all at the
    end (keys deferred), PostgreSQL at the first INSERT that names one; same words either way."""
    return InputError(f"The bundle's rows point at rows it does not hold (table {table}, {how_many}); "
                      "nothing was imported.")


def _create_project_rows(conn: Any, ws: Workspace, bundle_db: Any, bundle_pid: str, slug: str,
                         now: str) -> tuple[str, Path]:
    row = slices.project_row(bundle_db, bundle_pid)
    if row is None:
        raise InputError("The bundle's project.db does not hold the project its metadata names.")
    pid = bundle_pid if not slices.row_exists(conn, "projects", {"id": bundle_pid}) else new_id()
    row.update(id=pid, slug=slug, status="active", owner_user_id=LOCAL_USER_ID, updated_at=now)
    slices.insert_row(conn, "projects", row)
    storage = {"id": new_id(), "project_id": pid, "local_base_dir": "projects", "local_project_root": None,
               "s3_enabled": 0, "created_at": now, "updated_at": now}
    storage.update(slices.storage_s3_fields(bundle_db, bundle_pid))
    slices.insert_row(conn, "project_storage", storage)
    return pid, ws.projects_dir / slug


def _map_users(conn: Any, bundle_db: Any, bundle_pid: str) -> dict[str, str]:
    mapping = {}
    for user in slices.users_for(bundle_db, bundle_pid):
        if slices.row_exists(conn, "app_users", {"id": user["id"]}):
            mapping[user["id"]] = user["id"]
            continue
        by_name = slices.user_id_by_name(conn, user["username"])
        if by_name is None:
            slices.insert_row(conn, "app_users", user)
            by_name = user["id"]
        mapping[user["id"]] = by_name
    return mapping


def _copy_rows(conn: Any, bundle_db: Any, bundle_pid: str, target_pid: str, *, merge: bool,
               user_map: dict[str, str], old_root: str, new_root: str, result: ImportResult) -> None:
    target_parts = {part.table: part for part in slices.project_slices(conn)}
    id_map: dict[str, dict[Any, Any]] = {"projects": {bundle_pid: target_pid}, "app_users": user_map}
    for part in slices.project_slices(bundle_db):
        if part.table in slices.SPECIAL_TABLES:
            continue
        target_part = target_parts.get(part.table)
        if target_part is None:
            result.warnings.append(f"table {part.table} is unknown here; its rows were not imported")
            continue
        counts = {"provided": 0, "inserted": 0, "unchanged": 0, "remapped": 0}
        columns = set(table_columns(conn, part.table))
        mapping = id_map.setdefault(part.table, {})
        for row in slices.slice_rows(bundle_db, part, bundle_pid):
            counts["provided"] += 1
            for fk in part.foreign_keys:
                value = row.get(fk.column)
                if value is not None and value in id_map.get(fk.parent, {}):
                    row[fk.column] = id_map[fk.parent][value]
            if "project_id" in row:
                row["project_id"] = target_pid
            if old_root and old_root != new_root:
                row = {k: (v.replace(old_root, new_root) if isinstance(v, str) else v) for k, v in row.items()}
            if part.primary_key == ["id"]:
                old_id = row["id"]
                if merge and slices.slice_has_row(conn, target_part, target_pid, {"id": old_id}):
                    mapping[old_id] = old_id
                    counts["unchanged"] += 1
                    continue
                if slices.row_exists(conn, part.table, {"id": old_id}):
                    row["id"] = new_id()
                    counts["remapped"] += 1
                mapping[old_id] = row["id"]
            try:
                inserted = slices.insert_row(conn, part.table, row, target_columns=columns)
            except sqlite3.IntegrityError as exc:  # PostgreSQL checks each row's keys as it lands
                if is_foreign_key_failure(exc):
                    detail = str(exc).partition("DETAIL:")[2].strip()  # PostgreSQL names the key
                    raise _dangling(part.table, detail or "the first one refused") from None
                raise
            if inserted:
                counts["inserted"] += 1
            else:
                counts["unchanged"] += 1
                if part.primary_key == ["id"]:
                    holder = slices.find_conflicting_id(conn, part.table, row)
                    if holder is not None:
                        mapping[old_id] = holder
        result.rows[part.table] = counts


def _plan_files(meta: dict[str, Any], root: Path, result: ImportResult) -> None:
    layout = ProjectLayout(root)
    for item in meta.get("files", []):
        target = layout.inside(_safe_rel(item["path"]))
        if target.is_file():
            same = sha256_file(target) == item["sha256"]
            result.files["unchanged" if same else "archived"] += 1
            if not same:
                result.files["written"] += 1
        else:
            result.files["written"] += 1


def _place_files(meta: dict[str, Any], staged: dict[str, StagedFile], root: Path, result: ImportResult) -> None:
    layout = ProjectLayout(root).ensure()
    for item in meta.get("files", []):
        rel = _safe_rel(item["path"])
        target = layout.inside(rel)
        if target.is_symlink():
            raise InputError(f"Refusing to write through the symlink {target}.")
        if target.is_file():
            if sha256_file(target) == item["sha256"]:
                result.files["unchanged"] += 1
                continue
            move_to_archive(target, layout.archive_replaced, "imported")
            result.files["archived"] += 1
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged[f"files/{rel}"].path), str(target))
        result.files["written"] += 1
