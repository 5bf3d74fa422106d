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


def _tree_levels() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(joints, their parents) for each depth of the tree below the pelvis, shallowest first."""
    depth = np.zeros(NUM_JOINTS, dtype=np.int64)
    for j in range(1, NUM_JOINTS):
        depth[j] = depth[PARENTS[j]] + 1
    return tuple((np.flatnonzero(depth == d), PARENTS[depth == d]) for d in range(1, int(depth.max()) + 1))


# Forward kinematics composes a whole depth level (up to 5 joints) per step instead of one joint.
_TREE_LEVELS = _tree_levels()

# Below this angle (rad) rotations use Taylor expansions instead of dividing by sin(angle).
_SMALL_ANGLE = 1e-6
# The four candidate quaternions (w, x, y, z) of a rotation matrix (Shepperd's method), one per pivot
# (trace, r00, r11, r22), each accurate when its pivot is the largest: indices into the terms 1 + trace,
# the antisymmetric differences (3), the symmetric sums (3) and 1 + 2 r_ii - trace (3).
_QUATERNION_TERMS = np.array([[0, 1, 2, 3], [1, 7, 4, 5], [2, 4, 8, 6], [3, 5, 6, 9]])


def _check_last_dims(name: str, array: np.ndarray, shape: tuple[int, ...]) -> None:
    if array.shape[array.ndim - len(shape) :] != shape or array.ndim < len(shape):
        raise ValueError(f"{name} must have shape (..., {', '.join(map(str, shape))}), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")


def _skew(v: np.ndarray) -> np.ndarray:
    """Cross-product matrices of vectors v (..., 3) -> (..., 3, 3)."""
    k = np.zeros(v.shape + (3,))
    k[..., 0, 1], k[..., 0, 2] = -v[..., 2], v[..., 1]
    k[..., 1, 0], k[..., 1, 2] = v[..., 2], -v[..., 0]
    k[..., 2, 0], k[..., 2, 1] = -v[..., 1], v[..., 0]
    return k


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`np.cross` of (..., 3) vectors, the same arithmetic without its generic set-up (most of its cost here)."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def axis_angle_to_matrix(axis_angle: np.ndarray) -> np.ndarray:
    """Rodrigues' formula.

    Args:
        axis_angle: (..., 3) rotation axis times angle (rad).
    Returns:
        (..., 3, 3) rotation matrices.
    """
    aa = np.asarray(axis_angle, dtype=np.float64)
    _check_last_dims("axis_angle", aa, (3,))
    return _axis_angle_to_matrix(aa)


def _axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
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
    # Plain comparisons rather than np.allclose, whose set-up costs several times the test on a few matrices.
    orthonormal = np.all(np.abs(r @ np.swapaxes(r, -1, -2) - np.eye(3)) <= 1e-4)
    if not orthonormal or not np.all(np.abs(np.linalg.det(r) - 1.0) <= 1e-4):
        raise ValueError("rotation must hold proper rotation matrices (orthonormal, det +1)")
    return _matrix_to_axis_angle(r)


def _matrix_to_axis_angle(r: np.ndarray) -> np.ndarray:
    flat = r.reshape(r.shape[:-2] + (9,))
    trace = flat[..., 0] + flat[..., 4] + flat[..., 8]
    diagonal = flat[..., [0, 4, 8]]
    terms = np.concatenate(
        [
            1 + trace[..., None],
            flat[..., [7, 2, 3]] - flat[..., [5, 6, 1]],  # r21 - r12, r02 - r20, r10 - r01
            flat[..., [1, 2, 5]] + flat[..., [3, 6, 7]],  # r01 + r10, r02 + r20, r12 + r21
            1 + 2 * diagonal - trace[..., None],
        ],
        axis=-1,
    )
    pivots = np.concatenate([trace[..., None], diagonal], axis=-1)
    quat = np.take_along_axis(terms, _QUATERNION_TERMS[np.argmax(pivots, axis=-1)], axis=-1)
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
    return _rotation_between(a / a_norm, b / b_norm)


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`rotation_between` of unit directions."""
    a, b = np.broadcast_arrays(a, b)
    axis = _cross(a, b)
    sin_angle = np.linalg.norm(axis, axis=-1, keepdims=True)
    cos_angle = np.clip(np.einsum("...i,...i->...", a, b), -1.0, 1.0)[..., None]
    parallel = sin_angle < 1e-12
    rotation = np.where(parallel, 0.0, axis / np.where(parallel, 1.0, sin_angle) * np.arctan2(sin_angle, cos_angle))
    opposite = parallel & (cos_angle <= 0)
    if np.any(opposite):  # half turn about any axis perpendicular to a
        helper = np.eye(3)[np.argmin(np.abs(a), axis=-1)]
        perpendicular = _cross(a, helper)
        half_turn = np.pi * perpendicular / np.linalg.norm(perpendicular, axis=-1, keepdims=True)
        rotation = np.where(opposite, half_turn, rotation)
    return _axis_angle_to_matrix(rotation)


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
    return _forward_kinematics(rest, pose, transl)


