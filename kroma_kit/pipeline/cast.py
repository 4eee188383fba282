"""Who appears in a scene of the characters stage, and which files show them.

A scene declares its cast in the manifest (``scene_characters``, keyed by the scene ref as
written in ``scene_refs`` or by its scene key, e.g. ``street``) or in its jobs-file entry
(``characters``); a cast member is a character code, or ``{code, x, height, baseline}`` to
place it in the shot (shares of the frame: centre x, figure height, feet line). Each member's
images come from the catalog: its best reference, then its newest portfolio view of each angle
(:func:`kroma_kit.catalog.character_images.reference_files`), so the model sees the character
all the way round and the local editor composites the reference's cut-out. A scene with no
declared cast shows every character of the project that has a reference; a project with no
characters yet falls back to the manifest's loose ``character_refs`` files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kroma_kit.errors import ConfigError
from kroma_kit.workspace import Workspace

MAX_IMAGES_PER_CHARACTER = 4  # best reference + 3 views: OpenAI edits take 16 inputs in all


@dataclass
class CastMember:
    code: str
    x: float | None = None
    height: float | None = None
    baseline: float | None = None

    @classmethod
    def parse(cls, value: Any, where: str) -> CastMember:
        if isinstance(value, str) and value.strip():
            return cls(value.strip())
        if isinstance(value, dict) and isinstance(value.get("code"), str) and value["code"].strip():
            unknown = sorted(set(value) - {"code", "x", "height", "baseline"})
            if unknown:
                raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} in a cast member "
                                  "(known: code, x, height, baseline).")
            member = cls(value["code"].strip(), value.get("x"), value.get("height"), value.get("baseline"))
            for name, low, high in (("x", 0.0, 1.0), ("height", 0.05, 1.0), ("baseline", 0.1, 1.0)):
                number = getattr(member, name)
                if number is not None and (isinstance(number, bool) or not isinstance(number, int | float)
                                           or not low <= number <= high):
                    raise ConfigError(f"{where}: {value['code']}.{name} must be a number from {low} to {high}, "
                                      f"got {number!r}.")
            return member
        raise ConfigError(f"{where}: a cast member is a character code or {{code, x, height, baseline}}, "
                          f"got {value!r}.")


def parse_cast(values: Any, where: str) -> list[CastMember]:
    if not isinstance(values, list):
        raise ConfigError(f"{where}: the cast must be a list of character codes, got {type(values).__name__}.")
    members = [CastMember.parse(value, where) for value in values]
    codes = [member.code for member in members]
    if len(set(codes)) != len(codes):
        raise ConfigError(f"{where}: a character appears twice in the cast ({', '.join(codes)}).")
    return members


def scene_cast(scene_characters: dict[str, Any], scene_ref: str | None, scene_key: str) -> list[CastMember] | None:
    """The declared cast of a scene, or None when the manifest declares none for it."""
    for key in (scene_ref, scene_key):
        if key and key in scene_characters:
            return parse_cast(scene_characters[key], f"manifest scene_characters[{key!r}]")
    return None


def default_cast(ws: Workspace, project_id: str) -> list[CastMember]:
    """Every live character of the project that has a reference image."""
    from kroma_kit.catalog.character_images import reference_files
    from kroma_kit.catalog.db import connect
    from kroma_kit.catalog.knowledge import list_characters

    conn = connect(ws.catalog_path, read_only=True)
    try:
        return [CastMember(row["code"]) for row in list_characters(conn, project_id)
                if reference_files(conn, project_id, row["code"])]
    finally:
        conn.close()


def cast_inputs(ws: Workspace, project: dict[str, Any], cast: list[CastMember], where: str
                ) -> tuple[list[Path], list[dict[str, Any]]]:
    """The character input files of a job (each member's best reference first, then views) and
    one placement per member: ``{code, input_offset, x, height, baseline}`` where ``input_offset``
    is the position of its best reference among the character inputs."""
    from kroma_kit.catalog.character_images import reference_files
    from kroma_kit.catalog.db import connect

    conn = connect(ws.catalog_path, read_only=True)
    paths: list[Path] = []
    placements: list[dict[str, Any]] = []
    try:
        for member in cast:
            rows = [row for row in reference_files(conn, project["id"], member.code)
                    if Path(row["storage_uri"]).is_file()]
            if not rows:
                raise ConfigError(f"{where}: character '{member.code}' has no reference image in project "
                                  f"'{project['slug']}' (unknown code, or generate one: `kroma character reference "
                                  f"{member.code} --project {project['slug']}`).")
            placements.append({**asdict(member), "input_offset": len(paths)})
            paths.extend(Path(row["storage_uri"]) for row in rows[:MAX_IMAGES_PER_CHARACTER])
    finally:
        conn.close()
    return paths, placements
