"""A local run started through the API goes on in the background while 8 clients read and write:
the trigger answers at once, no request fails (no lock errors), no row is lost, and the run's
progress shows on the run routes until it is done."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import httpx

CLIENTS = 8
CANDIDATES = 3


def test_eight_clients_while_a_local_run_writes(api):
    with api.client() as http:
        started = time.perf_counter()
        trigger = http.post("/api/projects/demo/runs/trigger",
                            json={"mode": "run", "provider": "local", "candidates": CANDIDATES, "concurrency": 2})
        trigger_s = time.perf_counter() - started
    assert trigger.status_code == 200, trigger.text
    run_id = trigger.json()["pipeline_trigger"]["run_id"]
    assert trigger.json()["pipeline_trigger"]["status"] == "running"

    failures: list[str] = []
    written: list[str] = []
    health_s: list[float] = []
    statuses: set[str] = set()
    done = threading.Event()
    lock = threading.Lock()

    def client(index: int) -> None:
        with api.client() as http:
            iteration = 0
            while not done.is_set() or iteration < 3:
                iteration += 1
                t0 = time.perf_counter()
                health = http.get("/health")
                with lock:
                    health_s.append(time.perf_counter() - t0)
                run = http.get(f"/api/projects/demo/runs/{run_id}")
                responses = [health, run, http.get("/api/projects/demo/runs", params={"limit": 20}),
                             http.get("/api/projects/demo/assets", params={"limit": 50}),
                             http.get("/api/projects/demo/quality-reports", params={"run_id": run_id}),
                             http.get("/api/projects/demo")]
                code = f"p{index}-{iteration}"
                posted = http.post("/api/projects/demo/provider-accounts", json={"provider_code": code})
                responses.append(posted)
                with lock:
                    failures.extend(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:200]}"
                                    for r in responses if r.status_code != 200)
                    if posted.status_code == 200:
                        written.append(code)
                    if run.status_code == 200:
                        statuses.add(run.json()["run"]["status"])
                        if run.json()["run"]["status"] != "running":
                            done.set()
                if iteration > 400:
                    done.set()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)
    assert not failures, failures[:5]
    assert trigger_s < 30

    with api.client() as http:
        detail = http.get(f"/api/projects/demo/runs/{run_id}").json()
        accounts = http.get("/api/projects/demo/provider-accounts").json()["provider_accounts"]
        reports = http.get("/api/projects/demo/quality-reports", params={"run_id": run_id, "limit": 1000}).json()
    assert "running" in statuses, "the run was never seen in progress: the trigger did not answer at once"
    assert detail["run"]["status"] == "done", detail["run"]
    assert len(detail["jobs"]) == 4
    assert all(len(job["candidates"]) == CANDIDATES and job["selected_candidate_index"] for job in detail["jobs"])
    assert reports["count"] >= 4 * CANDIDATES
    assert {a["provider_code"] for a in accounts} >= set(written) and len(written) >= CLIENTS * 3
    job = detail["jobs"][0]
    other = next(c["candidate_index"] for c in job["candidates"]
                 if c["candidate_index"] != job["selected_candidate_index"])
    with api.client() as http:
        review = http.put(f"/api/projects/demo/runs/{run_id}/jobs/{job['job_key']}/winner",
                          json={"candidate_index": other, "note": "better hands", "force": True})
        assert review.status_code == 200, review.text
        assert review.json()["review"]["changed"] is True
        history = http.get(f"/api/projects/demo/runs/{run_id}/jobs/{job['job_key']}/winner-history").json()
        assert [h["source"] for h in history["history"]] == ["ranking", "human_review"]
        again = http.get(f"/api/projects/demo/runs/{run_id}").json()["jobs"][0]
        assert again["selected_candidate_index"] == other
        missing = http.put(f"/api/projects/demo/runs/{run_id}/jobs/no-such-job/winner", json={"candidate_index": 1})
        assert missing.status_code == 404 and missing.json()["error_code"] == "not_found"
    assert statistics.median(health_s) < 2.0 and max(health_s) < 15.0, (statistics.median(health_s), max(health_s))


def test_stopping_the_server_cancels_its_run_cleanly(workspace):
    """A run still going when the server stops is cancelled: calls in flight finish, the run ends
    ``partial`` (resumable), not ``running`` or ``interrupted``."""
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.catalog.runs import get_run
    from kroma_kit.project_setup import install_sample_project
    from tests.server.live import live_server

    install_sample_project(Path(create_project(workspace, "demo", "Demo")["root"]), candidates=1)
    with live_server(workspace, dev_bypass=True) as base:
        trigger = httpx.post(f"{base}/api/projects/demo/runs/trigger",
                             json={"mode": "run", "candidates": 7, "allow_many_candidates": True, "concurrency": 1}, timeout=60)
        assert trigger.status_code == 200, trigger.text
        run_id = trigger.json()["pipeline_trigger"]["run_id"]
    run = get_run(workspace, run_id)
    assert run["status"] == "partial", (run["status"], run["status_reason"])
    assert run["jobs_done"] < run["jobs_total"]

    with live_server(workspace, dev_bypass=True) as base, httpx.Client(base_url=base, timeout=60) as http:
        resumed = http.post(f"/api/projects/demo/runs/{run_id}/resume", json={"concurrency": 2})
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["pipeline_trigger"]["run_id"] == run_id
        deadline = time.monotonic() + 180
        while http.get(f"/api/projects/demo/runs/{run_id}").json()["run"]["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        detail = http.get(f"/api/projects/demo/runs/{run_id}").json()
        assert detail["run"]["status"] == "done", detail["run"]["status_reason"]
        assert all(len(job["candidates"]) == 7 for job in detail["jobs"])
        assert http.post(f"/api/projects/other/runs/{run_id}/resume", json={}).status_code == 404


def test_a_run_whose_process_died_reads_as_interrupted(workspace):
    """A ``kroma run`` killed mid-flight is shown ``interrupted`` by the run routes (the explicit
    recovery the CLI calls too), not ``running`` forever."""
    import subprocess
    import sys

    from kroma_kit.catalog.projects import create_project
    from kroma_kit.project_setup import install_sample_project
    from tests.conftest import cli_env
    from tests.server.live import live_server

    install_sample_project(Path(create_project(workspace, "demo", "Demo")["root"]), candidates=1)
    with live_server(workspace, dev_bypass=True) as base, httpx.Client(base_url=base, timeout=60) as http:
        proc = subprocess.Popen([sys.executable, "-m", "kroma_kit", "run", "--project", "demo", "--candidates", "6",
                                 "--concurrency", "1", "--json"], env=cli_env(workspace.home),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            runs: list = []
            while not runs:
                assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it was seen"
                runs = [r for r in workspace_runs(workspace) if r["status"] == "running"]
                time.sleep(0.1)
        finally:
            proc.kill()
            proc.wait()
        run_id = runs[0]["id"]
        assert http.get(f"/api/projects/demo/runs/{run_id}").json()["run"]["status"] == "interrupted"
        assert [r["status"] for r in http.get("/api/projects/demo/runs").json()["runs"]] == ["interrupted"]


def workspace_runs(ws) -> list[dict]:
    """The catalog's runs of ``demo`` as a pure read (no recovery), to see the live run."""
    from kroma_kit.catalog.runs import list_runs

    return list_runs(ws, "demo")
