"""Colour profiles: the seed's Pillow algorithm reproduced exactly, with alpha kept bit-exact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from kroma_kit.errors import ConfigError, NotFoundError
from kroma_kit.postprocess import color_file
from kroma_kit.providers.color import BUILTIN_PROFILES, apply_color_profile, load_color_profiles
from tests.fakes.comic_images import gradient_figure

REPO = Path(__file__).resolve().parents[2]


def seed_reference(image: Image.Image, p: dict[str, float]) -> Image.Image:
    """The seed's steps written out independently (kroma-behavior.md 4.4)."""
    out = image.convert("RGB")
    get = lambda key, default=1.0: float(p.get(key, default))  # noqa: E731
    if get("autocontrast_cutoff", 0) > 0:
        out = ImageOps.autocontrast(out, cutoff=get("autocontrast_cutoff", 0))
    for key, enhancer in (("brightness", ImageEnhance.Brightness), ("contrast", ImageEnhance.Contrast),
                          ("saturation", ImageEnhance.Color), ("sharpness", ImageEnhance.Sharpness)):
        if get(key) != 1.0:
            out = enhancer(out).enhance(get(key))
    if get("gamma") != 1.0:
        table = [min(255, max(0, round(255 * (i / 255) ** (1 / get("gamma"))))) for i in range(256)]
        out = out.point(table * 3)
    bands = list(out.split())
    for index, key in enumerate(("red_mul", "green_mul", "blue_mul")):
        if get(key) != 1.0:
            bands[index] = bands[index].point([min(255, max(0, round(i * get(key)))) for i in range(256)])
    return Image.merge("RGB", bands)


def _rgba() -> Image.Image:
    image, truth = gradient_figure(96, 80)
    rgba = image.convert("RGBA")
    alpha = np.where(truth, 255, 0).astype(np.uint8)
    alpha[::7, ::5] = 77  # some partial alpha too
    rgba.putalpha(Image.fromarray(alpha, "L"))
    return rgba


@pytest.mark.parametrize("name", sorted(BUILTIN_PROFILES))
def test_builtin_profiles_match_the_seed_on_rgb_and_keep_alpha(name: str) -> None:
    rgba = _rgba()
    profile = load_color_profiles().get(name)
    rgb_out = apply_color_profile(rgba.convert("RGB"), profile)
    assert rgb_out.mode == "RGB" and rgb_out.tobytes() == seed_reference(rgba, profile).tobytes()
    rgba_out = apply_color_profile(rgba, profile)
    assert rgba_out.mode == "RGBA"
    assert rgba_out.getchannel("A").tobytes() == rgba.getchannel("A").tobytes()
    assert rgba_out.convert("RGB").tobytes() == seed_reference(rgba, profile).tobytes()


def test_a_user_profile_with_autocontrast_gamma_and_multipliers_matches_the_seed() -> None:
    user = {"noir": {"autocontrast_cutoff": 2, "gamma": 0.8, "blue_mul": 1.2, "red_mul": 0.9, "saturation": 0}}
    profiles = load_color_profiles(None, user)
    image = _rgba()
    out = apply_color_profile(image, profiles.get("noir"))
    assert out.convert("RGB").tobytes() == seed_reference(image, user["noir"]).tobytes()
    assert out.convert("RGB").tobytes() != image.convert("RGB").tobytes()


def test_settings_file_holds_the_seed_table_and_user_profiles_win(tmp_path: Path) -> None:
    file = REPO / "settings" / "color-correction.json"
    from_file = load_color_profiles(file)
    assert from_file.default_profile == "neutral" and from_file.source == str(file)
    assert {name: from_file.profiles[name] for name in BUILTIN_PROFILES} == BUILTIN_PROFILES
    merged = load_color_profiles(file, {"neutral": {"contrast": 1.5}})
    assert merged.get("neutral")["contrast"] == 1.5 and merged.get("neutral")["gamma"] == 1.0
    assert merged.source.endswith("+ project settings")


def test_unknown_profile_and_bad_values_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"Profile 'sepia' not found in builtin\. Known: cinematic_warm"):
        load_color_profiles().get("sepia")
    file = tmp_path / "colors.json"
    file.write_text(json.dumps({"profiles": {"warm": {"gama": 1.1}}}))
    with pytest.raises(ConfigError, match=r"colors.json: profiles.warm.gama is not a colour parameter"):
        load_color_profiles(file)
    with pytest.raises(ConfigError, match="gamma must be > 0"):
        load_color_profiles(None, {"x": {"gamma": 0}})
    with pytest.raises(ConfigError, match="not found"):
        load_color_profiles(tmp_path / "missing.json")


def test_color_file_writes_png_named_by_profile(tmp_path: Path) -> None:
    source = tmp_path / "page_nobg_x2.webp"
    _rgba().save(source, format="WEBP", lossless=True)
    profiles = load_color_profiles(REPO / "settings" / "color-correction.json")
    record = color_file(source, tmp_path / "color_corrected", profile_name="cinematic_warm", profiles=profiles)
    assert record.output == str(tmp_path / "color_corrected" / "page_nobg_x2_cinematic_warm.png")
    assert record.fields["profile"] == "cinematic_warm" and record.fields["settings"] == profiles.source
    with Image.open(source) as original, Image.open(record.output) as written:
        assert written.mode == "RGBA"
        assert written.getchannel("A").tobytes() == original.getchannel("A").tobytes()
    with pytest.raises(NotFoundError) as caught:
        color_file(source, tmp_path / "color_corrected", profile_name="sepia", profiles=profiles)
    assert caught.value.record.output is None
