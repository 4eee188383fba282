"""S3 sync over the API against moto's S3 on 127.0.0.1: a push or pull answers at once with the
``storage_sync`` instruction that carries it, the worker runs it (the same incremental push and
verified pull as ``kroma sync``), and the instruction, its events and ``s3/status`` show the
result; a project without S3 is refused before anything is queued."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.fakes.s3_server import MotoS3
from tests.server.conftest import assert_error


@pytest.fixture(scope="module")
def moto():
    with MotoS3() as server:
        yield server


@pytest.fixture
def aws_env(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def _drain(api) -> None:
    from kroma_kit.copilot.worker import WorkerOptions, run_worker

    run_worker(api.ws, WorkerOptions(drain=True, project="demo", poll_interval_s=0.1))


def _finished(api, client, started: dict) -> dict:
    assert started["instruction"]["status"] == "queued" and started["instruction"]["instruction_type"] == \
        "storage_sync"
    _drain(api)
    item = client.get(started["instruction_url"]).json()["instruction"]
    assert item["status"] == "done", item["last_error"]
    return item


def test_push_status_and_pull_through_the_worker(api, client, moto, aws_env):
    import boto3

    bucket = f"kroma-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    assert_error(client.post("/api/projects/demo/storage/s3/push", json={}), 400, "invalid_request")
    policy = client.put("/api/projects/demo/storage/s3", json={"enabled": True, "bucket": bucket,
                                                               "endpoint_url": moto.url, "prefix": "books"})
    assert policy.status_code == 200, policy.text

    started = client.post("/api/projects/demo/storage/s3/push", json={}).json()
    assert started["instruction_url"] == f"/api/projects/demo/agent/instructions/{started['instruction']['id']}"
    pending = client.get("/api/projects/demo/storage/s3/status").json()["sync"]
    assert started["instruction"]["id"] in [card["id"] for card in pending["pending"]]
    assert pending["policy"]["destination"] == f"s3://{bucket}/books/demo/"
    pushed = _finished(api, client, started)
    assert pushed["result"]["transferred"] >= 1 and pushed["result"]["failed"] == {}
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert len(keys) == pushed["result"]["transferred"] and all(k.startswith("books/demo/") for k in keys)
    events = client.get(f"{started['instruction_url']}/events").json()["events"]
    assert events[-1]["status_to"] == "done"

    status = client.get("/api/projects/demo/storage/s3/status").json()["sync"]
    assert status["pending"] == []
    latest = status["history"][0]
    assert (latest["direction"], latest["status"], latest["triggered_by"]) == ("push", "ok", "api")
    assert latest["id"] == pushed["result"]["sync_id"]

    again = _finished(api, client, client.post("/api/projects/demo/storage/s3/push", json={"dry_run": True}).json())
    assert again["result"]["dry_run"] is True and again["result"]["planned"]["upload"] == []

    root = Path(client.get("/api/projects/demo").json()["project"]["root"])
    victim = root / keys[0].removeprefix("books/demo/")
    original = victim.read_bytes()
    victim.unlink()
    pulled = _finished(api, client, client.post("/api/projects/demo/storage/s3/pull", json={}).json())
    assert pulled["result"]["transferred"] == 1 and victim.read_bytes() == original
    history = client.get("/api/projects/demo/storage/s3/status", params={"limit": 5}).json()["sync"]["history"]
    assert [h["direction"] for h in history[:2]] == ["pull", "push"]
    audit = client.get("/api/projects/demo/audit-events", params={"code": "sync."}).json()["audit_events"]
    assert [e["event_code"] for e in audit[:2]] == ["sync.pull", "sync.push"]


def test_sync_of_a_project_without_s3_is_refused_and_nothing_is_queued(client):
    before = client.get("/api/projects/other/agent/instructions").json()["count"]
    assert_error(client.post("/api/projects/other/storage/s3/pull", json={}), 400, "invalid_request")
    assert_error(client.post("/api/projects/other/storage/s3/push", json={"dry_run": "maybe"}), 400,
                 "validation_error")
    assert client.get("/api/projects/other/agent/instructions").json()["count"] == before
    assert client.get("/api/projects/other/storage/s3/status").json()["sync"]["history"] == []
    assert_error(client.get("/api/projects/nope/storage/s3/status"), 404, "not_found")
