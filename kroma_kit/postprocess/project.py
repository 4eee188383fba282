"""The post chain's configuration from a project's layered settings.

Used by a run (plan-time checks and estimates, the per-candidate chain) and by standalone
post-processing of project files alike, so both read the same ``pipeline.postprocess`` toggles
and the same ``postprocess.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kroma_kit.config import ProjectSettings
from kroma_kit.errors import KromaError
from kroma_kit.postprocess.chain import ChainConfig
from kroma_kit.postprocess.config import load_postprocess_config


def chain_enabled(flags: Any) -> bool:
    """Whether any post step (bg_remove, upscale, color) is on in ``pipeline.postprocess``."""
    return bool(getattr(flags, "bg_remove", False) or getattr(flags, "upscale", False)
                or getattr(flags, "color", False))


def chain_config(resolved: ProjectSettings, **overrides: Any) -> ChainConfig:
    """The chain configuration for a project: the ``pipeline.postprocess`` toggles plus the
    ``postprocess.json`` named by ``pipeline.postprocess_config_path`` (relative to the project
    root), else the app's."""
    settings = resolved.settings
    path = settings.pipeline.postprocess_config_path
    file = None
    if path:
        file = Path(path)
        if not file.is_absolute() and resolved.project_root is not None:
            file = resolved.project_root / file
    return ChainConfig.from_settings(settings.pipeline.postprocess, load_postprocess_config(file),
                                     user_color_profiles=settings.color_profiles or None, **overrides)


def check_post_chain(resolved: ProjectSettings) -> None:
    """Validate the enabled steps (backend names, scale, profile, refine format) at plan time, so
    a typo stops the run before its first paid call rather than after it."""
    if chain_enabled(resolved.settings.pipeline.postprocess):
        try:
            chain_config(resolved).validate()
        except KromaError as exc:
            raise type(exc)(f"Post-processing settings: {exc}") from exc


def refine_estimate_usd(resolved: ProjectSettings) -> float:
    """USD for one OpenAI cutout refine per candidate (0 when the refine is off): the plan and the
    dry run show it, the spend guard checks it before each refine call."""
    flags = resolved.settings.pipeline.postprocess
    if not (flags.bg_remove and flags.bg_refine_openai):
        return 0.0
    from kroma_kit.providers.pricing import estimate_image_cost

    section = chain_config(resolved).postprocess.bg_remove.openai
    return float(estimate_image_cost(section.model, section.quality, "auto"))  # sent without a size
