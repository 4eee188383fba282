"""The guard's compiled one-pass kernel: exact against OpenCV and numpy, in place or in strips,
and still working where numba has no writable cache folder."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numba.core import caching
from PIL import Image

from kroma_kit.pipeline import pixel_kernel
from kroma_kit.pipeline.pixel_metrics import pixel_stats


def _reference(rgba: np.ndarray, alpha: bool) -> tuple[int, int, int, int]:
    visible = rgba[..., 3] > 0 if alpha else np.ones(rgba.shape[:2], dtype=bool)
    rgb = rgba[..., :3].astype(np.int64)
    luma = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.int64)[visible]
    spread = (rgb.max(2) - rgb.min(2))[visible]
    return int(spread.sum()), int(luma.sum()), int((luma**2).sum()), int(visible.sum())


def test_the_luma_is_opencvs_grey_over_many_colours():
    """A million random colours (a 14-bit instead of 15-bit fixed point is off by one level on
    ~0.3% of all colours: thousands here), so a coefficient or rounding slip shows in the totals."""
    rgba = np.random.default_rng(3).integers(0, 256, (1024, 1024, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    words = rgba.reshape(-1, 4).view(np.uint32).reshape(-1)
    assert pixel_kernel.kernel()(words, False) == _reference(rgba, alpha=False)


@pytest.mark.parametrize("alpha", [False, True])
def test_in_place_and_strip_reads_give_the_same_exact_totals(monkeypatch, alpha):
    rng = np.random.default_rng(5)
    rgba = rng.integers(0, 256, (300, 517, 4), dtype=np.uint8)  # several strips, the last one partial
    rgba[..., 3] = rng.choice([0, 1, 255], size=(300, 517))
    image = Image.fromarray(rgba, "RGBA") if alpha else Image.fromarray(np.ascontiguousarray(rgba[..., :3]))
    expected = _reference(rgba, alpha)
    assert pixel_kernel._arrow_words(image) is not None, "Pillow's Arrow export stopped working: reads copy now"
    assert pixel_kernel.pixel_sums(image, alpha) == expected
    monkeypatch.setattr(pixel_kernel, "_arrow_words", lambda image: None)  # rows in several blocks
    assert pixel_kernel.pixel_sums(image, alpha) == expected


def test_an_image_pillow_cannot_export_in_one_piece_is_read_in_strips():
    image = Image.new("RGB", (2900, 1500), (200, 10, 30))  # 17 MB: more than one of Pillow's blocks
    assert pixel_kernel._arrow_words(image) is None
    stats = pixel_stats(image)
    assert (stats.spread_sum, stats.visible) == (190 * 2900 * 1500, 2900 * 1500)


def test_without_a_writable_cache_folder_it_compiles_uncached_and_says_so(monkeypatch):
    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", [])  # numba finds nowhere to cache
    with pytest.warns(RuntimeWarning, match="without a disk cache"):
        uncached = pixel_kernel._compile()
    words = np.array([0xFF0000FF, 0x00FFFFFF, 0xFF808080], dtype=np.uint32)  # red, hidden white, grey
    assert uncached(words, True) == (255, 76 + 128, 76**2 + 128**2, 2)
