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
    """Exact integer sums over the visible pixels of an image: the channel spread
    ``max(R,G,B) - min(R,G,B)``, the luma (ITU-R 601 in OpenCV's 14-bit fixed point: within one
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


# One row, three columns: over the interleaved bytes R G B A R G B A ..., the window centred on
# a pixel's G covers exactly its R, G and B, never its A (or the X padding of an RGB image).
_CHANNEL_WINDOW = np.ones((1, 3), dtype=np.uint8)


def _exact(total: float) -> int:
    # OpenCV sums 8-bit values in integers and returns a double: exact below 2**53, far above
    # what 255**2 x 8192 x 8192 pixels can reach.
    return int(round(total))


_STRIP_ROWS = 128  # ~400 KB a strip: stays in cache, and its buffers are reused strip to strip


def pixel_stats(image: Image.Image, *, with_luma: bool = True) -> PixelStats:
    """Scan the image as the seed decodes it (8-bit RGB; palette and grey expanded), leaving out
    pixels whose alpha is 0.

    Why this shape: each strip of rows is read out of Pillow once, then reduced to exact integer
    sums by one pass each of OpenCV's vectorised row kernels over the interleaved bytes, with no
    per-channel copies: dilate minus erode over a 1x3 window gives each pixel's spread
    ``max(R,G,B) - min(R,G,B)`` at its G byte, summed per channel by ``sumElems`` (or by ``norm``
    L1 under the alpha mask). Strips with buffers reused from strip to strip, never full-size
    temporaries: on a loaded machine, page-faulting fresh megabytes costs far more than the
    arithmetic (the reason Pillow's own pooled bands do well). Sums, not histograms: the metrics
    only need totals, and exact integers keep the figures equal to the seed's formula."""
    alpha = _has_alpha(image)
    mode = "RGBA" if alpha else "RGB"
    source = image if image.mode == mode else image.convert(mode)
    width, height = source.size
    channels = 4  # Pillow keeps RGB as RGBX: reading it so is a plain copy, not a repack
    raw_mode = "RGBA" if alpha else "RGBX"
    spread_sum = luma_sum = luma_square_sum = visible = 0
    rows = min(_STRIP_ROWS, height)
    high, low = (np.empty((rows, width * channels), dtype=np.uint8) for _ in range(2))
    luma_buffer = np.empty((rows, width), dtype=np.uint8)
    for top in range(0, height, _STRIP_ROWS):
        count = min(height, top + _STRIP_ROWS) - top
        data = source.crop((0, top, width, top + count)).tobytes("raw", raw_mode)
        strip = np.frombuffer(data, dtype=np.uint8).reshape(count, width, channels)
        interleaved = strip.reshape(count, width * channels)
        # dilate and erode, not morphologyEx(MORPH_GRADIENT): the latter misses OpenCV's fast row
        # path. The edge bytes see a border value, but no pixel's G byte is at an edge.
        spread = cv2.dilate(interleaved, _CHANNEL_WINDOW, dst=high[:count])
        cv2.subtract(spread, cv2.erode(interleaved, _CHANNEL_WINDOW, dst=low[:count]), dst=spread)
        spread = spread.reshape(count, width, channels)
        mask = None
        if alpha:
            mask = cv2.threshold(cv2.extractChannel(strip, 3), 0, 255, cv2.THRESH_BINARY)[1]
            spread_sum += _exact(cv2.norm(cv2.extractChannel(spread, 1), cv2.NORM_L1, mask))
            visible += cv2.countNonZero(mask)
        else:
            spread_sum += _exact(cv2.sumElems(spread)[1])
            visible += count * width
        if with_luma:
            luma = cv2.cvtColor(strip, cv2.COLOR_RGBA2GRAY, dst=luma_buffer[:count])
            luma_sum += _exact(cv2.norm(luma, cv2.NORM_L1, mask))
            luma_square_sum += _exact(cv2.norm(luma, cv2.NORM_L2SQR, mask))
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


