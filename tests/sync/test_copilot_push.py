"""A push asked for in the copilot chat runs the same incremental S3 push as ``kroma sync push``:
confirmed, executed by the worker, recorded in the sync history with the copilot as its trigger."""

from __future__ import annotations

import json
import os
from pathlib import Path

from kroma_kit.catalog.projects import create_project
from kroma_kit.cli.main import main
from kroma_kit.sync.history import sync_history
from kroma_kit.sync.policy import set_s3


def _json(capsys, argv: list[str]):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_push_from_the_chat_uploads_and_is_recorded(workspace, bucket, moto_s3, s3_client, capsys) -> None:
    root = Path(create_project(workspace, "ep1")["root"])
    (root / "outputs" / "a.png").write_bytes(os.urandom(300))
    set_s3(workspace, "ep1", bucket=bucket, endpoint_url=moto_s3.url, enabled=True)
    card = _json(capsys, ["chat", "send", "--project", "ep1", "--json", "push", "the", "project"])["instruction"]
    assert (card["type"], card["action"], card["status"]) == ("storage_sync", "sync_push", "draft")
    assert main(["instructions", "confirm", "--project", "ep1", card["id"]]) == 0
    capsys.readouterr()
    stats = _json(capsys, ["worker", "--once", "--project", "ep1", "--json"])
    shown = _json(capsys, ["instructions", "show", "--project", "ep1", card["id"], "--json"])
    assert stats["done"] == 1, shown.get("last_error")
    assert shown["result"]["transferred"] >= 1 and shown["result"]["failed"] == {}
    keys = [item["Key"] for item in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any(key.endswith("ep1/outputs/a.png") for key in keys), keys
    assert [(h["status"], h["triggered_by"]) for h in sync_history(workspace, "ep1")] == [("ok", "copilot")]
