"""Fixtures for the API tests: one workspace per test module (the sample project ``demo`` and an
empty ``other``), served by a real uvicorn on 127.0.0.1, and httpx clients with a token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.server.live import live_server


@dataclass
class Api:
    """A live server over one workspace; ``client`` carries an all-projects token."""

    ws: object
    base: str
    token: str

    def client(self, token: str | None = None, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.token}"} if token != "" else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=60, **kwargs)


def make_workspace(home: Path):
    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.project_setup import install_sample_project

    ws = open_workspace(home)
    project = create_project(ws, "demo", "Demo")
    install_sample_project(Path(project["root"]), candidates=1)
    create_project(ws, "other", "Other")
    return ws


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from kroma_kit.catalog.tokens import create_token

    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("api") / "kroma-home"
        patch.setenv("KROMA_HOME", str(home))
        for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REMOVE_BG_API_KEY", "PHOTOROOM_API_KEY",
                    "KROMA_SETTINGS_DIR", "KROMA_API_AUTH_DEV_BYPASS"):
            patch.delenv(key, raising=False)
        ws = make_workspace(home)
        token = create_token(ws, label="tests")["token"]
        with live_server(ws) as base:
            yield Api(ws=ws, base=base, token=token)


@pytest.fixture
def client(api: Api) -> Iterator[httpx.Client]:
    with api.client() as http:
        yield http


def assert_error(response: httpx.Response, status: int, code: str, kind: str = "validation") -> dict:
    """The seed's error envelope with this status and code, and nothing else in it."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"ok", "error", "error_kind", "error_code"}, body
    assert body["ok"] is False and body["error_code"] == code and body["error_kind"] == kind, body
    assert body["error"] and "\n" not in body["error"]
    return body
