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
grey (equal channels), as the guard's ``enforce_grayscale`` expects.
"""

from __future__ import annotations

import functools
import io
import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from kroma_kit.errors import ConfigError, ImageInputError, InputError
from kroma_kit.imaging import open_image
from kroma_kit.providers.base import Attempt, ImageRequest, ImageResult

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
_STATS_SIDE = 256  # style statistics are taken on a thumbnail: cheap, and just as good for a palette
_TONES = 101  # one palette entry per Lab lightness step, 0..100
_CHROMA_SHARE = 0.85  # how much of the palette replaces the scene's colour at full style strength
_TONE_SHARE = 0.5  # how far the lightness moves towards the refs' distribution
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_MAX_SIDE = 8192


@dataclass(frozen=True)
class Look:
    """The per-candidate parameters the seed draws; recorded in ``params`` for the run log."""

    style_strength: float
    posterize_levels: int
    posterize_mix: float
    ink_strength: float
    edge_sigma: float
    night_target: float
    day_target: float
    vignette: float
    grain: float
    rain_angle: float
    weather_density: float
    character_opacity: float


def draw_look(seed: int, style_strength: float) -> Look:
    """Small, seeded variations around the configured look, so candidates differ but stay one hand."""
    rng = np.random.default_rng(np.random.SeedSequence(seed % (1 << 64)).spawn(4)[0])
    u = rng.uniform
    return Look(
        style_strength=round(float(np.clip(style_strength + u(-0.08, 0.08), 0.0, 1.0)), 4),
        posterize_levels=int(rng.integers(5, 9)),
        posterize_mix=round(float(u(0.55, 0.8)), 4),
        ink_strength=round(float(u(0.55, 0.8)), 4),
        edge_sigma=round(float(u(0.9, 1.6)), 4),
        night_target=round(float(u(18.0, 26.0)), 4),
        day_target=round(float(u(52.0, 60.0)), 4),
        vignette=round(float(u(0.35, 0.55)), 4),
        grain=round(float(u(0.004, 0.009)), 4),
        rain_angle=round(float(u(70.0, 80.0)), 4),
        weather_density=round(float(u(0.8, 1.2)), 4),
        character_opacity=round(float(u(0.5, 0.65)), 4),
    )


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


@dataclass(frozen=True)
class TonePalette:
    """The style refs' colour by tone: mean Lab a/b at each lightness 0..100 (smoothed, gaps
    filled from the neighbouring tones), and the cumulative share of pixels up to each lightness."""

    a: np.ndarray
    b: np.ndarray
    cdf: np.ndarray


def _histograms(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tones = np.clip(np.rint(lab[:, 0]).astype(np.intp), 0, _TONES - 1)
    count = np.bincount(tones, minlength=_TONES).astype(np.float64)
    return (count, np.bincount(tones, weights=lab[:, 1], minlength=_TONES),
            np.bincount(tones, weights=lab[:, 2], minlength=_TONES))


@functools.lru_cache(maxsize=64)
def _ref_histograms(path: str, _mtime_ns: int, _size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel count and a/b sums per lightness of one style ref's visible pixels, normalised to
    one pixel in all (cached per file version: every candidate of a run uses the same refs)."""
    image = open_image(path).convert("RGBA")
    image.thumbnail((_STATS_SIDE, _STATS_SIDE))
    rgba = np.asarray(image, dtype=np.float32) / 255.0
    visible = rgba[..., 3] > 0.5
    if not visible.any():
        raise ImageInputError(f"Style reference is fully transparent, it has no palette to take: {path}")
    lab = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2Lab)[visible]
    count, a_sum, b_sum = _histograms(lab)
    total = count.sum()
    return count / total, a_sum / total, b_sum / total


def _style_stats(paths: list[Path]) -> TonePalette | None:
    """The pooled tone palette of the style refs, each ref weighing the same."""
    if not paths:
        return None
    parts = []
    for path in paths:
        if not path.is_file():
            open_image(path)  # raises the one error that names the missing file
        info = path.stat()
        parts.append(_ref_histograms(str(path.resolve()), info.st_mtime_ns, info.st_size))
    count, a_sum, b_sum = (np.mean([part[i] for part in parts], axis=0) for i in range(3))
    kernel = cv2.getGaussianKernel(21, 4.0).ravel()  # neighbouring tones share their colour
    smooth = np.convolve(count, kernel, "same")
    filled = smooth > 1e-6 * smooth.max()
    tones = np.arange(_TONES)
    a = np.interp(tones, tones[filled], np.convolve(a_sum, kernel, "same")[filled] / smooth[filled])
    b = np.interp(tones, tones[filled], np.convolve(b_sum, kernel, "same")[filled] / smooth[filled])
    return TonePalette(a.astype(np.float32), b.astype(np.float32), np.cumsum(count) / count.sum())


