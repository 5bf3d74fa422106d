"""Pressure from foot contact, and a model of the sensing mat that measures it.

Contact: the sole vertices of a posed mesh that lie within `contact_distance` of the floor carry the foot's vertical
ground reaction force, each in proportion to how close it is to the floor; every vertex spreads its force over the
cells around it with a small normalised Gaussian (the sole is a surface, not points). The force that lands on the
mat therefore integrates exactly: sum(pressure) * cell area = force on the mat.
Units: pressure in kPa = N / m^2 / 1000.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from presstrack_common.mat_geometry import MatGeometry

CONTACT_DISTANCE_M = 0.01
SPLAT_SIGMA_CELLS = 0.6
_SPLAT_RADIUS = 3  # cells on each side of the vertex's cell


def contact_weights(heights: np.ndarray, areas: np.ndarray,
                    contact_distance: float = CONTACT_DISTANCE_M) -> np.ndarray:
    """(F, V) share of a foot's load carried by each sole vertex; each row sums to 1.

    heights (F, V) m above the floor; areas (V,) m^2 of sole each vertex stands for. The share is the vertex's area
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
                  contact_distance: float = CONTACT_DISTANCE_M) -> np.ndarray:
    """(F, rows, cols) kPa made by one foot over F frames.

    sole_vertices (F, V, 3) world; sole_areas (V,) m^2; forces (F,) N vertical. Each vertex is splatted with a
    Gaussian as wide as the patch of sole it stands for.
    """
    frames = len(forces)
    weights = contact_weights(sole_vertices[..., 2], sole_areas, contact_distance) * np.asarray(forces)[:, None]
    frame, vertex = np.nonzero(weights > 0)
    sigma = np.clip(0.5 * np.sqrt(sole_areas[vertex]) / mat.pitch, 0.5, 0.5 * _SPLAT_RADIUS)
    return splat_forces(sole_vertices[frame, vertex], weights[frame, vertex], mat, frame, frames, sigma)


@dataclass(frozen=True)
class SensorModel:
    """Imperfections of a resistive pressure mat, applied in this order:
    crosstalk (Gaussian blur of `crosstalk_sigma` cells), additive Gaussian noise (`noise_kpa` + `noise_fraction` of
    the reading), clipping to [0, `full_scale_kpa`] (saturation), quantisation to `bits` over the full scale, dead
    cells reading 0 and stuck cells reading a fixed value (`dead_fraction`, `stuck_fraction` of all cells).
    """

    full_scale_kpa: float = 400.0
    noise_kpa: float = 0.3
    noise_fraction: float = 0.02
    crosstalk_sigma: float = 0.5
    bits: int = 12
    dead_fraction: float = 0.0
    stuck_fraction: float = 0.0

    def __post_init__(self) -> None:
        if not self.full_scale_kpa > 0:
            raise ValueError(f"sensor full scale must be positive kPa, got {self.full_scale_kpa}")
        for name in ("noise_kpa", "noise_fraction", "crosstalk_sigma"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"sensor {name} must be >= 0, got {getattr(self, name)}")
        if not 1 <= self.bits <= 32:
            raise ValueError(f"sensor bits must be in 1..32, got {self.bits}")
        for name in ("dead_fraction", "stuck_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"sensor {name} must be a fraction in [0, 1], got {getattr(self, name)}")

    @classmethod
    def ideal(cls) -> SensorModel:
        """No noise, blur, saturation worth mentioning, or defects: reads the contact pressure as it is."""
        return cls(full_scale_kpa=1e9, noise_kpa=0.0, noise_fraction=0.0, crosstalk_sigma=0.0, bits=32)


class Sensor:
    """A SensorModel with its own fixed defects (dead and stuck cells) and noise stream."""

    def __init__(self, model: SensorModel, shape: tuple[int, int], rng: np.random.Generator):
        self.model, self.rng = model, rng
        cells = shape[0] * shape[1]
        order = rng.permutation(cells)
        dead_count, stuck_count = int(round(model.dead_fraction * cells)), int(round(model.stuck_fraction * cells))
        self.dead = np.zeros(cells, dtype=bool)
        self.dead[order[:dead_count]] = True
        self.stuck = np.zeros(cells, dtype=bool)
        self.stuck[order[dead_count:dead_count + stuck_count]] = True
        self.stuck_value = rng.uniform(0.0, model.full_scale_kpa, cells)
        self.dead, self.stuck, self.stuck_value = (a.reshape(shape) for a in (self.dead, self.stuck, self.stuck_value))

    def measure(self, pressure_kpa: np.ndarray) -> np.ndarray:
        """(rows, cols) true kPa -> (rows, cols) float32 reading in kPa; also (F, rows, cols) -> (F, rows, cols),
        the same as measuring the F images one after another."""
        model = self.model
        reading = np.asarray(pressure_kpa, dtype=float)
        if reading.shape[-2:] != self.dead.shape or reading.ndim not in (2, 3):
            raise ValueError(f"pressure must have shape ([F,] {self.dead.shape[0]}, {self.dead.shape[1]}), "
                             f"got {reading.shape}")
        if model.crosstalk_sigma > 0:
            sigma = (0.0,) * (reading.ndim - 2) + (model.crosstalk_sigma,) * 2  # no blur across frames
            reading = gaussian_filter(reading, sigma, mode="constant", truncate=3.0)
        if model.noise_kpa > 0 or model.noise_fraction > 0:
            sigma = model.noise_kpa + model.noise_fraction * reading
            reading = reading + sigma * self.rng.standard_normal(reading.shape)
        reading = np.clip(reading, 0.0, model.full_scale_kpa)
        if model.bits < 32:
            step = model.full_scale_kpa / (2 ** model.bits - 1)
            reading = np.round(reading / step) * step
        if self.dead.any():
            reading = np.where(self.dead, 0.0, reading)
        if self.stuck.any():
            reading = np.where(self.stuck, self.stuck_value, reading)
        return reading.astype(np.float32)
