"""The typed shape of the settings and the manifest: pydantic models, validated strictly.

These are the models only (what a key may hold, its default, its bounds); how their values are
layered from files and overrides, and where each came from, is :mod:`kroma_kit.config`. They sit
apart so code that needs a section's type (a provider's options, the copilot's settings, the
executor's) does not read the layering machinery to find it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kroma_kit.errors import ConfigError

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
