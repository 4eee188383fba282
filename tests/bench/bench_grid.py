"""``grid_200``: opening the candidate grid of a 200-candidate run with a cold vs a warm thumbnail
cache. The figure is cold/warm; the warm time is what an artist waits for on every reopen.

The run is real catalog data: 40 jobs x 5 candidates of 1024x1536 PNGs (the OpenAI portrait size)
described by a run log and ingested with :func:`kroma_kit.catalog.runs.ingest_run_log`, so the grid
reads sha256s, paths and verdicts through analytics exactly as in a notebook. Timed: building
``CandidateGrid(ws, run_id=..., read_only=True)`` (analytics queries + 200 thumbnails + widgets).
The thumbnail part alone is timed too (``thumbnail_bytes`` for the 200 rows).
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

from tests.bench.lines import BenchLine

JOBS, CANDIDATES = 40, 5
SIZE = (1024, 1536)
SCENES = ("street", "room", "rooftop", "harbor")


def _images(root: Path) -> dict[tuple[int, int], str]:
    """Write one distinct PNG per candidate (a scene, resized, with a numbered block)."""
    from PIL import ImageDraw

    from kroma_kit.samples import draw_scene

    bases = [draw_scene(name).resize(SIZE) for name in SCENES]
    paths = {}
    (root / "outputs").mkdir(parents=True, exist_ok=True)
    for job in range(1, JOBS + 1):
        for index in range(1, CANDIDATES + 1):
            image = bases[job % len(bases)].copy()
            ImageDraw.Draw(image).rectangle((20 * index, 20 * job, 20 * index + 60, 20 * job + 60),
                                            fill=(job * 6 % 256, index * 40, 90))
            rel = f"outputs/grid_{job}__c{index}.png"
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", compress_level=1)
            (root / rel).write_bytes(buffer.getvalue())
            paths[(job, index)] = rel
    return paths


def _run_log(project: dict[str, Any], paths: dict[tuple[int, int], str]) -> dict[str, Any]:
    from kroma_kit.catalog.db import utcnow

    run_id = str(uuid.uuid4())
    jobs = []
    for job in range(1, JOBS + 1):
        candidates = []
        for index in range(1, CANDIDATES + 1):
            soft = int(index % 2 == 0)
            candidates.append({"candidate_index": index, "status": "done", "seed": job * 10 + index,
                               "output": paths[(job, index)], "final_output": paths[(job, index)],
                               "rank": {"hard_failures": 0, "soft_warnings": soft, "avg_chroma_exceed": 0.1 * index},
                               "rank_position": index, "cost_usd": 0.25,
                               "output_guard": {"checked_input": paths[(job, index)],
                                                "summary": {"total_files": 1, "hard_failures": 0,
                                                            "soft_warnings": soft},
                                                "files": [{"file": paths[(job, index)], "chroma_delta": 1.5}]}})
        jobs.append({"id": f"grid_{job}", "status": "done", "prompt": "Preserve geometry and perspective.",
                     "input_images": [], "selected_candidate": 1, "final_output": paths[(job, 1)],
                     "output": paths[(job, 1)], "winner_reason": "fewest soft warnings (0 vs 1)",
                     "candidates": candidates})
    now = utcnow()
    return {"schema_version": 1, "kind": "kroma.run_log", "run_id": run_id, "timestamp": now,
            "project": project["slug"], "project_id": project["id"], "mode": "run", "stage": "style",
            "time": "day", "weather": "clear", "provider": "openai", "model": "gpt-image-1", "status": "done",
            "started_at": now, "finished_at": now, "jobs": jobs, "cost_events": []}


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def bench() -> list[BenchLine]:
    from kroma_kit.analytics import candidates
    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.catalog.runs import ingest_run_log
    from kroma_kit.storage.atomic import atomic_write_json
    from kroma_kit.storage.thumbnails import thumbnail_bytes, thumbnail_cache_dir
    from kroma_kit.widgets.candidate_grid import CandidateGrid

    folder = Path(tempfile.mkdtemp(prefix="kroma-bench-grid-"))
    try:
        ws = open_workspace(folder / "home")
        project = create_project(ws, "grid", "Grid")
        root = Path(project["root"])
        log = _run_log(project, _images(root))
        log_path = atomic_write_json(root / "runs" / f"{log['run_id']}.json", log)
        ingest_run_log(ws, log_path)
        run_id = log["run_id"]
        cache = thumbnail_cache_dir(ws.home)
        rows = candidates(ws, run_id=run_id).to_dict("records")
        assert len(rows) == JOBS * CANDIDATES

        def open_grid() -> float:
            started = time.perf_counter()
            grid = CandidateGrid(ws, run_id=run_id, read_only=True)
            elapsed = time.perf_counter() - started
            assert len(grid.cards) == JOBS * CANDIDATES
            return elapsed

        def thumbs() -> float:
            started = time.perf_counter()
            for row in rows:
                thumbnail_bytes(row["final_path"], row["sha256"], cache_dir=cache)
            return time.perf_counter() - started

        cold, warm, cold_thumbs, warm_thumbs = [], [], [], []
        for _ in range(2):
            shutil.rmtree(cache, ignore_errors=True)
            cold.append(open_grid())
            warm.extend(open_grid() for _ in range(3))
        for _ in range(2):
            shutil.rmtree(cache, ignore_errors=True)
            cold_thumbs.append(thumbs())
            warm_thumbs.extend(thumbs() for _ in range(3))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    cold_s, warm_s = _median(cold), _median(warm)
    return [BenchLine("grid_200", f"{cold_s / warm_s:.1f}x", ">= 10x",
                      extra=f"warm {warm_s:.2f} s (goal <= 1 s); cold {cold_s:.2f} s; CandidateGrid of "
                            f"{JOBS * CANDIDATES} 1024x1536 candidates; thumbnails alone cold "
                            f"{_median(cold_thumbs):.2f} s / warm {_median(warm_thumbs) * 1000:.0f} ms")]
