"""The three per-file post-processing steps: background removal (+ refine), upscale, colour.

Each step reads one image (safely, via :func:`open_image`), calls a backend face, and writes
``<output_dir>/<base>_<suffix>.<fmt>`` atomically, where ``base`` is the sanitised stem of the
input (seed naming: ``_nobg``, ``_x<scale>``, ``_<profile>``). An existing output is moved to
``archive_replaced_dir`` first when one is given, so nothing is ever silently overwritten. A
step returns a :class:`StepRecord`; when it fails it raises a KromaError that carries the record
as ``error.record``, and the input and earlier outputs are untouched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kroma_kit.errors import KromaError
from kroma_kit.imaging import open_image, sanitize_stem
from kroma_kit.postprocess.records import StepRecord, normalise_format, prepare_target, save_image
from kroma_kit.postprocess.refine import CutoutRefiner, check_refine_format, refine_cutout_file
from kroma_kit.providers.bg_remove import (
    BackgroundRemovalFailed,
    BackgroundRemovalSkipped,
    BackgroundRemover,
    remove_background,
    validate_bg_backends,
)
from kroma_kit.providers.color import ColorProfileSet, apply_color_profile, load_color_profiles
from kroma_kit.providers.upscale import Upscaler, canonical_upscaler, check_scale, upscale_image

PathLike = str | os.PathLike[str]
DEFAULT_BG_BACKENDS = ("rembg", "auto")


class _Clock:
    """Named millisecond timings for a record."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.timings: dict[str, int] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = int((now - self.last) * 1000)
        self.last = now

    def done(self) -> dict[str, int]:
        self.timings["total"] = int((time.perf_counter() - self.start) * 1000)
        return self.timings


def _fail(error: KromaError, record: StepRecord, clock: _Clock) -> KromaError:
    record.errors.append(str(error))
    record.timings_ms = clock.done()
    error.record = record  # type: ignore[attr-defined]
    return error


def output_base(input_path: PathLike) -> str:
    """The seed's ``base``: the sanitised stem of the current file."""
    return sanitize_stem(Path(input_path).name, fallback="image")


def bg_remove_file(input_path: PathLike, output_dir: PathLike, *, backends: Sequence[str] = DEFAULT_BG_BACKENDS,
                   fmt: str = "png", crop: bool = False, refine_openai: bool = False,
                   refine_required: bool = False, archive_replaced_dir: PathLike | None = None,
                   backend_options: Mapping[str, Mapping[str, Any]] | None = None,
                   refine_options: Mapping[str, Any] | None = None, refiner: CutoutRefiner | None = None,
                   confirm_spend: bool = False, before_paid_call: Callable[[str, float], None] | None = None,
                   removers: Mapping[str, BackgroundRemover] | None = None) -> StepRecord:
    """Cut the subject out of ``input_path`` into ``<output_dir>/<base>_nobg.<fmt>``.

    ``backends`` are tried in order (see :func:`remove_background`); ``backend_options`` holds
    each backend's settings by code. With ``refine_openai`` the cutout then goes through the
    OpenAI refine pass (paid: needs ``confirm_spend``); its failure aborts only when
    ``refine_required``, otherwise it is recorded as ``refine_error``. ``crop`` trims the result
    to the subject's bounding box. An image with no plain background (a whole scene) is left as
    it is: the record has no ``output`` and says why in ``skipped``, and nothing is written.
    """
    source = Path(input_path)
    fmt = normalise_format(fmt)
    names = validate_bg_backends(backends)
    refine_options = dict(refine_options or {})
    if refine_openai:
        check_refine_format(fmt, refine_options)
    target = Path(output_dir) / f"{output_base(source)}_nobg.{fmt}"
    record = StepRecord("bg_remove", str(source), None, {
        "backend": None, "backends_tried": [], "refine_openai": False, "refine_error": None, "format": fmt})
    clock = _Clock()
    try:
        image = open_image(source)
        clock.lap("read")
        result = remove_background(image, names, source_name=source.name, confirm_spend=confirm_spend,
                                   before_paid_call=before_paid_call, removers=removers,
                                   **dict(backend_options or {}))
        clock.lap("remove")
    except BackgroundRemovalSkipped as exc:  # a whole scene, no subject to cut: leave the image as it is
        record.fields.update(backends_tried=names, skipped=exc.reason)
        record.notes.extend(exc.failures)
        record.attempts = list(exc.attempts)
        record.timings_ms = clock.done()
        return record
    except KromaError as exc:
        record.fields["backends_tried"] = names if isinstance(exc, BackgroundRemovalFailed) else []
        record.attempts = list(getattr(exc, "attempts", None) or [])
        raise _fail(exc, record, clock) from None
    cutout = result.image
    if crop and (box := cutout.getchannel("A").getbbox()):
        cutout = cutout.crop(box)
        record.notes.append(f"cropped to {box}")
    record.fields.update(backend=result.backend, backends_tried=result.backends_tried)
    record.notes[:0] = result.notes
    record.cost_usd, record.usage, record.attempts = result.cost_usd, dict(result.usage), list(result.attempts)
    try:
        record.archived = prepare_target(target, archive_replaced_dir)
        save_image(cutout, target, fmt)
    except KromaError as exc:
        raise _fail(exc, record, clock) from None
    record.output = str(target)
    clock.lap("write")
    if refine_openai:
        outcome = refine_cutout_file(target, options=refine_options, refiner=refiner,
                                     archive_replaced_dir=archive_replaced_dir, confirm_spend=confirm_spend,
                                     before_paid_call=before_paid_call)
        clock.lap("refine")
        record.fields.update(refine_openai=outcome.refined, refine_error=outcome.error)
        record.cost_usd += outcome.cost_usd
        record.attempts.extend(outcome.attempts)
        record.archived.extend(outcome.archived)
        record.notes.extend(outcome.notes)
        if outcome.usage:
            record.usage["openai_refine"] = outcome.usage
        if outcome.error and refine_required:
            raise _fail(KromaError(f"OpenAI refine failed for {source.name}: {outcome.error}"), record, clock)
        if outcome.error:
            record.notes.append(f"openai refine skipped: {outcome.error}")
    record.timings_ms = clock.done()
    return record


