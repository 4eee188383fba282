"""Distributed execution: runs whose provider calls and post chains are Dask tasks on a LocalCluster
of two worker processes on loopback (started once for the module), against the fake Images API
on 127.0.0.1 whose request list is the count of paid calls."""

from __future__ import annotations

import json
import shutil
import socket
from functools import partial
from pathlib import Path

import pytest

from kroma_kit.catalog import open_workspace
from kroma_kit.catalog.projects import create_project
from kroma_kit.errors import ConfigError
from kroma_kit.pipeline.dask_offload import DaskExecutor, staging_name
from kroma_kit.pipeline.dask_tasks import ProviderSpec, generate_image, read_staged, write_staged
from kroma_kit.pipeline.execute import execute_run
from kroma_kit.pipeline.resume import resume_run
from kroma_kit.providers.base import ImageRequest, ImageResult
from kroma_kit.storage.runlog import read_run_log
from tests.pipeline.dask_faults import kill_worker_once
from tests.pipeline.runsupport import (
    SCENES,
    TEST_KEY,
    local_request,
    openai_request,
    openai_settings,
    table_counts,
)

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each, loopback only, no dashboard."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                  silence_logs=40) as local, distributed.Client(local, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=60)
        yield local


def _outcome(log: dict, root: Path) -> dict:
    """What must not depend on the executor: per job status and winner, per candidate status,
    cost and pixels (the file's bytes also hold its creation time), the run's status and cost."""
    import hashlib

    from PIL import Image

    def pixels(rel: str) -> str:
        with Image.open(root / rel) as image:
            return hashlib.sha256(image.tobytes()).hexdigest()

    return {"status": log["status"], "cost": log["actual_cost_usd"],
            "jobs": {job["id"]: (job["status"], job.get("selected_candidate"), pixels(job["final_output"]),
                                 [(c["status"], c.get("cost_usd"), pixels(c["output"])) for c in job["candidates"]])
                     for job in log["jobs"]}}


def test_dask_run_gives_the_same_winners_statuses_and_costs_as_threads(workspace, demo, fake, openai_key,
                                                                       cluster, monkeypatch, sample_files, tmp_path):
    # Seeds derive from the run id: both runs get the same id, in two workspaces with the same project.
    monkeypatch.setattr("kroma_kit.pipeline.execute.new_id", lambda: "0123456789abcdef0123456789abcdef")
    other = open_workspace(tmp_path / "home2")
    shutil.copytree(sample_files, create_project(other, "demo", "Demo")["root"], dirs_exist_ok=True)
    request = openai_request(fake, scenes=2, candidates=1,
                             postprocess={"upscale": True, "upscale_backend": "lanczos", "upscale_scale": 2})
    threads = execute_run(workspace, request, confirm_spend=True, executor="threads")
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client, \
            distributed.get_task_stream(client=client) as stream:
        dask = execute_run(other, request, confirm_spend=True, executor="dask", scheduler=cluster.scheduler_address)
    ran = {str(task["key"]).split("-")[0] for task in stream.data}
    assert {"generate_image", "run_chain_task"} <= ran  # the provider calls and the post chains ran on workers
    assert threads.status == dask.status == "done"
    assert len(dask.outputs) == 2 and all(Path(p).stem.endswith("_x2") for p in dask.outputs)  # upscaled won
    assert _outcome(read_run_log(dask.run_log_path), Path(dask.run_log_path).parents[1]) == \
        _outcome(read_run_log(threads.run_log_path), Path(threads.run_log_path).parents[1])
    assert len(fake.requests) == 4 and all(r.authorization == f"Bearer {TEST_KEY}" for r in fake.requests)
    assert table_counts(other) == table_counts(workspace)
    assert not Path(dask.run_log_path).with_suffix(".dask").exists()  # staged answers are cleaned up


def test_a_worker_killed_after_paying_costs_nothing_twice(workspace, demo, fake, openai_key, cluster, tmp_path):
    marker = tmp_path / "killed"
    executor = DaskExecutor(cluster.scheduler_address, after_paid=partial(kill_worker_once, str(marker)))
    summary = execute_run(workspace, openai_request(fake, scenes=2, candidates=2), confirm_spend=True,
                          executor=executor)
    assert marker.exists()  # a worker died right after its paid answer was staged
    assert summary.status == "done" and summary.jobs_done == 2
    assert len(fake.requests) == 4  # one call per candidate: the retried task reused the staged answer
    log = read_run_log(summary.run_log_path)
    assert len(log["cost_events"]) == 4
    assert summary.actual_cost_usd == pytest.approx(sum(e["cost_usd"] for e in log["cost_events"]))
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=60)  # the nanny restarted it for the next test


