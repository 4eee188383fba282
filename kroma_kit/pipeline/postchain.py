"""The pipeline's side of the post-processing chain (bg_remove -> refine -> upscale -> color).

The chain itself is :func:`kroma_kit.postprocess.run_chain`; this module only turns the project
settings into its configuration, runs it on a candidate's raw file, puts each step's record
into the candidate (seed keys ``bg_remove``/``upscale``/``color``, paths relative to the project
root) and routes the one paid step (the OpenAI cutout refine) through the run's spend guard and
``cost_events``. The guard then checks the chain's final file, as the seed does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.config import ProjectSettings
from kroma_kit.errors import BudgetExceeded, KromaError

if TYPE_CHECKING:
    from kroma_kit.pipeline.execute import RunContext
    from kroma_kit.pipeline.plan import PlannedJob
    from kroma_kit.postprocess import ChainConfig

REFINE_OPERATION = "bg_refine_openai"


def _enabled(flags: Any) -> bool:
    return bool(getattr(flags, "bg_remove", False) or getattr(flags, "upscale", False)
                or getattr(flags, "color", False))


def chain_config(resolved: ProjectSettings, **overrides: Any) -> ChainConfig:
    """The chain configuration for a project: the ``pipeline.postprocess`` toggles plus the
    ``postprocess.json`` named by ``pipeline.postprocess_config_path`` (relative to the project
    root), else the app's."""
    from kroma_kit.postprocess import ChainConfig, load_postprocess_config

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
    if _enabled(resolved.settings.pipeline.postprocess):
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


def _step_dict(ctx: RunContext, record: Any) -> dict[str, Any]:
    from kroma_kit.pipeline.candidate import attempt_records

    data = record.to_dict()
    for key in ("input", "output"):
        if data.get(key):
            data[key] = ctx.layout.relative(data[key])
    data["archived"] = [ctx.layout.relative(path) for path in data.get("archived", [])]
    data["attempts"] = attempt_records(record.attempts)
    return data


def run_post_chain(ctx: RunContext, job: PlannedJob, candidate: dict[str, Any],
                   raw: Path) -> tuple[Path, dict[str, Any]]:
    """Run the enabled steps on ``raw``; return the final file and the step records. A failing
    step raises its KromaError with ``post_steps`` (the records so far) attached."""
    if not _enabled(ctx.postprocess_flags):
        return raw, {}
    from kroma_kit.pipeline.candidate import add_cost_event
    from kroma_kit.postprocess import ChainDirs, run_chain

    index = candidate["candidate_index"]
    key = f"{job.id}#c{index}#refine"
    reserved: list[str] = []

    refused: list[str] = []

    def before_paid_call(code: str, estimate: float) -> None:
        if not ctx.spend.reserve(key, estimate):
            refused.append(code)
            raise BudgetExceeded(ctx.spend.stop_reason or "budget reached")
        reserved.append(code)

    refiner = ctx.refiner() if ctx.postprocess_flags.bg_refine_openai else None
    config = chain_config(ctx.settings, confirm_spend=ctx.confirm_spend, before_paid_call=before_paid_call,
                          refiner=refiner)
    dirs = ChainDirs.for_project(ctx.layout.root, config.postprocess, archive_replaced=ctx.archive_replaced)
    result = run_chain(raw, dirs, config)
    cost = result.cost_usd
    if reserved:
        ctx.spend.settle(key, cost)
    if cost:
        refine = result.record("bg_remove")
        usage = (refine.usage or {}).get("openai_refine", {}) if refine else {}
        ctx.log.update(lambda data: add_cost_event(data, "openai", None, job.id, index, cost, usage,
                                                   operation=REFINE_OPERATION))
    steps = {record.step: _step_dict(ctx, record) for record in result.steps}
    if result.error is not None:
        error = result.error
        if refused:  # the budget, not the step, stopped it: the candidate waits for a resume
            error = BudgetExceeded(f"{ctx.spend.stop_reason or 'budget reached'} (before {', '.join(refused)})")
        error.post_steps = steps  # type: ignore[attr-defined]
        raise error
    return Path(result.final_path), steps
