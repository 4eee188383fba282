"""Label-preserving variants of a reference image: what "the same" may look like.

A reference set of one or two images has no spread to calibrate on; a shot of the same hand or
character will still be lit, framed and turned differently. These variants (other light, a
crop, a mirror, a smaller figure on its own background) give the calibration that spread from
the references alone, never from the shots being judged.
"""

from __future__ import annotations

import cv2
import numpy as np


def variants(rgba: np.ndarray, *, for_identity: bool) -> list[np.ndarray]:
    """RGBA variants of ``rgba``: lighting x2, mirror, centre crop; for identity also the figure
    scaled down on a plain background (a reference cutout becomes a shot)."""
    out = []
    rgb = rgba[..., :3].astype(np.float32)
    for gain in (0.9, 1.08):
        out.append(np.dstack([np.clip(rgb * gain, 0, 255).astype(np.uint8), rgba[..., 3]]))
    out.append(np.ascontiguousarray(rgba[:, ::-1]))
    height, width = rgba.shape[:2]
    dy, dx = int(height * 0.08), int(width * 0.08)
    crop = rgba[dy // 2:height - dy * 3 // 2, dx:width - dx]
    out.append(cv2.resize(crop, (width, height), interpolation=cv2.INTER_CUBIC))
    if for_identity:
        # The figure smaller on its own page: a cutout on a plain page, an opaque sheet padded
        # with its own border colour.
        border = np.concatenate([rgba[0], rgba[-1], rgba[:, 0], rgba[:, -1]])
        paper = tuple(int(v) for v in np.median(border[:, :3], axis=0)) if rgba[..., 3].min() == 255 \
            else (222, 228, 232)
        page = np.empty_like(rgba)
        page[:] = (*paper, 255)
        small = cv2.resize(rgba, (width * 3 // 5, height * 3 // 5), interpolation=cv2.INTER_AREA)
        top, left = height - small.shape[0] - height // 20, width // 5
        alpha = small[..., 3:4].astype(np.float32) / 255.0
        region = page[top:top + small.shape[0], left:left + small.shape[1]]
        region[..., :3] = (small[..., :3] * alpha + region[..., :3] * (1 - alpha)).astype(np.uint8)
        out.append(page)
    return out
