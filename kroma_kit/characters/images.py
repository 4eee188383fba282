"""A character's images: list, pick the best reference, import one, record a run's winners, and
delete (archive) one.

Seed 004's metadata is kept per image (kind, provider, exact prompt, source URL, external id,
status, error, metrics incl. ``duration_ms``). Nothing is erased: a deleted image's file moves to
``archive/deleted/``, its row is marked deleted, an audit event is written, and for a Character
Library reference the remote ``DELETE`` is sent once, its answer (or failure) recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kroma_kit.catalog import character_images as iq
from kroma_kit.catalog import knowledge as kq
from kroma_kit.catalog import refsets as rq
from kroma_kit.catalog.assets import register_asset
from kroma_kit.catalog.audit import record_event
from kroma_kit.characters._common import project_of, reading, writing
from kroma_kit.characters.profiles import character_set_name, get_character, update_character
from kroma_kit.characters.records import CharacterImage
from kroma_kit.characters.references import import_image, reference_asset
from kroma_kit.errors import InputError, NotFoundError
from kroma_kit.providers.character_library import CharacterLibraryProvider
from kroma_kit.storage.atomic import move_to_archive
from kroma_kit.storage.runlog_model import CharacterJobMeta, RunLogModel
from kroma_kit.workspace import ProjectLayout, Workspace

BEST_REFERENCE_KEY = "best_reference_image_id"


def list_character_images(ws: Workspace, project: str | dict[str, Any], code: str, *, kind: str | None = None,
                          include_deleted: bool = False) -> list[CharacterImage]:
    """Newest first, like seed 004's grid."""
    proj = project_of(ws, project)
    character = get_character(ws, proj, code)
    with reading(ws) as conn:
        return [CharacterImage.from_row(row) for row in
                iq.list_images(conn, proj["id"], character.id, kind=kind, include_deleted=include_deleted)]


def get_character_image(ws: Workspace, project: str | dict[str, Any], code: str, image_id: str) -> CharacterImage:
    proj = project_of(ws, project)
    character = get_character(ws, proj, code)
    with reading(ws) as conn:
        row = iq.get_image(conn, proj["id"], image_id)
    if row is None or row["character_id"] != character.id:
        raise NotFoundError(f"Character '{code}' has no image {image_id}. List them with "
                            f"`kroma character images {code}`.")
    return CharacterImage.from_row(row)


def best_reference(ws: Workspace, project: str | dict[str, Any], code: str) -> CharacterImage | None:
    """The reference the artist chose (``set_best_reference``), else the newest usable one."""
    proj = project_of(ws, project)
    character = get_character(ws, proj, code)
    references = [image for image in list_character_images(ws, proj, code, kind="reference")
                  if image.status == "succeeded" and image.path is not None and image.path.is_file()]
    chosen = character.metadata.get(BEST_REFERENCE_KEY)
    for image in references:
        if image.id == chosen:
            return image
    return references[0] if references else None


def set_best_reference(ws: Workspace, project: str | dict[str, Any], code: str, image_id: str) -> CharacterImage:
    image = get_character_image(ws, project, code, image_id)
    if image.kind != "reference" or image.status != "succeeded" or image.deleted_at:
        raise InputError(f"Image {image_id} is a {image.status} {image.kind}"
                         f"{' (deleted)' if image.deleted_at else ''}: only a succeeded reference can be the best one.")
    update_character(ws, project, code, metadata={BEST_REFERENCE_KEY: image_id})
    return image


def character_reference_images(ws: Workspace, project: str | dict[str, Any], code: str) -> list[Path]:
    """The files a character must look like: its best reference first, then the newest portfolio
    item of each view. For the continuity gate and the characters stage of the pipeline."""
    proj = project_of(ws, project)
    get_character(ws, proj, code)  # unknown code -> NotFoundError naming the known ones
    with reading(ws) as conn:
        rows = iq.reference_files(conn, proj["id"], code)
    return [Path(row["storage_uri"]) for row in rows if Path(row["storage_uri"]).is_file()]


