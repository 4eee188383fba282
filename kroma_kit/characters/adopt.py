"""Bringing an existing workspace into the knowledge layer, explicitly and idempotently.

Before characters were rows, a character was a file listed under the manifest's
``character_refs``. :func:`adopt_manifest_characters` turns each such file into a character
(code from the file name) whose reference set holds that file and whose workspace lists it as
a reference image. Nothing is moved, copied or removed: the manifest stays as it was, the files
stay where they are, and a second call changes nothing. ``kroma db migrate`` runs it for every
project (``kroma character adopt --project P`` for one).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.catalog import refsets as rq
from kroma_kit.catalog.assets import find_asset
from kroma_kit.catalog.projects import list_projects
from kroma_kit.characters._common import project_of, reading
from kroma_kit.characters.images import import_reference_image
from kroma_kit.characters.profiles import character_set_name, create_character, list_characters
from kroma_kit.config import resolve_project_settings
from kroma_kit.errors import KromaError
from kroma_kit.imaging import sanitize_stem
from kroma_kit.project_setup import resolve_ref
from kroma_kit.workspace import Workspace


@dataclass
class AdoptReport:
    project: str
    created: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def code_for(path: Path, index: int) -> str:
    """A valid character code from a file name (``Hero Sheet.png`` -> ``hero_sheet``)."""
    stem = re.sub(r"[^a-z0-9_-]+", "_", sanitize_stem(path.name).lower()).strip("_-")[:64]
    return stem if stem and stem[0].isalnum() else f"character_{index}"


def adopt_manifest_characters(ws: Workspace, project: str | dict[str, Any]) -> AdoptReport:
    proj = project_of(ws, project)
    report = AdoptReport(proj["slug"])
    root = Path(proj["root"])
    try:
        manifest = resolve_project_settings(root).manifest
    except KromaError as exc:
        report.problems.append(f"manifest unreadable: {exc}")
        return report
    existing = {c.code: c for c in list_characters(ws, proj)}
    for index, ref in enumerate(manifest.character_refs, start=1):
        path = resolve_ref(root, ref)
        if not path.is_file():
            report.problems.append(f"{ref}: file not found (left in the manifest)")
            continue
        code = code_for(path, index)
        if code in existing and _already_linked(ws, proj, code, path):
            report.unchanged.append(code)
            continue
        try:
            if code not in existing:
                existing[code] = create_character(ws, proj, code, path.stem.replace("_", " ").title(),
                                                  metadata={"adopted_from": ref})
                report.created.append(code)
            else:
                report.linked.append(code)
            import_reference_image(ws, proj, code, path, provider="import",
                                   notes="from the manifest's character_refs")
        except KromaError as exc:
            report.problems.append(f"{ref}: {exc}")
    return report


def _already_linked(ws: Workspace, proj: dict[str, Any], code: str, path: Path) -> bool:
    with reading(ws) as conn:
        asset = find_asset(conn, proj["id"], path)
        refset = rq.get_reference_set(conn, proj["id"], name=character_set_name(code))
        if asset is None or refset is None:
            return False
        return any(item["asset_id"] == asset["id"] for item in rq.list_items(conn, proj["id"], refset["id"]))


def adopt_all_projects(ws: Workspace) -> list[AdoptReport]:
    return [adopt_manifest_characters(ws, project) for project in list_projects(ws)]
