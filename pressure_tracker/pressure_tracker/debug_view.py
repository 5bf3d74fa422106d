"""Debug picture of one frame: pressure in the viridis colour map with each person's box and id.

`render_debug_image(frame, people)` returns an (rows * scale, cols * scale, 3) uint8 RGB image; box
colours depend on the track id, lost tracks are drawn dashed, ids are written with a 3 x 5 pixel font.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from .motion import TrackState
from .tracker import TrackedPerson

# 3 x 5 bitmaps of the digits 0-9, rows top to bottom, 3 bits per row (left bit first).
_DIGITS = ("111101101101111", "010110010010111", "111001111100111", "111001111001111", "101101111001001",
           "111100111001111", "111100111101111", "111001001001001", "111101111101111", "111101111001111")
_PALETTE = np.array([[255, 64, 64], [64, 200, 255], [255, 200, 0], [255, 64, 255], [64, 255, 128],
                     [255, 128, 0], [160, 120, 255], [255, 255, 255]], dtype=np.uint8)


@functools.lru_cache(maxsize=1)
def _viridis() -> np.ndarray:
    """(256, 3) uint8 viridis lookup table."""
    from matplotlib import colormaps

    return (colormaps["viridis"](np.linspace(0.0, 1.0, 256))[:, :3] * 255).astype(np.uint8)


def _draw_id(image: np.ndarray, track_id: int, row: int, col: int, colour: np.ndarray, scale: int) -> None:
    for k, digit in enumerate(str(track_id)):
        glyph = np.array([bit == "1" for bit in _DIGITS[int(digit)]]).reshape(5, 3)
        glyph = np.kron(glyph, np.ones((scale, scale), dtype=bool))
        r0, c0 = row, col + k * 4 * scale
        r1, c1 = min(r0 + glyph.shape[0], image.shape[0]), min(c0 + glyph.shape[1], image.shape[1])
        if r0 < 0 or c0 < 0 or r1 <= r0 or c1 <= c0:
            continue
        region = image[r0:r1, c0:c1]
        region[glyph[:r1 - r0, :c1 - c0]] = colour


def render_debug_image(frame: np.ndarray, people: Sequence[TrackedPerson], full_scale_kpa: float = 300.0,
                       scale: int = 2) -> np.ndarray:
    """RGB uint8 picture of `frame` (rows, cols) [kPa] with the people's boxes and ids."""
    if frame.ndim != 2:
        raise ValueError(f"frame must be 2-D (rows, cols), got shape {frame.shape}")
    levels = np.clip(np.nan_to_num(frame, nan=0.0) / full_scale_kpa * 255.0, 0, 255).astype(np.uint8)
    image = np.repeat(np.repeat(_viridis()[levels], scale, axis=0), scale, axis=1)
    height, width = image.shape[:2]
    for person in people:
        colour = _PALETTE[person.track_id % len(_PALETTE)]
        x1, y1, x2, y2 = (int(v) * scale for v in person.box)
        x1, y1 = max(x1, 0), max(y1, 0)
        x2, y2 = min(x2, width) - 1, min(y2, height) - 1
        if x2 < x1 or y2 < y1:
            continue
        step = 3 if person.state == TrackState.LOST else 1
        image[y1, x1:x2 + 1:step] = image[y2, x1:x2 + 1:step] = colour
        image[y1:y2 + 1:step, x1] = image[y1:y2 + 1:step, x2] = colour
        _draw_id(image, person.track_id, y1 - 6 * scale if y1 >= 6 * scale else y2 + 2, x1, colour, scale)
    return image
