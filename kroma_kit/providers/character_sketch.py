"""The offline character backend (``local`` for character images): free, deterministic, and
recognisable, so the whole character workspace (reference, 360° turnaround, scene) runs with no
key and no network, and a turnaround sheet visibly shows one character turning round.

- reference with no input: a flat-colour figure drawn from the identity constraints: outfit in
  the first signature colour, accents in the second, trousers in the third, hair and skin from
  the colour words of ``hair``/``skin``, width from ``build``; on a transparent background.
- reference or view from an input reference: the reference's cut-out (its alpha, or its flat
  background keyed out) turned by the view: squeezed by ``|cos θ|`` (profiles keep a sliver),
  mirrored for the right side, and for the back the figure's own colours darkened with the hair
  colour over the head. Transparent background, so cut-outs need no further removal.
- scene: the reference cut-out placed, scaled and lit, on the scene ref (or on a plain backdrop
  whose colour comes from the scene text).

Same request and seed -> same bytes (fixed PNG settings); candidates differ by small seeded shifts.
"""

from __future__ import annotations

import hashlib
import io
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from kroma_kit.errors import InputError
from kroma_kit.imaging import open_image
from kroma_kit.providers.base import Attempt, ImageRequest, ImageResult
from kroma_kit.providers.character_request import CharacterImageRequest

MODEL = "local-character-sketch-v1"
FIGURE_SIZE = (384, 512)
SCENE_SIZE = (768, 512)
VIEW_ANGLES = {"front": 0, "three_quarter_left": 45, "left_profile": 90, "back": 180, "right_profile": 270,
               "three_quarter_right": 315}
COLOUR_WORDS = {
    "black": (28, 26, 30), "dark": (50, 40, 36), "brown": (104, 70, 44), "chestnut": (120, 66, 40),
    "blond": (222, 190, 110), "blonde": (222, 190, 110), "golden": (214, 170, 70), "red": (170, 56, 34),
    "ginger": (196, 96, 42), "auburn": (140, 60, 40), "grey": (150, 150, 150), "gray": (150, 150, 150),
    "silver": (192, 192, 200), "white": (236, 236, 232), "blue": (50, 90, 180), "green": (60, 130, 70),
    "pink": (226, 130, 160), "purple": (110, 60, 140),
}
SKIN_WORDS = {"pale": (240, 214, 196), "fair": (236, 204, 178), "light": (232, 198, 170), "tan": (204, 156, 112),
              "olive": (190, 150, 108), "brown": (160, 110, 76), "dark": (110, 74, 52), "deep": (92, 60, 44)}
DEFAULT_SKIN = (226, 190, 158)
INK = (22, 22, 28, 255)


def _word_colour(text: str, table: dict[str, tuple[int, int, int]], default: tuple[int, int, int]
                 ) -> tuple[int, int, int]:
    words = text.lower().replace(",", " ").replace("-", " ").split()
    return next((table[word] for word in words if word in table), default)


def _hex(value: str) -> tuple[int, int, int]:
    digits = value.lstrip("#")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, c * factor))) for c in colour)  # type: ignore[return-value]


