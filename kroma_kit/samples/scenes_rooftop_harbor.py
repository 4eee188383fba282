"""Sample scenes (768x512): the rooftop and the harbor."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

from kroma_kit.samples.pen import INK, RGB, SCENE_SIZE, Cam, Pen, Point, is_lit, shaded, stars


def _water_tower(pen: Pen, x0: float, x1: float, top: float, bottom: float, ground: float) -> None:
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
        pen.line([(sx, top), (sx, bottom + 5)], fill=shaded(wood, 0.78), width=1)
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
    pen = Pen(SCENE_SIZE, (36, 44, 72))
    pen.rect((0, 150, 768, 320), fill=(58, 64, 94), outline=None)
    pen.rect((0, 250, 768, 320), fill=(88, 88, 112), outline=None)
    stars(pen, 23, (0, 4, 768, 150), 60, (220, 220, 232))
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
                if is_lit(i, row, col) and is_lit(col, i + row):
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
        pen.ellipse((sx - r, sy - r, sx + r, sy + r), fill=shaded((120, 122, 136), 1 - i * 0.06), width=1.2)
    # skylight and vent pipes
    pen.poly([(250, 470), (270, 440), (370, 440), (390, 470)], fill=(90, 110, 130), width=2)
    pen.line([(320, 440), (320, 470)], width=1.5)
    pen.poly([(244, 470), (396, 470), (396, 480), (244, 480)], fill=(96, 90, 88), width=2)
    for vx in (500, 520):
        pen.rect((vx, 420, vx + 10, 452), fill=(140, 140, 146), width=1.5)
        pen.rect((vx - 3, 414, vx + 13, 422), fill=(110, 110, 116), width=1.5)
    _water_tower(pen, 120, 240, 150, 250, 440)
    return pen.finish()


def _crane(pen: Pen, x: float, base: float, scale: float, color: RGB) -> None:
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

    pen = Pen(SCENE_SIZE, (52, 62, 92))
    horizon = 262.0
    pen.rect((0, 160, 768, horizon), fill=(84, 90, 116), outline=None)
    pen.rect((0, 216, 768, horizon), fill=(118, 112, 122), outline=None)
    pen.ellipse((374, 28, 426, 80), fill=(236, 230, 204), width=2)
    stars(pen, 37, (0, 4, 768, 150), 40, (220, 220, 232))
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
    cam = Cam(f=300.0, cx=384.0, cy=horizon, eye=3.2)
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


