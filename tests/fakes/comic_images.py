"""Synthetic comic figures with a known foreground, for scoring background removal.

A figure = a red body and a skin-coloured head, both with black ink outlines, white eyes inside the
head, and a blue prop; drawn on a flat cream page, a lit gradient page, or a busy textured one.
Each image comes with its ground-truth mask so tests can score a cutout by IoU.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

CREAM = (245, 235, 210)


def _figure_layers(width: int, height: int) -> tuple[Image.Image, Image.Image]:
    """RGBA figure on transparency and its L ground-truth mask (255 = subject)."""
    figure = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    mask = Image.new("L", (width, height), 0)
    draw, mdraw = ImageDraw.Draw(figure), ImageDraw.Draw(mask)
    ink = max(2, width // 120)
    cx = width // 2
    body = (cx - width // 6, height * 2 // 5, cx + width // 6, height * 9 // 10)
    head = (cx - width // 9, height // 8, cx + width // 9, height // 8 + width * 2 // 9)
    prop = (cx + width // 6 - ink, height // 2, cx + width // 4, height * 3 // 5)
    for shape, box, fill in (("ellipse", body, (200, 40, 40, 255)), ("rectangle", prop, (40, 80, 200, 255)),
                             ("ellipse", head, (235, 190, 150, 255))):
        getattr(draw, shape)(box, fill=fill, outline=(15, 15, 15, 255), width=ink)
        getattr(mdraw, shape)(box, fill=255)
    eye_y = head[1] + (head[3] - head[1]) // 3
    for ex in (cx - width // 22, cx + width // 22):
        draw.ellipse((ex - ink * 2, eye_y - ink * 2, ex + ink * 2, eye_y + ink * 2), fill=(255, 255, 255, 255),
                     outline=(15, 15, 15, 255), width=1)
    return figure, mask


def _compose(background: np.ndarray, width: int, height: int) -> tuple[Image.Image, np.ndarray]:
    figure, mask = _figure_layers(width, height)
    page = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8), "RGB").convert("RGBA")
    page.alpha_composite(figure)
    return page.convert("RGB"), np.asarray(mask) > 127


def flat_figure(width: int = 320, height: int = 256, colour: tuple[int, int, int] = CREAM,
                noise: float = 0.0, seed: int = 0) -> tuple[Image.Image, np.ndarray]:
    """Figure on a flat page (optionally with sensor-like noise)."""
    rng = np.random.default_rng(seed)
    background = np.empty((height, width, 3), np.float32)
    background[:] = colour
    if noise:
        background += rng.normal(0, noise, background.shape)
    return _compose(background, width, height)


def gradient_figure(width: int = 320, height: int = 256, noise: float = 4.0,
                    seed: int = 1) -> tuple[Image.Image, np.ndarray]:
    """Figure on a page lit from one corner: a diagonal colour gradient plus noise."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    t = ((xs / width) + (ys / height)) / 2.0
    top, bottom = np.array([205, 220, 245], np.float32), np.array([250, 238, 200], np.float32)
    background = top + t[..., None] * (bottom - top) + rng.normal(0, noise, (height, width, 3))
    return _compose(background, width, height)


def busy_figure(width: int = 320, height: int = 256, seed: int = 2) -> tuple[Image.Image, np.ndarray]:
    """Figure on a textured background (random blotches): not flat by any measure."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(60, 200, (height // 16 + 1, width // 16 + 1, 3)).astype(np.uint8)
    background = np.asarray(Image.fromarray(small, "RGB").resize((width, height), Image.Resampling.BICUBIC),
                            np.float32)
    background[:, :, 0] *= 0.6  # keep the texture away from the red body
    return _compose(background, width, height)


def iou(alpha: np.ndarray | Image.Image, truth: np.ndarray) -> float:
    """Intersection over union of ``alpha > 127`` and the ground-truth mask."""
    if isinstance(alpha, Image.Image):
        alpha = np.asarray(alpha.getchannel("A"))
    predicted = alpha > 127
    union = np.logical_or(predicted, truth).sum()
    return float(np.logical_and(predicted, truth).sum() / union) if union else 1.0
