"""Executors of the copilot's character instructions (``custom:character_reference`` and
``custom:character_portfolio``): the same character runs as ``kroma character reference|portfolio``,
so a sheet made from the chat has its run log, costs and character images like one made by hand."""

from __future__ import annotations

from kroma_kit.characters.generation import CharacterRunRequest, generate_character_images
from kroma_kit.copilot.executors import Outcome, StepContext
from kroma_kit.errors import InputError


def character_reference(ctx: StepContext) -> Outcome:
    return _character_run(ctx, "reference")


def character_portfolio(ctx: StepContext) -> Outcome:
    return _character_run(ctx, "portfolio")


def _character_run(ctx: StepContext, kind: str) -> Outcome:
    inputs = ctx.payload.get("inputs") or {}
    execution = ctx.payload.get("execution") or {}
    code = inputs.get("character")
    if not code:
        raise InputError(f"A character {kind} instruction needs inputs.character (a character code).")
    confirmed = ctx.instruction.confirmed_by_user_id is not None or not ctx.instruction.requires_confirmation
    ctx.check_cancel()
    request = CharacterRunRequest(project=ctx.project.slug, code=str(code), kind=kind,
                                  provider=execution.get("provider"), candidates=execution.get("candidates"))
    result = generate_character_images(ctx.ws, request, confirm_spend=confirmed, cancel=ctx.cancel)
    summary = result.summary
    images = [image.id for image in result.images]
    data = {"run_id": summary.run_id, "status": summary.status, "character": code, "kind": kind,
            "image_ids": images, "actual_cost_usd": summary.actual_cost_usd}
    text = (f"Character {code}: {kind} run {summary.run_id[:8]} {summary.status}, {len(images)} image(s), "
            f"cost ${summary.actual_cost_usd:.4f}.")
    return Outcome(text, data, status="done" if summary.status == "done" else "failed")
