"""A project's stored calibration: ``<project_root>/.kroma/continuity_calibration.json``.

A file beside the project's settings, written atomically: it belongs to the project's folder
(it moves and syncs with it), holds no catalog facts, and ``kroma continuity show`` reads it.
It records the reference files it was made from; when they change, it is stale and is remade.
"""

from __future__ import annotations

import json
from pathlib import Path

from kroma_kit.continuity.calibrate import CALIBRATION_VERSION, Calibration, calibrate
from kroma_kit.continuity.context import ContinuityContext
from kroma_kit.continuity.gate import GateSettings
from kroma_kit.errors import ConfigError
from kroma_kit.storage.atomic import atomic_write_json

FILE_NAME = "continuity_calibration.json"


def calibration_path(project_root: Path) -> Path:
    return Path(project_root) / ".kroma" / FILE_NAME


def load_calibration(project_root: Path) -> Calibration | None:
    """The stored calibration, or None when there is none; a damaged file is a ConfigError."""
    path = calibration_path(project_root)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path} is unreadable ({exc}); run `kroma continuity calibrate` to remake it.") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a calibration; run `kroma continuity calibrate` to remake it.")
    return Calibration.from_mapping(data)


def save_calibration(project_root: Path, calibration: Calibration) -> Path:
    return atomic_write_json(calibration_path(project_root), calibration.to_dict())


OUTPUT_REFRESH = 12  # new passing/approved outputs that make the style part worth remaking


def is_current(calibration: Calibration, context: ContinuityContext, settings: GateSettings) -> bool:
    """Made from today's reference files, with today's margin and code version, and from most of
    today's earlier outputs: every run adds a few, and remaking the style part for each would
    cost every run a calibration; it is remade once OUTPUT_REFRESH new ones have come."""
    now = json.loads(json.dumps(context.fingerprint()))
    before = dict(calibration.fingerprint)
    fresh = {tuple(item) for item in now.get("outputs", [])} - {tuple(item) for item in before.get("outputs", [])}
    return (calibration.version == CALIBRATION_VERSION and abs(calibration.margin - settings.margin) < 1e-9
            and _without_outputs(before) == _without_outputs(now) and len(fresh) < OUTPUT_REFRESH)


def _without_outputs(fingerprint: dict) -> dict:
    return {key: value for key, value in fingerprint.items() if key != "outputs"}


def _only_outputs_changed(calibration: Calibration, context: ContinuityContext, settings: GateSettings) -> bool:
    """Same references, margin and version; only the earlier outputs differ (a run added some):
    the identity part, which never reads outputs, is still current."""
    now = json.loads(json.dumps(context.fingerprint()))
    return (calibration.version == CALIBRATION_VERSION and abs(calibration.margin - settings.margin) < 1e-9
            and _without_outputs(dict(calibration.fingerprint)) == _without_outputs(now))


def ensure_calibration(project_root: Path, context: ContinuityContext, settings: GateSettings, *,
                       force: bool = False) -> tuple[Calibration, bool]:
    """The stored calibration when current, else a new one (stored). Returns (calibration, made_now)."""
    stored = None if force else load_calibration(project_root)
    if stored is not None and is_current(stored, context, settings):
        return stored, False
    fresh = calibrate(context, margin=settings.margin,
                      keep_identity=stored if stored is not None and _only_outputs_changed(stored, context, settings)
                      else None)
    save_calibration(project_root, fresh)
    return fresh, True
