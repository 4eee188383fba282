"""Sample style references (512x512): noir ink and warm wash."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

from kroma_kit.samples.pen import RGB, SS, STYLE_SIZE, Pen, Point, circle

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
    pen = Pen(STYLE_SIZE, paper)
    pen.rect((0, 0, 512, 300), fill=blue, outline=None)
    pen.hatch([(0, 0), (512, 0), (512, 140), (0, 140)], 7.0, 0.0, color=(12, 18, 52), width=2.2)
    moon = circle(370, 80, 40)
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
    s = SS
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
    sun = circle(392, 138, 46)
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
    wash(circle(486, 268, 34, 20), (168, 128, 64), 0.75, (-3, 2))
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
    canopy = circle(486, 268, 34, 20)
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


