"""Character identity: is the character a shot declares still *that* character?

The foreground is cut out with the offline background-removal chain (``auto``: border keying on
flat or smoothly lit backgrounds, GrabCut otherwise; reference/ml-offline.md §3), on a small
copy. Its cut-out is then compared with each of the character's reference images:

- ``shape``: perceptual hashes (phash, dhash) of the cut-out cropped to its box and laid on a
  neutral grey, so background, position and scale do not matter (ml-offline.md §5: phash stays
  <= 10 for the same figure recoloured or moved, 18-38 for another character);
- ``colour``: Lab histogram of the foreground pixels, plus imagehash's colorhash;
- ``signature``: presence of each signature colour (declared as hex, else the reference's own
  dominant chromatic colours), relative to how much of it the reference shows; the weakest
  colour counts, so a missing red cap is missed even when everything else matches.

The score is the best match over the reference set, 0..1 (1 = identical).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import imagehash
import numpy as np
from PIL import Image as PILImage

from kroma_kit.continuity.context import CharacterReference, parse_hex
from kroma_kit.continuity.features import (
    dominant_colours,
    downscale,
    histogram_distance,
    lab_histogram,
    load_rgba,
    to_lab,
)
from kroma_kit.providers.bg_opencv import fit_border_model, grabcut_foreground, key_foreground

if TYPE_CHECKING:
    from PIL import Image

CUT_SIDE = 256  # background removal and identity features run on this copy
FG_BINS = (6, 10, 10)
SIGNATURE_TOLERANCE = 18.0  # Lab distance (L weighted half) inside which a pixel shows a colour
MAX_SIGNATURES = 3
MIN_SIGNATURE_CHROMA = 18.0
MIN_SIGNATURE_SHARE = 0.04
IDENTITY_PARTS = ("shape", "colour", "signature")
LIT_SPREAD = 24.0  # a/b spread (median distance from the median colour) of a light-normalised figure
LIT_HUE = 60.0  # degrees: a light-normalised pixel shows a signature colour leaning the same way...
LIT_CHROMA = 0.4  # ...with at least this share of its chroma
# Signature colours carry the most weight: phash is sensitive to pose (a raised arm moves it as far
# as another character does), while a missing cap or a recoloured jacket shows in the colours.
WEIGHTS = {"shape": 0.15, "colour": 0.35, "signature": 0.50}
# Once a page is relit and restyled, colours say less (a night grade and the hand's palette move
# them all) and the figure's shape, cut out along the reference's own silhouette, says more.
LIT_WEIGHTS = {"shape": 0.40, "colour": 0.30, "signature": 0.30}


@dataclass(frozen=True)
class Cutout:
    """A foreground: RGBA pixels cropped to its box, its mask, and which backend made it."""

    rgba: np.ndarray
    mask: np.ndarray
    backend: str
    frame_area: int = 0


def _remove_background(rgb: np.ndarray) -> tuple[np.ndarray, str]:
    """The ``auto`` backend's choice made with one border fit: flat keying when the border fits a
    smooth surface, else GrabCut seeded from the key (the same functions the post chain uses)."""
    model = fit_border_model(rgb)
    keyed, _ = key_foreground(rgb, model=model)
    if model.inlier_fraction >= 0.9 and model.noise_sigma <= 8.0 and keyed.any():
        return keyed, "flat"
    seed = keyed if 0.005 <= float(keyed.mean()) <= 0.95 else None
    cv2.setRNGSeed(11)  # GrabCut's GMMs start from OpenCV's (thread's) RNG: same image, same cut-out
    try:
        return grabcut_foreground(rgb, seed=seed, work_side=CUT_SIDE), "grabcut"
    except cv2.error:
        return np.ones(rgb.shape[:2], bool), "none"


def _grabcut_in(rgb: np.ndarray, figure: tuple[float, float, float, float]) -> tuple[np.ndarray, str]:
    """GrabCut started from the rectangle a placement says the figure fills, (x0, y0, x1, y1) as
    shares of the crop: outside it is background for certain, inside is probable foreground."""
    height, width = rgb.shape[:2]
    x0, y0 = int(figure[0] * width), int(figure[1] * height)
    rect = (x0, y0, max(2, int(figure[2] * width) - x0), max(2, int(figure[3] * height) - y0))
    mask = np.zeros((height, width), np.uint8)
    cv2.setRNGSeed(11)
    try:
        cv2.grabCut(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR), mask, rect,
                    np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64), 4, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return np.ones((height, width), bool), "none"
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), "grabcut-rect"


def cut_foreground(rgba: np.ndarray, figure: tuple[float, float, float, float] | None = None) -> Cutout:
    """Foreground of a small RGBA copy: its own alpha when it has one (a cutout or a transparent
    reference), else offline background removal (from the ``figure`` rectangle when a placement
    gives one). Cropped to the foreground's box."""
    backend = "alpha"
    mask = rgba[..., 3] > 127
    if (mask.all() or not mask.any()) and figure is not None:
        mask, backend = _grabcut_in(np.ascontiguousarray(rgba[..., :3]), figure)
    elif mask.all() or not mask.any():
        mask, backend = _remove_background(np.ascontiguousarray(rgba[..., :3]))
    if not mask.any():
        mask = np.ones(mask.shape, bool)
        backend = "none"
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return Cutout(rgba[y0:y1, x0:x1], mask[y0:y1, x0:x1], backend, rgba.shape[0] * rgba.shape[1])


