"""Footsteps of several people kept off each other's feet (sim/footing.py), on hand-made soles and steps."""
from __future__ import annotations

import math

import numpy as np

from presstrack_sim.footing import FOOT_CLEARANCE, SoleRectangle, keep_feet_apart, rectangles_overlap
from presstrack_sim.gait import ANKLE, BodyGeometry, Footsteps


def _body() -> BodyGeometry:
    """A body whose soles are 25 x 10 cm boxes, 5 cm behind to 20 cm ahead of the ankle (rest frame: x left, z
    forward)."""
    joints = np.zeros((24, 3))
    sole = np.array([[x, 0.0, z] for x in (-0.05, 0.05) for z in (-0.05, 0.20)])
    return BodyGeometry(betas=np.zeros(10), rest_joints=joints, sole_points=(sole, sole),
                        toe_mask=(np.zeros(4, bool), np.zeros(4, bool)), heel_pivot=(joints[ANKLE[0]], joints[ANKLE[1]]),
                        height=1.7, mass=70.0)


def _steps(rows: list[tuple[int, float, float, tuple[float, float], float]]) -> Footsteps:
    """Footsteps from (side, strike, toe_off, position, yaw) rows."""
    count = len(rows)
    zeros = np.zeros(count)
    return Footsteps(side=np.array([r[0] for r in rows]), strike=np.array([r[1] for r in rows]),
                     toe_off=np.array([r[2] for r in rows]), position=np.array([r[3] for r in rows], dtype=float),
                     yaw=np.array([r[4] for r in rows]), heel_pitch=zeros, toe_pitch=zeros, heel_duration=zeros,
                     toe_duration=zeros, clearance=zeros, speed=zeros, stance_fraction=zeros)


def test_rectangles_overlap_only_when_they_share_area():
    sole = SoleRectangle(-0.05, 0.20, -0.05, 0.05)
    here = sole.corners(np.array([0.0, 0.0]), 0.0, 0.0)
    assert rectangles_overlap(here, sole.corners(np.array([0.2, 0.05]), 0.0, 0.0))
    assert not rectangles_overlap(here, sole.corners(np.array([0.0, 0.11]), 0.0, 0.0))
    # Rotated a quarter turn about a point 15 cm to the side: its heel-to-toe span crosses the first sole.
    assert rectangles_overlap(here, sole.corners(np.array([0.1, -0.1]), math.pi / 2, 0.0))
    assert not rectangles_overlap(here, sole.corners(np.array([0.3, -0.1]), math.pi / 2, 0.0))


def test_a_step_onto_a_partners_standing_foot_lands_at_the_nearest_free_spot():
    body = _body()
    # Partner A stands on a foot at the origin, facing +x, until t = 2 s.
    partner = _steps([(0, -1.0, 2.0, (0.0, 0.0), 0.0)])
    # B faces A (-x) and steps at t = 1 s with its toes onto A's toes; its other foot stands well clear.
    walker = _steps([(1, -1.0, 0.9, (0.6, -0.3), math.pi), (0, 1.0, 3.0, (0.35, 0.0), math.pi)])
    planned = walker.position.copy()

    assert keep_feet_apart([partner, walker], [body, body]) == 1
    np.testing.assert_array_equal(walker.position[0], planned[0])
    np.testing.assert_array_equal(partner.position, [[0.0, 0.0]])
    moved = walker.position[1]
    sole = SoleRectangle.of(body, 0)
    half = FOOT_CLEARANCE / 2
    assert not rectangles_overlap(sole.corners(moved, math.pi, half), sole.corners(partner.position[0], 0.0, half))
    # Toes 5 cm over A's toes: landing 6 cm short (on the 2.5 cm grid, 7.5) is nearer than 11 cm aside.
    np.testing.assert_allclose(moved, planned[1] + [0.075, 0.0], atol=1e-9)


def test_a_step_after_the_partner_lifted_their_foot_stays_where_planned():
    body = _body()
    partner = _steps([(0, -1.0, 0.8, (0.0, 0.0), 0.0)])
    walker = _steps([(0, 1.0, 3.0, (0.30, 0.0), math.pi)])
    assert keep_feet_apart([partner, walker], [body, body]) == 0
    np.testing.assert_array_equal(walker.position[0], [0.30, 0.0])


def test_a_persons_own_feet_are_not_moved_apart():
    # Feet of one person may touch (turning on the spot); only other people's feet make a step move.
    body = _body()
    alone = _steps([(0, -1.0, 3.0, (0.0, 0.0), 0.0), (1, 1.0, 3.0, (0.05, 0.02), 0.0)])
    assert keep_feet_apart([alone], [body]) == 0
