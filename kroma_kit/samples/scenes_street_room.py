"""Sample scenes (768x512): the street and the room."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

from kroma_kit.samples.pen import RGB, SCENE_SIZE, Cam, Pen, is_lit, shaded, stars

# --------------------------------------------------------------------------------------------
# Scenes (768x512)
# --------------------------------------------------------------------------------------------


def _street_lamp(pen: Pen, cam: Cam, x: float, z: float, arm: float) -> None:
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


def _facades(pen: Pen, cam: Cam, side: int, blocks: Sequence[tuple[float, float, float, RGB]]) -> None:
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
        pen.poly(end_wall, fill=shaded(color, 0.7))
        pen.poly(cam.wall_x(x, 0.0, height, z0, z1), fill=color)
        # cornice and ground-floor band
        pen.poly(cam.wall_x(x, height - 0.7, height, z0, z1), fill=shaded(color, 0.8), width=1.5)
        pen.poly(cam.wall_x(x, 0.0, 3.0, z0, z1), fill=shaded(color, 0.85), width=1.5)
        row = 0
        y = 4.0
        while y + 1.7 < height - 1.0:
            col = 0
            z = z0 + 1.0
            while z + 1.5 < z1 - 0.6:
                lit = is_lit(index, row, col, side + 2)
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
            pen.poly(cam.wall_x(x, 0.0, 2.3, z0 + 4.8, z0 + 6.0), fill=shaded(color, 0.5), width=1.5)


def _draw_street() -> Image.Image:
    """Night street in one-point perspective: facades, lit windows, road, lamp posts."""
    pen = Pen(SCENE_SIZE, (46, 54, 82))
    cam = Cam(f=330.0, cx=384.0, cy=250.0, eye=1.7)
    pen.rect((0, 170, 768, 250), fill=(78, 80, 104), outline=None)
    pen.ellipse((356, 34, 398, 76), fill=(236, 230, 204), width=2)
    stars(pen, 11, (250, 5, 520, 150), 26, (214, 214, 226))
    # far skyline closing the street
    far = [(-30, -18, 22.0), (-18, -9, 30.0), (-9, -2, 18.0), (-2, 4, 26.0), (4, 11, 20.0),
           (11, 22, 34.0), (22, 30, 24.0)]
    for i, (xa, xb, h) in enumerate(far):
        pen.poly(cam.face_z(80.0, xa, xb, 0.0, h), fill=(66, 70, 94), width=1.5)
        for j in range(int(h // 4)):
            if is_lit(i, j, 3):
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
    pen = Pen(SCENE_SIZE, (70, 72, 80))
    cam = Cam(f=300.0, cx=384.0, cy=214.0, eye=1.6)
    xl, xr, ceil, back, near = -5.0, 5.0, 2.9, 6.0, 0.9
    wall = (94, 104, 98)
    pen.poly(cam.flat_y(ceil, xl, xr, near, back), fill=(66, 68, 76))
    pen.poly(cam.wall_x(xl, 0.0, ceil, near, back), fill=shaded(wall, 0.82))
    pen.poly(cam.wall_x(xr, 0.0, ceil, near, back), fill=shaded(wall, 0.74))
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
            if is_lit(i, j, 5):
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
        pen.poly(cam.face_z(lz, lx - leg, lx + leg, 0.0, ty - 0.08), fill=shaded(wood, 0.7), width=1.5)
    pen.poly(cam.flat_y(ty, tx0, tx1, tz0, tz1), fill=wood, width=2)
    pen.poly(cam.face_z(tz0, tx0, tx1, ty - 0.08, ty), fill=shaded(wood, 0.65), width=1.5)
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
    pen.poly(cam.wall_x(cx0, cy, cy + 0.85, cz0, cz1), fill=shaded(chair, 1.3), width=2)
    pen.poly(cam.wall_x(cx0, cy + 0.2, cy + 0.72, cz0 + 0.15, cz1 - 0.15), fill=shaded(chair, 0.8), width=1.2)
    pen.poly(cam.flat_y(cy, cx0, cx1, cz0, cz1), fill=shaded(chair, 1.6), width=2)
    pen.poly(cam.face_z(cz0, cx0, cx1, cy - 0.06, cy), fill=chair, width=1.2)
    # ceiling fan hub for a touch of period
    fx, fy = cam.p(0.0, ceil, 3.4)
    pen.line([(fx, fy), (fx, fy + 24)], width=2)
    pen.poly([(fx - 60, fy + 22), (fx + 60, fy + 22), (fx + 60, fy + 27), (fx - 60, fy + 27)],
             fill=(58, 48, 40), width=1.5)
    pen.ellipse((fx - 8, fy + 18, fx + 8, fy + 32), fill=(90, 80, 60), width=1.5)
    return pen.finish()


