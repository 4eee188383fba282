"""S3 faults: endpoint down, a 500 on one object, an interrupted push; plus credentials from the
project's secrets and the CLI's answers. Each ends with a clear error and a push that completes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kroma_kit.errors import StorageError
from kroma_kit.security.secrets import set_secret
from kroma_kit.storage.s3 import TransferSettings
from kroma_kit.sync.history import sync_history
from kroma_kit.sync.push import push_project
from tests.conftest import cli_env
from tests.fakes.s3_server import closed_port_url
from tests.sync.test_push_pull import keys, make_project, tree

ONE_TRY = TransferSettings(max_attempts=1, connect_timeout_s=1)


def test_endpoint_down_is_a_clear_error_and_is_recorded(workspace, bucket) -> None:
    root = make_project(workspace, closed_port_url(), bucket)
    before = tree(root)
    with pytest.raises(StorageError, match="cannot reach the endpoint http://127.0.0.1:") as caught:
        push_project(workspace, "ep1", settings=ONE_TRY)
    assert "nothing local was changed" in str(caught.value)
    assert tree(root) == before
    [failed] = sync_history(workspace, "ep1")
    assert failed["status"] == "failed" and "cannot reach" in failed["error"]


def test_a_500_on_one_object_fails_that_file_only_and_the_next_push_completes(workspace, bucket, proxy,
                                                                               s3_client) -> None:
    make_project(workspace, proxy.url, bucket)
    proxy.fail_keys.add("outputs/img03.png")
    first = push_project(workspace, "ep1", settings=ONE_TRY)
    assert list(first.failed) == ["outputs/img03.png"] and first.transferred == 6
    assert "InternalError" in first.failed["outputs/img03.png"]
    assert first.status == "partial" and sync_history(workspace, "ep1")[0]["status"] == "partial"
    proxy.fail_keys.clear()
    second = push_project(workspace, "ep1", settings=ONE_TRY)
    assert (second.transferred, second.unchanged, second.failed) == (1, 6, {})
    assert len(keys(s3_client, bucket)) == 7


def test_an_interrupted_push_resumes_where_it_stopped(workspace, bucket, moto_s3) -> None:
    root = make_project(workspace, moto_s3.url, bucket)
    before = tree(root)
    done: list[str] = []

    def stop_after_three(rel: str) -> None:
        done.append(rel)
        if len(done) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        push_project(workspace, "ep1", after_file=stop_after_three)
    assert sync_history(workspace, "ep1")[0]["error"] == "interrupted"
    resumed = push_project(workspace, "ep1")
    # Uploads run in parallel: some may have landed after the interrupt without being recorded;
    # they are recognised by their sha256 metadata (verified), never sent twice.
    assert resumed.unchanged == 3 and resumed.transferred + resumed.verified == 4 and not resumed.failed
    assert tree(root) == before


def test_credentials_from_project_secrets_and_never_in_output(workspace, bucket, moto_s3, monkeypatch) -> None:
    make_project(workspace, moto_s3.url, bucket)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(StorageError, match="no AWS credentials"):
        push_project(workspace, "ep1", settings=ONE_TRY)
    set_secret(workspace, "ep1", "aws", "access_key_id", "AKIAPROJECTKEY0001")
    set_secret(workspace, "ep1", "aws", "secret_access_key", "project-secret-access-key-xyz")
    report = push_project(workspace, "ep1", settings=ONE_TRY)
    assert report.transferred == 7
    assert "project-secret-access-key-xyz" not in json.dumps(report.to_dict())
    for row in sync_history(workspace, "ep1"):
        assert "project-secret" not in json.dumps(row)


def kroma(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kroma_kit", *args], capture_output=True, text=True,
                          env=cli_env(home), timeout=120)


def test_cli_storage_and_sync_json(kroma_home: Path, bucket, proxy, s3_client) -> None:
    assert kroma(kroma_home, "project", "create", "--slug", "ep1").returncode == 0
    root = kroma_home / "projects" / "ep1"
    (root / "outputs" / "a.png").write_bytes(b"a" * 100)
    (root / "outputs" / "b.png").write_bytes(b"b" * 200)
    shown = json.loads(kroma(kroma_home, "storage", "set-s3", "--project", "ep1", "--bucket", bucket, "--prefix",
                             "team", "--endpoint-url", proxy.url, "--enabled", "true", "--json").stdout)
    assert shown["destination"] == f"s3://{bucket}/team/ep1/" and shown["s3_enabled"] is True
    dry = json.loads(kroma(kroma_home, "sync", "push", "--project", "ep1", "--dry-run", "--json").stdout)
    local_files = sorted(tree(root))  # what `project create` wrote (e.g. a starter manifest) plus ours
    assert sorted(dry["planned"]["upload"]) == local_files and keys(s3_client, bucket) == {}
    assert {"outputs/a.png", "outputs/b.png"} <= set(local_files)
    proxy.fail_keys.add("outputs/b.png")
    failing = kroma(kroma_home, "sync", "push", "--project", "ep1", "--json")
    assert failing.returncode != 0
    assert json.loads(failing.stdout)["failed"].keys() == {"outputs/b.png"}
    assert failing.stderr.strip().splitlines()[-1].startswith(f"error: 1 of {len(local_files)} file(s) failed to push")
    proxy.fail_keys.clear()
    text = kroma(kroma_home, "sync", "push", "--project", "ep1")
    assert text.returncode == 0 and "uploaded 1 (200 B)" in text.stdout
    audit = json.loads(kroma(kroma_home, "audit", "list", "--project", "ep1", "--code", "sync.", "--json").stdout)
    assert [e["payload"]["transferred"] for e in audit] == [1, len(local_files) - 1]  # the retry, the first push
    assert hashlib.sha256((root / "outputs" / "b.png").read_bytes()).hexdigest() == s3_client.head_object(
        Bucket=bucket, Key="team/ep1/outputs/b.png")["Metadata"]["sha256"]


def test_a_missing_bucket_says_so(workspace, bucket, moto_s3) -> None:
    make_project(workspace, moto_s3.url, "no-such-bucket-here")
    with pytest.raises(StorageError, match=r"NoSuchBucket.*create the bucket or fix --bucket"):
        push_project(workspace, "ep1", settings=ONE_TRY)
