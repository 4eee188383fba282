"""``kroma serve``: run the API with uvicorn on one address (default 127.0.0.1:8788)."""

from __future__ import annotations

from kroma_kit.server.app import create_app
from kroma_kit.server.config import DEFAULT_BIND, ServerConfig, split_bind
from kroma_kit.workspace import Workspace


def serve(ws: Workspace, bind: str = DEFAULT_BIND, *, log_level: str = "info") -> None:
    import uvicorn

    host, port = split_bind(bind)
    app = create_app(ServerConfig.from_env(ws, bind_host=host))
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
