"""Sitting on a chair placed on the mat: the chair's four legs and the sitter's feet share the weight.

Seated upright with the thighs on the seat, the shins upright and the feet flat on the floor, the feet carry
SEATED_FEET_SHARE of the body weight and the seat the rest, which reaches the floor through the chair's legs together
with the chair's own weight. Mbada et al. 2016 ("Biomechanical effect of sitting postures on sitting load and feet
weight in apparently healthy individuals", Nigerian J. Health Sci. 16:15-21; 210 adults on a weighing chair with
their feet on a scale) measured 12.6, 15.9 and 19.6 kg of 64.5 kg on the feet sitting sacroischially,
ischiofemorally and ischially: 20 %, 24 % and 30 % of the weight. The share is drawn per sitter from that range.

The sitter's standing gait (feet planted where they stand) is turned into the seated pose in place: the pelvis goes
back by the thigh's length and down until the thighs are level, the torso upright, and the legs are solved again
for the planted ankles. The chair is a floor object of kind 'chair' (objects.py): its legs are no one's contacts in
the ground truth (`cell_object`), the feet are the sitter's (`cell_owner`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from presstrack_body import kinematics

from .gait import ANKLE, GRAVITY, HIP, JOINT, KNEE, SIDES, SIDES_I, BodyGeometry, Footsteps, GaitTrack, upright
from .objects import FloorObject

SEATED_FEET_SHARE = (0.20, 0.30)  # of body weight on the feet (Mbada et al. 2016)
CHAIR_MASS_KG = (4.0, 9.0)  # a wooden or metal dining or office chair without castors
CHAIR_LEG_M = 0.03  # diameter of a leg's foot
CHAIR_SPAN_PER_THIGH = 0.8  # leg spacing (front to back and side to side) over the sitter's thigh length ...
CHAIR_SPAN_M = (0.25, 0.42)  # ... within a child's and a dining chair's
SEAT_AHEAD_M = 0.05  # the seat's centre lies this far ahead of the pelvis joint (under the thighs' roots)


@dataclass(frozen=True)
class Seat:
    """Where one sitter sits: pelvis (3,) world position of the pelvis joint seated; yaw rad the way they face;
    feet_share of the body weight on the feet; chair_mass kg; span m between the chair's legs."""

    pelvis: np.ndarray
    yaw: float
    feet_share: float
    chair_mass: float
    span: float

    @property
    def chair_centre(self) -> np.ndarray:
        """(2,) world xy of the centre of the chair's seat."""
        return self.pelvis[:2] + SEAT_AHEAD_M * np.array([np.cos(self.yaw), np.sin(self.yaw)])


def plan_seat(body: BodyGeometry, steps: Footsteps, rng: np.random.Generator) -> Seat:
    """The seat of a person whose feet stay where its first (standing) footsteps put them: the pelvis behind them
    by the thigh's length, at the height of the knee over the floor plus the pelvis' height over the hips (level
    thighs, upright shins)."""
    joints = body.rest_joints
    left, right = steps.of_side(0)[0], steps.of_side(1)[0]
    feet = 0.5 * (steps.position[left] + steps.position[right])
    yaw = float(np.angle(np.exp(1j * steps.yaw[left]) + np.exp(1j * steps.yaw[right])))  # between the toe-outs
    thigh = float(np.mean([np.linalg.norm(joints[KNEE[s]] - joints[HIP[s]]) for s in SIDES_I]))
    floor = min(points[:, 1].min() for points in body.sole_points)
    knee_height = float(np.mean([joints[KNEE[s], 1] for s in SIDES_I])) - floor
    pelvis_over_hips = float(joints[0, 1] - np.mean([joints[HIP[s], 1] for s in SIDES_I]))
    forward = np.array([np.cos(yaw), np.sin(yaw)])
    pelvis = np.array([*(feet - thigh * forward), knee_height + pelvis_over_hips])
    return Seat(pelvis, yaw, float(rng.uniform(*SEATED_FEET_SHARE)), float(rng.uniform(*CHAIR_MASS_KG)),
                float(np.clip(CHAIR_SPAN_PER_THIGH * thigh, *CHAIR_SPAN_M)))


def sit(track: GaitTrack, start: int, stop: int, body: BodyGeometry, seat: Seat) -> None:
    """Turn frames [start, stop) of a standing track (in place) into sitting on `seat`: pelvis on the seat, torso
    upright, legs solved for the planted ankles, the feet's force scaled to the seated share."""
    frames = slice(start, stop)
    pose, count = track.pose[frames].copy(), stop - start
    _, rotations = kinematics.forward_kinematics(body.rest_joints, pose, track.transl[frames])
    ankles = track.joints[frames][:, list(ANKLE)]
    pose[:, :3] = kinematics.matrix_to_axis_angle(upright(np.full(count, seat.yaw)))
    for name in ("spine1", "spine2", "spine3"):  # no walking lean or twist
        pose[:, 3 * JOINT[name]:3 * JOINT[name] + 3] = 0.0
    transl = np.broadcast_to(seat.pelvis - body.rest_joints[0], (count, 3)).copy()
    for side in SIDES_I:
        pose = kinematics.solve_leg_ik(body.rest_joints, pose, transl, SIDES[side], ankles[:, side],
                                       rotations[:, ANKLE[side]])
    joints, _ = kinematics.forward_kinematics(body.rest_joints, pose, transl)
    track.pose[frames], track.transl[frames], track.joints[frames] = pose, transl, joints
    track.force[frames] *= seat.feet_share


def chair(seat: Seat, weight_newton: float, frames: int) -> FloorObject:
    """The chair under `seat` as a floor object: four legs around the seat's centre, each carrying a quarter of
    the chair's weight and of the sitter's weight not on their feet (`weight_newton`: body and any load)."""
    forward = np.array([np.cos(seat.yaw), np.sin(seat.yaw)])
    left = np.array([-forward[1], forward[0]])
    half = 0.5 * seat.span
    legs = np.array([seat.chair_centre + a * half * forward + b * half * left
                     for a, b in ((1, 1), (1, -1), (-1, 1), (-1, -1))])
    load = (seat.chair_mass * GRAVITY + (1.0 - seat.feet_share) * weight_newton) / 4.0
    return FloorObject("chair", seat.chair_mass, np.broadcast_to(legs, (frames, 4, 2)), np.full((frames, 4), load),
                       CHAIR_LEG_M)
