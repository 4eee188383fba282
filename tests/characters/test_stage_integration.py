"""Stage 4 (characters) of the staged pipeline takes each character from its reference set
(best reference + portfolio) as the scene's cast declares it, and the local editor composites
each character's cut-out into the scene where the shot places it: no page rectangle, no oval."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kroma_kit.characters.generation import CharacterRunRequest, generate_character_images
from kroma_kit.characters.images import character_reference_images
from kroma_kit.errors import ConfigError
from kroma_kit.pipeline.plan import plan_run
from kroma_kit.pipeline.plan_model import PlanRequest
from kroma_kit.providers.local_edit import Look, composite_characters


def _declare(project: dict, cast: dict) -> None:
    manifest = Path(project["root"]) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["scene_characters"] = cast
    manifest.write_text(json.dumps(data))


def test_a_scene_takes_its_declared_cast_from_the_reference_sets(workspace, chars_project):
    generate_character_images(workspace, CharacterRunRequest(project="demo", code="courier", kind="portfolio",
                                                             provider="local", views=["front", "back"]))
    _declare(chars_project, {"street": [{"code": "courier", "x": 0.25, "height": 0.6}],
                             "inputs/scenes/room.png": ["detective", "courier"]})
    plan = plan_run(workspace, PlanRequest(project="demo", stage="characters"))
    jobs = {job.scene_key: job for job in plan.jobs}
    courier_files = character_reference_images(workspace, "demo", "courier")
    assert len(courier_files) == 3  # best reference, front, back
    street = jobs["street"]
    assert street.input_paths[-3:] == courier_files and street.character_ref_count == 3
    assert street.character_placements == [{"code": "courier", "x": 0.25, "height": 0.6, "baseline": None,
                                             "input_offset": 0}]
    room = jobs["room"]
    assert [p["code"] for p in room.character_placements] == ["detective", "courier"]
    assert room.character_placements[1]["input_offset"] == 1  # after the detective's one reference
    rooftop = jobs["rooftop"]  # no cast declared: every character with a reference
    assert sorted(p["code"] for p in rooftop.character_placements) == ["courier", "detective"]
    assert "characters/detective.png" not in " ".join(street.input_images)  # not the loose manifest file


def test_an_unknown_cast_member_is_named(workspace, chars_project):
    _declare(chars_project, {"street": ["courier", "nobody"]})
    with pytest.raises(ConfigError, match="Scene 'street': character 'nobody' has no reference image"):
        plan_run(workspace, PlanRequest(project="demo", stage="characters"))
    _declare(chars_project, {"street": [{"code": "courier", "x": 3}]})
    with pytest.raises(ConfigError, match="courier.x must be a number from 0.0 to 1.0"):
        plan_run(workspace, PlanRequest(project="demo", stage="characters"))


def test_a_jobs_file_entry_declares_its_characters(workspace, chars_project, tmp_path):
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"id": "panel_1", "prompt": "two friends", "mode": "characters",
                                 "input_images": ["inputs/scenes/street.png"],
                                 "characters": [{"code": "detective", "x": 0.7}, "courier"]}]))
    plan = plan_run(workspace, PlanRequest(project="demo", jobs_file=jobs))
    (job,) = plan.jobs
    assert job.character_ref_count == 2 and [p["code"] for p in job.character_placements] == ["detective", "courier"]
    request = job.image_request(1)
    assert request.character_placements[0]["x"] == 0.7


def test_the_local_editor_composites_cut_outs_where_the_shot_places_them(chars_project):
    root = Path(chars_project["root"])
    canvas = np.full((400, 600, 3), 0.2, dtype=np.float32)
    look = Look(**{name: 0.5 for name in Look.__dataclass_fields__} | {"posterize_levels": 6})
    out = composite_characters(canvas, [root / "characters/courier.png"], look, np.random.default_rng(1),
                               [{"code": "courier", "input_offset": 0, "x": 0.25, "height": 0.6, "baseline": 0.95}])
    changed = np.abs(out - canvas).max(axis=2) > 0.05
    ys, xs = np.where(changed)
    assert abs(xs.mean() - 150) < 20 and ys.max() <= 381  # centred at x = 25 %, feet on 95 %
    assert 0.5 * 240 < ys.max() - ys.min() + 1 <= 240 + 2  # 60 % of the frame high
    with Image.open(root / "characters/courier.png") as sheet:
        page = np.asarray(sheet.convert("RGB"), dtype=np.float32)[2, 2] / 255.0
    near_page = np.abs(out - (page * 0.88 + 0.2 * 0.12)).max(axis=2) < 0.03
    assert near_page.sum() < 0.05 * changed.sum()  # no page (a sticker would be > 40 %); white sneakers are
    shadow = np.abs(out - (np.array([214, 210, 200]) / 255.0 * 0.88 + 0.2 * 0.12)).max(axis=2) < 0.02
    assert shadow.sum() < 0.01 * changed.sum()  # nor its oval floor shadow
    untouched_box = changed[ys.min():ys.max(), xs.min():xs.max()]
    assert 0.2 < untouched_box.mean() < 0.9  # a figure's outline, not a filled rectangle
