"""A generator of labelled continuity sets: the proof that the gate catches breaks and lets good
shots through, drawn by code so it is licence-clean, deterministic and any size.

Layout (what ``kroma continuity eval --set DIR`` reads)::

    DIR/refs/style/*.png                  pages in the project's hand (cast on plain backgrounds)
    DIR/refs/characters/<code>/*.png      reference sheet (transparent) + portfolio poses (plain bg)
    DIR/characters.json                   {code: {"signature_colours_hex": [...]}} (optional for eval)
    DIR/cases.json                        [{"file", "characters", "expect", "variant"}, ...]

A *cast* of figures with distinct builds, costumes, hats and accessories is drawn in one *hand*
(outline colour and weight, flat fills with a shadow side). Cases that must pass show a declared
character in a new pose, mirrored, scaled, cropped, in other light or on another background.
Injected breaks: a hue swap of the page, a watercolour hand (no outlines, bled washes, paper
grain), a changed line weight (style); another character, a costume recolour, a missing
signature hat or accessory (identity). The seed fixes every choice.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from kroma_kit.storage.atomic import atomic_write_bytes, atomic_write_json

RGB = tuple[int, int, int]
SS = 2  # supersampling

OK_VARIANTS = ("pose", "mirror", "scale", "crop", "lighting", "background")
STYLE_BREAKS = ("hue_swap", "watercolour", "line_weight")
IDENTITY_BREAKS = ("other_character", "costume_colour", "missing_feature")
ALL_KINDS = OK_VARIANTS + STYLE_BREAKS + IDENTITY_BREAKS


@dataclass(frozen=True)
class Design:
    """One character's look. Signature colours are its hat, accessory and top."""

    code: str
    skin: RGB
    hair: RGB
    top: RGB
    bottom: RGB
    hat: str  # none | cap | beanie | fedora
    hat_colour: RGB
    accessory: str  # none | bag | scarf
    accessory_colour: RGB
    width: float = 1.0
    coat: bool = False

    def signature_hex(self) -> list[str]:
        colours = [self.top]
        if self.hat != "none":
            colours.insert(0, self.hat_colour)
        if self.accessory != "none":
            colours.insert(1, self.accessory_colour)
        return ["#" + "".join(f"{channel:02x}" for channel in colour) for colour in colours]


CAST: tuple[Design, ...] = (
    Design("mara", (224, 184, 150), (60, 36, 30), (44, 122, 150), (52, 64, 104), "beanie", (200, 52, 46),
           "bag", (230, 180, 40)),
    Design("otto", (200, 150, 112), (30, 28, 26), (178, 148, 104), (58, 58, 66), "fedora", (120, 40, 52),
           "none", (0, 0, 0), width=1.15, coat=True),
    Design("juno", (236, 200, 170), (200, 120, 40), (120, 70, 150), (40, 40, 48), "none", (0, 0, 0),
           "scarf", (90, 180, 90)),
    Design("kip", (170, 120, 90), (20, 20, 22), (220, 200, 60), (70, 90, 60), "cap", (40, 90, 170),
           "bag", (150, 60, 140), width=0.9),
    Design("lena", (230, 196, 160), (230, 210, 120), (200, 90, 120), (60, 60, 90), "cap", (235, 120, 40),
           "scarf", (50, 140, 170)),
)


@dataclass(frozen=True)
class Hand:
    """The drawing hand: outline colour and weight (px at 384 px), shadow strength, backgrounds."""

    line: RGB = (26, 24, 30)
    line_width: float = 3.0
    shadow: float = 0.78
    outline: bool = True
    backgrounds: tuple[RGB, ...] = ((236, 230, 214), (214, 226, 232), (226, 232, 210), (238, 222, 210),
                                    (205, 210, 222))


@dataclass(frozen=True)
class Pose:
    arm_left: float = 0.0  # radians from hanging down, outwards positive
    arm_right: float = 0.0
    stride: float = 0.0  # leg spread
    mirror: bool = False
    tilt: float = 0.0


def _shade(colour: RGB, factor: float) -> RGB:
    return tuple(int(max(0, min(255, round(channel * factor)))) for channel in colour)  # type: ignore[return-value]


