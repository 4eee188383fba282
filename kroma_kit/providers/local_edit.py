"""Local procedural image editor: the free, offline, deterministic stand-in for an image model.

It lets a whole run (plan, candidates, guard, ranking, post chain, run log) happen with no key,
no network and no weights, and still produce images that visibly follow the request, so the
workbench can be learned, demoed and tested for real. It edits the first input (the scene):

- ``style`` (always): the style refs' palette by tone (a *tone palette*: the refs' mean colour at
  each Lab lightness, and their lightness distribution, pooled over the refs) laid over the scene,
  so a noir ref turns any scene navy, grey and white and a watercolour wash turns it sepia, with
  the scene's own hues kept in part; then posterised tones and darkened edges for an inked look.
  (A plain mean/std colour transfer, the usual recipe, barely moves a flat comic scene: the
  distinctive thing about a style is *which* colour each tone gets);
- ``time`` (stages time, weather, characters): day/night grading towards a target look, so a
  night output fed back as a scene is not darkened twice; night also shifts blue and vignettes;
- ``weather`` (stages weather, characters): rain streaks, fog or snow; ``clear`` stays dry;
- ``characters`` (stage characters): each character's cut-out (alpha, or its flat page keyed
  out) composited into the scene, scaled and placed per shot, before the style pass, so they are
  drawn in the same hand.

Like the seed's prompts, each stage carries the passes of the stages before it. The seed picks
small variations (strengths, levels, noise) so candidates differ; the same inputs and seed give
the same bytes (fixed PNG settings, no timestamps). ``request.grayscale`` makes the output exactly
grey (equal channels), as the guard's ``enforce_grayscale`` expects. The passes themselves are
:mod:`kroma_kit.providers.local_passes`; this module is the provider around them.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from kroma_kit.errors import ConfigError, ImageInputError, InputError
from kroma_kit.imaging import open_image
from kroma_kit.providers.base import Attempt, ImageRequest, ImageResult
from kroma_kit.providers.local_passes import (
    WEATHER_PASSES,
    Look,
    composite_characters,
    draw_look,
    grade_time,
    style_palette,
    style_pass,
    to_pixels,
)

__all__ = ["MODEL", "STAGES", "TIMES", "WEATHERS", "LocalEditProvider", "Look", "composite_characters",
           "draw_look", "encode", "parse_size"]

MODEL = "local-procedural-v2"  # v2: tone-palette style pass (v1: mean/std transfer)
STAGES = ("style", "time", "weather", "characters")
TIMES = ("day", "night")
WEATHERS = ("clear", "rain", "fog", "snow")
# Which passes each stage runs besides ``style`` (which always runs), in order.
STAGE_PASSES = {
    "style": (),
    "time": ("time",),
    "weather": ("time", "weather"),
    "characters": ("characters", "time", "weather"),
}
ENCODERS = {  # fixed settings: same pixels -> same bytes
    "png": ("PNG", "image/png", {"compress_level": 1}),  # lossless anyway; level 6 is 5x slower for ~10% less
    "jpeg": ("JPEG", "image/jpeg", {"quality": 92, "subsampling": 0}),
    "webp": ("WEBP", "image/webp", {"lossless": True, "method": 4}),
}
_MAX_SIDE = 8192


# --------------------------------------------------------------------------- inputs

def parse_size(size: str | None) -> tuple[int, int] | None:
    """``"WxH"`` -> (width, height); None or ``"auto"`` -> None (keep the scene's size)."""
    if size is None or size.strip().lower() == "auto":
        return None
    width_text, sep, height_text = size.strip().lower().partition("x")
    if not sep or not width_text.isdigit() or not height_text.isdigit():
        raise InputError(f"Output size must look like '1024x1536' or 'auto', got {size!r}.")
    width, height = int(width_text), int(height_text)
    if not (16 <= width <= _MAX_SIDE and 16 <= height <= _MAX_SIDE):
        raise InputError(f"Output size {size} is out of range: each side must be 16..{_MAX_SIDE}.")
    return width, height


def _rgba_float(path: Path) -> np.ndarray:
    image = open_image(path)
    return np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0


def _load_scene(path: Path, size: tuple[int, int] | None) -> np.ndarray:
    """The scene as float RGB in 0..1; transparency is laid on white paper. A requested size is
    filled by scaling to cover and cropping the centre: stretching would break geometry."""
    rgba = _rgba_float(path)
    alpha = rgba[..., 3:4]
    rgb = np.ascontiguousarray(rgba[..., :3] * alpha + (1.0 - alpha))
    if size is None or size == (rgb.shape[1], rgb.shape[0]):
        return rgb
    width, height = size
    scale = max(width / rgb.shape[1], height / rgb.shape[0])
    scaled = (max(width, round(rgb.shape[1] * scale)), max(height, round(rgb.shape[0] * scale)))
    resized = cv2.resize(rgb, scaled, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    top, left = (scaled[1] - height) // 2, (scaled[0] - width) // 2
    return np.ascontiguousarray(resized[top:top + height, left:left + width])


def encode(pixels: np.ndarray, output_format: str) -> tuple[bytes, str]:
    """Encode with fixed settings and no metadata, so equal pixels give equal bytes."""
    key = "jpeg" if output_format.lower() == "jpg" else output_format.lower()
    if key not in ENCODERS:
        raise InputError(f"The local editor writes {', '.join(ENCODERS)}, not {output_format!r}.")
    pil_format, mime, options = ENCODERS[key]
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, pil_format, **options)
    return buffer.getvalue(), mime


# --------------------------------------------------------------------------- provider

class LocalEditProvider:
    """Image provider ``local``: free, offline, deterministic (see the module docstring).

    ``size`` is the default output size when a request names none (None keeps the scene's);
    ``style_strength`` (0..1) is how far the palette moves towards the style refs.
    """

    code = "local"
    paid = False

    def __init__(self, size: str | None = None, style_strength: float = 0.8, model: str | None = None) -> None:
        if model not in (None, MODEL):
            raise ConfigError(f"The local provider has one model, {MODEL!r}; got {model!r}.")
        if not 0.0 <= float(style_strength) <= 1.0:
            raise ConfigError(f"local.style_strength must be between 0 and 1, got {style_strength!r}.")
        try:
            parse_size(size)
        except InputError as exc:
            raise ConfigError(f"local.size: {exc}") from exc
        self.size = size
        self.style_strength = float(style_strength)

    def describe(self) -> dict[str, Any]:
        return {"provider": self.code, "model": MODEL, "size": self.size or "scene", "paid": self.paid,
                "style_strength": self.style_strength, "deterministic": True}

    def estimate_cost(self, request: ImageRequest) -> float:
        return 0.0

    def generate(self, request: ImageRequest) -> ImageResult:
        """Edit ``request.input_images[0]`` (the scene) with the style refs after it and the last
        ``request.character_ref_count`` inputs as character refs. Raises :class:`InputError` /
        :class:`ImageInputError` for a request or image it cannot use."""
        started_at = datetime.now(UTC).isoformat()
        clock = time.perf_counter()
        scene, style_refs, character_refs = _split_inputs(request)
        passes = _check_request(request, character_refs)
        size = parse_size(request.size or self.size)
        look = draw_look(request.seed, self.style_strength)
        _, character_seq, weather_seq, grain_seq = np.random.SeedSequence(request.seed % (1 << 64)).spawn(4)

        canvas = _load_scene(scene, size)
        if "characters" in passes:
            canvas = composite_characters(canvas, character_refs, look, np.random.default_rng(character_seq),
                                          request.character_placements)
        lab = style_pass(cv2.cvtColor(canvas, cv2.COLOR_RGB2Lab), style_palette(style_refs), look)
        if "time" in passes:
            lab = grade_time(lab, request.time, look)
        rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0)
        if "weather" in passes and request.weather in WEATHER_PASSES:
            rgb = WEATHER_PASSES[request.weather](rgb, look, np.random.default_rng(weather_seq))
        pixels = to_pixels(rgb, look, np.random.default_rng(grain_seq), request.grayscale)
        data, mime = encode(pixels, request.output_format)

        latency_ms = int((time.perf_counter() - clock) * 1000)
        params = {
            "stage": request.stage, "time": request.time, "weather": request.weather, "seed": request.seed,
            "size": f"{pixels.shape[1]}x{pixels.shape[0]}", "grayscale": request.grayscale,
            "output_format": request.output_format, "passes": ["style", *passes],
            "style_refs": len(style_refs), "character_refs": len(character_refs), "look": asdict(look),
        }
        return ImageResult(image_bytes=data, provider_code=self.code, model=MODEL, mime_type=mime,
                           usage={"images": 1, "output_pixels": int(pixels.shape[0] * pixels.shape[1])},
                           cost_usd=0.0, attempts=[Attempt(started_at=started_at, latency_ms=latency_ms)],
                           params=params)


