"""Where several people's footsteps may land: never on a foot another person has on the floor.

Each person's footsteps are planned from their own motion plan (gait.plan_footsteps), blind to the others. People
who walk close (a dance couple in closed hold, strangers passing) would then often plant a foot on cells a
partner's foot still presses, which real people do not do: they shorten the step or set the foot a little aside.
`keep_feet_apart` does the same, in heel-strike order over everyone: a footstep whose sole would overlap (with
`FOOT_CLEARANCE` to spare) a sole of another person in stance at the same time is moved to the nearest free spot
among placements short of, beyond and beside its plan, keeping clear of the person's own feet too.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .gait import ANKLE, BodyGeometry, Footsteps

FOOT_CLEARANCE = 0.01  # m kept free between two people's soles
# m a footstep may land short of its plan (back along its heading; < 0: beyond it)
SHORTEN_STEPS = np.arange(-0.10, 0.301, 0.025)
SIDESTEPS = np.arange(-0.20, 0.201, 0.025)  # m it may land aside (across its heading)


@dataclass(frozen=True)
class SoleRectangle:
    """A sole's extent around the ankle with the foot flat (m): back to front along the foot's heading, and right to
    left across it."""

    back: float
    front: float
    right: float
    left: float

    @classmethod
    def of(cls, body: BodyGeometry, side: int) -> SoleRectangle:
        # Rest frame: x left, z forward.
        offset = body.sole_points[side] - body.rest_joints[ANKLE[side]]
        return cls(float(offset[:, 2].min()), float(offset[:, 2].max()), float(offset[:, 0].min()),
                   float(offset[:, 0].max()))

    def corners(self, position: np.ndarray, yaw: float, margin: float) -> np.ndarray:
        """(4, 2) world corners of the sole of a foot whose ankle is at `position` (x, y), heading `yaw`, grown by
        `margin` on every side."""
        forward = np.array([np.cos(yaw), np.sin(yaw)])
        left = np.array([-forward[1], forward[0]])
        along = (self.back - margin, self.front + margin)
        across = (self.right - margin, self.left + margin)
        return np.array([position + a * forward + c * left for a, c in itertools.product(along, across)])


def rectangles_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two rectangles, given by their (4, 2) corners, overlap (separating axis test)."""
    for corners in (a, b):
        for edge in (corners[1] - corners[0], corners[2] - corners[0]):
            normal = np.array([-edge[1], edge[0]])
            pa, pb = a @ normal, b @ normal
            if pa.max() <= pb.min() or pb.max() <= pa.min():
                return False
    return True


def keep_feet_apart(steps: list[Footsteps], bodies: list[BodyGeometry]) -> int:
    """Move (in place) footsteps that would land on another person's foot in stance; returns how many moved.

    Footsteps are taken in heel-strike order over all people; each is checked against the soles already placed
    whose stance overlaps its own ([strike, toe_off]). A footstep that overlaps another person's sole (each grown by
    half of FOOT_CLEARANCE) goes to the placement nearest its plan, among landing SHORTEN_STEPS short (or beyond) and
    SIDESTEPS aside, that overlaps neither another person's sole nor the person's own other foot. When none is
    free it stays where it was planned (people pressed together in a crowd do tread on toes).
    """
    soles = [tuple(SoleRectangle.of(body, side) for side in (0, 1)) for body in bodies]
    candidates = sorted(((float(np.hypot(back, aside)), float(back), float(aside))
                         for back in SHORTEN_STEPS for aside in SIDESTEPS), key=lambda c: c[0])[1:]
    order = sorted(((float(s.strike[k]), person, k) for person, s in enumerate(steps) for k in range(len(s.strike))))
    standing: list[tuple[float, int, np.ndarray]] = []   # (toe-off, person, corners) of the soles placed so far
    half = FOOT_CLEARANCE / 2
    moved = 0
    for strike, person, k in order:
        footsteps = steps[person]
        sole = soles[person][footsteps.side[k]]
        yaw = float(footsteps.yaw[k])
        standing = [placed for placed in standing if placed[0] > strike]

        def clashes(position: np.ndarray, own_feet_too: bool) -> bool:
            corners = sole.corners(position, yaw, half)
            return any((other != person or own_feet_too) and rectangles_overlap(corners, theirs)
                       for _, other, theirs in standing)

        position = footsteps.position[k]
        if clashes(position, own_feet_too=False):
            forward = np.array([np.cos(yaw), np.sin(yaw)])
            left = np.array([-forward[1], forward[0]])
            for _, back, aside in candidates:
                candidate = position - back * forward + aside * left
                if not clashes(candidate, own_feet_too=True):
                    footsteps.position[k] = position = candidate
                    moved += 1
                    break
        standing.append((float(footsteps.toe_off[k]), person, sole.corners(position, yaw, half)))
    return moved
