"""Standalone post-processing pays through the same spend guard as runs: a paid step past the
project's budget is refused before the call, and a paid step is booked as one cost event."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from kroma_kit.catalog.projects import create_project
from kroma_kit.postprocess.batch import process_files
from tests.fakes.bg_api_servers import FakeBgApi


def _project(workspace, fake_url: str, budget: float):
    project = create_project(workspace, "shop", "Shop")
    root = Path(project["root"])
    (root / "manifest.json").write_text("{}")
    (root / ".kroma").mkdir(parents=True, exist_ok=True)
    (root / ".kroma" / "pipeline.settings.toml").write_text(
        f'[pipeline]\npostprocess_config_path = "post.json"\n[budgets]\nper_project_usd = {budget}\n')
    (root / "post.json").write_text(json.dumps({"bg_remove": {"photoroom": {
        "endpoint": fake_url, "api_key_env": "PHOTOROOM_API_KEY", "usd_per_image": 0.02}}}))
    picture = root / "inputs" / "bottle.png"
    picture.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (48, 32), (250, 250, 250)).save(picture)
    (Image.new("RGB", (48, 32), (250, 250, 250))).save(root / "inputs" / "cup.png")
    return project, root


def _cost_rows(workspace):
    conn = workspace.connect()
    try:
        return [dict(r) for r in conn.execute("SELECT provider_code, operation_code, cost_usd, run_id FROM cost_events")]
    finally:
        conn.close()


def test_paid_steps_are_booked_and_stop_at_the_project_budget(workspace, monkeypatch):
    monkeypatch.setenv("PHOTOROOM_API_KEY", "test-key")
    with FakeBgApi("photoroom", api_key="test-key") as fake:
        project, root = _project(workspace, fake.url, budget=0.03)
        result = process_files(workspace, "shop", "bg_remove", root / "inputs", bg_backends=["photoroom"],
                               confirm_spend=True)
    assert len(result.processed) == 1 and len(result.failed) == 1  # 0.02 fits, a second 0.02 would not
    assert "per-project budget $0.03" in result.failed[0]["error"]
    assert _cost_rows(workspace) == [{"provider_code": "photoroom", "operation_code": "bg_remove",
                                      "cost_usd": 0.02, "run_id": None}]
