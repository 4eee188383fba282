"""The knowledge route groups over a real server: style guides, characters, reference sets and
their items (CRUD each), seed 004's character images (generate answers at once with a run id and
the local run finishes; list; delete archives the file and audits it; initial prompt) and the
bootstrap prompt / import. Errors: unknown ids and projects, path tricks, another project's token."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from kroma_kit.catalog.access import reading
from kroma_kit.catalog.audit import list_events
from kroma_kit.catalog.projects import get_project
from kroma_kit.catalog.tokens import create_token
from kroma_kit.clock import utcnow
from tests.server.conftest import assert_error

DEMO = "/api/projects/demo"
OTHER = "/api/projects/other"  # the bootstrap import writes there: tests stay independent of order


def _wait_images(client: httpx.Client, code: str, count: int, kind: str | None = None) -> list[dict]:
    """Poll the images list until ``count`` images of ``kind`` are there (the run goes on in the
    background; its winners are recorded when it ends)."""
    deadline = time.monotonic() + 90
    while True:
        found = client.get(f"{DEMO}/characters/{code}/images", params={"kind": kind} if kind else None).json()
        if found["count"] >= count or time.monotonic() > deadline:
            return found["character_images"]
        time.sleep(0.1)


def _audit_codes(api) -> list[str]:
    project = get_project(api.ws, "demo")
    with reading(api.ws) as conn:
        return [event["event_code"] for event in list_events(conn, project["id"], limit=500)]


def test_style_guides_crud(api, client):
    first = client.post(f"{DEMO}/style-guides", json={"name": "ink", "description": "hard shadows",
                                                       "rules": {"palette": ["#123"], "notes": "no gradients"}})
    assert first.status_code == 200, first.text
    ink = first.json()["style_guide"]
    assert ink["is_default"] is True and ink["rules"]["palette"] == ["#112233"]  # the first guide is the default
    wash = client.post(f"{DEMO}/style-guides", json={"name": "wash", "is_default": True}).json()["style_guide"]
    guides = client.get(f"{DEMO}/style-guides").json()
    assert {"ink", "wash"} <= {g["name"] for g in guides["style_guides"]}
    assert [g["name"] for g in guides["style_guides"] if g["is_default"]] == ["wash"]
    assert client.get(f"{DEMO}/style-guides/{ink['id']}").json()["style_guide"]["name"] == "ink"
    assert client.get(f"{DEMO}/style-guides/ink").json()["style_guide"]["id"] == ink["id"]  # by name too
    updated = client.put(f"{DEMO}/style-guides/{ink['id']}", json={"rules": {"line_weight": "heavy"}}).json()
    rules = updated["style_guide"]["rules"]
    assert rules["line_weight"] == "heavy" and rules["palette"] == ["#112233"]  # merged key by key
    replaced = client.put(f"{DEMO}/style-guides/ink", json={"rules": {"notes": "x"}, "replace_rules": True}).json()
    assert replaced["style_guide"]["rules"]["palette"] == []
    assert_error(client.post(f"{DEMO}/style-guides", json={"name": "ink"}), 400, "validation_error")
    assert_error(client.post(f"{DEMO}/style-guides", json={"name": "bad", "rules": {"palette": ["red"]}}),
                 400, "validation_error")
    assert_error(client.post(f"{DEMO}/style-guides", json={"name": "bad", "rules": {"shading": 1}}),
                 400, "validation_error")
    assert_error(client.get(f"/api/projects/other/style-guides/{ink['id']}"), 404, "not_found")
    assert client.delete(f"{DEMO}/style-guides/{wash['id']}").json() == {"ok": True, "deleted": True,
                                                                         "id": wash["id"]}
    assert_error(client.get(f"{DEMO}/style-guides/{wash['id']}"), 404, "not_found")
    assert_error(client.delete(f"{DEMO}/style-guides/{wash['id']}"), 404, "not_found")
    assert "style_guide.deleted" in _audit_codes(api)


def test_characters_crud_by_id_and_code(client):
    body = {"code": "mara", "name": "Mara", "bio": "courier",
            "identity": {"hair": "short black", "signature_colors": ["#2C7A96"]}}
    created = client.post(f"{DEMO}/characters", json=body)
    assert created.status_code == 200, created.text
    mara = created.json()["character"]
    assert mara["identity"]["signature_colors"] == ["#2c7a96"] and mara["deleted_at"] is None
    assert "mara" in [c["code"] for c in client.get(f"{DEMO}/characters").json()["characters"]]
    by_id = client.get(f"{DEMO}/characters/{mara['id']}").json()
    assert by_id["character"]["code"] == "mara" and by_id["reference_set"]["name"] == "character:mara"
    assert by_id["image_counts"] == {} and by_id["best_reference"] is None
    assert client.get(f"{DEMO}/characters/mara").json()["character"]["id"] == mara["id"]
    changed = client.put(f"{DEMO}/characters/{mara['id']}", json={"bio": "night courier",
                                                                   "identity": {"eyes": "grey"}}).json()["character"]
    assert changed["bio"] == "night courier" and changed["identity"]["hair"] == "short black"
    assert changed["identity"]["eyes"] == "grey"
    assert_error(client.post(f"{DEMO}/characters", json=body), 400, "validation_error")  # duplicate code
    assert_error(client.post(f"{DEMO}/characters", json={"code": "../etc"}), 400, "validation_error")
    assert_error(client.post(f"{DEMO}/characters", json={"code": "x", "style_guide": "nope"}), 404, "not_found")
    assert_error(client.put(f"{DEMO}/characters/mara", json={"identity": {"signature_colors": ["teal"]}}),
                 400, "validation_error")
    for trick in ("..%2F..%2Fetc%2Fpasswd", "mara%00", "MARA", "%2e%2e"):
        assert_error(client.get(f"{DEMO}/characters/{trick}"), 404, "not_found")
    assert_error(client.get(f"/api/projects/other/characters/{mara['id']}"), 404, "not_found")
    assert client.delete(f"{DEMO}/characters/mara").json()["id"] == mara["id"]
    assert_error(client.get(f"{DEMO}/characters/{mara['id']}"), 404, "not_found")
    assert "mara" not in [c["code"] for c in client.get(f"{DEMO}/characters").json()["characters"]]


def test_reference_sets_and_items_crud(api, client):
    created = client.post(f"{DEMO}/reference-sets", json={"name": "harbour moods", "kind": "scene"})
    assert created.status_code == 200, created.text
    refset = created.json()["reference_set"]
    assert refset["kind"] == "scene" and refset["items"] == []
    items = f"{DEMO}/reference-sets/{refset['id']}/items"
    by_path = client.post(items, json={"path": "inputs/scenes/harbor.png", "weight": 2, "notes": "dusk"}).json()
    item = by_path["reference_item"]
    assert item["path"].endswith("inputs/scenes/harbor.png") and item["weight"] == 2 and item["sha256"]
    second = client.post(items, json={"path": "inputs/scenes/room.png"}).json()["reference_item"]
    assert second["weight"] == 1.0 and second["role"] == "reference"
    other_set = client.post(f"{DEMO}/reference-sets", json={"name": "rooms"}).json()["reference_set"]
    by_asset = client.post(f"{DEMO}/reference-sets/rooms/items", json={"asset_id": second["asset_id"]}).json()
    assert by_asset["reference_item"]["asset_id"] == second["asset_id"]  # the same asset in a second set
    assert client.get(f"{DEMO}/reference-sets/{other_set['id']}").json()["reference_set"]["items"][0]["id"] == \
        by_asset["reference_item"]["id"]
    listed = client.get(items).json()
    assert listed["count"] == 2 and listed["reference_items"][0]["id"] == item["id"]  # heaviest first
    assert client.get(f"{DEMO}/reference-sets/harbour moods").json()["reference_set"]["id"] == refset["id"]
    assert client.get(f"{DEMO}/reference-sets", params={"kind": "scene"}).json()["count"] >= 1
    assert client.get(f"{items}/{item['id']}").json()["reference_item"]["notes"] == "dusk"
    assert client.get(f"{items}/{item['asset_id']}").json()["reference_item"]["id"] == item["id"]  # by asset id
    moved = client.put(f"{items}/{item['id']}", json={"weight": 0.5, "role": "mood"}).json()["reference_item"]
    assert (moved["weight"], moved["role"], moved["notes"]) == (0.5, "mood", "dusk")
    described = client.put(f"{DEMO}/reference-sets/{refset['id']}", json={"description": "blue hour",
                                                                           "metadata_json": {"k": 1}}).json()
    assert described["reference_set"]["description"] == "blue hour" and described["reference_set"]["metadata"] == {"k": 1}
    for bad in ({"path": "../../../etc/hosts"}, {"path": "/etc/hosts"}, {},
                {"path": "inputs/scenes/harbor.png", "asset_id": item["asset_id"]}):
        response = client.post(items, json=bad)
        assert response.status_code == 400, (bad, response.text)
    assert_error(client.post(items, json={"asset_id": "no-such-asset"}), 400, "validation_error")
    assert_error(client.post(f"{DEMO}/reference-sets", json={"name": "x", "kind": "vibes"}), 400, "validation_error")
    assert client.delete(f"{items}/{item['id']}").json()["id"] == item["id"]
    assert_error(client.get(f"{items}/{item['id']}"), 404, "not_found")
    assert client.get(f"{DEMO}/assets/{item['asset_id']}").status_code == 200  # the asset stays
    assert_error(client.get(f"/api/projects/other/reference-sets/{refset['id']}/items"), 404, "not_found")
    assert client.delete(f"{DEMO}/reference-sets/{refset['id']}").json()["deleted"] is True
    assert_error(client.get(items), 404, "not_found")
    assert Path(item["path"]).is_file()


def test_generate_answers_at_once_then_the_run_finishes_and_delete_archives(api, client):
    client.post(f"{DEMO}/characters", json={"code": "kit", "name": "Kit", "identity": {"hair": "red braid"}})
    prompt = client.get(f"{DEMO}/characters/kit/initial-image-prompt").json()
    assert prompt["success"] is True and prompt["source"] == "template"
    assert "Kit" in prompt["prompt"] and "red braid" in prompt["prompt"] and "35mm lens" in prompt["prompt"]
    assert_error(client.post(f"{DEMO}/characters/kit/generate-360-set", json={"provider": "local"}),
                 400, "validation_error")  # no reference yet: refused before any run
    assert_error(client.post(f"{DEMO}/characters/kit/generate-initial-image", json={"provider": "openai"}),
                 400, "spend_confirmation_required", "policy")
    assert client.get(f"{DEMO}/characters/kit/images").json()["count"] == 0
    answer = client.post(f"{DEMO}/characters/kit/generate-initial-image",
                         json={"provider": "local", "candidates": 1, "prompt": 'Kit, "red braid", waving'})
    answered_at = utcnow()
    assert answer.status_code == 200, answer.text
    trigger = answer.json()["pipeline_trigger"]
    assert trigger["status"] == "running" and trigger["kind"] == "reference" and trigger["jobs_total"] == 1
    (image,) = _wait_images(client, "kit", 1)
    assert image["run_id"] == trigger["run_id"] and image["prompt"] == "Kit, red braid, waving"
    assert image["status"] == "succeeded" and image["provider"] == "local" and Path(image["path"]).is_file()
    run = client.get(trigger["run_url"]).json()["run"]
    assert run["status"] == "done" and run["finished_at"] > answered_at  # the answer did not wait for the run
    assert_error(client.post(f"{DEMO}/characters/kit/generate-scene-image",
                             json={"scene_context": "on a rooftop", "scene_ref": "/etc/hosts"}),
                 400, "invalid_request")  # a scene file outside the project root
    # the 360° set and a scene image from that reference, both going on at once
    portfolio = client.post(f"{DEMO}/characters/kit/generate-360-set", json={"views": ["front", "Back!"]}).json()
    scene = client.post(f"{DEMO}/characters/kit/generate-scene-image",
                        json={"scene_context": "on a rooftop at night", "scene_ref": "inputs/scenes/rooftop.png"}).json()
    assert portfolio["pipeline_trigger"]["jobs_total"] == 2 and scene["pipeline_trigger"]["kind"] == "scene"
    views = _wait_images(client, "kit", 2, kind="portfolio_item")
    (scene_image,) = _wait_images(client, "kit", 1, kind="scene")
    assert sorted(i["view"] for i in views) == ["back", "front"]
    assert all(i["parent_image_id"] == image["id"] for i in [*views, scene_image])
    assert scene_image["run_id"] == scene["pipeline_trigger"]["run_id"] and "rooftop" in scene_image["prompt"]
    detail = client.get(f"{DEMO}/characters/kit").json()
    assert detail["best_reference"]["id"] == image["id"] and len(detail["portfolio"]) == 2

    deleted = client.delete(f"{DEMO}/characters/kit/images/{image['id']}").json()
    record = deleted["character_image"]
    assert deleted["deleted"] is True and record["deleted_at"] and record["archived_path"]
    root = Path(get_project(api.ws, "demo")["root"])
    assert not Path(image["path"]).exists() and (root / record["archived_path"]).is_file()
    assert "character.image_deleted" in _audit_codes(api)
    assert_error(client.delete(f"{DEMO}/characters/kit/images/{image['id']}"), 400, "validation_error")
    live = client.get(f"{DEMO}/characters/kit/images", params={"kind": "reference"}).json()
    assert live["count"] == 0
    everything = client.get(f"{DEMO}/characters/kit/images", params={"include_deleted": True}).json()
    assert image["id"] in [i["id"] for i in everything["character_images"]]
    assert_error(client.get(f"{DEMO}/characters/kit/images/no-such-image"), 404, "not_found")
    assert_error(client.post(f"{DEMO}/characters/ghost/generate-initial-image", json={}), 404, "not_found")


def test_bootstrap_prompt_and_import(client):
    bootstrap = client.get(f"{OTHER}/bootstrap-prompt").json()["bootstrap"]
    assert bootstrap["schema_version"] == "kroma.bootstrap.v1" and bootstrap["project"]["slug"] == "other"
    assert "Return ONLY one JSON object" in bootstrap["prompt"] and "characters" in bootstrap["expected_response"]["settings"]
    answer = ('Here you go:\n```json\n{"mode": "merge", "settings": {"characters": [{"name": "Old Sailor", '
              '"description": "pipe smoker"}], "style_guides": [{"name": "sepia", "instructions": "brown tones"}]}}\n```')
    before = client.get(f"{OTHER}/characters").json()["count"]
    dry = client.post(f"{OTHER}/bootstrap-import", json={"ai_response_text": answer, "dry_run": True}).json()
    preview = dry["bootstrap_import"]
    assert preview["dry_run"] is True and preview["applied"] == {"style_guides": 1, "characters": 1}
    assert preview["changes"]["characters"]["created"] == 1
    assert client.get(f"{OTHER}/characters").json()["count"] == before  # nothing written
    done = client.post(f"{OTHER}/bootstrap-import", json={"ai_response_text": answer}).json()["bootstrap_import"]
    assert done["mode"] == "merge" and done["changes"]["characters"]["created"] == 1
    assert client.get(f"{OTHER}/characters/old_sailor").json()["character"]["bio"] == "pipe smoker"
    assert_error(client.post(f"{OTHER}/bootstrap-import", json={}), 400, "validation_error")
    assert_error(client.post(f"{OTHER}/bootstrap-import", json={"settings": {}, "mode": "wipe"}), 400, "invalid_mode")
    assert_error(client.post(f"{OTHER}/bootstrap-import", json={"ai_response_text": "no json here"}),
                 400, "validation_error")
    assert_error(client.post(f"{OTHER}/bootstrap-import", json={"settings": {"project": {"name": ["x"]}}}),
                 400, "validation_error")


GROUP_PATHS = ("style-guides", "characters", "reference-sets", "characters/anyone/images",
               "characters/anyone/initial-image-prompt", "bootstrap-prompt")


@pytest.mark.parametrize("path", GROUP_PATHS)
def test_scope_unknown_project_and_slug_tricks(api, client, path):
    scoped = create_token(api.ws, label=f"other only {path}", project_slug="other")["token"]
    with api.client(scoped) as other_only:
        assert_error(other_only.get(f"{DEMO}/{path}"), 403, "forbidden")
    with api.client("") as anonymous:
        assert_error(anonymous.get(f"{DEMO}/{path}"), 401, "unauthorized")
    assert_error(client.get(f"/api/projects/no-such-book/{path}"), 404, "not_found")
    assert_error(client.get(f"/api/projects/Bad..Slug/{path}"), 400, "invalid_project_slug")
