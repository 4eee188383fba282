"""``settings/postprocess.json``: every post-processing backend's parameters, validated.

The pipeline settings say *whether* a step runs (``pipeline.postprocess.bg_remove`` ...); this
file says *how*: which backends in which order, model names, endpoints, key variables, formats,
folders. Keys follow the seed (``reference/kroma-behavior.md`` §4) with the product's defaults:
an offline-first backend list (``["rembg", "auto"]``: a placed rembg model when there is one,
the weights-free OpenCV path otherwise), Real-ESRGAN's fast anime model on CPU, refine off.
Seed keys that only made sense for the old subprocess wrappers (``python_bin``, ``binary`` ...)
are accepted and ignored, and listed in ``ignored_keys`` so ``kroma config show`` can say so.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from kroma_kit.errors import ConfigError
from kroma_kit.providers.bg_http import PHOTOROOM_ENDPOINT, REMOVE_BG_ENDPOINT

FILE_NAME = "postprocess.json"
REFINE_PROMPT = (
    "Refine this subject cutout for production compositing. Keep identity, pose, outfit, proportions "
    "and colors unchanged. Clean jagged edges and halos, recover natural hair strands and "
    "semi-transparent details, preserve transparent background. Do not add or remove objects, do not "
    "retouch skin, and do not change framing.")
LEGACY_KEYS = {
    "bg_remove.rembg": ("python_bin",),
    "bg_remove.openai": ("api_key_env",),
    "upscale": ("binary", "model_dir", "model_name", "python"),
}
ImageFormat = Literal["png", "jpg", "webp"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _format(value: Any) -> Any:
    return "jpg" if isinstance(value, str) and value.lower() in ("jpg", "jpeg") else (
        value.lower() if isinstance(value, str) else value)


class RembgSection(_Strict):
    model: str = "u2net"
    home: str | None = None  # model folder; None = U2NET_HOME / rembg's default
    model_path: str | None = None  # an explicit ONNX file (required for *_custom models)
    alpha_matting: bool = False
    alpha_matting_erode_size: int = Field(10, ge=1, le=100)
    post_process_mask: bool = False


class FlatSection(_Strict):
    tol: float = Field(12.0, gt=0, le=128)
    max_tol: float = Field(48.0, gt=0, le=255)
    keep_enclosed: bool = True
    feather: float = Field(0.8, ge=0, le=10)
    min_inlier_fraction: float = Field(0.75, ge=0, le=1)


class GrabCutSection(_Strict):
    work_side: int = Field(384, ge=64, le=4096)
    iterations: int = Field(5, ge=1, le=30)
    margin: float = Field(0.04, ge=0, lt=0.5)
    seed: Literal["key", "rect"] = "key"
    tol: float = Field(12.0, gt=0, le=128)
    feather: float = Field(1.0, ge=0, le=10)


class AutoSection(_Strict):
    max_noise: float = Field(8.0, ge=0)
    min_inlier_fraction: float = Field(0.9, ge=0, le=1)


class _HttpSection(_Strict):
    timeout_s: float = Field(60.0, gt=0)
    connect_timeout_s: float = Field(15.0, gt=0)
    max_attempts: int = Field(3, ge=1, le=10)


class RemoveBgSection(_HttpSection):
    endpoint: str = REMOVE_BG_ENDPOINT
    api_key_env: str = "REMOVE_BG_API_KEY"
    usd_per_credit: float | None = Field(None, ge=0)  # plan-dependent; None = record credits only


class PhotoRoomSection(_HttpSection):
    endpoint: str = PHOTOROOM_ENDPOINT
    api_key_env: str = "PHOTOROOM_API_KEY"
    usd_per_image: float = Field(0.02, ge=0)  # Basic plan, third-party price summary (provider-wire.md 5.2)


class OpenAIRefineSection(_Strict):
    enabled: bool = False
    required: bool = False
    model: str = "gpt-image-2"
    quality: Literal["low", "medium", "high", "auto"] = "high"
    input_fidelity: Literal["low", "high"] | None = None  # sent only to models that accept it
    output_format: ImageFormat | None = None  # None = the same as bg_remove.format (the seed's rule)
    background: Literal["transparent"] = "transparent"
    prompt: str = Field(REFINE_PROMPT, min_length=1)

    @field_validator("output_format", mode="before")
    @classmethod
    def normalise_format(cls, value: Any) -> Any:
        return _format(value)


class BgRemoveSection(_Strict):
    output_dir: str = "background_removed"
    backends: list[str] = Field(default_factory=lambda: ["rembg", "auto"], min_length=1)
    format: ImageFormat = "png"
    size: str = "auto"
    crop: bool = False
    rembg: RembgSection = Field(default_factory=RembgSection)
    flat: FlatSection = Field(default_factory=FlatSection)
    grabcut: GrabCutSection = Field(default_factory=GrabCutSection)
    auto: AutoSection = Field(default_factory=AutoSection)
    removebg: RemoveBgSection = Field(default_factory=RemoveBgSection)
    photoroom: PhotoRoomSection = Field(default_factory=PhotoRoomSection)
    openai: OpenAIRefineSection = Field(default_factory=OpenAIRefineSection)

    @field_validator("format", mode="before")
    @classmethod
    def normalise_format(cls, value: Any) -> Any:
        return _format(value)

    @field_validator("backends")
    @classmethod
    def _known_backends(cls, value: list[str]) -> list[str]:
        from kroma_kit.providers.bg_remove import validate_bg_backends

        try:
            return validate_bg_backends(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _refine_format_matches(self) -> BgRemoveSection:
        if self.openai.enabled and self.openai.output_format not in (None, self.format):
            raise ValueError(f"openai.output_format ('{self.openai.output_format}') must match format "
                             f"('{self.format}') (seed: --bg-refine-format must match --bg-remove-format)")
        return self

    def backend_options(self) -> dict[str, dict[str, Any]]:
        """Constructor options per backend code, for :func:`remove_background`."""
        http = {"size": self.size, "crop": self.crop}
        return {
            "rembg": self.rembg.model_dump(),
            "flat": self.flat.model_dump(),
            "grabcut": self.grabcut.model_dump(),
            "auto": {**self.auto.model_dump(), "flat": self.flat.model_dump(),
                     "grabcut": self.grabcut.model_dump()},
            "removebg": {**self.removebg.model_dump(), **http},
            "photoroom": {**self.photoroom.model_dump(), **http},
        }


class LanczosSection(_Strict):
    sharpen: bool = True
    radius: float = Field(1.0, gt=0, le=10)
    percent: int = Field(60, ge=0, le=500)
    threshold: int = Field(2, ge=0, le=255)


class UpscaleSection(_Strict):
    output_dir: str = "upscaled"
    backend: str = "realesrgan"
    scale: int = Field(2, ge=2, le=4)
    tile: int = Field(0, ge=0)
    format: ImageFormat = "png"
    model: Literal["animevideov3", "x4plus-anime", "x4plus"] = "animevideov3"
    device: str | int = "auto"
    lanczos: LanczosSection = Field(default_factory=LanczosSection)

    @field_validator("format", mode="before")
    @classmethod
    def normalise_format(cls, value: Any) -> Any:
        return _format(value)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        from kroma_kit.providers.upscale import canonical_upscaler

        try:
            return canonical_upscaler(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("tile")
    @classmethod
    def _tile(cls, value: int) -> int:
        if value and value < 32:
            raise ValueError("tile must be 0 (auto) or at least 32")
        return value

    @field_validator("device")
    @classmethod
    def _device(cls, value: str | int) -> str | int:
        if isinstance(value, int) and value >= -1:
            return value
        if value in ("auto", "cpu") or (isinstance(value, str) and value.isdigit()):
            return value
        raise ValueError("device must be 'auto', 'cpu' or a GPU index")

    def backend_options(self, code: str | None = None) -> dict[str, Any]:
        """Constructor options for ``code`` (default: the configured backend)."""
        code = code or self.backend
        if code == "realesrgan":
            return {"model": self.model, "tile": self.tile, "device": self.device}
        if code == "lanczos":
            return self.lanczos.model_dump()
        return {}


class ColorSection(_Strict):
    output_dir: str = "color_corrected"
    profile: str = "neutral"
    settings_file: str | None = "color-correction.json"  # relative to this file's folder; None = built-in


class PostprocessConfig(_Strict):
    """The whole ``postprocess.json``. ``source`` is the file it came from (or ``builtin``)."""

    bg_remove: BgRemoveSection = Field(default_factory=BgRemoveSection)
    upscale: UpscaleSection = Field(default_factory=UpscaleSection)
    color: ColorSection = Field(default_factory=ColorSection)

    _source: str = PrivateAttr(default="builtin")
    _ignored: list[str] = PrivateAttr(default_factory=list)

    @property
    def source(self) -> str:
        return self._source

    @property
    def ignored_keys(self) -> list[str]:
        return list(self._ignored)

    def color_settings_path(self) -> Path | None:
        """The colour profile file, resolved against this file's folder (or the app settings)."""
        if not self.color.settings_file:
            return None
        path = Path(self.color.settings_file).expanduser()
        if path.is_absolute():
            return path
        if self._source != "builtin":
            return Path(self._source).parent / path
        from kroma_kit.config import app_settings_dir

        app = app_settings_dir()
        candidate = app / path if app is not None else None
        return candidate if candidate is not None and candidate.is_file() else None


