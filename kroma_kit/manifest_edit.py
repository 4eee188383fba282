"""Editing a project's manifest: its scene, style and character refs and its stage prompts.

The ManifestEditor panel and ``kroma manifest`` / ``kroma prompt`` both change the manifest
through here, so both refuse the same things with the same messages and both leave the file as
the pipeline expects it. Every change is checked in full before the file is touched (schema via
:func:`~kroma_kit.config.resolve_project_settings`, each new ref opened with
:func:`~kroma_kit.imaging.open_image`), then the file is rewritten atomically with only the
changed keys replaced: a refused edit leaves the file byte for byte as it was.

Refs follow the manifest's own rule (:func:`~kroma_kit.project_setup.resolve_ref`): relative
paths are relative to the project root and must stay inside it; absolute paths may point
anywhere, as long as the file is a readable image. An absolute path inside the project is
stored relative, so the project keeps working after ``kroma project set-root``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kroma_kit.catalog.projects import get_project
from kroma_kit.catalog.prompts import check_prompt, record_published
from kroma_kit.config import ProjectSettings, read_settings_file, resolve_project_settings
from kroma_kit.errors import ConfigError, ImageInputError, InputError, StorageError
from kroma_kit.imaging import IMAGE_EXTENSIONS, open_image, open_image_bytes, sanitize_stem
from kroma_kit.project_setup import ensure_project_manifest, resolve_ref
from kroma_kit.settings_models import Manifest
from kroma_kit.storage.atomic import atomic_write_bytes, atomic_write_json
from kroma_kit.workspace import ProjectLayout, Workspace

REF_KINDS = ("scene", "style", "character")
REF_FIELDS = {"scene": "scene_refs", "style": "style_refs", "character": "character_refs"}


def ref_field(kind: str) -> str:
    """The manifest key of a ref kind (``scene`` -> ``scene_refs``); unknown -> InputError."""
    if kind not in REF_FIELDS:
        raise InputError(f"Unknown ref kind {kind!r}; expected one of {', '.join(REF_KINDS)}.")
    return REF_FIELDS[kind]


def ref_folder(layout: ProjectLayout, kind: str) -> Path:
    """Where imported refs of ``kind`` go: the folders the sample project uses too."""
    ref_field(kind)
    return {"scene": layout.scenes, "style": layout.styles, "character": layout.characters}[kind]


def manifest_file_path(resolved: ProjectSettings, project_root: Path) -> Path:
    """Where the project's own manifest lives (``pipeline.manifest_path``), existing or not."""
    if resolved.manifest_file is not None:
        return resolved.manifest_file
    configured = Path(resolved.settings.pipeline.manifest_path)
    return configured if configured.is_absolute() else project_root / configured


def _settings_for_edit(project_root: Path) -> ProjectSettings:
    """The project's settings, after giving a project that predates starter manifests its
    starter one, so an edit never fails only because the file was never written."""
    ensure_project_manifest(project_root)
    return resolve_project_settings(project_root)


def _project_root(ws: Workspace, slug: str) -> Path:
    return Path(get_project(ws, slug)["root"])


def normalise_ref(project_root: Path, field: str, ref: str) -> str:
    """Check one ref and return the form the manifest stores; InputError naming the ref otherwise.

    Refused: empty refs, relative refs that leave the project root (``../``, or a symlink out of
    it), missing files, and files :func:`open_image` will not decode (corrupt, not an image, a
    decompression bomb).
    """
    text = ref.strip() if isinstance(ref, str) else ""
    if not text:
        raise InputError(f"{field}: a ref is empty; give a path to an image file.")
    given = Path(text).expanduser()
    layout = ProjectLayout(project_root)
    if given.is_absolute():
        stored = layout.relative(given) if _is_inside(layout, given) else os.path.normpath(given)
    else:
        stored = os.path.normpath(text).replace(os.sep, "/")
        if stored == ".." or stored.startswith("../"):
            raise InputError(f"{field}: ref {ref!r} points outside the project root {project_root}; "
                             "copy the file into the project (`kroma manifest add-ref`) or give an absolute path.")
        try:
            layout.inside(stored)
        except StorageError:
            raise InputError(f"{field}: ref {ref!r} resolves (through a link) outside the project root "
                             f"{project_root}; copy the file into the project instead.") from None
    try:
        open_image(resolve_ref(project_root, stored)).close()
    except ImageInputError as exc:
        raise InputError(f"{field}: ref {ref!r}: {exc}") from None
    return stored


