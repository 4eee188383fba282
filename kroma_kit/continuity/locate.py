"""Finding a declared character inside a whole scene, so identity compares the figure, not the page.

Background removal isolates a figure on plain paper; in a full scene (the ``characters`` stage
lays several characters into a street) the "foreground" is the whole frame. There the character
is looked for where its signature colours are densest: windows of the reference's aspect at a few
scales slide over a presence map (one box filter each), the window with the most signature pixels
per area**0.3 wins, and that crop (with a margin) is cut out and compared as usual. A
character whose colours are gone is not found, which is itself the answer.
"""

from __future__ import annotations

import cv2
import numpy as np

from kroma_kit.continuity.features import downscale, to_lab
from kroma_kit.continuity.identity import SIGNATURE_TOLERANCE, Signature, weighted_lab

SEARCH_SIDE = 256
SCALES = (0.3, 0.45, 0.6, 0.8)  # window height as a share of the frame height
MARGIN = 0.12
SIDE_MARGIN = 0.4  # GrabCut needs the figure well inside the crop's edges: arms stick out
SCENE_COVERAGE = 0.5  # a foreground covering more of the frame than this is a scene, not a figure
MIN_PIXELS = 12
COMMON_SHARE = 0.04
# Signature pixels per area**0.3: a window grows while it gains signature colour at a fair rate, so
# it takes in the whole figure (legs and all), not just its most colourful part.
AREA_PENALTY = 0.3


def presence_map(rgba: np.ndarray, signature: Signature) -> np.ndarray:
    """float32 HxW: where a pixel shows one of the signature colours (on a SEARCH_SIDE copy), 1 for a
    colour rare in the frame, less for one that covers more than COMMON_SHARE of it."""
    small = downscale(rgba, SEARCH_SIDE)
    lab = weighted_lab(to_lab(small[..., :3]))
    present = np.zeros(small.shape[:2], np.float32)
    for colour in signature.colours:
        mask = np.linalg.norm(lab - weighted_lab(colour[None, None, :]), axis=2) <= SIGNATURE_TOLERANCE
        # A colour the whole scene shares (a tan coat in a tan street) points nowhere: it counts less.
        weight = min(1.0, COMMON_SHARE / max(float(mask.mean()), 1e-6))
        present = np.maximum(present, mask.astype(np.float32) * weight)
    return present


def locate_character(rgba: np.ndarray, signature: Signature, aspect: float) -> np.ndarray | None:
    """The RGBA crop of ``rgba`` most likely to hold the character, or None when none of its
    signature colours shows (or it has none)."""
    if not len(signature.colours):
        return None
    present = presence_map(rgba, signature)
    if present.sum() < MIN_PIXELS:
        return None
    height, width = present.shape
    best: tuple[float, int, int, int, int] | None = None
    for scale in SCALES:
        win_h = max(8, int(height * scale))
        win_w = max(8, min(width, int(win_h * max(aspect, 0.2))))
        sums = cv2.boxFilter(present, -1, (win_w, win_h), normalize=False, borderType=cv2.BORDER_CONSTANT)
        cy, cx = np.unravel_index(int(np.argmax(sums)), sums.shape)
        score = float(sums[cy, cx]) / float((win_w * win_h) ** AREA_PENALTY)
        if best is None or score > best[0]:
            best = (score, int(cy), int(cx), win_h, win_w)
    assert best is not None
    _, cy, cx, win_h, win_w = best
    factor = rgba.shape[0] / height
    half_h, half_w = win_h * (0.5 + MARGIN) * factor, win_w * (0.5 + SIDE_MARGIN) * factor
    y0, y1 = int(max(0, cy * factor - half_h)), int(min(rgba.shape[0], cy * factor + half_h))
    x0, x1 = int(max(0, cx * factor - half_w)), int(min(rgba.shape[1], cx * factor + half_w))
    if y1 - y0 < 16 or x1 - x0 < 16:
        return None
    return np.ascontiguousarray(rgba[y0:y1, x0:x1])


# --------------------------------------------------------------------------- declared placements

BOX_SIDE_MARGIN = 0.2  # of the figure's width each side: background around it for the cut-out
BOX_TOP_MARGIN = 0.08  # of the frame height above the tallest figure the slot allows
SLOT_JITTER = 0.04  # share of the frame a slot's centre may move (cast.py: evenly spaced slots)
SLOT_HEIGHT = 0.5  # tallest figure an unsized slot gets, share of the frame height
SLOT_WIDTH = 0.9  # an unsized slot's figure is at most this share of frame width / cast size
SLOT_FEET = 0.98  # lowest feet line of an unplaced figure


