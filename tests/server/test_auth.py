"""Bearer tokens over a real server: the first-token bootstrap, missing / invalid / expired /
revoked / wrong-project tokens, the dev bypass, and the ``kroma token`` CLI twins."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import assert_error
from tests.server.live import live_server, server_process


@pytest.fixture
def bare_ws(workspace):
    from kroma_kit.catalog.projects import create_project

    create_project(workspace, "demo", "Demo")
    create_project(workspace, "other", "Other")
    return workspace


def _catalog_bytes(ws) -> bytes:
    return b"".join(path.read_bytes() for path in Path(ws.catalog_path).parent.glob("catalog.db*"))


def test_first_token_is_created_once_without_auth_and_stored_only_as_a_hash(bare_ws):
    with live_server(bare_ws) as base:
        first = httpx.post(f"{base}/auth/token", json={"label": "desktop"})
        assert first.status_code == 200, first.text
        record = first.json()["auth_token"]
        token = record["token"]
        assert token.startswith("kroma_") and len(token) == 6 + 64
        assert record["token_prefix"] == token[:12] and record["label"] == "desktop"
        assert_error(httpx.post(f"{base}/auth/token", json={}), 401, "unauthorized")
        assert_error(httpx.post(f"{base}/auth/token", json={"project_slug": "nosuch"}), 401, "unauthorized")

        listed = httpx.get(f"{base}/auth/tokens", headers={"Authorization": f"Bearer {token}"}).json()
        assert listed["count"] == 1 and "token" not in listed["tokens"][0]
        assert "token_hash" not in listed["tokens"][0]
    conn = bare_ws.connect()
    try:
        stored = conn.execute("SELECT token_hash, token_prefix FROM api_tokens").fetchall()
    finally:
        conn.close()
    assert [tuple(row) for row in stored] == [(hashlib.sha256(token.encode()).hexdigest(), token[:12])]
    assert token.encode() not in _catalog_bytes(bare_ws)


@pytest.mark.parametrize("bind_host,enabled", [("0.0.0.0", True), ("127.0.0.1", False)])
def test_bootstrap_is_refused_off_loopback_or_when_switched_off(bare_ws, bind_host, enabled):
    with live_server(bare_ws, bind_host=bind_host, bootstrap_first_token=enabled) as base:
        assert_error(httpx.post(f"{base}/auth/token", json={}), 401, "unauthorized")


def test_missing_invalid_expired_and_revoked_tokens_get_401(bare_ws):
    from kroma_kit.catalog.tokens import create_token

    good = create_token(bare_ws, label="good")
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    expiring = create_token(bare_ws, label="expiring", expires_at=soon)
    with live_server(bare_ws) as base:
        def get(token: str | None, scheme: str = "Bearer") -> httpx.Response:
            headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
            return httpx.get(f"{base}/api/projects", headers=headers)

        assert httpx.get(f"{base}/health").json() == {"ok": True, "status": "ok", "service": "kroma-kit"}
        assert get(good["token"]).status_code == 200
        assert get(expiring["token"]).status_code == 200
        missing = assert_error(get(None), 401, "unauthorized")
        assert missing["error"] == "Missing Authorization: Bearer token"
        assert_error(get(good["token"], scheme="Basic"), 401, "unauthorized")
        invalid = assert_error(get("kroma_" + "0" * 64), 401, "unauthorized")
        assert invalid["error"] == "Invalid or expired token"
        assert_error(get("not-a-kroma-token"), 401, "unauthorized")
        assert_error(httpx.post(f"{base}/api/projects", json={"name": "x"}), 401, "unauthorized")

        time.sleep(max(0.0, (datetime.fromisoformat(soon) - datetime.now(UTC)).total_seconds()) + 0.1)
        assert_error(get(expiring["token"]), 401, "unauthorized")

        auth = {"Authorization": f"Bearer {good['token']}"}
        past = httpx.post(f"{base}/auth/token", json={"expires_at": "2000-01-01"}, headers=auth)
        assert_error(past, 400, "validation_error")
        other = httpx.post(f"{base}/auth/token", json={"label": "to revoke"}, headers=auth).json()["auth_token"]
        assert get(other["token"]).status_code == 200
        revoked = httpx.delete(f"{base}/auth/tokens/{other['id']}", headers=auth)
        assert revoked.status_code == 200 and revoked.json()["auth_token"]["revoked_at"]
        assert_error(get(other["token"]), 401, "unauthorized")
        assert_error(httpx.delete(f"{base}/auth/tokens/nope", headers=auth), 404, "not_found")

        tokens = {t["label"]: t for t in httpx.get(f"{base}/auth/tokens", headers=auth).json()["tokens"]}
        assert tokens["good"]["last_used_at"] is not None and tokens["to revoke"]["revoked_at"] is not None


def test_a_project_scoped_token_stays_in_its_project(bare_ws):
    from kroma_kit.catalog.tokens import create_token

    unscoped = create_token(bare_ws, label="admin")
    scoped = create_token(bare_ws, label="demo only", project_slug="demo")
    with live_server(bare_ws) as base, httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {scoped['token']}"}) as http:
        assert http.get("/api/projects/demo").status_code == 200
        body = assert_error(http.get("/api/projects/other"), 403, "forbidden")
        assert body["error"] == "Token is not authorized for this project"
        assert_error(http.get("/api/projects/other/runs"), 403, "forbidden")
        assert_error(http.get("/api/projects/nosuch/assets"), 403, "forbidden")
        assert [p["slug"] for p in http.get("/api/projects").json()["projects"]] == ["demo"]
        assert_error(http.post("/api/projects", json={"name": "Other", "slug": "other"}), 403, "forbidden")
        assert_error(http.post("/auth/token", json={"project_slug": "other"}), 403, "forbidden")
        child = http.post("/auth/token", json={"label": "child"}).json()["auth_token"]
        assert child["project_slug"] == "demo"
        assert {t["label"] for t in http.get("/auth/tokens").json()["tokens"]} == {"demo only", "child"}
        assert_error(http.delete(f"/auth/tokens/{unscoped['id']}"), 403, "forbidden")


def test_dev_bypass_opens_every_route(bare_ws):
    with live_server(bare_ws, dev_bypass=True) as base:
        assert httpx.get(f"{base}/api/projects").json()["count"] == 2
        assert httpx.get(f"{base}/api/projects/other/storage").status_code == 200


def test_kroma_token_cli_twins_and_kroma_serve(bare_ws, capsys):
    from kroma_kit.cli.main import main

    assert main(["token", "create", "--label", "cli", "--project", "demo", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["token"].startswith("kroma_") and created["project_slug"] == "demo"
    assert main(["token", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["id"] for t in listed] == [created["id"]] and "token" not in listed[0]

    with server_process(bare_ws.home, env={"KROMA_API_AUTH_DEV_BYPASS": ""}, workers=2) as base:
        auth = {"Authorization": f"Bearer {created['token']}"}
        assert httpx.get(f"{base}/api/projects/demo", headers=auth).status_code == 200
        assert main(["token", "revoke", created["id"], "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["revoked_at"]
        assert_error(httpx.get(f"{base}/api/projects/demo", headers=auth), 401, "unauthorized")
    assert main(["token", "revoke", "nope"]) == 2


def test_racing_bootstrap_requests_get_exactly_one_first_token(bare_ws):
    from concurrent.futures import ThreadPoolExecutor

    with live_server(bare_ws) as base, ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: httpx.post(f"{base}/auth/token", json={"label": f"r{i}"}).status_code,
                              range(8)))
    assert sorted(codes) == [200] + [401] * 7
