"""The error taxonomy of the original server (kroma-behavior.md §8.3), in one place: every
:class:`~kroma_kit.errors.KromaError` subclass maps to a status, an ``error_kind`` and an
``error_code``; request-shape errors are ``400 validation_error``; anything else is ``500
internal_error`` with the fixed message "Internal server error" (the traceback goes to the server
log, never to the client, so no path, query or secret leaks)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kroma_kit.errors import (
    AuthError,
    BudgetExceeded,
    ConfigError,
    InputError,
    KromaError,
    LimitExceeded,
    NotFoundError,
    PermissionDenied,
    ProviderError,
    ProviderNotConfigured,
    SpendError,
    StorageError,
)

log = logging.getLogger("kroma_kit.server")

# Most specific first: the first class an error is an instance of decides.
ERROR_TABLE: tuple[tuple[type[KromaError], int, str, str], ...] = (
    (AuthError, 401, "validation", "unauthorized"),
    (PermissionDenied, 403, "validation", "forbidden"),
    (NotFoundError, 404, "validation", "not_found"),
    (BudgetExceeded, 400, "policy", "budget_exceeded"),
    (LimitExceeded, 400, "validation", "planning_preflight_failed"),
    (SpendError, 400, "policy", "spend_confirmation_required"),
    (ProviderNotConfigured, 400, "provider", "provider_not_configured"),
    (ProviderError, 400, "provider", "pipeline_command_failed"),
    (ConfigError, 400, "validation", "config_validation_failed"),
    (InputError, 400, "validation", "validation_error"),
    (StorageError, 400, "validation", "invalid_request"),
    (KromaError, 400, "validation", "invalid_request"),
)
INTERNAL_MESSAGE = "Internal server error"


class ApiError(KromaError):
    """An error whose code is specific to one route (``invalid_project_slug``,
    ``project_root_managed``, ``invalid_mode``): raised by the API layer itself."""

    def __init__(self, message: str, *, status: int = 400, kind: str = "validation",
                 code: str = "invalid_request") -> None:
        super().__init__(message)
        self.status, self.kind, self.code = status, kind, code


def envelope(message: str, kind: str, code: str) -> dict[str, object]:
    return {"ok": False, "error": message, "error_kind": kind, "error_code": code}


def classify(exc: KromaError) -> tuple[int, str, str]:
    if isinstance(exc, ApiError):
        return exc.status, exc.kind, exc.code
    for cls, status, kind, code in ERROR_TABLE:
        if isinstance(exc, cls):
            return status, kind, code
    return 400, "validation", "invalid_request"


def _kroma_error(_request: Request, exc: KromaError) -> JSONResponse:
    status, kind, code = classify(exc)
    message = " ".join(str(exc).split()) or type(exc).__name__
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(envelope(message, kind, code), status_code=status, headers=headers)


def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """The first problem as one line, by field; the offending value is never echoed back."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(loc)
    message = f"Field '{field}': {first.get('msg', 'invalid')}" if field else str(first.get("msg", "Invalid request"))
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    code = "invalid_mode" if loc[-1:] == ["mode"] else "validation_error"
    return JSONResponse(envelope(message, "validation", code), status_code=400)


def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    status = exc.status_code
    if status == 404:
        return JSONResponse(envelope("Not found", "validation", "not_found"), status_code=404)
    kind, code = ("infra", "internal_error") if status >= 500 else ("validation", "invalid_request")
    message = INTERNAL_MESSAGE if status >= 500 else str(exc.detail)
    return JSONResponse(envelope(message, kind, code), status_code=status, headers=getattr(exc, "headers", None))


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(envelope(INTERNAL_MESSAGE, "infra", "internal_error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(KromaError, _kroma_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
