"""Label-preserving variants of a reference image: what "the same" may look like.

A reference set of one or two images has no spread to calibrate on; a shot of the same hand or
character will still be lit, framed and turned differently. These variants (other light, a
crop, a mirror, a smaller figure on its own background) give the calibration that spread from
the references alone, never from the shots being judged.
"""

from __future__ import annotations

import cv2
import numpy as np


def variants(rgba: np.ndarray, *, for_identity: bool) -> list[np.ndarray]:
    """RGBA variants of ``rgba``: lighting x2, mirror, centre crop; for identity also the figure
    scaled down on a plain background (a reference cutout becomes a shot)."""
    out = []
    rgb = rgba[..., :3].astype(np.float32)
    for gain in (0.9, 1.08):
        out.append(np.dstack([np.clip(rgb * gain, 0, 255).astype(np.uint8), rgba[..., 3]]))
    out.append(np.ascontiguousarray(rgba[:, ::-1]))
    height, width = rgba.shape[:2]
    dy, dx = int(height * 0.08), int(width * 0.08)
    crop = rgba[dy // 2:height - dy * 3 // 2, dx:width - dx]
    out.append(cv2.resize(crop, (width, height), interpolation=cv2.INTER_CUBIC))
    if for_identity:
        # The figure smaller on its own page: a cutout on a plain page, an opaque sheet padded
        # with its own border colour.
        border = np.concatenate([rgba[0], rgba[-1], rgba[:, 0], rgba[:, -1]])
        paper = tuple(int(v) for v in np.median(border[:, :3], axis=0)) if rgba[..., 3].min() == 255 \
            else (222, 228, 232)
        page = np.empty_like(rgba)
        page[:] = (*paper, 255)
        small = cv2.resize(rgba, (width * 3 // 5, height * 3 // 5), interpolation=cv2.INTER_AREA)
        top, left = height - small.shape[0] - height // 20, width // 5
        alpha = small[..., 3:4].astype(np.float32) / 255.0
        region = page[top:top + small.shape[0], left:left + small.shape[1]]
        region[..., :3] = (small[..., :3] * alpha + region[..., :3] * (1 - alpha)).astype(np.uint8)
        out.append(page)
    return out


# --------------------------------------------------------------------------- style: what a run does to a page

# Stages that relight a page on purpose (reference: the local editor's and a model's time/weather
# passes): their outputs are judged against a spread that includes those relit variants.
LIT_STAGES = ("time", "weather", "characters")
CONTENT_WINDOW = 0.6  # a corner window this share of each side shows other content in the same hand


def content_crops(rgba: np.ndarray) -> list[np.ndarray]:
    """The four corner windows of a page at its own resolution: other content, the same hand. One
    style reference has no content spread; its corners do (sky against street, a figure against
    a wall), which is what separates two pages of one hand in colour and tone."""
    height, width = rgba.shape[:2]
    h, w = max(8, int(height * CONTENT_WINDOW)), max(8, int(width * CONTENT_WINDOW))
    return [np.ascontiguousarray(rgba[y:y + h, x:x + w]) for y in (0, height - h) for x in (0, width - w)]


def rescaled(rgba: np.ndarray) -> list[np.ndarray]:
    """The page drawn larger and smaller (outputs rarely come at the reference's size)."""
    height, width = rgba.shape[:2]
    return [cv2.resize(rgba, (round(width * factor), round(height * factor)),
                       interpolation=cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA) for factor in (1.5, 0.67)]


def night(rgba: np.ndarray) -> np.ndarray:
    """A night grade: darker (mean L* about 22), colour muted and pulled to blue, a vignette."""
    lab = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lightness = lab[..., 0]
    lightness *= np.clip(22.0 / max(float(lightness.mean()), 1e-3), 0.1, 1.0)
    lab[..., 1:] *= 0.75
    lab[..., 1] += 0.8 * (-4.0 - float(lab[..., 1].mean()))
    lab[..., 2] += 0.8 * (-20.0 - float(lab[..., 2].mean()))
    height, width = lightness.shape
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None] ** 2
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :] ** 2
    lightness *= 1.0 - 0.25 * (ys + xs) / 2.0
    rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0) * 255.0
    return np.dstack([rgb.astype(np.uint8), rgba[..., 3]])


def rain(rgba: np.ndarray, seed: int = 5) -> np.ndarray:
    """Slanted light streaks over a wet (slightly darker) page."""
    height, width = rgba.shape[:2]
    drops = (np.random.default_rng(seed).random((height, width), dtype=np.float32) < 0.0035).astype(np.float32)
    length = max(9, height // 28) | 1
    kernel = np.zeros((length, length), np.float32)
    half = length // 2
    cv2.line(kernel, (half - half // 4, length - 1), (half + half // 4, 0), 1.0, 1)
    streaks = np.clip(cv2.filter2D(drops, -1, kernel), 0.0, 1.0)[..., None] * 0.45
    wet = rgba[..., :3].astype(np.float32) * 0.86
    rgb = wet + (217.0 - wet) * streaks
    return np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), rgba[..., 3]])


def fog(rgba: np.ndarray) -> np.ndarray:
    """A haze, thicker at the top of the page."""
    height = rgba.shape[0]
    amount = np.linspace(0.5, 0.3, height, dtype=np.float32)[:, None, None]
    rgb = rgba[..., :3].astype(np.float32)
    rgb = rgb + (np.array([199.0, 204.0, 209.0], np.float32) - rgb) * amount
    return np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), rgba[..., 3]])


def variant_groups(rgba: np.ndarray) -> dict[str, list[np.ndarray]]:
    """The stage variants of a page by what adds them: ``style`` (framing: corner windows, larger
    and smaller; every stage), ``time`` (night over the page and its windows) and ``weather`` (rain
    and fog over day and night)."""
    dark = night(rgba)
    crops = content_crops(rgba)
    return {"style": [*crops, *rescaled(rgba)], "time": [dark, *(night(item) for item in crops)],
            "weather": [rain(rgba), rain(dark), fog(rgba), fog(dark)]}


def groups_for(stage: str | None) -> tuple[str, ...]:
    """Which variant groups model a stage: its own passes and those of the stages before it."""
    if stage not in LIT_STAGES:
        return ("style",)
    return ("style", "time") if stage == "time" else ("style", "time", "weather")


def stage_variants(rgba: np.ndarray, stage: str | None) -> list[np.ndarray]:
    """What a run legitimately makes of a page of the project's hand in ``stage`` (see
    :func:`variant_groups`; the lit stages, :data:`LIT_STAGES`, relight it on purpose)."""
    groups = variant_groups(rgba)
    return [item for group in groups_for(stage) for item in groups[group]]
