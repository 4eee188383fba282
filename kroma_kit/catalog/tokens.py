"""API bearer tokens (kroma-behavior.md §8.2): ``kroma_<64 hex>``, stored only as SHA-256 plus a
12-character prefix, shown once at creation; optional project scope and expiry; revocable;
``last_used_at`` kept.

``last_used_at`` is refreshed at most once a minute per token: writing it on every request would
turn every API read into a catalog write and make concurrent readers queue on the write lock.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from kroma_kit.catalog.access import reading, writing
from kroma_kit.catalog.audit import LOCAL_USER_ID, record_event
from kroma_kit.catalog.db import new_id, utcnow
from kroma_kit.catalog.projects import get_project
from kroma_kit.errors import AuthError, InputError, NotFoundError, PermissionDenied
from kroma_kit.workspace import Workspace

TOKEN_PREFIX = "kroma_"
PREFIX_CHARS = 12
LAST_USED_RESOLUTION = timedelta(seconds=60)
_PUBLIC = ("id", "user_id", "project_id", "project_slug", "token_prefix", "label", "expires_at", "revoked_at",
           "last_used_at", "created_at")
_SELECT = ("SELECT t.*, p.slug AS project_slug FROM api_tokens t LEFT JOIN projects p ON p.id = t.project_id")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_expiry(text: str | None) -> str | None:
    """``YYYY-MM-DD`` (end of that day, UTC) or an ISO date-time (``Z`` or an offset) -> catalog
    time text. A time in the past is refused: such a token could never be used."""
    if text is None or str(text).strip() == "":
        return None
    raw = str(text).strip()
    try:
        if len(raw) == 10:
            moment = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC) + timedelta(days=1, microseconds=-1000)
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise InputError(f"expires_at {raw!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ.") from None
    moment = moment.astimezone(UTC)
    if moment <= datetime.now(UTC):
        raise InputError(f"expires_at {raw!r} is in the past; a token must expire in the future.")
    return _iso(moment)


def _public(row: Any) -> dict[str, Any]:
    data = dict(row)
    return {key: data.get(key) for key in _PUBLIC}


_ACTIVE = "t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)"


def has_active_token(ws: Workspace) -> bool:
    """Whether any token can still be used (the first-token bootstrap is allowed only when none)."""
    with reading(ws) as conn:
        return conn.execute(f"SELECT 1 FROM api_tokens t WHERE {_ACTIVE} LIMIT 1", (utcnow(),)).fetchone() \
            is not None


def create_token(ws: Workspace, *, label: str = "", project_slug: str | None = None, expires_at: str | None = None,
                 only_if_none_active: bool = False) -> dict[str, Any]:
    """Create a token and return its record with ``token`` (the only time it is shown).

    ``only_if_none_active``: the unauthenticated first-token bootstrap; checked inside the write
    transaction, so two racing requests cannot both get a first token.
    """
    if not isinstance(label, str) or len(label) > 200:
        raise InputError("Token label must be text of at most 200 characters.")
    project_id = get_project(ws, project_slug)["id"] if project_slug else None
    expiry = parse_expiry(expires_at)
    token = TOKEN_PREFIX + secrets.token_hex(32)
    token_id = new_id()
    now = utcnow()
    with writing(ws) as conn:
        if only_if_none_active and conn.execute(
                f"SELECT 1 FROM api_tokens t WHERE {_ACTIVE} LIMIT 1", (now,)).fetchone():
            raise AuthError("Missing Authorization: Bearer token")
        conn.execute(
            "INSERT INTO api_tokens (id, user_id, project_id, token_hash, token_prefix, label, expires_at, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (token_id, LOCAL_USER_ID, project_id, hash_token(token), token[:PREFIX_CHARS], label, expiry, now))
        record_event(conn, "auth.token.created", {"token_id": token_id, "token_prefix": token[:PREFIX_CHARS],
                                                  "label": label, "expires_at": expiry}, project_id=project_id)
    return {**get_token(ws, token_id), "token": token}


def get_token(ws: Workspace, token_id: str) -> dict[str, Any]:
    with reading(ws) as conn:
        row = conn.execute(f"{_SELECT} WHERE t.id = ?", (token_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"Unknown API token '{token_id}'. List tokens with `kroma token list`.")
    return _public(row)


def list_tokens(ws: Workspace, *, project_slug: str | None = None) -> list[dict[str, Any]]:
    """Every token (never its value), newest first; only one project's when ``project_slug``."""
    with reading(ws) as conn:
        if project_slug is None:
            rows = conn.execute(f"{_SELECT} ORDER BY t.created_at DESC, t.id").fetchall()
        else:
            rows = conn.execute(f"{_SELECT} WHERE p.slug = ? ORDER BY t.created_at DESC, t.id",
                                (project_slug,)).fetchall()
    return [_public(row) for row in rows]


def revoke_token(ws: Workspace, token_id: str, *, project_slug: str | None = None) -> dict[str, Any]:
    """Revoke a token (idempotent: revoking twice keeps the first time). ``project_slug``: the
    caller may only revoke that project's tokens (a scoped token revoking another's -> forbidden)."""
    token = get_token(ws, token_id)
    if project_slug is not None and token["project_slug"] != project_slug:
        raise PermissionDenied("Token is not authorized for this project")
    with writing(ws) as conn:
        conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                     (utcnow(), token_id))
        record_event(conn, "auth.token.revoked", {"token_id": token_id, "token_prefix": token["token_prefix"]},
                     project_id=token["project_id"])
    return get_token(ws, token_id)


def authenticate(ws: Workspace, token: str) -> dict[str, Any]:
    """The active token record for a presented bearer token; unknown, expired or revoked ->
    :class:`AuthError` (one message for all three: a prober learns nothing)."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise AuthError("Invalid or expired token")
    now = utcnow()
    with reading(ws) as conn:
        row = conn.execute(f"{_SELECT} WHERE t.token_hash = ? AND {_ACTIVE}",
                           (hash_token(token), now)).fetchone()
    if row is None:
        raise AuthError("Invalid or expired token")
    record = _public(row)
    stale = _iso(datetime.now(UTC) - LAST_USED_RESOLUTION)
    if record["last_used_at"] is None or record["last_used_at"] < stale:
        with writing(ws) as conn:
            conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, record["id"]))
        record["last_used_at"] = now
    return record
