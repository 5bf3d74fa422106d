"""Person-centred crops and the per-frame context numbers of PressTrack-HMR.

Crop (as in the paper): the person's box region is pasted unresized (1 pixel = 1 cell) into the centre
of a zero canvas, default 128 x 128 cells. Only the person's own cells are copied, so a neighbour's foot
inside the box stays zero. A box larger than the canvas is clipped symmetrically around its centre (the
authors do not handle this case; cells outside the canvas are dropped).

Context numbers (10 per frame): the box centre (column, row) [cells] followed by the four mat corners
in world coordinates (x, y) [m], in the order of the paper's mat placement: the outer corner of cell
(row 0, col 0), then (row 0, last col), (last row, col 0), (last row, last col).
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
    box: x1,y1,x2,y2 [cells] around them. Crop pixel (i, j) shows mat cell (row0 + i, col0 + j).
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
    rows = rows - row0
    cols = cols - col0
    inside = (rows >= 0) & (rows < size[0]) & (cols >= 0) & (cols < size[1])
    crop[rows[inside], cols[inside]] = values[inside]
    return crop, (row0, col0)


def pose_matrix(position: tuple[float, float, float], quaternion_xyzw: tuple[float, float, float, float]) -> np.ndarray:
    """4x4 homogeneous transform from a position [m] and a unit quaternion (x, y, z, w)."""
    q = np.asarray(quaternion_xyzw, dtype=float)
    norm = np.linalg.norm(q)
    if not np.isfinite(norm) or norm < 1e-9:
        raise ValueError(f"quaternion must be finite and non-zero, got {quaternion_xyzw}")
    x, y, z, w = q / norm
    transform = np.eye(4)
    transform[:3, :3] = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ]
    transform[:3, 3] = position
    return transform


def mat_corners_world(mat_to_world: np.ndarray, rows: int, cols: int, cell_pitch: float) -> np.ndarray:
    """(4, 2) world (x, y) [m] of the mat's outer corners: cell (0, 0), (0, last col), (last row, 0),
    (last row, last col). mat_to_world: 4x4 pose of the mat frame (x along columns, y along rows)."""
    transform = np.asarray(mat_to_world, dtype=float)
    if transform.shape != (4, 4):
        raise ValueError(f"mat_to_world must be a 4x4 matrix, got shape {transform.shape}")
    width, height = cols * cell_pitch, rows * cell_pitch
    corners = np.array([[0.0, 0.0, 0.0, 1.0], [width, 0.0, 0.0, 1.0], [0.0, height, 0.0, 1.0], [width, height, 0.0, 1.0]])
    return (corners @ transform.T)[:, :2]


def context_numbers(box: tuple[int, int, int, int], corners_world: np.ndarray) -> np.ndarray:
    """(10,) float32: box centre (column, row) [cells], then the 4 mat corners' world (x, y) [m]."""
    corners = np.asarray(corners_world, dtype=float)
    if corners.shape != (4, 2):
        raise ValueError(f"corners_world must have shape (4, 2), got {corners.shape}")
    x1, y1, x2, y2 = box
    return np.concatenate([[(x1 + x2) / 2.0, (y1 + y2) / 2.0], corners.ravel()]).astype(np.float32)