class _Figure:
    """Draws one design in a pose onto an RGBA layer, in figure units (height 1 = head to feet)."""

    def __init__(self, draw: ImageDraw.ImageDraw, hand: Hand, cx: float, feet_y: float, height: float,
                 line_scale: float) -> None:
        self.draw, self.hand = draw, hand
        self.cx, self.feet, self.h = cx, feet_y, height
        self.lw = max(1, round(hand.line_width * line_scale * SS)) if hand.outline else 0
        self.mirror = 1.0

    def p(self, x: float, y: float) -> tuple[float, float]:
        return (self.cx + self.mirror * x * self.h) * SS, (self.feet - y * self.h) * SS

    def poly(self, points: list[tuple[float, float]], fill: RGB) -> None:
        pts = [self.p(x, y) for x, y in points]
        self.draw.polygon(pts, fill=fill + (255,))
        if self.lw:
            self.draw.line(pts + [pts[0]], fill=self.hand.line + (255,), width=self.lw, joint="curve")

    def ellipse(self, x: float, y: float, rx: float, ry: float, fill: RGB) -> None:
        (x0, y0), (x1, y1) = self.p(x - rx, y + ry), self.p(x + rx, y - ry)
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        self.draw.ellipse(box, fill=fill + (255,), outline=self.hand.line + (255,) if self.lw else None,
                          width=self.lw)

    def limb(self, start: tuple[float, float], angle: float, length: float, thick: float, fill: RGB) -> tuple[float, float]:
        sx, sy = start
        ex, ey = sx + np.sin(angle) * length, sy - np.cos(angle) * length
        nx, ny = np.cos(angle) * thick / 2, np.sin(angle) * thick / 2
        self.poly([(sx - nx, sy - ny), (sx + nx, sy + ny), (ex + nx, ey + ny), (ex - nx, ey - ny)], fill)
        return ex, ey


def draw_figure(layer: Image.Image, design: Design, pose: Pose, hand: Hand, *, cx: float, feet_y: float,
                height: float, line_scale: float = 1.0) -> None:
    """Draw ``design`` in ``pose`` on an RGBA ``layer`` (supersampled by :data:`SS`)."""
    fig = _Figure(ImageDraw.Draw(layer), hand, cx, feet_y, height, line_scale)
    fig.mirror = -1.0 if pose.mirror else 1.0
    w = 0.11 * design.width
    shadow = _shade(design.top, hand.shadow)
    # legs and shoes
    for side, angle in ((-1, -pose.stride), (1, pose.stride)):
        hip = (side * w * 0.45, 0.48)
        foot = fig.limb(hip, angle * side, 0.44, 0.075, design.bottom if side < 0
                        else _shade(design.bottom, hand.shadow))
        fig.ellipse(foot[0] + side * 0.02, foot[1] + 0.012, 0.045, 0.022, (30, 28, 28))
    # torso (a coat reaches to the knee)
    bottom = 0.3 if design.coat else 0.46
    fig.poly([(-w, 0.8), (w, 0.8), (w * 1.1, bottom), (-w * 1.1, bottom)], design.top)
    fig.poly([(0.0, 0.8), (w, 0.8), (w * 1.1, bottom), (0.0, bottom)], shadow)
    # accessory
    if design.accessory == "bag":
        fig.poly([(w * 0.9, 0.79), (w * 1.1, 0.79), (-w * 0.6, 0.52), (-w * 0.8, 0.52)], (40, 40, 44))
        fig.poly([(-w * 1.5, 0.6), (-w * 0.3, 0.6), (-w * 0.3, 0.44), (-w * 1.5, 0.44)], design.accessory_colour)
    elif design.accessory == "scarf":
        fig.poly([(-w * 0.9, 0.82), (w * 0.9, 0.82), (w * 0.8, 0.75), (-w * 0.8, 0.75)], design.accessory_colour)
        fig.poly([(w * 0.3, 0.78), (w * 0.6, 0.78), (w * 0.55, 0.6), (w * 0.3, 0.6)], design.accessory_colour)
    # arms and hands
    for side, angle in ((-1, pose.arm_left), (1, pose.arm_right)):
        hand_at = fig.limb((side * w * 1.05, 0.78), side * (0.12 + angle), 0.32, 0.06,
                           design.top if side < 0 else shadow)
        fig.ellipse(hand_at[0], hand_at[1], 0.03, 0.03, design.skin)
    # head, hair, face
    fig.poly([(-0.025, 0.84), (0.025, 0.84), (0.025, 0.8), (-0.025, 0.8)], _shade(design.skin, 0.85))
    fig.ellipse(pose.tilt, 0.91, 0.07, 0.085, design.skin)
    fig.poly([(pose.tilt - 0.07, 0.93), (pose.tilt + 0.07, 0.93), (pose.tilt + 0.06, 0.99),
              (pose.tilt - 0.06, 0.99)], design.hair)
    fig.ellipse(pose.tilt - 0.025, 0.905, 0.008, 0.01, hand.line)
    fig.ellipse(pose.tilt + 0.025, 0.905, 0.008, 0.01, hand.line)
    # hat
    x, c = pose.tilt, design.hat_colour
    if design.hat == "cap":
        fig.poly([(x - 0.075, 0.95), (x + 0.075, 0.95), (x + 0.06, 1.0), (x - 0.06, 1.0)], c)
        fig.poly([(x + 0.04, 0.955), (x + 0.13, 0.95), (x + 0.12, 0.935), (x + 0.04, 0.94)], _shade(c, 0.8))
    elif design.hat == "beanie":
        fig.poly([(x - 0.078, 0.94), (x + 0.078, 0.94), (x + 0.05, 1.02), (x - 0.05, 1.02)], c)
        fig.ellipse(x, 1.03, 0.022, 0.018, _shade(c, 0.8))
    elif design.hat == "fedora":
        fig.poly([(x - 0.13, 0.95), (x + 0.13, 0.95), (x + 0.11, 0.975), (x - 0.11, 0.975)], c)
        fig.poly([(x - 0.07, 0.97), (x + 0.07, 0.97), (x + 0.055, 1.04), (x - 0.055, 1.04)], c)


