"""Instructions asked for directly (over the API or a script) rather than drafted by the chat, and
the project-scoped reads of instructions the CLI and the API share.

A requested instruction passes the same guardrails as a chat draft (known action, allowed type,
paths inside the project) and the guardrails still decide whether it waits for a confirmation; a
caller may ask for a confirmation the guardrails would not, never waive one. An S3 sync asked for
explicitly (``POST .../storage/s3/push``, like ``kroma sync push``) is queued at once: the person
asked for exactly that, so there is nothing to confirm. Either way the worker executes it and its
progress is read from the instruction and its events.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kroma_kit.catalog import chat
from kroma_kit.catalog import instructions as ins
from kroma_kit.catalog.db import new_id
from kroma_kit.catalog.projects import get_project
from kroma_kit.copilot.context import ProjectContext
from kroma_kit.copilot.drafts import KNOWN_ACTIONS, InstructionDraft, envelope
from kroma_kit.copilot.guardrails import check_draft
from kroma_kit.copilot.service import card, create_from_draft
from kroma_kit.errors import InputError
from kroma_kit.sync.history import sync_history
from kroma_kit.sync.policy import s3_location, show_policy
from kroma_kit.workspace import Workspace

SYNC_ACTIONS = {"push": "sync_push", "pull": "sync_pull"}


def _action_for(instruction_type: str, execution: dict[str, Any]) -> str:
    action = str(execution.get("action") or "").strip()
    if action:
        return action
    known = sorted(a for a, t in KNOWN_ACTIONS.items() if t == instruction_type)
    if len(known) == 1 or instruction_type in known:
        return instruction_type if instruction_type in known else known[0]
    raise InputError(f"Say which {instruction_type} action to run in payload.execution.action "
                     f"(one of: {', '.join(known) or 'none known'}).")


def request_instruction(ws: Workspace, slug: str, instruction_type: str, payload: dict[str, Any] | None = None, *,
                        session_id: str | None = None, message_id: str | None = None, priority: int = 100,
                        requires_confirmation: bool = False) -> ins.Instruction:
    """Create an instruction of ``instruction_type`` from a §9.2-shaped ``payload`` (``objective``,
    ``inputs``, ``execution`` with its ``action``, ``constraints``)."""
    kind = (instruction_type or "").strip().lower()
    if kind not in ins.INSTRUCTION_TYPES:
        raise InputError(f"Unknown instruction_type '{instruction_type}'. Expected one of: "
                         f"{', '.join(ins.INSTRUCTION_TYPES)}.")
    payload = dict(payload or {})
    for key in ("inputs", "execution", "constraints"):
        if not isinstance(payload.get(key, {}), dict):
            raise InputError(f"payload.{key} must be an object.")
    ctx = ProjectContext.load(ws, slug)
    if session_id:
        session_id = chat.get_session(ws, session_id, project_id=ctx.project_id).id
    if message_id:
        message = chat.get_message(ws, message_id)
        if message is None or chat.get_session(ws, message.session_id).project_id != ctx.project_id:
            raise InputError(f"Message '{message_id}' does not belong to project {slug}.")
    execution = dict(payload.get("execution") or {})
    action = _action_for(kind, execution)
    draft = InstructionDraft(kind, action, str(payload.get("objective") or f"Execute {kind}:{action}"),
                             inputs=dict(payload.get("inputs") or {}), execution=execution,
                             constraints=dict(payload.get("constraints") or {}))
    asked = "confirmation requested by the caller" if requires_confirmation else None
    return create_from_draft(ws, ctx, draft, session_id=session_id, message_id=message_id, confirmation=asked,
                             priority=priority)


def request_sync(ws: Workspace, slug: str, direction: str, *, dry_run: bool = False, delete: bool = False,
                 allow_missing_local: bool = False, triggered_by: str = "api") -> ins.Instruction:
    """Queue an S3 push or pull of the project for the worker. The storage policy is checked now
    (S3 enabled, a bucket), so a sync that cannot work is refused at once, not by the worker."""
    if direction not in SYNC_ACTIONS:
        raise InputError(f"Unknown sync direction '{direction}': push or pull.")
    ctx = ProjectContext.load(ws, slug)
    location = s3_location(ws, get_project(ws, slug))
    execution: dict[str, Any] = {"dry_run": bool(dry_run), "triggered_by": triggered_by}
    if direction == "push":
        execution.update(delete=bool(delete), allow_missing_local=bool(allow_missing_local))
    verb = "Push the project to" if direction == "push" else "Pull the project from"
    draft = InstructionDraft("storage_sync", SYNC_ACTIONS[direction],
                             f"{verb} {location.uri}" + (" (dry run)" if dry_run else ""), execution=execution)
    check_draft(draft, ctx)
    instruction_id = new_id()
    payload = envelope(draft, instruction_id=instruction_id, project_slug=ctx.slug, confirmation_required=False)
    return ins.create_instruction(ws, ctx.project_id, "storage_sync", payload, requires_confirmation=False,
                                  max_attempts=ctx.settings.worker_max_attempts)


def project_instructions(ws: Workspace, slug: str, *, statuses: Iterable[str] | None = None,
                         instruction_type: str | None = None, limit: int = 200) -> list[ins.Instruction]:
    """The project's instructions, newest first (optionally by status and type)."""
    project_id = get_project(ws, slug)["id"]
    wanted = [s.strip().lower() for s in statuses or [] if s and s.strip()]
    unknown = [s for s in wanted if s not in ins.STATUSES]
    if unknown:
        raise InputError(f"Unknown instruction status {', '.join(unknown)}. Expected: {', '.join(ins.STATUSES)}.")
    found = ins.list_instructions(ws, project_id=project_id, statuses=wanted, limit=limit)
    return [i for i in found if instruction_type is None or i.instruction_type == instruction_type]


def instruction_detail(ws: Workspace, slug: str, instruction_id: str) -> ins.Instruction:
    """One instruction of the project (another project's is unknown here)."""
    return ins.get_instruction(ws, instruction_id, project_id=get_project(ws, slug)["id"])


def instruction_events(ws: Workspace, slug: str, instruction_id: str) -> list[dict[str, Any]]:
    """The event log of one instruction of the project, oldest first."""
    return ins.list_instruction_events(ws, instruction_detail(ws, slug, instruction_id).id)


def sync_status(ws: Workspace, slug: str, *, limit: int = 20) -> dict[str, Any]:
    """Where the project syncs to, the sync instructions still waiting or running, and the latest
    pushes and pulls (the ``sync_runs`` rows, failed ones too)."""
    policy = show_policy(ws, slug)
    pending = project_instructions(ws, slug, statuses=("draft", "queued", "running"), instruction_type="storage_sync")
    return {"project": slug, "policy": policy, "pending": [card(i) for i in pending],
            "history": sync_history(ws, slug, limit=limit)}
