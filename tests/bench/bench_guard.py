"""Guard speed: the vectorised chroma metric against the seed-style per-pixel Python loop.

Both run on the same 1024x1536 image in the same process (these machines are noisy, so only a
ratio measured side by side means anything). The naive loop runs once, the vectorised one is
the median of several runs, on one thread; both must agree on the value or the figure is meaningless.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kroma_kit.pipeline.guard import chroma_delta, naive_chroma_delta  # noqa: E402
from tests.bench.lines import BenchLine, ratio  # noqa: E402

WIDTH, HEIGHT = 1024, 1536  # the portrait size image models return
VECTORISED_RUNS = 15


def bench() -> list[BenchLine]:
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # one core against one core: the naive loop cannot use more
    try:
        return [_speedup()]
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