def palette_of(character: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """The figure's colours from the identity constraints (never invented: defaults are greys)."""
    identity = character.get("identity") or {}
    signature = [_hex(c) for c in identity.get("signature_colors") or []]
    outfit = signature[0] if signature else (128, 128, 132)
    return {"outfit": outfit, "accent": signature[1] if len(signature) > 1 else _shade(outfit, 0.7),
            "legs": signature[2] if len(signature) > 2 else (60, 60, 68),
            "hair": _word_colour(identity.get("hair") or "", COLOUR_WORDS, (60, 50, 44)),
            "skin": _word_colour(identity.get("skin") or "", SKIN_WORDS, DEFAULT_SKIN)}


def draw_figure(character: dict[str, Any], seed: int) -> Image.Image:
    """A front-facing flat-colour figure on transparency (supersampled x2 for clean edges)."""
    rng = np.random.default_rng(seed)
    colours = palette_of(character)
    build = str((character.get("identity") or {}).get("build") or "").lower()
    width_factor = 1.2 if any(w in build for w in ("broad", "stocky", "heavy", "burly")) else \
        0.85 if any(w in build for w in ("slim", "thin", "wiry", "slender")) else 1.0
    ss = 2
    w, h = FIGURE_SIZE
    image = Image.new("RGBA", (w * ss, h * ss), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    jitter = rng.integers(-4, 5, size=4)
    cx = w / 2 + int(jitter[0])
    body_half = 62 * width_factor

    def s(*pts: float) -> list[float]:
        return [p * ss for p in pts]

    line = 3 * ss
    pen.rectangle(s(cx - 36, 330, cx - 6, 480), fill=colours["legs"], outline=INK, width=line)
    pen.rectangle(s(cx + 6, 330, cx + 36, 480), fill=colours["legs"], outline=INK, width=line)
    pen.polygon(s(cx - body_half, 170, cx + body_half, 170, cx + body_half + 10, 340, cx - body_half - 10, 340),
                fill=colours["outfit"] + (255,), outline=INK, width=line)
    pen.rectangle(s(cx - body_half - 8, 300, cx + body_half + 8, 318), fill=colours["accent"] + (255,),
                  outline=INK, width=line)
    pen.polygon(s(cx - body_half, 176, cx - body_half - 30, 200, cx - body_half - 36, 320, cx - body_half - 12, 322),
                fill=_shade(colours["outfit"], 0.85) + (255,), outline=INK, width=line)
    pen.polygon(s(cx + body_half, 176, cx + body_half + 30, 200, cx + body_half + 36, 320, cx + body_half + 12, 322),
                fill=_shade(colours["outfit"], 0.85) + (255,), outline=INK, width=line)
    head_top = 70 + int(jitter[1])
    pen.ellipse(s(cx - 40, head_top, cx + 40, head_top + 96), fill=colours["skin"] + (255,), outline=INK, width=line)
    pen.chord(s(cx - 44, head_top - 8, cx + 44, head_top + 60), 180, 360, fill=colours["hair"] + (255,),
              outline=INK, width=line)
    eye_y = head_top + 52
    for ex in (cx - 16, cx + 16):
        pen.ellipse(s(ex - 5, eye_y - 5, ex + 5, eye_y + 5), fill=(250, 250, 250, 255), outline=INK, width=ss)
    pen.line(s(cx - 10, head_top + 78, cx + 10, head_top + 78), fill=INK, width=2 * ss)
    pen.polygon(s(cx - 20, 168, cx + 20, 168, cx, 196), fill=colours["accent"] + (255,), outline=INK, width=ss)
    return image.resize(FIGURE_SIZE, Image.Resampling.LANCZOS)


def character_cutout(path: str | Path) -> Image.Image:
    """The reference as RGBA with a transparent background: its own alpha when it has one, else
    its flat page keyed out (tolerant enough to drop a soft floor shadow), cropped to the figure."""
    from kroma_kit.providers.bg_opencv import feathered_alpha, key_foreground

    image = open_image(path)
    rgba = image.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"))
    if alpha.min() > 250:
        rgb = np.asarray(image.convert("RGB"))
        foreground, _ = key_foreground(rgb, tol=26.0)
        if foreground.mean() < 0.01:  # nothing keyed: keep the whole image rather than nothing
            foreground = np.ones(foreground.shape, bool)
        rgba.putalpha(Image.fromarray(feathered_alpha(foreground, 0.8), "L"))
    box = rgba.getchannel("A").point(lambda v: 255 if v > 16 else 0).getbbox()
    return rgba.crop(box) if box else rgba


def turn(cutout: Image.Image, view: str, hair: tuple[int, int, int] | None = None) -> Image.Image:
    """The cut-out as seen from ``view`` (a 2D stand-in for turning the figure round)."""
    angle = VIEW_ANGLES.get(view)
    if angle is None:  # an extra pose/expression: the front, slightly tilted
        tilt = (int(hashlib.sha256(view.encode()).hexdigest()[:2], 16) % 11) - 5
        return cutout.rotate(tilt, resample=Image.Resampling.BICUBIC, expand=True)
    squeeze = max(0.42, abs(float(np.cos(np.radians(angle)))))
    width = max(8, round(cutout.width * squeeze))
    turned = cutout.resize((width, cutout.height), Image.Resampling.LANCZOS)
    if 180 < angle < 360:
        turned = ImageOps.mirror(turned)
    if angle == 180:
        rgb = np.asarray(turned.convert("RGB"), dtype=np.float32) * 0.62
        if hair is not None:
            head = int(turned.height * 0.22)
            rgb[:head] = rgb[:head] * 0.3 + np.asarray(hair, dtype=np.float32) * 0.7
        back = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB").convert("RGBA")
        back.putalpha(turned.getchannel("A"))
        turned = ImageOps.mirror(back)
    return turned


def _canvas_with(figure: Image.Image, size: tuple[int, int], seed: int, height_share: float = 0.92) -> Image.Image:
    rng = np.random.default_rng(seed)
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    scale = size[1] * height_share / figure.height
    scaled = figure.resize((max(1, round(figure.width * scale)), max(1, round(figure.height * scale))),
                           Image.Resampling.LANCZOS)
    x = (size[0] - scaled.width) // 2 + int(rng.integers(-3, 4))
    y = size[1] - scaled.height - int(size[1] * 0.03)
    canvas.alpha_composite(scaled, (max(0, x), max(0, y)))
    return canvas


def _backdrop(request: CharacterImageRequest) -> Image.Image:
    if request.scene_ref is not None:
        scene = open_image(request.scene_ref).convert("RGB")
        return ImageOps.fit(scene, SCENE_SIZE, Image.Resampling.LANCZOS).convert("RGBA")
    digest = hashlib.sha256(request.scene_context.encode("utf-8")).digest()
    top = np.array([80 + digest[0] % 120, 80 + digest[1] % 120, 90 + digest[2] % 120], np.float32)
    bottom = top * 0.55
    t = np.linspace(0, 1, SCENE_SIZE[1], dtype=np.float32)[:, None, None]
    rows = top * (1 - t) + bottom * t
    pixels = np.repeat(rows, SCENE_SIZE[0], axis=1)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB").convert("RGBA")


def place(backdrop: Image.Image, cutout: Image.Image, *, centre_x: float, height_share: float,
          baseline: float = 0.96) -> Image.Image:
    """Composite a cut-out (alpha) into ``backdrop``, its height a share of the frame, its feet on
    ``baseline`` (share of the height), centred at ``centre_x`` (share of the width)."""
    out = backdrop.convert("RGBA").copy()
    target_h = max(1, round(out.height * height_share))
    scale = target_h / cutout.height
    sprite = cutout.resize((max(1, round(cutout.width * scale)), target_h), Image.Resampling.LANCZOS)
    x = round(out.width * centre_x - sprite.width / 2)
    y = round(out.height * baseline - sprite.height)
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    layer.paste(sprite, (x, y), sprite)
    out.alpha_composite(layer)
    return out


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


class CharacterSketchProvider:
    """Character image provider ``local`` (offline, deterministic, free)."""

    code = "local"
    paid = False

    def __init__(self, **_options: Any) -> None:
        pass  # the image settings of the scene editor (size, style_strength) do not apply here

    def describe(self) -> dict[str, Any]:
        return {"provider": self.code, "model": MODEL, "size": None, "quality": None, "paid": False,
                "deterministic": True}

    def estimate_cost(self, request: ImageRequest) -> float:
        return 0.0

    def generate(self, request: ImageRequest) -> ImageResult:
        if not isinstance(request, CharacterImageRequest):
            raise InputError("The local character sketcher needs a character image request.")
        started = datetime.now(UTC).isoformat()
        clock = time.perf_counter()
        character = request.character
        hair = palette_of(character)["hair"]
        if request.kind == "scene":
            if request.reference_path is None:
                raise InputError("A scene image needs a reference image of the character.")
            cutout = character_cutout(request.reference_path)
            rng = np.random.default_rng(request.seed)
            image = place(_backdrop(request), cutout, centre_x=float(rng.uniform(0.3, 0.7)),
                          height_share=float(rng.uniform(0.62, 0.72))).convert("RGB")
        elif request.reference_path is not None:
            figure = turn(character_cutout(request.reference_path), request.view or "front", hair)
            image = _canvas_with(figure, FIGURE_SIZE, request.seed)
        else:
            image = draw_figure(character, request.seed)
        data = encode_png(image)
        latency = int((time.perf_counter() - clock) * 1000)
        return ImageResult(image_bytes=data, provider_code=self.code, model=MODEL,
                           usage={"images": 1, "output_pixels": image.width * image.height}, cost_usd=0.0,
                           attempts=[Attempt(started, latency)],
                           params={"kind": request.kind, "view": request.view, "seed": request.seed,
                                   "size": f"{image.width}x{image.height}", "duration_ms": latency})
