"""``/auth/token`` and ``/auth/tokens``: create (shown once), list, revoke. A token scoped to one
project can only create, see and revoke tokens of that project. With no active token, on a
loopback bind, the first token may be created without one (the bootstrap)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from kroma_kit.catalog import tokens
from kroma_kit.errors import AuthError
from kroma_kit.server.auth import WS, Caller, Who, optional_caller, server_config
from kroma_kit.server.config import ServerConfig
from kroma_kit.server.models import ApiToken, Envelope, NewApiToken
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERRORS)


class TokenCreate(BaseModel):
    label: str = Field(default="", max_length=200)
    project_slug: str | None = Field(default=None, description="limit the token to this project")
    expires_at: str | None = Field(default=None, description="YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)")


class TokenCreated(Envelope):
    auth_token: NewApiToken


class TokenList(Envelope):
    count: int
    tokens: list[ApiToken]


class TokenRevoked(Envelope):
    revoked: bool = True
    auth_token: ApiToken


@router.post("/token", response_model=TokenCreated)
def create_token(body: TokenCreate, ws: WS, config: Annotated[ServerConfig, Depends(server_config)],
                 who: Annotated[Caller | None, Depends(optional_caller)]) -> dict:
    if who is None:
        if not config.may_bootstrap or tokens.has_active_token(ws):  # checked again inside the insert
            raise AuthError("Missing Authorization: Bearer token")
        record = tokens.create_token(ws, label=body.label, project_slug=body.project_slug,
                                     expires_at=body.expires_at, only_if_none_active=True)
        return {"ok": True, "auth_token": record}
    scope = body.project_slug or who.project_slug
    if scope is not None:
        who.check_project(scope)
    record = tokens.create_token(ws, label=body.label, project_slug=scope, expires_at=body.expires_at)
    return {"ok": True, "auth_token": record}


@router.get("/tokens", response_model=TokenList)
def list_tokens(ws: WS, who: Who) -> dict:
    found = tokens.list_tokens(ws, project_slug=who.project_slug)
    return {"ok": True, "count": len(found), "tokens": found}


@router.delete("/tokens/{token_id}", response_model=TokenRevoked)
def revoke_token(token_id: str, ws: WS, who: Who) -> dict:
    return {"ok": True, "revoked": True, "auth_token": tokens.revoke_token(ws, token_id, project_slug=who.project_slug)}
