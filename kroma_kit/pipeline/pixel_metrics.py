"""Pixel measurements of the output guard: chroma delta (the seed's formula) and luma spread,
over opaque pixels only, so a background-removed cutout is judged by what it shows."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from PIL import Image



def _has_alpha(image: Image.Image) -> bool:
    return "A" in image.getbands() or "a" in image.getbands() or "transparency" in image.info


@dataclass(frozen=True)
class PixelStats:
    """Histograms (256 bins, exact counts) over the visible pixels of an image: the channel spread
    ``max(R,G,B) - min(R,G,B)`` and the luma (ITU-R 601, as Pillow's "L"). Every guard metric
    derives from these two."""

    spread: np.ndarray
    luma: np.ndarray | None

    @property
    def visible(self) -> int:
        return int(self.spread.sum())

    def chroma_delta(self) -> float | None:
        # For three numbers |r-g| + |r-b| + |g-b| == 2 * (max - min), so the seed's mean of three
        # difference images is 2 * mean(spread) / 3, and the integer total keeps it exact.
        if not self.visible:
            return None
        return round(2 * int(self.spread @ _LEVELS) / (3 * self.visible), 4)

    def luma_std(self) -> float | None:
        if self.luma is None or not self.visible:
            return None
        mean = float(self.luma @ _LEVELS) / self.visible
        return round(math.sqrt(max(float(self.luma @ _LEVELS**2) / self.visible - mean * mean, 0.0)), 4)


_LEVELS = np.arange(256, dtype=np.int64)
_STRIP_ROWS = 128  # ~400 KB a strip: stays in cache and reuses memory instead of faulting in full-size copies


def _histogram(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    # Float32 counts are exact here: a strip holds at most 128 x 8192 pixels, far below 2**24.
    return cv2.calcHist([values], [0], mask, [256], [0, 256]).ravel().astype(np.int64)


def pixel_stats(image: Image.Image, *, with_luma: bool = True) -> PixelStats:
    """Scan the image as the seed decodes it (8-bit RGB; palette and grey expanded) in strips of
    rows, leaving out pixels whose alpha is 0. Strips, not one full-size array: on these machines
    page-faulting fresh full-size temporaries costs more than the arithmetic."""
    alpha = _has_alpha(image)
    mode = "RGBA" if alpha else "RGB"
    source = image if image.mode == mode else image.convert(mode)
    width, height = source.size
    spread_total = np.zeros(256, dtype=np.int64)
    luma_total = np.zeros(256, dtype=np.int64) if with_luma else None
    for top in range(0, height, _STRIP_ROWS):
        strip = np.asarray(source.crop((0, top, width, min(height, top + _STRIP_ROWS))))
        channels = cv2.split(strip)
        red, green, blue = channels[:3]
        mask = cv2.threshold(channels[3], 0, 255, cv2.THRESH_BINARY)[1] if alpha else None
        spread = cv2.subtract(cv2.max(cv2.max(red, green), blue), cv2.min(cv2.min(red, green), blue))
        spread_total += _histogram(spread, mask)
        if luma_total is not None:
            luma = cv2.cvtColor(strip, cv2.COLOR_RGBA2GRAY if alpha else cv2.COLOR_RGB2GRAY)
            luma_total += _histogram(luma, mask)
    return PixelStats(spread_total, luma_total)


def chroma_delta(image: Image.Image) -> float | None:
    """The seed's chroma metric (0 = grey, 170 = a pure primary), over the visible pixels only.

    Palette and grey images are expanded to RGB like the seed (a grey image gives 0). Pixels with
    alpha 0 are ignored; a fully transparent image has no colour to judge and gives None.
    """
    return pixel_stats(image, with_luma=False).chroma_delta()


def naive_chroma_delta(image: Image.Image) -> float | None:
    """The same metric written as the seed's formula, one pixel at a time in plain Python.

    It exists as the reference the vectorised :func:`chroma_delta` is checked and timed against;
    never use it on real work (it is two orders of magnitude slower).
    """
    alpha = _has_alpha(image)
    data = image.convert("RGBA" if alpha else "RGB").tobytes()
    step = 4 if alpha else 3
    sum_rg = sum_rb = sum_gb = count = 0
    for offset in range(0, len(data), step):
        if alpha and data[offset + 3] == 0:
            continue
        red, green, blue = data[offset], data[offset + 1], data[offset + 2]
        sum_rg += abs(red - green)
        sum_rb += abs(red - blue)
        sum_gb += abs(green - blue)
        count += 1
    if count == 0:
        return None
    return round((sum_rg / count + sum_rb / count + sum_gb / count) / 3, 4)


