"""Reference, 360° portfolio and scene images as pipeline runs with the offline ``local``
sketcher and the paid ``openai`` provider (fake Images API on loopback): run log, ranking,
candidates, spend lock, cost events and one character image row per job winner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kroma_kit.catalog.runs import get_run
from kroma_kit.characters import images, profiles
from kroma_kit.characters.generation import CharacterRunRequest, generate_character_images, plan_character_run
from kroma_kit.characters.records import DEFAULT_PORTFOLIO_VIEWS
from kroma_kit.errors import InputError, SpendError
from tests.fakes.openai_images_server import FakeOpenAIImagesServer


def _req(kind: str, **fields) -> CharacterRunRequest:
    return CharacterRunRequest(project="demo", code="courier", kind=kind, provider=fields.pop("provider", "local"),
                               **fields)


def test_reference_run_records_prompt_provider_metrics_and_keeps_history(workspace, chars_project):
    first = generate_character_images(workspace, _req("reference", prompt='My "edited" prompt', candidates=2))
    second = generate_character_images(workspace, _req("reference", candidates=1))
    (image,) = first.images
    assert image.kind == "reference" and image.status == "succeeded" and image.provider == "local"
    assert image.prompt == "My edited prompt"
    assert isinstance(image.metrics["duration_ms"], int) and image.metrics["candidates"] == 2
    assert image.metrics["winner_reason"]
    assert image.path.is_file() and image.sha256 and image.run_id == first.summary.run_id
    log = json.loads(Path(first.summary.run_log_path).read_text())
    assert log["stage"] == "character_reference" and len(log["jobs"][0]["candidates"]) == 2
    assert log["jobs"][0]["character_job"]["kind"] == "reference"
    assert get_run(workspace, first.summary.run_id)["status"] == "done"
    references = images.list_character_images(workspace, "demo", "courier", kind="reference")
    assert [r.id for r in references[:2]] == [second.images[0].id, image.id]  # history, newest first
    assert len(references) == 3  # + the sample sheet
    with Image.open(image.path) as picture:  # a cut-out: transparent background
        assert picture.mode == "RGBA" and picture.getpixel((0, 0))[3] == 0
        colours = np.asarray(picture.convert("RGB"))[np.asarray(picture.getchannel("A")) > 200]
    teal = np.array([0x2C, 0x7A, 0x96])
    assert (np.abs(colours.astype(int) - teal).max(axis=1) < 12).mean() > 0.1  # signature colour drawn


def test_portfolio_is_one_run_of_six_views_plus_extra_and_is_recognisable(workspace, chars_project):
    result = generate_character_images(workspace, _req("portfolio", extra_views=["smile"]))
    assert result.summary.jobs_total == 7 and not result.failures
    assert [i.view for i in result.images] == [*DEFAULT_PORTFOLIO_VIEWS, "smile"]
    assert len({i.run_id for i in result.images}) == 1
    best = images.best_reference(workspace, "demo", "courier")
    assert all(i.metrics and i.prompt and best.id for i in result.images)
    widths = {}
    darkness = {}
    for image in result.images:
        with Image.open(image.path) as picture:
            alpha = np.asarray(picture.getchannel("A")) > 128
            columns = np.where(alpha.any(axis=0))[0]
            widths[image.view] = columns.max() - columns.min()
            darkness[image.view] = np.asarray(picture.convert("L"))[alpha].mean()
    assert widths["left_profile"] < 0.6 * widths["front"] and widths["back"] > 0.9 * widths["front"]
    assert darkness["back"] < 0.8 * darkness["front"]
    paths = images.character_reference_images(workspace, "demo", "courier")
    assert paths[0] == best.path and [p.name.split("_")[1] for p in paths[1:3]] == ["front", "three"]


def test_scene_image_composites_the_character_into_the_scene_ref(workspace, chars_project):
    result = generate_character_images(workspace, _req("scene", scene_context="crossing the harbor at dusk",
                                                       scene_ref="inputs/scenes/harbor.png"))
    (image,) = result.images
    assert image.kind == "scene" and "crossing the harbor at dusk" in image.prompt
    with Image.open(image.path) as picture, Image.open(Path(chars_project["root"]) / "inputs/scenes/harbor.png") as bg:
        assert picture.size == bg.size
        diff = np.abs(np.asarray(picture.convert("RGB"), int) - np.asarray(bg.convert("RGB"), int)).max(axis=2)
    changed = (diff > 30).mean()
    assert 0.02 < changed < 0.4  # the character was placed, the scene kept


def test_bad_requests_stop_before_anything_is_written(workspace, chars_project):
    runs_dir = Path(chars_project["root"]) / "runs"
    before = sorted(runs_dir.iterdir())
    with pytest.raises(InputError, match="no reference image yet"):
        profiles.create_character(workspace, "demo", "ghost", "Ghost")
        generate_character_images(workspace, CharacterRunRequest(project="demo", code="ghost", kind="portfolio",
                                                                 provider="local"))
    with pytest.raises(InputError, match="scene context"):
        generate_character_images(workspace, _req("scene", scene_context="  "))
    with pytest.raises(InputError, match="Unknown character image provider"):
        generate_character_images(workspace, _req("reference", provider="dalle"))
    with pytest.raises(SpendError, match="exceeds limit"):
        generate_character_images(workspace, _req("reference", candidates=99))
    assert sorted(runs_dir.iterdir()) == before
    assert len(images.list_character_images(workspace, "demo", "ghost")) == 0


def test_openai_portfolio_edits_the_reference_and_needs_confirm_spend(workspace, chars_project, monkeypatch):
    with FakeOpenAIImagesServer() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        request = _req("portfolio", provider="openai", views=["front", "back"])
        plan = plan_character_run(workspace, request)
        assert plan.paid and plan.estimated_cost_usd > 0
        with pytest.raises(SpendError):
            generate_character_images(workspace, request)
        assert fake.requests == []
        result = generate_character_images(workspace, request, confirm_spend=True)
    assert [i.view for i in result.images] == ["front", "back"]
    assert all(r.endpoint == "edits" for r in fake.requests) and len(fake.requests) == 2
    reference = images.best_reference(workspace, "demo", "courier")
    assert fake.requests[0].files[0].sha256 == reference.sha256  # the reference is the edit's input
    assert result.summary.actual_cost_usd > 0
    assert all(i.metrics["cost_usd"] > 0 for i in result.images)


def test_openai_reference_is_a_generation_from_the_prompt(workspace, chars_project, monkeypatch):
    with FakeOpenAIImagesServer() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        result = generate_character_images(workspace, _req("reference", provider="openai", prompt="Courier sheet"),
                                           confirm_spend=True)
    (call,) = fake.requests
    assert call.endpoint == "generations" and call.params["prompt"] == "Courier sheet"
    assert result.images[0].provider == "openai" and result.images[0].metrics["cost_usd"] > 0
