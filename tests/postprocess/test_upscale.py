"""Upscaling: Real-ESRGAN on CPU with a bundled anime model, Lanczos, alpha handling, the file step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kroma_kit.errors import ConfigError
from kroma_kit.postprocess import upscale_file
from kroma_kit.providers.upscale import upscale_image
from kroma_kit.providers.upscale_realesrgan import RealEsrganUpscaler, pick_model, resolve_device
from tests.fakes.comic_images import flat_figure


def _small_rgba() -> Image.Image:
    image, truth = flat_figure(64, 48)
    rgba = image.convert("RGBA")
    rgba.putalpha(Image.fromarray((truth * 255).astype(np.uint8), "L"))
    return rgba


@pytest.mark.parametrize(("scale", "model_file"), [(2, "realesr-animevideov3-x2"), (3, "realesr-animevideov3-x3"),
                                                   (4, "realesr-animevideov3-x4")])
def test_realesrgan_animevideov3_on_cpu(scale: int, model_file: str) -> None:
    image = flat_figure(64, 48)[0]
    result = upscale_image(image, "realesrgan", scale, model="animevideov3", device="cpu")
    assert result.image.size == (64 * scale, 48 * scale) and result.image.mode == "RGB"
    assert (result.backend, result.model, result.device) == ("realesrgan", model_file, "cpu")
    # it really upscaled the picture: the page stays cream, the ink stays dark
    pixels = np.asarray(result.image)
    assert pixels[0, 0].min() > 200 and pixels.min() < 60


def test_realesrgan_keeps_alpha_as_a_lanczos_resize_of_the_input_alpha() -> None:
    rgba = _small_rgba()
    result = upscale_image(rgba, RealEsrganUpscaler(device="cpu"), 2)
    assert result.image.mode == "RGBA" and result.image.size == (128, 96)
    expected = rgba.getchannel("A").resize((128, 96), Image.Resampling.LANCZOS)
    assert result.image.getchannel("A").tobytes() == expected.tobytes()


def test_larger_models_are_scaled_down_to_the_requested_scale() -> None:
    assert pick_model("animevideov3", 3) == (1, 3)
    assert pick_model("x4plus-anime", 2) == (3, 4)
    assert pick_model("x4plus", 3) == (4, 4)
    with pytest.raises(ConfigError, match="Unknown Real-ESRGAN model 'x8'"):
        pick_model("x8", 2)


def test_device_choice_never_guesses_a_gpu_for_cpu() -> None:
    assert resolve_device("cpu") == -1 and resolve_device(0) == 0
    assert resolve_device("auto") >= -1
    with pytest.raises(ConfigError):
        resolve_device("fast")


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_lanczos_sizes_and_alpha(scale: int) -> None:
    rgba = _small_rgba()
    result = upscale_image(rgba, "lanczos", scale)
    assert result.image.size == (64 * scale, 48 * scale) and result.image.mode == "RGBA"
    assert result.model == "lanczos" and result.device == "cpu"
    unsharpened = upscale_image(rgba.convert("RGB"), "lanczos", scale, sharpen=False).image
    plain = rgba.convert("RGB").resize(unsharpened.size, Image.Resampling.LANCZOS)
    assert unsharpened.tobytes() == plain.tobytes()
    assert result.image.convert("RGB").tobytes() != plain.tobytes()  # the unsharp mask did something


def test_bad_scale_backend_and_tile_are_config_errors() -> None:
    image = flat_figure(64, 48)[0]
    with pytest.raises(ConfigError, match="Invalid upscale scale 5"):
        upscale_image(image, "lanczos", 5)
    with pytest.raises(ConfigError, match="Invalid upscale backend 'waifu2x'. Known: lanczos, realesrgan"):
        upscale_image(image, "waifu2x", 2)
    with pytest.raises(ConfigError, match="tile"):
        RealEsrganUpscaler(tile=16)


def test_upscale_file_names_records_and_archives(tmp_path: Path) -> None:
    source = tmp_path / "hero_nobg.png"
    _small_rgba().save(source)
    archive = tmp_path / "archive"
    record = upscale_file(source, tmp_path / "upscaled", backend="realesrgan", scale=2, tile=0,
                          archive_replaced_dir=archive, options={"device": "cpu"})
    assert record.output == str(tmp_path / "upscaled" / "hero_nobg_x2.png")
    assert record.to_dict()["model"] == "realesr-animevideov3-x2" and record.fields["scale"] == 2
    with Image.open(record.output) as written:
        assert written.size == (128, 96) and written.mode == "RGBA"
    again = upscale_file(source, tmp_path / "upscaled", backend="python", scale=2, fmt="auto",
                         archive_replaced_dir=archive, options={"device": "cpu"})
    assert again.fields["backend"] == "realesrgan" and len(again.archived) == 1
    jpg = upscale_file(source, tmp_path / "upscaled", backend="lanczos", scale=3, fmt="jpeg")
    assert jpg.output.endswith("hero_nobg_x3.jpg") and "flattened onto white" in jpg.notes[-1]
