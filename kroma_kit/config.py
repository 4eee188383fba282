"""Layered settings and the pipeline manifest.

Settings come in layers, later wins, and every value remembers where it came from so
``kroma config show`` can answer "why is this the value?":

    built-in defaults < app settings (settings/pipeline.settings.toml)
                      < project settings (<project_root>/.kroma/pipeline.settings.toml or .json)
                      < call-time overrides

The manifest (scenes, style refs, prompts, guard) is layered the same way, with the seed's
semantics: top-level keys replace, and the sections ``generation``, ``output_guard``,
``policy`` and ``prompts`` merge key by key.

The models the layers are validated against (:class:`Manifest`, :class:`PipelineSettings` and
their sections) are :mod:`kroma_kit.settings_models`; this module resolves and explains them.
"""

from __future__ import annotations

import copy
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from kroma_kit.errors import ConfigError
from kroma_kit.settings_models import Manifest, PipelineSettings

NO_INVENTION_SENTENCE = "Do not invent new object categories."
STAGES = ("style", "time", "weather", "characters")
TIMES = ("day", "night")
WEATHERS = ("clear", "rain")
BUILTIN = "builtin"

MANIFEST_SECTIONS = ("generation", "output_guard", "policy", "prompts")


# --------------------------------------------------------------------------- layering

@dataclass
class Layer:
    """One source of values: a name for messages (a path or 'builtin'/'override') and a dict."""

    source: str
    values: dict[str, Any]


@dataclass
class Resolved:
    """The merged values, a validated model, and the source of every leaf (dotted key)."""

    values: dict[str, Any]
    sources: dict[str, str]
    layers: list[Layer] = field(default_factory=list)

    def source_of(self, dotted: str) -> str:
        while dotted:
            if dotted in self.sources:
                return self.sources[dotted]
            dotted = dotted.rpartition(".")[0]
        return BUILTIN


def app_settings_dir() -> Path | None:
    """``$KROMA_SETTINGS_DIR``, else the repo's ``settings/`` beside the package, else none."""
    env = os.environ.get("KROMA_SETTINGS_DIR")
    if env:
        return Path(env).expanduser().resolve()
    candidate = Path(__file__).resolve().parents[1] / "settings"
    return candidate if candidate.is_dir() else None


def read_settings_file(path: Path) -> dict[str, Any]:
    """Read a TOML or JSON settings file; a syntax error names the file and the position."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read settings file {path}: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be an object/table, got {type(data).__name__}")
    return data


def _first_existing(folder: Path, stem: str) -> Path | None:
    for suffix in (".toml", ".json"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _deep_merge(base: dict[str, Any], top: dict[str, Any], source: str, sources: dict[str, str],
                prefix: str = "", sections: tuple[str, ...] | None = None) -> None:
    """Merge ``top`` into ``base`` in place. ``sections=None`` merges dicts recursively (settings);
    a tuple merges only those top-level keys key-by-key and replaces everything else (manifest)."""
    for key, value in top.items():
        dotted = f"{prefix}{key}"
        mergeable = isinstance(value, dict) and isinstance(base.get(key), dict) and (
            sections is None or (not prefix and key in sections))
        if mergeable:
            _deep_merge(base[key], value, source, sources, f"{dotted}.", None if sections is None else ())
            continue
        base[key] = copy.deepcopy(value)
        for known in [k for k in sources if k == dotted or k.startswith(f"{dotted}.")]:
            del sources[known]
        _record_sources(value, dotted, source, sources)


def _record_sources(value: Any, dotted: str, source: str, sources: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _record_sources(inner, f"{dotted}.{key}", source, sources)
    else:
        sources[dotted] = source


def merge_layers(layers: list[Layer], *, sections: tuple[str, ...] | None = None) -> Resolved:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer in layers:
        _deep_merge(values, layer.values, layer.source, sources, "", sections)
    return Resolved(values, sources, layers)


def _validation_error(kind: str, error: ValidationError, resolved: Resolved) -> ConfigError:
    lines = []
    for item in error.errors():
        dotted = ".".join(str(part) for part in item["loc"])
        got = item.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"{resolved.source_of(dotted)}: {dotted}: {item['msg']}{shown}")
    return ConfigError(f"Invalid {kind}: " + "; ".join(lines))


def _defaults_layer(model: type[BaseModel]) -> Layer:
    return Layer(BUILTIN, model().model_dump())


# --------------------------------------------------------------------------- public API

@dataclass
class ProjectSettings:
    """The resolved settings of one project: validated models plus provenance."""

    settings: PipelineSettings
    manifest: Manifest
    settings_resolved: Resolved
    manifest_resolved: Resolved
    project_root: Path | None
    manifest_file: Path | None

    def explain(self) -> dict[str, Any]:
        """``{"settings": {dotted: {value, source}}, "manifest": {...}}`` for `kroma config show`."""
        def flat(resolved: Resolved) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for dotted in sorted(resolved.sources):
                value: Any = resolved.values
                for part in dotted.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                out[dotted] = {"value": value, "source": resolved.sources[dotted]}
            return out

        return {"settings": flat(self.settings_resolved), "manifest": flat(self.manifest_resolved),
                "manifest_file": str(self.manifest_file) if self.manifest_file else None}


def resolve_pipeline_settings(project_root: Path | None = None, *,
                              overrides: dict[str, Any] | None = None,
                              app_dir: Path | None = None) -> tuple[PipelineSettings, Resolved]:
    """The pipeline settings alone (no manifest): built-in < app < project < ``overrides``.

    Setting a project up needs them before its manifest exists (to know where to write it)."""
    app = app_dir if app_dir is not None else app_settings_dir()
    layers = [_defaults_layer(PipelineSettings)]
    if app is not None and (app_file := _first_existing(app, "pipeline.settings")):
        layers.append(Layer(str(app_file), read_settings_file(app_file)))
    if project_root is not None and (
            project_file := _first_existing(Path(project_root) / ".kroma", "pipeline.settings")):
        layers.append(Layer(str(project_file), read_settings_file(project_file)))
    if overrides:
        layers.append(Layer("override", overrides))
    settings_resolved = merge_layers(layers)
    try:
        settings = PipelineSettings.model_validate(settings_resolved.values)
    except ValidationError as exc:
        raise _validation_error("settings", exc, settings_resolved) from None
    return settings, settings_resolved


def configured_manifest_path(settings: PipelineSettings, project_root: Path) -> Path:
    """Where ``pipeline.manifest_path`` puts the project's manifest (relative to its root)."""
    path = Path(settings.pipeline.manifest_path)
    return path if path.is_absolute() else Path(project_root) / path


