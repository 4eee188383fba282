"""Sample character references (384x512) on a flat light background."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

from kroma_kit.samples.pen import CHARACTER_BG, CHARACTER_SIZE, Pen, shaded

# --------------------------------------------------------------------------------------------
# Character references (384x512)
# --------------------------------------------------------------------------------------------


def _draw_detective() -> Image.Image:
    """Detective: long tan trench coat, dark fedora, turned-up collar, dark trousers."""
    pen = Pen(CHARACTER_SIZE, CHARACTER_BG)
    skin = (226, 190, 158)
    coat = (178, 148, 104)
    dark_coat = shaded(coat, 0.78)
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
    pen.poly([(180, 150), (204, 150), (204, 172), (180, 172)], fill=shaded(skin, 0.8), width=2)
    pen.ellipse((164, 90, 220, 158), fill=skin, width=2.5)
    pen.poly([(166, 104), (218, 104), (216, 122), (168, 122)], fill=shaded(skin, 0.72), outline=None)
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
    pen = Pen(CHARACTER_SIZE, CHARACTER_BG)
    skin = (196, 146, 108)
    jacket = (44, 122, 150)
    jeans = (52, 64, 104)
    red = (200, 52, 46)
    bag = (230, 180, 40)
    pen.ellipse((100, 470, 284, 496), fill=(214, 210, 200), outline=None)
    # legs in a walking stance
    pen.poly([(160, 300), (194, 300), (170, 470), (140, 468)], fill=jeans, width=2.5)
    pen.poly([(190, 300), (224, 300), (250, 466), (220, 470)], fill=shaded(jeans, 0.85), width=2.5)
    pen.poly([(128, 462), (172, 462), (174, 486), (118, 486)], fill=(240, 240, 236), width=2)
    pen.poly([(216, 462), (254, 460), (272, 484), (220, 486)], fill=(240, 240, 236), width=2)
    pen.line([(120, 482), (174, 482)], fill=red, width=3)
    pen.line([(220, 482), (270, 480)], fill=red, width=3)
    # jacket (short, zipped) with sleeves
    body = [(142, 178), (242, 178), (252, 230), (248, 310), (136, 310), (132, 230)]
    pen.poly(body, fill=jacket, width=3)
    pen.poly([(136, 296), (248, 296), (248, 312), (136, 312)], fill=shaded(jacket, 0.7), width=2)
    pen.line([(192, 186), (192, 310)], fill=(220, 220, 214), width=2)
    pen.poly([(166, 172), (218, 172), (210, 188), (174, 188)], fill=shaded(jacket, 0.75), width=2)
    pen.poly([(142, 182), (116, 210), (104, 300), (128, 306), (142, 240)], fill=shaded(jacket, 0.88), width=3)
    pen.poly([(242, 182), (268, 210), (282, 294), (258, 300), (244, 240)], fill=shaded(jacket, 0.88), width=3)
    pen.rect((102, 298, 130, 312), fill=red, width=2)
    pen.rect((256, 292, 284, 306), fill=red, width=2)
    pen.ellipse((104, 308, 128, 332), fill=skin, width=2)
    pen.ellipse((258, 302, 282, 326), fill=skin, width=2)
    # messenger bag on a cross-body strap
    pen.poly([(226, 176), (240, 184), (148, 290), (134, 282)], fill=(40, 40, 44), width=1.5)
    pen.poly([(100, 262), (178, 262), (182, 344), (96, 344)], fill=bag, width=3)
    pen.poly([(98, 262), (180, 262), (180, 306), (98, 300)], fill=shaded(bag, 0.85), width=2.5)
    pen.rect((132, 290, 146, 304), fill=(40, 40, 44), width=1.5)
    pen.line([(106, 324), (172, 324)], fill=(200, 150, 30), width=2)
    # head and cap
    pen.poly([(180, 156), (204, 156), (204, 178), (180, 178)], fill=shaded(skin, 0.85), width=2)
    pen.ellipse((160, 92, 224, 164), fill=skin, width=2.5)
    pen.line([(178, 124), (186, 124)], width=3)
    pen.line([(200, 124), (208, 124)], width=3)
    pen.line([(184, 146), (200, 148)], width=2)
    pen.ellipse((156, 116, 166, 132), fill=skin, width=1.5)
    pen.poly([(158, 112), (162, 86), (192, 74), (222, 86), (226, 112)], fill=red, width=2.5)
    pen.line([(192, 76), (192, 108)], fill=shaded(red, 0.7), width=1.5)
    pen.poly([(210, 104), (262, 108), (258, 118), (206, 114)], fill=shaded(red, 0.75), width=2.5)
    pen.ellipse((187, 70, 197, 80), fill=shaded(red, 0.7), width=1.5)
    return pen.finish()


