"""TF frames of a recovered body per REP-103 and REP-155 (pure numpy, no rclpy).

``body_<id>`` sits at the hip midpoint with x forward, y left, z up (world up), as REP-155 names a body's
root frame (``<id>`` is the body's REP-155 id, ``b<track_id>``: ``body_b7``); below it the 24 SMPL joints
form the SMPL kinematic tree as ``<joint>_<id>`` frames, each parented to its SMPL parent joint (the pelvis
to ``body_<id>``). Joint frames use the same axes as the body frame in the rest pose (x forward, y left,
z up), not SMPL's y-up body axes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from presstrack_body.kinematics import JOINT_NAMES, PARENTS

LEFT_HIP, RIGHT_HIP = JOINT_NAMES.index("left_hip"), JOINT_NAMES.index("right_hip")
# Columns: the REP-103 body axes (x forward, y left, z up) in SMPL's rest body axes (x left, y up, z forward).
SMPL_FROM_REP103_AXES = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
WORLD_UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class FrameTransform:
    """The pose of ``child`` in ``parent``: translation [m] and 3x3 rotation (child axes in parent axes)."""

    parent: str
    child: str
    translation: np.ndarray
    rotation: np.ndarray


def hri_id(track_id: int) -> str:
    """The body's REP-155 id: a valid ROS name token (none starts with a digit), the same for the track's life."""
    return f"b{track_id}"


def body_frame_name(track_id: int) -> str:
    return f"body_{hri_id(track_id)}"


def joint_frame_name(joint: str, track_id: int) -> str:
    return f"{joint}_{hri_id(track_id)}"


def body_pose(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Origin (3,) and rotation (3, 3) of the body frame in the joints' frame (z up): hip midpoint, x forward
    (the horizontal normal of the hip line, to the body's front), y left, z up."""
    joints = np.asarray(joints, dtype=float)
    left = joints[LEFT_HIP] - joints[RIGHT_HIP]
    left = left - WORLD_UP * (left @ WORLD_UP)
    norm = np.linalg.norm(left)
    # Hips exactly above each other (never in a standing or walking body): keep an arbitrary heading.
    left = left / norm if norm > 1e-9 else np.array([0.0, 1.0, 0.0])
    forward = np.cross(left, WORLD_UP)
    return (joints[LEFT_HIP] + joints[RIGHT_HIP]) / 2.0, np.column_stack([forward, left, WORLD_UP])


def body_transforms(track_id: int, joints: np.ndarray, rotations: np.ndarray, reference_frame: str,
                    reference_from_world: np.ndarray, with_joints: bool) -> list[FrameTransform]:
    """``body_<id>`` in ``reference_frame`` and, when ``with_joints``, the joint tree below it.

    joints (24, 3) and rotations (24, 3, 3) are the SMPL joints and global joint rotations in the world
    (z up); reference_from_world (4, 4) places the world in the reference frame.
    """
    origin, body_rotation = body_pose(joints)
    ref_rotation, ref_translation = reference_from_world[:3, :3], reference_from_world[:3, 3]
    body = body_frame_name(track_id)
    transforms = [FrameTransform(reference_frame, body, ref_rotation @ origin + ref_translation,
                                 ref_rotation @ body_rotation)]
    if not with_joints:
        return transforms
    joint_rotations = np.asarray(rotations, dtype=float) @ SMPL_FROM_REP103_AXES  # world axes of each joint frame
    for index, name in enumerate(JOINT_NAMES):
        parent = int(PARENTS[index])
        if parent < 0:
            parent_name, parent_origin, parent_rotation = body, origin, body_rotation
        else:
            parent_name, parent_origin, parent_rotation = (joint_frame_name(JOINT_NAMES[parent], track_id),
                                                           joints[parent], joint_rotations[parent])
        transforms.append(FrameTransform(parent_name, joint_frame_name(name, track_id),
                                         parent_rotation.T @ (joints[index] - parent_origin),
                                         parent_rotation.T @ joint_rotations[index]))
    return transforms
