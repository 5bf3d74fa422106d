"""Person-centred crops of PressTrack-HMR.

Crop (as in the paper): the person's box region is pasted unresized (1 pixel = 1 cell) into the centre
of a zero canvas, default 128 x 128 cells. Only the person's own cells are copied, so a neighbour's foot
inside the box stays zero. A box larger than the canvas is clipped symmetrically around its centre (the
authors do not handle this case; cells outside the canvas are dropped).
The paper's 10 per-frame numbers (box centre and mat corners) are built by mesh_recovery from the box
published here and the mat's placement (presstrack_common.mat_geometry).
"""
from __future__ import annotations

import numpy as np

DEFAULT_CROP_SIZE = (128, 128)


def crop_origin(box: tuple[int, int, int, int], size: tuple[int, int] = DEFAULT_CROP_SIZE) -> tuple[int, int]:
    """Mat cell (row, col) of crop pixel (0, 0) for box x1,y1,x2,y2 (exclusive ends) centred in a
    canvas of `size` (rows, cols). May be negative or beyond the mat near its edges."""
    x1, y1, x2, y2 = box
    return y1 - (size[0] - (y2 - y1)) // 2, x1 - (size[1] - (x2 - x1)) // 2


def person_crop(frame: np.ndarray, cells: np.ndarray, box: tuple[int, int, int, int],
                size: tuple[int, int] = DEFAULT_CROP_SIZE) -> tuple[np.ndarray, tuple[int, int]]:
    """Crop (size) float32 [kPa] holding only `cells` of `frame`, and its origin (row, col) in the mat.

    frame: (rows, cols) [kPa]; cells: flat indices (row * cols + col) of the person's own cells;
    box: x1,y1,x2,y2 [cells] around them (all of them inside it). Crop pixel (i, j) shows mat cell (row0 + i, col0 + j).
    """
    if frame.ndim != 2:
        raise ValueError(f"frame must be 2-D (rows, cols), got shape {frame.shape}")
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"crop size must be positive, got {size}")
    row0, col0 = crop_origin(box, size)
    crop = np.zeros(size, dtype=np.float32)
    if cells.size == 0:
        return crop, (row0, col0)
    rows, cols = np.divmod(cells, frame.shape[1])
    values = frame.ravel()[cells]
    rows -= row0
    cols -= col0
    x1, y1, x2, y2 = box
    if y1 >= row0 and y2 <= row0 + size[0] and x1 >= col0 and x2 <= col0 + size[1]:
        crop[rows, cols] = values   # the usual case, a person smaller than the canvas: no cell to drop
        return crop, (row0, col0)
    inside = (rows >= 0) & (rows < size[0]) & (cols >= 0) & (cols < size[1])
    crop[rows[inside], cols[inside]] = values[inside]
    return crop, (row0, col0)

