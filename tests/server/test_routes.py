"""Every route group of the API over a real server: projects, storage, runs (dry trigger, detail,
jobs, validate-config), assets and links, reports, prompt templates, provider accounts; error
envelopes and path tricks."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import assert_error


@pytest.fixture(scope="module")
def dry_run_id(api) -> str:
    with api.client() as http:
        response = http.post("/api/projects/demo/runs/trigger", json={"mode": "DRY", "stage": "Style"})
    assert response.status_code == 200, response.text
    trigger = response.json()["pipeline_trigger"]
    assert trigger["mode"] == "dry" and trigger["status"] == "planned" and trigger["jobs_total"] == 4
    return trigger["run_id"]


def test_projects_list_upsert_and_detail(client):
    assert {p["slug"] for p in client.get("/api/projects").json()["projects"]} >= {"demo", "other"}
    created = client.post("/api/projects", json={"name": "Third Book"}).json()
    assert created["created"] is True and created["project"]["slug"] == "third-book"
    again = client.post("/api/projects", json={"name": "Third Book II", "slug": "third-book",
                                                "description": "sequel"}).json()
    assert again["created"] is False and again["project"]["name"] == "Third Book II"
    detail = client.get("/api/projects/third-book").json()
    assert detail["counts"] == {"runs": 0, "jobs": 0, "assets": 0}
    assert detail["project"]["description"] == "sequel"
    assert Path(detail["storage"]["resolved_root"]).is_dir()
    assert_error(client.get("/api/projects/no-such-book"), 404, "not_found")
    assert_error(client.post("/api/projects", json={}), 400, "validation_error")
    assert_error(client.post("/api/projects", json={"name": "X", "slug": "../x"}), 400, "validation_error")
    assert_error(client.post("/api/projects", content=b"{not json", headers={"Content-Type": "application/json"}),
                 400, "validation_error")


def test_storage_policy_local_and_s3(client, tmp_path):
    storage = client.get("/api/projects/other/storage").json()["storage"]
    assert storage["s3_enabled"] is False and storage["local_base_dir"] == "projects"
    assert_error(client.put("/api/projects/other/storage/local", json={}), 400, "validation_error")
    assert_error(client.put("/api/projects/other/storage/local", json={"base_dir": "../../etc"}),
                 400, "validation_error")
    assert_error(client.put("/api/projects/other/storage/local", json={"project_root": "relative/root"}),
                 400, "validation_error")
    moved = client.put("/api/projects/other/storage/local", json={"project_root": str(tmp_path / "other-root")})
    assert moved.json()["storage"]["resolved_root"] == str(tmp_path / "other-root")
    assert (tmp_path / "other-root" / "outputs").is_dir()
    s3 = client.put("/api/projects/other/storage/s3", json={"enabled": True, "bucket": "my-books",
                                                             "prefix": "/comics/"}).json()["storage"]
    assert (s3["s3_enabled"], s3["s3_bucket"], s3["s3_prefix"]) == (True, "my-books", "comics")
    assert client.put("/api/projects/other/storage/s3", json={"region": "eu-west-1"}).json()["storage"][
        "s3_bucket"] == "my-books"
    assert_error(client.put("/api/projects/other/storage/s3", json={"bucket": "Bad_Bucket!"}), 400,
                 "validation_error")


def test_dry_trigger_then_runs_detail_and_jobs(client, dry_run_id):
    runs = client.get("/api/projects/demo/runs", params={"limit": 5}).json()
    assert dry_run_id in [run["id"] for run in runs["runs"]]
    detail = client.get(f"/api/projects/demo/runs/{dry_run_id}").json()
    assert detail["run"]["status"] == "planned" and detail["run"]["run_mode"] == "dry"
    assert len(detail["jobs"]) == 4 and all(job["candidates"] for job in detail["jobs"])
    jobs = client.get(f"/api/projects/demo/runs/{dry_run_id}/jobs").json()
    assert jobs["count"] == 4 and {j["job_key"] for j in jobs["jobs"]} == {j["job_key"] for j in detail["jobs"]}
    assert_error(client.get(f"/api/projects/other/runs/{dry_run_id}"), 404, "not_found")
    assert_error(client.get(f"/api/projects/demo/runs/{dry_run_id[:8]}"), 404, "not_found")
    assert_error(client.get("/api/projects/demo/runs", params={"limit": 0}), 400, "validation_error")
    assert client.get("/api/projects/demo").json()["counts"]["runs"] >= 1


@pytest.mark.parametrize("body,status,code,kind", [
    ({"input": "inputs/scenes/a.png", "scene_refs": ["inputs/scenes/a.png"]}, 400, "validation_error", "validation"),
    ({"scene_refs": []}, 400, "validation_error", "validation"),
    ({"scene_refs": [""]}, 400, "validation_error", "validation"),
    ({"style_refs": []}, 400, "validation_error", "validation"),
    ({"scene_refs": ["../../../../etc/hosts"]}, 400, "invalid_request", "validation"),
    ({"input": "/etc/hosts"}, 400, "invalid_request", "validation"),
    ({"project_root": "/tmp"}, 400, "project_root_managed", "validation"),
    ({"mode": "fly"}, 400, "invalid_mode", "validation"),
    ({"stage": "sketch"}, 400, "validation_error", "validation"),
    ({"mode": "run", "provider": "openai"}, 400, "spend_confirmation_required", "policy"),
    ({"mode": "run", "provider": "nosuch"}, 404, "not_found", "validation"),
    ({"mode": "run", "candidates": 7}, 400, "planning_preflight_failed", "validation"),
])
def test_trigger_refusals_write_nothing(client, body, status, code, kind):
    before = client.get("/api/projects/demo").json()["counts"]["runs"]
    assert_error(client.post("/api/projects/demo/runs/trigger", json=body), status, code, kind)
    assert client.get("/api/projects/demo").json()["counts"]["runs"] == before


def test_validate_config(client, api):
    valid = client.post("/api/projects/demo/runs/validate-config", json={}).json()["validation"]
    assert valid["valid"] is True and valid["scenes"] == 4
    root = Path(client.get("/api/projects/demo").json()["project"]["root"])
    (root / "draft.manifest.json").write_text(json.dumps({"scene_refs": ["inputs/scenes/missing.png"]}))
    broken = client.post("/api/projects/demo/runs/validate-config", json={"manifest_path": "draft.manifest.json"})
    assert "missing.png" in assert_error(broken, 400, "config_validation_failed")["error"]
    assert_error(client.post("/api/projects/demo/runs/validate-config", json={"manifest_path": "nope.json"}),
                 400, "config_validation_failed")
    escape = client.post("/api/projects/demo/runs/validate-config", json={"manifest_path": "../../../../etc/passwd"})
    assert_error(escape, 400, "invalid_request")


def test_assets_and_asset_links(client, dry_run_id):
    assets = client.get("/api/projects/demo/assets").json()["assets"]
    assert len(assets) >= 2
    parent, child = assets[0]["id"], assets[1]["id"]
    assert client.get(f"/api/projects/demo/assets/{parent}").json()["asset"]["id"] == parent
    assert_error(client.get(f"/api/projects/other/assets/{parent}"), 404, "not_found")
    assert_error(client.get("/api/projects/demo/assets", params={"kind": "nope"}), 400, "validation_error")

    link = client.post("/api/projects/demo/asset-links", json={"parent_asset_id": parent, "child_asset_id": child})
    link_id = link.json()["asset_link"]["id"]
    assert link.json()["asset_link"]["link_type"] == "derived_from"
    again = client.post("/api/projects/demo/asset-links", json={"parent_asset_id": parent, "child_asset_id": child})
    assert again.json()["asset_link"]["id"] == link_id
    changed = client.put(f"/api/projects/demo/asset-links/{link_id}",
                         json={"parent_asset_id": parent, "child_asset_id": child, "link_type": "variant_of"})
    assert changed.json()["asset_link"]["link_type"] == "variant_of"
    listed = client.get("/api/projects/demo/asset-links", params={"asset_id": child}).json()
    assert link_id in [entry["id"] for entry in listed["asset_links"]]
    detail = client.get(f"/api/projects/demo/assets/{child}").json()["asset"]
    assert {"link_id": link_id, "asset_id": parent, "link_type": "variant_of"} in detail["parents"]
    assert_error(client.post("/api/projects/demo/asset-links", json={"parent_asset_id": parent,
                                                                     "child_asset_id": parent}), 400, "validation_error")
    assert_error(client.post("/api/projects/demo/asset-links", json={"parent_asset_id": parent,
                                                                     "child_asset_id": child, "link_type": "x"}),
                 400, "validation_error")
    assert_error(client.post("/api/projects/other/asset-links", json={"parent_asset_id": parent,
                                                                      "child_asset_id": child}), 404, "not_found")
    deleted = client.delete(f"/api/projects/demo/asset-links/{link_id}").json()
    assert deleted == {"ok": True, "deleted": True, "id": link_id}
    assert_error(client.get(f"/api/projects/demo/asset-links/{link_id}"), 404, "not_found")


def test_reports_and_audit(client, dry_run_id):
    reports = client.get("/api/projects/demo/quality-reports").json()
    assert reports["ok"] is True and reports["count"] == len(reports["quality_reports"])
    costs = client.get("/api/projects/demo/cost-events", params={"run_id": dry_run_id}).json()
    assert costs["count"] == 0  # a dry run pays nothing
    audit = client.get("/api/projects/demo/audit-events", params={"limit": 500}).json()["audit_events"]
    assert {"project.created", "run.ingested"} <= {event["event_code"] for event in audit}
    assert_error(client.get("/api/projects/demo/audit-events", params={"limit": "many"}), 400, "validation_error")


def test_prompt_templates_publish_versions(client):
    root = Path(client.get("/api/projects/demo").json()["project"]["root"])
    first = client.post("/api/projects/demo/prompt-templates",
                        json={"name": "weather_rain", "template_text": "thin diagonal rain"}).json()["prompt_template"]
    assert first["is_active"] and first["stage"] == "weather"
    second = client.put(f"/api/projects/demo/prompt-templates/{first['id']}",
                        json={"template_text": "heavy rain, wet ink"}).json()["prompt_template"]
    assert second["version"] == first["version"] + 1 and second["id"] != first["id"]
    assert json.loads((root / "manifest.json").read_text())["prompts"]["weather_rain"] == "heavy rain, wet ink"
    active = client.get("/api/projects/demo/prompt-templates", params={"name": "weather_rain"}).json()
    assert [t["id"] for t in active["prompt_templates"]] == [second["id"]]
    history = client.get("/api/projects/demo/prompt-templates",
                         params={"name": "weather_rain", "include_history": True}).json()
    assert [t["is_active"] for t in history["prompt_templates"]][:2] == [True, False]
    assert_error(client.delete(f"/api/projects/demo/prompt-templates/{second['id']}"), 400, "validation_error")
    assert client.delete(f"/api/projects/demo/prompt-templates/{first['id']}").json()["deleted"] is True
    assert_error(client.get(f"/api/projects/demo/prompt-templates/{first['id']}"), 404, "not_found")
    assert_error(client.post("/api/projects/demo/prompt-templates", json={"name": "nostage", "template_text": "x"}),
                 400, "validation_error")


def test_provider_accounts_crud(client):
    body = {"provider_code": "openai", "display_name": "Studio OpenAI", "base_url": "https://gw.example/v1",
            "config_json": {"model": "gpt-image-1"}}
    created = client.post("/api/projects/demo/provider-accounts", json=body).json()
    assert created["created"] is True and created["provider_account"]["display_name"] == "Studio OpenAI"
    assert created["provider_account"]["config_json"] == {"model": "gpt-image-1"}
    assert client.post("/api/projects/demo/provider-accounts", json=body).json()["created"] is False
    updated = client.put("/api/projects/demo/provider-accounts/openai", json={"enabled": False}).json()
    assert updated["provider_account"]["enabled"] is False
    assert updated["provider_account"]["base_url"] == "https://gw.example/v1"
    listed = client.get("/api/projects/demo/provider-accounts").json()
    assert [a["provider_code"] for a in listed["provider_accounts"]] == ["openai"]
    assert_error(client.post("/api/projects/demo/provider-accounts",
                             json={"provider_code": "openai", "config_json": {"api_key": "sk-live"}}),
                 400, "validation_error")
    assert_error(client.post("/api/projects/demo/provider-accounts", json={"provider_code": "Open AI"}),
                 400, "validation_error")
    assert client.delete("/api/projects/demo/provider-accounts/openai").json()["deleted"] is True
    assert_error(client.get("/api/projects/demo/provider-accounts/openai"), 404, "not_found")


@pytest.mark.parametrize("raw_path", [
    "/api/projects/%2e%2e/runs", "/api/projects/..%2F..%2Fetc/runs", "/api/projects/Demo/runs",
    "/api/projects/.hidden/assets", "/api/projects/demo%00/runs", "/api/projects/" + "a" * 65,
    "/api/projects/demo%2F..%2Fother/storage", "/api/projects/%20demo/runs", "/api/projects/d%C3%A9mo",
])
def test_path_tricks_in_slugs_are_refused(api, raw_path):
    scoped_token = None
    from kroma_kit.catalog.tokens import create_token

    scoped_token = create_token(api.ws, label="scoped", project_slug="demo")["token"]
    for token in (api.token, scoped_token):
        response = httpx.get(api.base + raw_path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code in (400, 403, 404), (raw_path, response.text)
        code = response.json()["error_code"]
        assert code in ("invalid_project_slug", "not_found", "forbidden"), (raw_path, response.text)


def test_unknown_routes_and_methods_answer_envelopes(client):
    assert_error(client.get("/api/nothing-here"), 404, "not_found")
    assert_error(client.patch("/api/projects/demo"), 405, "invalid_request")


def test_internal_errors_never_leak(api):
    from kroma_kit.server.app import create_app
    from kroma_kit.server.config import ServerConfig
    from tests.server.live import serve_app

    app = create_app(ServerConfig(ws=api.ws))

    def explode() -> dict:
        raise RuntimeError("connection to postgres://admin:sk-secret-123@db failed at /srv/kroma/secret.py")

    app.add_api_route("/explode", explode)
    with serve_app(app) as base:
        response = httpx.get(f"{base}/explode")
    assert response.status_code == 500
    assert response.json() == {"ok": False, "error": "Internal server error", "error_kind": "infra",
                               "error_code": "internal_error"}
    assert "sk-secret" not in response.text and "Traceback" not in response.text
