"""The post-processing chain on one file: bg_remove -> (bg_refine_openai) -> upscale -> color.

The order is fixed (seed ``pipeline_order``); each step is opt-in and feeds the next one its
output. The pipeline runs this on every job's winner, the CLI on whatever the artist points it at.
A failing step stops the chain without touching what earlier steps wrote; the result says which
step failed and why, and ``raise_for_error()`` turns that into the step's own KromaError.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.errors import KromaError
from kroma_kit.postprocess.config import PostprocessConfig
from kroma_kit.postprocess.records import StepRecord
from kroma_kit.postprocess.refine import CutoutRefiner, check_refine_format
from kroma_kit.postprocess.steps import bg_remove_file, color_file, upscale_file
from kroma_kit.providers.bg_remove import BackgroundRemover, validate_bg_backends
from kroma_kit.providers.color import ColorProfileSet, load_color_profiles
from kroma_kit.providers.upscale import Upscaler, canonical_upscaler, check_scale

STEP_ORDER = ("bg_remove", "bg_refine_openai", "upscale", "color")


@dataclass(frozen=True)
class ChainDirs:
    """Where each step writes, and where replaced outputs go (None: overwrite in place)."""

    background_removed: Path
    upscaled: Path
    color_corrected: Path
    archive_replaced: Path | None = None

    @classmethod
    def for_project(cls, root: str | os.PathLike[str], postprocess: PostprocessConfig | None = None, *,
                    archive_replaced: bool = True) -> ChainDirs:
        """The project's folders; ``output_dir`` settings are relative to the project root."""
        base = Path(root)
        config = postprocess or PostprocessConfig()
        return cls(base / config.bg_remove.output_dir, base / config.upscale.output_dir,
                   base / config.color.output_dir, base / "archive" / "replaced" if archive_replaced else None)


@dataclass
class ChainConfig:
    """Which steps run and how. ``None`` fields fall back to ``postprocess`` (postprocess.json).

    ``color_profiles`` defaults to the file named by ``postprocess.color.settings_file`` (or the
    built-in table) plus ``user_color_profiles`` (project settings). ``removers``, ``upscaler``
    and ``refiner`` let a caller pass warm or test backends.
    """

    postprocess: PostprocessConfig = field(default_factory=PostprocessConfig)
    bg_remove: bool = False
    upscale: bool = False
    color: bool = False
    bg_backends: list[str] | None = None
    refine_openai: bool | None = None
    refine_required: bool | None = None
    upscale_backend: str | None = None
    upscale_scale: int | None = None
    color_profile: str | None = None
    color_profiles: ColorProfileSet | None = None
    user_color_profiles: Mapping[str, Mapping[str, float]] | None = None
    confirm_spend: bool = False
    before_paid_call: Callable[[str, float], None] | None = None
    removers: Mapping[str, BackgroundRemover] | None = None
    upscaler: Upscaler | None = None
    refiner: CutoutRefiner | None = None

    @classmethod
    def from_settings(cls, toggles: Any, postprocess: PostprocessConfig | None = None, *,
                      user_color_profiles: Mapping[str, Mapping[str, float]] | None = None,
                      **overrides: Any) -> ChainConfig:
        """Build from the pipeline settings' ``postprocess`` section (``bg_remove``,
        ``bg_remove_backends``, ``bg_refine_openai``, ``bg_refine_openai_required``, ``upscale``,
        ``upscale_backend``, ``upscale_scale``, ``color``, ``color_profile``) plus postprocess.json."""
        return cls(
            postprocess=postprocess or PostprocessConfig(),
            bg_remove=bool(getattr(toggles, "bg_remove", False)),
            upscale=bool(getattr(toggles, "upscale", False)),
            color=bool(getattr(toggles, "color", False)),
            bg_backends=list(getattr(toggles, "bg_remove_backends", None) or []) or None,
            refine_openai=getattr(toggles, "bg_refine_openai", None),
            refine_required=getattr(toggles, "bg_refine_openai_required", None),
            upscale_backend=getattr(toggles, "upscale_backend", None),
            upscale_scale=getattr(toggles, "upscale_scale", None),
            color_profile=getattr(toggles, "color_profile", None),
            user_color_profiles=user_color_profiles, **overrides)

    # -- resolved values ------------------------------------------------------------------

    @property
    def backends(self) -> list[str]:
        return validate_bg_backends(self.bg_backends or self.postprocess.bg_remove.backends)

    @property
    def refine(self) -> bool:
        return self.postprocess.bg_remove.openai.enabled if self.refine_openai is None else self.refine_openai

    @property
    def refine_is_required(self) -> bool:
        section = self.postprocess.bg_remove.openai
        return section.required if self.refine_required is None else self.refine_required

    @property
    def scale(self) -> int:
        return check_scale(self.upscale_scale or self.postprocess.upscale.scale)

    @property
    def upscaler_code(self) -> str:
        return canonical_upscaler(self.upscale_backend or self.postprocess.upscale.backend)

    def profiles(self) -> ColorProfileSet:
        if self.color_profiles is None:
            self.color_profiles = load_color_profiles(self.postprocess.color_settings_path(),
                                                      self.user_color_profiles)
        return self.color_profiles

    def steps(self) -> list[str]:
        """The steps that will run, in order (the run log's ``pipeline_order`` tail)."""
        wanted = {"bg_remove": self.bg_remove, "bg_refine_openai": self.bg_remove and self.refine,
                  "upscale": self.upscale, "color": self.color}
        return [step for step in STEP_ORDER if wanted[step]]

    def validate(self) -> None:
        """Check everything that can be checked without doing work, so a run fails before its
        first paid call rather than after it: backends, refine format, scale, profile."""
        if self.bg_remove:
            self.backends  # noqa: B018 - validates
            if self.refine:
                section = self.postprocess.bg_remove
                check_refine_format(section.format, section.openai.model_dump())
        if self.upscale:
            self.scale  # noqa: B018
            self.upscaler_code  # noqa: B018
        if self.color:
            self.profiles().get(self.color_profile or self.postprocess.color.profile)