def parse_postprocess_config(data: Mapping[str, Any], source: str = "builtin") -> PostprocessConfig:
    """Validate ``data``; errors name the file and the key path (``bg_remove.backends.0``)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the top level must be an object, got {type(data).__name__}")
    values = copy.deepcopy(dict(data))
    ignored: list[str] = []
    for dotted, keys in LEGACY_KEYS.items():
        section: Any = values
        for part in dotted.split("."):
            section = section.get(part) if isinstance(section, dict) else None
        if isinstance(section, dict):
            for key in keys:
                if key in section:
                    del section[key]
                    ignored.append(f"{dotted}.{key}")
    try:
        config = PostprocessConfig.model_validate(values)
    except ValidationError as exc:
        problems = []
        for item in exc.errors():
            where = ".".join(str(part) for part in item["loc"]) or "(top level)"
            got = item.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}{shown}")
        raise ConfigError(f"Invalid postprocess settings in {source}: " + "; ".join(problems)) from None
    config._source = source
    config._ignored = ignored
    return config


def load_postprocess_config(path: str | Path | None = None) -> PostprocessConfig:
    """Read ``path``; without one, the app's ``settings/postprocess.json`` when it exists, else
    the built-in defaults."""
    if path is None:
        from kroma_kit.config import app_settings_dir

        app = app_settings_dir()
        if app is None or not (app / FILE_NAME).is_file():
            return PostprocessConfig()
        path = app / FILE_NAME
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read postprocess settings {file}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    return parse_postprocess_config(data, str(file))
