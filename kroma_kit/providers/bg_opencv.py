"""Weights-free background removal with OpenCV: border keying (``flat``), GrabCut, and ``auto``.

These are the offline defaults (ARCHITECTURE decision 6): they need no model file and no key.

* ``flat`` models the background as a smooth colour surface fitted to the image border (a
  quadratic per channel, refitted without outliers), keys every pixel close to that surface and
  keeps only the keyed regions connected to the border. On a flat page this is the flood fill of
  ``reference/ml-offline.md`` §3 (2 ms, IoU 1.0); unlike a fixed-colour flood fill it also follows
  a lighting gradient. Enclosed background (between arms, inside a handle) is kept, as with any
  border fill; ``keep_enclosed=False`` keys it globally instead, at the risk of eating
  foreground that shares the background colour.
* ``grabcut`` runs OpenCV GrabCut on a copy scaled to ~384 px (full resolution is 10-50x slower
  for ~1 % IoU), seeded from the border key when that looks sane, else from a rectangle, then
  scales the mask back and feathers its edge (GrabCut itself gives hard binary edges).
* ``auto`` measures how well the border fits the smooth surface: flat when it does, else GrabCut;
  then it refuses (``NoPlainBackground``) a result that is not one subject but a scene in pieces
  (:mod:`kroma_kit.providers.bg_subject`), so the image is left unchanged instead of shredded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kroma_kit.errors import ProviderError
from kroma_kit.providers.bg_remove import NO_PLAIN_BACKGROUND, BgResult, NoPlainBackground
from kroma_kit.providers.bg_subject import subject_shape

if TYPE_CHECKING:
    from PIL import Image

BORDER_BAND = 2  # pixels of each edge sampled for the background model


@dataclass(frozen=True)
class BorderModel:
    """The fitted background surface and how well the border agrees with it."""

    coefficients: np.ndarray  # 6 x 3: quadratic terms x channels
    noise_sigma: float  # robust std of border residuals (grey levels)
    inlier_fraction: float  # share of border pixels within the key tolerance
    tolerance: float  # the key tolerance actually used

    def predict(self, height: int, width: int) -> np.ndarray:
        """Background colour at every pixel, float32 HxWx3."""
        x = (np.arange(width, dtype=np.float32) / max(width - 1, 1))[None, :, None]
        y = (np.arange(height, dtype=np.float32) / max(height - 1, 1))[:, None, None]
        c = self.coefficients
        return (c[0] + c[1] * x + c[3] * x * x) + (c[2] * y + c[5] * y * y) + c[4] * (x * y)


def _design(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x, y = x.reshape(-1), y.reshape(-1)
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1).astype(np.float32)


def _border_samples(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, w = rgb.shape[:2]
    band = np.zeros((h, w), bool)
    b = min(BORDER_BAND, h // 2, w // 2) or 1
    band[:b, :] = band[-b:, :] = band[:, :b] = band[:, -b:] = True
    ys, xs = np.nonzero(band)
    return xs / max(w - 1, 1), ys / max(h - 1, 1), rgb[ys, xs].astype(np.float32)


def fit_border_model(rgb: np.ndarray, *, tol: float = 12.0, max_tol: float = 48.0) -> BorderModel:
    """Fit the background surface to the border, ignoring border pixels that belong to the subject.

    Three rounds of least squares, each dropping samples far from the previous fit, so a subject
    touching one edge does not bend the surface. The tolerance grows with the border's noise
    (4.5 sigma) but never past ``max_tol``, so a noisy page keys cleanly without eating colours
    that are clearly different.
    """
    xs, ys, colours = _border_samples(rgb)
    design = _design(xs, ys)
    keep = np.ones(len(colours), bool)
    coefficients = np.zeros((6, 3), np.float32)
    sigma = 0.0
    for _ in range(3):
        if keep.sum() < 12:
            break
        coefficients, *_ = np.linalg.lstsq(design[keep], colours[keep], rcond=None)
        signed = colours - design @ coefficients
        inliers = signed[keep].reshape(-1)
        sigma = float(1.4826 * np.median(np.abs(inliers - np.median(inliers))))
        keep = np.abs(signed).max(axis=1) <= max(tol, 4.5 * sigma, 3.0)
    residual = np.abs(colours - design @ coefficients).max(axis=1)
    tolerance = float(min(max(tol, 4.5 * sigma), max_tol))
    return BorderModel(coefficients.astype(np.float32), sigma, float((residual <= tolerance).mean()), tolerance)


def key_foreground(rgb: np.ndarray, *, tol: float = 12.0, keep_enclosed: bool = True,
                   min_area_fraction: float = 0.0005,
                   model: BorderModel | None = None) -> tuple[np.ndarray, BorderModel]:
    """Foreground mask (bool HxW) by keying against the border's background surface."""
    import cv2

    h, w = rgb.shape[:2]
    model = model or fit_border_model(rgb, tol=tol)
    smoothed = cv2.medianBlur(np.ascontiguousarray(rgb), 3).astype(np.float32)
    distance = np.abs(smoothed - model.predict(h, w)).max(axis=2)
    background = distance <= model.tolerance
    if keep_enclosed:
        count, labels = cv2.connectedComponents(background.astype(np.uint8), connectivity=4)
        edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        touching = np.zeros(count, bool)
        touching[edge_labels] = True
        touching[0] = False  # label 0 is the foreground itself
        background = touching[labels]
    foreground = ~background
    min_area = max(16, int(min_area_fraction * h * w))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(foreground.astype(np.uint8), connectivity=8)
    small = np.zeros(count, bool)
    small[1:] = stats[1:, cv2.CC_STAT_AREA] < min_area
    foreground[small[labels]] = False
    return foreground, model