def resolve_project_settings(project_root: Path | None = None, *,
                             overrides: dict[str, Any] | None = None,
                             manifest_overrides: dict[str, Any] | None = None,
                             app_dir: Path | None = None) -> ProjectSettings:
    """Resolve and validate the settings and manifest for a project (or the app alone).

    Manifest layers: built-in < app ``settings/manifest.json`` < the project's manifest
    (``pipeline.manifest_path``, relative to the project root) < ``manifest_overrides``.
    Relative ref paths in the project's manifest are relative to the project root.
    """
    app = app_dir if app_dir is not None else app_settings_dir()
    settings, settings_resolved = resolve_pipeline_settings(project_root, overrides=overrides, app_dir=app)

    manifest_layers = [_defaults_layer(Manifest)]
    if app is not None and (app_manifest := app / "manifest.json").is_file():
        manifest_layers.append(Layer(str(app_manifest), read_settings_file(app_manifest)))
    manifest_file: Path | None = None
    if project_root is not None:
        manifest_file = configured_manifest_path(settings, Path(project_root))
        if manifest_file.is_file():
            manifest_layers.append(Layer(str(manifest_file), read_settings_file(manifest_file)))
        elif settings_resolved.source_of("pipeline.manifest_path") != BUILTIN:
            raise ConfigError(
                f"Manifest not found: {manifest_file} (set by "
                f"{settings_resolved.source_of('pipeline.manifest_path')} pipeline.manifest_path). "
                "Write a starter manifest with `kroma manifest init --project <slug>`, or fix the path.")
        else:
            manifest_file = None
    if manifest_overrides:
        manifest_layers.append(Layer("override", manifest_overrides))
    manifest_resolved = merge_layers(manifest_layers, sections=MANIFEST_SECTIONS)
    try:
        manifest = Manifest.model_validate(manifest_resolved.values)
    except ValidationError as exc:
        raise _validation_error("manifest", exc, manifest_resolved) from None
    if manifest.generation.max_candidates < 1:
        raise ConfigError("Invalid manifest: generation.max_candidates must be >= 1")
    return ProjectSettings(settings, manifest, settings_resolved, manifest_resolved,
                           Path(project_root) if project_root is not None else None, manifest_file)


def validate_settings_file(path: Path) -> None:
    """Validate one file on its own (manifest or settings, chosen by name) — for editors."""
    data = read_settings_file(path)
    model: type[BaseModel] = Manifest if "manifest" in path.name else PipelineSettings
    sections = MANIFEST_SECTIONS if model is Manifest else None
    resolved = merge_layers([_defaults_layer(model), Layer(str(path), data)], sections=sections)
    try:
        model.model_validate(resolved.values)
    except ValidationError as exc:
        raise _validation_error("manifest" if model is Manifest else "settings", exc, resolved) from None
