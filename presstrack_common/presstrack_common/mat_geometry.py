"""Where the pressure mat lies in the world, and conversions between world points and mat cells.

Mat frame: origin at the outer corner of cell (0, 0), x along increasing column, y along increasing row,
z up, floor at z = 0. Cell (r, c) has its centre at ((c + 0.5) * pitch, (r + 0.5) * pitch, 0).
World frame: REP-103 (metres, z up), the frame of the MIP ground truth.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

# MIP: pixel (row 0, col 0) lies at world (1.17, 1.83); columns run along world -x and rows along world -y.
MIP_ORIGIN_WORLD = (1.17, 1.83)
MIP_ROWS = 238
MIP_COLS = 120
MIP_PITCH_M = 0.01


def mip_world_from_mat(origin_xy: tuple[float, float] = MIP_ORIGIN_WORLD) -> np.ndarray:
    """4x4 pose of the MIP mat: mat +x (columns) -> world -x, mat +y (rows) -> world -y, z up.

    A rotation of 180 degrees about z, so the frame stays right-handed with z up.
    """
    world_from_mat = np.eye(4)
    world_from_mat[:3, :3] = np.diag([-1.0, -1.0, 1.0])
    world_from_mat[:2, 3] = origin_xy
    return world_from_mat


@dataclass(frozen=True)
class MatGeometry:
    """A rows x cols grid of square cells of side `pitch` metres, placed in the world by `world_from_mat` (4x4)."""

    rows: int = MIP_ROWS
    cols: int = MIP_COLS
    pitch: float = MIP_PITCH_M
    world_from_mat: np.ndarray = field(default_factory=mip_world_from_mat)

    def __post_init__(self) -> None:
        if int(self.rows) != self.rows or int(self.cols) != self.cols or self.rows < 1 or self.cols < 1:
            raise ValueError(f"mat rows and cols must be positive integers, got {self.rows} x {self.cols}")
        if not (np.isfinite(self.pitch) and self.pitch > 0):
            raise ValueError(f"mat pitch must be a positive number of metres, got {self.pitch}")
        pose = np.asarray(self.world_from_mat, dtype=float)
        if pose.shape != (4, 4):
            raise ValueError(f"world_from_mat must be 4x4, got shape {pose.shape}")
        rotation = pose[:3, :3]
        if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-6) or np.linalg.det(rotation) < 0:
            raise ValueError("world_from_mat rotation must be a proper rotation (orthonormal, det +1)")
        if not np.allclose(rotation[:, 2], [0.0, 0.0, 1.0], atol=1e-6) or abs(pose[2, 3]) > 1e-9:
            raise ValueError("the mat must lie on the floor: its z axis along world z and its origin at z = 0")
        object.__setattr__(self, "world_from_mat", pose)

    @property
    def size_m(self) -> tuple[float, float]:
        """(width along columns, length along rows) in metres."""
        return self.cols * self.pitch, self.rows * self.pitch

    @property
    def cell_area_m2(self) -> float:
        return self.pitch * self.pitch

    @property
    def yaw_world_from_mat(self) -> float:
        """Angle (rad) of the mat x axis in the world xy plane."""
        return float(np.arctan2(self.world_from_mat[1, 0], self.world_from_mat[0, 0]))

    def mat_to_world(self, points_mat: np.ndarray) -> np.ndarray:
        """(..., 2) or (..., 3) mat-frame points -> world points of the same width (2-D points lie on the floor)."""
        points = np.asarray(points_mat, dtype=float)
        rotation, translation = self.world_from_mat[:3, :3], self.world_from_mat[:3, 3]
        if points.shape[-1] == 2:
            return points @ rotation[:2, :2].T + translation[:2]
        if points.shape[-1] == 3:
            return points @ rotation.T + translation
        raise ValueError(f"points must have 2 or 3 coordinates in the last axis, got shape {points.shape}")

    def world_to_mat(self, points_world: np.ndarray) -> np.ndarray:
        """(..., 2) or (..., 3) world points -> mat-frame points."""
        points = np.asarray(points_world, dtype=float)
        rotation, translation = self.world_from_mat[:3, :3], self.world_from_mat[:3, 3]
        if points.shape[-1] == 2:
            return (points - translation[:2]) @ rotation[:2, :2]
        if points.shape[-1] == 3:
            return (points - translation) @ rotation
        raise ValueError(f"points must have 2 or 3 coordinates in the last axis, got shape {points.shape}")

    def world_to_cell(self, points_world: np.ndarray) -> np.ndarray:
        """(..., 2|3) world points -> (..., 2) continuous (row, col); cell (r, c) centre maps to (r, c)."""
        mat = self.world_to_mat(points_world)
        return np.stack([mat[..., 1] / self.pitch - 0.5, mat[..., 0] / self.pitch - 0.5], axis=-1)

    def cell_to_world(self, cells: np.ndarray) -> np.ndarray:
        """(..., 2) continuous (row, col) -> (..., 2) world xy on the floor."""
        cells = np.asarray(cells, dtype=float)
        mat = np.stack([(cells[..., 1] + 0.5) * self.pitch, (cells[..., 0] + 0.5) * self.pitch], axis=-1)
        return self.mat_to_world(mat)

    def contains_world(self, points_world: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """(...,) bool: whether world points project inside the mat shrunk by `margin` metres."""
        mat = self.world_to_mat(points_world)
        width, length = self.size_m
        return (
            (mat[..., 0] >= margin) & (mat[..., 0] <= width - margin)
            & (mat[..., 1] >= margin) & (mat[..., 1] <= length - margin)
        )

    def corners_world(self) -> np.ndarray:
        """(4, 2) world xy of the outer corners of cells (0,0), (0,cols-1), (rows-1,0), (rows-1,cols-1).

        The order matches the MIP corner list: origin, along the columns, along the rows, opposite.
        """
        width, length = self.size_m
        corners_mat = np.array([[0.0, 0.0], [width, 0.0], [0.0, length], [width, length]])
        return self.mat_to_world(corners_mat)


def world_from_mat_pose(x: float, y: float, yaw: float) -> np.ndarray:
    """4x4 pose of a mat on the floor at (x, y) [m], its x axis at ``yaw`` [rad] from world +x."""
    world_from_mat = np.eye(4)
    world_from_mat[:2, :2] = [[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]]
    world_from_mat[:2, 3] = (x, y)
    return world_from_mat


def geometry_from_pose(rows: int, cols: int, pitch: float, pose) -> MatGeometry:
    """MatGeometry from MatInfo fields; ``pose`` is a geometry_msgs/Pose (or anything with its fields)."""
    q = pose.orientation
    rotation = np.array([
        [1 - 2 * (q.y * q.y + q.z * q.z), 2 * (q.x * q.y - q.z * q.w), 2 * (q.x * q.z + q.y * q.w)],
        [2 * (q.x * q.y + q.z * q.w), 1 - 2 * (q.x * q.x + q.z * q.z), 2 * (q.y * q.z - q.x * q.w)],
        [2 * (q.x * q.z - q.y * q.w), 2 * (q.y * q.z + q.x * q.w), 1 - 2 * (q.x * q.x + q.y * q.y)],
    ])
    world_from_mat = np.eye(4)
    world_from_mat[:3, :3] = rotation
    world_from_mat[:3, 3] = (pose.position.x, pose.position.y, pose.position.z)
    return MatGeometry(int(rows), int(cols), float(pitch), world_from_mat)


MatT = TypeVar("MatT")


class DataDecideTheMat(Generic[MatT]):
    """Which mat a consumer works with when /mat/info and its data (frames, people's boxes) disagree: the data
    decide, so one wrong /mat/info cannot stop a stream, and a mat that really changed is followed once its
    data come.

    ``current`` is the mat in use; ``size(mat)`` gives its (rows, cols). Until data were seen, /mat/info is
    taken at once; after that a mat of another size is only ``announced``, adopted by ``judge`` when data fit it.
    """

    ADOPTED, CURRENT, NEITHER = "adopted", "current", "neither"

    def __init__(self, current: MatT | None = None,
                 size: Callable[[MatT], tuple[int, int]] = lambda mat: mat) -> None:
        self.current, self.announced, self._size = current, None, size
        self.data_seen = False

    def announce(self, mat: MatT) -> bool:
        """/mat/info says ``mat``. True when it contradicts the data so far (it is then only announced)."""
        if not self.data_seen or self.current is None or self._size(mat) == self._size(self.current):
            self.current, self.announced = mat, None
            return False
        self.announced = mat
        return True

    def judge(self, fits: Callable[[MatT], bool]) -> str:
        """Which mat data that just arrived fit (``fits(mat)``): ADOPTED (the announced one, now current),
        CURRENT (or no mat known yet), or NEITHER (the data are of another size: the caller drops them)."""
        if self.announced is not None and fits(self.announced):
            self.current, self.announced = self.announced, None
            return self.ADOPTED
        return self.CURRENT if self.current is None or fits(self.current) else self.NEITHER

    def confirm(self, mat: MatT | None = None) -> None:
        """Data were used on the current mat (or on ``mat``, which becomes current)."""
        if mat is not None:
            self.current = mat
        self.data_seen = True

    def refuse(self) -> None:
        """Forget the announced mat (the caller's data showed it wrong)."""
        self.announced = None
