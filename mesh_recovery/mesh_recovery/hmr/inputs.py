"""Per-person network inputs from one pressure frame: the crop and the 10 frame numbers.

Crop (as the authors do): the person's box region is pasted, unresized
(1 cell = 1 pixel), into the centre of a zero ``size`` x ``size`` canvas.
Only that person's cells are used: with a per-person mask (cells that belong
to the person, e.g. from the simulator or a footprint segmenter) the cells of
the box outside the mask are zeroed; without a mask the whole box region is
taken, so another person's footprint inside the box leaks in (the authors'
behaviour).  Boxes larger than the canvas keep their central part (the
authors leave this case unhandled).

Frame numbers (10): box centre column / cols and row / rows (so 0..1 over the
mat), then the 4 mat corners in world metres (x, y each) in the order
(row 0, col 0), (row 0, last col), (last row, col 0), (last row, last col).
The corners tell the network where the mat lies in the world, so the same
weights can serve a mat placed elsewhere.
"""
from __future__ import annotations

import numpy as np

from .network import NUM_FRAME_NUMBERS

def box_is_present(box: np.ndarray) -> bool:
    """True unless the box is the all-zero 'absent' row."""
    return bool(np.any(np.asarray(box) != 0))


def crop_person(pressure: np.ndarray, box: np.ndarray, size: int = 128, mask: np.ndarray | None = None) -> np.ndarray:
    """One person's crop.

    Args:
        pressure: (rows, cols) normalised pressure frame.
        box: (4,) x1, y1, x2, y2 in cells (x = column, y = row); x2/y2 exclusive,
            truncated to integers like the authors' code.
        size: canvas side.
        mask: optional (rows, cols) bool, True on this person's cells.
    Returns:
        (size, size) float32 canvas, zero where the person has no cells.
    """
    rows, cols = pressure.shape
    x1, y1, x2, y2 = (int(v) for v in np.asarray(box, dtype=np.float64))
    x1, x2 = max(x1, 0), min(x2, cols)
    y1, y2 = max(y1, 0), min(y2, rows)
    canvas = np.zeros((size, size), dtype=np.float32)
    if x2 <= x1 or y2 <= y1:
        return canvas
    region = pressure[y1:y2, x1:x2]
    if mask is not None:
        region = np.where(mask[y1:y2, x1:x2], region, 0.0)
    height, width = region.shape
    # Oversized boxes: keep the central size x size part.
    top, left = max((height - size) // 2, 0), max((width - size) // 2, 0)
    region = region[top : top + size, left : left + size]
    height, width = region.shape
    start_row, start_col = (size - height) // 2, (size - width) // 2
    canvas[start_row : start_row + height, start_col : start_col + width] = region
    return canvas


def frame_numbers(box: np.ndarray, rows: int, cols: int, mat_corners_world: np.ndarray) -> np.ndarray:
    """The 10 per-frame numbers (see module docstring) as float32 (10,)."""
    x1, y1, x2, y2 = np.asarray(box, dtype=np.float64)
    corners = np.asarray(mat_corners_world, dtype=np.float64)
    if corners.shape != (4, 2):
        raise ValueError(f"mat_corners_world must be (4, 2), got {corners.shape}")
    centre = [(x1 + x2) / 2.0 / cols, (y1 + y2) / 2.0 / rows]
    numbers = np.concatenate([centre, corners.reshape(-1)]).astype(np.float32)
    assert numbers.shape == (NUM_FRAME_NUMBERS,)
    return numbers