def _is_inside(layout: ProjectLayout, path: Path) -> bool:
    try:
        layout.inside(path)
    except StorageError:
        return False
    return True


def _check_refs(project_root: Path, field: str, refs: list[str], problems: list[str]) -> list[str]:
    """Normalise every ref of one field, collecting problems (duplicates included) instead of stopping."""
    if isinstance(refs, str) or not isinstance(refs, (list, tuple)):
        problems.append(f"{field}: must be a list of paths (got {type(refs).__name__})")
        return []
    stored: list[str] = []
    seen: dict[Path, str] = {}
    for ref in refs:
        try:
            normal = normalise_ref(project_root, field, ref)
        except InputError as exc:
            problems.append(str(exc))
            continue
        target = resolve_ref(project_root, normal).resolve()
        if target in seen:
            problems.append(f"{field}: ref {ref!r} is listed twice (same file as {seen[target]!r}); "
                            "each ref may appear once.")
            continue
        seen[target] = ref
        stored.append(normal)
    return stored


def _check_prompts(prompts: dict[str, str], problems: list[str]) -> None:
    """What the manifest itself needs: named, non-blank texts (stage names are the catalog's check)."""
    if not isinstance(prompts, dict):
        problems.append(f"prompts: must be an object of strings (got {type(prompts).__name__})")
        return
    for name, text in prompts.items():
        if not isinstance(name, str) or not name.strip():
            problems.append("prompts: a prompt name is empty; use a key such as 'style_base'.")
        elif not isinstance(text, str) or not text.strip():
            problems.append(f"prompts: {name!r} is empty; a stage prompt needs some text "
                            "(the pipeline refuses a blank prompt).")


def write_manifest(project_root: Path, *, scene_refs: list[str] | None = None,
                   style_refs: list[str] | None = None, character_refs: list[str] | None = None,
                   prompts: dict[str, str] | None = None) -> ProjectSettings:
    """Validate the given keys, then rewrite the project's manifest file with them; no catalog work.

    ``None`` leaves a key as it is; a ref list replaces the whole list; ``prompts`` sets those
    prompt keys and keeps the others. Every problem is reported at once in one error, and on any
    error the file is not touched. Returns the settings resolved from the new file.
    """
    root = Path(project_root)
    before = _settings_for_edit(root)  # a broken manifest stops here, with file + key
    path = manifest_file_path(before, root)
    problems: list[str] = []
    changes: dict[str, Any] = {}
    for field, refs in (("scene_refs", scene_refs), ("style_refs", style_refs),
                        ("character_refs", character_refs)):
        if refs is not None:
            changes[field] = _check_refs(root, field, refs, problems)
    if prompts is not None:
        _check_prompts(prompts, problems)
    if problems:
        raise InputError("Manifest not changed: " + "; ".join(problems))

    raw: dict[str, Any] = read_settings_file(path) if path.is_file() else {}
    if prompts:
        existing = raw.get("prompts", {})
        if not isinstance(existing, dict):
            raise ConfigError(f"{path}: prompts: must be an object of strings (got {type(existing).__name__})")
        changes["prompts"] = {**existing, **prompts}
    resolve_project_settings(root, manifest_overrides=changes)  # the schema, before writing
    atomic_write_json(path, {**raw, **changes})
    return resolve_project_settings(root)


def update_manifest(ws: Workspace, slug: str, *, scene_refs: list[str] | None = None,
                    style_refs: list[str] | None = None, character_refs: list[str] | None = None,
                    prompts: dict[str, str] | None = None) -> Manifest:
    """Change project ``slug``'s refs and/or prompts (see :func:`write_manifest`); return the
    resolved manifest the next run will use.

    Prompts whose text really changed also get a new catalog version (as publishing from the
    panel does), so ``prompt_history`` and the manifest never disagree.
    """
    for name, text in (prompts or {}).items():
        check_prompt(name, text)
    root = _project_root(ws, slug)
    before = _settings_for_edit(root).manifest
    resolved = write_manifest(root, scene_refs=scene_refs, style_refs=style_refs,
                              character_refs=character_refs, prompts=prompts)
    for name, text in (prompts or {}).items():
        if before.prompts.get(name) != text:
            record_published(ws, slug, name, text, baseline=before.prompts.get(name))
    return resolved.manifest


