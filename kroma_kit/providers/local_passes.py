"""The local editor's image passes: the look a seed draws, the style refs' tone palette laid over
a scene, day/night grading, weather, character cut-outs and film grain.

Pixel maths only, on float RGB / Lab arrays; :mod:`kroma_kit.providers.local_edit` is the provider
around them (the request, the scene's loading and the encoding). What each pass does and why is
told in that module's docstring.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kroma_kit.errors import ImageInputError
from kroma_kit.imaging import open_image

_STATS_SIDE = 256  # style statistics are taken on a thumbnail: cheap, and just as good for a palette
_TONES = 101  # one palette entry per Lab lightness step, 0..100
_CHROMA_SHARE = 0.85  # how much of the palette replaces the scene's colour at full style strength
_TONE_SHARE = 0.5  # how far the lightness moves towards the refs' distribution
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


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


def style_palette(paths: list[Path]) -> TonePalette | None:
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


def to_pixels(rgb: np.ndarray, look: Look, rng: np.random.Generator, grayscale: bool) -> np.ndarray:
    """Add mono film grain, then quantise; grayscale output gets three identical channels."""
    height, width = rgb.shape[:2]
    rgb = rgb + rng.standard_normal((height, width, 1), dtype=np.float32) * look.grain
    if grayscale:
        rgb = np.repeat((rgb @ _LUMA)[..., None], 3, axis=2)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
