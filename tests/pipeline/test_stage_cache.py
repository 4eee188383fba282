"""Stage caching by content hash: an unchanged candidate is reused (free, instant, marked), a
changed input or setting is made again, a cached file that went missing or changed is not
trusted, and --no-cache forces new work. Real runs of the sample project, real catalog."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from kroma_kit.catalog.runs import get_run
from kroma_kit.cli.main import main
from kroma_kit.imaging import sha256_file
from kroma_kit.pipeline.execute import execute_run
from kroma_kit.pipeline.stage_cache import cache_key
from tests.pipeline.runsupport import SCENES, local_request, openai_request


def _log(summary) -> dict:
    path = summary["run_log_path"] if isinstance(summary, dict) else summary.run_log_path
    return json.loads(Path(path).read_text())


def _candidates(log: dict) -> dict[tuple[str, int], dict]:
    return {(job["id"], c["candidate_index"]): c for job in log["jobs"] for c in job["candidates"]}


def _winners(log: dict) -> dict[str, tuple[int, str]]:
    return {job["id"]: (job["selected_candidate"], job["final_output"]) for job in log["jobs"]}


def test_a_rerun_of_the_sample_local_stage_is_all_cached_free_with_the_same_winners(workspace, demo):
    first = execute_run(workspace, local_request(candidates=1))  # the manifest's four scenes
    root = Path(demo["root"])
    digests = {path.name: sha256_file(path) for path in (root / "outputs").glob("*.png")}
    second = execute_run(workspace, local_request(candidates=1))
    one, two = _log(first), _log(second)
    assert second.status == "done" and len(two["jobs"]) == 4
    assert (first.candidates_cached, second.candidates_cached) == (0, 4)
    for key, candidate in _candidates(two).items():
        assert candidate["cached_from"] == {"run_id": first.run_id, "job_id": key[0], "candidate_index": key[1]}
        assert candidate["cost_usd"] == 0 and candidate["attempts"] == []
        assert candidate["cache_key"] == _candidates(one)[key]["cache_key"]
        assert candidate["seed"] == _candidates(one)[key]["seed"]  # the seed the image was made with
    assert _winners(two) == _winners(one)
    assert two["cost_events"] == [] and get_run(workspace, second.run_id)["cost_events"] == []
    assert {path.name: sha256_file(path) for path in (root / "outputs").glob("*.png")} == digests
    assert not list((root / "archive").rglob("*.png")), "nothing was replaced, so nothing was archived"


def test_a_paid_provider_is_not_called_or_charged_for_a_cached_candidate(workspace, demo, fake, openai_key):
    first = execute_run(workspace, openai_request(fake, scenes=1, candidates=2), confirm_spend=True)
    assert len(fake.requests) == 2 and first.actual_cost_usd > 0
    second = execute_run(workspace, openai_request(fake, scenes=1, candidates=2), confirm_spend=True)
    assert len(fake.requests) == 2, "the cache hit must not reach the provider"
    assert second.actual_cost_usd == 0 and _log(second)["cost_events"] == []
    assert get_run(workspace, second.run_id)["actual_cost_usd"] == 0
    third = execute_run(workspace, openai_request(fake, scenes=1, candidates=2, no_cache=True), confirm_spend=True)
    assert len(fake.requests) == 4 and third.actual_cost_usd > 0  # --no-cache: paid again, on purpose


def test_changing_one_scene_makes_only_that_scene_again(workspace, demo):
    first = execute_run(workspace, local_request(scenes=2, candidates=2))
    scene = Path(demo["root"]) / SCENES[1]
    pixels = np.asarray(Image.open(scene).convert("RGB")).copy()
    pixels[:8, :8] = 255 - pixels[:8, :8]  # a small edit: a different file, a different key
    Image.fromarray(pixels).save(scene)
    second = _log(execute_run(workspace, local_request(scenes=2, candidates=2)))
    changed = second["jobs"][1]["id"]
    for (job_id, _index), candidate in _candidates(second).items():
        if job_id == changed:
            assert candidate.get("cached_from") is None and candidate["attempts"]
        else:
            assert candidate["cached_from"]["run_id"] == first.run_id


def test_no_cache_on_the_cli_forces_new_work_and_still_records_keys(workspace, demo, capsys):
    args = ["run", "--project", "demo", "--provider", "local", "--scene-refs", SCENES[0], "--candidates", "1",
            "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert main([*args, "--no-cache"]) == 0
    forced_summary = json.loads(capsys.readouterr().out)
    assert forced_summary["candidates_cached"] == 0
    forced = _log(forced_summary)
    candidate = forced["jobs"][0]["candidates"][0]
    assert candidate.get("cached_from") is None and candidate["attempts"] and candidate["cache_key"]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["candidates_cached"] == 1 and printed["actual_cost_usd"] == 0
    cached = _log(printed)["jobs"][0]["candidates"][0]
    assert cached["cached_from"]["run_id"] == forced["run_id"] != first["run_id"]  # the newest entry wins


def test_a_missing_or_changed_cached_file_is_made_again_with_a_note(workspace, demo):
    first = _log(execute_run(workspace, local_request(scenes=1, candidates=3)))
    root = Path(demo["root"])
    outputs = {c["candidate_index"]: root / (c["final_output"] or c["output"]) for c in first["jobs"][0]["candidates"]}
    outputs[1].unlink()
    Image.new("RGB", (8, 8), "white").save(outputs[2])  # same name, other content
    second = _log(execute_run(workspace, local_request(scenes=1, candidates=3)))
    candidates = {c["candidate_index"]: c for c in second["jobs"][0]["candidates"]}
    assert candidates[1].get("cached_from") is None and candidates[2].get("cached_from") is None
    assert candidates[3]["cached_from"]["run_id"] == first["run_id"]
    assert all(candidates[i]["status"] == "done" and candidates[i]["attempts"] for i in (1, 2))
    notes = " ".join(second["warnings"])
    assert "c1" in notes and "is missing" in notes and "c2" in notes and "has changed" in notes


def test_the_key_changes_with_what_changes_the_image_and_only_with_that():
    base = {"inputs_sha256": ["a" * 64, "b" * 64], "prompt": "ink the street", "stage": "style",
            "time_of_day": "day", "weather": "clear", "seed": 7,
            "provider": {"provider": "openai", "model": "gpt-image-2", "quality": "high", "size": "1024x1536",
                         "base_url": "http://127.0.0.1:1/v1", "configured": True},
            "settings": {"output_guard": {"max_chroma_delta": 2.0}}}
    key = cache_key(**base)
    assert len(key) == 64 and key == cache_key(**base)
    changed = [
        {"seed": 8}, {"prompt": "ink the street at night"}, {"inputs_sha256": ["a" * 64, "c" * 64]},
        {"provider": {**base["provider"], "quality": "medium"}}, {"provider": {**base["provider"], "model": "x"}},
        {"settings": {"output_guard": {"max_chroma_delta": 9.0}}}, {"weather": "rain"},
    ]
    keys = {cache_key(**{**base, **change}) for change in changed}
    assert key not in keys and len(keys) == len(changed)
    # Where the call goes and whether a key is set change nothing in the image.
    moved = {**base["provider"], "base_url": "https://gateway.example/v1", "configured": False}
    assert cache_key(**{**base, "provider": moved}) == key


def test_the_grid_contact_sheet_and_plan_panel_show_and_set_the_cache(workspace, demo):
    from kroma_kit.figures.contact_sheet import CACHED_FILL
    from kroma_kit.pipeline.contact_sheet import run_contact_sheet
    from kroma_kit.widgets import CandidateGrid, PlanPanel

    panel = PlanPanel(workspace, project="demo", provider="local")
    assert panel.request().no_cache is False
    panel.use_cache.value = False
    assert panel.request().no_cache is True
    first = execute_run(workspace, local_request(scenes=1, candidates=2))
    second = execute_run(workspace, local_request(scenes=1, candidates=2))
    badges = {run.run_id: [card.badge.value for card in CandidateGrid(workspace, run_id=run.run_id,
                                                                     read_only=True).cards.values()]
              for run in (first, second)}
    assert len(badges[second.run_id]) == 2 and all("CACHED" in badge and first.run_id in badge
                                                   for badge in badges[second.run_id])
    assert not any("CACHED" in badge for badge in badges[first.run_id])

    def cached_pixels(run_id: str) -> int:
        pixels = np.asarray(run_contact_sheet(workspace, run_id, tile=128).image.convert("RGB"))
        return int(np.all(pixels == CACHED_FILL, axis=-1).sum())

    assert cached_pixels(second.run_id) > 2 * 100 and cached_pixels(first.run_id) == 0


def test_the_stage_cache_setting_off_makes_everything_again(workspace, demo):
    execute_run(workspace, local_request(scenes=1, candidates=1))
    off = {"pipeline": {"stage_cache": False}}
    again = _log(execute_run(workspace, local_request(scenes=1, candidates=1, settings_overrides=off)))
    candidate = again["jobs"][0]["candidates"][0]
    assert candidate.get("cached_from") is None and candidate["attempts"]
