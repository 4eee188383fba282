"""S3 push and pull against moto over HTTP: incremental, one LIST when nothing changed, scoped
deletes, dry runs that touch nothing, verified restores that archive instead of overwriting."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from kroma_kit.catalog import open_workspace
from kroma_kit.catalog.projects import create_project
from kroma_kit.errors import StorageError
from kroma_kit.storage.s3 import MIB, TransferSettings
from kroma_kit.sync.history import sync_history
from kroma_kit.sync.policy import set_s3, show_policy
from kroma_kit.sync.pull import pull_project
from kroma_kit.sync.push import push_project


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


def make_project(ws, endpoint: str, bucket: str, slug: str = "ep1", files: int = 6) -> Path:
    project = create_project(ws, slug)
    root = Path(project["root"])
    for i in range(files):
        (root / "outputs" / f"img{i:02d}.png").write_bytes(os.urandom(1000 + i))
    (root / "runs" / "r1.json").write_text('{"run": 1}')
    (root / ".kroma" / "thumbnails").mkdir(parents=True, exist_ok=True)
    (root / ".kroma" / "thumbnails" / "cache.jpg").write_bytes(b"cache")
    set_s3(ws, slug, bucket=bucket, prefix="studio/", endpoint_url=endpoint, enabled=True)
    return root


def keys(client, bucket: str) -> dict[str, int]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}


def test_push_is_incremental_and_an_unchanged_project_costs_one_list(workspace, bucket, proxy, s3_client) -> None:
    root = make_project(workspace, proxy.url, bucket)
    assert show_policy(workspace, "ep1")["destination"] == f"s3://{bucket}/studio/ep1/"
    first = push_project(workspace, "ep1")
    assert (first.transferred, first.failed, first.files_total) == (7, {}, 7)  # thumbnails stay home
    stored = keys(s3_client, bucket)
    assert set(stored) == {f"studio/ep1/outputs/img{i:02d}.png" for i in range(6)} | {"studio/ep1/runs/r1.json"}
    head = s3_client.head_object(Bucket=bucket, Key="studio/ep1/runs/r1.json")
    assert head["Metadata"]["sha256"] == sha(root / "runs" / "r1.json")

    proxy.reset_counts()
    second = push_project(workspace, "ep1")
    assert (second.transferred, second.bytes_transferred, second.unchanged) == (0, 0, 7)
    assert dict(proxy.calls) == {"GET": 1}, proxy.paths  # one LIST, no HEAD, no PUT

    (root / "outputs" / "img00.png").write_bytes(b"changed")
    (root / "outputs" / "new.png").write_bytes(b"new file")
    (root / "outputs" / "img05.png").unlink()
    s3_client.put_object(Bucket=bucket, Key="studio/ep10/keep.png", Body=b"other project")
    s3_client.put_object(Bucket=bucket, Key="studio/outside.txt", Body=b"not ours")
    third = push_project(workspace, "ep1", delete=True)
    assert (third.transferred, third.deleted, third.unchanged) == (2, 1, 5)
    after = keys(s3_client, bucket)
    assert "studio/ep1/outputs/img05.png" not in after
    assert {"studio/ep10/keep.png", "studio/outside.txt"} <= set(after)
    assert after["studio/ep1/outputs/img00.png"] == len(b"changed")
    history = sync_history(workspace, "ep1")
    assert [h["status"] for h in history] == ["ok", "ok", "ok"]
    assert history[0]["summary"]["deleted"] == 1


def test_dry_run_reads_but_writes_nothing(workspace, bucket, moto_s3, s3_client) -> None:
    make_project(workspace, moto_s3.url, bucket)
    plan = push_project(workspace, "ep1", dry_run=True)
    assert len(plan.planned["upload"]) == 7 and plan.transferred == 0
    assert keys(s3_client, bucket) == {}
    assert sync_history(workspace, "ep1") == []


def test_known_objects_without_state_are_verified_by_metadata_not_reuploaded(workspace, bucket, moto_s3,
                                                                              proxy) -> None:
    make_project(workspace, moto_s3.url, bucket)
    push_project(workspace, "ep1")
    set_s3(workspace, "ep1", endpoint_url=proxy.url)  # another endpoint string: the state does not apply
    proxy.reset_counts()
    again = push_project(workspace, "ep1")
    assert (again.transferred, again.verified) == (0, 7)
    assert proxy.calls["PUT"] == 0 and proxy.calls["HEAD"] == 7


def test_pull_restores_a_project_on_a_new_machine_and_archives_differing_files(
        workspace, bucket, moto_s3, s3_client, tmp_path, monkeypatch) -> None:
    root = make_project(workspace, moto_s3.url, bucket)
    push_project(workspace, "ep1")
    original = {k: v for k, v in tree(root).items() if not k.startswith(".kroma/")}

    other = open_workspace(tmp_path / "machine-2")
    new_root = make_project(other, moto_s3.url, bucket, files=0)
    (new_root / "outputs" / "img01.png").write_bytes(b"a local edit that differs")
    pulled = pull_project(other, "ep1")
    # runs/r1.json is already there with the same content: verified by sha256, not downloaded
    assert (pulled.transferred, pulled.verified, pulled.archived, pulled.failed) == (6, 1, 1, {})
    restored = {k: v for k, v in tree(new_root).items() if not k.startswith((".kroma/", "archive/"))}
    assert restored == original
    archived = list((new_root / "archive" / "replaced").iterdir())
    assert [p.read_bytes() for p in archived] == [b"a local edit that differs"]
    assert pull_project(other, "ep1").transferred == 0

    s3_client.put_object(Bucket=bucket, Key="studio/ep1/outputs/img02.png", Body=b"tampered",
                         Metadata={"sha256": "0" * 64})
    before = sha(new_root / "outputs" / "img02.png")
    bad = pull_project(other, "ep1")
    assert list(bad.failed) == ["outputs/img02.png"] and "does not match" in bad.failed["outputs/img02.png"]
    assert sha(new_root / "outputs" / "img02.png") == before
    assert not [p for p in (new_root / "outputs").iterdir() if p.name.endswith(".tmp")]


def test_large_files_go_up_in_parts_and_resync_as_unchanged(workspace, bucket, moto_s3, s3_client) -> None:
    root = make_project(workspace, moto_s3.url, bucket, files=1)
    (root / "outputs" / "poster.tif").write_bytes(os.urandom(6 * MIB))
    settings = TransferSettings(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    push_project(workspace, "ep1", settings=settings)
    etag = s3_client.head_object(Bucket=bucket, Key="studio/ep1/outputs/poster.tif")["ETag"]
    assert etag.strip('"').endswith("-2")
    assert push_project(workspace, "ep1", settings=settings).transferred == 0
    shutil.rmtree(root / "outputs")
    assert pull_project(workspace, "ep1", settings=settings).transferred == 2
    assert (root / "outputs" / "poster.tif").stat().st_size == 6 * MIB


def test_sync_needs_an_enabled_policy_and_a_root(workspace, bucket, moto_s3) -> None:
    create_project(workspace, "ep2")
    with pytest.raises(StorageError, match="S3 storage is disabled for project 'ep2'"):
        push_project(workspace, "ep2")
    with pytest.raises(Exception, match="without a bucket"):
        set_s3(workspace, "ep2", enabled=True)
    root = make_project(workspace, moto_s3.url, bucket, slug="ep3")
    shutil.rmtree(root)
    with pytest.raises(StorageError, match="does not exist"):
        push_project(workspace, "ep3")
    assert push_project(workspace, "ep3", allow_missing_local=True).skipped
