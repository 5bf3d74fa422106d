"""Painted footprints for the tracker's unit tests: feet drawn exactly where and when a test puts them.

A test fixture, not a simulator (that is presstrack_sim, which the benchmarks use): a unit test needs a
foot at a given place, heading and stance phase, or walkers on a scripted straight path, with nothing
else drawn from a body or gait model.

Geometry is in the mat frame (REP-103 on the mat): metres, x along increasing column index, y along
increasing row index, origin at the outer corner of cell (row 0, col 0); the centre of cell (r, c) is at
((c + 0.5) * pitch, (r + 0.5) * pitch). Pressures are in kPa.

A foot is drawn as three dome-shaped pads (heel, forefoot ball, toes) plus an optional faint lateral
midfoot band; which pads carry load depends on the stance phase (heel strike -> flat foot -> push-off),
so a foot can appear as one blob, as separate heel and forefoot blobs, or as forefoot only.
Deliberately simple: it exercises detection and tracking; it does not model gait.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAT_ROWS = 238
MAT_COLS = 120
CELL_PITCH_M = 0.01


@dataclass(frozen=True)
class FootShape:
    """Pad layout of one foot [m] along the foot axis (heel -> toe) and across it."""

    heel_offset: float = -0.085
    heel_half_axes: tuple[float, float] = (0.035, 0.030)     # along, across
    ball_offset: float = 0.055
    ball_half_axes: tuple[float, float] = (0.030, 0.045)
    toes_offset: float = 0.105
    toes_half_axes: tuple[float, float] = (0.015, 0.040)
    midfoot_offset: tuple[float, float] = (-0.015, 0.028)    # along, lateral (towards the outer edge)
    midfoot_half_axes: tuple[float, float] = (0.055, 0.014)


def _stance_weights(phase: float) -> tuple[float, float, float, float]:
    """Load share (heel, ball, toes, midfoot) at stance phase in [0, 1] (0 = heel strike, 1 = toe off)."""
    heel = float(np.clip(1.0 - (phase - 0.55) / 0.2, 0.0, 1.0))
    ball = float(np.clip((phase - 0.08) / 0.2, 0.0, 1.0))
    toes = float(np.clip((phase - 0.25) / 0.2, 0.0, 1.0))
    midfoot = min(heel, ball)
    return heel, ball, toes, midfoot


def _add_dome(frame: np.ndarray, centre_xy: np.ndarray, axis: float, half_axes: tuple[float, float],
              peak_kpa: float, pitch: float) -> None:
    """Add a dome pressure pad (peak * sqrt(1 - q), q = normalised elliptic radius^2) in place."""
    if peak_kpa <= 0.0:
        return
    rows, cols = frame.shape
    reach = max(half_axes)
    c0 = max(int(math.floor((centre_xy[0] - reach) / pitch)), 0)
    c1 = min(int(math.ceil((centre_xy[0] + reach) / pitch)) + 1, cols)
    r0 = max(int(math.floor((centre_xy[1] - reach) / pitch)), 0)
    r1 = min(int(math.ceil((centre_xy[1] + reach) / pitch)) + 1, rows)
    if c0 >= c1 or r0 >= r1:
        return
    xs = (np.arange(c0, c1) + 0.5) * pitch - centre_xy[0]
    ys = (np.arange(r0, r1) + 0.5) * pitch - centre_xy[1]
    dx, dy = np.meshgrid(xs, ys)
    cos_a, sin_a = math.cos(axis), math.sin(axis)
    along = dx * cos_a + dy * sin_a
    across = -dx * sin_a + dy * cos_a
    q = (along / half_axes[0]) ** 2 + (across / half_axes[1]) ** 2
    frame[r0:r1, c0:c1] += (peak_kpa * np.sqrt(np.clip(1.0 - q, 0.0, None))).astype(frame.dtype)


def render_foot(frame: np.ndarray, centre_xy: tuple[float, float], heading: float, phase: float = 0.4,
                peak_kpa: float = 220.0, lateral_sign: float = 1.0, pitch: float = CELL_PITCH_M,
                shape: FootShape = FootShape(), midfoot: bool = True) -> None:
    """Add one foot's pressure to `frame` (rows, cols) [kPa] in place.

    centre_xy: foot centre in the mat frame [m]; heading: toe direction [rad] about +z from +x;
    phase: stance phase in [0, 1]; lateral_sign: +1 if the foot's outer edge is to the left of its
    heading (a left foot), -1 for a right foot (selects the side of the midfoot band).
    """
    heel_w, ball_w, toes_w, mid_w = _stance_weights(phase)
    centre = np.asarray(centre_xy, dtype=float)
    along = np.array([math.cos(heading), math.sin(heading)])
    left = np.array([-along[1], along[0]])
    _add_dome(frame, centre + shape.heel_offset * along, heading, shape.heel_half_axes, peak_kpa * heel_w, pitch)
    _add_dome(frame, centre + shape.ball_offset * along, heading, shape.ball_half_axes, 0.85 * peak_kpa * ball_w, pitch)
    _add_dome(frame, centre + shape.toes_offset * along, heading, shape.toes_half_axes, 0.45 * peak_kpa * toes_w, pitch)
    if midfoot:
        mid = centre + shape.midfoot_offset[0] * along + lateral_sign * shape.midfoot_offset[1] * left
        _add_dome(frame, mid, heading, shape.midfoot_half_axes, 0.18 * peak_kpa * mid_w, pitch)


@dataclass(frozen=True)
class Walker:
    """One person walking along a circular arc (curvature 0 = straight line) at constant speed.

    start_xy [m] and heading [rad] give where the path starts and its initial direction; feet are
    placed alternately left/right of the path every `step_length` metres starting at `start_time` [s].
    """

    start_xy: tuple[float, float]
    heading: float
    speed: float = 1.1                 # [m/s]
    step_length: float = 0.60          # [m] distance between successive foot placements along the path
    step_width: float = 0.18           # [m] lateral distance between left and right foot centres
    curvature: float = 0.0             # [1/m], positive turns left (towards +heading angle)
    start_time: float = 0.0            # [s]
    stance_fraction: float = 0.62      # share of the gait cycle a foot is on the ground
    peak_kpa: float = 220.0
    n_steps: int | None = None         # None: walk forever
    first_foot_left: bool = True
    turn_back_after: float | None = None   # [m] walk back and forth along the first this many metres of the path
    weight_n: float | None = 700.0     # [N] the force on the walker's feet at every instant (None: as painted)
    backwards: bool = False            # steps back along the path: toes against it, each foot landing forefoot first

    def path_pose(self, s: float) -> tuple[np.ndarray, float]:
        """Position [m] and tangent angle [rad] at arc length s along the path."""
        x0, y0 = self.start_xy
        if abs(self.curvature) < 1e-9:
            return np.array([x0 + s * math.cos(self.heading), y0 + s * math.sin(self.heading)]), self.heading
        k = self.curvature
        angle = self.heading + k * s
        x = x0 + (math.sin(angle) - math.sin(self.heading)) / k
        y = y0 - (math.cos(angle) - math.cos(self.heading)) / k
        return np.array([x, y]), angle

    def _is_left(self, k: int) -> bool:
        return (k % 2 == 0) == self.first_foot_left

    def _placement(self, k: int) -> tuple[np.ndarray, float]:
        """Centre [m] and heading [rad] of foot k. With turn_back_after, the walker paces back and forth
        along the first turn_back_after metres of the path, turning on the spot: each return lane is
        shifted sideways so the first foot after a turn lands a step width beside the last one."""
        side = 1.0 if self._is_left(k) else -1.0
        half_width = 0.5 * self.step_width
        s = k * self.step_length
        if self.turn_back_after is None:
            position, tangent = self.path_pose(s)
            normal = np.array([-math.sin(tangent), math.cos(tangent)])
            return position + side * half_width * normal, tangent
        length = self.turn_back_after
        leg = int(s // length)
        offset = 0.0   # lane shift along the first leg's left normal
        for j in range(1, leg + 1):
            first = math.ceil(j * length / self.step_length - 1e-9)
            direction = -1.0 if j % 2 else 1.0
            last_foot = (1.0 if self._is_left(first - 1) else -1.0) * half_width * -direction + offset
            offset = min((last_foot + step - (1.0 if self._is_left(first) else -1.0) * half_width * direction
                          for step in (-self.step_width, self.step_width)), key=abs)
        u = s - leg * length
        position, tangent = self.path_pose(u if leg % 2 == 0 else length - u)
        normal = np.array([-math.sin(tangent), math.cos(tangent)])
        direction = 1.0 if leg % 2 == 0 else -1.0
        centre = position + (side * half_width * direction + offset) * normal
        return centre, tangent if leg % 2 == 0 else tangent + math.pi

    def feet_at(self, t: float) -> list[tuple[np.ndarray, float, float, float]]:
        """Feet on the ground at time t [s]: (centre_xy, heading, stance phase, lateral sign)."""
        step_time = self.step_length / self.speed
        stance_time = self.stance_fraction * 2.0 * step_time
        elapsed = t - self.start_time
        if elapsed < 0.0:
            return []
        last = int(elapsed // step_time)
        feet = []
        for k in range(max(0, last - 2), last + 1):
            if self.n_steps is not None and k >= self.n_steps:
                break
            phase = (elapsed - k * step_time) / stance_time
            if not 0.0 <= phase < 1.0:
                continue
            centre, heading = self._placement(k)
            side = 1.0 if self._is_left(k) else -1.0
            if self.backwards:   # the stance runs toes to heel; the foot left of the path is the body's right one
                heading, phase, side = heading + math.pi, 1.0 - phase, -side
            feet.append((centre, heading, phase, side))
        return feet


@dataclass
class SyntheticScene:
    """pressure (T, rows, cols) float32 [kPa]; boxes (T, people, 4) int x1,y1,x2,y2 [cells], x = column,
    y = row, x2/y2 exclusive, all-zero row when the person has no cell on the mat."""

    pressure: np.ndarray
    boxes: np.ndarray
    fps: float
    cell_pitch: float = CELL_PITCH_M
    walkers: list[Walker] = field(default_factory=list)

    def save_npz(self, path: str | Path) -> None:
        """Write in the MIP layout (pressure, box) plus fps, cell_pitch and pressure_scale_kpa = 1."""
        np.savez_compressed(path, pressure=self.pressure, box=self.boxes, fps=np.float64(self.fps),
                            cell_pitch=np.float64(self.cell_pitch), pressure_scale_kpa=np.float64(1.0))


def cells_box(cells: np.ndarray) -> np.ndarray:
    """x1,y1,x2,y2 (x = column, exclusive ends) of the True cells of a 2-D mask, zeros if none."""
    rows = np.flatnonzero(cells.any(axis=1))
    if rows.size == 0:
        return np.zeros(4, dtype=np.int64)
    cols = np.flatnonzero(cells.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.int64)


def walking_scene(walkers: list[Walker], n_frames: int, fps: float = 15.0, shape: tuple[int, int] = (MAT_ROWS, MAT_COLS),
                  noise_kpa: float = 2.0, seed: int = 0, pitch: float = CELL_PITCH_M,
                  box_threshold_kpa: float = 10.0) -> SyntheticScene:
    """Render walkers into frames with Gaussian noise (clipped at 0) and per-person ground-truth boxes.
    Each walker's feet are scaled to carry their weight_n together (unless it is None).

    The ground-truth box of a person covers their cells with noise-free pressure of at least
    `box_threshold_kpa` (a load a mat can tell from its noise; the faint rim of a lifting heel is not).
    """
    rng = np.random.default_rng(seed)
    pressure = np.zeros((n_frames, *shape), dtype=np.float32)
    boxes = np.zeros((n_frames, len(walkers), 4), dtype=np.int64)
    person = np.zeros(shape, dtype=np.float32)
    for t in range(n_frames):
        for p, walker in enumerate(walkers):
            person.fill(0.0)
            for centre, heading, phase, side in walker.feet_at(t / fps):
                render_foot(person, centre, heading, phase, walker.peak_kpa, side, pitch)
            force_n = float(person.sum()) * pitch * pitch * 1000.0
            if walker.weight_n is not None and force_n > 0.0:
                person *= np.float32(walker.weight_n / force_n)   # feet carry the body's weight, as on a real floor
            boxes[t, p] = cells_box(person >= box_threshold_kpa)
            pressure[t] += person
    if noise_kpa > 0.0:
        pressure += rng.normal(0.0, noise_kpa, pressure.shape).astype(np.float32)
        np.clip(pressure, 0.0, None, out=pressure)
    return SyntheticScene(pressure, boxes, fps, pitch, list(walkers))
