"""Who is calling: bearer tokens checked on every route but ``/health`` (kroma-behavior.md §8.2),
and the project scope of the path checked before any handler runs.

``caller`` answers 401 for a missing, unknown, expired or revoked token; ``project_slug``
answers 400 ``invalid_project_slug`` for a slug that could be a path trick and 403 ``forbidden``
for a token scoped to another project. With ``KROMA_API_AUTH_DEV_BYPASS`` everything is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kroma_kit.catalog import tokens
from kroma_kit.catalog.projects import validate_slug
from kroma_kit.errors import AuthError, InputError, PermissionDenied
from kroma_kit.server.config import ServerConfig
from kroma_kit.server.errors import ApiError
from kroma_kit.workspace import Workspace

_bearer = HTTPBearer(auto_error=False, scheme_name="bearerAuth", bearerFormat="kroma_<hex>",
                     description="An API token from `POST /auth/token` or `kroma token create`.")


@dataclass(frozen=True)
class Caller:
    """The credential behind a request: a token (maybe scoped to one project) or the dev bypass."""

    token_id: str | None
    project_slug: str | None
    bypass: bool = False

    def may_see(self, slug: str) -> bool:
        return self.project_slug is None or self.project_slug == slug

    def check_project(self, slug: str) -> None:
        if self.project_slug is not None and self.project_slug != slug:
            raise PermissionDenied("Token is not authorized for this project")


def server_config(request: Request) -> ServerConfig:
    return request.app.state.config


def workspace(request: Request) -> Workspace:
    return request.app.state.config.ws


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def optional_caller(request: Request, credentials: Credentials) -> Caller | None:
    """The caller, or None when no token was sent (only ``POST /auth/token`` accepts that)."""
    config = server_config(request)
    if config.dev_bypass:
        return Caller(token_id=None, project_slug=None, bypass=True)
    if credentials is None:
        return None
    record = tokens.authenticate(config.ws, credentials.credentials)
    return Caller(token_id=record["id"], project_slug=record["project_slug"])


def caller(who: Annotated[Caller | None, Depends(optional_caller)]) -> Caller:
    if who is None:
        raise AuthError("Missing Authorization: Bearer token")
    return who


def project_slug(who: Annotated[Caller, Depends(caller)],
                 slug: Annotated[str, Path(description="project slug: a-z, 0-9, '_', '-', 1-64 characters")]) -> str:
    """The path's project slug, valid and within the caller's scope."""
    try:
        validate_slug(slug)
    except InputError as exc:
        raise ApiError(str(exc), code="invalid_project_slug") from None
    who.check_project(slug)
    return slug


WS = Annotated[Workspace, Depends(workspace)]
Who = Annotated[Caller, Depends(caller)]
Slug = Annotated[str, Depends(project_slug)]
