"""Planning: prompts and job ids as the seed makes them, the characters stage, --from-run, the
jobs file, and bad input stopped before any call (kroma-behavior.md §1, §3.1)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from kroma_kit.errors import ConfigError, ImageInputError, InputError, NotFoundError, SpendError
from kroma_kit.pipeline.execute import execute_run
from kroma_kit.pipeline.plan import compose_prompt, plan_run
from kroma_kit.pipeline.plan_model import PlanRequest
from kroma_kit.providers.pricing import estimate_image_cost
from tests.pipeline.runsupport import SCENES, local_request, openai_request

STYLE = "Preserve geometry and perspective. Apply one coherent noir drawing hand. No text, no logos, no watermark."
NIGHT = "Night scene with controlled deep shadows, no topology changes."
RAIN = "Visible wet surfaces, puddles, and reflection cues; no style drift."
NO_INVENTION = "Do not invent new object categories."


def test_weather_night_rain_prompt_is_the_seed_example(workspace, demo):
    plan = plan_run(workspace, PlanRequest(project="demo", stage="weather", time="night", weather="rain"))
    assert {job.prompt for job in plan.jobs} == {f"{STYLE} {NIGHT} {RAIN} {NO_INVENTION}"}
    assert [job.id for job in plan.jobs] == ["weather_1_street", "weather_2_room", "weather_3_rooftop",
                                             "weather_4_harbor"]
    assert plan.jobs[0].input_images == ["inputs/scenes/street.png", "inputs/styles/noir_ink.png"]
    assert plan.provider == "local" and plan.estimated_cost_usd == 0.0
    assert plan.candidates == 3 and plan.candidates_total == 12


def test_style_and_time_prompts_and_no_invention_switch():
    prompts = {"style_base": " A. ", "time_day": "D.", "weather_clear": "C.", "characters_base": "K."}
    assert compose_prompt(prompts, "style", "day", "clear") == f"A. {NO_INVENTION}"
    assert compose_prompt(prompts, "time", "day", "clear") == f"A. D. {NO_INVENTION}"
    assert compose_prompt(prompts, "weather", "day", "clear", no_invention=False) == "A. D. C."
    assert compose_prompt(prompts, "characters", "day", "clear") == f"A. D. C. K. {NO_INVENTION}"
    with pytest.raises(ConfigError, match="prompts.time_night"):
        compose_prompt(prompts, "time", "night", "clear")


def test_characters_stage_appends_character_refs_after_style_refs(workspace, demo):
    plan = plan_run(workspace, PlanRequest(project="demo", stage="characters", time="night", weather="rain"))
    job = plan.jobs[0]
    assert job.id == "characters_1_street"
    assert job.prompt.startswith(f"{STYLE} {NIGHT} {RAIN} Place the referenced characters")
    assert job.prompt.endswith(NO_INVENTION)
    manifest = json.loads((Path(demo["root"]) / "manifest.json").read_text())
    assert job.input_images == [SCENES[0], *manifest["style_refs"], *manifest["character_refs"]]
    assert job.character_ref_count == len(manifest["character_refs"]) > 0


def test_job_id_uses_the_sanitized_scene_stem(workspace, demo):
    root = Path(demo["root"])
    shutil.copy(root / SCENES[0], root / "inputs/scenes/Scene 01 (final).PNG")
    plan = plan_run(workspace, PlanRequest(project="demo", scene_refs=["inputs/scenes/Scene 01 (final).PNG"]))
    assert [job.id for job in plan.jobs] == ["style_1_scene_01_final"]


def test_from_run_uses_the_winners_and_keeps_scene_keys(workspace, demo):
    first = execute_run(workspace, local_request(scenes=2, candidates=2))
    plan = plan_run(workspace, PlanRequest(project="demo", stage="time", time="night", from_run=first.run_id[:8]))
    assert [job.id for job in plan.jobs] == ["time_1_street", "time_2_room"]
    winners = [Path(path).relative_to(demo["root"]).as_posix() for path in first.outputs]
    assert [job.input_images[0] for job in plan.jobs] == winners
    assert plan.jobs[0].source == {"from_run": first.run_id, "from_job": "style_1_street", "scene_ref": winners[0]}


def test_jobs_file_like_the_seed(workspace, demo, tmp_path):
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text(json.dumps([
        {"id": "cover", "prompt": "Ink it.", "input_images": [SCENES[1], "inputs/styles/noir_ink.png"]},
        {"id": "panel-2", "prompt": "Rain.", "input_images": [SCENES[2]], "mode": "weather", "weather": "rain"},
    ]))
    plan = plan_run(workspace, PlanRequest(project="demo", jobs_file=jobs_file, candidates=1))
    assert [(job.id, job.mode, job.time, job.weather, job.prompt) for job in plan.jobs] == [
        ("cover", "style", "day", "clear", "Ink it."), ("panel-2", "weather", "day", "rain", "Rain.")]
    assert plan.jobs[0].input_images == [SCENES[1], "inputs/styles/noir_ink.png"]
    assert plan.source["kind"] == "jobs_file"


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "is not valid JSON"),
    ('{"id": "a"}', "must contain a JSON array"),
    ("[]", "has no entries"),
    ('["cover"]', "entry 1 must be an object"),
    ('[{"prompt": "p", "input_images": ["inputs/scenes/street.png"]}]', "entry 1 missing 'id'"),
    ('[{"id": "a", "input_images": ["inputs/scenes/street.png"]}]', "entry 1 missing 'prompt'"),
    ('[{"id": "a", "prompt": "p", "input_images": []}]', "'input_images' must be a non-empty array"),
    ('[{"id": "a/../b", "prompt": "p", "input_images": ["x.png"]}]', "cannot name an output file"),
    ('[{"id": "a", "prompt": "p", "input_images": ["inputs/scenes/street.png"], "mode": "sketch"}]',
     "Invalid mode in jobs file entry 1 'sketch'"),
    ('[{"id": "a", "prompt": "p", "input_images": ["inputs/scenes/street.png"]},'
     ' {"id": "a", "prompt": "q", "input_images": ["inputs/scenes/room.png"]}]', "share the id 'a'"),
    ('[{"id": "a", "prompt": "p", "input_images": ["inputs/scenes/missing.png"]}]', "missing.png"),
])
def test_broken_jobs_files_are_refused_with_one_clear_error(workspace, demo, tmp_path, content, message):
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text(content)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("[", r"\[")):
        plan_run(workspace, PlanRequest(project="demo", jobs_file=jobs_file))


def test_missing_jobs_file(workspace, demo, tmp_path):
    with pytest.raises(InputError, match="Jobs file not found"):
        plan_run(workspace, PlanRequest(project="demo", jobs_file=tmp_path / "nope.json"))


@pytest.mark.parametrize(("field", "value"), [("stage", "lighting"), ("time", "dusk"), ("weather", "hail")])
def test_unknown_stage_time_weather(workspace, demo, field, value):
    with pytest.raises(InputError, match=f"Invalid {field} '{value}'"):
        plan_run(workspace, PlanRequest(project="demo", **{field: value}))


def test_unknown_project(workspace):
    with pytest.raises(NotFoundError, match="Unknown project 'ghost'"):
        plan_run(workspace, PlanRequest(project="ghost"))


def _corrupt(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)


def _bomb(path: Path) -> None:
    Image.new("1", (9000, 9000)).save(path)  # a few KB on disk, 81 megapixels decoded


@pytest.mark.parametrize(("make", "message"), [
    (None, "Image not found"), (_corrupt, "image"), (_bomb, "decompression bomb")])
def test_bad_scene_stops_before_any_paid_call(workspace, demo, fake, openai_key, make, message):
    root = Path(demo["root"])
    bad = root / "inputs/scenes/bad.png"
    if make is not None:
        make(bad)
    request = openai_request(fake, scenes=0)
    request.scene_refs = [SCENES[0], "inputs/scenes/bad.png"]
    with pytest.raises(ImageInputError, match=message) as caught:
        execute_run(workspace, request, confirm_spend=True)
    assert "bad.png" in str(caught.value) and "style_2_bad" in str(caught.value)
    assert fake.requests == []
    assert not list((root / "runs").glob("*.json"))


def test_bad_style_ref_is_named(workspace, demo):
    _corrupt(Path(demo["root"]) / "inputs/styles/broken.png")
    with pytest.raises(ImageInputError, match="style ref unusable.*broken.png"):
        plan_run(workspace, PlanRequest(project="demo", manifest_overrides={"style_refs": ["inputs/styles/broken.png"]}))


def test_batch_guard_and_its_override(workspace, demo):
    small = {"safe_batch_limit": 3}
    with pytest.raises(SpendError, match=r"Batch exceeds safety limit \(3\).*--allow-large-batch"):
        plan_run(workspace, PlanRequest(project="demo", manifest_overrides=small))
    plan = plan_run(workspace, PlanRequest(project="demo", manifest_overrides=small, allow_large_batch=True))
    assert len(plan.jobs) == 4


def test_candidate_cap_applies_to_runs_not_dry_runs(workspace, demo):
    request = PlanRequest(project="demo", candidates=7)
    assert plan_run(workspace, request).candidates == 7
    with pytest.raises(SpendError, match="Candidate count 7 exceeds limit 6. Use --allow-many-candidates"):
        plan_run(workspace, request, mode="run")
    request.allow_many_candidates = True
    assert plan_run(workspace, request, mode="run").candidates_total == 28


def test_openai_plan_estimates_cost_without_network_or_key(workspace, demo, fake):
    plan = plan_run(workspace, openai_request(fake, scenes=4, candidates=3))
    assert plan.paid and plan.model == "gpt-image-2" and plan.size == "1024x1536" and plan.quality == "high"
    price = estimate_image_cost("gpt-image-2", "high", "1024x1536")
    assert [job.estimated_cost_usd for job in plan.jobs] == [pytest.approx(3 * price)] * 4
    assert plan.estimated_cost_usd == pytest.approx(12 * price)
    assert any("not configured" in warning for warning in plan.warnings)
    assert fake.requests == []
