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
from kroma_kit.continuity.augment import groups_for, night, rain, variant_groups, variants
from kroma_kit.continuity.context import CharacterReference, ContinuityContext
from kroma_kit.continuity.features import load_rgba, style_features_of
from kroma_kit.continuity.style import STYLE_PARTS, style_parts

CALIBRATION_VERSION = 2  # 2: per-stage style thresholds, stage augmentations, earlier outputs, mean stroke width
STYLE_STAGES = ("style", "time", "weather", "characters")
# Never tighter than these: a set of near-identical references must not make every shot a break.
STYLE_FLOORS = {"colour": 0.12, "palette": 0.05, "tone": 0.06, "line": 0.25}
# A lone reference (and no earlier outputs of the stage) shows one page's content only: however it
# is cropped, scaled and relit, it cannot show how far two scenes of one hand differ in which
# colours cover how much of the page, nor how a renderer's own pen differs from the scanned one.
# Floors for that case, from the sample project (one noir reference, issue #13): its normal
# style-stage outputs measure colour 0.51-0.80, palette 0.09-0.14, tone 0.21-0.35 and (mean
# stroke width) line 0.55-0.90 against it, while a warm-wash hand measures palette 0.26-0.32 and
# colour 0.95-1.0, and a watercolour hand line 1.8-2.2. Earlier passing outputs replace them.
LONE_FLOORS = {"colour": 0.85, "palette": 0.17, "tone": 0.36, "line": 1.0}
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
    style_by_stage: dict[str, dict[str, float]] = field(default_factory=dict)
    identity_min_lit: dict[str, float] = field(default_factory=dict)  # placed figures of a styled/relit page
    method: dict[str, Any] = field(default_factory=dict)  # how the style thresholds were made (shown)
    margin: float = 1.0
    made_at: str = ""
    fingerprint: dict[str, Any] = field(default_factory=dict)
    version: int = CALIBRATION_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def style_for(self, stage: str | None) -> dict[str, float]:
        """The style part thresholds for a stage's outputs (the ``style`` stage's when unknown)."""
        return dict(self.style_by_stage.get(stage or "style") or self.style_parts)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Calibration:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})


def _style_samples(context: ContinuityContext) -> tuple[dict[str, dict[str, list[float]]], dict[str, Any]]:
    """The "same hand" distances per stage, and how they were made (counted per source).

    Every stage: each reference against the others, light/mirror/crop variants of each and, for a
    lone reference (nothing else shows other content in its hand), its corner windows and
    rescaled copies (:func:`.augment.variant_groups`). Lit stages add relit variants.
    Each stage adds the earlier outputs of that stage that passed or were approved (the project's
    real spread: other scenes drawn in the same hand), each against the references.
    """
    assert context.style is not None
    images = [load_rgba(path) for path in context.style.paths]
    features = [style_features_of(rgba, size) for rgba, size in images]
    base: list[dict[str, float]] = []
    by_group: dict[str, list[dict[str, float]]] = {"style": [], "time": [], "weather": []}
    for index, (rgba, size) in enumerate(images):
        others = features[:index] + features[index + 1:]
        if others:
            base.append(style_parts(features[index], others))
        base += [style_parts(style_features_of(variant, size), features) for variant in variants(rgba, for_identity=False)]
        for group, made in variant_groups(rgba).items():
            if group == "style" and len(images) > 1:
                continue  # several references already show other content in the same hand
            by_group[group] += [style_parts(style_features_of(variant, variant.shape[1::-1]), features)
                                for variant in made]
    outputs: dict[str, list[dict[str, float]]] = {}
    for stage, path in context.outputs:
        rgba, size = load_rgba(path)
        outputs.setdefault(stage, []).append(style_parts(style_features_of(rgba, size), features))
    samples: dict[str, dict[str, list[float]]] = {}
    method: dict[str, Any] = {"references": len(images), "per_stage": {}}
    for stage in STYLE_STAGES:
        groups = groups_for(stage)
        items = base + [item for group in groups for item in by_group[group]] + outputs.get(stage, [])
        samples[stage] = {part: [item[part] for item in items] for part in STYLE_PARTS}
        method["per_stage"][stage] = {"reference_pairs_and_variants": len(base),
                                      "stage_augmentations": sum(len(by_group[group]) for group in groups),
                                      "outputs": len(outputs.get(stage, []))}
    return samples, method