def upscale_file(input_path: PathLike, output_dir: PathLike, *, backend: str = "realesrgan", scale: int = 2,
                 tile: int = 0, fmt: str = "png", archive_replaced_dir: PathLike | None = None,
                 options: Mapping[str, Any] | None = None, upscaler: Upscaler | None = None) -> StepRecord:
    """Upscale ``input_path`` into ``<output_dir>/<base>_x<scale>.<fmt>``, keeping alpha.

    ``tile`` applies to Real-ESRGAN; ``options`` are the backend's other settings (``model``,
    ``device`` for Real-ESRGAN; ``sharpen`` ... for Lanczos). ``fmt="auto"`` keeps the input's.
    """
    source = Path(input_path)
    fmt = normalise_format(fmt, allow_auto=True, input_path=source)
    scale = check_scale(scale)
    code = upscaler.code if upscaler is not None else canonical_upscaler(backend)
    built_options = {**({"tile": tile} if code == "realesrgan" else {}), **dict(options or {})}
    target = Path(output_dir) / f"{output_base(source)}_x{scale}.{fmt}"
    record = StepRecord("upscale", str(source), None, {"backend": code, "scale": scale, "model": None})
    clock = _Clock()
    try:
        image = open_image(source)
        clock.lap("read")
        result = upscale_image(image, upscaler or code, scale, **({} if upscaler else built_options))
        clock.lap("upscale")
        record.fields.update(model=result.model, device=result.device)
        record.notes.extend(result.notes)
        if fmt == "jpg" and "A" in result.image.getbands():
            record.notes.append("jpg has no alpha: flattened onto white")
        record.archived = prepare_target(target, archive_replaced_dir)
        save_image(result.image, target, fmt)
        clock.lap("write")
    except KromaError as exc:
        raise _fail(exc, record, clock) from None
    record.output = str(target)
    record.timings_ms = clock.done()
    return record


def color_file(input_path: PathLike, output_dir: PathLike, *, profile_name: str | None = None,
               profiles: ColorProfileSet | None = None,
               archive_replaced_dir: PathLike | None = None) -> StepRecord:
    """Colour-correct ``input_path`` into ``<output_dir>/<base>_<profile>.png`` (always PNG).

    ``profiles`` defaults to the built-in table; ``profile_name`` to its default profile. An
    unknown name raises NotFoundError naming where the profiles came from.
    """
    source = Path(input_path)
    profiles = profiles or load_color_profiles()
    name = profile_name or profiles.default_profile
    record = StepRecord("color", str(source), None, {"profile": name, "settings": profiles.source})
    clock = _Clock()
    try:
        parameters = profiles.get(name)
        record.fields["parameters"] = parameters
        target = Path(output_dir) / f"{output_base(source)}_{sanitize_stem(name, fallback='profile')}.png"
        image = open_image(source)
        clock.lap("read")
        corrected = apply_color_profile(image, parameters)
        clock.lap("color")
        record.archived = prepare_target(target, archive_replaced_dir)
        save_image(corrected, target, "png")
        clock.lap("write")
    except KromaError as exc:
        raise _fail(exc, record, clock) from None
    record.output = str(target)
    record.timings_ms = clock.done()
    return record