def latest_portfolio(ws: Workspace, project: str | dict[str, Any], code: str) -> list[CharacterImage]:
    """The newest usable portfolio item of each view, in turnaround order (front first)."""
    proj = project_of(ws, project)
    get_character(ws, proj, code)
    with reading(ws) as conn:
        rows = [row for row in iq.reference_files(conn, proj["id"], code) if row["kind"] == "portfolio_item"]
    return [image for image in map(CharacterImage.from_row, rows) if image.path is not None and image.path.is_file()]


def import_reference_image(ws: Workspace, project: str | dict[str, Any], code: str, source: str | Path, *,
                           prompt: str = "", provider: str = "import", notes: str = "") -> CharacterImage:
    """Bring an existing picture in as a reference of ``code`` (a reference image row plus an item
    of the character's reference set). Corrupt or huge files are refused before anything is written."""
    proj = project_of(ws, project)
    character = get_character(ws, proj, code)
    path = import_image(proj, source, f"characters/{code}")
    with writing(ws) as conn:
        asset_id = reference_asset(conn, proj, path, {"character": code})
        image_id = iq.insert_image(conn, proj["id"], character.id, kind="reference", provider=provider,
                                   prompt=prompt, status="succeeded", asset_id=asset_id,
                                   metrics={"imported_from": Path(source).as_posix()})
        _add_to_character_set(conn, proj["id"], code, character.id, asset_id, role="reference", notes=notes)
        record_event(conn, "character.image_imported", {"code": code, "image_id": image_id,
                                                         "path": path.as_posix()}, project_id=proj["id"])
    return get_character_image(ws, proj, code, image_id)


def _add_to_character_set(conn: Any, project_id: str, code: str, character_id: str, asset_id: str, *,
                          role: str, notes: str = "") -> None:
    found = rq.get_reference_set(conn, project_id, name=character_set_name(code))
    set_id = found["id"] if found else rq.insert_reference_set(
        conn, project_id, character_set_name(code), "character", character_id=character_id)
    rq.add_item(conn, project_id, set_id, asset_id, weight=1.0 if role == "reference" else 0.8, role=role,
                notes=notes)