def placement_box(placements: list[dict], code: str, frame: tuple[int, int], aspect: float
                  ) -> tuple[tuple[int, int, int, int], tuple[float, float, float, float]] | None:
    """The region a character's placement declares in a frame of (height, width): the crop
    (y0, y1, x0, x1) and, inside it, the rectangle the figure itself may fill as shares of the
    crop (x0, y0, x1, y1); None when there is no placement for ``code``. A placement gives the figure's
    centre ``x``, ``height`` and feet ``baseline`` as shares of the frame; a missing value is the
    cast rule's slot (:mod:`kroma_kit.pipeline.cast`: evenly spaced along the bottom, at most half
    the frame high and a fair share of its width), widened by how far a slot may vary."""
    index = next((i for i, place in enumerate(placements) if place.get("code") == code), None)
    if index is None:
        return None
    place, count = placements[index], len(placements)
    height, width = frame
    aspect = max(aspect, 0.2)
    if place.get("height") is not None:
        fig_h = float(place["height"]) * height
    else:
        fig_h = min(SLOT_HEIGHT * height, SLOT_WIDTH * width / count / aspect)
    fig_w = fig_h * aspect
    centre = float(place["x"]) * width if place.get("x") is not None else width * (index + 1) / (count + 1)
    jitter = 0.0 if place.get("x") is not None else SLOT_JITTER * width
    feet = float(place.get("baseline") or SLOT_FEET) * height
    half = fig_w / 2 + jitter + BOX_SIDE_MARGIN * fig_w
    y0, y1 = int(max(0, feet - fig_h - BOX_TOP_MARGIN * height)), int(min(height, feet + 0.02 * height))
    x0, x1 = int(max(0, centre - half)), int(min(width, centre + half))
    if y1 - y0 < 16 or x1 - x0 < 16:
        return None
    inner_w = fig_w / 2 + jitter + 0.05 * fig_w
    figure = ((centre - inner_w - x0) / (x1 - x0), (feet - fig_h - 0.03 * height - y0) / (y1 - y0),
              (centre + inner_w - x0) / (x1 - x0), (feet + 0.01 * height - y0) / (y1 - y0))
    return (y0, y1, x0, x1), tuple(float(np.clip(value, 0.0, 1.0)) for value in figure)


SILHOUETTE_SCALES = (0.72, 0.8, 0.88, 0.96, 1.04)  # of the placement's tallest figure
FIGURE_SHARE = 0.93  # of a placement's figure rectangle height: the tallest figure it allows


def _edges(rgb: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    grey = cv2.equalizeHist(grey)  # a night page has the same edges, darker
    return cv2.GaussianBlur(cv2.Canny(grey, 50, 150).astype(np.float32) / 255.0, (0, 0), 1.5)


FEET_BAND = 0.12  # of the crop height: how far above the placement's feet line the feet may be


def fit_silhouette(crop: np.ndarray, reference: np.ndarray, ref_mask: np.ndarray,
                   figure: tuple[float, float, float, float]) -> list[np.ndarray]:
    """Where in ``crop`` (RGB) the reference figure (RGB cut-out and its mask) may sit: its edges
    matched at a few scales of the placement's figure height, the best position at each scale;
    the reference's own mask laid there is a cut-out (best edge match first; the caller keeps
    the one that matches the character best, since rain and props also make edges). A placement says roughly where and how tall the figure is; its
    silhouette then cuts it out of a busy, relit scene, where keying or GrabCut lose dark legs in
    a dark street. ``figure`` is the placement's figure rectangle (shares of the crop): the
    figure stands on its bottom (within FEET_BAND) with its centre inside it. None when the
    reference does not fit (an empty list)."""
    target = _edges(crop)
    crop_h, crop_w = crop.shape[:2]
    figure_height = (figure[3] - figure[1]) * crop_h * FIGURE_SHARE
    fits: list[tuple[float, int, int, np.ndarray]] = []
    for factor in SILHOUETTE_SCALES:
        height = int(round(figure_height * factor))
        width = int(round(height * reference.shape[1] / max(reference.shape[0], 1)))
        if height < 16 or width < 8 or height > crop.shape[0] or width > crop.shape[1]:
            continue
        mask = cv2.resize(ref_mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
        template = _edges(cv2.resize(reference, (width, height), interpolation=cv2.INTER_AREA)) * mask
        if not template.any():
            continue
        scores = cv2.matchTemplate(target, template, cv2.TM_CCORR_NORMED)
        ys = np.arange(scores.shape[0])[:, None] + height
        xs = np.arange(scores.shape[1])[None, :] + width / 2
        feet = figure[3] * crop_h
        allowed = (ys >= feet - FEET_BAND * crop_h) & (ys <= feet + 0.03 * crop_h) & \
            (xs >= figure[0] * crop_w) & (xs <= figure[2] * crop_w)
        if not allowed.any():
            continue
        _, value, _, (x, y) = cv2.minMaxLoc(np.where(allowed, scores, -1.0).astype(np.float32))
        fits.append((value, y, x, mask.astype(bool)))
    out = []
    for _, y, x, mask in sorted(fits, key=lambda fit: -fit[0]):
        placed = np.zeros(crop.shape[:2], bool)
        placed[y:y + mask.shape[0], x:x + mask.shape[1]] = mask
        out.append(placed)
    return out
