"""The chain on one file: order, seed naming, alpha end to end, archiving, failures, OpenAI refine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kroma_kit.errors import ConfigError, NotFoundError
from kroma_kit.postprocess import ChainConfig, ChainDirs, StepRecord, parse_postprocess_config, run_chain
from kroma_kit.providers.bg_remove import BackgroundRemovalFailed
from tests.fakes.comic_images import flat_figure, iou


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "outputs").mkdir(parents=True)
    return root


@pytest.fixture
def winner(project: Path) -> tuple[Path, np.ndarray]:
    image, truth = flat_figure(96, 80)
    path = project / "outputs" / "style_1_scene_01__c2.png"
    image.save(path)
    return path, truth


def _config(**changes) -> ChainConfig:
    postprocess = parse_postprocess_config({
        "bg_remove": {"backends": ["auto"]},
        "upscale": {"backend": "realesrgan", "scale": 2, "device": "cpu"},
        "color": {"profile": "cinematic_warm", "settings_file": None},
    })
    return ChainConfig(postprocess=postprocess, **{"bg_remove": True, "upscale": True, "color": True, **changes})


def test_full_chain_names_orders_and_keeps_alpha(project: Path, winner: tuple[Path, np.ndarray]) -> None:
    path, truth = winner
    seen: list[StepRecord] = []
    result = run_chain(path, ChainDirs.for_project(project), _config(), on_step=seen.append)
    assert result.ok and [s.step for s in seen] == ["bg_remove", "upscale", "color"]
    assert result.pipeline_order == ["bg_remove", "upscale", "color"]
    names = [Path(s.output).relative_to(project).as_posix() for s in result.steps]
    assert names == ["background_removed/style_1_scene_01__c2_nobg.png",
                     "upscaled/style_1_scene_01__c2_nobg_x2.png",
                     "color_corrected/style_1_scene_01__c2_nobg_x2_cinematic_warm.png"]
    assert result.final_path == result.steps[-1].output
    with Image.open(result.steps[1].output) as upscaled, Image.open(result.final_path) as final:
        assert final.mode == "RGBA" and final.size == (192, 160)
        assert final.getchannel("A").tobytes() == upscaled.getchannel("A").tobytes()
        big_truth = np.asarray(Image.fromarray(truth).resize((192, 160), Image.Resampling.NEAREST))
        assert iou(final, big_truth) >= 0.9
    record = result.to_dict()
    assert record["bg_remove"]["backend"] == "auto" and record["upscale"]["model"] == "realesr-animevideov3-x2"
    assert record["color"]["profile"] == "cinematic_warm" and record["color"]["settings"] == "builtin"


def test_rerun_archives_every_replaced_output(project: Path, winner: tuple[Path, np.ndarray]) -> None:
    dirs = ChainDirs.for_project(project)
    run_chain(winner[0], dirs, _config())
    again = run_chain(winner[0], dirs, _config())
    assert again.ok and all(len(step.archived) == 1 for step in again.steps)
    assert len(list((project / "archive" / "replaced").iterdir())) == 3


def test_a_failing_step_stops_the_chain_and_leaves_files_intact(project: Path, tmp_path: Path,
                                                                winner: tuple[Path, np.ndarray]) -> None:
    before = winner[0].read_bytes()
    config = _config(bg_backends=["rembg"])
    config.postprocess.bg_remove.rembg.home = str(tmp_path / "no-models")
    result = run_chain(winner[0], ChainDirs.for_project(project), config)
    assert not result.ok and result.failed_step == "bg_remove" and len(result.steps) == 1
    assert "u2net.onnx" in result.steps[0].errors[0] and result.final_path == str(winner[0])
    assert winner[0].read_bytes() == before and not (project / "upscaled").exists()
    with pytest.raises(BackgroundRemovalFailed, match="Background remove failed for style_1_scene_01__c2.png"):
        result.raise_for_error()


def test_bad_settings_fail_before_any_file_is_written(project: Path, winner: tuple[Path, np.ndarray]) -> None:
    with pytest.raises(NotFoundError, match="Profile 'sepia' not found in builtin"):
        run_chain(winner[0], ChainDirs.for_project(project), _config(color_profile="sepia"))
    with pytest.raises(ConfigError, match="Invalid background-remove backend 'magic'"):
        run_chain(winner[0], ChainDirs.for_project(project), _config(bg_backends=["magic"]))
    assert not (project / "background_removed").exists()


def test_from_settings_reads_the_pipeline_toggles(project: Path, winner: tuple[Path, np.ndarray]) -> None:
    from kroma_kit.settings_models import PostprocessSettings

    toggles = PostprocessSettings(bg_remove=True, bg_remove_backends=["flat"], upscale=True,
                                  upscale_backend="lanczos", upscale_scale=3, color=False)
    config = ChainConfig.from_settings(toggles, _config().postprocess)
    result = run_chain(winner[0], ChainDirs.for_project(project, archive_replaced=False), config)
    assert [s.step for s in result.steps] == ["bg_remove", "upscale"]
    assert result.steps[0].fields["backend"] == "flat"
    assert result.steps[1].output.endswith("_nobg_x3.png") and result.steps[1].fields["backend"] == "lanczos"