def _identity_samples(context: ContinuityContext, *, lit: bool = False
                      ) -> tuple[dict[str, list[float]], dict[str, float], dict[str, list[str]]]:
    """Per character: its "same" scores (each reference against the others, variants of each
    against all) and the best score another character of the project gets. ``lit``: in the
    light-normalised space placed figures of relit stages are scored in, with relit variants
    (night, rain at night) added and signatures taken from the references themselves."""
    refs = {code: [load_rgba(path)[0] for path in ref.paths] for code, ref in context.characters.items()}
    features = {code: [ident.identity_features(rgba, lit=lit) for rgba in images] for code, images in refs.items()}
    signatures = {code: ident.signature_of(CharacterReference(code, ref.paths) if lit else ref, features[code])
                  for code, ref in context.characters.items()}
    same: dict[str, list[float]] = {}
    nearest_other: dict[str, float] = {}
    for code, images in refs.items():
        scores = []
        for index, rgba in enumerate(images):
            others = features[code][:index] + features[code][index + 1:]
            if others:
                scores.append(ident.best_match(features[code][index], others, signatures[code])[0])
            # Relit: the night grade, rain over it and its mirror (a placed figure is cut along the
            # reference's silhouette, so framing variants add nothing there).
            made = [night(rgba), rain(night(rgba)), np.ascontiguousarray(night(rgba)[:, ::-1])] if lit \
                else variants(rgba, for_identity=True)
            for variant in made:
                scores.append(ident.best_match(ident.identity_features(variant, lit=lit), features[code],
                                               signatures[code])[0])
        same[code] = scores
        rivals = [ident.best_match(item, features[code], signatures[code])[0]
                  for other, items in features.items() if other != code for item in items]
        if lit:  # a rival relit scores higher against this character than its clean reference does
            rivals += [ident.best_match(ident.identity_features(variant, lit=True), features[code], signatures[code])[0]
                       for other, images in refs.items() if other != code for rgba in images
                       for variant in (night(rgba), rain(night(rgba)))]
        if rivals:
            nearest_other[code] = max(rivals)
    return same, nearest_other, {code: signature.hex() for code, signature in signatures.items()}


def _identity_minimums(same: dict[str, list[float]], nearest_other: dict[str, float],
                       margin: float, *, lit: bool = False) -> tuple[dict[str, float], dict[str, Any]]:
    """Per character: lowest "same" minus ``(margin - 1) / 2``, raised towards the midpoint to the
    nearest other character. ``lit``: a figure cut out of a relit, restyled scene loses more than
    a clean relit variant shows, so the margin below "same" doubles, and the midpoint to the
    nearest other character (relit too) is the edge it never goes under."""
    minimums: dict[str, float] = {}
    spreads: dict[str, Any] = {}
    for code, scores in same.items():
        low = min(scores)
        threshold = low - (margin - 1.0) / (1.0 if lit else 2.0)
        rival = nearest_other.get(code)
        if rival is not None and rival < low:
            threshold = max(threshold, (rival + low) / 2.0 if lit else min((rival + low) / 2.0, low - 0.02))
        minimums[code] = round(float(np.clip(threshold, IDENTITY_FLOOR, IDENTITY_CEILING)), 4)
        spreads[code] = {**asdict(Spread.of(scores)), "nearest_other": None if rival is None else round(rival, 4)}
    return minimums, spreads


def calibrate(context: ContinuityContext, *, margin: float = 1.3, keep_identity: Calibration | None = None
              ) -> Calibration:
    """Thresholds for ``context`` from its reference sets (and earlier passing outputs, for style;
    see the module docstring).

    Style part threshold = max(highest "same" distance x ``margin``, floor). Identity minimum =
    lowest "same" score minus ``(margin - 1) / 2``, raised towards the midpoint when another
    character of the project scores close (never above the lowest "same"), within 0.35..0.92.
    ``keep_identity``: a calibration whose identity part is still current (only the earlier
    outputs changed, which identity does not use): its identity minimums are kept as they are.
    """
    calibration = Calibration(margin=margin, made_at=utcnow(), fingerprint=context.fingerprint())
    if keep_identity is not None:
        calibration.identity_min = dict(keep_identity.identity_min)
        calibration.identity_min_lit = dict(keep_identity.identity_min_lit)
        calibration.signatures = dict(keep_identity.signatures)
        calibration.spreads = {key: value for key, value in keep_identity.spreads.items() if key.startswith("identity")}
    if context.style is not None and context.style.paths:
        samples, method = _style_samples(context)
        lone = len(context.style.paths) == 1
        for stage, parts in samples.items():
            floors = LONE_FLOORS if lone and not method["per_stage"][stage]["outputs"] else STYLE_FLOORS
            calibration.style_by_stage[stage] = {part: round(max(max(values) * margin, floors[part]), 4)
                                                 for part, values in parts.items()}
            key = "style" if stage == "style" else f"style:{stage}"
            calibration.spreads[key] = {part: asdict(Spread.of(values)) for part, values in parts.items()}
            method["per_stage"][stage]["floors"] = "lone_reference" if floors is LONE_FLOORS else "default"
        calibration.style_parts = dict(calibration.style_by_stage["style"])
        calibration.method = {"style": method}
    if context.characters and keep_identity is None:
        same, nearest_other, signatures = _identity_samples(context)
        calibration.signatures = signatures
        calibration.identity_min, spreads = _identity_minimums(same, nearest_other, margin)
        calibration.spreads.update({f"identity:{code}": spread for code, spread in spreads.items()})
        same, nearest_other, _ = _identity_samples(context, lit=True)
        calibration.identity_min_lit, spreads = _identity_minimums(same, nearest_other, margin, lit=True)
        calibration.spreads.update({f"identity_lit:{code}": spread for code, spread in spreads.items()})
    return calibration