def weighted_lab(lab: np.ndarray) -> np.ndarray:
    return lab * np.array([0.5, 1.0, 1.0], np.float32)


@dataclass(frozen=True)
class IdentityFeatures:
    """One cut-out's identity numbers."""

    phash: imagehash.ImageHash
    dhash: imagehash.ImageHash
    mirrored: tuple[imagehash.ImageHash, imagehash.ImageHash]  # phash, dhash of the mirror image
    colorhash: imagehash.ImageHash
    histogram: np.ndarray
    lab_pixels: np.ndarray  # foreground pixels (a sample), for signature presence
    backend: str
    coverage: float = 0.0  # share of the frame the foreground covers (near 1: a whole scene, not a figure)
    aspect: float = 0.5  # width / height of the foreground's box
    lit: bool = False  # light-normalised (:func:`normalise_light`)

    def presence(self, colour_lab: np.ndarray) -> float:
        """Share of foreground pixels within :data:`SIGNATURE_TOLERANCE` of ``colour_lab``; for a
        light-normalised figure, pixels of the same hue direction (within LIT_HUE degrees) and at
        least LIT_CHROMA of its chroma: a relit, restyled page keeps which way a part's colour
        leans, not how far."""
        if not len(self.lab_pixels):
            return 0.0
        if self.lit:
            chroma = np.hypot(self.lab_pixels[:, 1], self.lab_pixels[:, 2])
            target = float(np.hypot(colour_lab[1], colour_lab[2]))
            turn = np.abs(np.angle(np.exp(1j * (np.arctan2(self.lab_pixels[:, 2], self.lab_pixels[:, 1])
                                               - np.arctan2(colour_lab[2], colour_lab[1])))))
            return float(((np.degrees(turn) <= LIT_HUE) & (chroma >= LIT_CHROMA * target)).mean())
        gaps = np.linalg.norm(weighted_lab(self.lab_pixels) - weighted_lab(colour_lab[None, :]), axis=1)
        return float((gaps <= SIGNATURE_TOLERANCE).mean())


