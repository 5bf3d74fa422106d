"""Which way a tracked person faces, from their feet on the mat: each whole foot's long axis, its toe end told
by the heel-to-toe roll of its centre of pressure since it landed."""
from __future__ import annotations

import math

import numpy as np

from .config import TrackerConfig
from .detection import Foot

FOOT_ELONGATION = 2.0    # a foot's contact is at least this many times as long as its mean width
HEEL_TO_TOE_ROLL = 0.05  # [m] a stance foot's centre of pressure rolls from heel to toes (12-18 cm in a walking step);
                         # standing sway moves it a few cm, either way


def heading_from_feet(feet: list[Foot], rolls: list[np.ndarray], velocity: np.ndarray, previous: float | None,
                      config: TrackerConfig) -> float | None:
    """[rad] Which way a person faces: the mean toe direction of their feet that show a long axis (`shows_axis`;
    feet point where people walk, within a few degrees of toe-out; a mean of directions, not of axes, so the
    two feet of a turn give the body's facing between them). A foot's toes are the end of its axis its centre
    of pressure rolled towards since it landed (`rolls`: heel to toes in stance, whichever way the body moves),
    once that is HEEL_TO_TOE_ROLL; a foot not rolled that far (landing, flat in a turn on the spot, standing)
    points the end nearer the reference: the walking direction (`velocity`, over the last step) from
    heading_min_speed, else the previous heading. Where no foot shows an axis, that reference itself; None while
    nothing tells."""
    moving = math.hypot(*velocity) >= config.heading_min_speed
    reference = math.atan2(velocity[1], velocity[0]) if moving else previous
    toes_x = toes_y = 0.0   # area-weighted sum of the toe directions
    for foot, (roll_x, roll_y) in zip(feet, rolls):
        if not shows_axis(foot, config):
            continue
        c, s = math.cos(foot.axis), math.sin(foot.axis)
        rolled = roll_x * c + roll_y * s
        if abs(rolled) >= HEEL_TO_TOE_ROLL:
            sign = 1.0 if rolled > 0 else -1.0
        elif reference is not None:
            sign = 1.0 if math.cos(foot.axis - reference) >= 0 else -1.0
        else:
            continue
        toes_x += sign * foot.area * c
        toes_y += sign * foot.area * s
    return math.atan2(toes_y, toes_x) if toes_x or toes_y else reference


def foot_rolls(feet: list[Foot], landings: list[tuple[Foot, np.ndarray]]
               ) -> tuple[list[np.ndarray], list[tuple[Foot, np.ndarray]]]:
    """(x, y) [m] how far each of `feet`'s centre of pressure moved since the foot landed, and their landings
    for the next frame. A foot in stance does not move: one sharing a cell with a foot of the last frame
    (`landings`: each with the CoP it landed with) is that foot, any other has just landed."""
    rolls, now = [], []
    for foot in feet:
        landed = next((cop for before, cop in landings if same_cells(foot, before)), foot.centroid_m)
        rolls.append(foot.centroid_m - landed)
        now.append((foot, landed))
    return rolls, now


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
