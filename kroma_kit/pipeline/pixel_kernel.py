"""The output guard's one fused pass over an image's pixels, compiled with numba.

Why a compiled loop: the guard needs four exact integer totals over the visible pixels (channel
spread ``max(R,G,B) - min(R,G,B)``, luma, luma squared, visible count). Any numpy/OpenCV route
makes several passes with temporaries; one loop that reads each pixel once as a 32-bit word and
keeps the totals in registers is what lets the guard beat the original tool's Pillow code by far
(``guard_vs_original`` in ``make bench``). The pixels are read in place through Pillow's Arrow
export (no copy) when the image is one contiguous buffer, else in strips of rows.

Why compiled lazily: importing numba costs ~0.4 s and compiling the kernel ~0.7 s, so nothing
happens at import (``import kroma_kit`` stays cheap); the first :func:`pixel_sums` of a process
compiles it once, under a lock (the executor's threads may race there), and numba's on-disk cache
(``cache=True``) turns every later process's compile into a load of a few milliseconds. Where no
cache folder is writable (a read-only install and home), it compiles uncached instead of failing.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

# Pillow keeps a pixel of an RGB/RGBA image as 4 bytes R G B A|X; read as one native word.
if sys.byteorder == "little":
    _R, _G, _B, _A = 0, 8, 16, 24
else:  # pragma: no cover - no big-endian CI
    _R, _G, _B, _A = 24, 16, 8, 0

# Partial totals stay in 32-bit registers for at most this many pixels: 8192 x 255**2 < 2**31.
_CHUNK = 8192
_STRIP_ROWS = 128  # rows read per strip when the image is not one contiguous buffer


def _sums(pixels: np.ndarray, alpha: bool) -> tuple[int, int, int, int]:  # pragma: no cover - compiled
    """(spread total, luma total, luma-squared total, visible count) of packed RGBA/RGBX words.

    The luma is OpenCV's ITU-R 601 grey in its 15-bit fixed point (what the blank check has
    always used: equal to ``cv2.cvtColor(..., COLOR_RGB2GRAY)`` for all 2**24 colours)."""
    spread_sum = np.int64(0)
    luma_sum = np.int64(0)
    square_sum = np.int64(0)
    visible = np.int64(0)
    for start in range(0, pixels.size, _CHUNK):
        # A slice walked from 0, not range(start, stop): only this form gets LLVM to vectorise.
        chunk = pixels[start:start + _CHUNK]
        spread = np.int32(0)
        luma = np.int32(0)
        square = np.int32(0)
        seen = np.int32(0)
        if alpha:
            for index in range(chunk.size):
                word = np.int32(chunk[index])  # the alpha byte may set the sign: masked off below
                red, green, blue = (word >> _R) & 255, (word >> _G) & 255, (word >> _B) & 255
                grey = (red * 9798 + green * 19235 + blue * 3735 + 16384) >> 15
                mask = -np.int32(((word >> _A) & 255) != 0)  # all ones where visible, else 0
                spread += (max(red, max(green, blue)) - min(red, min(green, blue))) & mask
                luma += grey & mask
                square += (grey * grey) & mask
                seen -= mask
        else:
            for index in range(chunk.size):
                word = np.int32(chunk[index])
                red, green, blue = (word >> _R) & 255, (word >> _G) & 255, (word >> _B) & 255
                grey = (red * 9798 + green * 19235 + blue * 3735 + 16384) >> 15
                spread += max(red, max(green, blue)) - min(red, min(green, blue))
                luma += grey
                square += grey * grey
            seen += chunk.size
        spread_sum += spread
        luma_sum += luma
        square_sum += square
        visible += seen
    return spread_sum, luma_sum, square_sum, visible


_lock = threading.Lock()
_kernel: Callable[[np.ndarray, bool], tuple[int, int, int, int]] | None = None
compile_seconds: float | None = None  # what the first call of this process paid (import + compile/load)


def kernel() -> Callable[[np.ndarray, bool], tuple[int, int, int, int]]:
    """The compiled :func:`_sums`, built on first use (see the module docstring for why)."""
    global _kernel, compile_seconds
    if _kernel is None:
        with _lock:
            if _kernel is None:
                started = time.perf_counter()
                _kernel = _compile()
                compile_seconds = time.perf_counter() - started
    return _kernel


def warm_in_background() -> None:
    """Compile (or load) the kernel on a thread, so a run's first guard call finds it ready
    instead of paying the ~1 s while the provider's first images are being made. Idempotent.
    Not a daemon: a process that ends first waits for it rather than tearing numba down mid-compile."""
    if _kernel is None:
        threading.Thread(target=kernel, name="kroma-guard-warmup", daemon=False).start()


def _compile() -> Callable[[np.ndarray, bool], tuple[int, int, int, int]]:
    # Lazy import for cost (0.4 s), not to dodge a cycle: numba is only needed once pixels are read.
    import numba
    from numba import types

    # Read-only words (bytes from Pillow, or a view of its memory); a writable array matches too.
    signature = types.UniTuple(types.int64, 4)(types.Array(types.uint32, 1, "C", readonly=True), types.boolean)
    try:
        return numba.njit(signature, cache=True, nogil=True)(_sums)
    except RuntimeError as exc:  # numba: "cannot cache function ...: no locator available"
        warnings.warn(f"guard kernel compiled without a disk cache ({exc}); set NUMBA_CACHE_DIR to a "
                      "writable folder to avoid recompiling in every process", RuntimeWarning, stacklevel=3)
        return numba.njit(signature, nogil=True)(_sums)


# --------------------------------------------------------------------------- reading the pixels

class _ArrowSchema(ctypes.Structure):
    pass


_ArrowSchema._fields_ = [
    ("format", ctypes.c_char_p), ("name", ctypes.c_char_p), ("metadata", ctypes.c_char_p),
    ("flags", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(_ArrowSchema))), ("dictionary", ctypes.c_void_p),
    ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]


class _ArrowArray(ctypes.Structure):
    pass


_ArrowArray._fields_ = [
    ("length", ctypes.c_int64), ("null_count", ctypes.c_int64), ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)), ("children", ctypes.POINTER(ctypes.POINTER(_ArrowArray))),
    ("dictionary", ctypes.c_void_p), ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]

_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _arrow_words(image: Image.Image) -> tuple[Any, np.ndarray] | None:
    """A zero-copy uint32 view of a 4-byte-per-pixel image's memory through Pillow's Arrow C data
    export, with the capsules that keep it valid (hold them while the view is used), or None
    when Pillow cannot export it as one buffer (rows in several blocks, old Pillow)."""
    try:
        capsules = image.__arrow_c_array__()
    except (AttributeError, ValueError):
        return None
    schema = _ArrowSchema.from_address(_capsule_pointer(capsules[0], b"arrow_schema"))
    array = _ArrowArray.from_address(_capsule_pointer(capsules[1], b"arrow_array"))
    if schema.format != b"+w:4" or array.n_children != 1 or array.offset:
        return None
    child = array.children[0].contents
    width, height = image.size
    if child.offset or child.n_buffers != 2 or child.length != width * height * 4 or not child.buffers[1]:
        return None
    memory = (ctypes.c_uint8 * child.length).from_address(child.buffers[1])
    words = np.frombuffer(memory, dtype=np.uint32)
    words.flags.writeable = False  # the guard only reads; the image stays Pillow's
    return capsules, words


def _strips(image: Image.Image, raw_mode: str) -> Iterator[np.ndarray]:
    width, height = image.size
    for top in range(0, height, _STRIP_ROWS):
        data = image.crop((0, top, width, min(height, top + _STRIP_ROWS))).tobytes("raw", raw_mode)
        yield np.frombuffer(data, dtype=np.uint32)


def pixel_sums(image: Image.Image, alpha: bool) -> tuple[int, int, int, int]:
    """The four totals of an image already in mode RGBA (``alpha``) or RGB, in one pass."""
    run = kernel()
    image.load()
    exported = _arrow_words(image)
    if exported is not None:
        capsules, words = exported
        sums = run(words, alpha)
        del words, capsules  # the view dies before the export that keeps its memory alive
        return tuple(int(value) for value in sums)  # type: ignore[return-value]
    totals = [0, 0, 0, 0]
    for words in _strips(image, "RGBA" if alpha else "RGBX"):
        for position, value in enumerate(run(words, alpha)):
            totals[position] += int(value)
    return totals[0], totals[1], totals[2], totals[3]
