"""``settings/postprocess.json``: defaults, the shipped file, and errors that name the key path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kroma_kit.errors import ConfigError
from kroma_kit.postprocess import PostprocessConfig, load_postprocess_config, parse_postprocess_config

REPO = Path(__file__).resolve().parents[2]


def test_shipped_file_is_valid_and_offline_first() -> None:
    config = load_postprocess_config(REPO / "settings" / "postprocess.json")
    assert config.bg_remove.backends == ["rembg", "auto"]
    assert config.bg_remove.openai.enabled is False and config.upscale.model == "animevideov3"
    assert config.color_settings_path() == REPO / "settings" / "color-correction.json"
    assert config.model_dump() == PostprocessConfig().model_dump()  # the file restates the defaults


def test_backend_options_feed_each_backend() -> None:
    options = PostprocessConfig().bg_remove.backend_options()
    assert options["rembg"]["model"] == "u2net"
    assert options["removebg"]["api_key_env"] == "REMOVE_BG_API_KEY" and options["removebg"]["size"] == "auto"
    assert options["auto"]["grabcut"]["work_side"] == 384


@pytest.mark.parametrize(("data", "message"), [
    ({"bg_remove": {"backends": ["rembg", "magic"]}},
     "bg_remove.backends: Invalid background-remove backend 'magic'"),
    ({"bg_remove": {"backends": []}}, "bg_remove.backends: List should have at least 1 item"),
    ({"upscale": {"scale": 5}}, "upscale.scale: Input should be less than or equal to 4 (got 5)"),
    ({"upscale": {"tile": 8}}, "upscale.tile: tile must be 0 (auto) or at least 32"),
    ({"upscale": {"backend": "waifu2x"}}, "upscale.backend: Invalid upscale backend 'waifu2x'"),
    ({"bg_remove": {"format": "gif"}}, "bg_remove.format: Input should be 'png', 'jpg' or 'webp'"),
    ({"bg_remove": {"rembg": {"modle": "u2net"}}}, "bg_remove.rembg.modle: Extra inputs are not permitted"),
    ({"bg_remove": {"format": "jpeg", "openai": {"enabled": True, "output_format": "png"}}},
     "openai.output_format ('png') must match format ('jpg')"),
])
def test_errors_name_the_file_and_key_path(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_postprocess_config(data, "proj/postprocess.json")
    assert str(caught.value).startswith("Invalid postprocess settings in proj/postprocess.json: ")
    assert message in str(caught.value)


def test_seed_wrapper_keys_are_ignored_and_listed(tmp_path: Path) -> None:
    file = tmp_path / "postprocess.json"
    file.write_text(json.dumps({
        "bg_remove": {"format": "jpeg", "rembg": {"python_bin": "tools/rembg/.venv/bin/python", "model": "isnet-anime"}},
        "upscale": {"backend": "python", "binary": "tools/realesrgan/realesrgan-ncnn-vulkan", "python": {"tile": 0}},
        "color": {"settings_file": "colors.json"}}))
    config = load_postprocess_config(file)
    assert config.ignored_keys == ["bg_remove.rembg.python_bin", "upscale.binary", "upscale.python"]
    assert config.bg_remove.format == "jpg" and config.upscale.backend == "realesrgan"
    assert config.color_settings_path() == tmp_path / "colors.json"
    file.write_text("{not json")
    with pytest.raises(ConfigError, match="invalid JSON at line 1"):
        load_postprocess_config(file)
