"""Guard speed, two lines, each a ratio measured side by side on the same 1024x1536 image in the
same process (these machines are noisy, so only such a ratio means anything), on one thread:

- ``guard_speedup``: the vectorised chroma metric against the seed-style per-pixel Python loop
  (the loop runs once, the vectorised one is the median of several runs);
- ``guard_vs_original``: the project's whole per-image guard pass (:func:`pixel_stats`: chroma
  *and* the luma spread of the blank check) against the original tool's own Pillow code for the
  chroma alone (``ImageChops.difference`` + ``ImageStat`` mean over R-G, R-B, G-B, behaviour spec
  §2), both on the decoded image, medians of interleaved runs. The guard's kernel is compiled by
  numba on a process's first call (or loaded from numba's disk cache): that warm-up is excluded
  from the medians and reported on the line as ``first call``.

Both sides must agree on the value, or the figure is meaningless.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageChops, ImageStat

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kroma_kit.pipeline import pixel_kernel  # noqa: E402
from kroma_kit.pipeline.guard import chroma_delta, naive_chroma_delta, pixel_stats  # noqa: E402
from tests.bench.lines import BenchLine, ratio  # noqa: E402

WIDTH, HEIGHT = 1024, 1536  # the portrait size image models return
VECTORISED_RUNS = 15
ORIGINAL_RUNS = 31


def bench() -> list[BenchLine]:
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # one core against one core: the naive loop cannot use more
    try:
        return [_speedup(), _vs_original()]
    finally:
        cv2.setNumThreads(threads)


def _speedup() -> BenchLine:
    image = Image.fromarray(np.random.default_rng(2024).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8))
    chroma_delta(image)  # warm up: first calls pay for imports and allocations

    started = time.perf_counter()
    reference = naive_chroma_delta(image)
    naive_s = time.perf_counter() - started

    timings = []
    for _ in range(VECTORISED_RUNS):
        started = time.perf_counter()
        value = chroma_delta(image)
        timings.append(time.perf_counter() - started)
    if value != reference:
        raise AssertionError(f"vectorised chroma {value} != naive {reference}")
    vectorised_s = statistics.median(timings)
    return BenchLine("guard_speedup", ratio(naive_s, vectorised_s), ">= 50x",
                     extra=f"naive {naive_s * 1000:.0f} ms, vectorised {vectorised_s * 1000:.1f} ms "
                           f"(median of {VECTORISED_RUNS}, one thread) on {WIDTH}x{HEIGHT}")


def original_chroma_delta(image: Image.Image) -> float:
    """The original tool's output-guard chroma, as its Pillow code computes it (spec §2)."""
    red, green, blue = image.convert("RGB").split()
    means = [ImageStat.Stat(ImageChops.difference(a, b)).mean[0] for a, b in ((red, green), (red, blue), (green, blue))]
    return round(sum(means) / 3, 4)


def _vs_original() -> BenchLine:
    image = Image.fromarray(np.random.default_rng(2025).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8))
    original_chroma_delta(image), pixel_stats(image)  # warm up both
    original, ours = [], []
    for _ in range(ORIGINAL_RUNS):  # interleaved, so a burst of load hits both sides alike
        started = time.perf_counter()
        reference = original_chroma_delta(image)
        original.append(time.perf_counter() - started)
        started = time.perf_counter()
        stats = pixel_stats(image)
        ours.append(time.perf_counter() - started)
    if stats.chroma_delta() != reference:
        raise AssertionError(f"guard chroma {stats.chroma_delta()} != original {reference}")
    original_s, ours_s = statistics.median(original), statistics.median(ours)
    return BenchLine("guard_vs_original", ratio(original_s, ours_s), ">= 5x",
                     extra=f"original Pillow {original_s * 1000:.1f} ms (chroma only), project guard "
                           f"{ours_s * 1000:.1f} ms (chroma and luma), medians of {ORIGINAL_RUNS} interleaved "
                           f"runs, one thread, on {WIDTH}x{HEIGHT}; first call of the process "
                           f"{(pixel_kernel.compile_seconds or 0) * 1000:.0f} ms (numba compile or cache "
                           "load, excluded)")
