"""What RViz is sent of a body: decimated faces and a stable colour per track id."""
from __future__ import annotations

import colorsys

import numpy as np

GOLDEN_RATIO_CONJUGATE = 0.618033988749895


def decimated_faces(faces: np.ndarray, keep_every: int) -> np.ndarray:
    """Every ``keep_every``-th triangle of (F, 3) faces: a cheap way to cut RViz bandwidth."""
    if keep_every < 1:
        raise ValueError(f"keep_every must be >= 1, got {keep_every}")
    return np.ascontiguousarray(faces[::keep_every])


def id_colour(track_id: int, alpha: float = 0.9) -> tuple[float, float, float, float]:
    """(r, g, b, a) in [0, 1]: well separated hues for consecutive ids (golden-ratio steps round the wheel)."""
    hue = (track_id * GOLDEN_RATIO_CONJUGATE) % 1.0
    return (*colorsys.hsv_to_rgb(hue, 0.65, 0.95), alpha)
