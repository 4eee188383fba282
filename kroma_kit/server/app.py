"""Building the ASGI app: routers, error envelopes, auth, the run launcher and the OpenAPI
document (``/openapi.json``: every route with its request and response models, the error envelope
on every 4xx/5xx, bearer auth; FastAPI's own 422 is replaced by the seed's 400).

Handlers are plain ``def`` functions: FastAPI runs them on its thread pool, each catalog call opens
its own short-lived SQLite connection (WAL), so readers never queue behind one another.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import import_module
from typing import Any

from fastapi import FastAPI

from kroma_kit.server.config import ServerConfig
from kroma_kit.server.errors import install_error_handlers
from kroma_kit.server.launch import RunLauncher

ROUTE_MODULES = ("health", "tokens", "projects", "storage", "runs", "review", "assets", "reports", "prompts",
                 "providers", "style_guides", "characters", "character_images", "reference_sets", "bootstrap",
                 "exports", "secrets", "chat", "agent", "voice")
API_VERSION = "0.2.0"


def create_app(config: ServerConfig) -> FastAPI:
    launcher = RunLauncher()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        launcher.shutdown()

    # No /docs or /redoc: their pages load scripts from a CDN, and nothing may download at run time.
    app = FastAPI(title="Kroma Kit API", version=API_VERSION, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="The workbench over HTTP: the same functions as the `kroma` CLI and the panels. "
                              "Every answer is `{ok: true, <payload>}` or `{ok: false, error, error_kind, "
                              "error_code}`.")
    app.state.config = config
    app.state.launcher = launcher
    install_error_handlers(app)
    for name in ROUTE_MODULES:
        app.include_router(import_module(f"kroma_kit.server.routes.{name}").router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema
