"""``/api/projects/{slug}/chat/sessions``: the copilot's chat over HTTP (``kroma chat``). A ``user``
message is a chat turn: the copilot answers (built-in grammar or the project's LLM) and may
draft an instruction, returned beside the message; other roles are stored as given (an external
agent keeping its side of the transcript). Sessions of another project are unknown here."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, model_validator

from kroma_kit.copilot.service import new_session
from kroma_kit.copilot.sessions import post_message, project_session, project_sessions, session_messages
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.copilot_models import (
    ChatMessage,
    ChatSession,
    Instruction,
    instruction_record,
    message_record,
)
from kroma_kit.server.models import Envelope
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}/chat/sessions", tags=["chat"], responses=ERRORS)


class SessionCreate(BaseModel):
    title: str = Field(default="", max_length=200)
    context_json: dict[str, Any] | None = Field(default=None, description="free context kept with the session")
    username: str | None = Field(default=None, description="accepted for the seed's clients; single-user")


class MessageCreate(BaseModel):
    """The original's body: ``content_text`` (or ``text``, or ``content``), ``role`` (default user)."""

    role: Literal["user", "assistant", "system", "tool"] = "user"
    content_text: str | None = Field(default=None, min_length=1, max_length=4000)
    text: str | None = Field(default=None, min_length=1, max_length=4000)
    content: str | None = Field(default=None, min_length=1, max_length=4000)
    content_json: dict[str, Any] | None = Field(default=None, description="stored with assistant/system/tool "
                                                                          "messages")
    token_usage_json: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_text(self) -> MessageCreate:
        if not (self.content_text or self.text or self.content):
            raise ValueError("give content_text (or text)")
        return self

    @property
    def body(self) -> str:
        return str(self.content_text or self.text or self.content)


class SessionResponse(Envelope):
    session: ChatSession


class SessionList(Envelope):
    count: int
    sessions: list[ChatSession]


class MessageList(Envelope):
    count: int
    session: ChatSession
    messages: list[ChatMessage]


class MessagePosted(Envelope):
    message: ChatMessage
    reply: ChatMessage | None = Field(description="the copilot's answer to a user message")
    instruction: Instruction | None = Field(description="the instruction the copilot drafted, if any")


Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("", response_model=SessionList)
def sessions(slug: Slug, ws: WS, limit: Limit = 100) -> dict:
    found = project_sessions(ws, slug, limit=limit)
    return {"ok": True, "count": len(found), "sessions": [s.to_dict() for s in found]}


@router.post("", response_model=SessionResponse)
def create_session(slug: Slug, body: SessionCreate, ws: WS) -> dict:
    return {"ok": True, "session": new_session(ws, slug, title=body.title, context=body.context_json).to_dict()}


@router.get("/{session_id}", response_model=SessionResponse)
def session_detail(slug: Slug, session_id: str, ws: WS) -> dict:
    return {"ok": True, "session": project_session(ws, slug, session_id).to_dict()}


@router.get("/{session_id}/messages", response_model=MessageList)
def messages(slug: Slug, session_id: str, ws: WS, limit: Limit = 500) -> dict:
    session, found = session_messages(ws, slug, session_id, limit=limit)
    return {"ok": True, "count": len(found), "session": session.to_dict(),
            "messages": [message_record(m) for m in found]}


@router.post("/{session_id}/messages", response_model=MessagePosted)
def add_message(slug: Slug, session_id: str, body: MessageCreate, ws: WS) -> dict:
    posted = post_message(ws, slug, session_id, body.body, role=body.role, data=body.content_json,
                          token_usage=body.token_usage_json)
    turn = posted.turn
    return {"ok": True, "message": message_record(posted.message),
            "reply": message_record(turn.reply) if turn else None,
            "instruction": instruction_record(turn.instruction) if turn and turn.instruction else None}
