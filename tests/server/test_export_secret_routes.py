"""Exports, secrets and the audit trail over a real server: an export lands inside the project's
exports folder (absolute, ``..`` and symlink tricks refused, nothing written), is listed and read
back with its ``export_asset_id``; a secret value goes in and never comes out (not in a list, an
answer, an error or the audit); the audit is filtered by code; a scoped token gets 403."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from tests.server.conftest import assert_error

SECRET = "sk-live-DO-NOT-LEAK-4f1c2a9e7b"


def _exports_folder(api) -> Path:
    return Path(api.ws.home) / "exports" / "other"


def test_export_create_list_detail(api, client):
    root = Path(client.get("/api/projects/other").json()["project"]["root"])
    (root / "outputs" / "page1.png").write_bytes(b"not really a png")
    created = client.post("/api/projects/other/exports", json={"include_files": True, "output": "book.tar.gz"})
    assert created.status_code == 200, created.text
    body = created.json()
    record = body["project_export"]
    assert body["export_asset_id"] and body["export_asset_id"] == record["export_asset_id"]
    assert record["format"] == "tar.gz" and record["present"] is True and record["include_files"] is True
    archive = _exports_folder(api) / "book.tar.gz"
    assert Path(record["output_path"]) == archive.resolve()
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert any(name.endswith("/project.db") for name in names)
    assert any(name.endswith("/files/outputs/page1.png") for name in names)
    asset = client.get(f"/api/projects/other/assets/{body['export_asset_id']}").json()["asset"]
    assert asset["kind"] == "export" and asset["sha256"] == record["sha256"]

    folder = client.post("/api/projects/other/exports", json={"include_files": False, "output": "sub/plain"}).json()
    assert folder["export_asset_id"] is None and folder["project_export"]["format"] == "folder"
    assert (_exports_folder(api) / "sub" / "plain" / "metadata.json").is_file()

    listed = client.get("/api/projects/other/exports").json()
    ids = [e["id"] for e in listed["project_exports"]]
    assert listed["count"] == len(ids) and body["export_id"] in ids and folder["export_id"] in ids
    assert all("export_asset_id" in e for e in listed["project_exports"])
    detail = client.get(f"/api/projects/other/exports/{body['export_id']}").json()["project_export"]
    assert detail == {**record, "present": True}
    assert_error(client.get("/api/projects/other/exports/no-such-export"), 404, "not_found")
    assert_error(client.get(f"/api/projects/demo/exports/{body['export_id']}"), 404, "not_found")
    codes = [e["event_code"] for e in client.get("/api/projects/other/audit-events",
                                                 params={"code": "project.exported"}).json()["audit_events"]]
    assert codes == ["project.exported", "project.exported"]


@pytest.mark.parametrize("output", ["/tmp/escape.tar.gz", "../escape.tar.gz", "sub/../../escape.tar.gz",
                                    "~/escape.tar.gz", "..", "."])
def test_export_paths_outside_the_exports_folder_are_refused(api, client, output):
    before = set(Path(api.ws.home).rglob("escape*"))
    assert_error(client.post("/api/projects/other/exports", json={"output": output}), 400, "validation_error")
    assert set(Path(api.ws.home).rglob("escape*")) == before and not Path("/tmp/escape.tar.gz").exists()


def test_export_through_a_symlink_leading_out_is_refused(api, client, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    link = _exports_folder(api) / "link"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside, target_is_directory=True)
    assert_error(client.post("/api/projects/other/exports", json={"output": "link/x.tar.gz"}), 400,
                 "validation_error")
    assert list(outside.iterdir()) == []


def _no_secret(response) -> None:
    assert SECRET not in response.text and SECRET[:12] not in response.text


def test_secret_set_list_status_rotate_delete_never_show_the_value(api, client):
    saved = client.post("/api/projects/demo/secrets", json={"provider_code": "OpenAI", "secret_name": "api_key",
                                                            "secret_value": SECRET})
    assert saved.status_code == 200, saved.text
    _no_secret(saved)
    secret = saved.json()["secret"]
    assert (secret["provider_code"], secret["secret_name"], secret["has_value"], secret["created"]) == \
        ("openai", "api_key", True, True)
    listed = client.get("/api/projects/demo/secrets")
    _no_secret(listed)
    assert [(s["provider_code"], s["secret_name"]) for s in listed.json()["secrets"]] == [("openai", "api_key")]
    status = client.get("/api/projects/demo/secrets/rotation-status").json()["rotation_status"]
    assert (status["total"], status["encrypted"], status["plaintext"], status["empty"]) == (1, 1, 0, 0)
    old_ref = status["current_key_ref"]
    rotated = client.post("/api/projects/demo/secrets/rotate", json={}).json()["rotation"]
    assert (rotated["scanned"], rotated["rotated"], rotated["new_key"]) == (1, 1, True)
    assert rotated["key_ref"] != old_ref
    after = client.get("/api/projects/demo/secrets/rotation-status").json()["rotation_status"]
    assert after["current_key_ref"] == rotated["key_ref"] and after["key_refs"][0]["count"] == 1
    again = client.post("/api/projects/demo/secrets/rotate", json={"reencrypt_only": True}).json()["rotation"]
    assert (again["rotated"], again["skipped_current_key_ref"]) == (0, 1)

    from kroma_kit.security.secrets import secret_value

    demo_id = client.get("/api/projects/demo").json()["project"]["id"]
    assert secret_value(api.ws, demo_id, "openai", ("api_key",)) == SECRET  # usable by providers

    # Errors never echo a value: bad names, wrong types, a too-long value, malformed JSON.
    for bad in ({"provider_code": "bad code!", "secret_name": "api_key", "secret_value": SECRET},
                {"provider_code": "openai", "secret_name": "k", "secret_value": SECRET * 400},
                {"provider_code": "openai", "secret_name": "k", "secret_value": [SECRET]},
                {"provider_code": "openai", "secret_value": SECRET}):
        response = client.post("/api/projects/demo/secrets", json=bad)
        assert_error(response, 400, "validation_error")
        _no_secret(response)
    raw = client.post("/api/projects/demo/secrets", content=b'{"secret_value": "' + SECRET.encode() + b'",',
                      headers={"Content-Type": "application/json"})
    assert raw.status_code == 400
    _no_secret(raw)
    audit = client.get("/api/projects/demo/audit-events", params={"code": "secret."})
    _no_secret(audit)
    assert [e["event_code"] for e in audit.json()["audit_events"]][-1] == "secret.set"

    deleted = client.delete("/api/projects/demo/secrets/openai/api_key").json()
    assert deleted == {"ok": True, "deleted": True, "id": "openai/api_key", "provider_code": "openai",
                       "secret_name": "api_key"}
    assert client.get("/api/projects/demo/secrets").json()["count"] == 0
    assert_error(client.delete("/api/projects/demo/secrets/openai/api_key"), 404, "not_found")


def test_audit_events_filter_and_limit(client):
    client.post("/api/projects/other/secrets", json={"provider_code": "aws", "secret_name": "access_key_id",
                                                     "secret_value": "AKIAEXAMPLE"})
    everything = client.get("/api/projects/other/audit-events").json()["audit_events"]
    assert {"project.created", "secret.set"} <= {e["event_code"] for e in everything}
    only = client.get("/api/projects/other/audit-events", params={"code": "secret."}).json()
    assert only["count"] >= 1 and all(e["event_code"].startswith("secret.") for e in only["audit_events"])
    assert only["audit_events"][0]["actor"] == "local" and "provider_code=aws" in only["audit_events"][0]["summary"]
    assert client.get("/api/projects/other/audit-events", params={"limit": 1}).json()["count"] == 1
    assert client.get("/api/projects/other/audit-events", params={"code": "secret_"}).json()["count"] == 0
    assert_error(client.get("/api/projects/other/audit-events", params={"limit": 0}), 400, "validation_error")
    assert_error(client.get("/api/projects/nope/audit-events"), 404, "not_found")


def test_a_scoped_token_gets_403_on_another_project(api):
    from kroma_kit.catalog.tokens import create_token

    token = create_token(api.ws, label="demo only", project_slug="demo")["token"]
    with api.client(token) as http:
        assert http.get("/api/projects/demo/secrets").status_code == 200
        for method, path, body in (("GET", "/api/projects/other/secrets", None),
                                   ("POST", "/api/projects/other/secrets",
                                    {"provider_code": "openai", "secret_name": "api_key", "secret_value": SECRET}),
                                   ("GET", "/api/projects/other/exports", None),
                                   ("POST", "/api/projects/other/exports", {"output": "x.tar.gz"}),
                                   ("GET", "/api/projects/other/audit-events", None),
                                   ("GET", "/api/projects/other/chat/sessions", None),
                                   ("GET", "/api/projects/other/agent/instructions", None),
                                   ("POST", "/api/projects/other/storage/s3/push", {}),
                                   ("POST", "/api/projects/other/voice/tts", {"text": "hello"})):
            response = http.request(method, path, json=body)
            assert_error(response, 403, "forbidden")
            _no_secret(response)
    assert not (_exports_folder(api) / "x.tar.gz").exists()


def test_a_500_while_saving_a_secret_leaks_nothing(client, monkeypatch):
    """Even a bug whose message carries the value answers only "Internal server error"."""
    import kroma_kit.server.routes.secrets as secret_routes

    def broken(ws, slug, provider, name, value):
        raise RuntimeError(f"driver exploded while writing {value} for {provider}/{name}")

    monkeypatch.setattr(secret_routes, "set_secret", broken)
    response = client.post("/api/projects/demo/secrets", json={"provider_code": "openai", "secret_name": "api_key",
                                                               "secret_value": SECRET})
    body = assert_error(response, 500, "internal_error", kind="infra")
    assert body["error"] == "Internal server error"
    _no_secret(response)


def test_export_of_an_unknown_project_is_a_404_and_makes_no_folder(api, client):
    assert_error(client.post("/api/projects/ghost/exports", json={"output": "g.tar.gz"}), 404, "not_found")
    assert_error(client.get("/api/projects/ghost/exports"), 404, "not_found")
    assert not (Path(api.ws.home) / "exports" / "ghost").exists()
