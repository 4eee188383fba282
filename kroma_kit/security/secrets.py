"""Project secrets: set, list (masked), delete, status and rotation, plus the key lookup that lets
providers use a project's own OpenAI / remove.bg / PhotoRoom / AWS keys.

Values enter through :func:`set_secret` and leave only through :func:`secret_value` (and the
lookup built on it); every other answer carries names, ``has_value`` and dates. Changes are
audited with names only.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kroma_kit.catalog import secrets as store
from kroma_kit.catalog.audit import record_event
from kroma_kit.catalog.db import connect, transaction
from kroma_kit.catalog.projects import get_project
from kroma_kit.errors import InputError, NotFoundError
from kroma_kit.providers.keys import project_key_scope
from kroma_kit.storage.secret_box import (
    MASTER_KEY_ENV,
    PLAINTEXT_REF,
    MasterKeys,
    load_master_keys,
    looks_encrypted,
    rotate_key_file,
)
from kroma_kit.workspace import Workspace

PROVIDER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
MAX_VALUE_BYTES = 8192

# Which secret stands in for which environment variable (provider, secret name). A secret whose
# name *is* the variable name (``openai OPENAI_API_KEY``) also counts.
ENV_SECRETS: dict[str, tuple[str, str]] = {
    "OPENAI_API_KEY": ("openai", "api_key"),
    "REMOVE_BG_API_KEY": ("removebg", "api_key"),
    "PHOTOROOM_API_KEY": ("photoroom", "api_key"),
    "AWS_ACCESS_KEY_ID": ("aws", "access_key_id"),
    "AWS_SECRET_ACCESS_KEY": ("aws", "secret_access_key"),
    "AWS_SESSION_TOKEN": ("aws", "session_token"),
}


@dataclass(frozen=True)
class RotationReport:
    """What ``rotate`` did (the seed's rotation answer, plus the key it rotated to)."""

    scanned: int
    rotated: int
    skipped_empty: int
    skipped_current_key_ref: int
    plaintext_reencrypted: int
    key_ref: str
    new_key: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _check_names(provider_code: str, secret_name: str) -> tuple[str, str]:
    provider = (provider_code or "").strip().lower()
    if not PROVIDER_PATTERN.fullmatch(provider):
        raise InputError(f"Invalid provider code {provider_code!r}: use 1-40 characters a-z, 0-9, '_', '-', '.' "
                         "(e.g. openai, removebg, photoroom, aws).")
    name = (secret_name or "").strip()
    if not NAME_PATTERN.fullmatch(name):
        raise InputError(f"Invalid secret name {secret_name!r}: use 1-80 characters A-Z, a-z, 0-9, '_', '-', '.' "
                         "(e.g. api_key).")
    return provider, name


def _keys(ws: Workspace, *, create: bool) -> MasterKeys | None:
    return load_master_keys(ws.home, create=create)


def set_secret(ws: Workspace, slug: str, provider_code: str, secret_name: str, value: str) -> dict[str, Any]:
    """Encrypt and store ``value``; answer with metadata only."""
    provider, name = _check_names(provider_code, secret_name)
    clean = (value or "").strip("\r\n")
    if not clean.strip():
        raise InputError(f"The value for {provider}/{name} is empty; nothing was stored. "
                         "Pipe it on stdin or type it at the hidden prompt.")
    if len(clean.encode("utf-8")) > MAX_VALUE_BYTES:
        raise InputError(f"The value for {provider}/{name} is longer than {MAX_VALUE_BYTES} bytes; "
                         "a provider key is much shorter. Nothing was stored.")
    project = get_project(ws, slug)
    keys = _keys(ws, create=True)
    assert keys is not None
    token = keys.encrypt(clean)
    conn = store.secure_connection(ws.catalog_path)
    try:
        with transaction(conn):
            created = store.upsert_secret(conn, project["id"], provider, name, token, keys.current_ref)
            record_event(conn, "secret.set", {"provider_code": provider, "secret_name": name,
                                              "created": created, "key_ref": keys.current_ref},
                         project_id=project["id"])
        info = next(s for s in store.list_secrets(conn, project["id"])
                    if s.provider_code == provider and s.secret_name == name)
    finally:
        conn.close()
    return {"project": slug, "created": created, **info.to_dict()}


def list_secrets(ws: Workspace, slug: str) -> list[dict[str, Any]]:
    """Every secret of the project: names, ``has_value``, key ref and dates; never a value."""
    project = get_project(ws, slug)
    conn = store.secure_connection(ws.catalog_path)
    try:
        return [info.to_dict() for info in store.list_secrets(conn, project["id"])]
    finally:
        conn.close()


def delete_secret(ws: Workspace, slug: str, provider_code: str, secret_name: str) -> dict[str, Any]:
    provider, name = _check_names(provider_code, secret_name)
    project = get_project(ws, slug)
    conn = store.secure_connection(ws.catalog_path)
    try:
        with transaction(conn):
            deleted = store.delete_secret(conn, project["id"], provider, name)
            if not deleted:
                raise NotFoundError(f"Project '{slug}' has no secret {provider}/{name}. "
                                    f"See `kroma secrets list --project {slug}`.")
            record_event(conn, "secret.deleted", {"provider_code": provider, "secret_name": name},
                         project_id=project["id"])
    finally:
        conn.close()
    return {"project": slug, "provider_code": provider, "secret_name": name, "deleted": True}


def secret_status(ws: Workspace, slug: str) -> dict[str, Any]:
    """Counts by state and by key ref (the seed's rotation status), without decrypting anything."""
    project = get_project(ws, slug)
    keys = _keys(ws, create=False)
    conn = store.secure_connection(ws.catalog_path)
    try:
        ciphers = store.secret_ciphers(conn, project["id"])
        by_ref = store.key_ref_counts(conn, project["id"])
    finally:
        conn.close()
    empty = sum(1 for c in ciphers if not c.ciphertext)
    plaintext = sum(1 for c in ciphers if c.ciphertext and (c.key_ref in (None, PLAINTEXT_REF)
                                                            or not looks_encrypted(c.ciphertext)))
    current = keys.current_ref if keys else None
    known = set(keys.refs) if keys else set()
    return {
        "project": slug, "total": len(ciphers), "encrypted": len(ciphers) - empty - plaintext,
        "plaintext": plaintext, "empty": empty, "current_key_ref": current,
        "key_source": keys.source if keys else None,
        "key_refs": [{"key_ref": ref, "count": total, "current": ref == current,
                      "readable": ref in known} for ref, total, _empty in by_ref],
    }


def rotate_secrets(ws: Workspace, slug: str, *, new_key: bool | None = None, force: bool = False) -> RotationReport:
    """Re-encrypt the project's secrets under a new master key.

    With the key file (the default) rotation makes a new current key first; the old ones stay in
    the file, readable, so other projects keep working until they are rotated too. When the key
    comes from ``$KROMA_MASTER_KEY`` its owner sets the new key there (old one in
    ``$KROMA_MASTER_KEY_PREVIOUS``) and rotation re-encrypts under it. ``new_key=False`` only
    re-encrypts rows not under the current key; ``force`` re-encrypts rows already under it too.
    All rows change in one transaction, so a failure leaves every secret as it was.
    """
    project = get_project(ws, slug)
    if new_key is None:
        new_key = not os.environ.get(MASTER_KEY_ENV, "").strip()
    keys = rotate_key_file(ws.home) if new_key else _keys(ws, create=True)
    assert keys is not None
    counts = {"scanned": 0, "rotated": 0, "skipped_empty": 0, "skipped_current_key_ref": 0,
              "plaintext_reencrypted": 0}
    conn = store.secure_connection(ws.catalog_path)
    try:
        with transaction(conn):
            for cipher in store.secret_ciphers(conn, project["id"]):
                counts["scanned"] += 1
                if not cipher.ciphertext:
                    counts["skipped_empty"] += 1
                    continue
                plain = cipher.key_ref in (None, PLAINTEXT_REF) or not looks_encrypted(cipher.ciphertext)
                if not plain and cipher.key_ref == keys.current_ref and not force:
                    counts["skipped_current_key_ref"] += 1
                    continue
                value = cipher.ciphertext if plain else keys.decrypt(
                    cipher.ciphertext, what=f"secret {cipher.provider_code}/{cipher.secret_name}")
                store.replace_cipher(conn, cipher.id, keys.encrypt(value), keys.current_ref)
                counts["plaintext_reencrypted" if plain else "rotated"] += 1
            record_event(conn, "secret.rotated", {**counts, "key_ref": keys.current_ref, "new_key": new_key},
                         project_id=project["id"])
    finally:
        conn.close()
    return RotationReport(**counts, key_ref=keys.current_ref, new_key=new_key)


def secret_value(ws: Workspace, project_id: str, provider_code: str, secret_names: tuple[str, ...]) -> str | None:
    """The decrypted value of the first of ``secret_names`` the project holds for the provider."""
    conn = connect(ws.catalog_path, read_only=True)
    try:
        ciphers = store.secret_ciphers(conn, project_id, provider_code=provider_code, secret_names=secret_names)
    finally:
        conn.close()
    by_name = {c.secret_name: c for c in ciphers if c.ciphertext}
    for name in secret_names:
        cipher = by_name.get(name)
        if cipher is None:
            continue
        if cipher.key_ref in (None, PLAINTEXT_REF) or not looks_encrypted(cipher.ciphertext):
            return cipher.ciphertext
        keys = _keys(ws, create=False)
        if keys is None:
            return None
        return keys.decrypt(cipher.ciphertext, what=f"secret {provider_code}/{name}")
    return None


@dataclass(frozen=True)
class ProjectKeyLookup:
    """env-var name -> the project's secret for it (decrypted on demand, never cached), or None.
    Equal lookups read the same project, which lets worker threads tell scopes apart."""

    ws: Workspace
    project_id: str

    def __call__(self, env_name: str) -> str | None:
        provider, name = ENV_SECRETS.get(env_name, ("", ""))
        if provider:
            return secret_value(self.ws, self.project_id, provider, (name, env_name))
        return None


def project_key_lookup(ws: Workspace, project_id: str) -> Callable[[str], str | None]:
    """A lookup for :func:`kroma_kit.providers.keys.project_key_scope`."""
    return ProjectKeyLookup(ws, project_id)


@contextmanager
def use_project_keys(ws: Workspace, project_id: str) -> Iterator[None]:
    """Run a block (a pipeline run, a post-process batch) with the project's secrets as the
    providers' last fallback after call-time options and the environment."""
    with project_key_scope(project_key_lookup(ws, project_id)):
        yield


@contextmanager
def project_keys(ws: Workspace, slug: str | None) -> Iterator[None]:
    """:func:`use_project_keys` by slug; an unknown or missing slug opens no scope (the caller's
    own lookup reports the unknown project)."""
    project_id = None
    if slug:
        try:
            project_id = get_project(ws, slug)["id"]
        except NotFoundError:
            project_id = None
    if project_id is None:
        yield
        return
    with use_project_keys(ws, project_id):
        yield


def with_project_keys(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a service entry point called as ``f(ws, project_or_request, ...)`` (a slug, or a
    request with ``.project``) so the providers it builds can use the project's own keys."""

    @functools.wraps(func)
    def wrapper(ws: Workspace, target: Any, *args: Any, **kwargs: Any) -> Any:
        slug = target if isinstance(target, str) else getattr(target, "project", None)
        with project_keys(ws, slug):
            return func(ws, target, *args, **kwargs)

    return wrapper
