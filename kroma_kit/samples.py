"""A license-clean sample project, drawn by code.

Demos, notebooks and tests need real-looking inputs: scenes to restyle, style references to take a
palette from, character sheets for the character stage and background removal. Shipping downloaded
pictures would drag in licences and megabytes, so every sample here is drawn with Pillow's
``ImageDraw`` from fixed coordinates. The output is byte-for-byte the same on every run (no random
state outside a seeded generator, fixed PNG options, no metadata chunks), which lets tests compare
hashes and lets a re-install recognise its own files.

The look is deliberately "inked comic panel": flat colour areas with dark outlines. Flat regions
are what the post-process checks (banding, flat-fill detection, palette mapping) are tuned on, and
outlines give segmentation and background removal something clear to find.

Pillow and numpy are imported inside the functions so ``import kroma_kit`` stays cheap.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.errors import NotFoundError
from kroma_kit.storage.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from PIL import Image

Point = tuple[float, float]
RGB = tuple[int, int, int]

SCENE_SIZE = (768, 512)
STYLE_SIZE = (512, 512)
CHARACTER_SIZE = (384, 512)

# Supersampling factor: shapes are drawn this many times larger and box-reduced, which gives
# clean anti-aliased outlines while the inside of each shape stays one flat colour.
_SS = 2

INK: RGB = (22, 22, 28)
CHARACTER_BG: RGB = (234, 232, 224)


# --------------------------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------------------------


class _Pen:
    """ImageDraw in final-pixel coordinates on a supersampled canvas.

    Callers think in the output size (768x512 and so on); the pen scales coordinates and line
    widths, so outlines keep the same weight on every sample.
    """

    def __init__(self, size: tuple[int, int], background: RGB) -> None:
        from PIL import Image, ImageDraw

        self.size = size
        self.s = _SS
        self.image = Image.new("RGB", (size[0] * _SS, size[1] * _SS), background)
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


class _Cam:
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


def _shade(color: RGB, factor: float) -> RGB:
    r, g, b = color
    return (min(255, round(r * factor)), min(255, round(g * factor)), min(255, round(b * factor)))


def _lit(*keys: int) -> bool:
    """Deterministic 'is this window lit' pattern: arithmetic, not ``hash()`` or a global RNG."""
    value = 0
    for k in keys:
        value = (value * 31 + k * 17 + 7) % 101
    return value % 3 == 0


def _circle(cx: float, cy: float, r: float, n: int = 48) -> list[Point]:
    """Polygon approximating a circle, for masks and wobbly ink outlines."""
    return [(cx + r * math.cos(2 * math.pi * i / n), cy + r * math.sin(2 * math.pi * i / n)) for i in range(n)]


def _stars(pen: _Pen, seed: int, box: Sequence[float], count: int, color: RGB) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = box
    for _ in range(count):
        x = float(rng.uniform(x0, x1))
        y = float(rng.uniform(y0, y1))
        r = float(rng.choice([0.8, 1.1, 1.5]))
        pen.ellipse((x - r, y - r, x + r, y + r), fill=color, outline=None)


# --------------------------------------------------------------------------------------------
# Scenes (768x512)
# --------------------------------------------------------------------------------------------


def _street_lamp(pen: _Pen, cam: _Cam, x: float, z: float, arm: float) -> None:
    """Cast-iron lamp post at (x, z) with its arm reaching ``arm`` metres over the road."""
    top = 5.2
    head_x = x + arm
    cone = [cam.p(head_x - 0.25, top - 0.35, z), cam.p(head_x + 0.25, top - 0.35, z),
            cam.p(head_x + 1.9, 0.0, z - 0.6), cam.p(head_x - 1.9, 0.0, z - 0.6)]
    pen.glow(cone, (236, 214, 140), 70)
    pole_w = 0.07
    pen.poly([cam.p(x - pole_w, 0.0, z), cam.p(x - pole_w, top, z),
              cam.p(x + pole_w, top, z), cam.p(x + pole_w, 0.0, z)], fill=(36, 38, 44), width=1.5)
    pen.poly([cam.p(x - 0.16, 0.0, z), cam.p(x - 0.12, 0.7, z), cam.p(x + 0.12, 0.7, z),
              cam.p(x + 0.16, 0.0, z)], fill=(36, 38, 44), width=1.5)
    pen.line([cam.p(x, top, z), cam.p(head_x, top, z)], width=3.0)
    pen.line([cam.p(x, top - 0.6, z), cam.p(x + arm * 0.5, top, z)], width=1.5)
    pen.poly([cam.p(head_x - 0.32, top - 0.05, z), cam.p(head_x + 0.32, top - 0.05, z),
              cam.p(head_x + 0.2, top - 0.35, z), cam.p(head_x - 0.2, top - 0.35, z)],
             fill=(40, 42, 48), width=1.5)
    pen.poly([cam.p(head_x - 0.2, top - 0.35, z), cam.p(head_x + 0.2, top - 0.35, z),
              cam.p(head_x + 0.12, top - 0.45, z), cam.p(head_x - 0.12, top - 0.45, z)],
             fill=(250, 236, 170), width=1.2)


def _facades(pen: _Pen, cam: _Cam, side: int, blocks: Sequence[tuple[float, float, float, RGB]]) -> None:
    """A row of buildings along one side of the street (side -1 left, +1 right).

    ``blocks`` are (z_start, z_end, height, colour) from near to far. Each block's street-facing
    end wall is drawn too, so a taller far building shows above a shorter near one.
    """
    x = 7.0 * side
    depth = 40.0 * side
    for index in range(len(blocks) - 1, -1, -1):
        z0, z1, height, color = blocks[index]
        end_wall = [cam.p(x, 0.0, z0), cam.p(x, height, z0), cam.p(x + depth, height, z0),
                    cam.p(x + depth, 0.0, z0)]
        pen.poly(end_wall, fill=_shade(color, 0.7))
        pen.poly(cam.wall_x(x, 0.0, height, z0, z1), fill=color)
        # cornice and ground-floor band
        pen.poly(cam.wall_x(x, height - 0.7, height, z0, z1), fill=_shade(color, 0.8), width=1.5)
        pen.poly(cam.wall_x(x, 0.0, 3.0, z0, z1), fill=_shade(color, 0.85), width=1.5)
        row = 0
        y = 4.0
        while y + 1.7 < height - 1.0:
            col = 0
            z = z0 + 1.0
            while z + 1.5 < z1 - 0.6:
                lit = _lit(index, row, col, side + 2)
                fill = (236, 206, 120) if lit else (38, 46, 66)
                pen.poly(cam.wall_x(x, y, y + 1.7, z, z + 1.5), fill=fill, width=1.2)
                z += 2.8
                col += 1
            y += 3.2
            row += 1
        # shop window and door on the ground floor
        if z1 - z0 > 6:
            pen.poly(cam.wall_x(x, 0.5, 2.4, z0 + 1.0, z0 + 4.0),
                     fill=(220, 190, 110) if index % 2 == 0 else (44, 52, 70), width=1.5)
            pen.poly(cam.wall_x(x, 0.0, 2.3, z0 + 4.8, z0 + 6.0), fill=_shade(color, 0.5), width=1.5)


def _draw_street() -> Image.Image:
    """Night street in one-point perspective: facades, lit windows, road, lamp posts."""
    pen = _Pen(SCENE_SIZE, (46, 54, 82))
    cam = _Cam(f=330.0, cx=384.0, cy=250.0, eye=1.7)
    pen.rect((0, 170, 768, 250), fill=(78, 80, 104), outline=None)
    pen.ellipse((356, 34, 398, 76), fill=(236, 230, 204), width=2)
    _stars(pen, 11, (250, 5, 520, 150), 26, (214, 214, 226))
    # far skyline closing the street
    far = [(-30, -18, 22.0), (-18, -9, 30.0), (-9, -2, 18.0), (-2, 4, 26.0), (4, 11, 20.0),
           (11, 22, 34.0), (22, 30, 24.0)]
    for i, (xa, xb, h) in enumerate(far):
        pen.poly(cam.face_z(80.0, xa, xb, 0.0, h), fill=(66, 70, 94), width=1.5)
        for j in range(int(h // 4)):
            if _lit(i, j, 3):
                wx = xa + 1.5 + (j * 2.3) % max(1.0, (xb - xa - 3))
                pen.poly(cam.face_z(80.0, wx, wx + 1.2, 2 + j * 3.5, 3.5 + j * 3.5),
                         fill=(230, 200, 120), outline=None)
    # ground: sidewalks then road
    z_near, z_far = 1.0, 80.0
    pen.poly(cam.flat_y(0.0, -40.0, 40.0, z_near, z_far), fill=(118, 116, 120), outline=None)
    pen.poly(cam.flat_y(0.0, -4.0, 4.0, z_near, z_far), fill=(58, 60, 68), width=2)
    z = 2.0
    while z < 75:
        pen.poly(cam.flat_y(0.0, -0.12, 0.12, z, z + 2.4), fill=(222, 206, 150), width=1)
        z += 5.0
    for zz in range(3, 78, 3):  # paving joints
        pen.line([cam.p(-7.0, 0.0, zz), cam.p(-4.0, 0.0, zz)], fill=(92, 90, 96), width=1)
        pen.line([cam.p(4.0, 0.0, zz), cam.p(7.0, 0.0, zz)], fill=(92, 90, 96), width=1)
    for sx in (-4.0, 4.0):  # kerbs
        pen.poly([cam.p(sx, 0.0, z_near), cam.p(sx, 0.0, z_far),
                  cam.p(sx + (0.25 if sx < 0 else -0.25), 0.0, z_far),
                  cam.p(sx + (0.25 if sx < 0 else -0.25), 0.0, z_near)], fill=(150, 146, 140), width=1.5)
    _facades(pen, cam, -1, [(1.0, 13.0, 15.0, (104, 88, 82)), (13.0, 25.0, 10.5, (86, 92, 104)),
                            (25.0, 40.0, 22.0, (96, 84, 96)), (40.0, 55.0, 13.0, (110, 100, 86)),
                            (55.0, 80.0, 18.0, (84, 88, 98))])
    _facades(pen, cam, 1, [(1.0, 10.0, 11.0, (90, 96, 110)), (10.0, 24.0, 19.0, (112, 94, 80)),
                           (24.0, 36.0, 12.0, (94, 86, 100)), (36.0, 55.0, 24.0, (86, 96, 94)),
                           (55.0, 80.0, 15.0, (104, 96, 92))])
    _street_lamp(pen, cam, 5.3, 22.0, -1.2)
    _street_lamp(pen, cam, -5.3, 30.0, 1.2)
    _street_lamp(pen, cam, 5.2, 7.0, -1.4)
    # fire hydrant on the near kerb
    hx, hz = -4.8, 3.2
    pen.poly([cam.p(hx - 0.14, 0.0, hz), cam.p(hx - 0.14, 0.6, hz), cam.p(hx + 0.14, 0.6, hz),
              cam.p(hx + 0.14, 0.0, hz)], fill=(150, 48, 40), width=1.5)
    pen.ellipse((*cam.p(hx - 0.16, 0.72, hz), *cam.p(hx + 0.16, 0.56, hz)), fill=(150, 48, 40), width=1.5)
    return pen.finish()


def _draw_room() -> Image.Image:
    """A private-eye office at night: blinds on the window, table, chair, floor lamp, door."""
    pen = _Pen(SCENE_SIZE, (70, 72, 80))
    cam = _Cam(f=300.0, cx=384.0, cy=214.0, eye=1.6)
    xl, xr, ceil, back, near = -5.0, 5.0, 2.9, 6.0, 0.9
    wall = (94, 104, 98)
    pen.poly(cam.flat_y(ceil, xl, xr, near, back), fill=(66, 68, 76))
    pen.poly(cam.wall_x(xl, 0.0, ceil, near, back), fill=_shade(wall, 0.82))
    pen.poly(cam.wall_x(xr, 0.0, ceil, near, back), fill=_shade(wall, 0.74))
    pen.poly(cam.flat_y(0.0, xl, xr, near, back), fill=(96, 72, 56))
    for i in range(1, 17):  # floor boards
        x = xl + i * (xr - xl) / 17
        pen.line([cam.p(x, 0.0, near), cam.p(x, 0.0, back)], fill=(70, 52, 42), width=1.2)
    pen.poly(cam.face_z(back, xl, xr, 0.0, ceil), fill=wall)
    for x in (xl, xr):  # skirting boards
        pen.poly(cam.wall_x(x, 0.0, 0.15, near, back), fill=(60, 50, 44), width=1.2)
    pen.poly(cam.face_z(back, xl, xr, 0.0, 0.15), fill=(60, 50, 44), width=1.2)
    # window with the city outside and venetian blinds
    wx0, wx1, wy0, wy1 = -3.6, -0.6, 0.95, 2.6
    pen.poly(cam.face_z(back, wx0 - 0.12, wx1 + 0.12, wy0 - 0.12, wy1 + 0.12), fill=(60, 52, 46))
    outside = cam.face_z(back, wx0, wx1, wy0, wy1)
    pen.poly(outside, fill=(34, 42, 70))
    (ox0, oy1), (ox1, _), _, (_, oy0) = outside[0], outside[1], outside[2], outside[3]
    pen.ellipse((ox0 + 26, oy0 + 10, ox0 + 44, oy0 + 28), fill=(230, 226, 200), width=1.2)
    for i, (a, b, h) in enumerate([(0, 0.2, 0.55), (0.2, 0.38, 0.75), (0.38, 0.55, 0.45),
                                   (0.55, 0.8, 0.85), (0.8, 1.0, 0.6)]):
        bx0 = ox0 + a * (ox1 - ox0)
        bx1 = ox0 + b * (ox1 - ox0)
        top = oy1 - h * (oy1 - oy0)
        pen.poly([(bx0, oy1), (bx0, top), (bx1, top), (bx1, oy1)], fill=(22, 26, 40), outline=None)
        for j in range(3):
            if _lit(i, j, 5):
                pen.rect((bx0 + 3 + j * 5, top + 5 + j * 7, bx0 + 6 + j * 5, top + 9 + j * 7),
                         fill=(232, 204, 120), outline=None)
    pen.hatch_h(outside, 5.0, color=(176, 164, 136), width=2.2)
    pen.poly(outside, fill=None, width=2.0)
    pen.line([cam.p((wx0 + wx1) / 2, wy0, back), cam.p((wx0 + wx1) / 2, wy1, back)], width=1.5)
    pen.poly(cam.face_z(back, wx0 - 0.2, wx1 + 0.2, wy0 - 0.18, wy0 - 0.08), fill=(72, 62, 54), width=1.5)
    # moonlight through the blinds, striped across the floor
    for k in range(7):
        za = 5.4 - k * 0.42
        zb = za - 0.24
        pen.glow([cam.p(-3.4 + (5.4 - za) * 0.45, 0.0, za), cam.p(-0.9 + (5.4 - za) * 0.45, 0.0, za),
                  cam.p(-0.9 + (5.4 - zb) * 0.45, 0.0, zb), cam.p(-3.4 + (5.4 - zb) * 0.45, 0.0, zb)],
                 (210, 204, 180), 60)
    # picture frame on the left wall, door on the right wall
    pen.poly(cam.wall_x(xl, 1.3, 2.2, 4.2, 5.6), fill=(120, 96, 60), width=2)
    pen.poly(cam.wall_x(xl, 1.42, 2.08, 4.32, 5.48), fill=(150, 160, 150), width=1.5)
    pen.poly([cam.p(xl, 1.45, 4.4), cam.p(xl, 1.8, 4.7), cam.p(xl, 1.6, 5.0), cam.p(xl, 1.9, 5.3),
              cam.p(xl, 1.45, 5.4)], fill=(110, 124, 120), width=1.0)
    pen.poly(cam.wall_x(xr, 0.0, 2.2, 4.0, 5.2), fill=(88, 66, 50), width=2)
    pen.poly(cam.wall_x(xr, 1.25, 2.0, 4.12, 5.08), fill=(200, 190, 150), width=1.5)
    kx, ky = cam.p(xr, 1.0, 4.15)
    pen.ellipse((kx - 3, ky - 3, kx + 3, ky + 3), fill=(196, 170, 90), width=1)
    # floor lamp in the far corner, behind the table (drawn first so the table overlaps it)
    lx, lz = 4.1, 5.5
    pen.glow([cam.p(lx - 0.3, 1.72, lz), cam.p(lx + 0.3, 1.72, lz), cam.p(lx + 1.5, 0.0, lz - 0.3),
              cam.p(lx - 1.5, 0.0, lz - 0.3)], (240, 216, 150), 55)
    pen.ellipse((*cam.p(lx - 0.28, 0.06, lz), *cam.p(lx + 0.28, -0.06, lz)), fill=(40, 40, 44), width=1.5)
    pen.poly([cam.p(lx - 0.03, 0.0, lz), cam.p(lx - 0.03, 1.75, lz), cam.p(lx + 0.03, 1.75, lz),
              cam.p(lx + 0.03, 0.0, lz)], fill=(40, 40, 44), width=1.2)
    pen.poly([cam.p(lx - 0.2, 2.12, lz), cam.p(lx + 0.2, 2.12, lz), cam.p(lx + 0.34, 1.7, lz),
              cam.p(lx - 0.34, 1.7, lz)], fill=(226, 196, 130), width=2)
    for t in (-0.1, 0.1):
        pen.line([cam.p(lx + t, 2.1, lz), cam.p(lx + t * 1.6, 1.72, lz)], fill=(196, 164, 100), width=1.0)
    pen.line([cam.p(lx - 0.34, 1.7, lz), cam.p(lx + 0.34, 1.7, lz)], fill=(250, 238, 190), width=1.5)
    # table: back legs, front legs, top, front edge
    tx0, tx1, tz0, tz1, ty = 0.4, 2.9, 2.9, 4.3, 0.78
    wood = (116, 78, 52)
    leg = 0.08
    for lx, lz in ((tx0 + 0.1, tz1 - 0.1), (tx1 - 0.1, tz1 - 0.1), (tx0 + 0.1, tz0 + 0.1),
                   (tx1 - 0.1, tz0 + 0.1)):
        pen.poly(cam.face_z(lz, lx - leg, lx + leg, 0.0, ty - 0.08), fill=_shade(wood, 0.7), width=1.5)
    pen.poly(cam.flat_y(ty, tx0, tx1, tz0, tz1), fill=wood, width=2)
    pen.poly(cam.face_z(tz0, tx0, tx1, ty - 0.08, ty), fill=_shade(wood, 0.65), width=1.5)
    # on the table: a folder and a glass
    pen.poly(cam.flat_y(ty + 0.01, 1.7, 2.4, 3.1, 3.6), fill=(200, 176, 120), width=1.2)
    gx, gy = cam.p(0.9, ty, 3.3)
    pen.poly([(gx - 6, gy - 20), (gx + 6, gy - 20), (gx + 5, gy), (gx - 5, gy)], fill=(170, 190, 190), width=1.2)
    # chair beside the table, back toward the window wall
    cx0, cx1, cz0, cz1, cy = -0.9, -0.1, 3.0, 3.8, 0.46
    chair = (60, 44, 36)
    for lx, lz in ((cx0 + 0.05, cz1 - 0.05), (cx1 - 0.05, cz1 - 0.05), (cx0 + 0.05, cz0 + 0.05),
                   (cx1 - 0.05, cz0 + 0.05)):
        pen.poly(cam.face_z(lz, lx - 0.04, lx + 0.04, 0.0, cy), fill=chair, width=1.2)
    pen.poly(cam.wall_x(cx0, cy, cy + 0.85, cz0, cz1), fill=_shade(chair, 1.3), width=2)
    pen.poly(cam.wall_x(cx0, cy + 0.2, cy + 0.72, cz0 + 0.15, cz1 - 0.15), fill=_shade(chair, 0.8), width=1.2)
    pen.poly(cam.flat_y(cy, cx0, cx1, cz0, cz1), fill=_shade(chair, 1.6), width=2)
    pen.poly(cam.face_z(cz0, cx0, cx1, cy - 0.06, cy), fill=chair, width=1.2)
    # ceiling fan hub for a touch of period
    fx, fy = cam.p(0.0, ceil, 3.4)
    pen.line([(fx, fy), (fx, fy + 24)], width=2)
    pen.poly([(fx - 60, fy + 22), (fx + 60, fy + 22), (fx + 60, fy + 27), (fx - 60, fy + 27)],
             fill=(58, 48, 40), width=1.5)
    pen.ellipse((fx - 8, fy + 18, fx + 8, fy + 32), fill=(90, 80, 60), width=1.5)
    return pen.finish()


def _water_tower(pen: _Pen, x0: float, x1: float, top: float, bottom: float, ground: float) -> None:
    """Classic New York wooden water tank on a steel stand."""
    steel = (44, 44, 50)
    wood = (128, 94, 66)
    w = x1 - x0
    legs = [x0 + 0.08 * w, x0 + 0.36 * w, x0 + 0.64 * w, x1 - 0.08 * w]
    feet = [x0 - 0.06 * w, x0 + 0.3 * w, x0 + 0.7 * w, x1 + 0.06 * w]
    for a, b in zip(legs, feet, strict=True):
        pen.line([(a, bottom), (b, ground)], fill=steel, width=3)
    for frac in (0.35, 0.72):
        y = bottom + frac * (ground - bottom)
        xa = legs[0] + frac * (feet[0] - legs[0])
        xb = legs[3] + frac * (feet[3] - legs[3])
        pen.line([(xa, y), (xb, y)], fill=steel, width=2)
    pen.line([(legs[0], bottom + 4), (feet[3] - 0.35 * (feet[3] - legs[3]), bottom + 0.65 * (ground - bottom))],
             fill=steel, width=1.5)
    pen.line([(legs[3], bottom + 4), (feet[0] + 0.35 * (legs[0] - feet[0]), bottom + 0.65 * (ground - bottom))],
             fill=steel, width=1.5)
    pen.rect((x0 - 6, bottom, x1 + 6, bottom + 7), fill=(60, 58, 62), width=1.5)
    tank = [(x0, top), (x1, top)]
    curve = [(x1 - i * w / 16, bottom + 6 * math.sin(math.pi * i / 16)) for i in range(17)]
    pen.poly(tank + curve, fill=wood, width=2.5)
    for k in range(1, 7):  # staves
        sx = x0 + k * w / 7
        pen.line([(sx, top), (sx, bottom + 5)], fill=_shade(wood, 0.78), width=1)
    for y in (top + 0.22 * (bottom - top), top + 0.5 * (bottom - top), top + 0.78 * (bottom - top)):
        pen.line([(x0, y), (x1, y)], fill=(40, 36, 36), width=2)
    pen.poly([(x0 - 8, top + 2), ((x0 + x1) / 2, top - 0.55 * w), (x1 + 8, top + 2)], fill=(76, 70, 72), width=2.5)
    pen.line([((x0 + x1) / 2, top - 0.55 * w), ((x0 + x1) / 2, top - 0.55 * w - 14)], width=2)
    lx = x1 - 0.2 * w  # ladder
    pen.line([(lx, top - 2), (lx, ground)], fill=steel, width=1.5)
    pen.line([(lx + 8, top - 2), (lx + 8, ground)], fill=steel, width=1.5)
    y = top + 6
    while y < ground:
        pen.line([(lx, y), (lx + 8, y)], fill=steel, width=1)
        y += 9


def _draw_rooftop() -> Image.Image:
    """Tar-paper rooftops at night: water tower, TV antenna, chimney, skyline, moon."""
    pen = _Pen(SCENE_SIZE, (36, 44, 72))
    pen.rect((0, 150, 768, 320), fill=(58, 64, 94), outline=None)
    pen.rect((0, 250, 768, 320), fill=(88, 88, 112), outline=None)
    _stars(pen, 23, (0, 4, 768, 150), 60, (220, 220, 232))
    pen.ellipse((560, 46, 644, 130), fill=(238, 232, 206), width=2)
    pen.ellipse((598, 64, 612, 78), fill=(214, 208, 184), outline=None)
    pen.ellipse((578, 92, 596, 108), fill=(214, 208, 184), outline=None)
    # distant skyline with a spire
    blocks = [(0, 40, 262), (40, 86, 220), (86, 120, 240), (120, 150, 196), (150, 172, 176),
              (172, 220, 240), (220, 262, 210), (262, 300, 250), (300, 352, 150), (352, 400, 232),
              (400, 450, 188), (450, 500, 246), (500, 540, 204), (540, 590, 226), (590, 630, 180),
              (630, 680, 238), (680, 720, 200), (720, 768, 244)]
    outline: list[Point] = [(0, 330)]
    for x0, x1, top in blocks:
        outline += [(x0, top), (x1, top)]
        if x0 == 300:  # the spire
            outline[-1:-1] = [(318, top), (326, 110), (334, top)]
    outline.append((768, 330))
    pen.poly(outline, fill=(40, 44, 68), width=1.5)
    for i, (x0, x1, top) in enumerate(blocks):
        for row, y in enumerate(range(top + 10, 320, 14)):
            for col, x in enumerate(range(x0 + 6, x1 - 8, 12)):
                if _lit(i, row, col) and _lit(col, i + row):
                    pen.rect((x, y, x + 4, y + 5), fill=(226, 198, 122), outline=None)
    # middle roofs
    pen.poly([(0, 318), (230, 318), (230, 300), (300, 300), (300, 318), (360, 318), (360, 360), (0, 360)],
             fill=(92, 82, 84), width=2)
    pen.poly([(340, 340), (420, 290), (500, 340)], fill=(110, 72, 58), width=2)
    pen.poly([(340, 340), (500, 340), (500, 372), (340, 372)], fill=(120, 104, 92), width=2)
    pen.poly([(480, 330), (768, 330), (768, 372), (480, 372)], fill=(84, 86, 98), width=2)
    for x in range(500, 768, 48):
        pen.rect((x, 344, x + 22, 362), fill=(40, 46, 64), width=1.2)
    # foreground roof: parapet with coping, tar surface
    pen.poly([(0, 392), (768, 392), (768, 512), (0, 512)], fill=(72, 70, 74), width=0)
    for y in range(420, 512, 22):
        pen.line([(0, y), (768, y)], fill=(62, 60, 66), width=1.2)
    pen.rect((-4, 380, 772, 400), fill=(132, 96, 78), width=2)
    pen.rect((-4, 372, 772, 382), fill=(150, 146, 140), width=2)
    for row, y in enumerate((381, 390)):
        for x in range(-20 + row * 14, 780, 28):
            pen.line([(x, y), (x, y + 9)], fill=(100, 70, 58), width=1)
    pen.line([(0, 390.5), (768, 390.5)], fill=(100, 70, 58), width=1)
    # stair bulkhead with a door
    pen.poly([(560, 300), (740, 300), (740, 470), (560, 470)], fill=(110, 100, 94), width=2.5)
    pen.poly([(552, 292), (748, 292), (748, 304), (552, 304)], fill=(80, 74, 72), width=2)
    pen.rect((600, 356, 654, 470), fill=(62, 70, 82), width=2)
    pen.ellipse((642, 410, 648, 416), fill=(200, 180, 100), width=1)
    pen.rect((680, 330, 716, 360), fill=(230, 200, 120), width=2)
    pen.line([(698, 330), (698, 360)], width=1.5)
    # antenna on the bulkhead
    ax = 660.0
    pen.line([(ax, 292), (ax, 150)], width=3)
    for y, half in ((160, 52), (184, 40), (206, 30), (226, 20)):
        pen.line([(ax - half, y), (ax + half, y)], width=2)
        for t in (-1.0, -0.5, 0.5, 1.0):
            pen.line([(ax + t * half, y - 6), (ax + t * half, y + 6)], width=1.2)
    pen.line([(ax, 170), (566, 296)], fill=(30, 30, 36), width=1)
    pen.line([(ax, 170), (742, 296)], fill=(30, 30, 36), width=1)
    # chimney with smoke puffs
    pen.poly([(420, 320), (470, 320), (470, 430), (420, 430)], fill=(128, 78, 62), width=2)
    pen.rect((414, 312, 476, 324), fill=(96, 90, 88), width=2)
    for y in range(336, 430, 12):
        pen.line([(420, y), (470, y)], fill=(98, 60, 50), width=1)
    for i, (sx, sy, r) in enumerate(((448, 296, 10), (458, 276, 13), (474, 252, 16), (496, 226, 18))):
        pen.ellipse((sx - r, sy - r, sx + r, sy + r), fill=_shade((120, 122, 136), 1 - i * 0.06), width=1.2)
    # skylight and vent pipes
    pen.poly([(250, 470), (270, 440), (370, 440), (390, 470)], fill=(90, 110, 130), width=2)
    pen.line([(320, 440), (320, 470)], width=1.5)
    pen.poly([(244, 470), (396, 470), (396, 480), (244, 480)], fill=(96, 90, 88), width=2)
    for vx in (500, 520):
        pen.rect((vx, 420, vx + 10, 452), fill=(140, 140, 146), width=1.5)
        pen.rect((vx - 3, 414, vx + 13, 422), fill=(110, 110, 116), width=1.5)
    _water_tower(pen, 120, 240, 150, 250, 440)
    return pen.finish()


def _crane(pen: _Pen, x: float, base: float, scale: float, color: RGB) -> None:
    """Silhouette of a container gantry crane on the far quay."""
    s = scale
    leg = 34 * s
    top = base - 90 * s
    pen.line([(x, base), (x, top)], fill=color, width=3 * s)
    pen.line([(x + leg, base), (x + leg, top)], fill=color, width=3 * s)
    pen.line([(x, base - 30 * s), (x + leg, base - 30 * s)], fill=color, width=2 * s)
    pen.line([(x, base), (x + leg, base - 30 * s)], fill=color, width=1.2 * s)
    pen.line([(x + leg, base), (x, base - 30 * s)], fill=color, width=1.2 * s)
    pen.poly([(x - 70 * s, top), (x + leg + 60 * s, top), (x + leg + 60 * s, top + 6 * s),
              (x - 70 * s, top + 6 * s)], fill=color, outline=None)
    apex = (x + leg / 2, top - 36 * s)
    pen.line([(x, top), apex, (x + leg, top)], fill=color, width=2.5 * s)
    pen.line([apex, (x - 70 * s, top)], fill=color, width=1.2 * s)
    pen.line([apex, (x + leg + 60 * s, top)], fill=color, width=1.2 * s)
    pen.rect((x + leg * 0.6, top + 6 * s, x + leg * 0.6 + 12 * s, top + 16 * s), fill=color, outline=None)
    pen.line([(x - 40 * s, top + 6 * s), (x - 40 * s, top + 40 * s)], fill=color, width=1 * s)


def _draw_harbor() -> Image.Image:
    """Night harbour: wooden pier in perspective, moored fishing boat, water, far cranes."""
    import numpy as np

    pen = _Pen(SCENE_SIZE, (52, 62, 92))
    horizon = 262.0
    pen.rect((0, 160, 768, horizon), fill=(84, 90, 116), outline=None)
    pen.rect((0, 216, 768, horizon), fill=(118, 112, 122), outline=None)
    pen.ellipse((374, 28, 426, 80), fill=(236, 230, 204), width=2)
    _stars(pen, 37, (0, 4, 768, 150), 40, (220, 220, 232))
    # far quay with warehouses and cranes
    pen.poly([(0, 250), (768, 250), (768, horizon), (0, horizon)], fill=(52, 56, 74), width=1.5)
    for x0, x1, h in ((300, 380, 22), (384, 440, 16), (620, 720, 20), (724, 768, 26)):
        pen.rect((x0, 250 - h, x1, 250), fill=(58, 62, 80), width=1.2)
    for i, (x, s) in enumerate(((430.0, 1.0), (540.0, 1.25), (680.0, 0.9))):
        _crane(pen, x, 250.0, s, (40 + i * 4, 44 + i * 4, 62 + i * 4))
    # water
    pen.rect((0, horizon, 768, 512), fill=(34, 50, 74), outline=None)
    pen.poly([(386, horizon), (414, horizon), (470, 512), (330, 512)], fill=(48, 68, 94), outline=None)
    rng = np.random.default_rng(41)
    for _ in range(150):
        y = float(rng.uniform(horizon + 4, 508))
        depth = (y - horizon) / (512 - horizon)
        x = float(rng.uniform(-20, 768))
        length = 8 + 60 * depth * float(rng.uniform(0.4, 1.0))
        shade = (150, 156, 160) if 360 < x < 440 else (72, 96, 124)
        pen.line([(x, y), (x + length, y)], fill=shade, width=1 + 1.5 * depth)
    # fishing boat, moored
    hull = [(420, 338), (700, 330), (728, 300), (404, 312)]
    pen.poly([(430, 346), (690, 340), (700, 356), (440, 360)], fill=(22, 30, 46), outline=None)
    for y in (366, 376, 388):
        pen.line([(440 + (y - 366), y), (690 - (y - 366) * 1.5, y)], fill=(96, 52, 48), width=2)
    pen.poly(hull, fill=(138, 50, 42), width=2.5)
    pen.line([(410, 318), (716, 310)], fill=(226, 220, 204), width=4)
    pen.line([(410, 318), (716, 310)], fill=INK, width=0.8)
    pen.poly([(470, 306), (470, 262), (560, 262), (574, 304)], fill=(206, 196, 166), width=2)
    pen.rect((464, 254, 566, 264), fill=(80, 72, 70), width=2)
    for wx in (482, 506, 530):
        pen.rect((wx, 274, wx + 16, 290), fill=(232, 200, 118), width=1.5)
    pen.line([(620, 304), (620, 176)], width=3)
    pen.line([(600, 206), (656, 206)], width=2.5)
    pen.line([(620, 178), (724, 302)], width=1.2)
    pen.line([(620, 178), (470, 256)], width=1.2)
    pen.poly([(620, 176), (644, 182), (620, 188)], fill=(196, 60, 50), width=1.2)
    for tx in (446, 588, 680):
        pen.ellipse((tx - 7, 308, tx + 7, 322), fill=(230, 222, 200), width=1.5)
    # pier in perspective on the left
    cam = _Cam(f=300.0, cx=384.0, cy=horizon, eye=3.2)
    px0, px1, deck, z0, z1 = -9.0, -2.6, 1.3, 1.2, 46.0
    post = (74, 58, 48)
    for z in np.arange(z1 - 2.0, z0, -2.6):
        z = float(z)
        pen.poly(cam.face_z(z, px1 - 0.35, px1, -1.0, deck), fill=post, width=1.5)
        pen.line([cam.p(px1 - 0.35, 0.0, z), cam.p(px1, 0.0, z)], fill=(110, 140, 160), width=1)
    pen.poly(cam.wall_x(px1, deck - 0.35, deck, z0, z1), fill=(92, 70, 54), width=2)
    pen.poly(cam.flat_y(deck, px0, px1, z0, z1), fill=(132, 104, 78), width=2)
    z = z0
    while z < z1:  # planks
        pen.line([cam.p(px0, deck, z), cam.p(px1, deck, z)], fill=(96, 74, 58), width=1.2)
        z += 0.7 + z * 0.04
    for z, lamp in ((6.0, True), (18.0, False), (30.0, True)):
        bx, by = cam.p(px1 - 0.6, deck, z)
        r = 300.0 * 0.22 / z
        pen.rect((bx - r, by - 2.4 * r, bx + r, by), fill=(46, 46, 52), width=1.5)
        pen.ellipse((bx - 1.3 * r, by - 2.9 * r, bx + 1.3 * r, by - 2.1 * r), fill=(60, 60, 66), width=1.5)
        if lamp:
            lamp_x = px1 - 1.4
            pen.glow([cam.p(lamp_x - 0.15, deck + 3.7, z), cam.p(lamp_x + 0.15, deck + 3.7, z),
                      cam.p(lamp_x + 1.6, deck, z - 0.8), cam.p(lamp_x - 1.6, deck, z - 0.8)],
                     (236, 214, 150), 60)
            pen.poly([cam.p(lamp_x - 0.06, deck, z), cam.p(lamp_x - 0.06, deck + 3.8, z),
                      cam.p(lamp_x + 0.06, deck + 3.8, z), cam.p(lamp_x + 0.06, deck, z)],
                     fill=(40, 40, 46), width=max(0.8, 8 / z))
            hx0, hy0 = cam.p(lamp_x - 0.22, deck + 4.1, z)
            hx1, hy1 = cam.p(lamp_x + 0.22, deck + 3.7, z)
            pen.rect((hx0, hy0, hx1, hy1), fill=(250, 232, 160), width=max(0.8, 8 / z))
    # mooring rope from bollard to boat
    bx, by = cam.p(px1 - 0.6, deck, 6.0)
    pen.line([(bx, by - 10), (300, 330), (420, 322)], fill=(196, 180, 140), width=1.5)
    return pen.finish()


# --------------------------------------------------------------------------------------------
# Style references (512x512)
# --------------------------------------------------------------------------------------------


def _draw_noir_ink() -> Image.Image:
    """Noir ink plate: black masses, white paper, hatched greys, a deep-blue night sky.

    A style-transfer step reads tone and palette from this, so it is intentionally almost
    monochrome with one cold accent colour.
    """
    paper = (240, 238, 232)
    black = (14, 14, 18)
    blue = (22, 34, 86)
    pen = _Pen(STYLE_SIZE, paper)
    pen.rect((0, 0, 512, 300), fill=blue, outline=None)
    pen.hatch([(0, 0), (512, 0), (512, 140), (0, 140)], 7.0, 0.0, color=(12, 18, 52), width=2.2)
    moon = _circle(370, 80, 40)
    pen.poly(moon, fill=paper, outline=None)
    pen.hatch(moon, 4.0, -1.0, color=(205, 203, 198), width=0.8)
    pen.poly(moon, fill=None, width=2.5)
    # mid-ground buildings in grey wash with hatching
    pen.poly([(150, 300), (150, 120), (230, 120), (230, 300)], fill=(128, 128, 132), width=3)
    pen.hatch([(150, 300), (150, 120), (230, 120), (230, 300)], 6.0, 1.0, color=black, width=1.2)
    pen.poly([(270, 300), (270, 160), (360, 160), (360, 300)], fill=(176, 176, 178), width=3)
    pen.hatch([(270, 300), (270, 160), (360, 160), (360, 300)], 8.0, -1.0, color=black, width=1.0)
    for x in range(282, 350, 22):
        for y in range(176, 290, 26):
            pen.rect((x, y, x + 12, y + 14), fill=paper if (x + y) % 3 else black, width=2)
    # street: cross-hatched grey ground, then the white pool of lamplight
    street = [(0, 300), (512, 300), (512, 512), (0, 512)]
    pen.poly(street, fill=(96, 96, 100), outline=None)
    pen.hatch(street, 6.0, 1.2, color=black, width=1.2)
    pen.hatch(street, 9.0, -1.2, color=black, width=1.0)
    cone = [(240, 170), (270, 170), (380, 470), (130, 470)]
    pen.poly(cone, fill=paper, outline=None)
    pen.hatch(cone, 10.0, 0.0, color=(180, 180, 184), width=0.8)
    pen.ellipse((120, 440, 390, 500), fill=paper, outline=black, width=2)
    # foreground black masses with a few windows
    pen.poly([(0, 512), (0, 40), (120, 70), (120, 512)], fill=black, width=3)
    pen.poly([(400, 512), (400, 150), (512, 120), (512, 512)], fill=black, width=3)
    for i, (x, y) in enumerate(((24, 120), (70, 130), (24, 200), (70, 210), (24, 300), (70, 290))):
        pen.poly([(x, y), (x + 28, y + 4), (x + 28, y + 44), (x, y + 40)],
                 fill=paper if i % 2 == 0 else (60, 70, 120), outline=None)
        pen.line([(x + 14, y + 2), (x + 14, y + 42)], width=3)
    for x, y in ((424, 200), (470, 190), (424, 280), (470, 270)):
        pen.rect((x, y, x + 24, y + 36), fill=paper, outline=None)
        pen.line([(x, y + 18), (x + 24, y + 18)], width=3)
    # lamp post and a standing figure with its long shadow
    pen.rect((250, 170, 260, 500), fill=black, width=2)
    pen.poly([(236, 150), (274, 150), (266, 172), (244, 172)], fill=black, width=2)
    pen.ellipse((246, 166, 264, 180), fill=(250, 250, 240), width=2)
    pen.poly([(350, 500), (470, 486), (480, 500)], fill=black, outline=None)
    pen.poly([(292, 500), (300, 380), (318, 360), (340, 380), (350, 500)], fill=black, width=2)
    pen.ellipse((306, 330, 330, 360), fill=black, width=2)
    pen.poly([(296, 340), (342, 340), (332, 328), (306, 328)], fill=black, width=2)
    pen.line([(300, 342), (338, 342)], fill=(40, 60, 130), width=2)
    # ink border
    pen.rect((4, 4, 508, 508), fill=None, width=6)
    return pen.finish()


def _erode(mask: Any, radius: int) -> Any:
    """Binary-ish erosion by a (2r+1) square, as two separable numpy min passes.

    PIL's ``MinFilter`` is a rank filter and takes seconds on a supersampled canvas; this is
    a few milliseconds and gives the same result for a square window.
    """
    import numpy as np

    out = mask.copy()
    padded = np.pad(mask, ((0, 0), (radius, radius)), mode="edge")
    for d in range(2 * radius + 1):
        np.minimum(out, padded[:, d:d + mask.shape[1]], out=out)
    padded = np.pad(out, ((radius, radius), (0, 0)), mode="edge")
    result = out.copy()
    for d in range(2 * radius + 1):
        np.minimum(result, padded[d:d + mask.shape[0], :], out=result)
    return result


def _draw_warm_wash() -> Image.Image:
    """Warm watercolour plate: sepia/orange washes over cream paper, brown ink lines.

    The washes are multiplied onto the paper with a smooth seeded noise field and slightly
    darkened rims, the two cues that read as watercolour; shapes are offset from the ink lines
    the way a quick wash misses its outline. Everything stays in warm hues so its palette is
    unmistakably different from ``noir_ink``.
    """
    import numpy as np
    from PIL import Image, ImageDraw

    # Washes are soft, so they are painted at output size (4x fewer pixels than the ink pass);
    # only their masks and the ink lines are supersampled, for clean edges.
    w, h = STYLE_SIZE
    s = _SS
    big = (w * s, h * s)
    rng = np.random.default_rng(2024)
    canvas = np.empty((h, w, 3), dtype=np.float32)
    canvas[:] = np.array((246, 236, 214), dtype=np.float32)

    def field(cells: int) -> Any:
        small = Image.fromarray((rng.random((cells, cells)) * 255).astype(np.uint8), "L")
        return np.asarray(small.resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32) / 255.0

    def wash(pts: Sequence[Point], color: RGB, strength: float = 0.85, shift: Point = (0.0, 0.0),
             opaque: bool = False) -> None:
        """Multiply a tinted, mottled wash onto the paper (``opaque``: cover what is under it)."""
        nonlocal canvas
        mask_img = Image.new("L", big, 0)
        ImageDraw.Draw(mask_img).polygon([((x + shift[0]) * s, (y + shift[1]) * s) for x, y in pts], fill=255)
        mask_u8 = np.asarray(mask_img.reduce(s))
        mask = mask_u8.astype(np.float32) / 255.0
        rim = mask - _erode(mask_u8, 2).astype(np.float32) / 255.0
        tone = 0.78 + 0.4 * field(6)
        alpha = np.clip(mask * strength * tone + rim * 0.3, 0.0, 1.0)[..., None]
        tint = np.array(color, dtype=np.float32) / 255.0
        if opaque:
            canvas = canvas * (1.0 - alpha) + (tint * 255.0) * tone[..., None] * alpha
        else:
            canvas = canvas * (1.0 - alpha * (1.0 - tint))

    houses = [((36, 268, 140, 420), (206, 112, 66)), ((176, 244, 300, 426), (196, 140, 92)),
              ((336, 280, 450, 418), (186, 104, 74))]
    hills = [(0, 262), (70, 232), (150, 246), (250, 214), (360, 238), (440, 222), (512, 240)]
    sun = _circle(392, 138, 46)
    wash([(0, 0), (512, 0)] + hills[::-1], (252, 214, 168), 0.8)
    wash([(0, 150), (512, 120)] + hills[::-1], (246, 172, 112), 0.55)
    wash(sun, (252, 196, 110), 0.85, (3, -2))
    wash(hills + [(512, 350), (0, 350)], (196, 138, 104), 0.65, (2, 3))
    wash([(0, 340), (512, 330), (512, 512), (0, 512)], (222, 170, 104), 0.75, (0, 3))
    wash([(196, 512), (228, 426), (252, 426), (300, 512)], (244, 214, 170), 0.55)
    for (x0, y0, x1, y1), roof in houses:
        wash([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], (232, 190, 142), 0.85, (3, 2), opaque=True)
        wash([(x0 - 12, y0), ((x0 + x1) / 2, y0 - 56), (x1 + 12, y0)], roof, 0.9, (-2, 3))
        wash([(x0 + 14, y0 + 30), (x0 + 44, y0 + 30), (x0 + 44, y0 + 70), (x0 + 14, y0 + 70)],
             (150, 92, 52), 0.65, (2, 2))
        wash([(x1 - 44, y1), (x1 - 44, y1 - 64), (x1 - 18, y1 - 64), (x1 - 18, y1)], (140, 84, 54), 0.7, (-2, 1))
    wash(_circle(486, 268, 34, 20), (168, 128, 64), 0.75, (-3, 2))
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "RGB")

    ink_mask = Image.new("L", big, 0)
    draw = ImageDraw.Draw(ink_mask)
    ink = (78, 46, 28)
    wobble = np.random.default_rng(7)

    def ink_line(pts: Sequence[Point], width: float = 2.2) -> None:
        out: list[tuple[float, float]] = []
        for (ax, ay), (bx, by) in zip(pts, pts[1:], strict=False):
            steps = max(1, int(math.hypot(bx - ax, by - ay) / 20))
            for i in range(steps):
                t = i / steps
                jx, jy = wobble.normal(0, 0.6, 2)
                out.append(((ax + (bx - ax) * t + jx) * s, (ay + (by - ay) * t + jy) * s))
        out.append((pts[-1][0] * s, pts[-1][1] * s))
        draw.line(out, fill=255, width=round(width * s), joint="curve")

    ink_line(hills, 1.6)
    ink_line(sun + [sun[0]], 1.6)
    for xa, xb in ((0, 30), (146, 170), (306, 330), (456, 512)):  # ground line, broken by the houses
        ink_line([(xa, 342 - xa * 10 / 512), (xb, 342 - xb * 10 / 512)], 2.0)
    for (x0, y0, x1, y1), _ in houses:
        ink_line([(x0, y1), (x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        ink_line([(x0 - 12, y0), ((x0 + x1) / 2, y0 - 56), (x1 + 12, y0), (x0 - 12, y0)])
        ink_line([(x0 + 14, y0 + 30), (x0 + 44, y0 + 30), (x0 + 44, y0 + 70), (x0 + 14, y0 + 70),
                  (x0 + 14, y0 + 30)], 1.6)
        ink_line([(x0 + 29, y0 + 30), (x0 + 29, y0 + 70)], 1.2)
        ink_line([(x0 + 14, y0 + 50), (x0 + 44, y0 + 50)], 1.2)
        ink_line([(x1 - 44, y1), (x1 - 44, y1 - 64), (x1 - 18, y1 - 64), (x1 - 18, y1)], 1.8)
        ink_line([(x1 - 36, y0 - 30), (x1 - 36, y0 - 52), (x1 - 24, y0 - 52), (x1 - 24, y0 - 20)], 1.6)
    ink_line([(228, 426), (196, 512)], 1.6)
    ink_line([(252, 426), (300, 512)], 1.6)
    ink_line([(486, 420), (488, 300), (486, 270)], 2.6)
    ink_line([(488, 330), (470, 300)], 1.4)
    ink_line([(487, 310), (502, 286)], 1.4)
    canopy = _circle(486, 268, 34, 20)
    ink_line(canopy + [canopy[0]], 1.4)
    for i in range(9):  # birds
        bx, by = 60 + i * 27, 60 + (i * 37) % 60
        ink_line([(bx - 7, by - 3), (bx, by + 2), (bx + 7, by - 3)], 1.2)
    for y in range(446, 512, 14):  # dry-brush strokes in the foreground
        x = 20 + (y * 7) % 60
        ink_line([(x, y), (x + 70, y - 2)], 1.0)
        ink_line([(x + 320, y + 4), (x + 400, y + 2)], 1.0)
    ink_line([(4, 4), (508, 4), (508, 508), (4, 508), (4, 4)], 1.4)
    image.paste(Image.new("RGB", (w, h), ink), mask=ink_mask.reduce(s))
    return image


# --------------------------------------------------------------------------------------------
# Character references (384x512)
# --------------------------------------------------------------------------------------------


def _draw_detective() -> Image.Image:
    """Detective: long tan trench coat, dark fedora, turned-up collar, dark trousers."""
    pen = _Pen(CHARACTER_SIZE, CHARACTER_BG)
    skin = (226, 190, 158)
    coat = (178, 148, 104)
    dark_coat = _shade(coat, 0.78)
    hat = (62, 54, 50)
    pen.ellipse((110, 470, 274, 496), fill=(214, 210, 200), outline=None)
    # legs and shoes
    pen.poly([(158, 396), (186, 396), (184, 474), (160, 474)], fill=(58, 58, 66), width=2)
    pen.poly([(198, 396), (226, 396), (224, 474), (200, 474)], fill=(58, 58, 66), width=2)
    pen.poly([(150, 472), (186, 472), (188, 486), (140, 486)], fill=(26, 24, 24), width=2)
    pen.poly([(198, 472), (234, 472), (244, 486), (196, 486)], fill=(26, 24, 24), width=2)
    # coat body, flaring to the knee
    body = [(136, 168), (248, 168), (262, 240), (280, 410), (104, 410), (122, 240)]
    pen.poly(body, fill=coat, width=3)
    pen.poly([(192, 250), (272, 340), (280, 410), (192, 410)], fill=dark_coat, outline=None)
    pen.poly(body, fill=None, width=3)
    pen.line([(192, 250), (192, 410)], width=2)
    pen.poly([(124, 262), (260, 262), (262, 280), (122, 280)], fill=(120, 94, 62), width=2)
    pen.rect((182, 258, 202, 284), fill=(196, 176, 110), width=2)
    for y in (220, 300, 340):
        for x in (176, 208):
            pen.ellipse((x - 4, y - 4, x + 4, y + 4), fill=(90, 70, 50), width=1)
    # lapels and upturned collar
    pen.poly([(160, 168), (192, 250), (172, 238), (146, 178)], fill=dark_coat, width=2)
    pen.poly([(224, 168), (192, 250), (212, 238), (238, 178)], fill=dark_coat, width=2)
    pen.poly([(150, 150), (168, 172), (160, 198), (140, 176)], fill=coat, width=2)
    pen.poly([(234, 150), (216, 172), (224, 198), (244, 176)], fill=coat, width=2)
    # sleeves, hands in pockets
    pen.poly([(136, 172), (114, 196), (98, 330), (124, 338), (138, 240)], fill=coat, width=3)
    pen.poly([(248, 172), (270, 196), (286, 330), (260, 338), (246, 240)], fill=dark_coat, width=3)
    pen.ellipse((100, 324, 126, 350), fill=skin, width=2)
    pen.ellipse((258, 324, 284, 350), fill=skin, width=2)
    # head, shadowed by the hat brim
    pen.poly([(180, 150), (204, 150), (204, 172), (180, 172)], fill=_shade(skin, 0.8), width=2)
    pen.ellipse((164, 90, 220, 158), fill=skin, width=2.5)
    pen.poly([(166, 104), (218, 104), (216, 122), (168, 122)], fill=_shade(skin, 0.72), outline=None)
    pen.line([(178, 124), (188, 124)], width=2.5)
    pen.line([(198, 124), (208, 124)], width=2.5)
    pen.line([(184, 144), (200, 142)], width=2)
    # fedora
    pen.poly([(158, 100), (166, 56), (192, 48), (218, 56), (226, 100)], fill=hat, width=2.5)
    pen.line([(176, 60), (192, 70), (208, 60)], fill=(36, 32, 30), width=2)
    pen.poly([(160, 88), (224, 88), (226, 100), (158, 100)], fill=(30, 28, 28), width=1.5)
    pen.poly([(120, 104), (150, 96), (234, 96), (264, 104), (250, 112), (134, 112)], fill=hat, width=2.5)
    return pen.finish()


def _draw_courier() -> Image.Image:
    """Bike courier: red cap, teal jacket, yellow messenger bag on a cross strap, jeans, sneakers."""
    pen = _Pen(CHARACTER_SIZE, CHARACTER_BG)
    skin = (196, 146, 108)
    jacket = (44, 122, 150)
    jeans = (52, 64, 104)
    red = (200, 52, 46)
    bag = (230, 180, 40)
    pen.ellipse((100, 470, 284, 496), fill=(214, 210, 200), outline=None)
    # legs in a walking stance
    pen.poly([(160, 300), (194, 300), (170, 470), (140, 468)], fill=jeans, width=2.5)
    pen.poly([(190, 300), (224, 300), (250, 466), (220, 470)], fill=_shade(jeans, 0.85), width=2.5)
    pen.poly([(128, 462), (172, 462), (174, 486), (118, 486)], fill=(240, 240, 236), width=2)
    pen.poly([(216, 462), (254, 460), (272, 484), (220, 486)], fill=(240, 240, 236), width=2)
    pen.line([(120, 482), (174, 482)], fill=red, width=3)
    pen.line([(220, 482), (270, 480)], fill=red, width=3)
    # jacket (short, zipped) with sleeves
    body = [(142, 178), (242, 178), (252, 230), (248, 310), (136, 310), (132, 230)]
    pen.poly(body, fill=jacket, width=3)
    pen.poly([(136, 296), (248, 296), (248, 312), (136, 312)], fill=_shade(jacket, 0.7), width=2)
    pen.line([(192, 186), (192, 310)], fill=(220, 220, 214), width=2)
    pen.poly([(166, 172), (218, 172), (210, 188), (174, 188)], fill=_shade(jacket, 0.75), width=2)
    pen.poly([(142, 182), (116, 210), (104, 300), (128, 306), (142, 240)], fill=_shade(jacket, 0.88), width=3)
    pen.poly([(242, 182), (268, 210), (282, 294), (258, 300), (244, 240)], fill=_shade(jacket, 0.88), width=3)
    pen.rect((102, 298, 130, 312), fill=red, width=2)
    pen.rect((256, 292, 284, 306), fill=red, width=2)
    pen.ellipse((104, 308, 128, 332), fill=skin, width=2)
    pen.ellipse((258, 302, 282, 326), fill=skin, width=2)
    # messenger bag on a cross-body strap
    pen.poly([(226, 176), (240, 184), (148, 290), (134, 282)], fill=(40, 40, 44), width=1.5)
    pen.poly([(100, 262), (178, 262), (182, 344), (96, 344)], fill=bag, width=3)
    pen.poly([(98, 262), (180, 262), (180, 306), (98, 300)], fill=_shade(bag, 0.85), width=2.5)
    pen.rect((132, 290, 146, 304), fill=(40, 40, 44), width=1.5)
    pen.line([(106, 324), (172, 324)], fill=(200, 150, 30), width=2)
    # head and cap
    pen.poly([(180, 156), (204, 156), (204, 178), (180, 178)], fill=_shade(skin, 0.85), width=2)
    pen.ellipse((160, 92, 224, 164), fill=skin, width=2.5)
    pen.line([(178, 124), (186, 124)], width=3)
    pen.line([(200, 124), (208, 124)], width=3)
    pen.line([(184, 146), (200, 148)], width=2)
    pen.ellipse((156, 116, 166, 132), fill=skin, width=1.5)
    pen.poly([(158, 112), (162, 86), (192, 74), (222, 86), (226, 112)], fill=red, width=2.5)
    pen.line([(192, 76), (192, 108)], fill=_shade(red, 0.7), width=1.5)
    pen.poly([(210, 104), (262, 108), (258, 118), (206, 114)], fill=_shade(red, 0.75), width=2.5)
    pen.ellipse((187, 70, 197, 80), fill=_shade(red, 0.7), width=1.5)
    return pen.finish()


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

_SCENE_DRAWERS: dict[str, Callable[[], Image.Image]] = {
    "street": _draw_street, "room": _draw_room, "rooftop": _draw_rooftop, "harbor": _draw_harbor,
}
_STYLE_DRAWERS: dict[str, Callable[[], Image.Image]] = {
    "noir_ink": _draw_noir_ink, "warm_wash": _draw_warm_wash,
}
_CHARACTER_DRAWERS: dict[str, Callable[[], Image.Image]] = {
    "detective": _draw_detective, "courier": _draw_courier,
}

SCENES: tuple[str, ...] = tuple(_SCENE_DRAWERS)
STYLES: tuple[str, ...] = tuple(_STYLE_DRAWERS)
CHARACTERS: tuple[str, ...] = tuple(_CHARACTER_DRAWERS)


def _lookup(kind: str, name: str, drawers: dict[str, Callable[[], Image.Image]]) -> Image.Image:
    try:
        drawer = drawers[name]
    except KeyError:
        known = ", ".join(drawers)
        raise NotFoundError(f"No sample {kind} named {name!r}; known {kind}s: {known}. "
                            f"Pick one of those names.") from None
    return drawer()


def draw_scene(name: str) -> Image.Image:
    """Draw the scene ``name`` (one of :data:`SCENES`) as a 768x512 RGB image."""
    return _lookup("scene", name, _SCENE_DRAWERS)


def draw_style(name: str) -> Image.Image:
    """Draw the style reference ``name`` (one of :data:`STYLES`) as a 512x512 RGB image."""
    return _lookup("style", name, _STYLE_DRAWERS)


def draw_character(name: str) -> Image.Image:
    """Draw the character reference ``name`` (one of :data:`CHARACTERS`), 384x512 RGB on a flat
    light background so background removal has an easy, checkable job."""
    return _lookup("character", name, _CHARACTER_DRAWERS)


def png_bytes(image: Image.Image) -> bytes:
    """Encode ``image`` as PNG with fixed options and no metadata chunks.

    Fixed ``compress_level`` and no ``optimize`` keep the bytes identical across runs (Pillow
    adds no time or text chunks unless asked), so sample files can be compared by hash.
    """
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=9, optimize=False)
    return buffer.getvalue()


def install_samples(root: Path) -> dict[str, list[str]]:
    """Write the sample project's images under ``root`` and say what happened.

    Layout: ``inputs/scenes/<name>.png``, ``inputs/styles/<name>.png``, ``characters/<name>.png``.
    A file that already exists is never replaced (a user may have edited or swapped it): it is
    listed under ``skipped`` instead. Each image is encoded in memory first and written with
    :func:`atomic_write_bytes`, so an interrupted install leaves no half-written PNG behind.

    Returns ``scene_refs``, ``style_refs``, ``character_refs`` (every sample path, written or
    not) plus ``written`` and ``skipped``, all relative to ``root`` with '/' separators.
    """
    root = Path(root)
    result: dict[str, list[str]] = {"scene_refs": [], "style_refs": [], "character_refs": [],
                                    "written": [], "skipped": []}
    groups: list[tuple[str, str, dict[str, Callable[[], Image.Image]]]] = [
        ("scene_refs", "inputs/scenes", _SCENE_DRAWERS),
        ("style_refs", "inputs/styles", _STYLE_DRAWERS),
        ("character_refs", "characters", _CHARACTER_DRAWERS),
    ]
    for key, folder, drawers in groups:
        for name, drawer in drawers.items():
            relative = f"{folder}/{name}.png"
            result[key].append(relative)
            target = root.joinpath(*relative.split("/"))
            if target.exists():
                result["skipped"].append(relative)
                continue
            atomic_write_bytes(target, png_bytes(drawer()))
            result["written"].append(relative)
    return result
