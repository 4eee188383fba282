"""The post-run push: never raises for a sync problem, always leaves a record."""

from __future__ import annotations

import os
from pathlib import Path

from kroma_kit.catalog.projects import create_project
from kroma_kit.security.audit_view import audit_rows
from kroma_kit.sync.after_run import push_after_run
from kroma_kit.sync.history import sync_history
from kroma_kit.sync.policy import set_s3
from tests.fakes.s3_server import closed_port_url


def test_disabled_policy_and_dead_endpoint_are_recorded_not_raised(workspace, bucket, moto_s3) -> None:
    root = Path(create_project(workspace, "ep1")["root"])
    (root / "outputs" / "a.png").write_bytes(os.urandom(100))
    refused = push_after_run(workspace, "ep1", None)
    assert refused["status"] == "failed" and "S3 storage is disabled" in refused["error"]
    set_s3(workspace, "ep1", bucket=bucket, endpoint_url=closed_port_url(), enabled=True)
    down = push_after_run(workspace, "ep1", None)
    assert down["status"] == "failed" and "cannot reach the endpoint" in down["error"]
    set_s3(workspace, "ep1", endpoint_url=moto_s3.url)
    done = push_after_run(workspace, "ep1", None)
    assert done["status"] == "ok" and done["transferred"] == 1
    assert [(h["status"], h["triggered_by"]) for h in sync_history(workspace, "ep1")] == [
        ("ok", "run"), ("failed", "run"), ("failed", "run")]
    assert [e["payload"]["status"] for e in audit_rows(workspace, "ep1", code_prefix="sync.")] == ["ok", "failed", "failed"]