# --------------------------------------------------------------------------- passes

def composite_characters(canvas: np.ndarray, refs: list[Path], look: Look, rng: np.random.Generator,
                         placements: list[dict[str, Any]] | None = None) -> np.ndarray:
    """Composite each character's cut-out (its alpha, or its flat page keyed out: never the
    reference's rectangle or an oval around it) into the scene, scaled and placed per shot:
    ``placements`` give each character's best reference (``input_offset`` into ``refs``) and its
    centre ``x``, ``height`` and feet ``baseline`` as shares of the frame; missing values (and no
    placements at all: every ref is one character) get evenly spaced slots along the bottom."""
    from kroma_kit.providers.character_sketch import character_cutout

    height, width = canvas.shape[:2]
    cast = placements or [{"input_offset": index} for index in range(len(refs))]
    scene_mean = canvas.reshape(-1, 3).mean(axis=0)
    out = canvas.copy()
    for slot, place in enumerate(cast, start=1):
        cutout = np.asarray(character_cutout(refs[int(place.get("input_offset") or 0)]), dtype=np.float32) / 255.0
        ref_h, ref_w = cutout.shape[:2]
        share = place.get("height") or rng.uniform(0.42, 0.5)
        scale = height * float(share) / ref_h
        if place.get("height") is None:
            scale = min(scale, 0.9 * width / len(cast) / ref_w)
        new_w, new_h = max(1, round(ref_w * scale)), max(1, round(ref_h * scale))
        sprite = cv2.resize(cutout, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        x_share = place.get("x")
        centre_x = int(width * (x_share if x_share is not None else slot / (len(cast) + 1) + rng.uniform(-0.04, 0.04)))
        bottom = int(height * (place.get("baseline") or rng.uniform(0.93, 0.98)))
        top, left = bottom - new_h, centre_x - new_w // 2
        y0, x0, y1, x1 = max(top, 0), max(left, 0), min(bottom, height), min(left + new_w, width)
        if y1 <= y0 or x1 <= x0:
            continue
        piece = sprite[y0 - top:y1 - top, x0 - left:x1 - left, :3] * 0.88 + scene_mean * 0.12
        weight = (sprite[y0 - top:y1 - top, x0 - left:x1 - left, 3] * 0.97)[..., None]
        out[y0:y1, x0:x1] = out[y0:y1, x0:x1] * (1.0 - weight) + piece * weight
    return out


def style_pass(lab: np.ndarray, palette: TonePalette | None, look: Look) -> np.ndarray:
    """Lay the style refs' tone palette over the scene (lightness matched part-way to the refs'
    distribution, then each pixel's colour moved towards the refs' colour at its tone), then
    posterise L and ink the edges."""
    if palette is not None:
        height, width = lab.shape[:2]
        thumb = cv2.resize(lab, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_AREA)
        own_count = _histograms(thumb.reshape(-1, 3))[0]  # a quarter-size thumbnail: same histogram, 16x cheaper
        own_cdf = np.cumsum(own_count) / own_count.sum()
        matched = np.interp(own_cdf, palette.cdf, np.arange(_TONES)).astype(np.float32)
        lightness = lab[..., 0]
        tones = np.clip(np.rint(lightness).astype(np.intp), 0, _TONES - 1)
        lightness = lightness + (_TONE_SHARE * look.style_strength) * (matched[tones] - lightness)
        tones = np.clip(np.rint(lightness).astype(np.intp), 0, _TONES - 1)
        share = _CHROMA_SHARE * look.style_strength
        lab = np.stack([lightness, lab[..., 1] + share * (palette.a[tones] - lab[..., 1]),
                        lab[..., 2] + share * (palette.b[tones] - lab[..., 2])], axis=-1)
    lightness = lab[..., 0]
    gray = np.clip(lightness * 2.55, 0, 255).astype(np.uint8)
    edges = cv2.Canny(cv2.GaussianBlur(gray, (0, 0), look.edge_sigma), 30, 90)
    ink = np.clip(cv2.GaussianBlur(edges.astype(np.float32) / 255.0, (0, 0), 0.8) * 1.6, 0.0, 1.0)
    levels = look.posterize_levels - 1
    posterised = np.round(lightness * (levels / 100.0)) * (100.0 / levels)
    lightness = lightness + look.posterize_mix * (posterised - lightness)
    lab = lab.copy()
    lab[..., 0] = lightness * (1.0 - look.ink_strength * ink)
    return lab


def grade_time(lab: np.ndarray, time_of_day: str, look: Look) -> np.ndarray:
    """Grade towards a day or night target. Scaling to a target mean (not by a fixed factor) keeps
    an already-night scene from going black when the night stage is run on it again."""
    lab = lab.copy()
    lightness = lab[..., 0]
    mean_l = max(float(lightness.mean()), 1e-3)
    if time_of_day == "night":
        lightness *= np.clip(look.night_target / mean_l, 0.1, 1.0)
        lab[..., 1:] *= 0.75
        mean_a, mean_b = float(lab[..., 1].mean()), float(lab[..., 2].mean())
        lab[..., 1] += 0.8 * (-4.0 - mean_a)
        lab[..., 2] += 0.8 * (-20.0 - mean_b)
        height, width = lightness.shape
        ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None] ** 2
        xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :] ** 2
        lightness *= 1.0 - look.vignette * (ys + xs) / 2.0
    else:
        lightness *= np.clip(look.day_target / mean_l, 1.0, 1.6)
        lab[..., 2] += 0.3 * (6.0 - float(lab[..., 2].mean()))
    np.clip(lightness, 0.0, 100.0, out=lightness)
    return lab


