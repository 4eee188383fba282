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
                  ) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of the region a character's placement declares in a frame of (height,
    width), or None when there is no placement for ``code``. A placement gives the figure's
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
    return (y0, y1, x0, x1) if y1 - y0 >= 16 and x1 - x0 >= 16 else None
