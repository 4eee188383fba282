"""Layered settings and the pipeline manifest.

Settings come in layers, later wins, and every value remembers where it came from so
``kroma config show`` can answer "why is this the value?":

    built-in defaults < app settings (settings/pipeline.settings.toml)
                      < project settings (<project_root>/.kroma/pipeline.settings.toml or .json)
                      < call-time overrides

The manifest (scenes, style refs, prompts, guard) is layered the same way, with the seed's
semantics: top-level keys replace, and the sections ``generation``, ``output_guard``,
``policy`` and ``prompts`` merge key by key.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kroma_kit.errors import ConfigError

NO_INVENTION_SENTENCE = "Do not invent new object categories."
STAGES = ("style", "time", "weather", "characters")
TIMES = ("day", "night")
WEATHERS = ("clear", "rain")
BUILTIN = "builtin"

DEFAULT_PROMPTS: dict[str, str] = {
    "style_base": "Preserve geometry and perspective. Apply one coherent noir drawing hand. "
                  "No text, no logos, no watermark.",
    "time_day": "Daylight scene with clear readability and stable contrast family.",
    "time_night": "Night scene with controlled deep shadows, no topology changes.",
    "weather_clear": "Dry clear atmosphere. No rain streaks, no snow particles, no diagonal sky hatching.",
    "weather_rain": "Visible wet surfaces, puddles, and reflection cues; no style drift.",
    "characters_base": "Place the referenced characters consistently with their reference sheets: same face, "
                       "proportions, outfit and colours. Do not redesign them.",
}

MANIFEST_SECTIONS = ("generation", "output_guard", "policy", "prompts")


# --------------------------------------------------------------------------- manifest models

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class GenerationSection(_Strict):
    candidates: int = Field(1, ge=1)
    max_candidates: int = Field(6, ge=1)


class OutputGuardSection(_Strict):
    enabled: bool = True
    enforce_grayscale: bool = False
    max_chroma_delta: float = Field(2.0, ge=0, allow_inf_nan=False)
    fail_on_chroma_exceed: bool = False
    expected_size: str | None = Field(None, pattern=r"^\d+x\d+$")
    # Luma standard deviation (0..255) under which an image counts as blank; 0 turns it off.
    blank_std_threshold: float = Field(1.0, ge=0, allow_inf_nan=False)


class PolicySection(_Strict):
    allowed_style_roots: list[str] = Field(default_factory=lambda: ["inputs/styles/", "references/"])
    enforce_allowed_style_roots: bool = False
    default_no_invention: bool = True


class Manifest(_Strict):
    """The pipeline manifest (seed §1.1 keys and defaults, plus ``character_refs``)."""

    style_refs: list[str] = Field(default_factory=list)
    scene_refs: list[str] = Field(default_factory=list)
    character_refs: list[str] = Field(default_factory=list)
    # Stage "characters": which characters each scene shows (scene ref or scene key -> cast), each a
    # code or {code, x, height, baseline}; checked when planning (kroma_kit.pipeline.cast).
    scene_characters: dict[str, list[Any]] = Field(default_factory=dict)
    safe_batch_limit: int = Field(20, ge=1)
    generation: GenerationSection = Field(default_factory=GenerationSection)
    output_guard: OutputGuardSection = Field(default_factory=OutputGuardSection)
    policy: PolicySection = Field(default_factory=PolicySection)
    prompts: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PROMPTS))

    @field_validator("style_refs", "scene_refs", "character_refs")
    @classmethod
    def _no_empty_refs(cls, refs: list[str]) -> list[str]:
        cleaned = [ref.strip() for ref in refs]
        if any(not ref for ref in cleaned):
            raise ValueError("items must be non-empty paths")
        return cleaned


# --------------------------------------------------------------------------- pipeline settings models

class PostprocessSettings(_Strict):
    bg_remove: bool = False
    bg_remove_backends: list[str] = Field(default_factory=lambda: ["rembg", "auto"])
    bg_refine_openai: bool = False
    bg_refine_openai_required: bool = False
    upscale: bool = False
    upscale_backend: str = "realesrgan"
    upscale_scale: int = Field(2, ge=2, le=4)
    color: bool = False
    color_profile: str = "neutral"


class BudgetSettings(_Strict):
    per_run_usd: float | None = Field(None, ge=0)
    per_project_usd: float | None = Field(None, ge=0)


class OpenAISettings(_Strict):
    model: str | None = None
    size: str | None = None
    quality: str | None = None
    base_url: str | None = None
    input_fidelity: str | None = None  # gpt-image-2 takes none; only gpt-image-1/1.5 accepted it
    timeout_s: float = Field(120.0, gt=0)
    max_attempts: int = Field(4, ge=1, le=10)


INSTRUCTION_TYPES = ("pipeline_run", "asset_edit", "qa_check", "storage_sync", "custom")


class CopilotSettings(_Strict):
    """The copilot chat (engine, guardrails), its voice backends and the instruction worker."""

    engine: str = Field("builtin", pattern="^(builtin|llm)$")
    llm_model: str = "gpt-4o-mini"
    llm_base_url: str | None = None
    llm_timeout_s: float = Field(60.0, gt=0)
    # USD per million tokens, for the cost recorded per reply; null = unknown (recorded as 0).
    llm_price_input_per_1m: float | None = Field(0.15, ge=0)
    llm_price_output_per_1m: float | None = Field(0.60, ge=0)
    allowed_instruction_types: list[str] = Field(default_factory=lambda: list(INSTRUCTION_TYPES))
    stt_backend: str = Field("pocketsphinx", pattern="^(pocketsphinx|openai)$")
    stt_model: str = "gpt-4o-mini-transcribe"
    tts_backend: str = Field("espeak", pattern="^(espeak|openai)$")
    tts_model: str = "gpt-4o-mini-tts"
    tts_voice: str = "alloy"
    espeak_voice: str = "en-us"
    max_audio_seconds: float = Field(60.0, gt=0)
    max_audio_bytes: int = Field(25 * 1024 * 1024, gt=0)
    agent_api_url: str | None = None
    worker_max_attempts: int = Field(3, ge=1, le=20)
    worker_retry_backoff_s: float = Field(10.0, ge=0)

    @field_validator("allowed_instruction_types")
    @classmethod
    def _known_types(cls, types: list[str]) -> list[str]:
        unknown = sorted(set(types) - set(INSTRUCTION_TYPES))
        if unknown:
            raise ValueError(f"unknown instruction types {unknown}; expected some of {list(INSTRUCTION_TYPES)}")
        return types


SCHEDULER_ADDRESS = re.compile(r"^(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")


def check_scheduler_address(value: str) -> str:
    """A Dask scheduler address as ``tcp://HOST:PORT`` (or ``tls://``); anything else is refused
    here, with the expected form, rather than by a connection attempt that times out."""
    match = SCHEDULER_ADDRESS.match(value.strip()) if isinstance(value, str) else None
    if not match or not 1 <= int(match.group(3)) <= 65535:
        raise ConfigError(f"Dask scheduler address {value!r} is not of the form tcp://HOST:PORT "
                          "(or tls://HOST:PORT), e.g. tcp://10.0.0.5:8786.")
    return value.strip()


class PipelineSection(_Strict):
    manifest_path: str = "manifest.json"
    postprocess_config_path: str | None = None
    provider: str = "local"
    concurrency: int = Field(4, ge=1, le=64)
    archive_replaced: bool = True
    storage_sync_s3: bool = False  # push the project to its S3 mirror after each real run
    stage_cache: bool = True  # reuse a candidate whose inputs and settings are unchanged (issue 17)
    postprocess: PostprocessSettings = Field(default_factory=PostprocessSettings)
    # Where candidates and post steps run: "threads" (this process) or "dask" (a Dask cluster:
    # dask_scheduler, else a LocalCluster of dask_workers processes, 0 = one per CPU core).
    executor: str = Field("threads", pattern="^(threads|dask)$")
    dask_scheduler: str | None = None
    dask_workers: int = Field(0, ge=0, le=256)

    @field_validator("dask_scheduler")
    @classmethod
    def _scheduler_address(cls, value: str | None) -> str | None:
        try:
            return check_scheduler_address(value) if value else None
        except ConfigError as exc:  # pydantic reports ValueErrors with the file the value came from
            raise ValueError(str(exc)) from None


class ProvidersSection(_Strict):
    openai: OpenAISettings = Field(default_factory=OpenAISettings)


class ContinuitySettings(_Strict):
    """The continuity gate (``kroma_kit.continuity``): thresholds come from the project's own
    reference sets; any value set here overrides the calibration."""

    enabled: bool = True
    fail_on_break: bool = False
    style_drift_max: float | None = Field(None, gt=0, allow_inf_nan=False)
    style_part_max: dict[str, float] = Field(default_factory=dict)
    identity_min: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    identity_min_by_character: dict[str, float] = Field(default_factory=dict)
    margin: float = Field(1.3, ge=1.0, le=5.0, allow_inf_nan=False)


class PipelineSettings(_Strict):
    """Everything in ``pipeline.settings.toml``."""

    pipeline: PipelineSection = Field(default_factory=PipelineSection)
    budgets: BudgetSettings = Field(default_factory=BudgetSettings)
    providers: ProvidersSection = Field(default_factory=ProvidersSection)
    continuity: ContinuitySettings = Field(default_factory=ContinuitySettings)
    color_profiles: dict[str, dict[str, float]] = Field(default_factory=dict)
    copilot: CopilotSettings = Field(default_factory=CopilotSettings)


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
