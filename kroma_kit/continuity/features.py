"""Style features of one image, computed once on a downscaled copy: the numbers style drift compares.

Why these: a drawing hand shows in *which colours* it uses (Lab histogram, dominant palette), in
*how it spreads light* (tone distribution and contrast) and in *how it draws lines* (edge density,
stroke width). None needs a model, all are translation invariant, and all together take a few
milliseconds on a 256-384 px copy (reference/ml-offline.md §5: Lab histograms 5.7 ms at 256 px).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from kroma_kit.imaging import open_image

if TYPE_CHECKING:
    from PIL import Image

WORK_SIDE = 256  # colour statistics: a thumbnail is as good as the full image
LINE_SIDE = 512  # line statistics need strokes that survive the downscale
HIST_BINS = (8, 12, 12)  # L, a, b (reference/ml-offline.md §5)
TONE_BINS = 32
PALETTE_SIZE = 6
PALETTE_SAMPLE = 2048  # pixels k-means sees: a palette of six needs no more
LINE_KERNEL = 11  # strokes thinner than this (at LINE_SIDE) count as lines
LINE_CONTRAST = 50  # grey levels a stroke must be darker than its surroundings
MAX_STROKE = 24.0  # px at LINE_SIDE: wider dark ridges are fills, not strokes



def load_rgba(source: str | os.PathLike[str] | Image.Image) -> tuple[np.ndarray, tuple[int, int]]:
    """The image as RGBA uint8 (any mode converted) and its original (width, height).

    A path is decoded by OpenCV (libpng/libjpeg straight into an array: about a third faster than
    Pillow plus a conversion, and the gate runs on every candidate) after the same checks as
    :func:`open_image` (exists, size on disk, pixel count from the header); anything OpenCV cannot
    read goes through :func:`open_image`, so a bad file is one ImageInputError naming it.
    """
    if not isinstance(source, str | os.PathLike):
        return np.asarray(source.convert("RGBA")), source.size
    path = Path(source)
    fast = _read_with_opencv(path)
    if fast is not None:
        return fast, (fast.shape[1], fast.shape[0])
    image = open_image(path)
    return np.asarray(image.convert("RGBA")), image.size


def _read_with_opencv(path: Path) -> np.ndarray | None:
    from PIL import Image as PILImage

    from kroma_kit.imaging import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS

    try:
        if not path.is_file() or not 0 < path.stat().st_size <= MAX_IMAGE_BYTES:
            return None
        with PILImage.open(path) as probe:  # header only: refuse a bomb before decoding it
            if probe.size[0] * probe.size[1] > MAX_IMAGE_PIXELS or probe.format not in ("PNG", "JPEG", "WEBP"):
                return None
    except (OSError, ValueError, PILImage.DecompressionBombError):
        return None
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.dtype != np.uint8:
        return None
    if pixels.ndim == 2:
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGBA)
    if pixels.shape[2] == 4:
        return cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA)
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGBA)


def downscale(rgba: np.ndarray, side: int) -> np.ndarray:
    height, width = rgba.shape[:2]
    factor = side / max(height, width)
    if factor >= 1:
        return rgba
    return cv2.resize(rgba, (max(1, round(width * factor)), max(1, round(height * factor))),
                      interpolation=cv2.INTER_AREA)


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float32 Lab in real units (L 0..100, a/b about -128..127)."""
    return cv2.cvtColor(np.ascontiguousarray(rgb).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def lab_histogram(lab: np.ndarray, mask: np.ndarray | None = None, bins: tuple[int, int, int] = HIST_BINS) -> np.ndarray:
    """Normalised 3-D Lab histogram (sums to 1) over the masked pixels, float32 for compareHist."""
    hist = cv2.calcHist([np.ascontiguousarray(lab)], [0, 1, 2], None if mask is None else mask.astype(np.uint8),
                        list(bins), [0, 100.001, -128, 128, -128, 128])
    total = float(hist.sum())
    return (hist / total if total else hist).astype(np.float32)


def histogram_distance(first: np.ndarray, second: np.ndarray) -> float:
    """Bhattacharyya distance, 0 = same distribution, 1 = disjoint."""
    return float(np.clip(cv2.compareHist(first, second, cv2.HISTCMP_BHATTACHARYYA), 0.0, 1.0))


def dominant_colours(lab_pixels: np.ndarray, k: int = PALETTE_SIZE, *, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """k-means palette of Lab pixels: (centres k x 3, weights k summing to 1), heaviest first.
    Deterministic (fixed seed, PP init) so the same image always gives the same palette."""
    pixels = np.ascontiguousarray(lab_pixels.reshape(-1, 3), dtype=np.float32)
    if len(pixels) > PALETTE_SAMPLE:
        pixels = pixels[_sample(len(pixels), PALETTE_SAMPLE, seed)]
    k = max(1, min(k, len(pixels)))
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _, labels, centres = cv2.kmeans(pixels, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    weights = np.bincount(labels.ravel(), minlength=k).astype(np.float64)
    weights /= weights.sum()
    order = np.argsort(-weights)
    return centres[order], weights[order]


@lru_cache(maxsize=64)
def _sample(count: int, size: int, seed: int) -> np.ndarray:
    """``size`` distinct indices of ``count``, the same for the same arguments (what a fresh
    generator with ``seed`` draws): images of one size share it instead of drawing it again."""
    chosen = np.random.default_rng(seed).choice(count, size, replace=False)
    chosen.setflags(write=False)
    return chosen


def palette_distance(first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]) -> float:
    """Symmetric weighted chamfer distance between two palettes in ΔE76 / 100: each colour of one
    palette to the nearest colour of the other, weighted by its share, both ways averaged."""
    (c1, w1), (c2, w2) = first, second
    pairwise = np.linalg.norm(c1[:, None, :] - c2[None, :, :], axis=2)
    one_way = float(w1 @ pairwise.min(axis=1))
    other_way = float(w2 @ pairwise.min(axis=0))
    return (one_way + other_way) / 200.0


@dataclass(frozen=True)
class StyleFeatures:
    """One image's style numbers (see the module docstring)."""

    histogram: np.ndarray
    palette: tuple[np.ndarray, np.ndarray]
    tone_cdf: np.ndarray  # cumulative share of pixels per lightness bin, lightness taken from the median
    contrast: float  # std of L*
    edge_density: float  # share of Canny edge pixels at LINE_SIDE
    stroke_width: float  # mean ink stroke width in pixels of the original image (0: no ink)
    line_share: float


def tone_distance(first: StyleFeatures, second: StyleFeatures) -> float:
    """Earth mover's distance between the lightness distributions around their medians plus the
    contrast gap, in L* / 100. Centred, because a night page of the same hand is darker overall
    (the time stage does that on purpose) while its spread of tones, its contrast, stays."""
    emd = float(np.abs(first.tone_cdf - second.tone_cdf).sum()) * (200.0 / TONE_BINS)
    return (emd + abs(first.contrast - second.contrast)) / 100.0


def _log_gap(first: float, second: float, floor: float) -> float:
    return abs(float(np.log((first + floor) / (second + floor))))


def line_distance(first: StyleFeatures, second: StyleFeatures) -> float:
    """How differently lines are drawn: log ratios of edge density and of stroke width (a heavier
    or thinner pen, a wash with no outlines), the larger of the two."""
    density = _log_gap(first.edge_density, second.edge_density, 0.005)
    width = _log_gap(first.stroke_width, second.stroke_width, 0.5)
    lines = _log_gap(first.line_share, second.line_share, 0.01)
    return max(density, width, 0.5 * lines)


def stroke_stats(grey: np.ndarray, scale: float) -> tuple[float, float, float]:
    """(edge density, stroke width in original pixels, line share) of a grey uint8 image.

    Lines are dark strokes thinner than the structuring element (a morphological black-hat), so
    solid black areas of a noir page do not count as a heavy pen. Stroke width is the *mean* of
    2 x the distance to the stroke's edge taken on each stroke's centre line (its ridge), over
    the line pixels only. A mean, not a percentile: the distance transform is quantised (a ridge
    is 1, 1.8, 3, 3.4 ... px wide), so a low percentile of it jumped between 1 and 3 px when the
    mix of thin and thick strokes moved a little (the 0.29 vs 1.2 "bimodal" line part on the
    sample project's outputs); the mean moves smoothly with that mix. Dark fills (a coat, a night
    sky) are not line pixels, so they no longer pass for a heavy pen either.
    ``scale`` converts work pixels back to original ones.
    """
    edges = cv2.Canny(grey, 60, 160)
    density = float(np.count_nonzero(edges)) / edges.size
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (LINE_KERNEL, LINE_KERNEL))
    lines = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, kernel) > LINE_CONTRAST
    share = float(lines.mean())
    if not lines.any():
        return density, 0.0, share
    distance = cv2.distanceTransform(lines.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)
    ridge = (distance >= cv2.dilate(distance, np.ones((3, 3), np.uint8))) & lines
    widths = 2.0 * distance[ridge] - 1.0
    widths = widths[widths <= MAX_STROKE]
    width = float(widths.mean()) * scale if len(widths) else 0.0
    return density, max(width, 0.0), share


