"""Per-project thresholds from the project's own reference sets.

"Same" is whatever the reference sets themselves vary by: each style reference against the
others (and label-preserving variants of each, :mod:`.augment`), each character reference
against the character's other references (and variants). The thresholds sit outside that spread
by a margin; the shots being judged are never used. Settings can override any threshold; the
stored calibration says what it was made from so a changed reference set is noticed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from kroma_kit.catalog.db import utcnow
from kroma_kit.continuity import identity as ident
from kroma_kit.continuity.augment import variants
from kroma_kit.continuity.context import ContinuityContext
from kroma_kit.continuity.features import load_rgba, style_features_of
from kroma_kit.continuity.style import STYLE_PARTS, style_parts

CALIBRATION_VERSION = 1
# Never tighter than these: a set of near-identical references must not make every shot a break.
STYLE_FLOORS = {"colour": 0.12, "palette": 0.05, "tone": 0.06, "line": 0.25}
IDENTITY_CEILING = 0.92
IDENTITY_FLOOR = 0.35


@dataclass(frozen=True)
class Spread:
    """Summary of the "same" distances (or similarities) a threshold was taken from."""

    n: int
    low: float
    median: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        data = np.asarray(values, float)
        return cls(len(data), round(float(data.min()), 4), round(float(np.median(data)), 4),
                   round(float(data.max()), 4))


@dataclass
class Calibration:
    """Thresholds: style parts (raw distances, higher = further), the combined ``style_drift``
    limit (in threshold units), identity minimums per character (0..1)."""

    style_parts: dict[str, float] = field(default_factory=dict)
    style_drift_max: float = 1.0
    identity_min: dict[str, float] = field(default_factory=dict)
    spreads: dict[str, Any] = field(default_factory=dict)
    signatures: dict[str, list[str]] = field(default_factory=dict)
    margin: float = 1.0
    made_at: str = ""
    fingerprint: dict[str, Any] = field(default_factory=dict)
    version: int = CALIBRATION_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Calibration:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})


def _style_samples(context: ContinuityContext) -> dict[str, list[float]]:
    assert context.style is not None
    images = [load_rgba(path) for path in context.style.paths]
    features = [style_features_of(rgba, size) for rgba, size in images]
    samples: dict[str, list[float]] = {part: [] for part in STYLE_PARTS}
    for index, (rgba, size) in enumerate(images):
        others = features[:index] + features[index + 1:]
        if others:
            for part, value in style_parts(features[index], others).items():
                samples[part].append(value)
        for variant in variants(rgba, for_identity=False):
            for part, value in style_parts(style_features_of(variant, size), features).items():
                samples[part].append(value)
    return samples


def _identity_samples(context: ContinuityContext) -> tuple[dict[str, list[float]], dict[str, float],
                                                          dict[str, list[str]]]:
    refs = {code: [load_rgba(path)[0] for path in ref.paths] for code, ref in context.characters.items()}
    features = {code: [ident.identity_features(rgba) for rgba in images] for code, images in refs.items()}
    signatures = {code: ident.signature_of(context.characters[code], features[code]) for code in refs}
    same: dict[str, list[float]] = {}
    nearest_other: dict[str, float] = {}
    for code, images in refs.items():
        scores = []
        for index, rgba in enumerate(images):
            others = features[code][:index] + features[code][index + 1:]
            if others:
                scores.append(ident.best_match(features[code][index], others, signatures[code])[0])
            for variant in variants(rgba, for_identity=True):
                scores.append(ident.best_match(ident.identity_features(variant), features[code], signatures[code])[0])
        same[code] = scores
        rivals = [ident.best_match(item, features[code], signatures[code])[0]
                  for other, items in features.items() if other != code for item in items]
        if rivals:
            nearest_other[code] = max(rivals)
    return same, nearest_other, {code: signature.hex() for code, signature in signatures.items()}


def calibrate(context: ContinuityContext, *, margin: float = 1.3) -> Calibration:
    """Thresholds for ``context`` from its reference sets alone (see the module docstring).

    Style part threshold = max(highest "same" distance x ``margin``, floor). Identity minimum =
    lowest "same" score minus ``(margin - 1) / 2``, raised towards the midpoint when another
    character of the project scores close (never above the lowest "same"), within 0.35..0.92.
    """
    calibration = Calibration(margin=margin, made_at=utcnow(), fingerprint=context.fingerprint())
    if context.style is not None and context.style.paths:
        samples = _style_samples(context)
        calibration.style_parts = {part: round(max(max(values) * margin, STYLE_FLOORS[part]), 4)
                                   for part, values in samples.items()}
        calibration.spreads["style"] = {part: asdict(Spread.of(values)) for part, values in samples.items()}
    if context.characters:
        same, nearest_other, signatures = _identity_samples(context)
        calibration.signatures = signatures
        for code, scores in same.items():
            low = min(scores)
            threshold = low - (margin - 1.0) / 2.0
            rival = nearest_other.get(code)
            if rival is not None and rival < low:
                threshold = max(threshold, min((rival + low) / 2.0, low - 0.02))
            calibration.identity_min[code] = round(float(np.clip(threshold, IDENTITY_FLOOR, IDENTITY_CEILING)), 4)
            calibration.spreads[f"identity:{code}"] = {**asdict(Spread.of(scores)),
                                                       "nearest_other": None if rival is None else round(rival, 4)}
    return calibration