def _rain(rgb: np.ndarray, look: Look, rng: np.random.Generator) -> np.ndarray:
    height, width = rgb.shape[:2]
    drops = (rng.random((height, width), dtype=np.float32) < 0.0035 * look.weather_density).astype(np.float32)
    length = max(9, height // 28) | 1
    kernel = np.zeros((length, length), dtype=np.float32)
    half, angle = length // 2, np.deg2rad(look.rain_angle)
    dx, dy = int(round(half * np.cos(angle))), int(round(half * np.sin(angle)))
    cv2.line(kernel, (half - dx, half + dy), (half + dx, half - dy), 1.0, 1)
    streaks = np.clip(cv2.filter2D(drops, -1, kernel), 0.0, 1.0)[..., None] * 0.45
    wet = rgb * 0.86
    return wet + (0.85 - wet) * streaks


def _fog(rgb: np.ndarray, look: Look, rng: np.random.Generator) -> np.ndarray:
    height, width = rgb.shape[:2]
    coarse = rng.random((height // 48 + 2, width // 48 + 2), dtype=np.float32)
    patches = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    depth = np.linspace(0.5, 0.3, height, dtype=np.float32)[:, None]
    amount = np.clip(depth * look.weather_density * (0.8 + 0.4 * patches), 0.0, 0.85)[..., None]
    return rgb + (np.array([0.78, 0.8, 0.82], dtype=np.float32) - rgb) * amount


def _snow(rgb: np.ndarray, look: Look, rng: np.random.Generator) -> np.ndarray:
    height, width = rgb.shape[:2]
    field = rng.random((height, width), dtype=np.float32)
    flakes = (field < 0.003 * look.weather_density).astype(np.float32)
    big = cv2.dilate((field > 1.0 - 0.0008 * look.weather_density).astype(np.float32), np.ones((3, 3), np.uint8))
    flakes = np.clip(cv2.GaussianBlur(np.maximum(flakes, big), (0, 0), 0.7) * 1.4, 0.0, 1.0)[..., None]
    cold = rgb * 0.9 + 0.08
    return cold + (0.97 - cold) * flakes


WEATHER_PASSES = {"rain": _rain, "fog": _fog, "snow": _snow}


def _to_pixels(rgb: np.ndarray, look: Look, rng: np.random.Generator, grayscale: bool) -> np.ndarray:
    """Add mono film grain, then quantise; grayscale output gets three identical channels."""
    height, width = rgb.shape[:2]
    rgb = rgb + rng.standard_normal((height, width, 1), dtype=np.float32) * look.grain
    if grayscale:
        rgb = np.repeat((rgb @ _LUMA)[..., None], 3, axis=2)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


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
        lab = style_pass(cv2.cvtColor(canvas, cv2.COLOR_RGB2Lab), _style_stats(style_refs), look)
        if "time" in passes:
            lab = grade_time(lab, request.time, look)
        rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0)
        if "weather" in passes and request.weather in WEATHER_PASSES:
            rgb = WEATHER_PASSES[request.weather](rgb, look, np.random.default_rng(weather_seq))
        pixels = _to_pixels(rgb, look, np.random.default_rng(grain_seq), request.grayscale)
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
