"""Where a run's jobs come from besides the manifest's scenes: a jobs file (the seed's
``--jobs-file``, §1.5) or the approved outputs of an earlier run (``--from-run``). Both are
validated here with errors that name the file, the entry and the field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kroma_kit.catalog.runs import get_run
from kroma_kit.config import STAGES, TIMES, WEATHERS
from kroma_kit.errors import InputError
from kroma_kit.imaging import sanitize_stem
from kroma_kit.project_setup import resolve_ref
from kroma_kit.storage.runlog import load_run_log
from kroma_kit.workspace import Workspace

JOB_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$")


def check_choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InputError(f"Invalid {name} {value!r}. Expected {'|'.join(allowed)}.")
    return str(value)


def jobs_from_file(path: Path, root: Path) -> list[dict[str, Any]]:
    """The entries of a jobs file: a JSON array of ``{id, prompt, input_images, mode?, time?,
    weather?, character_ref_count?}``. Relative image paths are relative to the project root,
    like manifest refs. Returns dicts with ``paths`` (resolved) instead of ``input_images``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"Jobs file not found: {path}") from None
    except OSError as exc:
        raise InputError(f"Cannot read jobs file {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"Jobs file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise InputError(f"Jobs file must contain a JSON array: {path}")
    if not data:
        raise InputError(f"Jobs file has no entries: {path}")
    entries = []
    for number, entry in enumerate(data, start=1):
        where = f"Jobs file entry {number}"
        if not isinstance(entry, dict):
            raise InputError(f"{where} must be an object ({path})")
        for key in ("id", "prompt"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise InputError(f"{where} missing '{key}' ({path})")
        if not JOB_ID_PATTERN.fullmatch(entry["id"]):
            raise InputError(f"{where}: id {entry['id']!r} cannot name an output file; use letters, digits, "
                             f"'_' and '-' (e.g. {sanitize_stem(entry['id'], 'job_' + str(number))!r}) ({path})")
        images = entry.get("input_images")
        if (not isinstance(images, list) or not images
                or not all(isinstance(item, str) and item.strip() for item in images)):
            raise InputError(f"{where} ('{entry['id']}'): 'input_images' must be a non-empty array of "
                             f"non-empty paths, scene first ({path})")
        count = entry.get("character_ref_count", 0)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count < len(images):
            raise InputError(f"{where}: 'character_ref_count' must be an integer from 0 to "
                             f"{len(images) - 1} ({path})")
        characters = entry.get("characters")  # the shot's cast: codes or {code, x, height, baseline}
        if characters is not None and not isinstance(characters, list):
            raise InputError(f"{where} ('{entry['id']}'): 'characters' must be a list of character codes ({path})")
        # The continuity gate checks the codes the shot declares; the plan places the full cast.
        codes = [c.strip() if isinstance(c, str) else str((c or {}).get("code", "")).strip()
                 for c in characters or []] if characters is not None else None
        source = {"jobs_file_entry": number, **({"characters": codes} if codes is not None else {})}
        entries.append({
            **({"characters": entry["characters"]} if "characters" in entry else {}),
            "id": entry["id"], "prompt": entry["prompt"].strip(),
            "mode": check_choice(f"mode in {where.lower()}", entry.get("mode", "style"), STAGES),
            "time": check_choice(f"time in {where.lower()}", entry.get("time", "day"), TIMES),
            "weather": check_choice(f"weather in {where.lower()}", entry.get("weather", "clear"), WEATHERS),
            "character_ref_count": count, "source": source,
            "paths": [resolve_ref(root, item.strip()) for item in images]})
    return entries


def scenes_from_run(ws: Workspace, project: dict[str, Any],
                    run_id: str) -> list[tuple[Path, str | None, dict[str, Any]]]:
    """The approved outputs (winners' final files) of an earlier run of the same project, each
    with the scene key of the job it came from: ``(path, scene_key, origin)``."""
    run = get_run(ws, run_id)
    if run["project_id"] != project["id"]:
        raise InputError(f"Run {run['id']} belongs to project '{run.get('project_slug')}', "
                         f"not '{project['slug']}'.")
    root = Path(project["root"])
    log = load_run_log(resolve_ref(root, run["run_log_path"]))
    scenes = []
    for job in log.jobs:
        final = job.final_output
        if job.status != "done" or not final:
            continue
        key = job.scene_key or sanitize_stem(Path(final).name, job.id)
        scenes.append((resolve_ref(root, final), key,
                       {"from_run": run["id"], "from_job": job.id, "scene_ref": final}))
    if not scenes:
        raise InputError(f"Run {run['id']} has no approved outputs (no job is 'done'), so there is "
                         "nothing to continue from. Pick a run whose jobs finished.")
    return scenes
