"""The output guard's settings and the names of its verdict reasons (seed behaviour spec §2).

Kept apart from the checks so the ranking, the plan and the panels can name a threshold or a
reason without importing the pixel maths (numpy, OpenCV).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kroma_kit.errors import ConfigError

if TYPE_CHECKING:
    pass

NOT_GRAYSCALE_LIKE = "not_grayscale_like"
CHROMA_EXCEEDS_THRESHOLD = "chroma_exceeds_threshold"
IMAGE_READ_FAILED = "image_read_failed"
BLANK_IMAGE = "blank_image"
WRONG_DIMENSIONS = "wrong_dimensions"
INPUT_NOT_FOUND = "input_not_found"
NO_IMAGES_FOUND = "no_images_found"

BAD_TAG = "bad"  # archive/bad names: <stem>_bad_<stamp><ext>


# --------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class GuardSettings:
    """What the guard checks. Defaults are the seed's; the extra checks are ours.

    ``blank_std_threshold`` is the luma standard deviation (0..255) under which an image counts as
    blank; 0 turns the check off (a std is never below 0). ``expected_size`` is (width, height).
    """

    enabled: bool = True
    max_chroma_delta: float = 2.0
    enforce_grayscale: bool = False
    fail_on_chroma_exceed: bool = False
    expected_size: tuple[int, int] | None = None
    blank_std_threshold: float = 1.0

    def __post_init__(self) -> None:
        for name in ("enabled", "enforce_grayscale", "fail_on_chroma_exceed"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"output_guard.{name} must be true or false, got {getattr(self, name)!r}.")
        for name in ("max_chroma_delta", "blank_std_threshold"):
            value = getattr(self, name)
            # The seed's Python clamped a negative threshold to 0 silently; like its Rust port we refuse it.
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"output_guard.{name} must be a finite number >= 0, got {value!r}.")
            object.__setattr__(self, name, float(value))
        object.__setattr__(self, "expected_size", _parse_size(self.expected_size))

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any] | None) -> GuardSettings:
        """Build from the manifest's ``output_guard`` section (or a run log's copy of it).

        Unknown keys are refused so a typo (``max_chroma``) cannot silently fall back to a default.
        ``expected_size`` may be ``"WxH"``, ``[w, h]`` or null.
        """
        if section is None:
            return cls()
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConfigError(f"Unknown output_guard key(s): {', '.join(unknown)}. "
                              f"Known: {', '.join(sorted(known))}.")
        return cls(**dict(section))

    def to_dict(self) -> dict[str, Any]:
        """Every setting, in the form :meth:`from_mapping` reads back (for run logs)."""
        return {"enabled": self.enabled, **self.report_settings()}

    def report_settings(self) -> dict[str, Any]:
        """The report's ``settings`` block: the seed's three keys, then ours."""
        return {
            "max_chroma_delta": self.max_chroma_delta,
            "enforce_grayscale": self.enforce_grayscale,
            "fail_on_chroma_exceed": self.fail_on_chroma_exceed,
            "expected_size": _format_size(self.expected_size),
            "blank_std_threshold": self.blank_std_threshold,
        }


def _parse_size(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, str):
        width_text, sep, height_text = value.strip().lower().partition("x")
        if not sep or not width_text.isdigit() or not height_text.isdigit():
            raise ConfigError(f"output_guard.expected_size must look like '1024x1536', got {value!r}.")
        value = (int(width_text), int(height_text))
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        raise ConfigError(f"output_guard.expected_size must be 'WxH' or [width, height], got {value!r}.")
    return (value[0], value[1])


def _format_size(size: tuple[int, int] | None) -> str | None:
    return f"{size[0]}x{size[1]}" if size else None


