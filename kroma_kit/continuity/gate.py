"""The gate: score one image against the project's references and say whether it breaks continuity.

A shot is *broken* when its ``style_drift`` is over the limit or a declared character's identity
is under its minimum. The verdict is ``warn`` (the default: the artist decides) or ``fail`` when
the project sets ``continuity.fail_on_break``; the reasons read like "identity 0.81 for mara below
0.90" so a ranking or a review can quote them as they are.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from kroma_kit.continuity import identity as ident
from kroma_kit.continuity.calibrate import Calibration
from kroma_kit.continuity.context import CharacterReference, ContinuityContext
from kroma_kit.continuity.features import downscale, load_rgba, style_features, style_features_of
from kroma_kit.continuity.locate import SCENE_COVERAGE, fit_silhouette, locate_character, placement_box
from kroma_kit.continuity.reference_cache import file_features
from kroma_kit.continuity.style import STYLE_PARTS, StyleScore, combine, style_parts
from kroma_kit.errors import ConfigError

if TYPE_CHECKING:
    from PIL import Image

CONTINUITY_WARNING = "continuity_warning"
CONTINUITY_BREAK = "continuity_break"


@dataclass(frozen=True)
class GateSettings:
    """``continuity.*`` of the pipeline settings, as the gate uses them. Overrides win over the
    calibration: ``style_part_max`` per part, ``style_drift_max``, ``identity_min`` for every
    character, ``identity_min_by_character`` for one."""

    enabled: bool = True
    fail_on_break: bool = False
    style_drift_max: float | None = None
    style_part_max: Mapping[str, float] = field(default_factory=dict)
    identity_min: float | None = None
    identity_min_by_character: Mapping[str, float] = field(default_factory=dict)
    margin: float = 1.3

    def __post_init__(self) -> None:
        unknown = sorted(set(self.style_part_max) - set(STYLE_PARTS))
        if unknown:
            raise ConfigError(f"continuity.style_part_max: unknown part(s) {', '.join(unknown)}; "
                              f"known: {', '.join(STYLE_PARTS)}.")
        if self.margin < 1.0:
            raise ConfigError(f"continuity.margin must be >= 1.0, got {self.margin}.")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> GateSettings:
        """From a ``continuity`` settings section (a dict or the pydantic model's dump)."""
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Unknown continuity setting(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        return cls(**data)

    def thresholds(self, calibration: Calibration) -> Calibration:
        """The calibration with these overrides applied (what the gate really uses)."""
        parts = {**calibration.style_parts, **dict(self.style_part_max)}
        by_stage = {stage: {**values, **dict(self.style_part_max)} for stage, values in calibration.style_by_stage.items()}
        identity = {code: self.identity_min_by_character.get(code, self.identity_min if self.identity_min is not None
                                                              else value)
                    for code, value in calibration.identity_min.items()}
        identity_lit = {code: self.identity_min_by_character.get(code, self.identity_min if self.identity_min is not None
                                                                  else value)
                        for code, value in calibration.identity_min_lit.items()}
        return Calibration(**{**calibration.to_dict(), "style_parts": parts, "style_by_stage": by_stage,
                              "identity_min": identity, "identity_min_lit": identity_lit,
                              "style_drift_max": self.style_drift_max if self.style_drift_max is not None
                              else calibration.style_drift_max})


@dataclass(frozen=True)
class ContinuityResult:
    """One image's continuity: style score, one identity score per declared character, reasons."""

    file: str
    style: StyleScore | None
    identities: list[ident.IdentityScore]
    reasons: list[str]
    verdict: str  # pass | warn | fail
    elapsed_ms: float

    @property
    def broken(self) -> bool:
        return bool(self.reasons)

    @property
    def breaks(self) -> int:
        return len(self.reasons)

    def kinds(self) -> list[str]:
        """Which checks broke: ``style`` and/or ``identity``."""
        out = []
        if self.style is not None and self.style.broken:
            out.append("style")
        if any(score.broken for score in self.identities):
            out.append("identity")
        return out

    def severity(self) -> float:
        """How far past the limits, summed (0 when nothing broke): orders two broken candidates."""
        total = 0.0
        if self.style is not None and self.style.broken:
            total += self.style.style_drift / max(self.style.threshold, 1e-6) - 1.0
        for score in self.identities:
            if score.broken:
                total += (score.threshold - score.identity) / max(score.threshold, 1e-6)
        return round(total, 4)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "verdict": self.verdict, "reasons": list(self.reasons), "kinds": self.kinds(),
                "style": self.style.to_dict() if self.style else None,
                "identity": [score.to_dict() for score in self.identities], "severity": self.severity(),
                "elapsed_ms": self.elapsed_ms}


class ContinuityGate:
    """Scores images against one context and calibration. The references' features are computed
    once, on the first score, and reused for every candidate of a run.

    A run's workers share one gate and the first wave of candidates scores at the same moment: the
    lazy reference features are made under a lock, so they are computed once, not once per worker
    (eight workers each computing them cost eight times the CPU, all under the GIL)."""

    def __init__(self, context: ContinuityContext, calibration: Calibration, settings: GateSettings | None = None):
        self.context = context
        self.settings = settings or GateSettings()
        self.limits = self.settings.thresholds(calibration)
        self._style_refs: list[Any] | None = None
        self._characters: dict[tuple[str, bool], tuple[list[ident.IdentityFeatures], ident.Signature]] = {}
        self._silhouettes: dict[str, ident.Cutout] = {}
        self._references_lock = threading.Lock()  # guards the three lazy caches above

    def prepare(self) -> None:
        """Compute the style references' features now instead of on the first score (a run does
        it while its first provider calls are in flight)."""
        self._style_references()

    def _style_references(self) -> list[Any]:
        with self._references_lock:
            if self._style_refs is None:
                paths = self.context.style.paths if self.context.style else ()
                self._style_refs = [file_features("style", path, style_features) for path in paths]
            return self._style_refs

    def _character(self, code: str, lit: bool = False) -> tuple[list[ident.IdentityFeatures], ident.Signature]:
        """The character's reference features and signature, as they are or light-normalised
        (``lit``: the signature is then the normalised references' own, a declared hex colour
        does not survive a relit page)."""
        with self._references_lock:
            if (code, lit) not in self._characters:
                reference = self.context.character(code)
                features = [file_features(f"identity:lit={lit}", path, partial(ident.identity_features, lit=lit))
                            for path in reference.paths]
                if lit:
                    reference = CharacterReference(reference.code, reference.paths)
                self._characters[(code, lit)] = (features, ident.signature_of(reference, features))
            return self._characters[(code, lit)]

    def score_style(self, rgba: Any, size: tuple[int, int], stage: str | None = None) -> StyleScore | None:
        """Style drift against the thresholds calibrated for ``stage`` (a night page is judged
        against the relit spread; None: the ``style`` stage's)."""
        references = self._style_references()
        limits = self.limits.style_for(stage)
        if not references or not limits:
            return None
        parts = style_parts(style_features_of(rgba, size), references)
        return StyleScore(combine(parts, limits), parts, self.limits.style_drift_max, limits=limits)

    def score_identity(self, rgba: Any, code: str, placements: Sequence[Mapping[str, Any]] = ()) -> ident.IdentityScore:
        """The character's identity: inside its declared placement box when the shot records one
        (the box is cut out and compared; another character standing elsewhere cannot answer for
        it), else on the whole image, looking for the figure when the image is a scene."""
        references, signature = self._character(code)
        aspect = float(np.median([reference.aspect for reference in references]))
        placed = placement_box([dict(place) for place in placements], code, rgba.shape[:2], aspect)
        if placed is not None:
            (y0, y1, x0, x1), figure = placed
            references, signature = self._character(code, lit=True)
            crop = np.ascontiguousarray(rgba[y0:y1, x0:x1])
            small = downscale(crop, ident.CUT_SIDE)
            silhouette = self._silhouette(code)
            fits = fit_silhouette(small[..., :3], silhouette.rgba[..., :3], silhouette.mask, figure) or [None]
            value, parts, best, features = -1.0, {}, -1, None
            for mask in fits:
                found = ident.identity_features(crop, figure=figure, mask=mask, lit=True)
                score = ident.best_match(found, references, signature)
                if score[0] > value:
                    (value, parts, best), features = score, found
            assert features is not None
            backend = f"placed+{features.backend}"
        else:
            value, parts, best, backend = self._whole_image_identity(rgba, references, signature, aspect)
        threshold = (self.limits.identity_min_lit if placed is not None else {}).get(code,
                                                                                   self.limits.identity_min.get(code))
        if threshold is None:
            threshold = self.settings.identity_min_by_character.get(code, self.settings.identity_min or 0.6)
        paths = self.context.character(code).paths
        return ident.IdentityScore(code, value, parts, threshold, paths[best].name if best >= 0 else None, backend)

    def _silhouette(self, code: str) -> ident.Cutout:
        """The character's best reference cut out (the figure a placement composites)."""
        with self._references_lock:
            if code not in self._silhouettes:
                rgba = load_rgba(self.context.character(code).paths[0])[0]
                self._silhouettes[code] = ident.cut_foreground(downscale(rgba, ident.CUT_SIDE))
            return self._silhouettes[code]

    @staticmethod
    def _whole_image_identity(rgba: Any, references: list[ident.IdentityFeatures], signature: ident.Signature,
                              aspect: float) -> tuple[float, dict[str, float], int, str]:
        features = ident.identity_features(rgba)
        value, parts, best = ident.best_match(features, references, signature)
        backend = features.backend
        if features.coverage > SCENE_COVERAGE or features.backend == "grabcut":  # a scene: find the figure
            crop = locate_character(rgba, signature, aspect)
            if crop is not None:
                located = ident.identity_features(crop)
                found = ident.best_match(located, references, signature)
                if found[0] > value:
                    value, parts, best = found
                    backend = f"located+{located.backend}"
        return value, parts, best, backend

    def score(self, source: str | os.PathLike[str] | Image.Image, characters: Sequence[str] = (), *,
              stage: str | None = None, placements: Sequence[Mapping[str, Any]] = ()) -> ContinuityResult:
        """Score one image (path or PIL image) for style (against ``stage``'s thresholds) and for
        each declared character (inside its placement box when ``placements`` has one for it)."""
        clock = time.perf_counter()
        rgba, size = load_rgba(source)
        style = self.score_style(rgba, size, stage)
        identities = [self.score_identity(rgba, code, placements) for code in dict.fromkeys(characters)]
        reasons = []
        if style is not None and style.broken:
            worst = max(STYLE_PARTS, key=lambda part: style.parts[part] / max(style.limits[part], 1e-6))
            reasons.append(f"style_drift {style.style_drift:.2f} above {style.threshold:.2f} (worst: {worst})")
        reasons += [f"identity {score.identity:.2f} for {score.code} below {score.threshold:.2f}"
                    for score in identities if score.broken]
        verdict = ("fail" if self.settings.fail_on_break else "warn") if reasons else "pass"
        name = str(source) if isinstance(source, str | os.PathLike) else getattr(source, "filename", "") or "image"
        return ContinuityResult(name, style, identities, reasons, verdict,
                                round((time.perf_counter() - clock) * 1000, 1))
