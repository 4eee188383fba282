"""Provider secrets per project (``project_api_secrets``): ciphertext in, ciphertext out.

This module never sees a plaintext value: the security service encrypts before it calls here and
decrypts after. Listing returns metadata only (``has_value``), never the ciphertext.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from kroma_kit.catalog.db import connect, new_id, utcnow


def secure_connection(catalog_path: object) -> sqlite3.Connection:
    """A catalog connection for secret writes: ``secure_delete`` zeroes the old content of changed
    and deleted rows, so a replaced legacy plaintext does not linger in free pages."""
    conn = connect(catalog_path)  # type: ignore[arg-type]
    conn.execute("PRAGMA secure_delete = ON")
    return conn


@dataclass(frozen=True)
class SecretInfo:
    """What may be shown about a secret: who it is for, whether it holds a value, and when."""

    provider_code: str
    secret_name: str
    has_value: bool
    key_ref: str | None
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, object]:
        return {"provider_code": self.provider_code, "secret_name": self.secret_name,
                "has_value": self.has_value, "key_ref": self.key_ref,
                "created_at": self.created_at, "updated_at": self.updated_at}


@dataclass(frozen=True)
class SecretCipher:
    """One stored ciphertext with its key ref (for decryption and rotation)."""

    id: str
    provider_code: str
    secret_name: str
    ciphertext: str
    key_ref: str | None


def upsert_secret(conn: sqlite3.Connection, project_id: str, provider_code: str, secret_name: str,
                  ciphertext: str, key_ref: str) -> bool:
    """Store a ciphertext; True when it created the row, False when it replaced one."""
    now = utcnow()
    existed = conn.execute(
        "SELECT 1 FROM project_api_secrets WHERE project_id = ? AND provider_code = ? AND secret_name = ?",
        (project_id, provider_code, secret_name)).fetchone() is not None
    conn.execute(
        "INSERT INTO project_api_secrets (id, project_id, provider_code, secret_name, secret_ciphertext, "
        "key_ref, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (project_id, provider_code, secret_name) DO UPDATE SET "
        "secret_ciphertext = excluded.secret_ciphertext, key_ref = excluded.key_ref, "
        "updated_at = excluded.updated_at",
        (new_id(), project_id, provider_code, secret_name, ciphertext, key_ref, now, now))
    return not existed


def list_secrets(conn: sqlite3.Connection, project_id: str) -> list[SecretInfo]:
    rows = conn.execute(
        "SELECT provider_code, secret_name, secret_ciphertext <> '' AS has_value, key_ref, created_at, "
        "updated_at FROM project_api_secrets WHERE project_id = ? ORDER BY provider_code, secret_name",
        (project_id,)).fetchall()
    return [SecretInfo(r["provider_code"], r["secret_name"], bool(r["has_value"]), r["key_ref"],
                       r["created_at"], r["updated_at"]) for r in rows]


def secret_ciphers(conn: sqlite3.Connection, project_id: str, *, provider_code: str | None = None,
                   secret_names: tuple[str, ...] | None = None) -> list[SecretCipher]:
    """Stored ciphertexts of a project, optionally for one provider and some names."""
    sql = ("SELECT id, provider_code, secret_name, secret_ciphertext, key_ref FROM project_api_secrets "
           "WHERE project_id = ?")
    params: list[object] = [project_id]
    if provider_code is not None:
        sql += " AND provider_code = ?"
        params.append(provider_code)
    if secret_names:
        sql += f" AND secret_name IN ({', '.join('?' for _ in secret_names)})"
        params.extend(secret_names)
    rows = conn.execute(sql + " ORDER BY provider_code, secret_name", params).fetchall()
    return [SecretCipher(r["id"], r["provider_code"], r["secret_name"], r["secret_ciphertext"], r["key_ref"])
            for r in rows]


def replace_cipher(conn: sqlite3.Connection, secret_id: str, ciphertext: str, key_ref: str) -> None:
    """Re-encrypted value of one row (rotation); ``updated_at`` moves, ``created_at`` stays."""
    conn.execute("UPDATE project_api_secrets SET secret_ciphertext = ?, key_ref = ?, updated_at = ? "
                 "WHERE id = ?", (ciphertext, key_ref, utcnow(), secret_id))


def delete_secret(conn: sqlite3.Connection, project_id: str, provider_code: str, secret_name: str) -> bool:
    """Remove one secret; False when there was none. (A secret is not a file: nothing to archive.)"""
    cursor = conn.execute(
        "DELETE FROM project_api_secrets WHERE project_id = ? AND provider_code = ? AND secret_name = ?",
        (project_id, provider_code, secret_name))
    return cursor.rowcount > 0


def key_ref_counts(conn: sqlite3.Connection, project_id: str) -> list[tuple[str | None, int, int]]:
    """(key_ref, rows, rows with an empty value) per key ref of a project."""
    rows = conn.execute(
        "SELECT key_ref, COUNT(*) AS total, SUM(CASE WHEN secret_ciphertext = '' THEN 1 ELSE 0 END) AS empty "
        "FROM project_api_secrets WHERE project_id = ? GROUP BY key_ref ORDER BY key_ref", (project_id,))
    return [(r["key_ref"], int(r["total"]), int(r["empty"] or 0)) for r in rows]