def normalise_light(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The figure's colours with the lighting taken out (uint8 RGB): lightness by rank within the
    figure (a night grade or a wash moves every tone, not their order), a/b as offsets from the
    figure's median colour scaled to a fixed spread (a tint moves the median, a muted palette
    shrinks the spread; what stays is *which parts* differ from the rest and in which direction,
    the red cap against the teal jacket)."""
    lab = to_lab(rgb)
    pixels = lab[mask]
    if len(pixels) < 8:
        return rgb
    order = np.sort(pixels[:, 0])
    rank = np.searchsorted(order, lab[..., 0], side="right").astype(np.float32) / len(order)
    offsets = lab[..., 1:] - np.median(pixels[:, 1:], axis=0)
    spread = float(np.median(np.linalg.norm(pixels[:, 1:] - np.median(pixels[:, 1:], axis=0), axis=1))) + 1.0
    out = np.dstack([15.0 + 75.0 * rank, offsets * (LIT_SPREAD / spread)]).astype(np.float32)
    return (np.clip(cv2.cvtColor(out, cv2.COLOR_Lab2RGB), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def identity_features(source: str | os.PathLike[str] | Image.Image | np.ndarray, *,
                      figure: tuple[float, float, float, float] | None = None, mask: np.ndarray | None = None,
                      lit: bool = False) -> IdentityFeatures:
    """Cut out and describe one image (path, PIL image or RGBA array). ``mask``: the foreground
    already found (same size as the image once downscaled to CUT_SIDE); ``figure``: where a
    placement says the figure is (shares of the image), to start the cut-out from; ``lit``:
    describe it with the lighting taken out (:func:`normalise_light`), for outputs of stages
    that restyle and relight the figure on purpose."""
    rgba = source if isinstance(source, np.ndarray) else load_rgba(source)[0]
    small = downscale(rgba, CUT_SIDE)
    if mask is not None and mask.shape == small.shape[:2] and mask.any():
        ys, xs = np.nonzero(mask)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        cut = Cutout(small[y0:y1, x0:x1], mask[y0:y1, x0:x1], "silhouette", small.shape[0] * small.shape[1])
    else:
        cut = cut_foreground(small, figure)
    if lit:
        cut = Cutout(np.dstack([normalise_light(cut.rgba[..., :3], cut.mask), cut.rgba[..., 3]]), cut.mask,
                     cut.backend, cut.frame_area)
    grey_bg = np.where(cut.mask[..., None], cut.rgba[..., :3], np.uint8(128)).astype(np.uint8)
    pil = PILImage.fromarray(np.ascontiguousarray(grey_bg), "RGB")
    rgba_fg = np.dstack([cut.rgba[..., :3], np.where(cut.mask, 255, 0).astype(np.uint8)])
    lab = to_lab(cut.rgba[..., :3])
    pixels = lab[cut.mask]
    if len(pixels) > 6000:
        pixels = pixels[np.random.default_rng(3).choice(len(pixels), 6000, replace=False)]
    mirror = pil.transpose(PILImage.Transpose.FLIP_LEFT_RIGHT)
    return IdentityFeatures(phash=imagehash.phash(pil), dhash=imagehash.dhash(pil),
                            mirrored=(imagehash.phash(mirror), imagehash.dhash(mirror)),
                            colorhash=imagehash.colorhash(PILImage.fromarray(np.ascontiguousarray(rgba_fg), "RGBA"),
                                                          binbits=3),
                            histogram=lab_histogram(lab, cut.mask, FG_BINS), lab_pixels=pixels, backend=cut.backend,
                            coverage=round(float(cut.mask.sum()) / max(cut.frame_area, 1), 4),
                            aspect=round(cut.mask.shape[1] / max(cut.mask.shape[0], 1), 4), lit=lit)


@dataclass(frozen=True)
class Signature:
    """A character's signature colours (Lab) and how much of each its references show."""

    colours: np.ndarray  # n x 3 Lab
    shares: np.ndarray  # n: median share over the reference images
    declared: bool

    def presence(self, features: IdentityFeatures) -> float:
        """0..1: the weakest signature colour's share relative to half its reference share."""
        if not len(self.colours):
            return 1.0
        ratios = [min(1.0, features.presence(colour) / max(0.5 * share, 1e-3))
                  for colour, share in zip(self.colours, self.shares, strict=True)]
        # Relit and restyled, one colour can lean off while the figure is plainly itself: there the
        # weakest and the mean count half each (a missing colour still costs, less than all).
        return float(0.5 * min(ratios) + 0.5 * np.mean(ratios)) if features.lit else float(min(ratios))

    def hex(self) -> list[str]:
        rgb = cv2.cvtColor(self.colours.reshape(1, -1, 3).astype(np.float32), cv2.COLOR_Lab2RGB).reshape(-1, 3)
        return ["#" + "".join(f"{int(round(v * 255)):02x}" for v in np.clip(colour, 0, 1)) for colour in rgb]


