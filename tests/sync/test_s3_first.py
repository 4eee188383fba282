"""S3-first projects (storage mode ``s3``) against moto on loopback: a local run of the sample
project puts every output in the bucket as it is made; the cache is evicted; readers get the files
back verified by sha256; a missing object is a clear error; a failed upload keeps the file local,
pending, and the next push sends it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from kroma_kit.catalog.db import connect
from kroma_kit.errors import InputError, NotFoundError, StorageError
from kroma_kit.pipeline.execute import execute_run
from kroma_kit.sync.files import evict, local_copy
from kroma_kit.sync.policy import set_s3, show_policy
from kroma_kit.sync.push import push_project
from kroma_kit.sync.s3_first import pending_uploads, put_outputs
from tests.fakes.s3_server import closed_port_url
from tests.pipeline.runsupport import demo, local_request, sample_files  # noqa: F401
from tests.sync.test_push_pull import keys


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outputs_of(run_log: dict) -> set[str]:
    files = set()
    for job in run_log["jobs"]:
        for c in job["candidates"]:
            files |= {c.get("output"), c.get("final_output"), (c.get("output_guard") or {}).get("bad_archive")}
    return {f for f in files if f}


def test_mode_is_validated_shown_and_recorded(workspace, demo, bucket, moto_s3) -> None:  # noqa: F811
    assert show_policy(workspace, "demo")["mode"] == "local"
    with pytest.raises(InputError, match="without a bucket"):
        set_s3(workspace, "demo", mode="s3")
    with pytest.raises(InputError, match="Unknown storage mode 'cloud'"):
        set_s3(workspace, "demo", bucket=bucket, mode="cloud")
    with pytest.raises(InputError, match="contradicts --mode s3"):
        set_s3(workspace, "demo", bucket=bucket, mode="s3", enabled=False)
    shown = set_s3(workspace, "demo", bucket=bucket, endpoint_url=moto_s3.url, mode="s3")
    assert (shown["mode"], shown["s3_enabled"]) == ("s3", True)
    assert set_s3(workspace, "demo", enabled=False)["mode"] == "local"
    assert set_s3(workspace, "demo", enabled=True)["mode"] == "mirror"  # today's --enabled true: a mirror


def test_a_run_writes_through_evict_and_read_back_verified(workspace, demo, bucket, moto_s3,  # noqa: F811
                                                          s3_client) -> None:
    set_s3(workspace, "demo", bucket=bucket, prefix="studio", endpoint_url=moto_s3.url, mode="s3")
    summary = execute_run(workspace, local_request(scenes=1, candidates=2))
    assert summary.status == "done", summary.status_reason
    root = Path(demo["root"])
    run_log = json.loads(Path(summary.run_log_path).read_text())
    made = outputs_of(run_log)
    assert len(made) >= 2
    pushed = keys(s3_client, bucket)
    expected = {f"studio/demo/{rel}" for rel in made} | {f"studio/demo/runs/{summary.run_id}.json"}
    assert expected <= set(pushed)
    for rel in made:
        head = s3_client.head_object(Bucket=bucket, Key=f"studio/demo/{rel}")
        assert head["Metadata"]["sha256"] == sha(root / rel)
    assert run_log["s3_files"]["pending"] == {} and run_log["s3_files"]["mode"] == "s3"
    conn = connect(workspace.catalog_path, read_only=True)
    backends = {r["rel_path"]: r["storage_backend"] for r in conn.execute(
        "SELECT rel_path, storage_backend FROM assets WHERE run_id = ?", (summary.run_id,))}
    conn.close()
    assert {backends[rel] for rel in made if rel in backends} == {"s3"}

    digests = {rel: sha(root / rel) for rel in made}
    (root / "inputs" / "stray.png").write_bytes(b"not uploaded")
    evicted = evict(workspace, "demo")
    assert set(evicted.evicted) >= made and "inputs/stray.png" in evicted.kept_not_uploaded
    assert not any((root / rel).exists() for rel in made)
    assert (root / "runs" / f"{summary.run_id}.json").is_file() and (root / "inputs" / "stray.png").is_file()
    for rel in sorted(made):
        path = local_copy(workspace, "demo", rel)
        assert path == root / rel and sha(path) == digests[rel]

    (root / sorted(made)[0]).write_bytes(b"tampered")  # a stale cache entry is replaced, verified
    s3_client.put_object(Bucket=bucket, Key=f"studio/demo/{sorted(made)[1]}", Body=b"evil",
                         Metadata={"sha256": hashlib.sha256(b"evil").hexdigest()})
    (root / sorted(made)[1]).unlink()
    assert sha(local_copy(workspace, "demo", sorted(made)[0])) == digests[sorted(made)[0]]
    [kept] = (root / "archive" / "replaced").glob("*")  # the differing local file was kept, not overwritten
    assert kept.read_bytes() == b"tampered"
    with pytest.raises(StorageError, match="the catalog expects"):
        local_copy(workspace, "demo", sorted(made)[1])
    with pytest.raises(NotFoundError, match=r"s3://.*/studio/demo/outputs/nope.png does not exist"):
        local_copy(workspace, "demo", "outputs/nope.png")


def test_a_failed_upload_stays_local_pending_and_the_next_push_sends_it(workspace, demo, bucket,  # noqa: F811
                                                                        moto_s3, s3_client) -> None:
    set_s3(workspace, "demo", bucket=bucket, endpoint_url=closed_port_url(), mode="s3")
    summary = execute_run(workspace, local_request(scenes=1, candidates=1))
    assert summary.status == "done"  # the bucket was down; the run was not
    run_log = json.loads(Path(summary.run_log_path).read_text())
    made = outputs_of(run_log)
    assert set(run_log["s3_files"]["pending"]) >= made
    assert "cannot reach the endpoint" in next(iter(run_log["s3_files"]["pending"].values()))
    pending = {row["rel_path"] for row in pending_uploads(workspace, demo)}
    assert pending >= made | {f"runs/{summary.run_id}.json"}
    assert set(evict(workspace, "demo").kept_pending) >= made  # never evicts what is not up
    assert all((Path(demo["root"]) / rel).is_file() for rel in made)

    set_s3(workspace, "demo", endpoint_url=moto_s3.url)
    report = put_outputs(workspace, demo, [])  # the next write retries what is pending
    assert set(report.uploaded) == pending and pending_uploads(workspace, demo) == []
    assert {f"demo/{rel}" for rel in pending} <= set(keys(s3_client, bucket))


def test_cli_mode_evict_and_pending(kroma_home: Path, bucket, moto_s3) -> None:
    from tests.sync.test_faults import kroma

    assert kroma(kroma_home, "project", "create", "--slug", "ep1").returncode == 0
    shown = json.loads(kroma(kroma_home, "storage", "set-s3", "--project", "ep1", "--bucket", bucket,
                             "--endpoint-url", moto_s3.url, "--mode", "s3", "--json").stdout)
    assert shown["mode"] == "s3" and json.loads(kroma(kroma_home, "storage", "show", "--project", "ep1",
                                                      "--json").stdout)["mode"] == "s3"
    bad = kroma(kroma_home, "storage", "evict", "--project", "ep1", "--older-than", "soon")
    assert bad.returncode != 0 and "expected a duration like 90s" in bad.stderr
    (kroma_home / "projects" / "ep1" / "outputs" / "a.png").write_bytes(b"a" * 10)
    evicted = json.loads(kroma(kroma_home, "storage", "evict", "--project", "ep1", "--json").stdout)
    assert (evicted["evicted"], evicted["kept_not_uploaded"]) == (0, 1)  # never uploaded: kept
    assert json.loads(kroma(kroma_home, "storage", "pending", "--project", "ep1", "--json").stdout) == []


def test_push_clears_pending(workspace, demo, bucket, moto_s3, s3_client) -> None:  # noqa: F811
    set_s3(workspace, "demo", bucket=bucket, endpoint_url=closed_port_url(), mode="s3")
    rel = "outputs/late.png"
    (Path(demo["root"]) / rel).parent.mkdir(parents=True, exist_ok=True)
    (Path(demo["root"]) / rel).write_bytes(b"late")
    assert put_outputs(workspace, demo, [rel]).pending
    set_s3(workspace, "demo", endpoint_url=moto_s3.url)
    assert push_project(workspace, "demo").failed == {}
    assert pending_uploads(workspace, demo) == []


def test_readers_get_evicted_files_back(workspace, demo, bucket, moto_s3, tmp_path) -> None:  # noqa: F811
    """Grid, dashboards' thumbnails, review, post-processing and export, after the cache was emptied."""
    import shutil
    import tarfile

    from kroma_kit.bundles.export import export_project
    from kroma_kit.dashboards.thumbs import thumb_img
    from kroma_kit.pipeline.review import override_winner
    from kroma_kit.postprocess.batch import process_files
    from kroma_kit.storage.thumbnails import thumbnail_cache_dir
    from kroma_kit.widgets import CandidateGrid

    set_s3(workspace, "demo", bucket=bucket, endpoint_url=moto_s3.url, mode="s3")
    summary = execute_run(workspace, local_request(scenes=1, candidates=2))
    root = Path(demo["root"])
    run_log = json.loads(Path(summary.run_log_path).read_text())
    made = outputs_of(run_log)
    digests = {rel: sha(root / rel) for rel in made}

    def empty_caches() -> None:
        evict(workspace, "demo")
        shutil.rmtree(thumbnail_cache_dir(workspace.home), ignore_errors=True)
        assert not any((root / rel).exists() for rel in made)

    empty_caches()
    grid = CandidateGrid(workspace, run_id=summary.run_id, read_only=True)
    assert len(grid.cards) == 2
    assert all('src="data:image/webp;base64,' in card.picture.value for card in grid.cards.values())
    fetched = [rel for rel in made if (root / rel).exists()]  # each card's file came back, verified
    assert len(fetched) >= 2 and all(sha(root / rel) == digests[rel] for rel in fetched)

    empty_caches()
    from kroma_kit.analytics.pictures import run_contact_sheet

    sheet = run_contact_sheet(workspace, summary.run_id)
    assert sheet.candidates == 2 and sum((root / rel).exists() for rel in made) >= 2

    empty_caches()
    rel = sorted(made)[0]
    html = thumb_img(root / rel, digests[rel], home=workspace.home, fetch=lambda p: local_copy(workspace, demo, p))
    assert 'data-thumb="ok"' in html and sha(root / rel) == digests[rel]

    empty_caches()
    [job] = run_log["jobs"]
    loser = next(c["candidate_index"] for c in job["candidates"] if c["candidate_index"] != job["selected_candidate"])
    chosen = override_winner(workspace, summary.run_id, job["id"], loser, note="evicted but fine")
    assert Path(chosen["final_output"]).is_file()

    empty_caches()
    done = process_files(workspace, "demo", "color", rel)  # a project-relative input, fetched back
    assert done.failed == [] and len(done.processed) == 1
    out_rel = Path(done.processed[0]["output"]).resolve().relative_to(root.resolve()).as_posix()
    assert pending_uploads(workspace, demo) == [] and put_outputs(workspace, demo, [out_rel]).unchanged == [out_rel]

    empty_caches()
    bundle = export_project(workspace, "demo", output=tmp_path / "demo.tar.gz")
    with tarfile.open(bundle.path) as tar:
        names = {name.split("/files/", 1)[1] for name in tar.getnames() if "/files/" in name}
    assert made <= names and all(sha(root / rel) == digests[rel] for rel in made)
