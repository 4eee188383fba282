"""Is a foreground mask a subject cut out of a plain background, or a scene torn into pieces?

The weights-free ``auto`` background removal keys what differs from the image border. On a
character sheet that is one figure; on a whole scene (a street, a room, a harbour) it is walls,
floor lines and buildings in many pieces across the frame, and writing that out shreds the
picture. Measured on the sample project (``make demo`` outputs and the sample scenes) against
figures on flat, lit and textured backgrounds:

- a subject is one main part (the largest holds >= 90 % of the foreground; here 100 %) in at most
  two sizeable parts, and it does not fill the frame (figures span ~40-50 % x 80-90 %);
- a scene's mask is 2-18 sizeable parts, the largest often under 70 %, spanning >= 94 % of the
  width and 48-100 % of the height; edge to edge one way and >= 75 % the other counts as filling.

Parts under 0.2 % of the image are ignored (specks of ink, stars, a stray key).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_PART_FRACTION = 0.002
MAX_PARTS = 2
MIN_LARGEST_SHARE = 0.9
FULL_SPAN = 0.95  # edge to edge in one direction ...
WIDE_SPAN = 0.75  # ... and most of the other: the mask fills the frame


@dataclass(frozen=True)
class SubjectShape:
    """What a foreground mask looks like: its sizeable parts and how much of the frame they span."""

    parts: int
    largest_share: float
    span_width: float
    span_height: float
    coverage: float

    @property
    def separable(self) -> bool:
        """One subject (or two) that does not fill the frame: safe to write as a cutout."""
        spans = sorted((self.span_width, self.span_height))
        fills_frame = spans[1] >= FULL_SPAN and spans[0] >= WIDE_SPAN
        return (0 < self.parts <= MAX_PARTS and self.largest_share >= MIN_LARGEST_SHARE
                and not fills_frame)

    def describe(self) -> str:
        return (f"{self.parts} part(s), largest {self.largest_share:.0%} of the foreground, spanning "
                f"{self.span_width:.0%} x {self.span_height:.0%} of the frame")


def subject_shape(foreground: np.ndarray) -> SubjectShape:
    """Measure a bool HxW foreground mask (or an 8-bit alpha, > 127 counts as foreground)."""
    import cv2

    mask = foreground if foreground.dtype == bool else foreground > 127
    height, width = mask.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    sizeable = np.flatnonzero(areas >= MIN_PART_FRACTION * height * width) + 1
    if not len(sizeable):
        return SubjectShape(0, 0.0, 0.0, 0.0, float(mask.mean()))
    kept = np.isin(labels, sizeable)
    ys, xs = np.nonzero(kept)
    return SubjectShape(
        parts=len(sizeable), largest_share=float(areas.max() / max(int(areas.sum()), 1)),
        span_width=float((xs.max() - xs.min() + 1) / width), span_height=float((ys.max() - ys.min() + 1) / height),
        coverage=float(mask.mean()))
