"""The pipeline with this issue's hooks: a paid run that takes its key from the project's secrets,
a post-run push to S3 that never fails the run, and a leak scan of everything the run left."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from kroma_kit.bundles.export import export_project
from kroma_kit.dashboards import project_overview_dashboard
from kroma_kit.dashboards.context import read_workspace
from kroma_kit.pipeline.execute import execute_run
from kroma_kit.security.audit_view import audit_rows
from kroma_kit.security.secrets import set_secret
from kroma_kit.sync.history import sync_history
from kroma_kit.sync.policy import set_s3
from tests.conftest import cli_env
from tests.fakes.openai_images_server import FakeOpenAIImagesServer
from tests.fakes.s3_server import closed_port_url
from tests.pipeline.runsupport import demo, openai_request, openai_settings, sample_files  # noqa: F401
from tests.sync.test_push_pull import keys

SECRET = "sk-project-only-key-0123456789abcdef"


def test_paid_run_uses_the_project_key_pushes_after_and_leaks_nothing(workspace, demo, bucket, moto_s3,  # noqa: F811
                                                                      s3_client, monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("KROMA_MASTER_KEY", raising=False)
    set_secret(workspace, "demo", "openai", "api_key", SECRET)
    set_s3(workspace, "demo", bucket=bucket, prefix="runs", endpoint_url=moto_s3.url, enabled=True)
    with FakeOpenAIImagesServer(api_key=SECRET) as fake:
        settings = {**openai_settings(fake), "pipeline": {"storage_sync_s3": True}}
        summary = execute_run(workspace, openai_request(fake, settings=settings), confirm_spend=True)
        assert summary.status == "done", summary.status_reason
        assert {r.authorization for r in fake.requests} == {f"Bearer {SECRET}"}
        pushed = keys(s3_client, bucket)
        assert f"runs/demo/runs/{summary.run_id}.json" in pushed
        [sync] = sync_history(workspace, "demo")
        assert (sync["status"], sync["triggered_by"], sync["run_id"]) == ("ok", "run", summary.run_id)

        set_s3(workspace, "demo", endpoint_url=closed_port_url())
        # no_cache: the stage cache would reuse the first run's files; this run must make (and replace) them
        second = execute_run(workspace, openai_request(fake, settings=settings, no_cache=True), confirm_spend=True)
        assert second.status == "done"  # the push failed; the run did not
        latest = sync_history(workspace, "demo")[0]
        assert latest["status"] == "failed" and latest["run_id"] == second.run_id and "cannot reach" in latest["error"]
        [moved] = audit_rows(workspace, "demo", code_prefix="files.archived")
        assert moved["payload"]["reason"] == "replaced" and moved["payload"]["run_id"] == second.run_id
        assert moved["payload"]["moves"][0]["to"].startswith("archive/replaced/")

    root = Path(demo["root"])
    bundle = export_project(workspace, "demo", output=tmp_path / "demo.tar.gz")
    cli_outputs = [subprocess.run([sys.executable, "-m", "kroma_kit", *args], capture_output=True, text=True,
                                  env=cli_env(workspace.home), timeout=60)
                   for args in (["runs", "show", summary.run_id, "--json"], ["audit", "list", "--project", "demo"],
                                ["--debug", "secrets", "delete", "--project", "demo", "openai", "missing"])]
    html = project_overview_dashboard(read_workspace(workspace.home), project="demo").body.value
    haystacks = {
        "run logs": b"".join(p.read_bytes() for p in (root / "runs").glob("*.json")),
        "catalog": b"".join(p.read_bytes() for p in workspace.home.glob("catalog.db*")),
        "export": gzip.decompress(Path(bundle.path).read_bytes()),
        "cli": "".join(r.stdout + r.stderr for r in cli_outputs).encode(),
        "dashboard": html.encode(),
        "s3": json.dumps(keys(s3_client, bucket)).encode(),
    }
    assert "Traceback" in cli_outputs[2].stderr
    assert {name: SECRET.encode() in data for name, data in haystacks.items()} == dict.fromkeys(haystacks, False)


def test_resume_takes_the_key_from_the_project_secrets_too(workspace, demo, monkeypatch) -> None:  # noqa: F811
    """A run stopped by a provider error is resumed with the project's own key, exactly like a
    new run gets it (no OPENAI_API_KEY in the environment)."""
    from kroma_kit.pipeline.resume import resume_run
    from tests.fakes.openai_images_server import Reply

    monkeypatch.delenv("KROMA_MASTER_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    set_secret(workspace, "demo", "openai", "api_key", SECRET)
    with FakeOpenAIImagesServer(api_key=SECRET) as fake:
        fake.script(Reply.api_error(500, "the server had an error"))
        first = execute_run(workspace, openai_request(fake, settings=openai_settings(fake, max_attempts=1)),
                            confirm_spend=True)
        assert first.status != "done"
        resumed = resume_run(workspace, first.run_id, confirm_spend=True)
        assert resumed.status == "done", resumed.status_reason
        assert {r.authorization for r in fake.requests} == {f"Bearer {SECRET}"}
