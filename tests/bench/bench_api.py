"""``api_concurrency``: requests per second over a mix of read routes (project detail, runs list,
run detail, assets, quality reports, audit events) with 8 concurrent clients vs 1 client, against
``kroma serve --workers 2`` on 127.0.0.1, same run. A server that serialised its readers (one
handler at a time, one shared connection) would score ~1x.

The catalog holds the sample project after a dry run and a local run (4 jobs x 3 candidates). The
clients are threads of this process; each has its own HTTP connection (keep-alive).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.bench.lines import BenchLine  # noqa: E402

CLIENTS = 8
REQUESTS = 480  # per phase, split evenly between the clients
WORKERS = 2  # server processes (`kroma serve --workers 2`), each with its thread pool


def _workspace(home: Path) -> tuple[str, str]:
    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.catalog.tokens import create_token
    from kroma_kit.pipeline.execute import dry_run, execute_run
    from kroma_kit.pipeline.plan_model import PlanRequest
    from kroma_kit.project_setup import install_sample_project

    ws = open_workspace(home)
    install_sample_project(Path(create_project(ws, "demo", "Demo")["root"]), candidates=3)
    dry_run(ws, PlanRequest(project="demo"))
    run = execute_run(ws, PlanRequest(project="demo", provider="local"), concurrency=2)
    return create_token(ws, label="bench")["token"], run.run_id


def _paths(run_id: str) -> list[str]:
    base = "/api/projects/demo"
    return [base, f"{base}/runs?limit=50", f"{base}/runs/{run_id}", f"{base}/assets?limit=100",
            f"{base}/quality-reports?limit=100", f"{base}/audit-events?limit=50"]


def _phase(base: str, token: str, paths: list[str], clients: int) -> float:
    """Requests per second for ``REQUESTS`` requests spread over ``clients`` threads."""
    import httpx

    per_client = REQUESTS // clients
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def work(offset: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            http.get("/health")
            barrier.wait()
            for index in range(per_client):
                response = http.get(paths[(offset + index) % len(paths)])
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:120]}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    return per_client * clients / elapsed


def bench() -> list[BenchLine]:
    from tests.server.live import server_process

    folder = Path(tempfile.mkdtemp(prefix="kroma-bench-api-"))
    saved = os.environ.get("KROMA_HOME")
    try:
        home = folder / "home"
        os.environ["KROMA_HOME"] = str(home)
        token, run_id = _workspace(home)
        with server_process(home, env={"KROMA_API_AUTH_DEV_BYPASS": ""}, workers=WORKERS) as base:
            paths = _paths(run_id)
            _phase(base, token, paths, 2)  # warm-up: imports, caches, connections
            single = _phase(base, token, paths, 1)
            many = _phase(base, token, paths, CLIENTS)
    finally:
        if saved is None:
            os.environ.pop("KROMA_HOME", None)
        else:
            os.environ["KROMA_HOME"] = saved
        shutil.rmtree(folder, ignore_errors=True)
    return [BenchLine("api_concurrency", f"{many / single:.1f}x", ">= 1.5x",
                      f"1 client {single:.0f} req/s, {CLIENTS} clients {many:.0f} req/s, {REQUESTS} read requests "
                      f"each over {len(paths)} routes, {WORKERS} server processes")]


if __name__ == "__main__":
    for line in bench():
        print(line.render())
