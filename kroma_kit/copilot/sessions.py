"""Chat sessions of one project, read and written by slug (the API's and the CLI's ``chat show``):
every session id is checked against the project, so a session of another project is unknown.

A ``user`` message is a chat turn (:func:`~kroma_kit.copilot.service.send_message`: the copilot
answers and may draft an instruction); ``assistant``, ``system`` and ``tool`` messages are stored
as given, for an external agent that keeps its own side of the transcript here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kroma_kit.catalog import chat
from kroma_kit.catalog.projects import get_project
from kroma_kit.copilot.service import ChatTurn, send_message
from kroma_kit.errors import InputError
from kroma_kit.workspace import Workspace

MAX_LIMIT = 1000


@dataclass
class PostedMessage:
    """What posting a message produced: the message, and for a user message the copilot's reply
    and any instruction it drafted."""

    message: chat.ChatMessage
    turn: ChatTurn | None = None


def _project_id(ws: Workspace, slug: str) -> str:
    return str(get_project(ws, slug)["id"])


def project_sessions(ws: Workspace, slug: str, *, limit: int = 100) -> list[chat.ChatSession]:
    """The project's sessions, most recently active first."""
    return chat.list_sessions(ws, _project_id(ws, slug), limit=max(1, min(limit, MAX_LIMIT)))


def project_session(ws: Workspace, slug: str, session_id: str) -> chat.ChatSession:
    return chat.get_session(ws, session_id, project_id=_project_id(ws, slug))


def session_messages(ws: Workspace, slug: str, session_id: str, *,
                     limit: int = 500) -> tuple[chat.ChatSession, list[chat.ChatMessage]]:
    """A session of the project and its transcript, oldest first."""
    session = project_session(ws, slug, session_id)
    return session, chat.list_messages(ws, session.id, limit=max(1, min(limit, MAX_LIMIT)))


def post_message(ws: Workspace, slug: str, session_id: str, text: str, *, role: str = "user",
                 data: dict[str, Any] | None = None, token_usage: dict[str, Any] | None = None) -> PostedMessage:
    """Add a message to a session of the project (see the module docstring for the roles)."""
    role = (role or "user").strip().lower()
    if role not in chat.ROLES:
        raise InputError(f"Unknown chat role '{role}'. Expected one of: {', '.join(chat.ROLES)}.")
    session = project_session(ws, slug, session_id)
    if role == "user":
        turn = send_message(ws, slug, text, session_id=session.id)
        return PostedMessage(turn.user_message, turn)
    if not (text or "").strip():
        raise InputError("The message is empty: give content_text.")
    return PostedMessage(chat.add_message(ws, session.id, role, text, data=data, token_usage=token_usage))