def _forward_kinematics(rest: np.ndarray, pose: np.ndarray, transl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    batch = np.broadcast_shapes(rest.shape[:-2], pose.shape[:-1], transl.shape[:-1])
    # Contiguous, as einsum's rounding can depend on its operands' memory layout: a batch element then
    # gives the same bits as a call on it alone.
    rest = np.ascontiguousarray(np.broadcast_to(rest, batch + (NUM_JOINTS, 3)))
    local = _axis_angle_to_matrix(np.broadcast_to(pose, batch + (POSE_DIM,)).reshape(batch + (NUM_JOINTS, 3)))

    rotations = np.empty(batch + (NUM_JOINTS, 3, 3))
    joints = np.empty(batch + (NUM_JOINTS, 3))
    rotations[..., 0, :, :] = local[..., 0, :, :]
    joints[..., 0, :] = rest[..., 0, :]
    bones = rest[..., 1:, :] - rest[..., PARENTS[1:], :]  # joint j's bone at j - 1
    for level, parents in _TREE_LEVELS:
        parent_rotations = rotations[..., parents, :, :]
        rotations[..., level, :, :] = parent_rotations @ local[..., level, :, :]
        joints[..., level, :] = joints[..., parents, :] + np.einsum("...ij,...j->...i", parent_rotations,
                                                                    bones[..., level - 1, :])
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
    target = np.asarray(ankle_target, dtype=np.float64)
    _check_last_dims("ankle_target", target, (3,))
    if foot_rotation is not None:
        foot_rotation = np.asarray(foot_rotation, dtype=np.float64)
        _check_last_dims("foot_rotation", foot_rotation, (3, 3))
        foot_rotation = foot_rotation[..., None, :, :]
    return _solve_legs(rest_joints, pose, transl, (side,), target[..., None, :], foot_rotation)


def solve_legs_ik(
    rest_joints: np.ndarray,
    pose: np.ndarray,
    transl: np.ndarray,
    ankle_targets: np.ndarray,
    foot_rotations: np.ndarray | None = None,
) -> np.ndarray:
    """`solve_leg_ik` for both legs in one pass; the same result as the left leg's call followed by
    the right leg's (neither leg's IK moves the pelvis or the other hip).

    Args:
        rest_joints, pose, transl: as for `solve_leg_ik`.
        ankle_targets: (..., 2, 3) wanted left and right ankle positions.
        foot_rotations: optional (..., 2, 3, 3) wanted global rotations of the left and right ankles.
    Returns:
        (..., 72) new poses.
    """
    targets = np.asarray(ankle_targets, dtype=np.float64)
    _check_last_dims("ankle_targets", targets, (2, 3))
    if foot_rotations is not None:
        foot_rotations = np.asarray(foot_rotations, dtype=np.float64)
        _check_last_dims("foot_rotations", foot_rotations, (2, 3, 3))
    return _solve_legs(rest_joints, pose, transl, ("left", "right"), targets, foot_rotations)


def _solve_legs(
    rest_joints: np.ndarray,
    pose: np.ndarray,
    transl: np.ndarray,
    sides: tuple[str, ...],
    target: np.ndarray,
    foot_rotation: np.ndarray | None,
) -> np.ndarray:
    """The leg IK of `solve_leg_ik` for the legs `sides`; target (..., legs, 3), foot_rotation
    (..., legs, 3, 3) or None, both already checked."""
    rest = np.asarray(rest_joints, dtype=np.float64)
    pose = np.asarray(pose, dtype=np.float64)
    transl = np.asarray(transl, dtype=np.float64)
    _check_last_dims("rest_joints", rest, (NUM_JOINTS, 3))
    _check_last_dims("pose", pose, (POSE_DIM,))
    _check_last_dims("transl", transl, (3,))
    batch = np.broadcast_shapes(rest.shape[:-2], pose.shape[:-1], transl.shape[:-1], target.shape[:-2])
    if foot_rotation is not None:
        batch = np.broadcast_shapes(batch, foot_rotation.shape[:-3])
    hip, knee, ankle = np.array([LEG_JOINTS[side] for side in sides]).T  # each (legs,)

    # The hips' parent is the pelvis, whose global rotation is the root's: no need for a whole
    # forward kinematics, only its first step (same arithmetic, so the same bits).
    pelvis_rotation = _axis_angle_to_matrix(pose[..., None, :3])  # (..., 1, 3, 3)
    hip_offset = np.einsum("...ij,...j->...i", pelvis_rotation, rest[..., hip, :] - rest[..., :1, :])
    hip_position = rest[..., :1, :] + hip_offset + transl[..., None, :]
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
    to_target = target - hip_position
    distance = np.linalg.norm(to_target, axis=-1)
    if np.any(distance < 1e-9):
        raise ValueError("ankle_target coincides with the hip joint")
    thigh_length2 = np.einsum("...i,...i->...", thigh, thigh)
    shank_length2 = np.einsum("...i,...i->...", shank, shank)
    cos_term = ((distance**2 - thigh_length2 - shank_length2) / 2.0 - thigh[..., 0] * shank[..., 0]) / c
    flexion = phi + np.arccos(np.clip(cos_term, -1.0, 1.0))
    knee_axis_angle = np.stack([flexion, np.zeros_like(flexion), np.zeros_like(flexion)], axis=-1)
    knee_rotation = _axis_angle_to_matrix(knee_axis_angle)

    leg_in_hip_frame = thigh + np.einsum("...ij,...j->...i", knee_rotation, shank)
    leg = np.einsum("...ij,...j->...i", pelvis_rotation, leg_in_hip_frame)
    swing = _rotation_between(leg / np.linalg.norm(leg, axis=-1, keepdims=True), to_target / distance[..., None])
    pelvis_inverse = np.swapaxes(pelvis_rotation, -1, -2)
    hip_rotation = pelvis_inverse @ swing @ pelvis_rotation  # local: relative to the pelvis
    legs_shape = batch + (len(sides), 3, 3)
    local_rotations = [np.broadcast_to(hip_rotation, legs_shape)]
    if foot_rotation is not None:
        shank_rotation = pelvis_rotation @ hip_rotation @ knee_rotation
        local_rotations.append(np.broadcast_to(np.swapaxes(shank_rotation, -1, -2) @ foot_rotation, legs_shape))
    # Hips and ankles through one conversion.
    local_axis_angles = _matrix_to_axis_angle(np.concatenate(local_rotations, axis=-3))

    new_pose = np.array(np.broadcast_to(pose, batch + (POSE_DIM,)))
    joint_axis_angles = new_pose.reshape(batch + (NUM_JOINTS, 3))  # a view: writes go to new_pose
    joint_axis_angles[..., hip, :] = local_axis_angles[..., : len(sides), :]
    joint_axis_angles[..., knee, :] = knee_axis_angle
    if foot_rotation is not None:
        joint_axis_angles[..., ankle, :] = local_axis_angles[..., len(sides) :, :]
    return new_pose
