"""``/api/projects/{slug}/provider-accounts``: which providers a project uses and how (no keys:
those go to the encrypted secrets). Keyed by provider code, as the seed's routes were."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kroma_kit.catalog import provider_accounts as accounts
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.models import DeletedResponse, Envelope, ProviderAccount
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}/provider-accounts", tags=["provider accounts"], responses=ERRORS)


class AccountFields(BaseModel):
    display_name: str | None = Field(default=None, max_length=200)
    account_ref: str | None = Field(default=None, max_length=200)
    base_url: str | None = Field(default=None, max_length=2000)
    enabled: bool | None = None
    config_json: dict[str, Any] | None = None


class AccountCreate(AccountFields):
    provider_code: str = Field(min_length=1, max_length=64)


class AccountList(Envelope):
    count: int
    provider_accounts: list[ProviderAccount]


class AccountResponse(Envelope):
    provider_account: ProviderAccount


class AccountUpserted(AccountResponse):
    created: bool


def _fields(body: AccountFields) -> dict[str, Any]:
    return {"display_name": body.display_name, "account_ref": body.account_ref, "base_url": body.base_url,
            "enabled": body.enabled, "config": body.config_json}


@router.get("", response_model=AccountList)
def list_accounts(slug: Slug, ws: WS) -> dict:
    found = accounts.list_provider_accounts(ws, slug)
    return {"ok": True, "count": len(found), "provider_accounts": found}


@router.post("", response_model=AccountUpserted)
def upsert_account(slug: Slug, body: AccountCreate, ws: WS) -> dict:
    account, created = accounts.upsert_provider_account(ws, slug, body.provider_code, **_fields(body))
    return {"ok": True, "created": created, "provider_account": account}


@router.get("/{provider_code}", response_model=AccountResponse)
def get_account(slug: Slug, provider_code: str, ws: WS) -> dict:
    return {"ok": True, "provider_account": accounts.get_provider_account(ws, slug, provider_code)}


@router.put("/{provider_code}", response_model=AccountResponse)
def update_account(slug: Slug, provider_code: str, body: AccountFields, ws: WS) -> dict:
    account, _ = accounts.upsert_provider_account(ws, slug, provider_code, **_fields(body))
    return {"ok": True, "provider_account": account}


@router.delete("/{provider_code}", response_model=DeletedResponse)
def delete_account(slug: Slug, provider_code: str, ws: WS) -> dict:
    return {"ok": True, "deleted": True, "id": accounts.delete_provider_account(ws, slug, provider_code)}