def record_run_images(ws: Workspace, proj: dict[str, Any], code: str, log: RunLogModel,
                      *, duration_ms: int) -> tuple[list[CharacterImage], list[str]]:
    """After a character run: one image row per job whose winner exists (``succeeded``), one
    ``failed`` row per job whose candidates all failed the output guard (files in archive/bad).
    Jobs whose provider call failed get no row (seed 004: a 500 creates no records); their reasons
    are returned. Idempotent per (run, job). ``log`` is the run's typed log (``RunLog.model``)."""
    character = get_character(ws, proj, code)
    root = Path(proj["root"])
    created: list[str] = []
    failures: list[str] = []
    with writing(ws) as conn:
        existing = {row["job_key"] for row in iq.find_images_by_run(conn, proj["id"], log.run_id)}
        for job in log.jobs:
            if job.id in existing:
                continue
            meta = job.character_job or CharacterJobMeta()
            kind = meta.kind
            winner = job.winner()
            common = {"kind": kind, "view": meta.view, "provider": log.provider or "",
                      "prompt": job.prompt, "run_id": log.run_id, "job_key": job.id,
                      "parent_image_id": meta.reference_image_id}
            if job.status == "done" and winner is not None and job.final_output:
                path = root / job.final_output
                asset_id = register_asset(conn, proj["id"], path, "generated", project_root=root,
                                          run_id=log.run_id, metadata={"character": code, "kind": kind})
                params = winner.provider_params
                metrics = {"duration_ms": int(params.get("duration_ms") or winner.timings.get("generate_ms")
                                              or duration_ms),
                           "run_duration_ms": duration_ms, "cost_usd": float(winner.cost_usd or 0),
                           "candidates": len(job.candidates), "winner": job.selected_candidate,
                           "winner_reason": job.winner_reason,
                           "rank": winner.rank.to_json_data() if winner.rank is not None else None,
                           "seed": winner.seed, "model": winner.model}
                metrics.update({k: params[k] for k in ("download_sha256", "download_bytes") if k in params})
                image_id = iq.insert_image(conn, proj["id"], character.id, status="succeeded", asset_id=asset_id,
                                           source_url=params.get("source_url"), external_id=params.get("external_id"),
                                           metrics=metrics, **common)
                if kind in ("reference", "portfolio_item"):
                    role = "reference" if kind == "reference" else f"portfolio:{meta.view}"
                    _add_to_character_set(conn, proj["id"], code, character.id, asset_id, role=role)
                created.append(image_id)
            elif job.status == "failed_output_guard":
                reason = job.failure_reason or "all candidates failed the output guard"
                image_id = iq.insert_image(conn, proj["id"], character.id, status="failed", error=reason,
                                           metrics={"run_duration_ms": duration_ms}, **common)
                created.append(image_id)
                failures.append(f"{job.id}: {reason}")
            else:
                failures.append(f"{job.id}: {job.failure_reason or job.status}")
        if created:
            record_event(conn, "character.images_generated", {"code": code, "run_id": log.run_id,
                                                               "image_ids": created}, project_id=proj["id"])
    with reading(ws) as conn:
        rows = [iq.get_image(conn, proj["id"], image_id) for image_id in created]
    return [CharacterImage.from_row(row) for row in rows if row is not None], failures


def delete_character_image(ws: Workspace, project: str | dict[str, Any], code: str, image_id: str, *,
                           remote: Any = None) -> CharacterImage:
    """Archive the file, mark the row deleted, write an audit event, and for a Character Library
    reference send the remote DELETE once (``remote``: a provider with ``delete_reference``;
    built from the environment when None). A remote failure is recorded, never raised."""
    proj = project_of(ws, project)
    character = get_character(ws, proj, code)
    image = get_character_image(ws, proj, code, image_id)
    if image.deleted_at:
        raise InputError(f"Image {image_id} of '{code}' is already deleted (archived at {image.archived_path}).")
    layout = ProjectLayout(Path(proj["root"]))
    archived = None
    if image.path is not None and image.path.is_file():
        archived = layout.relative(move_to_archive(image.path, layout.root / "archive" / "deleted", "deleted"))
    remote_result: dict[str, Any] = {"attempted": False}
    if image.provider == "character_library" and image.kind == "reference":
        if remote is None:
            remote = CharacterLibraryProvider()
        library_id = str(character.metadata.get("character_library_id") or code)
        remote_result = remote.delete_reference(library_id)
    with writing(ws) as conn:
        iq.mark_image_deleted(conn, proj["id"], image_id, archived_path=archived, remote_delete=remote_result)
        if image.asset_id:
            for refset in rq.list_reference_sets(conn, proj["id"], character_id=character.id):
                rq.remove_item(conn, proj["id"], refset["id"], image.asset_id)
        if character.metadata.get(BEST_REFERENCE_KEY) == image_id:
            row = kq.get_character_by_id(conn, proj["id"], character.id)
            assert row is not None
            metadata = {k: v for k, v in row["metadata"].items() if k != BEST_REFERENCE_KEY}
            kq.update_character(conn, proj["id"], character.id, name=row["name"], bio=row["bio"],
                                identity=row["identity"], style_guide_id=row["style_guide_id"], metadata=metadata)
        record_event(conn, "character.image_deleted", {"code": code, "image_id": image_id, "kind": image.kind,
                                                        "archived_path": archived, "remote_delete": remote_result},
                     project_id=proj["id"])
    return get_character_image(ws, proj, code, image_id)