# --------------------------------------------------------------------------- pages

def _background(size: int, colour: RGB, rng: np.random.Generator, kind: str) -> np.ndarray:
    base = np.empty((size, size, 3), np.float32)
    base[:] = colour
    if kind == "gradient":
        ramp = np.linspace(-1.0, 1.0, size, dtype=np.float32)[:, None, None]
        base = base + ramp * rng.uniform(8, 18) * np.array([1.0, 1.0, 0.9], np.float32)
    elif kind == "grain":
        base = base + rng.normal(0, 2.5, (size, size, 1)).astype(np.float32)
    return np.clip(base, 0, 255)


def _compose(background: np.ndarray, layer: Image.Image) -> np.ndarray:
    size = background.shape[0]
    small = np.asarray(layer.resize((size, size), Image.Resampling.BOX), np.float32)
    alpha = small[..., 3:4] / 255.0
    return background * (1.0 - alpha) + small[..., :3] * alpha


def _layer(size: int) -> Image.Image:
    return Image.new("RGBA", (size * SS, size * SS), (0, 0, 0, 0))


def _random_pose(rng: np.random.Generator) -> Pose:
    return Pose(arm_left=float(rng.uniform(-0.1, 0.9)), arm_right=float(rng.uniform(-0.1, 0.9)),
                stride=float(rng.uniform(0.0, 0.3)), mirror=bool(rng.random() < 0.3),
                tilt=float(rng.uniform(-0.015, 0.015)))


def render(size: int, figures: list[tuple[Design, Pose, float, float, float]], hand: Hand, *,
           background: RGB, bg_kind: str, rng: np.random.Generator) -> np.ndarray:
    """A page: figures ``(design, pose, cx, feet_y, height)`` (fractions of ``size``) on a background."""
    layer = _layer(size)
    for design, pose, cx, feet, height in figures:
        draw_figure(layer, design, pose, hand, cx=cx * size, feet_y=feet * size, height=height * size,
                    line_scale=size / 384)
    return _compose(_background(size, background, rng, bg_kind), layer)