def test_resume_on_dask_reuses_a_staged_answer_and_pays_the_rest(workspace, demo, fake, openai_key, cluster):
    settings_dir = Path(demo["root"]) / ".kroma"
    settings_dir.mkdir(exist_ok=True)
    (settings_dir / "pipeline.settings.json").write_text(json.dumps({"budgets": {"per_run_usd": 0.3}}))
    settings = openai_settings(fake)
    settings.pop("budgets")
    first = execute_run(workspace, openai_request(fake, scenes=3, settings=settings), confirm_spend=True,
                        concurrency=1, executor="dask", scheduler=cluster.scheduler_address)
    assert first.status == "partial" and len(fake.requests) == 1
    # A worker paid for job 3 and staged the answer; its coordinator died before recording it.
    log = read_run_log(first.run_log_path)
    job3 = log["jobs"][2]["id"]
    staged = Path(first.run_log_path).with_suffix(".dask") / staging_name(f"{job3}#c1")
    staged.parent.mkdir(exist_ok=True)
    write_staged(str(staged), ImageResult(_png(), "openai", "gpt-image-1", cost_usd=0.25,
                                          usage={"output_tokens": 6240}))
    (settings_dir / "pipeline.settings.json").write_text(json.dumps({"budgets": {"per_run_usd": 5.0}}))
    resumed = resume_run(workspace, first.run_id, confirm_spend=True, executor="dask",
                         scheduler=cluster.scheduler_address)
    assert resumed.run_id == first.run_id and resumed.status == "done", resumed.status_reason
    assert len(fake.requests) == 2  # job 1 before, job 2 now, job 3 from its staged answer
    final = read_run_log(first.run_log_path)
    assert final["jobs"][2]["candidates"][0]["cost_usd"] == pytest.approx(0.25)
    assert len(final["cost_events"]) == 3
    assert not staged.parent.exists()


def test_generate_task_returns_a_staged_answer_without_calling(fake, tmp_path):
    staging = str(tmp_path / "job#c1")
    spec = ProviderSpec("openai", (("base_url", fake.base_url),), None)  # no key: a call would fail
    write_staged(staging, ImageResult(_png(), "openai", "gpt-image-1", cost_usd=0.04))
    done = generate_image(spec, ImageRequest("p", [], 1), staging)
    assert done.reused and done.result.cost_usd == 0.04 and done.result.image_bytes == _png()
    Path(staging).with_suffix(".img").write_bytes(b"torn")  # a torn stage is not an answer
    assert read_staged(staging) is None
    assert not fake.requests


def test_local_run_on_a_local_cluster_started_for_it(workspace, demo):
    """No scheduler: a LocalCluster is started for the run and closed at its end."""
    summary = execute_run(workspace, local_request(scenes=1, candidates=1), executor=DaskExecutor(workers=1))
    assert summary.status == "done" and summary.jobs_done == 1


def test_a_bad_scheduler_address_fails_before_anything_is_written(workspace, demo):
    with pytest.raises(ConfigError, match="not of the form tcp://HOST:PORT"):
        execute_run(workspace, local_request(scenes=1), executor="dask", scheduler="localhost:8786")
    with pytest.raises(ConfigError, match="--scheduler needs --executor dask"):
        execute_run(workspace, local_request(scenes=1), executor="threads", scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ConfigError, match="Cannot reach the Dask scheduler at tcp://127.0.0.1:"):
        execute_run(workspace, local_request(scenes=1),
                    executor=DaskExecutor(f"tcp://127.0.0.1:{_free_port()}", connect_timeout_s=1))
    assert table_counts(workspace)["runs"] == 0
    assert not list((Path(demo["root"]) / "runs").glob("*.json"))


def test_settings_choose_the_executor_and_refuse_a_bad_address(workspace, demo):
    from kroma_kit.config import resolve_project_settings

    settings_dir = Path(demo["root"]) / ".kroma"
    settings_dir.mkdir(exist_ok=True)
    (settings_dir / "pipeline.settings.json").write_text(json.dumps({"pipeline": {"executor": "dask",
                                                                                  "dask_scheduler": "tcp://h:1"}}))
    pipeline = resolve_project_settings(Path(demo["root"])).settings.pipeline
    assert (pipeline.executor, pipeline.dask_scheduler) == ("dask", "tcp://h:1")
    (settings_dir / "pipeline.settings.json").write_text(json.dumps({"pipeline": {"dask_scheduler": "h:1"}}))
    with pytest.raises(ConfigError, match="dask_scheduler"):
        resolve_project_settings(Path(demo["root"]))
    (settings_dir / "pipeline.settings.json").write_text(json.dumps({"pipeline": {"executor": "spark"}}))
    with pytest.raises(ConfigError, match="executor"):
        resolve_project_settings(Path(demo["root"]))


def test_batch_upscale_on_dask_writes_what_threads_write(workspace, demo, cluster, tmp_path):
    from kroma_kit.postprocess.batch import process_files

    folder = tmp_path / "in"
    shutil.copytree(Path(demo["root"]) / "inputs" / "scenes", folder)
    (folder / "broken.png").write_bytes(b"not a png")  # one bad file is reported, the others still run
    results = {}
    for executor in ("threads", "dask"):
        out = tmp_path / executor
        batch = process_files(workspace, "demo", "upscale", folder, output_dir=out,
                              upscale_backend="lanczos", upscale_scale=2, executor=executor,
                              scheduler=cluster.scheduler_address if executor == "dask" else None)
        assert len(batch.processed) == len(SCENES)
        assert [Path(f["input"]).name for f in batch.failed] == ["broken.png"]
        results[executor] = {p.name: p.read_bytes() for p in sorted(out.rglob("*.png"))}
    assert results["dask"] == results["threads"] and len(results["dask"]) == len(SCENES)


def _png() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (64, 96), (235, 235, 235))  # grey with a shape: passes the output guard
    ImageDraw.Draw(image).ellipse((16, 24, 48, 72), fill=(40, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
