"""``catalog_pg_vs_sqlite``: ingesting one 10,000-candidate run log into the catalog on PostgreSQL
vs on SQLite (the figure is PostgreSQL's time / SQLite's: lower is better; goal: within 3x).

The same run on each: 2,000 jobs x 5 candidates, every candidate's PNG on disk (so assets are
registered and hashed as in a real run), guard verdicts, ranks and one cost event per
candidate, ingested with :func:`kroma_kit.catalog.runs.ingest_run_log` (one write transaction).
PostgreSQL is Debian's server started on 127.0.0.1 by the bench with its default durability
(fsync and synchronous commit on); SQLite is the WAL file with the catalog's usual pragmas. Each
engine ingests into a fresh workspace, alternating engines, median of :data:`REPEATS`.
"""

from __future__ import annotations

import io
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.bench.lines import BenchLine, ratio

JOBS, CANDIDATES = 2000, 5
REPEATS = 3


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 24), (40, 60, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def _run_log(project: dict[str, Any]) -> dict[str, Any]:
    """The run log, and its candidate files written under the project's root."""
    from kroma_kit.catalog.db import utcnow

    root, png, now = Path(project["root"]), _png(), utcnow()
    (root / "outputs").mkdir(parents=True, exist_ok=True)
    jobs, costs = [], []
    for job in range(1, JOBS + 1):
        candidates = []
        for index in range(1, CANDIDATES + 1):
            rel = f"outputs/job_{job}__c{index}.png"
            (root / rel).write_bytes(png + job.to_bytes(4, "big") + bytes([index]))  # distinct sha256s
            soft = int(index % 2 == 0)
            candidates.append({"candidate_index": index, "status": "done", "seed": job * 10 + index, "output": rel,
                               "rank": {"hard_failures": 0, "soft_warnings": soft, "avg_chroma_exceed": 0.1 * index},
                               "rank_position": index, "cost_usd": 0.04,
                               "output_guard": {"checked_input": rel, "summary": {"total_files": 1, "hard_failures": 0,
                                                                                  "soft_warnings": soft},
                                                "files": [{"file": rel, "chroma_delta": 1.5 + index / 10}]}})
            costs.append({"job_id": f"job_{job}", "candidate_index": index, "provider_code": "openai",
                          "operation_code": "image_generation", "model": "gpt-image-1", "units": 1, "cost_usd": 0.04,
                          "currency": "USD", "event_key": f"job_{job}:{index}", "at": now})
        jobs.append({"id": f"job_{job}", "status": "done", "prompt": "Preserve geometry and perspective.",
                     "input_images": [], "selected_candidate": 1, "output": f"outputs/job_{job}__c1.png",
                     "final_output": f"outputs/job_{job}__c1.png", "winner_reason": "fewest soft warnings (0 vs 1)",
                     "candidates": candidates})
    return {"schema_version": 1, "kind": "kroma.run_log", "run_id": str(uuid.uuid4()), "timestamp": now,
            "project": project["slug"], "project_id": project["id"], "mode": "run", "stage": "style",
            "time": "day", "weather": "clear", "provider": "openai", "model": "gpt-image-1", "status": "done",
            "started_at": now, "finished_at": now, "jobs": jobs, "cost_events": costs}


def _ingest_once(folder: Path, name: str, catalog_url: str | None) -> tuple[float, int]:
    """A fresh workspace on the engine, the run's files, the ingest timed; returns (s, candidates)."""
    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.catalog.runs import ingest_run_log
    from kroma_kit.storage.atomic import atomic_write_json
    from kroma_kit.workspace import Workspace

    home = folder / name
    ws = open_workspace(home) if catalog_url is None else _pg_workspace(home, catalog_url)
    assert isinstance(ws, Workspace) and ws.engine == ("postgresql" if catalog_url else "sqlite")
    project = create_project(ws, "bench", "Bench")
    log = _run_log(project)
    path = atomic_write_json(Path(project["root"]) / "runs" / f"{log['run_id']}.json", log)
    started = time.perf_counter()
    counts = ingest_run_log(ws, path)
    elapsed = time.perf_counter() - started
    return elapsed, int(counts.get("candidates", 0))


def _pg_workspace(home: Path, url: str):
    from kroma_kit.catalog.db import connect
    from kroma_kit.catalog.migrations import migrate
    from kroma_kit.workspace import Workspace

    conn = connect(url)
    try:
        migrate(conn)
    finally:
        conn.close()
    ws = Workspace(home.resolve(), catalog_url=url)
    ws.projects_dir.mkdir(parents=True, exist_ok=True)
    return ws


def bench() -> list[BenchLine]:
    from tests.pg_server import start_server

    folder = Path(tempfile.mkdtemp(prefix="kroma-bench-pg-"))
    server = start_server(durable=True)
    sqlite_s, pg_s = [], []
    try:
        for rep in range(REPEATS):
            seconds, count = _ingest_once(folder, f"sqlite-{rep}", None)
            assert count == JOBS * CANDIDATES, count
            sqlite_s.append(seconds)
            seconds, count = _ingest_once(folder, f"pg-{rep}", server.new_database())
            assert count == JOBS * CANDIDATES, count
            pg_s.append(seconds)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    sqlite_median, pg_median = statistics.median(sqlite_s), statistics.median(pg_s)
    return [BenchLine("catalog_pg_vs_sqlite", ratio(pg_median, sqlite_median),
                      "PostgreSQL within 3x of SQLite: <= 3.0x",
                      f"ingest of a {JOBS * CANDIDATES}-candidate run: PostgreSQL {pg_median:.2f} s, "
                      f"SQLite {sqlite_median:.2f} s (median of {REPEATS})")]
