"""One router module per route group; each handler calls one ``kroma_kit`` service function."""

from __future__ import annotations

from kroma_kit.server.models import ErrorEnvelope

ERRORS = {status: {"model": ErrorEnvelope, "description": text} for status, text in (
    (400, "invalid request (validation_error, invalid_project_slug, config_validation_failed, ...)"),
    (401, "missing, invalid, expired or revoked token (unauthorized)"),
    (403, "token scoped to another project (forbidden)"),
    (404, "not found"),
    (500, "internal error (no detail is ever returned)"),
)}
