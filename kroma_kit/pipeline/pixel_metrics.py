"""Pixel measurements of the output guard: chroma delta (the seed's formula) and luma spread,
over opaque pixels only, so a background-removed cutout is judged by what it shows."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kroma_kit.pipeline.pixel_kernel import pixel_sums

if TYPE_CHECKING:
    from PIL import Image



def _has_alpha(image: Image.Image) -> bool:
    return "A" in image.getbands() or "a" in image.getbands() or "transparency" in image.info


@dataclass(frozen=True)
class PixelStats:
    """Exact integer sums over the visible pixels of an image: the channel spread
    ``max(R,G,B) - min(R,G,B)``, the luma (ITU-R 601 in OpenCV's 15-bit fixed point: within one
    level of Pillow's "L") and its square, and the
    count of visible pixels. Every guard metric derives from these."""

    spread_sum: int
    luma_sum: int | None
    luma_square_sum: int | None
    visible: int

    def chroma_delta(self) -> float | None:
        # For three numbers |r-g| + |r-b| + |g-b| == 2 * (max - min), so the seed's mean of three
        # difference images is 2 * mean(spread) / 3, and the integer total keeps it exact.
        if not self.visible:
            return None
        return round(2 * self.spread_sum / (3 * self.visible), 4)

    def luma_std(self) -> float | None:
        if self.luma_sum is None or self.luma_square_sum is None or not self.visible:
            return None
        mean = float(self.luma_sum) / self.visible
        return round(math.sqrt(max(float(self.luma_square_sum) / self.visible - mean * mean, 0.0)), 4)


def pixel_stats(image: Image.Image, *, with_luma: bool = True) -> PixelStats:
    """Scan the image as the seed decodes it (8-bit RGB; palette and grey expanded), leaving out
    pixels whose alpha is 0.

    Why this shape: one compiled pass (:mod:`~kroma_kit.pipeline.pixel_kernel`) reads each pixel
    once, in place in Pillow's memory where it can, and keeps exact integer totals of the spread,
    the luma and its square: no per-channel copies, no temporaries, no second pass for the blank
    check. Sums, not histograms: the metrics only need totals, and exact integers keep the figures
    equal to the seed's formula. ``with_luma=False`` only drops the luma from the result (the pass
    computes it anyway: it is free next to reading the pixels)."""
    alpha = _has_alpha(image)
    mode = "RGBA" if alpha else "RGB"
    source = image if image.mode == mode else image.convert(mode)
    spread_sum, luma_sum, luma_square_sum, visible = pixel_sums(source, alpha)
    if not with_luma:
        return PixelStats(spread_sum, None, None, visible)
    return PixelStats(spread_sum, luma_sum, luma_square_sum, visible)


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


