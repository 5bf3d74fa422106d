"""Which way a tracked person faces. From their feet on the mat: each whole foot's long axis, its toe end told by
the foot's shape (a wide forefoot, a narrow midfoot and heel), else by the heel-to-toe roll of its centre of
pressure since it landed. Walking, between that and their own path (a walking body faces where it goes, or
straight away from it walking backwards); the feet tell which of the two, and tell sideways steps apart."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import TrackerConfig
from .detection import Foot

FOOT_ELONGATION = 2.0    # a foot's contact is at least this many times as long as its mean width
HEEL_TO_TOE_ROLL = 0.05  # [m] a stance foot's centre of pressure rolls from heel to toes (12-18 cm in a walking step);
                         # standing sway moves it a few cm, either way
SHAPE_SKEW = 0.1         # a whole foot's contact cells lie skewed along its axis, their long tail towards the heel
                         # (skewness -0.2 to -0.5 on the simulator's feet); less than this in size tells no end,
SHAPE_SKEW_MAX = 1.0     # nor more: a heel with a speck of the forefoot (landing) or the reverse, not a foot's outline


@dataclass
class Stance:
    """One foot on the mat, followed from frame to frame while it stays down: the foot's contact in the latest
    frame, its centre of pressure (x, y) [m] when it landed, and its toe direction [rad] once told."""

    foot: Foot
    landed_at: np.ndarray
    toes: float | None = None

    @property
    def roll(self) -> np.ndarray:
        """(x, y) [m]: how far its centre of pressure moved since it landed."""
        return self.foot.centroid_m - self.landed_at


def follow_stances(feet: list[Foot], stances: list[Stance]) -> list[Stance]:
    """The stances of `feet`, given the last frame's. A foot in stance does not move: one sharing a cell with a
    foot of the last frame is that foot, any other has just landed."""
    return [stance_of(foot, next((stance for stance in stances if same_cells(foot, stance.foot)), None))
            for foot in feet]


def stance_of(foot: Foot, before: Stance | None) -> Stance:
    """`foot`'s stance: `before`, the last frame's stance of the same foot, carried on; None: it has just landed."""
    return Stance(foot, before.landed_at, before.toes) if before else Stance(foot, foot.centroid_m)


def heading_from_feet(stances: list[Stance], velocity: np.ndarray, previous: float | None, config: TrackerConfig,
                      cols: int) -> float | None:
    """[rad] Which way a person faces: the mean toe direction of their feet that show a long axis (`shows_axis`;
    feet point where people walk, within a few degrees of toe-out; a mean of directions, not of axes, so the
    two feet of a turn give the body's facing between them). Each foot's toe end, in order of trust:
    - its wide end (`toes_by_shape`), whichever way the body moves, backwards too;
    - the end nearer the toes its shape told earlier in this stance (a planted foot does not turn about; at
      heel strike and push-off the shape is lopsided);
    - the end its centre of pressure rolled towards since it landed (heel to toes in a forward step), once that
      is HEEL_TO_TOE_ROLL;
    - (landing, flat in a turn on the spot, standing) the end nearer the reference: the walking direction
      (`velocity`, over the last step) from heading_min_speed, else the previous heading.
    A foot's told toe direction is kept in its stance. Where no foot shows an axis (a heel or forefoot alone),
    the reference, unless it points more than 90 degrees from the previous heading: a body does not turn about
    between two feet, and the motion would face a backward walk the wrong way. None while nothing tells.
    cols: the mat's columns (`Foot.cells` are flat indices)."""
    moving = math.hypot(*velocity) >= config.heading_min_speed
    reference = math.atan2(velocity[1], velocity[0]) if moving else previous
    toes_x = toes_y = 0.0   # area-weighted sum of the toe directions
    for stance in stances:
        foot = stance.foot
        if not shows_axis(foot, config):
            continue
        c, s = math.cos(foot.axis), math.sin(foot.axis)
        rolled = float(stance.roll @ (c, s))
        sign = toes_by_shape(foot, cols)
        if sign:
            stance.toes = foot.axis if sign > 0 else foot.axis + math.pi
        elif stance.toes is not None:
            sign = 1.0 if math.cos(foot.axis - stance.toes) >= 0 else -1.0
        elif abs(rolled) >= HEEL_TO_TOE_ROLL:
            sign = 1.0 if rolled > 0 else -1.0
        elif reference is not None:
            sign = 1.0 if math.cos(foot.axis - reference) >= 0 else -1.0
        else:
            continue
        toes_x += sign * foot.area * c
        toes_y += sign * foot.area * s
    if toes_x or toes_y:
        return math.atan2(toes_y, toes_x)
    if previous is not None and reference is not None and math.cos(reference - previous) < 0:
        return previous
    return reference


def heading_along_path(feet_heading: float | None, path_velocity: np.ndarray, config: TrackerConfig) -> float | None:
    """[rad] Which way a person faces: `feet_heading` (`heading_from_feet`), and while they walk, the mean of it
    and their path's direction. Walking (the centre of pressure's `path_velocity` over heading_path_time at
    least heading_min_speed), the body faces along its path, which turns with the body while a planted foot
    points where it landed, but sways a step width from foot to foot: two estimates of one direction that
    err apart. The feet tell forward from backward (the path's direction if they point within 90 degrees of
    it, else the opposite), and steps sideways or turns on the spot from walking: feet pointing more than
    side_step_angle across the path keep the feet's heading alone."""
    if feet_heading is None or math.hypot(*path_velocity) < config.heading_min_speed:
        return feet_heading
    path = math.atan2(path_velocity[1], path_velocity[0])
    if abs(math.sin(feet_heading - path)) > math.sin(math.radians(config.side_step_angle)):
        return feet_heading
    if math.cos(feet_heading - path) < 0:
        path += math.pi
    return math.atan2(math.sin(path) + math.sin(feet_heading), math.cos(path) + math.cos(feet_heading))


def toes_by_shape(foot: Foot, cols: int) -> float:
    """+1 if `foot`'s toes are at the end its axis points to, -1 if at the other, 0 if its shape does not tell.
    A whole foot's contact is wide at the forefoot (metatarsal heads and toes) and narrow along the midfoot to
    the heel, so its cells bunch towards the toes with a long tail towards the heel: their skewness along the
    axis is negative towards the toes. No pressure and no motion needed: a foot walking backwards, or flat on
    the spot, shows it too (on the simulator's tuning scenes it tells 97 % of the whole feet whose axis is right,
    and is right for 98.6 % of those: `presstrack-heading`)."""
    rows, columns = np.divmod(foot.cells, cols)
    along = columns * math.cos(foot.axis) + rows * math.sin(foot.axis)   # [cells]: skewness has no unit
    along = along - np.add.reduce(along) / along.size   # ndarray.mean's sum, without its Python layers
    spread = float(np.dot(along, along))
    if spread == 0.0:
        return 0.0
    skew = float(np.dot(along * along, along)) * math.sqrt(along.size / spread) / spread
    return -math.copysign(1.0, skew) if SHAPE_SKEW <= abs(skew) <= SHAPE_SKEW_MAX else 0.0


def same_cells(a: Foot, b: Foot) -> bool:
    """Whether feet `a` and `b` share a cell (their boxes first: most pairs are far apart)."""
    (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = a.box, b.box
    if ax1 >= bx2 or bx1 >= ax2 or ay1 >= by2 or by1 >= ay2:
        return False
    # A table over the span of b's flat indices (a few thousand cells): cheaper than np.isin's sort.
    low = int(b.cells.min())
    table = np.zeros(int(b.cells.max()) - low + 1, dtype=bool)
    table[b.cells - low] = True
    shifted = a.cells - low
    return bool(table[shifted[(shifted >= 0) & (shifted < table.size)]].any())


def shows_axis(foot: Foot, config: TrackerConfig) -> bool:
    """Whether `foot` is a whole foot's contact, which shows a walking axis and a foot's length: at least half
    as long as the longest foot allowed and FOOT_ELONGATION times as long as its mean width (area / length; a
    foot's is ~3: a heel or toes alone, or two feet pressed side by side, are not)."""
    return foot.length_m >= 0.5 * config.foot_length_max and foot.length_m * foot.length_m >= FOOT_ELONGATION * foot.area
