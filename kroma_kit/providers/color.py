"""Colour correction by named profile, the seed's Pillow algorithm step for step, keeping alpha.

The seed (``reference/kroma-behavior.md`` §4.4) converts to RGB and so drops transparency, which
destroys a cutout made one step earlier. Here the alpha channel is split off, the RGB goes
through exactly the seed's steps, and the alpha is put back untouched (bit-exact).

Profiles come from ``settings/color-correction.json`` (``{"default_profile", "profiles"}``), or
the built-in table when no file is given (source ``"builtin"``), plus user profiles from the
project settings, which win by name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from PIL import Image

BUILTIN = "builtin"
SETTINGS_FILE = "color-correction.json"
# Parameter -> identity value; a missing key takes it (seed: "missing keys default to 1.0, cutoff 0").
PARAMETERS: dict[str, float] = {
    "brightness": 1.0, "contrast": 1.0, "saturation": 1.0, "sharpness": 1.0, "gamma": 1.0,
    "autocontrast_cutoff": 0.0, "red_mul": 1.0, "green_mul": 1.0, "blue_mul": 1.0,
}
BUILTIN_PROFILES: dict[str, dict[str, float]] = {
    "neutral": {"brightness": 1.0, "contrast": 1.02, "saturation": 1.0, "sharpness": 1.0, "gamma": 1.0,
                "autocontrast_cutoff": 0, "red_mul": 1.0, "green_mul": 1.0, "blue_mul": 1.0},
    "cinematic_warm": {"brightness": 0.98, "contrast": 1.12, "saturation": 1.08, "sharpness": 1.04,
                       "gamma": 1.03, "autocontrast_cutoff": 0, "red_mul": 1.04, "green_mul": 1.0,
                       "blue_mul": 0.96},
    "cold_rain": {"brightness": 0.97, "contrast": 1.10, "saturation": 0.95, "sharpness": 1.03, "gamma": 1.01,
                  "autocontrast_cutoff": 0, "red_mul": 0.97, "green_mul": 1.0, "blue_mul": 1.05},
}


@dataclass(frozen=True)
class ColorProfileSet:
    """Named profiles, the default name, and where they came from (for messages and run logs)."""

    profiles: dict[str, dict[str, float]]
    default_profile: str = "neutral"
    source: str = BUILTIN
    user_profile_names: tuple[str, ...] = field(default=())

    def get(self, name: str | None = None) -> dict[str, float]:
        """The profile ``name`` (default profile when None), with every parameter filled in."""
        chosen = name or self.default_profile
        if chosen not in self.profiles:
            raise NotFoundError(f"Profile '{chosen}' not found in {self.source}. "
                                f"Known: {', '.join(sorted(self.profiles)) or 'none'}.")
        return {**PARAMETERS, **self.profiles[chosen]}


def validate_profile(name: str, profile: Mapping[str, Any], source: str) -> dict[str, float]:
    """Numbers only, known keys only, gamma > 0, cutoff in [0, 50). Typos fail loudly."""
    if not isinstance(profile, Mapping):
        raise ConfigError(f"{source}: profiles.{name} must be an object of numbers")
    cleaned: dict[str, float] = {}
    for key, value in profile.items():
        if key not in PARAMETERS:
            raise ConfigError(f"{source}: profiles.{name}.{key} is not a colour parameter "
                              f"(known: {', '.join(PARAMETERS)})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{source}: profiles.{name}.{key} must be a number, got {value!r}")
        cleaned[key] = float(value)
    if cleaned.get("gamma", 1.0) <= 0:
        raise ConfigError(f"{source}: profiles.{name}.gamma must be > 0")
    if not 0 <= cleaned.get("autocontrast_cutoff", 0.0) < 50:
        raise ConfigError(f"{source}: profiles.{name}.autocontrast_cutoff must be in [0, 50)")
    for key in ("brightness", "contrast", "saturation", "sharpness", "red_mul", "green_mul", "blue_mul"):
        if cleaned.get(key, 1.0) < 0:
            raise ConfigError(f"{source}: profiles.{name}.{key} must be >= 0")
    return cleaned


def load_color_profiles(settings_file: str | os.PathLike[str] | None = None,
                        user_profiles: Mapping[str, Mapping[str, Any]] | None = None) -> ColorProfileSet:
    """Profiles from ``settings_file`` (the built-in table when None) plus ``user_profiles``."""
    if settings_file is None:
        profiles = {name: dict(values) for name, values in BUILTIN_PROFILES.items()}
        default, source = "neutral", BUILTIN
    else:
        path = Path(settings_file)
        source = str(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"Colour settings file not found: {path}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        if not isinstance(data, dict) or not isinstance(data.get("profiles"), dict):
            raise ConfigError(f"{path}: expected {{\"default_profile\": ..., \"profiles\": {{name: {{...}}}}}}")
        profiles = {name: validate_profile(name, values, source) for name, values in data["profiles"].items()}
        default = str(data.get("default_profile") or "neutral")
    names: tuple[str, ...] = ()
    if user_profiles:
        names = tuple(user_profiles)
        profiles.update({name: validate_profile(name, values, "project settings color_profiles")
                         for name, values in user_profiles.items()})
        source = f"{source} + project settings"
    return ColorProfileSet(profiles, default, source, names)


def _lut_gamma(gamma: float) -> list[int]:
    return [min(255, max(0, round(255 * (i / 255) ** (1 / gamma)))) for i in range(256)]


def _lut_mul(mul: float) -> list[int]:
    return [min(255, max(0, round(i * mul))) for i in range(256)]


def correct_rgb(rgb: Image.Image, profile: Mapping[str, float]) -> Image.Image:
    """The seed's steps 2-8 on an RGB image; each step runs only when its value is not identity."""
    from PIL import ImageEnhance, ImageOps

    values = {**PARAMETERS, **profile}
    out = rgb
    if values["autocontrast_cutoff"] > 0:
        out = ImageOps.autocontrast(out, cutoff=values["autocontrast_cutoff"])
    if values["brightness"] != 1.0:
        out = ImageEnhance.Brightness(out).enhance(values["brightness"])
    if values["contrast"] != 1.0:
        out = ImageEnhance.Contrast(out).enhance(values["contrast"])
    if values["saturation"] != 1.0:
        out = ImageEnhance.Color(out).enhance(values["saturation"])
    if values["sharpness"] != 1.0:
        out = ImageEnhance.Sharpness(out).enhance(values["sharpness"])
    if values["gamma"] != 1.0:
        out = out.point(_lut_gamma(values["gamma"]) * 3)
    muls = (values["red_mul"], values["green_mul"], values["blue_mul"])
    if any(mul != 1.0 for mul in muls):
        out = out.point(_lut_mul(muls[0]) + _lut_mul(muls[1]) + _lut_mul(muls[2]))
    return out


def apply_color_profile(image: Image.Image, profile: Mapping[str, float]) -> Image.Image:
    """``image`` colour-corrected by ``profile``; an alpha channel (RGBA, LA, P with
    transparency) comes back unchanged and the result is RGBA, otherwise RGB."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        return correct_rgb(image.convert("RGB"), profile)
    rgba = image.convert("RGBA")
    corrected = correct_rgb(rgba.convert("RGB"), profile).convert("RGBA")
    corrected.putalpha(rgba.getchannel("A"))
    return corrected
