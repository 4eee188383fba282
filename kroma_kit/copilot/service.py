"""One chat turn, and the person's side of an instruction's life (confirm, cancel).

``send_message`` stores the user's message, asks the project's engine for a reply, passes any
draft through the guardrails, computes its estimate with a real dry run, stores the instruction
(a ``draft`` when it needs confirmation, else ``queued``) and the assistant's reply carrying the
instruction card. Every panel and CLI command goes through these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from kroma_kit.catalog import chat
from kroma_kit.catalog import instructions as ins
from kroma_kit.catalog.db import new_id
from kroma_kit.catalog.runs import list_runs, project_spent_usd
from kroma_kit.copilot.bridge import estimate
from kroma_kit.copilot.context import ProjectContext
from kroma_kit.copilot.drafts import EngineReply, InstructionDraft, envelope
from kroma_kit.copilot.grammar import BuiltinEngine
from kroma_kit.copilot.guardrails import check_draft, confirmation_reason
from kroma_kit.errors import InputError, KromaError
from kroma_kit.workspace import Workspace

MAX_MESSAGE_CHARS = 4000


class Engine(Protocol):
    """What both engines (built-in grammar, LLM) provide."""

    name: str

    def reply(self, text: str, ctx: ProjectContext, history: list[dict[str, Any]] | None = None) -> EngineReply:
        ...


@dataclass
class ChatTurn:
    """What one message produced: the stored user message, the reply and any instruction."""

    session: chat.ChatSession
    user_message: chat.ChatMessage
    reply: chat.ChatMessage
    instruction: ins.Instruction | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"session_id": self.session.id, "user_message": self.user_message.to_dict(),
                "reply": self.reply.to_dict(),
                "instruction": card(self.instruction) if self.instruction else None}


def engine_for(ctx: ProjectContext) -> Engine:
    """The engine the project's settings ask for (``copilot.engine``)."""
    if ctx.settings.engine == "llm":
        from kroma_kit.copilot.llm import LLMEngine

        return LLMEngine.from_settings(ctx.settings)
    return BuiltinEngine()


def card(item: ins.Instruction) -> dict[str, Any]:
    """The instruction card a panel or the CLI shows."""
    return {"id": item.id, "type": item.instruction_type, "action": item.action, "objective": item.objective,
            "status": item.status, "requires_confirmation": item.requires_confirmation,
            "confirmation_reason": item.payload.get("constraints", {}).get("confirmation_reason"),
            "estimate": item.estimate, "attempts": item.attempts, "cancel_requested": item.cancel_requested,
            "last_error": item.last_error, "result": item.result, "created_at": item.created_at,
            "finished_at": item.finished_at}


def new_session(ws: Workspace, slug: str, *, title: str = "",
                context: dict[str, Any] | None = None) -> chat.ChatSession:
    ctx = ProjectContext.load(ws, slug)
    return chat.create_session(ws, ctx.project_id, title=title, context=context)


