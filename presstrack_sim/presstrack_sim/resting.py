"""Kneeling and lying on the floor: large contacts that carry the whole body weight.

Kneeling upright ("tall kneeling"): torso and thighs upright, knees bent a right angle, shins flat on the floor
behind, ankles stretched so the backs of the feet lie on it: knees, shins and feet press the mat. Lying on the back:
the body straight with the arms at its sides, head, shoulder blades, back, buttocks, calves and heels press the mat.
Either way the person rests there, still, for the whole scene, and the floor carries their whole weight (and any
load they hold): the contact is every vertex of the posed mesh within REST_CONTACT_M of the floor (the soft tissue of
buttocks, back, calves and knees flattens by a few centimetres under the body's weight, which a rigid mesh does
not), each standing for the floor area of the faces around it, and the load goes to them as the soles' does, the
more the closer to the floor (pressure.py).

The rester's standing gait (a plan that stands still) is replaced in place by the resting pose; its force columns,
per foot for walkers, hold half of the weight on the floor each (the whole contact's force, split in two), and both
contact flags are set: the person is on the floor.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from presstrack_body import kinematics
from presstrack_body.model import BodyModel

from .gait import ANKLE, JOINT, KNEE, SIDES_I, BodyGeometry, GaitTrack, upright
from .people import sole_vertex_areas

POSTURES = ("kneel", "lie")
KNEEL_KNEE_FLEXION = np.deg2rad(90.0)
KNEEL_ANKLE_STRETCH = np.deg2rad(70.0)  # plantar flexion that lays the backs of the feet on the floor
REST_CONTACT_M = 0.04  # m of the body over the floor that still presses on it, resting


@dataclass(frozen=True)
class Rest:
    """A person resting on the floor: pose (72,) and transl (3,) SMPL in the world; contact_ids (K,) the posed
    mesh's vertices on the floor and contact_areas (K,) m^2 of floor each stands for."""

    posture: str
    pose: np.ndarray
    transl: np.ndarray
    contact_ids: np.ndarray
    contact_areas: np.ndarray


def _arms_down(pose: np.ndarray, body: BodyGeometry) -> None:
    for side, sign in (("left", 1.0), ("right", -1.0)):
        pose[3 * JOINT[f"{side}_shoulder"] + 2] = -sign * body.arm_drop


def plan_rest(model: BodyModel, body: BodyGeometry, posture: str, pelvis_xy: np.ndarray, yaw: float) -> Rest:
    """The resting pose of `body` with its pelvis over `pelvis_xy` (world), facing (kneeling) or with its head
    towards (lying) `yaw`, lowered until its lowest point touches the floor; and its contact with the floor."""
    if posture not in POSTURES:
        raise ValueError(f"posture must be one of {', '.join(POSTURES)}, got {posture!r}")
    pose = np.zeros(kinematics.POSE_DIM)
    _arms_down(pose, body)
    if posture == "kneel":
        pose[:3] = kinematics.matrix_to_axis_angle(upright(yaw))
        for side in SIDES_I:
            pose[3 * KNEE[side]] = KNEEL_KNEE_FLEXION
            pose[3 * ANKLE[side]] = KNEEL_ANKLE_STRETCH
    else:
        head = np.array([np.cos(yaw), np.sin(yaw), 0.0])
        up = np.array([0.0, 0.0, 1.0])
        # Canonical x (left), y (head), z (face) go to head x up, the head's way and up: on the back.
        pose[:3] = kinematics.matrix_to_axis_angle(np.stack([np.cross(head, up), head, up], axis=1))
    transl = np.array([*pelvis_xy, 0.0]) - body.rest_joints[0] * [1.0, 1.0, 0.0]
    with torch.no_grad():
        vertices, joints = model.pose_body(body.betas, pose[None], transl[None])
    vertices, pelvis = vertices[0].double().numpy(), joints[0, 0].double().numpy()
    # Put the pelvis over the asked spot, and the lowest point of the body on the floor.
    shift = np.array([*(pelvis_xy - pelvis[:2]), -vertices[:, 2].min()])
    transl, vertices = transl + shift, vertices + shift
    contact_ids = np.flatnonzero(vertices[:, 2] < REST_CONTACT_M)
    # Floor area of the faces around each vertex: the posed mesh turned so its up (z) is the rest frame's y (a
    # cyclic change of axes keeps the faces' winding).
    areas = sole_vertex_areas(vertices[:, [1, 2, 0]], np.asarray(model.faces), contact_ids)
    return Rest(posture, pose, transl, contact_ids, areas)


def rest(track: GaitTrack, start: int, stop: int, body: BodyGeometry, resting: Rest) -> None:
    """Frames [start, stop) of a standing track (in place) become resting on the floor: the resting pose, its
    joints, the whole weight the track's feet carried on the floor contact (half in each force column)."""
    frames = slice(start, stop)
    count = stop - start
    joints, _ = kinematics.forward_kinematics(body.rest_joints, resting.pose, resting.transl)
    track.pose[frames], track.transl[frames] = resting.pose, resting.transl
    track.joints[frames] = joints
    weight = track.force[frames].sum(axis=1, keepdims=True)
    track.force[frames] = np.broadcast_to(0.5 * weight, (count, 2))
    track.contact[frames] = True
