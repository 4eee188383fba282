"""Before a run spends money: is every paid image model it will call still served?

A run calls at most two paid models: the image provider's (``providers.openai.model``) and the
OpenAI cutout refine's (``bg_remove.openai.model`` in ``postprocess.json``) when that step is on.
A real run asks the provider about each (:func:`check_paid_models`, before its log is written, so
a retired model stops it with one line and nothing spent); a dry run never touches the network
and reads the pricing table instead (:func:`offline_model_warnings`). See
:mod:`kroma_kit.providers.model_lifecycle` for the rules.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from kroma_kit.config import ProjectSettings
from kroma_kit.pipeline.plan import build_provider
from kroma_kit.pipeline.postchain import chain_config
from kroma_kit.providers.model_lifecycle import (
    ModelLifecycle,
    lifecycle_from_pricing,
    lifecycle_from_provider,
    utc_today,
)


def _paid_models(provider: Any, settings: ProjectSettings, refine: bool) -> list[tuple[str, Any]]:
    """(model, provider to ask) for each paid model the run will call, without duplicates."""
    wanted: list[tuple[str, Any]] = []
    if getattr(provider, "paid", False) and hasattr(provider, "retrieve_model"):
        wanted.append((provider.model, provider))
    if refine:
        refiner = provider if getattr(provider, "code", None) == "openai" else build_provider("openai", settings)
        model = chain_config(settings).postprocess.bg_remove.openai.model or refiner.model
        if model not in [name for name, _ in wanted]:
            wanted.append((model, refiner))
    return wanted


def check_paid_models(provider: Any, settings: ProjectSettings, *, refine: bool,
                      today: date | None = None) -> list[str]:
    """Ask the provider about each paid model (``refine``: the OpenAI cutout refine is on); raise
    :class:`ModelRetired` for a retired one, return the warnings (retiring soon, or no answer)."""
    today = today or utc_today()
    lifecycles: list[ModelLifecycle] = []
    for model, directory in _paid_models(provider, settings, refine):
        if not directory.configured:
            continue  # no key: the run stops on that before anything is sent
        lifecycles.append(lifecycle_from_provider(directory, model, today, pricing=directory.pricing))
    for lifecycle in lifecycles:
        if (refusal := lifecycle.refusal()) is not None:
            raise refusal
    return [warning for lifecycle in lifecycles if (warning := lifecycle.warning())]


def offline_model_warnings(provider: Any, settings: ProjectSettings, *, refine: bool,
                           today: date | None = None) -> list[str]:
    """A dry run's warnings for retired or retiring paid models, from the pricing table only."""
    today = today or utc_today()
    warnings = []
    for model, directory in _paid_models(provider, settings, refine):
        lifecycle = lifecycle_from_pricing(directory.pricing, model, today)
        if lifecycle.state in ("retired", "retiring") and (warning := lifecycle.warning()):
            warnings.append(warning)
    return warnings