def publish_prompt(ws: Workspace, slug: str, name: str, text: str, *, stage: str | None = None) -> int:
    """Make ``text`` the prompt ``name`` for the project's next runs; return its catalog version.

    The project's manifest file gets ``prompts[name] = text`` through
    :func:`write_manifest` (only that key changes; the file is validated
    before it is rewritten atomically, and nothing is recorded when that fails). Then the
    version is recorded by :func:`~kroma_kit.catalog.prompts.record_published`.
    """
    resolved_stage = check_prompt(name, text, stage)
    root = _project_root(ws, slug)
    before = resolve_project_settings(root)  # a broken manifest stops here, with file + key
    write_manifest(root, prompts={name: text})
    return record_published(ws, slug, name, text, baseline=before.manifest.prompts.get(name),
                            stage=resolved_stage)


def import_ref_file(ws: Workspace, slug: str, kind: str, source_path: str | os.PathLike[str]) -> str:
    """Copy an image into the project's folder for ``kind`` refs; return its manifest ref.

    The name is sanitised (``My Scene!.PNG`` -> ``my_scene.png``). A file of that name with the
    same bytes is reused; a different one is never overwritten: the copy gets ``-2``, ``-3``...
    The source must decode with :func:`open_image` before anything is copied.
    """
    source = Path(source_path).expanduser()
    open_image(source).close()
    return _store_ref(ws, slug, kind, source.name, source.read_bytes(), label=str(source))


def import_ref_bytes(ws: Workspace, slug: str, kind: str, filename: str, data: bytes) -> str:
    """:func:`import_ref_file` for an image that arrives as bytes (the panel's upload button).

    ``filename`` is the name the browser sent: only its sanitised stem and its extension are
    used, so a name such as ``../../x.png`` still lands in the ref folder. Same checks
    (:func:`open_image_bytes`, same limits), same naming, same reuse of identical bytes.
    """
    open_image_bytes(data, filename).close()
    return _store_ref(ws, slug, kind, filename, data, label=filename)


def _store_ref(ws: Workspace, slug: str, kind: str, filename: str, data: bytes, *, label: str) -> str:
    """Write decoded-and-checked image bytes into the ``kind`` ref folder under a clean name that
    never replaces a different file; identical bytes already there are reused, not copied."""
    suffix = Path(filename).suffix.lower()
    if suffix not in IMAGE_EXTENSIONS:
        raise InputError(f"{label}: the file name has no image extension ({', '.join(IMAGE_EXTENSIONS)}); "
                         "rename it so the pipeline can tell its type.")
    layout = ProjectLayout(_project_root(ws, slug))
    folder = ref_folder(layout, kind)
    stem = sanitize_stem(filename, fallback=kind)
    target = folder / f"{stem}{suffix}"
    counter = 2
    while target.exists():
        if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
            return layout.relative(target)
        target = folder / f"{stem}-{counter}{suffix}"
        counter += 1
    atomic_write_bytes(target, data)
    return layout.relative(target)


def add_ref_file(ws: Workspace, slug: str, kind: str, source_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Import an image (:func:`import_ref_file`) and append it to the manifest's ``kind`` refs.

    Returns ``kind``, ``ref`` (as stored) and ``refs`` (the field's new list). The manifest is
    checked first, so a broken one stops the import before any file is copied.
    """
    field = ref_field(kind)
    current = getattr(_settings_for_edit(_project_root(ws, slug)).manifest, field)
    ref = import_ref_file(ws, slug, kind, source_path)
    manifest = update_manifest(ws, slug, **{field: [*current, ref]})
    return {"kind": kind, "field": field, "ref": ref, "refs": getattr(manifest, field)}
