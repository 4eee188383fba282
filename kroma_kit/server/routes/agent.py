"""``/api/projects/{slug}/agent/instructions``: create, list, detail, confirm, cancel, events
(``kroma instructions ...``). An instruction is long work: creating (or confirming) it answers
at once; the worker (``kroma worker``) executes it and progress is read here. The lifecycle is
enforced (kroma-behavior.md §7 let confirm/cancel rewrite any row): confirming anything but a
draft, or canceling a finished instruction, is a 400; canceling a running one asks the worker to
stop between steps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from kroma_kit.copilot.instruction_requests import (
    instruction_detail,
    instruction_events,
    project_instructions,
    request_instruction,
)
from kroma_kit.copilot.service import cancel, confirm
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.copilot_models import Instruction, InstructionEvent, instruction_record
from kroma_kit.server.models import Envelope
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}/agent/instructions", tags=["agent instructions"],
                   responses=ERRORS)


class InstructionCreate(BaseModel):
    """The original's body. ``payload_json`` (or ``payload``) follows seed 002 §9.2: ``objective``,
    ``inputs``, ``execution`` (its ``action`` names what the worker runs, e.g. ``dry_run``,
    ``qa_check``, ``sync_push``), ``constraints``."""

    instruction_type: str = Field(min_length=1, max_length=40,
                                  description="pipeline_run | asset_edit | qa_check | storage_sync | custom")
    payload_json: dict[str, Any] | None = None
    payload: dict[str, Any] | None = None
    session_id: str | None = Field(default=None, max_length=64)
    message_id: str | None = Field(default=None, max_length=64)
    priority: int = Field(default=100, ge=0, le=10_000)
    requires_confirmation: bool = Field(default=False, description="ask for a confirmation the guardrails would "
                                                                   "not; a required one cannot be waived")
    dispatch_to_agent: bool = Field(default=False, description="accepted for the seed's clients; the worker "
                                                               "dispatches when copilot.agent_api_url is set")


class ConfirmRequest(BaseModel):
    username: str | None = Field(default=None, description="accepted for the seed's clients; single-user")
    dispatch_to_agent: bool = False
    message: str | None = None


class CancelRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=500)
    message: str | None = Field(default=None, max_length=500)


class InstructionResponse(Envelope):
    instruction: Instruction


class InstructionList(Envelope):
    count: int
    instructions: list[Instruction]


class EventList(Envelope):
    count: int
    events: list[InstructionEvent]


@router.get("", response_model=InstructionList)
def instructions(slug: Slug, ws: WS, status: Annotated[list[str] | None, Query()] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict:
    found = project_instructions(ws, slug, statuses=status, limit=limit)
    return {"ok": True, "count": len(found), "instructions": [instruction_record(i) for i in found]}


@router.post("", response_model=InstructionResponse)
def create(slug: Slug, body: InstructionCreate, ws: WS) -> dict:
    item = request_instruction(ws, slug, body.instruction_type, body.payload_json or body.payload or {},
                               session_id=body.session_id, message_id=body.message_id, priority=body.priority,
                               requires_confirmation=body.requires_confirmation)
    return {"ok": True, "instruction": instruction_record(item)}


@router.get("/{instruction_id}", response_model=InstructionResponse)
def detail(slug: Slug, instruction_id: str, ws: WS) -> dict:
    return {"ok": True, "instruction": instruction_record(instruction_detail(ws, slug, instruction_id))}


@router.get("/{instruction_id}/events", response_model=EventList)
def events(slug: Slug, instruction_id: str, ws: WS) -> dict:
    found = instruction_events(ws, slug, instruction_id)
    return {"ok": True, "count": len(found), "events": found}


@router.post("/{instruction_id}/confirm", response_model=InstructionResponse)
def confirm_instruction(slug: Slug, instruction_id: str, body: ConfirmRequest, ws: WS) -> dict:
    return {"ok": True, "instruction": instruction_record(confirm(ws, slug, instruction_id))}


@router.post("/{instruction_id}/cancel", response_model=InstructionResponse)
def cancel_instruction(slug: Slug, instruction_id: str, body: CancelRequest, ws: WS) -> dict:
    reason = body.reason or body.message or "canceled by the user"
    return {"ok": True, "instruction": instruction_record(cancel(ws, slug, instruction_id, reason=reason))}
