"""Style drift: how far one image's drawing hand is from the project's style reference set.

Each part is a distance (0 = same) to the *closest* reference for that part, because a style set
shows one hand over different content: a night street and a sunny room share the hand, not the
pixels. The combined ``style_drift`` is the mean of the parts each divided by its calibrated
threshold, with the worst part counting double: 1.0 is the edge of what the reference set itself
varies by; a single broken part (a hue swap, a heavier pen) pushes it over on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kroma_kit.continuity.features import (
    StyleFeatures,
    histogram_distance,
    line_distance,
    palette_distance,
    tone_distance,
)

STYLE_PARTS = ("colour", "palette", "tone", "line")


def part_distances(image: StyleFeatures, reference: StyleFeatures) -> dict[str, float]:
    """The four part distances between two images."""
    return {"colour": histogram_distance(image.histogram, reference.histogram),
            "palette": palette_distance(image.palette, reference.palette),
            "tone": tone_distance(image, reference),
            "line": line_distance(image, reference)}


def style_parts(image: StyleFeatures, references: Sequence[StyleFeatures]) -> dict[str, float]:
    """Each part's distance to its closest reference (see the module docstring)."""
    if not references:
        raise ValueError("style_parts needs at least one reference")
    each = [part_distances(image, reference) for reference in references]
    return {part: round(min(item[part] for item in each), 4) for part in STYLE_PARTS}


def combine(parts: Mapping[str, float], thresholds: Mapping[str, float]) -> float:
    """``style_drift``: the parts in units of their thresholds, mean of all plus the worst, halved."""
    ratios = [parts[part] / max(thresholds[part], 1e-6) for part in STYLE_PARTS]
    return round((sum(ratios) / len(ratios) + max(ratios)) / 2.0, 4)


@dataclass(frozen=True)
class StyleScore:
    """One image's style drift (1.0 = the calibrated limit) and its parts (raw distances)."""

    style_drift: float
    parts: dict[str, float]
    threshold: float
    limits: dict[str, float] = field(default_factory=dict)  # the part thresholds it was judged by

    @property
    def broken(self) -> bool:
        return self.style_drift > self.threshold

    def to_dict(self) -> dict[str, object]:
        return {"style_drift": self.style_drift, "threshold": self.threshold, "parts": dict(self.parts),
                "part_limits": dict(self.limits), "broken": self.broken}
