"""The sample drawings' tools: a supersampling pen, a simple perspective camera, colour helpers.

Shared by every drawing module of :mod:`kroma_kit.samples`; Pillow and numpy are imported
inside the functions so ``import kroma_kit`` stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

Point = tuple[float, float]
RGB = tuple[int, int, int]

SCENE_SIZE = (768, 512)
STYLE_SIZE = (512, 512)
CHARACTER_SIZE = (384, 512)

# Supersampling factor: shapes are drawn this many times larger and box-reduced, which gives
# clean anti-aliased outlines while the inside of each shape stays one flat colour.
SS = 2

INK: RGB = (22, 22, 28)
CHARACTER_BG: RGB = (234, 232, 224)



# --------------------------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------------------------


class Pen:
    """ImageDraw in final-pixel coordinates on a supersampled canvas.

    Callers think in the output size (768x512 and so on); the pen scales coordinates and line
    widths, so outlines keep the same weight on every sample.
    """

    def __init__(self, size: tuple[int, int], background: RGB) -> None:
        from PIL import Image, ImageDraw

        self.size = size
        self.s = SS
        self.image = Image.new("RGB", (size[0] * SS, size[1] * SS), background)
        self.draw = ImageDraw.Draw(self.image)

    def _pts(self, pts: Iterable[Point]) -> list[tuple[float, float]]:
        return [(x * self.s, y * self.s) for x, y in pts]

    def _box(self, box: Sequence[float]) -> list[float]:
        return [v * self.s for v in box]

    def poly(self, pts: Sequence[Point], fill: RGB | None = None, outline: RGB | None = INK,
             width: float = 2.0) -> None:
        """Filled polygon with a rounded-joint outline (ImageDraw's own outline has mitre gaps)."""
        scaled = self._pts(pts)
        if fill is not None:
            self.draw.polygon(scaled, fill=fill)
        if outline is not None and width > 0:
            self.draw.line(scaled + [scaled[0]], fill=outline, width=max(1, round(width * self.s)),
                           joint="curve")

    def line(self, pts: Sequence[Point], fill: RGB = INK, width: float = 2.0) -> None:
        self.draw.line(self._pts(pts), fill=fill, width=max(1, round(width * self.s)), joint="curve")

    def rect(self, box: Sequence[float], fill: RGB | None = None, outline: RGB | None = INK,
             width: float = 2.0) -> None:
        x0, y0, x1, y1 = box
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], fill, outline, width)

    def ellipse(self, box: Sequence[float], fill: RGB | None = None, outline: RGB | None = INK,
                width: float = 2.0) -> None:
        w = max(1, round(width * self.s)) if outline is not None else 0
        self.draw.ellipse(self._box(box), fill=fill, outline=outline, width=w)

    def glow(self, pts: Sequence[Point], color: RGB, alpha: int) -> None:
        """Tint a polygon with ``color`` at constant opacity: light cones stay flat-shaded."""
        from PIL import Image, ImageDraw

        mask = Image.new("L", self.image.size, 0)
        ImageDraw.Draw(mask).polygon(self._pts(pts), fill=alpha)
        self.image.paste(Image.new("RGB", self.image.size, color), mask=mask)

    def hatch(self, pts: Sequence[Point], spacing: float, slope: float, color: RGB = INK,
              width: float = 1.2) -> None:
        """Parallel ink lines clipped to a polygon; ``slope`` is dx per dy (0 gives vertical lines)."""
        from PIL import Image, ImageChops, ImageDraw

        w, h = self.image.size
        region = Image.new("L", (w, h), 0)
        ImageDraw.Draw(region).polygon(self._pts(pts), fill=255)
        lines = Image.new("L", (w, h), 0)
        ldraw = ImageDraw.Draw(lines)
        step = spacing * self.s
        lw = max(1, round(width * self.s))
        reach = abs(slope) * h
        x = -reach - step
        while x < w + reach + step:
            ldraw.line([(x, 0), (x + slope * h, h)], fill=255, width=lw)
            x += step
        self.image.paste(Image.new("RGB", (w, h), color), mask=ImageChops.multiply(region, lines))

    def hatch_h(self, pts: Sequence[Point], spacing: float, color: RGB = INK, width: float = 1.2) -> None:
        """Horizontal hatching clipped to a polygon (water, blinds, shadow bands)."""
        from PIL import Image, ImageChops, ImageDraw

        w, h = self.image.size
        region = Image.new("L", (w, h), 0)
        ImageDraw.Draw(region).polygon(self._pts(pts), fill=255)
        lines = Image.new("L", (w, h), 0)
        ldraw = ImageDraw.Draw(lines)
        lw = max(1, round(width * self.s))
        y = 0.0
        while y < h:
            ldraw.line([(0, y), (w, y)], fill=255, width=lw)
            y += spacing * self.s
        self.image.paste(Image.new("RGB", (w, h), color), mask=ImageChops.multiply(region, lines))

    def finish(self) -> Image.Image:
        return self.image.reduce(self.s)


class Cam:
    """Pin-hole projection for one-point perspective: world metres -> output pixels.

    X right, Y up (ground at 0), Z away from the viewer. A real projection (not eyeballed
    trapezoids) keeps windows, planks and road dashes shrinking convincingly toward the horizon.
    """

    def __init__(self, f: float, cx: float, cy: float, eye: float) -> None:
        self.f, self.cx, self.cy, self.eye = f, cx, cy, eye

    def p(self, x: float, y: float, z: float) -> Point:
        return (self.cx + self.f * x / z, self.cy - self.f * (y - self.eye) / z)

    def wall_x(self, x: float, y0: float, y1: float, z0: float, z1: float) -> list[Point]:
        """A rectangle in the plane X = x (a side wall or facade)."""
        return [self.p(x, y0, z0), self.p(x, y1, z0), self.p(x, y1, z1), self.p(x, y0, z1)]

    def flat_y(self, y: float, x0: float, x1: float, z0: float, z1: float) -> list[Point]:
        """A rectangle in the plane Y = y (floor, road, table top, ceiling)."""
        return [self.p(x0, y, z0), self.p(x1, y, z0), self.p(x1, y, z1), self.p(x0, y, z1)]

    def face_z(self, z: float, x0: float, x1: float, y0: float, y1: float) -> list[Point]:
        """A rectangle in the plane Z = z (facing the viewer)."""
        return [self.p(x0, y0, z), self.p(x1, y0, z), self.p(x1, y1, z), self.p(x0, y1, z)]


def shaded(color: RGB, factor: float) -> RGB:
    r, g, b = color
    return (min(255, round(r * factor)), min(255, round(g * factor)), min(255, round(b * factor)))


def is_lit(*keys: int) -> bool:
    """Deterministic 'is this window lit' pattern: arithmetic, not ``hash()`` or a global RNG."""
    value = 0
    for k in keys:
        value = (value * 31 + k * 17 + 7) % 101
    return value % 3 == 0


def circle(cx: float, cy: float, r: float, n: int = 48) -> list[Point]:
    """Polygon approximating a circle, for masks and wobbly ink outlines."""
    return [(cx + r * math.cos(2 * math.pi * i / n), cy + r * math.sin(2 * math.pi * i / n)) for i in range(n)]


def stars(pen: Pen, seed: int, box: Sequence[float], count: int, color: RGB) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = box
    for _ in range(count):
        x = float(rng.uniform(x0, x1))
        y = float(rng.uniform(y0, y1))
        r = float(rng.choice([0.8, 1.1, 1.5]))
        pen.ellipse((x - r, y - r, x + r, y + r), fill=color, outline=None)


