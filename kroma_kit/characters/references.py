"""Reference sets as a service: create sets, add files to them, read them back typed.

A file given from outside the project is first checked (it must decode as an image within the
size limits: a corrupt or huge file is refused with its name) and copied into the project
(``characters/<code>/`` for a character's refs, ``inputs/refs/<set>/`` otherwise), so a set only
ever holds the project's own assets. An asset of another project is refused by the catalog.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from kroma_kit.catalog import refsets as rq
from kroma_kit.catalog.assets import find_asset, register_asset
from kroma_kit.catalog.audit import record_event
from kroma_kit.characters._common import project_of, reading, writing
from kroma_kit.characters.records import ReferenceItem, ReferenceSet
from kroma_kit.errors import ImageInputError, InputError, NotFoundError
from kroma_kit.imaging import describe_file, open_image, sanitize_stem
from kroma_kit.storage.atomic import atomic_write_with
from kroma_kit.workspace import ProjectLayout, Workspace


def import_image(project: dict[str, Any], source: str | Path, folder: str) -> Path:
    """Check ``source`` decodes as an image and put it inside the project under ``folder``
    (a file already inside the project root stays where it is). Returns the path in the project."""
    layout = ProjectLayout(Path(project["root"]))
    path = Path(source).expanduser()
    if not path.is_absolute():
        inside = layout.root / path
        path = inside if inside.exists() else path.resolve()
    try:
        open_image(path).close()
    except ImageInputError as exc:
        raise ImageInputError(f"Reference image refused: {exc}") from None
    root = layout.root.resolve()
    if root in path.resolve().parents:
        return path.resolve()
    target_dir = layout.root / folder
    stem = sanitize_stem(path.name, "ref")
    target = target_dir / f"{stem}{path.suffix.lower()}"
    counter = 1
    while target.exists():
        target = target_dir / f"{stem}-{counter}{path.suffix.lower()}"
        counter += 1

    def copy(handle: Any) -> None:
        with open(path, "rb") as src:
            shutil.copyfileobj(src, handle)
    atomic_write_with(target, copy)
    return target.resolve()


def reference_asset(conn: Any, project: dict[str, Any], path: Path, metadata: dict[str, Any] | None = None) -> str:
    """The asset id of a reference file: its existing row when the catalog already knows the file
    (an input or an output keeps its kind and lineage), else a new ``reference`` asset."""
    found = find_asset(conn, project["id"], path)
    if found is not None and found["sha256"] == describe_file(path).sha256:
        return str(found["id"])
    return register_asset(conn, project["id"], path, "reference", project_root=Path(project["root"]),
                          metadata=metadata)


def create_reference_set(ws: Workspace, project: str | dict[str, Any], name: str, kind: str = "other", *,
                         description: str = "") -> ReferenceSet:
    proj = project_of(ws, project)
    name = (name or "").strip()
    if not name:
        raise InputError("Reference set name is empty.")
    with writing(ws) as conn:
        if rq.get_reference_set(conn, proj["id"], name=name) is not None:
            raise InputError(f"Reference set '{name}' already exists in project '{proj['slug']}'.")
        rq.insert_reference_set(conn, proj["id"], name, kind, description=description)
        record_event(conn, "reference_set.created", {"name": name, "kind": kind}, project_id=proj["id"])
    return get_reference_set(ws, proj, name)


def list_reference_sets(ws: Workspace, project: str | dict[str, Any], *, kind: str | None = None
                        ) -> list[ReferenceSet]:
    proj = project_of(ws, project)
    with reading(ws) as conn:
        return [ReferenceSet.from_row(row, rq.list_items(conn, proj["id"], row["id"]))
                for row in rq.list_reference_sets(conn, proj["id"], kind=kind)]


def get_reference_set(ws: Workspace, project: str | dict[str, Any], name: str) -> ReferenceSet:
    proj = project_of(ws, project)
    with reading(ws) as conn:
        row = rq.get_reference_set(conn, proj["id"], name=name)
        if row is None:
            known = [s["name"] for s in rq.list_reference_sets(conn, proj["id"])]
            raise NotFoundError(f"Unknown reference set '{name}' in project '{proj['slug']}'"
                                + (f" (known: {', '.join(known)})." if known else " (the project has none)."))
        return ReferenceSet.from_row(row, rq.list_items(conn, proj["id"], row["id"]))


def add_reference(ws: Workspace, project: str | dict[str, Any], set_name: str, source: str | Path, *,
                  weight: float = 1.0, notes: str = "", role: str = "reference") -> ReferenceSet:
    """Add an image file to a set (imported into the project first when it lives outside it)."""
    proj = project_of(ws, project)
    _add_file(ws, proj, set_name, source, weight=weight, notes=notes, role=role)
    return get_reference_set(ws, proj, set_name)


def _add_file(ws: Workspace, proj: dict[str, Any], set_name: str, source: str | Path, *, weight: float,
              notes: str, role: str) -> str:
    """Import ``source`` and link it into the set; returns its asset id."""
    current = get_reference_set(ws, proj, set_name)
    folder = f"inputs/refs/{sanitize_stem(set_name, 'set')}"
    path = import_image(proj, source, folder)
    with writing(ws) as conn:
        asset_id = reference_asset(conn, proj, path, {"reference_set": set_name})
        rq.add_item(conn, proj["id"], current.id, asset_id, weight=weight, notes=notes, role=role)
        record_event(conn, "reference_set.item_added", {"set": set_name, "asset_id": asset_id,
                                                        "path": Path(path).as_posix()}, project_id=proj["id"])
    return asset_id


def add_asset_to_set(ws: Workspace, project: str | dict[str, Any], set_name: str, asset_id: str, *,
                     weight: float = 1.0, notes: str = "", role: str = "reference") -> ReferenceSet:
    """Link an existing catalog asset (it must be this project's) into a set."""
    proj = project_of(ws, project)
    current = get_reference_set(ws, proj, set_name)
    with writing(ws) as conn:
        rq.add_item(conn, proj["id"], current.id, asset_id, weight=weight, notes=notes, role=role)
        record_event(conn, "reference_set.item_added", {"set": set_name, "asset_id": asset_id},
                     project_id=proj["id"])
    return get_reference_set(ws, proj, set_name)


def remove_reference(ws: Workspace, project: str | dict[str, Any], set_name: str, path_or_asset: str) -> ReferenceSet:
    """Unlink an item (by asset id or file path) from a set; the file and asset row stay."""
    proj = project_of(ws, project)
    current = get_reference_set(ws, proj, set_name)
    asset_id = path_or_asset
    with reading(ws) as conn:
        if rq.asset_in_project(conn, proj["id"], path_or_asset) is None:
            found = find_asset(conn, proj["id"], ProjectLayout(Path(proj["root"])).inside(path_or_asset))
            if found is None:
                raise NotFoundError(f"No item {path_or_asset!r} in reference set '{set_name}'.")
            asset_id = found["id"]
    with writing(ws) as conn:
        removed = rq.remove_item(conn, proj["id"], current.id, asset_id)
        if not removed:
            raise NotFoundError(f"No item {path_or_asset!r} in reference set '{set_name}'.")
        record_event(conn, "reference_set.item_removed", {"set": set_name, "asset_id": asset_id},
                     project_id=proj["id"])
    return get_reference_set(ws, proj, set_name)


def find_reference_set(ws: Workspace, project: str | dict[str, Any], key: str) -> ReferenceSet:
    """The set whose id or name is ``key`` (ids for the API, names for the CLI)."""
    proj = project_of(ws, project)
    with reading(ws) as conn:
        row = rq.get_reference_set(conn, proj["id"], set_id=key) or rq.get_reference_set(conn, proj["id"], name=key)
        if row is None:
            raise NotFoundError(f"No reference set with id or name '{key}' in project '{proj['slug']}'.")
        return ReferenceSet.from_row(row, rq.list_items(conn, proj["id"], row["id"]))


def update_reference_set(ws: Workspace, project: str | dict[str, Any], name: str, *,
                         description: str | None = None, metadata: dict[str, Any] | None = None) -> ReferenceSet:
    """Change a set's description or metadata (``None`` keeps the value)."""
    proj = project_of(ws, project)
    current = get_reference_set(ws, proj, name)
    with writing(ws) as conn:
        rq.update_reference_set(conn, proj["id"], current.id, description=description, metadata=metadata)
        record_event(conn, "reference_set.updated", {"name": name, "fields": sorted(
            k for k, v in (("description", description), ("metadata", metadata)) if v is not None)},
            project_id=proj["id"])
    return get_reference_set(ws, proj, name)


def delete_reference_set(ws: Workspace, project: str | dict[str, Any], name: str) -> ReferenceSet:
    """Erase a set and its items; the assets and their files stay in the catalog."""
    proj = project_of(ws, project)
    current = get_reference_set(ws, proj, name)
    with writing(ws) as conn:
        rq.delete_reference_set(conn, proj["id"], current.id)
        record_event(conn, "reference_set.deleted", {"name": name, "reference_set_id": current.id,
                                                     "items": len(current.items)}, project_id=proj["id"])
    return current


def get_reference_item(ws: Workspace, project: str | dict[str, Any], set_name: str, key: str) -> ReferenceItem:
    """An item of the set by its id or its asset's id."""
    refset = get_reference_set(ws, project, set_name)
    found = next((item for item in refset.items if key in (item.id, item.asset_id)), None)
    if found is None:
        raise NotFoundError(f"No item '{key}' in reference set '{set_name}'.")
    return found


def update_reference_item(ws: Workspace, project: str | dict[str, Any], set_name: str, key: str, *,
                          weight: float | None = None, notes: str | None = None,
                          role: str | None = None) -> ReferenceItem:
    """Change an item's weight, notes or role (``None`` keeps the value)."""
    proj = project_of(ws, project)
    refset = get_reference_set(ws, proj, set_name)
    item = get_reference_item(ws, proj, set_name, key)
    with writing(ws) as conn:
        rq.update_item(conn, proj["id"], refset.id, item.id, weight=weight, notes=notes, role=role)
        record_event(conn, "reference_set.item_updated", {"set": set_name, "item_id": item.id},
                     project_id=proj["id"])
    return get_reference_item(ws, proj, set_name, item.id)


def add_set_item(ws: Workspace, project: str | dict[str, Any], set_name: str, *, asset_id: str | None = None,
                 path: str | None = None, weight: float = 1.0, notes: str = "", role: str = "reference"
                 ) -> ReferenceItem:
    """Add one item, given either a catalog asset of the project or a file *inside the project
    root* (a caller over the network must not make the server read files elsewhere); the new item."""
    proj = project_of(ws, project)
    if (asset_id is None) == (path is None):
        raise InputError("Give either 'asset_id' (a catalog asset of this project) or 'path' (an image file "
                         "inside the project root), not both.")
    if path is not None:
        inside = ProjectLayout(Path(proj["root"])).inside(path)
        asset_id = _add_file(ws, proj, set_name, inside, weight=weight, notes=notes, role=role)
    else:
        assert asset_id is not None
        add_asset_to_set(ws, proj, set_name, asset_id, weight=weight, notes=notes, role=role)
    return get_reference_item(ws, proj, set_name, asset_id)