def signature_of(reference: CharacterReference, features: Sequence[IdentityFeatures]) -> Signature:
    """Declared signature colours, else the references' strongest chromatic colours (a colour a
    reader would name: chroma >= 18, at least 4 % of the figure, the three heaviest)."""
    if reference.signature_colours_hex:
        rgb = np.array([parse_hex(colour) for colour in reference.signature_colours_hex], np.uint8)
        colours = to_lab(rgb.reshape(1, -1, 3)).reshape(-1, 3)
        declared = True
    else:
        pooled = np.concatenate([item.lab_pixels for item in features]) if features else np.zeros((0, 3), np.float32)
        colours = np.zeros((0, 3), np.float32)
        if len(pooled):
            centres, weights = dominant_colours(pooled, 8)
            chroma = np.hypot(centres[:, 1], centres[:, 2])
            keep = (chroma >= MIN_SIGNATURE_CHROMA) & (weights >= MIN_SIGNATURE_SHARE)
            colours = centres[keep][:MAX_SIGNATURES]
        declared = False
    shares = np.array([np.median([item.presence(colour) for item in features]) if features else 0.0
                       for colour in colours], np.float64)
    return Signature(colours.astype(np.float32), shares, declared)


def _hash_similarity(first: imagehash.ImageHash, second: imagehash.ImageHash, random_level: float) -> float:
    return float(np.clip(1.0 - (first - second) / random_level, 0.0, 1.0))


def identity_parts(candidate: IdentityFeatures, reference: IdentityFeatures, signature: Signature) -> dict[str, float]:
    """The three part similarities (0..1) between a cut-out and one reference image."""
    # A character facing the other way is still itself: the mirrored reference counts too.
    shape = max(0.7 * _hash_similarity(candidate.phash, phash, 28.0) + 0.3 * _hash_similarity(candidate.dhash, dhash, 32.0)
                for phash, dhash in ((reference.phash, reference.dhash), reference.mirrored))
    colour = 0.75 * (1.0 - histogram_distance(candidate.histogram, reference.histogram)) + \
        0.25 * _hash_similarity(candidate.colorhash, reference.colorhash, 14.0)
    return {"shape": round(shape, 4), "colour": round(colour, 4), "signature": round(signature.presence(candidate), 4)}


def combine(parts: Mapping[str, float], *, lit: bool = False) -> float:
    weights = LIT_WEIGHTS if lit else WEIGHTS
    return round(sum(weights[part] * parts[part] for part in IDENTITY_PARTS), 4)


def best_match(candidate: IdentityFeatures, references: Sequence[IdentityFeatures],
               signature: Signature) -> tuple[float, dict[str, float], int]:
    """(identity, parts, index of the best reference): the best match over the reference set."""
    best: tuple[float, dict[str, float], int] = (-1.0, {}, -1)
    for index, reference in enumerate(references):
        parts = identity_parts(candidate, reference, signature)
        score = combine(parts, lit=candidate.lit)
        if score > best[0]:
            best = (score, parts, index)
    return best


@dataclass(frozen=True)
class IdentityScore:
    """One declared character's identity in one image (0..1, higher = more itself)."""

    code: str
    identity: float
    parts: dict[str, float]
    threshold: float
    best_reference: str | None
    cutout: str

    @property
    def broken(self) -> bool:
        return self.identity < self.threshold

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "identity": self.identity, "threshold": self.threshold, "parts": dict(self.parts),
                "best_reference": self.best_reference, "cutout": self.cutout, "broken": self.broken}