def style_features(source: str | os.PathLike[str] | Image.Image) -> StyleFeatures:
    """Compute :class:`StyleFeatures` of an image (path or PIL image). Transparent pixels are left out
    of the colour statistics (a cutout is judged on its subject, not its empty background)."""
    rgba, size = load_rgba(source)
    return style_features_of(rgba, size)


def style_features_of(rgba: np.ndarray, size: tuple[int, int]) -> StyleFeatures:
    line_img = downscale(rgba, LINE_SIDE)
    small = downscale(line_img, WORK_SIDE)  # from the line copy: one big resize per image, not two
    visible = small[..., 3] > 127
    opaque = bool(visible.all())
    if not opaque and not visible.any():
        visible, opaque = np.ones(visible.shape, bool), True
    lab = to_lab(small[..., :3])
    pixels = lab.reshape(-1, 3) if opaque else lab[visible]  # the same pixels in the same order
    lightness = pixels[:, 0] - float(np.median(pixels[:, 0]))
    tones = np.histogram(lightness, bins=TONE_BINS, range=(-100.0, 100.0))[0].astype(np.float64)
    grey = cv2.cvtColor(line_img[..., :3], cv2.COLOR_RGB2GRAY)
    if line_img[..., 3].min() < 255:  # transparent = paper (an opaque image is its grey as it is)
        alpha = line_img[..., 3].astype(np.float32) / 255.0
        grey = (grey.astype(np.float32) * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    density, width, ink = stroke_stats(grey, max(size) / max(line_img.shape[:2]))
    return StyleFeatures(histogram=lab_histogram(lab, visible), palette=dominant_colours(pixels),
                         tone_cdf=np.cumsum(tones) / max(tones.sum(), 1.0), contrast=float(pixels[:, 0].std()),
                         edge_density=density, stroke_width=width, line_share=ink)
