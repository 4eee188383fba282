"""The sample project's guard fits its own navy-ink hand: a normal run of the sample (the demo's
style stage) has a PASS in every job, while a different hand (the warm-wash style) and a strongly
coloured image are warned about. Real local runs of the sample project, verdicts read back from
the catalog the panels and dashboards read."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PIL import Image

from kroma_kit.analytics import candidates
from kroma_kit.config import resolve_project_settings
from kroma_kit.pipeline.execute import execute_run
from kroma_kit.pipeline.guard import GuardSettings, check_file
from kroma_kit.pipeline.plan_model import PlanRequest


def _verdicts_by_job(workspace, run_id: str) -> dict[str, list[str]]:
    by_job: dict[str, list[str]] = {}
    for row in candidates(workspace, run_id=run_id).itertuples():
        by_job.setdefault(row.job_key, []).append(row.verdict)
    return by_job


def test_every_job_of_a_sample_run_has_a_pass(workspace, demo_project):
    summary = execute_run(workspace, PlanRequest(project="demo", stage="style", candidates=3, provider="local"))
    assert summary.status == "done"
    by_job = _verdicts_by_job(workspace, summary.run_id)
    assert len(by_job) == 4 and all(len(verdicts) == 3 for verdicts in by_job.values())
    no_pass = {job: verdicts for job, verdicts in by_job.items() if "pass" not in verdicts}
    assert no_pass == {}, f"jobs with no PASS under the sample's guard: {no_pass}"


def test_a_different_hand_and_a_strongly_coloured_image_warn(workspace, demo_project, tmp_path):
    root = Path(demo_project["root"])
    guard = GuardSettings.from_mapping(resolve_project_settings(root).manifest.output_guard.model_dump())
    saturated = tmp_path / "poster.png"
    poster = Image.new("RGB", (96, 64), (230, 40, 30))
    poster.paste((30, 60, 220), (0, 32, 96, 64))  # two flat colours: not blank, far from any hand
    poster.save(saturated)
    assert check_file(saturated, guard)["verdict"] == "warn"
    assert check_file(root / "inputs/styles/warm_wash.png", guard)["verdict"] == "warn"
    assert check_file(root / "inputs/styles/noir_ink.png", guard)["verdict"] == "pass"  # its own hand

    warm = execute_run(workspace, PlanRequest(project="demo", stage="style", candidates=3, provider="local",
                                              manifest_overrides={"style_refs": ["inputs/styles/warm_wash.png"]}))
    by_job = _verdicts_by_job(workspace, warm.run_id)
    assert all("warn" in verdicts for verdicts in by_job.values()), by_job
    counts = Counter(v for verdicts in by_job.values() for v in verdicts)
    assert counts["warn"] > counts["pass"], counts  # the warm hand mostly warns (chroma ~36-52 vs 38)