def reference_sheet(design: Design, size: int, hand: Hand) -> Image.Image:
    """The character's reference sheet: front pose on a transparent background."""
    layer = _layer(size)
    draw_figure(layer, design, Pose(0.15, 0.15, 0.08), hand, cx=size / 2, feet_y=size * 0.95, height=size * 0.86,
                line_scale=size / 384)
    return layer.resize((size, size), Image.Resampling.BOX)


# --------------------------------------------------------------------------- breaks

def hue_swap(rgb: np.ndarray, degrees: float) -> np.ndarray:
    hsv = cv2.cvtColor(np.clip(rgb, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + int(degrees / 2)) % 180
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)


def watercolour(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Soft washes: bled edges, pigment pooling, lighter values, paper grain (drawn with no outline)."""
    size = rgb.shape[0]
    bled = cv2.GaussianBlur(rgb, (0, 0), size / 160)
    pooling = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), size / 60)[..., None]
    washed = bled * 0.78 + 255.0 * 0.22 + pooling * 40.0
    grain = rng.normal(0, 6, (size, size, 1)).astype(np.float32)
    return np.clip(washed + grain, 0, 255)


def lighting(rgb: np.ndarray, gain: float, tint: tuple[float, float, float]) -> np.ndarray:
    return np.clip(rgb * gain * np.array(tint, np.float32), 0, 255)


def _shift_hue(colour: RGB, turn: float) -> RGB:
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in colour))
    r, g, b = colorsys.hsv_to_rgb((h + turn) % 1.0, max(s, 0.45), max(v, 0.45))
    return round(r * 255), round(g * 255), round(b * 255)


# --------------------------------------------------------------------------- the set

def _png(rgb: np.ndarray | Image.Image) -> bytes:
    import io

    image = rgb if isinstance(rgb, Image.Image) else Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


@dataclass(frozen=True)
class EvalSetInfo:
    root: Path
    cases: int
    characters: list[str]
    style_refs: int

    def to_dict(self) -> dict[str, Any]:
        return {"root": str(self.root), "cases": self.cases, "characters": self.characters,
                "style_refs": self.style_refs}


def _case(kind: str, rng: np.random.Generator, cast: tuple[Design, ...], hand: Hand, size: int
          ) -> tuple[np.ndarray, str, str]:
    """One case image: (pixels, declared character code, expect)."""
    design = cast[int(rng.integers(len(cast)))]
    pose = _random_pose(rng)
    background = hand.backgrounds[int(rng.integers(len(hand.backgrounds)))]
    bg_kind = str(rng.choice(["flat", "flat", "gradient"]))
    cx, feet, height = float(rng.uniform(0.4, 0.6)), float(rng.uniform(0.9, 0.96)), float(rng.uniform(0.72, 0.84))
    drawn, declared, page_hand = design, design.code, hand
    expect = "ok"
    if kind == "mirror":
        pose = replace(pose, mirror=not pose.mirror)
    elif kind == "scale":
        height = float(rng.choice([rng.uniform(0.45, 0.6), rng.uniform(0.88, 0.95)]))
        feet = min(0.98, 0.05 + height + float(rng.uniform(0.0, 0.05)))
        cx = float(rng.uniform(0.3, 0.7))
    elif kind == "background":
        # Another page of the same book: one of the hand's paper colours, shifted, graded or grained.
        bg_kind = str(rng.choice(["gradient", "grain"]))
        background = tuple(int(np.clip(v + rng.integers(-18, 19), 0, 255)) for v in background)  # type: ignore[assignment]
    elif kind == "other_character":
        others = [other for other in cast if other.code != design.code]
        drawn = others[int(rng.integers(len(others)))]
        expect = "identity_break"
    elif kind == "costume_colour":
        drawn = replace(design, top=_shift_hue(design.top, float(rng.uniform(0.3, 0.7))))
        expect = "identity_break"
    elif kind == "missing_feature":
        drawn = replace(design, hat="none") if design.hat != "none" and (
            design.accessory == "none" or rng.random() < 0.5) else replace(design, accessory="none")
        expect = "identity_break"
    elif kind == "watercolour":
        page_hand = replace(hand, outline=False)
        expect = "style_break"
    elif kind == "line_weight":
        page_hand = replace(hand, line_width=hand.line_width * float(rng.choice([3.2, 3.8, 0.25])))
        expect = "style_break"
    elif kind == "hue_swap":
        expect = "style_break"
    rgb = render(size, [(drawn, pose, cx, feet, height)], page_hand, background=background, bg_kind=bg_kind,
                 rng=rng)
    if kind == "crop":
        keep = float(rng.uniform(0.72, 0.85))
        side = round(size * keep)
        top = int(np.clip((feet - height) * size - rng.uniform(0.02, 0.08) * size, 0, size - side))  # keep the head
        left = int(np.clip(cx * size - side / 2, 0, size - side))
        rgb = cv2.resize(rgb[top:top + side, left:left + side], (size, size), interpolation=cv2.INTER_CUBIC)
    elif kind == "lighting":
        gain = float(rng.uniform(0.86, 1.1))
        tint = (1.0 + float(rng.uniform(-0.04, 0.04)), 1.0, 1.0 + float(rng.uniform(-0.04, 0.04)))
        rgb = lighting(rgb, gain, tint)
    elif kind == "hue_swap":
        rgb = hue_swap(rgb, float(rng.uniform(70, 290)))
    elif kind == "watercolour":
        rgb = watercolour(rgb, rng)
    return rgb, declared, expect


def generate_eval_set(root: str | Path, *, cases: int = 200, size: int = 384, seed: int = 0,
                      cast: tuple[Design, ...] = CAST, hand: Hand | None = None, style_refs: int = 6,
                      portfolio: int = 3, break_share: float = 0.5,
                      kinds: tuple[str, ...] | None = None) -> EvalSetInfo:
    """Write a labelled set under ``root`` (see the module docstring). About ``break_share`` of the
    cases are breaks, split evenly over the six break kinds; the rest are the six ok variants.
    ``kinds`` instead cycles through the given variants in order (``ALL_KINDS``: one of each)."""
    root = Path(root)
    hand = hand or Hand()
    rng = np.random.default_rng(seed)
    for index in range(style_refs):
        count = 1 + index % 2
        figures = [(cast[(index + k) % len(cast)], _random_pose(rng), (k + 1) / (count + 1),
                    float(rng.uniform(0.9, 0.96)), float(rng.uniform(0.6, 0.8))) for k in range(count)]
        page = render(size, figures, hand, background=hand.backgrounds[index % len(hand.backgrounds)],
                      bg_kind="gradient" if index % 3 == 2 else "flat", rng=rng)
        atomic_write_bytes(root / "refs" / "style" / f"page_{index + 1:02d}.png", _png(page))
    signatures: dict[str, Any] = {}
    for design in cast:
        folder = root / "refs" / "characters" / design.code
        atomic_write_bytes(folder / "sheet.png", _png(reference_sheet(design, size, hand)))
        for index in range(portfolio):
            page = render(size, [(design, _random_pose(rng), 0.5, 0.94, float(rng.uniform(0.7, 0.84)))], hand,
                          background=hand.backgrounds[index % len(hand.backgrounds)], bg_kind="flat", rng=rng)
            atomic_write_bytes(folder / f"portfolio_{index + 1:02d}.png", _png(page))
        signatures[design.code] = {"signature_colours_hex": design.signature_hex()}
    atomic_write_json(root / "characters.json", signatures)
    breaks = STYLE_BREAKS + IDENTITY_BREAKS
    entries = []
    for number in range(1, cases + 1):
        if kinds:
            kind = kinds[(number - 1) % len(kinds)]
        else:
            kind = (str(breaks[int(rng.integers(len(breaks)))]) if rng.random() < break_share
                    else str(OK_VARIANTS[int(rng.integers(len(OK_VARIANTS)))]))
        rgb, declared, expect = _case(kind, rng, cast, hand, size)
        name = f"cases/{number:04d}.png"
        atomic_write_bytes(root / name, _png(rgb))
        entries.append({"file": name, "characters": [declared], "expect": expect, "variant": kind})
    atomic_write_json(root / "cases.json", entries)
    return EvalSetInfo(root, len(entries), [design.code for design in cast], style_refs)
