"""StoragePanel: the same policy, push and pull as the CLI, from buttons, against moto."""

from __future__ import annotations

import os
from pathlib import Path

from kroma_kit.catalog.projects import create_project
from kroma_kit.security.secrets import set_secret
from kroma_kit.widgets import StoragePanel


def test_panel_saves_the_policy_pushes_and_shows_history(workspace, bucket, moto_s3, monkeypatch) -> None:
    monkeypatch.delenv("KROMA_MASTER_KEY", raising=False)
    root = Path(create_project(workspace, "ep1")["root"])
    for i in range(3):
        (root / "outputs" / f"p{i}.png").write_bytes(os.urandom(3000))
    set_secret(workspace, "ep1", "openai", "api_key", "sk-panel-secret-value")
    panel = StoragePanel(workspace, project="ep1")
    panel.push_button.click()
    assert "S3 storage is disabled" in panel.status.value  # shown inline, not lost
    panel.bucket.value, panel.prefix.value, panel.endpoint.value = bucket, "team", moto_s3.url
    panel.enabled.value = True
    panel.save_button.click()
    assert f"s3://{bucket}/team/ep1/" in panel.policy.value
    panel.dry_button.click()
    assert panel.wait().dry_run and "moved 3" in panel.summary.value
    panel.push_button.click()
    report = panel.wait()
    assert report.transferred == 3 and panel.progress.value == panel.progress.max == 9000
    assert panel.progress.bar_style == "success" and "push" in panel.history.value
    assert "api_key" in panel.secrets.value and "sk-panel-secret-value" not in panel.secrets.value
    (root / "outputs" / "p0.png").write_bytes(b"local change")
    panel.pull()
    pulled = panel.wait()
    assert pulled.transferred == 1 and pulled.archived == 1
