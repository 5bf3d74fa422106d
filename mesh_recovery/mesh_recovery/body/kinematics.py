"""The one skeleton of the code base: the 24 SMPL joints, rotations, forward kinematics, leg IK.

Pure numpy, batched over any leading axes. Conventions are SMPL's: a pose is 72 numbers, the
axis-angle rotation of each of the 24 joints relative to its parent (joint 0 = global
orientation), every joint's rest orientation is the identity, and the posed joints are
rotated about the rest pelvis position before `transl` is added.
"""

from __future__ import annotations

import numpy as np

JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)
NUM_JOINTS = len(JOINT_NAMES)
POSE_DIM = 3 * NUM_JOINTS

PARENTS: np.ndarray = np.array(
    [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21],
    dtype=np.int64,
)
PARENTS.setflags(write=False)

# hip, knee, ankle joint indices of each leg.
LEG_JOINTS: dict[str, tuple[int, int, int]] = {"left": (1, 4, 7), "right": (2, 5, 8)}

# Below this angle (rad) rotations use Taylor expansions instead of dividing by sin(angle).
_SMALL_ANGLE = 1e-6


def _check_last_dims(name: str, array: np.ndarray, shape: tuple[int, ...]) -> None:
    if array.shape[array.ndim - len(shape) :] != shape or array.ndim < len(shape):
        raise ValueError(f"{name} must have shape (..., {', '.join(map(str, shape))}), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")


def _skew(v: np.ndarray) -> np.ndarray:
    """Cross-product matrices of vectors v (..., 3) -> (..., 3, 3)."""
    zero = np.zeros_like(v[..., 0])
    return np.stack(
        [
            np.stack([zero, -v[..., 2], v[..., 1]], axis=-1),
            np.stack([v[..., 2], zero, -v[..., 0]], axis=-1),
            np.stack([-v[..., 1], v[..., 0], zero], axis=-1),
        ],
        axis=-2,
    )


def axis_angle_to_matrix(axis_angle: np.ndarray) -> np.ndarray:
    """Rodrigues' formula.

    Args:
        axis_angle: (..., 3) rotation axis times angle (rad).
    Returns:
        (..., 3, 3) rotation matrices.
    """
    aa = np.asarray(axis_angle, dtype=np.float64)
    _check_last_dims("axis_angle", aa, (3,))
    angle = np.linalg.norm(aa, axis=-1)[..., None, None]
    small = angle < _SMALL_ANGLE
    safe_angle = np.where(small, 1.0, angle)
    # sin(a)/a and (1-cos(a))/a^2, with their Taylor limits near zero.
    sin_term = np.where(small, 1.0 - angle**2 / 6.0, np.sin(safe_angle) / safe_angle)
    cos_term = np.where(small, 0.5 - angle**2 / 24.0, (1.0 - np.cos(safe_angle)) / safe_angle**2)
    k = _skew(aa)
    return np.eye(3) + sin_term * k + cos_term * (k @ k)


