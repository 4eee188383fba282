"""Background removal: rembg offline with a model built here, the weights-free OpenCV backends,
the fallback chain, and the file step (naming, formats, archiving)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kroma_kit.errors import ConfigError, KromaError, ProviderNotConfigured
from kroma_kit.postprocess import bg_remove_file
from kroma_kit.providers.bg_opencv import AutoRemover, FlatRemover, GrabCutRemover
from kroma_kit.providers.bg_rembg import RembgRemover, clear_sessions, model_file, warm_session
from kroma_kit.providers.bg_remove import BackgroundRemovalFailed, get_bg_remover, remove_background
from tests.fakes.comic_images import CREAM, busy_figure, flat_figure, gradient_figure, iou
from tests.fakes.tiny_u2net import install_tiny_u2net


@pytest.fixture(scope="module")
def u2net_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("u2net-home")
    install_tiny_u2net(home, "u2net")
    install_tiny_u2net(home, "u2netp", layout="models")
    return home


# ---------------------------------------------------------------------------------------- rembg

def test_rembg_runs_offline_with_a_placed_model(u2net_home: Path) -> None:
    image, truth = flat_figure()
    result = RembgRemover(model="u2net", home=str(u2net_home)).remove(image, source_name="hero.png")
    assert result.backend == "rembg" and result.image.mode == "RGBA" and result.image.size == image.size
    assert iou(result.image, truth) >= 0.9
    assert result.cost_usd == 0.0 and result.usage["model"] == "u2net"


def test_rembg_finds_the_new_layout_and_keeps_one_warm_session(u2net_home: Path) -> None:
    assert model_file("u2netp", home=u2net_home) == u2net_home / "models" / "u2netp" / "u2netp.onnx"
    clear_sessions()
    with ThreadPoolExecutor(4) as pool:  # concurrent first use still builds exactly one session
        sessions = list(pool.map(lambda _: warm_session("u2netp", home=u2net_home), range(8)))
    assert all(session is sessions[0] for session in sessions)
    assert warm_session("u2netp", home=u2net_home) is sessions[0]
    image, truth = flat_figure(seed=3)
    result = RembgRemover(model="u2netp", home=str(u2net_home)).remove(image, source_name="a.png")
    assert iou(result.image, truth) >= 0.9


def test_missing_model_fails_fast_names_the_file_and_downloads_nothing(tmp_path: Path) -> None:
    empty_home = tmp_path / "empty-home"
    empty_home.mkdir()
    started = time.perf_counter()
    with pytest.raises(ProviderNotConfigured) as caught:
        RembgRemover(model="isnet-anime", home=str(empty_home)).remove(flat_figure()[0], source_name="a.png")
    assert time.perf_counter() - started < 1.0
    message = str(caught.value)
    assert "isnet-anime.onnx" in message and "U2NET_HOME" in message
    assert str(empty_home / "models" / "isnet-anime") in message
    assert list(empty_home.iterdir()) == []  # no half-made model folder, no partial download


def test_missing_model_falls_through_to_the_next_backend(tmp_path: Path) -> None:
    image, truth = flat_figure()
    result = remove_background(image, ["rembg", "auto"], source_name="page.png",
                               rembg={"home": str(tmp_path)})
    assert result.backend == "auto" and result.backends_tried == ["rembg", "auto"]
    assert result.notes[0].startswith("rembg: rembg model file 'u2net.onnx' not found")
    assert iou(result.image, truth) >= 0.95


def test_all_backends_failing_lists_every_message(tmp_path: Path) -> None:
    image, _ = busy_figure()
    with pytest.raises(BackgroundRemovalFailed) as caught:
        remove_background(image, ["rembg", "flat"], source_name="busy.png", rembg={"home": str(tmp_path)})
    message = str(caught.value)
    assert message.startswith("Background remove failed for busy.png. rembg: ")
    assert " | flat: " in message and "not a flat background" in message
    assert len(caught.value.failures) == 2


def test_unknown_backend_and_model_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Invalid background-remove backend 'magic'. Known: auto, flat"):
        remove_background(flat_figure()[0], ["rembg", "magic"])
    with pytest.raises(ConfigError, match="Invalid options for background-remove backend 'flat'"):
        get_bg_remover("flat", tolerance=3)
    with pytest.raises(BackgroundRemovalFailed, match="rembg: Unknown rembg model 'u3net'"):
        remove_background(flat_figure()[0], ["rembg"], rembg={"model": "u3net", "home": str(tmp_path)})


# ------------------------------------------------------------------------------ OpenCV backends

@pytest.mark.parametrize("remover", [FlatRemover(), GrabCutRemover(), GrabCutRemover(seed="rect"), AutoRemover()],
                         ids=["flat", "grabcut-key", "grabcut-rect", "auto"])
@pytest.mark.parametrize(("make", "threshold"), [(flat_figure, 0.95), (gradient_figure, 0.85)],
                         ids=["flat-bg", "gradient-bg"])
def test_weights_free_backends_recover_the_known_foreground(remover, make, threshold: float) -> None:
    image, truth = make()
    result = remover.remove(image, source_name="figure.png")
    assert result.image.size == image.size
    assert iou(result.image, truth) >= threshold


def test_auto_picks_flat_on_a_page_and_grabcut_on_a_busy_background() -> None:
    flat_result = AutoRemover().remove(flat_figure()[0], source_name="page.png")
    assert flat_result.usage["chosen"] == "flat" and "auto: chose flat" in flat_result.notes[-1]
    busy, truth = busy_figure()
    busy_result = AutoRemover().remove(busy, source_name="busy.png")
    assert busy_result.usage["chosen"] == "grabcut" and busy_result.backend == "auto"
    assert iou(busy_result.image, truth) >= 0.85


def test_flat_adapts_its_tolerance_to_noise_and_ignores_a_subject_on_the_edge() -> None:
    noisy, truth = gradient_figure(noise=10)
    result = FlatRemover().remove(noisy, source_name="noisy.png")
    assert result.usage["key_tolerance"] > 30 and iou(result.image, truth) >= 0.95
    page, truth = flat_figure()
    cropped = Image.fromarray(np.asarray(page)[:200])  # the body now runs off the bottom edge
    result = FlatRemover().remove(cropped, source_name="cropped.png")
    assert result.usage["border_fit"] < 0.95 and iou(result.image, truth[:200]) >= 0.95


def test_flat_keeps_the_subject_colours_and_feathers_only_the_edge() -> None:
    image, truth = flat_figure()
    alpha = np.asarray(FlatRemover().remove(image, source_name="a.png").image.getchannel("A"))
    assert alpha[0, 0] == 0 and alpha[truth].mean() > 250
    assert 0 < ((alpha > 0) & (alpha < 255)).sum() < truth.sum() * 0.2  # a soft rim, not a blur


# --------------------------------------------------------------------------------- file step

def _save(image: Image.Image, path: Path) -> Path:
    image.save(path)
    return path


def test_bg_remove_file_names_records_and_archives(tmp_path: Path) -> None:
    source = _save(flat_figure()[0], tmp_path / "Style 1 Scene-01__c2.png")
    out, archive = tmp_path / "background_removed", tmp_path / "archive" / "replaced"
    record = bg_remove_file(source, out, backends=["flat"], archive_replaced_dir=archive)
    target = out / "style_1_scene-01__c2_nobg.png"
    assert record.output == str(target) and record.ok
    assert record.to_dict()["backend"] == "flat" and record.fields["backends_tried"] == ["flat"]
    assert record.fields["refine_openai"] is False and record.fields["refine_error"] is None
    assert Image.open(target).mode == "RGBA"
    assert set(record.timings_ms) >= {"read", "remove", "write", "total"}
    again = bg_remove_file(source, out, backends=["flat"], archive_replaced_dir=archive)
    assert len(again.archived) == 1 and "_replaced_" in Path(again.archived[0]).name
    assert sorted(p.name for p in out.iterdir()) == [target.name]  # no temp files left behind


def test_bg_remove_file_jpg_is_flattened_on_white_and_crop_trims(tmp_path: Path) -> None:
    source = _save(flat_figure()[0], tmp_path / "page.png")
    record = bg_remove_file(source, tmp_path / "out", backends=["flat"], fmt="jpeg", crop=True)
    assert record.output.endswith("page_nobg.jpg")
    with Image.open(record.output) as written:
        assert written.mode == "RGB" and written.size[0] < 320  # cropped to the figure
        corner = written.getpixel((0, 0))
    assert min(corner) >= 240 and corner != CREAM  # white page, not the original cream


def test_bg_remove_file_failure_carries_the_record_and_writes_nothing(tmp_path: Path) -> None:
    source = _save(busy_figure()[0], tmp_path / "busy.png")
    with pytest.raises(KromaError) as caught:
        bg_remove_file(source, tmp_path / "out", backends=["flat"])
    record = caught.value.record
    assert record.output is None and record.errors and record.fields["backends_tried"] == ["flat"]
    assert not (tmp_path / "out").exists()
