"""The OpenAI refine pass after background removal (seed step ``bg_refine_openai``), against the
fake OpenAI Images server."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from kroma_kit.errors import ConfigError, KromaError
from kroma_kit.postprocess import bg_remove_file
from tests.fakes.comic_images import flat_figure

openai_images = pytest.importorskip("kroma_kit.providers.openai_images")
from tests.fakes.openai_images_server import FakeOpenAIImagesServer, Reply  # noqa: E402


@pytest.fixture
def winner(tmp_path: Path) -> Path:
    path = tmp_path / "style_1_scene_01__c2.png"
    flat_figure(96, 80)[0].save(path)
    return path


@pytest.fixture
def fake_openai():
    with FakeOpenAIImagesServer() as fake:
        yield fake


def test_refine_replaces_the_cutout_and_archives_it(tmp_path: Path, fake_openai, winner: Path) -> None:
    provider = openai_images.OpenAIImagesProvider(api_key="sk-test", base_url=fake_openai.base_url)
    archive = tmp_path / "replaced"
    record = bg_remove_file(winner, tmp_path / "bg", backends=["flat"], refine_openai=True,
                            refine_required=True, refiner=provider, confirm_spend=True,
                            archive_replaced_dir=archive,
                            refine_options={"model": "gpt-image-1", "quality": "low", "prompt": "Clean edges."})
    request = fake_openai.last_request
    assert request.endpoint == "edits" and request.params["background"] == "transparent"
    assert request.params["prompt"] == "Clean edges." and "size" not in request.params
    assert record.fields["refine_openai"] is True and record.fields["refine_error"] is None
    assert record.cost_usd > 0 and len(record.archived) == 1 and "openai_refine" in record.usage
    assert Path(record.archived[0]).read_bytes() != Path(record.output).read_bytes()


def test_refine_failure_is_recorded_or_aborts_when_required(tmp_path: Path, fake_openai, winner: Path) -> None:
    provider = openai_images.OpenAIImagesProvider(api_key="sk-test", base_url=fake_openai.base_url, max_attempts=1)
    fake_openai.script(Reply.api_error(400, "Invalid image file or mode for image 1."))
    record = bg_remove_file(winner, tmp_path / "bg", backends=["flat"], refine_openai=True,
                            refiner=provider, confirm_spend=True)
    assert record.fields["refine_openai"] is False and "Invalid image file" in record.fields["refine_error"]
    assert Image.open(record.output).mode == "RGBA"  # the plain cutout stays
    with pytest.raises(KromaError, match="OpenAI refine failed for style_1_scene_01__c2.png: .*confirm_spend"):
        bg_remove_file(winner, tmp_path / "bg", backends=["flat"], refine_openai=True, refine_required=True,
                       refiner=provider)
    with pytest.raises(ConfigError, match="must match bg_remove.format"):
        bg_remove_file(winner, tmp_path / "bg", backends=["flat"], fmt="webp", refine_openai=True,
                       refine_options={"output_format": "png"}, refiner=provider)
