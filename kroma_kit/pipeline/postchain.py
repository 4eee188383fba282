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

from kroma_kit.errors import BudgetExceeded
from kroma_kit.postprocess.project import chain_config, chain_enabled, check_post_chain, refine_estimate_usd  # noqa: F401
from kroma_kit.storage.runlog import attempt_records
from kroma_kit.storage.runlog_model import CandidateRecord

if TYPE_CHECKING:
    from kroma_kit.pipeline.context import RunContext
    from kroma_kit.pipeline.plan_model import PlannedJob

REFINE_OPERATION = "bg_refine_openai"


def _step_dict(ctx: RunContext, record: Any) -> dict[str, Any]:
    data = record.to_dict()
    for key in ("input", "output"):
        if data.get(key):
            data[key] = ctx.layout.relative(data[key])
    data["archived"] = [ctx.layout.relative(path) for path in data.get("archived", [])]
    data["attempts"] = attempt_records(record.attempts)
    return data


def run_post_chain(ctx: RunContext, job: PlannedJob, candidate: CandidateRecord,
                   raw: Path) -> tuple[Path, dict[str, Any]]:
    """Run the enabled steps on ``raw``; return the final file and the step records. A failing
    step raises its KromaError with ``post_steps`` (the records so far) attached."""
    if not chain_enabled(ctx.postprocess_flags):
        return raw, {}
    from kroma_kit.postprocess import ChainDirs

    index = candidate.candidate_index
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
    result = ctx.executor.run_chain(raw, dirs, config)  # this thread, or a Dask worker
    cost = result.cost_usd
    if reserved:
        ctx.spend.settle(key, cost)
    if cost:
        refine = result.record("bg_remove")
        usage = (refine.usage or {}).get("openai_refine", {}) if refine else {}
        ctx.log.record_cost("openai", None, job.id, index, cost, usage, operation=REFINE_OPERATION)
    steps = {record.step: _step_dict(ctx, record) for record in result.steps}
    if result.error is not None:
        error = result.error
        if refused:  # the budget, not the step, stopped it: the candidate waits for a resume
            error = BudgetExceeded(f"{ctx.spend.stop_reason or 'budget reached'} (before {', '.join(refused)})")
        error.post_steps = steps  # type: ignore[attr-defined]
        raise error
    return Path(result.final_path), steps
