"""Pressure from foot contact (the sensing mat that measures it is sensor.py).

Contact: the sole vertices of a posed mesh that lie within `contact_distance` of the floor carry the foot's vertical
ground reaction force, each in proportion to how close it is to the floor; every vertex spreads its force over the
cells around it with a small normalised Gaussian (the sole is a surface, not points). The force that lands on the
mat therefore integrates exactly: sum(pressure) * cell area = force on the mat.
Units: pressure in kPa = N / m^2 / 1000.
"""
from __future__ import annotations

import numpy as np

from presstrack_common.mat_geometry import MatGeometry

CONTACT_DISTANCE_M = 0.01
SPLAT_SIGMA_CELLS = 0.6
_SPLAT_RADIUS = 3  # cells on each side of the vertex's cell


def contact_weights(heights: np.ndarray, areas: np.ndarray,
                    contact_distance: float = CONTACT_DISTANCE_M) -> np.ndarray:
    """(F, V) share of a foot's load carried by each sole vertex; each row sums to 1.

    heights (F, V) m above the floor; areas (V,) or (F, V) m^2 of sole each vertex stands for (times its relative
    load, plantar.py). The share is the vertex's area
    times its closeness to the floor (linear, zero beyond `contact_distance`); a row with no vertex that close
    puts the load on its lowest vertex (a force can only act where the foot is).
    """
    heights = np.atleast_2d(np.asarray(heights, dtype=float))
    weights = np.clip(1.0 - np.maximum(heights, 0.0) / contact_distance, 0.0, 1.0) * areas
    total = weights.sum(axis=1, keepdims=True)
    floating = total[:, 0] <= 0
    if floating.any():
        weights[floating] = 0.0
        weights[np.flatnonzero(floating), np.argmin(heights[floating], axis=1)] = 1.0
        total = weights.sum(axis=1, keepdims=True)
    return weights / total


def splat_forces(points_world: np.ndarray, forces: np.ndarray, mat: MatGeometry, frame: np.ndarray | None = None,
                 frames: int = 1, sigma_cells: np.ndarray | float = SPLAT_SIGMA_CELLS) -> np.ndarray:
    """Spread point forces (N,) N at world points (N, 2|3) onto the mat; returns (frames, rows, cols) kPa.

    frame (N,) int says which image each point belongs to (default all 0). Each point's force is divided among
    the cells around it by a Gaussian of `sigma_cells` ((N,) or scalar, at most _SPLAT_RADIUS / 2) normalised
    over the window, so a point well inside the mat deposits exactly its force; parts off the mat are lost.
    """
    forces = np.asarray(forces, dtype=float)
    frame = np.zeros(len(forces), dtype=int) if frame is None else np.asarray(frame, dtype=int)
    cells_per_frame = mat.rows * mat.cols
    if forces.size == 0:
        return np.zeros((frames, mat.rows, mat.cols))
    cells = mat.world_to_cell(np.asarray(points_world, dtype=float))  # (N, 2) continuous (row, col)
    base = np.floor(cells).astype(int)
    offsets = np.arange(-_SPLAT_RADIUS + 1, _SPLAT_RADIUS + 1)
    rows = base[:, 0, None] + offsets  # (N, k)
    cols = base[:, 1, None] + offsets
    sigma = np.broadcast_to(np.asarray(sigma_cells, dtype=float), forces.shape)[:, None]
    # The Gaussian is separable: normalise along rows and columns apart, then take the outer product.
    row_kernel = np.exp(-((rows - cells[:, 0, None]) ** 2) / (2 * sigma**2))
    col_kernel = np.exp(-((cols - cells[:, 1, None]) ** 2) / (2 * sigma**2))
    row_kernel *= (forces / row_kernel.sum(axis=1))[:, None]
    col_kernel /= col_kernel.sum(axis=1, keepdims=True)
    deposit = row_kernel[:, :, None] * col_kernel[:, None, :]  # (N, k, k)
    flat_index = frame[:, None, None] * cells_per_frame + rows[:, :, None] * mat.cols + cols[:, None, :]
    row_inside, col_inside = (rows >= 0) & (rows < mat.rows), (cols >= 0) & (cols < mat.cols)
    if not (row_inside.all() and col_inside.all()):
        inside = row_inside[:, :, None] & col_inside[:, None, :]
        flat_index, deposit = flat_index[inside], deposit[inside]
    image = np.bincount(flat_index.ravel(), weights=deposit.ravel(), minlength=frames * cells_per_frame)
    return image.reshape(frames, mat.rows, mat.cols) / mat.cell_area_m2 / 1000.0


def feet_pressure(sole_vertices: np.ndarray, sole_areas: np.ndarray, forces: np.ndarray, mat: MatGeometry,
                  contact_distance: float = CONTACT_DISTANCE_M, load_factors: np.ndarray | None = None,
                  spread_m: float = 0.0) -> np.ndarray:
    """(F, rows, cols) kPa made by one foot over F frames.

    sole_vertices (F, V, 3) world; sole_areas (V,) m^2; forces (F,) N vertical; load_factors (V,) or (F, V) relative
    load per unit area of each vertex (plantar.py; None: the same everywhere). Each vertex is splatted with a
    Gaussian as wide as the patch of sole it stands for, widened by `spread_m` (soft tissue or a shoe's outsole).
    """
    frames = len(forces)
    loaded_areas = sole_areas if load_factors is None else sole_areas * load_factors
    weights = contact_weights(sole_vertices[..., 2], loaded_areas, contact_distance) * np.asarray(forces)[:, None]
    frame, vertex = np.nonzero(weights > 0)
    sigma = np.clip(np.hypot(0.5 * np.sqrt(sole_areas[vertex]), spread_m) / mat.pitch, 0.5, 0.5 * _SPLAT_RADIUS)
    return splat_forces(sole_vertices[frame, vertex], weights[frame, vertex], mat, frame, frames, sigma)
