"""rembg background removal with model files the user placed, and never a download.

rembg 2.0.86 fetches a missing model with pooch from GitHub (30 s timeout, an empty folder left
behind; ``reference/ml-offline.md`` §1.2). Kroma Kit promises to work offline and to say what is
missing, so this backend finds the model file itself (rembg's own layout: ``<home>/models/<name>/
<name>.onnx``, then ``<home>/<name>.onnx``) and hands rembg a session subclass whose
``download_models`` only returns that path. A missing file therefore fails in microseconds with a
message naming the file and ``U2NET_HOME``, and no network code runs at all.

Sessions are expensive to build (ONNX load) and cheap to use, so one warm session per model file
is kept per process; ``onnxruntime`` sessions are safe to run from several threads.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.errors import ConfigError, ProviderError, ProviderNotConfigured
from kroma_kit.providers.bg_remove import BgResult

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_MODEL = "u2net"
# Sessions that need prompts, call a remote service, or hold several files: not offered here.
UNSUPPORTED_MODELS = {"sam": "needs point/box prompts", "withoutbg": "is a remote API",
                      "atlascloud": "is a remote API"}
CUSTOM_MODELS = ("u2net_custom", "dis_custom", "ben_custom")
# One-file models of rembg 2.0.86, checked without importing rembg (1-3 s of scipy/numba imports),
# so a missing file falls through to the next backend at once. Other names are checked against
# the installed rembg.
KNOWN_FILE_MODELS = frozenset({
    "u2net", "u2netp", "u2net_human_seg", "u2net_cloth_seg", "silueta", "isnet-anime", "isnet-general-use",
    "bria-rmbg", "birefnet-general", "birefnet-general-lite", "birefnet-general-fp16", "birefnet-portrait",
    "birefnet-dis", "birefnet-hrsod", "birefnet-cod", "birefnet-massive"})

_SESSIONS: dict[tuple[str, str, int], Any] = {}
_SESSIONS_LOCK = threading.Lock()


def rembg_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The folder rembg reads models from: ``home`` when given, else rembg's own rule
    (``U2NET_HOME``, then ``REMBG_HOME``, then ``$XDG_DATA_HOME/rembg``, then ``~/.rembg``)."""
    if home:
        return Path(home).expanduser()
    if os.environ.get("U2NET_HOME"):
        return Path(os.environ["U2NET_HOME"]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    default = os.path.join(xdg, "rembg") if xdg else os.path.join("~", ".rembg")
    return Path(os.environ.get("REMBG_HOME", default)).expanduser()


def _legacy_home() -> Path:
    """rembg's read-only legacy folder (``U2NET_HOME`` or ``$XDG_DATA_HOME/.u2net`` or ``~/.u2net``)."""
    return Path(os.environ.get("U2NET_HOME") or os.path.join(os.environ.get("XDG_DATA_HOME", "~"), ".u2net")
                ).expanduser()


def _session_class(model: str) -> type:
    from rembg.sessions import sessions

    if model in UNSUPPORTED_MODELS:
        raise ConfigError(f"rembg model '{model}' is not supported by Kroma Kit: it {UNSUPPORTED_MODELS[model]}.")
    if model not in sessions:
        known = ", ".join(sorted(name for name in sessions if name not in UNSUPPORTED_MODELS))
        raise ConfigError(f"Unknown rembg model '{model}'. Known: {known}.")
    return sessions[model]


def model_file(model: str = DEFAULT_MODEL, *, home: str | os.PathLike[str] | None = None,
               model_path: str | os.PathLike[str] | None = None) -> Path:
    """Where the ONNX file for ``model`` is; raises ProviderNotConfigured naming where to put it.

    ``model_path`` (required for the ``*_custom`` sessions) may be absolute or relative to the
    home folder. Nothing is created or downloaded.
    """
    root = rembg_home(home)
    if model_path:
        path = Path(model_path).expanduser()
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise ProviderNotConfigured(
                f"rembg model file not found: {path}. Put the ONNX file there or fix bg_remove.rembg.model_path.",
                provider="rembg")
        return path
    if model in CUSTOM_MODELS:
        raise ConfigError(f"rembg model '{model}' needs bg_remove.rembg.model_path (an ONNX file).")
    if model not in KNOWN_FILE_MODELS:
        _session_class(model)  # unknown or unsupported names fail here, before any file talk
    name = f"{model}.onnx"
    candidates = [root / "models" / model / name, (Path(home).expanduser() if home else _legacy_home()) / name]
    for path in candidates:
        if path.is_file():
            return path
    raise ProviderNotConfigured(
        f"rembg model file '{name}' not found (looked in {candidates[0]} and {candidates[1]}). "
        f"Kroma Kit never downloads weights: copy {name} into {candidates[0].parent} "
        f"(set U2NET_HOME or bg_remove.rembg.home to choose the folder), or use another backend.",
        provider="rembg")


def warm_session(model: str = DEFAULT_MODEL, *, home: str | os.PathLike[str] | None = None,
                 model_path: str | os.PathLike[str] | None = None) -> Any:
    """The process-wide rembg session for this model file, built on first use.

    Keyed by (model, file, mtime) so replacing the file on disk gives a fresh session.
    """
    path = model_file(model, home=home, model_path=model_path)
    key = (model, str(path.resolve()), path.stat().st_mtime_ns)
    session = _SESSIONS.get(key)
    if session is not None:
        return session
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = _build_session(model, path)
            _SESSIONS[key] = session
    return session


def _build_session(model: str, path: Path) -> Any:
    import onnxruntime as ort

    base = _session_class(model)
    # rembg's extension point is the session class: pin download_models to the file we found.
    pinned = type(f"Pinned{base.__name__}", (base,), {
        "download_models": classmethod(lambda cls, *args, **kwargs: str(path)),
    })
    options = ort.SessionOptions()
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads and threads.isdigit():
        options.intra_op_num_threads = options.inter_op_num_threads = int(threads)
    try:
        return pinned(model, options, model_path=str(path))
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a bad file
        raise ProviderError(f"rembg could not load {path}: {type(exc).__name__}: {exc}",
                            provider="rembg") from exc


def clear_sessions() -> None:
    """Drop the warm sessions (frees their memory; the next call loads the model again)."""
    with _SESSIONS_LOCK:
        _SESSIONS.clear()


class RembgRemover:
    """rembg with a local model file. Free, offline, one warm session per model per process."""

    code = "rembg"
    paid = False

    def __init__(self, model: str = DEFAULT_MODEL, home: str | None = None, model_path: str | None = None,
                 alpha_matting: bool = False, alpha_matting_erode_size: int = 10,
                 post_process_mask: bool = False) -> None:
        self.model = model
        self.home = home
        self.model_path = model_path
        self.alpha_matting = alpha_matting
        self.alpha_matting_erode_size = alpha_matting_erode_size
        self.post_process_mask = post_process_mask

    def describe(self) -> dict[str, Any]:
        return {"backend": self.code, "model": self.model, "alpha_matting": self.alpha_matting,
                "post_process_mask": self.post_process_mask}

    def remove(self, image: Image.Image, *, source_name: str) -> BgResult:
        started = time.perf_counter()
        session = warm_session(self.model, home=self.home, model_path=self.model_path)
        loaded = time.perf_counter()
        from rembg import remove

        try:
            cutout = remove(image.convert("RGB"), session=session, alpha_matting=self.alpha_matting,
                            alpha_matting_erode_size=self.alpha_matting_erode_size,
                            post_process_mask=self.post_process_mask)
        except Exception as exc:  # noqa: BLE001 - model/runtime failures become this backend's failure
            raise ProviderError(f"rembg failed on {source_name}: {type(exc).__name__}: {exc}",
                                provider="rembg") from exc
        done = time.perf_counter()
        return BgResult(cutout.convert("RGBA"), self.code, usage={
            "model": self.model, "load_ms": int((loaded - started) * 1000),
            "inference_ms": int((done - loaded) * 1000)})
