"""Wire types of the copilot's route groups (chat, agent instructions, voice): the records the
catalog holds, as the original's envelopes carry them (``session``, ``message``, ``instruction``,
``request``). Like :mod:`kroma_kit.server.models`, records name the fields clients rely on and
allow the rest."""

from __future__ import annotations

from typing import Any

from kroma_kit.catalog.instructions import Instruction as InstructionRow
from kroma_kit.server.models import Record


class ChatSession(Record):
    id: str
    project_id: str
    title: str
    status: str
    context: dict[str, Any]
    created_at: str
    updated_at: str


class ChatMessage(Record):
    id: str
    session_id: str
    role: str
    text: str
    content_text: str
    data: dict[str, Any]
    token_usage: dict[str, Any]
    voice_asset_id: str | None = None
    created_at: str


class Instruction(Record):
    id: str
    project_id: str
    instruction_type: str
    action: str
    objective: str
    status: str
    payload: dict[str, Any]
    priority: int
    requires_confirmation: bool
    session_id: str | None = None
    message_id: str | None = None
    estimate: dict[str, Any]
    attempts: int
    max_attempts: int | None = None
    cancel_requested: bool
    last_error: str | None = None
    result: dict[str, Any]
    queued_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    created_at: str
    updated_at: str


class InstructionEvent(Record):
    id: str
    instruction_id: str
    seq: int
    event_type: str
    status_from: str | None = None
    status_to: str | None = None
    worker_id: str | None = None
    message: str | None = None
    payload: dict[str, Any]
    created_at: str


class VoiceRequest(Record):
    id: str
    project_id: str
    session_id: str | None = None
    message_id: str | None = None
    direction: str
    provider_code: str
    model_name: str | None = None
    status: str
    input_asset_id: str | None = None
    output_asset_id: str | None = None
    text: str
    latency_ms: int | None = None
    error: str | None = None
    meta: dict[str, Any]
    created_at: str
    finished_at: str | None = None


def instruction_record(item: InstructionRow) -> dict[str, Any]:
    """An instruction row with its ``action`` and ``objective`` (read from the payload) spelled out."""
    return {**item.to_dict(), "action": item.action, "objective": item.objective}


def message_record(message: Any) -> dict[str, Any]:
    """A chat message; ``content_text`` repeats ``text`` under the original's field name."""
    return {**message.to_dict(), "content_text": message.text}
