"""``/api/projects/{slug}/secrets``: set, masked list, delete, rotation status and rotate
(``kroma secrets ...``). A value goes in and never comes out: every answer carries names,
``has_value``, key refs and dates; the value field is a ``SecretStr`` (masked in any log or
repr), validation errors never echo a value, and a 500 says only "Internal server error"."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field, SecretStr

from kroma_kit.security.secrets import delete_secret, list_secrets, rotate_secrets, secret_status, set_secret
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.models import DeletedResponse, Envelope, Record
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}/secrets", tags=["secrets"], responses=ERRORS)


class SecretSet(BaseModel):
    provider_code: str = Field(min_length=1, max_length=40, description="openai, removebg, photoroom, aws, ...")
    secret_name: str = Field(min_length=1, max_length=80, description="e.g. api_key")
    secret_value: SecretStr = Field(description="stored encrypted; never returned")


class RotateRequest(BaseModel):
    force: bool = Field(default=False, description="re-encrypt rows already under the current key too")
    reencrypt_only: bool = Field(default=False, description="make no new key: re-encrypt rows not under the "
                                                            "current key (after changing KROMA_MASTER_KEY)")


class Secret(Record):
    provider_code: str
    secret_name: str
    has_value: bool
    key_ref: str | None = None
    created_at: str
    updated_at: str


class SecretSaved(Secret):
    created: bool


class KeyRefCount(Record):
    key_ref: str | None = None
    count: int
    current: bool
    readable: bool


class RotationStatus(Record):
    total: int
    encrypted: int
    plaintext: int
    empty: int
    current_key_ref: str | None = None
    key_refs: list[KeyRefCount]


class Rotation(Record):
    scanned: int
    rotated: int
    skipped_empty: int
    skipped_current_key_ref: int
    plaintext_reencrypted: int
    key_ref: str
    new_key: bool


class SecretList(Envelope):
    count: int
    secrets: list[Secret]


class SecretResponse(Envelope):
    secret: SecretSaved


class RotationStatusResponse(Envelope):
    rotation_status: RotationStatus


class RotationResponse(Envelope):
    rotation: Rotation


class SecretDeleted(DeletedResponse):
    provider_code: str
    secret_name: str


@router.get("", response_model=SecretList)
def secrets(slug: Slug, ws: WS) -> dict:
    found = list_secrets(ws, slug)
    return {"ok": True, "count": len(found), "secrets": found}


@router.post("", response_model=SecretResponse)
def save_secret(slug: Slug, body: SecretSet, ws: WS) -> dict:
    return {"ok": True, "secret": set_secret(ws, slug, body.provider_code, body.secret_name,
                                             body.secret_value.get_secret_value())}


@router.get("/rotation-status", response_model=RotationStatusResponse)
def rotation_status(slug: Slug, ws: WS) -> dict:
    return {"ok": True, "rotation_status": secret_status(ws, slug)}


@router.post("/rotate", response_model=RotationResponse)
def rotate(slug: Slug, body: RotateRequest, ws: WS) -> dict:
    report = rotate_secrets(ws, slug, new_key=False if body.reencrypt_only else None, force=body.force)
    return {"ok": True, "rotation": report.to_dict()}


@router.delete("/{provider_code}/{secret_name}", response_model=SecretDeleted)
def remove_secret(slug: Slug, provider_code: str, secret_name: str, ws: WS) -> dict:
    gone = delete_secret(ws, slug, provider_code, secret_name)
    return {"ok": True, "deleted": True, "id": f"{gone['provider_code']}/{gone['secret_name']}",
            "provider_code": gone["provider_code"], "secret_name": gone["secret_name"]}