@dataclass
class ChainResult:
    """Every step's record, the final file and, when a step failed, which one and why."""

    input: str
    final_path: str
    steps: list[StepRecord] = field(default_factory=list)
    pipeline_order: list[str] = field(default_factory=list)
    failed_step: str | None = None
    error: KromaError | None = None
    timings_ms: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def cost_usd(self) -> float:
        return round(sum(step.cost_usd for step in self.steps), 6)

    def record(self, step: str) -> StepRecord | None:
        return next((item for item in self.steps if item.step == step), None)

    def raise_for_error(self) -> None:
        if self.error is not None:
            raise self.error

    def to_dict(self) -> dict[str, Any]:
        """``{bg_remove: {...}, upscale: {...}, color: {...}}`` as the seed's candidate record,
        plus the chain's own fields."""
        out: dict[str, Any] = {step.step: step.to_dict() for step in self.steps}
        out.update(input=self.input, final_path=self.final_path, pipeline_order=list(self.pipeline_order),
                   failed_step=self.failed_step, error=str(self.error) if self.error else None,
                   cost_usd=self.cost_usd, timings_ms=dict(self.timings_ms))
        return out


def run_chain(input_path: str | os.PathLike[str], dirs: ChainDirs, config: ChainConfig,
              on_step: Callable[[StepRecord], None] | None = None) -> ChainResult:
    """Run the enabled steps on ``input_path``; ``on_step`` sees each record as it finishes."""
    config.validate()
    started = time.perf_counter()
    current = Path(input_path)
    result = ChainResult(str(current), str(current), pipeline_order=config.steps())
    pp = config.postprocess
    runners: list[tuple[str, Callable[[Path], StepRecord]]] = []
    if config.bg_remove:
        runners.append(("bg_remove", lambda path: bg_remove_file(
            path, dirs.background_removed, backends=config.backends, fmt=pp.bg_remove.format,
            crop=pp.bg_remove.crop, refine_openai=config.refine, refine_required=config.refine_is_required,
            archive_replaced_dir=dirs.archive_replaced, backend_options=pp.bg_remove.backend_options(),
            refine_options=pp.bg_remove.openai.model_dump(), refiner=config.refiner,
            confirm_spend=config.confirm_spend, before_paid_call=config.before_paid_call,
            removers=config.removers)))
    if config.upscale:
        code = config.upscaler_code
        options = pp.upscale.backend_options(code)
        runners.append(("upscale", lambda path: upscale_file(
            path, dirs.upscaled, backend=code, scale=config.scale, tile=pp.upscale.tile, fmt=pp.upscale.format,
            archive_replaced_dir=dirs.archive_replaced, options=options, upscaler=config.upscaler)))
    if config.color:
        runners.append(("color", lambda path: color_file(
            path, dirs.color_corrected, profile_name=config.color_profile or pp.color.profile,
            profiles=config.profiles(), archive_replaced_dir=dirs.archive_replaced)))
    for name, run in runners:
        try:
            record = run(current)
        except KromaError as exc:
            record = getattr(exc, "record", None) or StepRecord(name, str(current), None, errors=[str(exc)])
            result.steps.append(record)
            result.failed_step, result.error = name, exc
            if on_step is not None:
                on_step(record)
            break
        result.steps.append(record)
        if on_step is not None:
            on_step(record)
        current = Path(record.output or current)
        result.final_path = str(current)
    result.timings_ms = {"total": int((time.perf_counter() - started) * 1000)}
    return result
