"""``kroma serve``: run the API with uvicorn on one address (default 127.0.0.1:8788).

``workers > 1`` starts that many server processes on the same socket (uvicorn's supervisor): each
builds its app from the environment (:func:`app_from_env`), so readers are spread over processes
as well as threads. A run started through one worker is that worker's to cancel on shutdown.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from kroma_kit.catalog import open_workspace
from kroma_kit.server.app import create_app
from kroma_kit.server.config import DEFAULT_BIND, ServerConfig, split_bind
from kroma_kit.workspace import Workspace

BIND_ENV = "KROMA_BACKEND_BIND"


def app_from_env() -> FastAPI:
    """The app for the workspace of ``$KROMA_HOME`` and the bind of ``$KROMA_BACKEND_BIND``."""
    host, _ = split_bind(os.environ.get(BIND_ENV) or DEFAULT_BIND)
    return create_app(ServerConfig.from_env(open_workspace(), bind_host=host))


def serve(ws: Workspace, bind: str = DEFAULT_BIND, *, log_level: str = "info", workers: int = 1) -> None:
    import uvicorn

    host, port = split_bind(bind)
    if workers > 1:
        os.environ["KROMA_HOME"] = str(ws.home)
        os.environ[BIND_ENV] = bind
        uvicorn.run("kroma_kit.server.serve:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level=log_level, access_log=False)
        return
    uvicorn.run(create_app(ServerConfig.from_env(ws, bind_host=host)), host=host, port=port, log_level=log_level,
                access_log=False)
