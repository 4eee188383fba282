"""Provider accounts: which provider a project uses and how (seed §6.2 ``provider_accounts``),
one row per (project, provider code).

The seed's wire fields ``display_name``, ``account_ref`` and ``base_url`` have no columns in the
catalog's table; they are kept in ``config_json`` under those names, so the original clients'
shape round-trips. Keys are never stored here: a config carrying something that looks like a
credential is refused and pointed at the encrypted secrets store.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from kroma_kit.catalog.access import reading, writing
from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.db import from_json, new_id, to_json, utcnow
from kroma_kit.catalog.projects import get_project
from kroma_kit.errors import InputError, NotFoundError
from kroma_kit.workspace import Workspace

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
WIRE_FIELDS = ("display_name", "account_ref", "base_url")
_SECRET_WORDS = ("api_key", "apikey", "secret", "password", "token")


def check_provider_code(code: object) -> str:
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        raise InputError(f"Invalid provider_code {code!r}: use lower case a-z, 0-9, '_', '.', '-' "
                         "(at most 64 characters), e.g. 'openai'.")
    return code


def _check_config(config: dict[str, Any]) -> None:
    for key in config:
        if any(word in str(key).lower() for word in _SECRET_WORDS):
            raise InputError(f"config_json key {key!r} looks like a credential; provider accounts are not "
                             "encrypted. Store keys with the project's secrets instead.")


def _account(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    config = from_json(data.pop("config_json"))
    return {"id": data["id"], "project_id": data["project_id"], "provider_code": data["provider_code"],
            "enabled": bool(data["is_enabled"]), **{key: config.get(key) for key in WIRE_FIELDS},
            "config_json": {k: v for k, v in config.items() if k not in WIRE_FIELDS},
            "created_at": data["created_at"], "updated_at": data["updated_at"]}


def list_provider_accounts(ws: Workspace, slug: str) -> list[dict[str, Any]]:
    project_id = get_project(ws, slug)["id"]
    with reading(ws) as conn:
        rows = conn.execute("SELECT * FROM provider_accounts WHERE project_id = ? ORDER BY provider_code",
                            (project_id,)).fetchall()
    return [_account(row) for row in rows]


def get_provider_account(ws: Workspace, slug: str, provider_code: str) -> dict[str, Any]:
    project_id = get_project(ws, slug)["id"]
    with reading(ws) as conn:
        row = conn.execute("SELECT * FROM provider_accounts WHERE project_id = ? AND provider_code = ?",
                           (project_id, check_provider_code(provider_code))).fetchone()
    if row is None:
        raise NotFoundError(f"Project '{slug}' has no provider account '{provider_code}'.")
    return _account(row)


def upsert_provider_account(ws: Workspace, slug: str, provider_code: str, *, enabled: bool | None = None,
                            display_name: str | None = None, account_ref: str | None = None,
                            base_url: str | None = None, config: dict[str, Any] | None = None,
                            must_exist: bool = False) -> tuple[dict[str, Any], bool]:
    """Create or change the account; fields left None keep their value. Returns
    ``(account, created)``; ``must_exist`` refuses to create (an update of a missing account)."""
    check_provider_code(provider_code)
    if config is not None and not isinstance(config, dict):
        raise InputError("config_json must be an object.")
    _check_config(config or {})
    if base_url is not None and base_url and not re.match(r"^https?://", base_url):
        raise InputError(f"base_url {base_url!r} must start with http:// or https://.")
    project_id = get_project(ws, slug)["id"]
    now = utcnow()
    with writing(ws) as conn:
        row = conn.execute("SELECT * FROM provider_accounts WHERE project_id = ? AND provider_code = ?",
                           (project_id, provider_code)).fetchone()
        if row is None and must_exist:
            raise NotFoundError(f"Project '{slug}' has no provider account '{provider_code}'.")
        stored = from_json(row["config_json"]) if row else {}
        merged = {**{k: v for k, v in stored.items() if k in WIRE_FIELDS},
                  **(config if config is not None else {k: v for k, v in stored.items() if k not in WIRE_FIELDS})}
        for key, value in (("display_name", display_name), ("account_ref", account_ref), ("base_url", base_url)):
            if value is not None:
                merged[key] = value
        is_enabled = int(bool(enabled)) if enabled is not None else (row["is_enabled"] if row else 1)
        if row is None:
            conn.execute("INSERT INTO provider_accounts (id, project_id, provider_code, is_enabled, config_json, "
                         "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (new_id(), project_id, provider_code, is_enabled, to_json(merged), now, now))
        else:
            conn.execute("UPDATE provider_accounts SET is_enabled = ?, config_json = ?, updated_at = ? WHERE id = ?",
                         (is_enabled, to_json(merged), now, row["id"]))
        record_event(conn, "provider_account.upserted", {"provider_code": provider_code, "created": row is None},
                     project_id=project_id)
    return get_provider_account(ws, slug, provider_code), row is None


def delete_provider_account(ws: Workspace, slug: str, provider_code: str) -> str:
    account = get_provider_account(ws, slug, provider_code)
    with writing(ws) as conn:
        conn.execute("DELETE FROM provider_accounts WHERE id = ?", (account["id"],))
        record_event(conn, "provider_account.deleted", {"provider_code": provider_code},
                     project_id=account["project_id"])
    return account["id"]