def matrix_to_axis_angle(rotation: np.ndarray) -> np.ndarray:
    """Inverse of `axis_angle_to_matrix`, stable for every angle in [0, pi].

    Goes through a unit quaternion (Shepperd's method) so that angles near pi keep their axis.

    Args:
        rotation: (..., 3, 3) rotation matrices.
    Returns:
        (..., 3) axis-angle vectors with angle in [0, pi].
    """
    r = np.asarray(rotation, dtype=np.float64)
    _check_last_dims("rotation", r, (3, 3))
    if not np.allclose(r @ np.swapaxes(r, -1, -2), np.eye(3), atol=1e-4) or not np.allclose(
        np.linalg.det(r), 1.0, atol=1e-4
    ):
        raise ValueError("rotation must hold proper rotation matrices (orthonormal, det +1)")
    trace = r[..., 0, 0] + r[..., 1, 1] + r[..., 2, 2]
    # Four candidate quaternions (w, x, y, z); each is accurate when its pivot is the largest.
    candidates = np.stack(
        [
            np.stack([1 + trace, r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0], r[..., 1, 0] - r[..., 0, 1]], -1),
            np.stack([r[..., 2, 1] - r[..., 1, 2], 1 + 2 * r[..., 0, 0] - trace, r[..., 0, 1] + r[..., 1, 0], r[..., 0, 2] + r[..., 2, 0]], -1),
            np.stack([r[..., 0, 2] - r[..., 2, 0], r[..., 0, 1] + r[..., 1, 0], 1 + 2 * r[..., 1, 1] - trace, r[..., 1, 2] + r[..., 2, 1]], -1),
            np.stack([r[..., 1, 0] - r[..., 0, 1], r[..., 0, 2] + r[..., 2, 0], r[..., 1, 2] + r[..., 2, 1], 1 + 2 * r[..., 2, 2] - trace], -1),
        ],
        axis=-2,
    )
    pivots = np.stack([trace, r[..., 0, 0], r[..., 1, 1], r[..., 2, 2]], axis=-1)
    best = np.argmax(pivots, axis=-1)[..., None, None]
    quat = np.take_along_axis(candidates, np.broadcast_to(best, best.shape[:-2] + (1, 4)), axis=-2)[..., 0, :]
    quat = quat / np.linalg.norm(quat, axis=-1, keepdims=True)
    quat = np.where(quat[..., :1] < 0, -quat, quat)  # w >= 0 gives angle in [0, pi]
    sin_half = np.linalg.norm(quat[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(sin_half, quat[..., :1])
    small = sin_half < _SMALL_ANGLE
    scale = np.where(small, 2.0 / np.maximum(quat[..., :1], _SMALL_ANGLE), angle / np.where(small, 1.0, sin_half))
    return quat[..., 1:] * scale


def rotation_between(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Smallest rotation taking direction `source` onto direction `target`.

    Args:
        source, target: (..., 3) non-zero directions; the leading axes broadcast.
    Returns:
        (..., 3, 3) rotation matrices.
    """
    a = np.asarray(source, dtype=np.float64)
    b = np.asarray(target, dtype=np.float64)
    _check_last_dims("source", a, (3,))
    _check_last_dims("target", b, (3,))
    a_norm = np.linalg.norm(a, axis=-1, keepdims=True)
    b_norm = np.linalg.norm(b, axis=-1, keepdims=True)
    if np.any(a_norm < 1e-12) or np.any(b_norm < 1e-12):
        raise ValueError("rotation_between needs two non-zero directions")
    a, b = np.broadcast_arrays(a / a_norm, b / b_norm)
    axis = np.cross(a, b)
    sin_angle = np.linalg.norm(axis, axis=-1, keepdims=True)
    cos_angle = np.clip(np.einsum("...i,...i->...", a, b), -1.0, 1.0)[..., None]
    parallel = sin_angle < 1e-12
    rotation = np.where(parallel, 0.0, axis / np.where(parallel, 1.0, sin_angle) * np.arctan2(sin_angle, cos_angle))
    # Opposite directions: half turn about any axis perpendicular to a.
    helper = np.eye(3)[np.argmin(np.abs(a), axis=-1)]
    perpendicular = np.cross(a, helper)
    half_turn = np.pi * perpendicular / np.linalg.norm(perpendicular, axis=-1, keepdims=True)
    return axis_angle_to_matrix(np.where(parallel & (cos_angle <= 0), half_turn, rotation))


def forward_kinematics(
    rest_joints: np.ndarray, pose: np.ndarray, transl: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Posed joint positions and global joint rotations, exactly as SMPL computes its joints.

    Args:
        rest_joints: (..., 24, 3) joints of the body in its rest (T) pose, metres.
        pose: (..., 72) axis-angle rotations of the 24 joints relative to their parents.
        transl: (..., 3) translation added to every joint, metres.
    The leading axes broadcast against each other.
    Returns:
        joints: (..., 24, 3) posed joint positions.
        global_rotations: (..., 24, 3, 3) rotation of each joint in the output frame.
    """
    rest = np.asarray(rest_joints, dtype=np.float64)
    pose = np.asarray(pose, dtype=np.float64)
    transl = np.asarray(transl, dtype=np.float64)
    _check_last_dims("rest_joints", rest, (NUM_JOINTS, 3))
    _check_last_dims("pose", pose, (POSE_DIM,))
    _check_last_dims("transl", transl, (3,))
    batch = np.broadcast_shapes(rest.shape[:-2], pose.shape[:-1], transl.shape[:-1])
    rest = np.broadcast_to(rest, batch + (NUM_JOINTS, 3))
    local = axis_angle_to_matrix(np.broadcast_to(pose, batch + (POSE_DIM,)).reshape(batch + (NUM_JOINTS, 3)))

    rotations = np.empty(batch + (NUM_JOINTS, 3, 3))
    joints = np.empty(batch + (NUM_JOINTS, 3))
    rotations[..., 0, :, :] = local[..., 0, :, :]
    joints[..., 0, :] = rest[..., 0, :]
    for j in range(1, NUM_JOINTS):
        parent = PARENTS[j]
        rotations[..., j, :, :] = rotations[..., parent, :, :] @ local[..., j, :, :]
        bone = rest[..., j, :] - rest[..., parent, :]
        joints[..., j, :] = joints[..., parent, :] + np.einsum("...ij,...j->...i", rotations[..., parent, :, :], bone)
    return joints + transl[..., None, :], rotations


def solve_leg_ik(
    rest_joints: np.ndarray,
    pose: np.ndarray,
    transl: np.ndarray,
    side: str,
    ankle_target: np.ndarray,
    foot_rotation: np.ndarray | None = None,
) -> np.ndarray:
    """Analytic two-bone IK that puts one ankle at a target with the pelvis held fixed.

    The knee is a hinge about the hip's lateral (x) axis and bends forward (positive flexion,
    heel towards the buttock, as in SMPL). The hip rotation is the smallest swing, seen from
    the pelvis, that points the leg at the target, so the knee faces the pelvis' forward
    direction; any twist the hip had in `pose` is replaced. A target out of reach gives the
    straightest leg the rest geometry allows, pointing at the target; one too close gives the
    most flexed knee.

    Vectorised: every argument may carry leading (batch) axes, which broadcast against each
    other; each batch element is solved independently, exactly as a call on it alone.

    Args:
        rest_joints: (..., 24, 3) rest joints (SMPL canonical frame), metres.
        pose: (..., 72) current pose; every joint but this leg's hip, knee (and ankle) is kept.
        transl: (..., 3) body translation, metres.
        side: "left" or "right".
        ankle_target: (..., 3) wanted ankle position in the output frame of `forward_kinematics`.
        foot_rotation: optional (..., 3, 3) wanted global rotation of the ankle joint (as in
            `forward_kinematics`'s global_rotations); sets the ankle's local rotation. When
            None the ankle keeps its local rotation from `pose`.
    Returns:
        (..., 72) new poses.
    """
    if side not in LEG_JOINTS:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    rest = np.asarray(rest_joints, dtype=np.float64)
    pose = np.asarray(pose, dtype=np.float64)
    transl = np.asarray(transl, dtype=np.float64)
    target = np.asarray(ankle_target, dtype=np.float64)
    _check_last_dims("rest_joints", rest, (NUM_JOINTS, 3))
    _check_last_dims("pose", pose, (POSE_DIM,))
    _check_last_dims("transl", transl, (3,))
    _check_last_dims("ankle_target", target, (3,))
    batch = np.broadcast_shapes(rest.shape[:-2], pose.shape[:-1], transl.shape[:-1], target.shape[:-1])
    if foot_rotation is not None:
        foot_rotation = np.asarray(foot_rotation, dtype=np.float64)
        _check_last_dims("foot_rotation", foot_rotation, (3, 3))
        batch = np.broadcast_shapes(batch, foot_rotation.shape[:-2])
    hip, knee, ankle = LEG_JOINTS[side]

    joints, rotations = forward_kinematics(rest, pose, transl)
    pelvis_rotation = rotations[..., PARENTS[hip], :, :]
    thigh = rest[..., knee, :] - rest[..., hip, :]  # in the hip's frame, which is the rest frame at zero rotation
    shank = rest[..., ankle, :] - rest[..., knee, :]

    # Knee flexion alpha about x solves |thigh + R_x(alpha) shank| = distance:
    # thigh . R_x(alpha) shank = thigh_x shank_x + c cos(alpha - phi).
    a = thigh[..., 1] * shank[..., 1] + thigh[..., 2] * shank[..., 2]
    b = thigh[..., 2] * shank[..., 1] - thigh[..., 1] * shank[..., 2]
    c = np.hypot(a, b)
    if np.any(c < 1e-9):
        raise ValueError("rest leg is degenerate: thigh or shank has no extent across the knee hinge")
    phi = np.arctan2(b, a)
    to_target = target - joints[..., hip, :]
    distance = np.linalg.norm(to_target, axis=-1)
    if np.any(distance < 1e-9):
        raise ValueError("ankle_target coincides with the hip joint")
    thigh_length2 = np.einsum("...i,...i->...", thigh, thigh)
    shank_length2 = np.einsum("...i,...i->...", shank, shank)
    cos_term = ((distance**2 - thigh_length2 - shank_length2) / 2.0 - thigh[..., 0] * shank[..., 0]) / c
    flexion = phi + np.arccos(np.clip(cos_term, -1.0, 1.0))
    knee_axis_angle = np.stack([flexion, np.zeros_like(flexion), np.zeros_like(flexion)], axis=-1)
    knee_rotation = axis_angle_to_matrix(knee_axis_angle)

    leg_in_hip_frame = thigh + np.einsum("...ij,...j->...i", knee_rotation, shank)
    swing = rotation_between(np.einsum("...ij,...j->...i", pelvis_rotation, leg_in_hip_frame), to_target)
    pelvis_inverse = np.swapaxes(pelvis_rotation, -1, -2)
    hip_rotation = pelvis_inverse @ swing @ pelvis_rotation  # local: relative to the pelvis

    new_pose = np.array(np.broadcast_to(pose, batch + (POSE_DIM,)))
    new_pose[..., 3 * hip : 3 * hip + 3] = matrix_to_axis_angle(hip_rotation)
    new_pose[..., 3 * knee : 3 * knee + 3] = knee_axis_angle
    if foot_rotation is not None:
        shank_rotation = pelvis_rotation @ hip_rotation @ knee_rotation
        ankle_rotation = np.swapaxes(shank_rotation, -1, -2) @ foot_rotation
        new_pose[..., 3 * ankle : 3 * ankle + 3] = matrix_to_axis_angle(ankle_rotation)
    return new_pose