def _split_inputs(request: ImageRequest) -> tuple[Path, list[Path], list[Path]]:
    inputs = [Path(os.fspath(path)) for path in request.input_images]
    if not inputs:
        raise ImageInputError("The local editor edits a scene and got no input image: give a scene ref "
                              "(first input), or use a provider that generates from text.")
    count = request.character_ref_count
    if not 0 <= count <= len(inputs) - 1:
        raise InputError(f"character_ref_count={count} does not fit {len(inputs)} input(s): the first "
                         "input is the scene, so at most len(inputs) - 1 can be character refs.")
    split = len(inputs) - count
    return inputs[0], inputs[1:split], inputs[split:]


def _check_request(request: ImageRequest, character_refs: list[Path]) -> tuple[str, ...]:
    for name, value, allowed in (("stage", request.stage, STAGES), ("time", request.time, TIMES),
                                 ("weather", request.weather, WEATHERS)):
        if value not in allowed:
            raise InputError(f"Invalid {name} {value!r} for the local editor. Expected {'|'.join(allowed)}.")
    if request.model not in (None, MODEL):
        raise InputError(f"The local provider has one model, {MODEL!r}; the request asked for {request.model!r}.")
    if request.stage == "characters" and not character_refs:
        raise InputError("Stage 'characters' needs character refs: put them last in input_images and set "
                         "character_ref_count.")
    return STAGE_PASSES[request.stage]