def send_message(ws: Workspace, slug: str, text: str, *, session_id: str | None = None,
                 voice_asset_id: str | None = None, engine: Engine | None = None) -> ChatTurn:
    """Store ``text`` in the session (a new one when none is given) and answer it."""
    text = (text or "").strip()
    if not text:
        raise InputError("The message is empty: type what you want the copilot to do.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InputError(f"The message is {len(text)} characters long; the limit is {MAX_MESSAGE_CHARS}.")
    ctx = ProjectContext.load(ws, slug)
    session = chat.get_session(ws, session_id, project_id=ctx.project_id) if session_id else \
        chat.create_session(ws, ctx.project_id, title=text[:60])
    history = [{"role": m.role, "content": m.text} for m in chat.list_messages(ws, session.id)][-12:]
    user = chat.add_message(ws, session.id, "user", text, voice_asset_id=voice_asset_id)
    try:
        engine = engine or engine_for(ctx)
        reply = engine.reply(text, ctx, history)
    except KromaError as exc:  # the message is kept; the reply says why there is no answer
        reply = EngineReply(f"The copilot could not answer: {exc}", understood=False,
                            engine=getattr(engine, "name", "llm"))
    instruction = None
    reply_text = reply.text
    data: dict[str, Any] = {"engine": reply.engine, "understood": reply.understood}
    if reply.answer:
        reply_text = answer(ws, ctx, reply.answer)
        data["answer"] = reply.answer
    elif reply.draft is not None:
        try:
            instruction = _create(ws, ctx, reply, session.id, user.id)
        except KromaError as exc:
            reply_text = f"I cannot do that: {exc}"
            data["refused"] = str(exc)
        else:
            data["instruction_id"] = instruction.id
            data["card"] = card(instruction)
            reply_text = _card_text(instruction)
    usage = dict(reply.usage)
    if reply.model:
        usage.update(model=reply.model, cost_usd=reply.cost_usd)
    assistant = chat.add_message(ws, session.id, "assistant", reply_text, data=data, token_usage=usage)
    if reply.usage:
        chat.record_llm_cost(ws, ctx.project_id, assistant.id, provider_code=f"chat:{reply.engine}",
                             model=reply.model or "", tokens=float(reply.usage.get("total_tokens") or 0),
                             cost_usd=reply.cost_usd, usage=reply.usage)
    return ChatTurn(chat.get_session(ws, session.id), user, assistant, instruction)


def _create(ws: Workspace, ctx: ProjectContext, reply: EngineReply, session_id: str,
            message_id: str) -> ins.Instruction:
    assert reply.draft is not None
    return create_from_draft(ws, ctx, reply.draft, session_id=session_id, message_id=message_id)


def create_from_draft(ws: Workspace, ctx: ProjectContext, draft: InstructionDraft, *, session_id: str | None = None,
                      message_id: str | None = None, confirmation: str | None = None,
                      priority: int = 100) -> ins.Instruction:
    """Store ``draft`` as an instruction after the guardrails: a ``draft`` when it needs a
    person's confirmation (the guardrails' reason, or ``confirmation`` asked for by the caller),
    else ``queued``. A paid run carries its dry-run estimate as its spend limit."""
    check_draft(draft, ctx)
    reason = confirmation_reason(draft) or confirmation
    if reason:
        draft.constraints["confirmation_reason"] = reason
    instruction_id = new_id()
    payload = envelope(draft, instruction_id=instruction_id, project_slug=ctx.slug,
                       confirmation_required=reason is not None)
    cost = estimate(ws, ctx, payload) if draft.action == "run" else {}
    if draft.action == "run" and draft.execution.get("provider") == "openai":
        payload["constraints"]["spend_limit_usd"] = cost.get("estimated_cost_usd")
    return ins.create_instruction(ws, ctx.project_id, draft.instruction_type, payload,
                                  requires_confirmation=reason is not None, session_id=session_id,
                                  message_id=message_id, estimate=cost, priority=priority,
                                  max_attempts=ctx.settings.worker_max_attempts)


def _card_text(item: ins.Instruction) -> str:
    lines = [f"{item.objective}.", f"Instruction {item.id[:8]} ({item.instruction_type}/{item.action}): {item.status}."]
    if item.estimate:
        est = item.estimate
        lines.append(f"Dry run: {_count(est.get('jobs'), 'job')}, {_count(est.get('candidates'), 'candidate')}, "
                     f"estimated ${float(est.get('estimated_cost_usd') or 0):.4f}.")
    if item.status == "draft":
        why = item.payload.get("constraints", {}).get("confirmation_reason")
        lines.append(f"Confirm to run it ({why}): `kroma instructions confirm {item.id[:8]}`.")
    return " ".join(lines)


def _count(n: Any, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def answer(ws: Workspace, ctx: ProjectContext, action: str) -> str:
    """The text of a read-only answer (costs, status)."""
    runs = list_runs(ws, ctx.slug)
    if action == "show_costs":
        spent = project_spent_usd(ws, ctx.project_id)
        estimated = sum(float(r.get("estimated_cost_usd") or 0) for r in runs if r.get("run_mode") == "run")
        budget = f", budget per run ${ctx.budget_per_run_usd:.2f}" if ctx.budget_per_run_usd is not None else ""
        real = sum(1 for r in runs if r.get("run_mode") == "run")
        return f"Project {ctx.slug} has spent ${spent:.4f} over {_count(real, 'run')} (estimated ${estimated:.4f}){budget}."
    counts = ins.count_by_status(ws, ctx.project_id)
    by_status: dict[str, int] = {}
    for run in runs:
        by_status[run["status"]] = by_status.get(run["status"], 0) + 1
    runs_text = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "none"
    queue = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "none"
    return f"Project {ctx.slug}: runs {runs_text}; instructions {queue}."


def confirm(ws: Workspace, slug: str, instruction_id: str) -> ins.Instruction:
    """Confirm a draft of project ``slug`` (queued for the worker); the chat records it."""
    ctx = ProjectContext.load(ws, slug)
    item = ins.confirm_instruction(ws, instruction_id, project_id=ctx.project_id)
    _note(ws, item, f"Confirmed instruction {item.id[:8]}: queued for the worker.")
    return item


def cancel(ws: Workspace, slug: str, instruction_id: str, *, reason: str = "canceled by the user") -> ins.Instruction:
    """Cancel a draft or queued instruction, or ask a running one to stop between steps."""
    ctx = ProjectContext.load(ws, slug)
    item = ins.cancel_instruction(ws, instruction_id, project_id=ctx.project_id, reason=reason)
    text = (f"Asked the worker to stop instruction {item.id[:8]} between steps." if item.status == "running"
            else f"Canceled instruction {item.id[:8]}.")
    _note(ws, item, text)
    return item


def _note(ws: Workspace, item: ins.Instruction, text: str) -> None:
    if item.session_id:
        chat.add_message(ws, item.session_id, "assistant", text, data={"instruction_id": item.id,
                                                                       "card": card(item)})