def feathered_alpha(foreground: np.ndarray, feather: float) -> np.ndarray:
    """uint8 alpha from a bool mask, with a soft edge of about ``feather`` pixels (0 = hard)."""
    import cv2

    alpha = foreground.astype(np.float32) * 255.0
    if feather > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), feather)
    return np.clip(alpha + 0.5, 0, 255).astype(np.uint8)


def cutout(image: Image.Image, alpha: np.ndarray) -> Image.Image:
    """The image's own RGB with ``alpha`` as its alpha channel. RGB under transparent pixels is
    kept (not blacked out) so a later upscale does not pull dark fringes into the edge."""
    from PIL import Image

    rgba = image.convert("RGBA")
    rgba.putalpha(Image.fromarray(alpha, "L"))
    return rgba


def _rgb_array(image: Image.Image) -> np.ndarray:
    if image.width < 8 or image.height < 8:
        raise ProviderError(f"Image too small for background removal ({image.width}x{image.height}).")
    return np.asarray(image.convert("RGB"))


def grabcut_foreground(rgb: np.ndarray, *, seed: np.ndarray | None = None, work_side: int = 384,
                       iterations: int = 5, margin: float = 0.04) -> np.ndarray:
    """GrabCut foreground (bool HxW) computed on a copy scaled to ``work_side`` px.

    With ``seed`` (a bool foreground guess) the model starts from it: the seed's background on
    the border is certain background, everything else "probable". Without it, a rectangle
    ``margin`` inside the edges marks the probable foreground; the subject must fit inside.
    """
    import cv2

    h, w = rgb.shape[:2]
    factor = min(1.0, work_side / max(h, w))
    size = (max(8, round(w * factor)), max(8, round(h * factor)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if factor < 1 else rgb.copy()
    bgr = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2BGR)
    sh, sw = bgr.shape[:2]
    mask = np.zeros((sh, sw), np.uint8)
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    if seed is not None:
        guess = cv2.resize(seed.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST).astype(bool)
        mask[:] = np.where(guess, cv2.GC_PR_FGD, cv2.GC_PR_BGD)
        band = np.zeros_like(guess)
        band[:2, :] = band[-2:, :] = band[:, :2] = band[:, -2:] = True
        mask[band & ~guess] = cv2.GC_BGD
        cv2.grabCut(bgr, mask, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    else:
        mx, my = max(1, int(sw * margin)), max(1, int(sh * margin))
        rect = (mx, my, max(2, sw - 2 * mx), max(2, sh - 2 * my))
        cv2.grabCut(bgr, mask, rect, bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
    small_fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.float32)
    if (sh, sw) == (h, w):
        return small_fg > 0.5
    return cv2.resize(small_fg, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5


def _seed_is_usable(foreground: np.ndarray) -> bool:
    share = float(foreground.mean())
    return 0.005 <= share <= 0.95


class FlatRemover:
    """Border keying for flat or smoothly lit backgrounds. Free, offline, milliseconds."""

    code = "flat"
    paid = False

    def __init__(self, tol: float = 12.0, max_tol: float = 48.0, keep_enclosed: bool = True,
                 feather: float = 0.8, min_inlier_fraction: float = 0.75) -> None:
        self.tol = tol
        self.max_tol = max_tol
        self.keep_enclosed = keep_enclosed
        self.feather = feather
        self.min_inlier_fraction = min_inlier_fraction

    def remove(self, image: Image.Image, *, source_name: str) -> BgResult:
        rgb = _rgb_array(image)
        model = fit_border_model(rgb, tol=self.tol, max_tol=self.max_tol)
        if model.inlier_fraction < self.min_inlier_fraction:
            raise ProviderError(
                f"{source_name}: the border is not a flat background (only {model.inlier_fraction:.0%} of it "
                f"fits a smooth colour surface); use grabcut or rembg.", provider=self.code)
        foreground, _ = key_foreground(rgb, tol=self.tol, keep_enclosed=self.keep_enclosed, model=model)
        if not foreground.any():
            raise ProviderError(f"{source_name}: nothing left after keying the background.", provider=self.code)
        return BgResult(cutout(image, feathered_alpha(foreground, self.feather)), self.code,
                        usage=_model_usage(model))


class GrabCutRemover:
    """Downscaled GrabCut, seeded from the border key (``seed="key"``) or a rectangle (``"rect"``)."""

    code = "grabcut"
    paid = False

    def __init__(self, work_side: int = 384, iterations: int = 5, margin: float = 0.04,
                 seed: str = "key", tol: float = 12.0, feather: float = 1.0) -> None:
        if seed not in ("key", "rect"):
            raise ValueError(f"seed must be 'key' or 'rect', got {seed!r}")
        self.work_side = work_side
        self.iterations = iterations
        self.margin = margin
        self.seed = seed
        self.tol = tol
        self.feather = feather

    def remove(self, image: Image.Image, *, source_name: str) -> BgResult:
        rgb = _rgb_array(image)
        notes: list[str] = []
        seed_mask = None
        usage: dict[str, Any] = {"seed": "rect"}
        if self.seed == "key":
            keyed, model = key_foreground(rgb, tol=self.tol)
            usage = _model_usage(model)
            if _seed_is_usable(keyed):
                seed_mask, usage["seed"] = keyed, "key"
            else:
                usage["seed"] = "rect"
                notes.append(f"grabcut: border key covered {keyed.mean():.0%} of the image; seeded from a rectangle")
        import cv2

        try:
            foreground = grabcut_foreground(rgb, seed=seed_mask, work_side=self.work_side,
                                            iterations=self.iterations, margin=self.margin)
        except cv2.error as exc:  # e.g. "must contain both foreground and background samples"
            raise ProviderError(f"{source_name}: GrabCut failed: {str(exc).strip()}", provider=self.code) from exc
        if not foreground.any():
            raise ProviderError(f"{source_name}: GrabCut found no foreground.", provider=self.code)
        return BgResult(cutout(image, feathered_alpha(foreground, self.feather)), self.code,
                        usage=usage, notes=notes)


class AutoRemover:
    """``flat`` when the border fits a smooth background surface, else ``grabcut``.

    The result's ``backend`` stays ``auto`` (what was configured); ``usage["chosen"]`` and a note
    say which method ran and why.
    """

    code = "auto"
    paid = False

    def __init__(self, max_noise: float = 8.0, min_inlier_fraction: float = 0.9,
                 flat: dict[str, Any] | None = None, grabcut: dict[str, Any] | None = None) -> None:
        self.max_noise = max_noise
        self.min_inlier_fraction = min_inlier_fraction
        self.flat = FlatRemover(**(flat or {}))
        self.grabcut = GrabCutRemover(**(grabcut or {}))

    def choose(self, image: Image.Image) -> tuple[str, BorderModel]:
        model = fit_border_model(_rgb_array(image), tol=self.flat.tol, max_tol=self.flat.max_tol)
        is_flat = model.inlier_fraction >= self.min_inlier_fraction and model.noise_sigma <= self.max_noise
        return ("flat" if is_flat else "grabcut"), model

    def remove(self, image: Image.Image, *, source_name: str) -> BgResult:
        chosen, model = self.choose(image)
        result = (self.flat if chosen == "flat" else self.grabcut).remove(image, source_name=source_name)
        shape = subject_shape(np.asarray(result.image.getchannel("A")))
        if not shape.separable:  # a whole scene: writing the "cutout" would shred it
            raise NoPlainBackground(f"{source_name}: {NO_PLAIN_BACKGROUND}; {chosen} found {shape.describe()}",
                                    provider=self.code)
        result.notes.append(
            f"auto: chose {chosen} (border fit {model.inlier_fraction:.0%}, noise {model.noise_sigma:.1f})")
        result.usage = {**result.usage, "chosen": chosen}
        result.backend = self.code
        return result


def _model_usage(model: BorderModel) -> dict[str, Any]:
    return {"border_fit": round(model.inlier_fraction, 4), "border_noise": round(model.noise_sigma, 2),
            "key_tolerance": round(model.tolerance, 2)}
