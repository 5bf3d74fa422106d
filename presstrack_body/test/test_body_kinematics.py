"""Skeleton, rotation conversions, forward kinematics and leg IK (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from presstrack_body.kinematics import (
    JOINT_NAMES,
    LEG_JOINTS,
    PARENTS,
    axis_angle_to_matrix,
    forward_kinematics,
    matrix_to_axis_angle,
    rotation_between,
    solve_leg_ik,
    solve_legs_ik,
)

# An adult's rest joints in SMPL's canonical frame (y up, z forward), metres, pelvis at origin.
REST_JOINTS = np.array(
    [
        [0.0, 0.0, 0.0], [0.112, -0.095, 0.031], [-0.112, -0.095, 0.031], [0.0, 0.069, 0.015],
        [0.109, -0.471, 0.061], [-0.109, -0.471, 0.061], [0.0, 0.151, 0.013], [0.112, -0.903, 0.03],
        [-0.112, -0.903, 0.03], [0.0, 0.276, 0.003], [0.121, -0.952, 0.17], [-0.121, -0.952, 0.17],
        [0.0, 0.459, 0.04], [0.065, 0.393, 0.055], [-0.065, 0.393, 0.055], [0.0, 0.557, 0.074],
        [0.174, 0.363, 0.05], [-0.174, 0.363, 0.05], [0.432, 0.363, 0.05], [-0.432, 0.363, 0.05],
        [0.662, 0.363, 0.05], [-0.662, 0.363, 0.05], [0.746, 0.363, 0.05], [-0.746, 0.363, 0.05],
    ]
)
WORLD_STANDING = np.array([np.pi / 2, 0.0, 0.0])  # SMPL +y (up) -> world +z


def random_rotations(rng: np.random.Generator, count: int) -> np.ndarray:
    axes = rng.normal(size=(count, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    return axes * rng.uniform(0.0, np.pi, size=(count, 1))


def test_skeleton_is_smpls():
    assert len(JOINT_NAMES) == 24 and PARENTS.shape == (24,)
    assert PARENTS[0] == -1 and all(0 <= PARENTS[j] < j for j in range(1, 24))
    assert JOINT_NAMES[PARENTS[JOINT_NAMES.index("left_ankle")]] == "left_knee"
    assert JOINT_NAMES[PARENTS[JOINT_NAMES.index("right_hand")]] == "right_wrist"
    assert JOINT_NAMES[PARENTS[JOINT_NAMES.index("head")]] == "neck"


def test_axis_angle_to_matrix_known_rotation():
    rotation = axis_angle_to_matrix(np.array([np.pi / 2, 0.0, 0.0]))
    np.testing.assert_allclose(rotation @ [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(axis_angle_to_matrix(np.zeros(3)), np.eye(3), atol=1e-15)


def test_rotation_round_trips():
    rng = np.random.default_rng(0)
    near_half_turn = random_rotations(rng, 20)
    near_half_turn *= (np.pi - 1e-7) / np.linalg.norm(near_half_turn, axis=1, keepdims=True)
    axis_angles = np.concatenate([random_rotations(rng, 500), rng.normal(size=(20, 3)) * 1e-9, near_half_turn])
    matrices = axis_angle_to_matrix(axis_angles.reshape(6, -1, 3))  # batched with two leading axes
    assert matrices.shape == (6, 90, 3, 3)
    np.testing.assert_allclose(matrices @ np.swapaxes(matrices, -1, -2), np.broadcast_to(np.eye(3), matrices.shape), atol=1e-12)
    recovered = matrix_to_axis_angle(matrices).reshape(-1, 3)
    np.testing.assert_allclose(axis_angle_to_matrix(recovered), matrices.reshape(-1, 3, 3), atol=1e-9)
    below_pi = np.linalg.norm(axis_angles, axis=1) < np.pi - 1e-3
    np.testing.assert_allclose(recovered[below_pi], axis_angles[below_pi], atol=1e-9)


def test_rotation_conversions_reject_bad_input():
    with pytest.raises(ValueError, match="axis_angle"):
        axis_angle_to_matrix(np.zeros(4))
    with pytest.raises(ValueError, match="rotation"):
        matrix_to_axis_angle(2.0 * np.eye(3))
    with pytest.raises(ValueError, match="NaN"):
        axis_angle_to_matrix(np.array([np.nan, 0.0, 0.0]))


def test_rotation_between_maps_directions():
    rng = np.random.default_rng(1)
    for source, target in rng.normal(size=(50, 2, 3)):
        rotation = rotation_between(source, target)
        np.testing.assert_allclose(rotation @ source / np.linalg.norm(source), target / np.linalg.norm(target), atol=1e-12)
    flipped = rotation_between(np.array([0.0, 1.0, 0.0]), np.array([0.0, -2.0, 0.0]))
    np.testing.assert_allclose(flipped @ [0.0, 1.0, 0.0], [0.0, -1.0, 0.0], atol=1e-12)


def test_forward_kinematics_of_zero_pose_is_rest_plus_translation():
    transl = np.array([0.4, -1.2, 0.9])
    joints, rotations = forward_kinematics(REST_JOINTS, np.zeros(72), transl)
    np.testing.assert_allclose(joints, REST_JOINTS + transl, atol=1e-12)
    np.testing.assert_allclose(rotations, np.broadcast_to(np.eye(3), (24, 3, 3)), atol=1e-12)


def test_forward_kinematics_rotates_about_the_pelvis_and_batches():
    rng = np.random.default_rng(2)
    poses = np.zeros((4, 72))
    poses[:, :3] = random_rotations(rng, 4)
    transl = rng.normal(size=(4, 3))
    joints, rotations = forward_kinematics(REST_JOINTS, poses, transl)
    assert joints.shape == (4, 24, 3) and rotations.shape == (4, 24, 3, 3)
    for b in range(4):
        root = axis_angle_to_matrix(poses[b, :3])
        np.testing.assert_allclose(joints[b], (REST_JOINTS - REST_JOINTS[0]) @ root.T + REST_JOINTS[0] + transl[b], atol=1e-12)


def test_forward_kinematics_batched_equals_one_body_at_a_time():
    rng = np.random.default_rng(8)
    poses = rng.normal(scale=0.5, size=(7, 72))
    transl = rng.normal(size=(7, 3))
    for rest in (REST_JOINTS, REST_JOINTS * rng.uniform(0.9, 1.1, size=(7, 1, 1))):  # one body, a body each
        joints, rotations = forward_kinematics(rest, poses, transl)
        for b in range(7):
            single = forward_kinematics(rest if rest.ndim == 2 else rest[b], poses[b], transl[b])
            np.testing.assert_array_equal(joints[b], single[0])
            np.testing.assert_array_equal(rotations[b], single[1])


def test_forward_kinematics_bends_the_knee_backwards_for_positive_x():
    pose = np.zeros(72)
    knee = JOINT_NAMES.index("left_knee")
    pose[3 * knee] = np.pi / 2
    joints, _ = forward_kinematics(REST_JOINTS, pose, np.zeros(3))
    ankle = JOINT_NAMES.index("left_ankle")
    assert joints[ankle, 2] < REST_JOINTS[knee, 2] - 0.4  # heel goes back (-z), shank horizontal
    assert abs(joints[ankle, 1] - REST_JOINTS[knee, 1]) < 0.05


def test_forward_kinematics_rejects_bad_shapes():
    with pytest.raises(ValueError, match="pose"):
        forward_kinematics(REST_JOINTS, np.zeros(69), np.zeros(3))
    with pytest.raises(ValueError, match="rest_joints"):
        forward_kinematics(REST_JOINTS[:23], np.zeros(72), np.zeros(3))


def random_body_pose(rng: np.random.Generator) -> np.ndarray:
    pose = rng.normal(scale=0.15, size=72)
    heading = axis_angle_to_matrix(np.array([0.0, 0.0, rng.uniform(-np.pi, np.pi)]))
    pose[:3] = matrix_to_axis_angle(heading @ axis_angle_to_matrix(WORLD_STANDING))
    return pose


@pytest.mark.parametrize("side", ["left", "right"])
def test_leg_ik_reaches_reachable_targets(side: str):
    rng = np.random.default_rng(3)
    hip, knee, ankle = LEG_JOINTS[side]
    for _ in range(100):
        start = random_body_pose(rng)
        transl = rng.uniform(-1.0, 1.0, size=3)
        # A target the leg can reach: the ankle of the same body with another leg pose.
        reference = start.copy()
        reference[3 * hip : 3 * hip + 3] = rng.normal(scale=0.5, size=3)
        reference[3 * knee : 3 * knee + 3] = [rng.uniform(0.05, 2.2), 0.0, 0.0]
        target = forward_kinematics(REST_JOINTS, reference, transl)[0][ankle]

        solved = solve_leg_ik(REST_JOINTS, start, transl, side, target)
        joints, _ = forward_kinematics(REST_JOINTS, solved, transl)
        assert np.linalg.norm(joints[ankle] - target) < 1e-3
        assert solved[3 * knee] > 0.0  # knee bends forward
        changed = np.flatnonzero(np.abs(solved - start) > 0).tolist()
        assert set(changed) <= set(range(3 * hip, 3 * hip + 3)) | set(range(3 * knee, 3 * knee + 3))


def test_leg_ik_clamps_unreachable_target_to_straight_leg_towards_it():
    rng = np.random.default_rng(4)
    hip, knee, ankle = LEG_JOINTS["left"]
    pose = random_body_pose(rng)
    transl = np.array([0.3, 0.2, 0.95])
    hip_position = forward_kinematics(REST_JOINTS, pose, transl)[0][hip]
    direction = np.array([0.3, -0.2, -1.0]) / np.linalg.norm([0.3, -0.2, -1.0])
    target = hip_position + 3.0 * direction

    solved = solve_leg_ik(REST_JOINTS, pose, transl, "left", target)
    joints, _ = forward_kinematics(REST_JOINTS, solved, transl)
    leg = joints[ankle] - joints[hip]
    np.testing.assert_allclose(leg / np.linalg.norm(leg), direction, atol=1e-9)
    thigh = np.linalg.norm(REST_JOINTS[knee] - REST_JOINTS[hip])
    shank = np.linalg.norm(REST_JOINTS[ankle] - REST_JOINTS[knee])
    assert np.linalg.norm(leg) > 0.995 * (thigh + shank)  # as straight as the rest leg allows


def test_leg_ik_sets_global_foot_orientation():
    rng = np.random.default_rng(5)
    _, _, ankle = LEG_JOINTS["right"]
    pose = random_body_pose(rng)
    transl = np.array([0.0, 0.0, 0.9])
    heading = axis_angle_to_matrix(np.array([0.0, 0.0, 0.7]))
    foot_rotation = heading @ axis_angle_to_matrix(WORLD_STANDING)  # flat foot, turned 0.7 rad
    hip_position = forward_kinematics(REST_JOINTS, pose, transl)[0][LEG_JOINTS["right"][0]]
    target = hip_position + np.array([0.1, 0.15, -0.75])

    solved = solve_leg_ik(REST_JOINTS, pose, transl, "right", target, foot_rotation)
    joints, rotations = forward_kinematics(REST_JOINTS, solved, transl)
    assert np.linalg.norm(joints[ankle] - target) < 1e-3
    np.testing.assert_allclose(rotations[ankle], foot_rotation, atol=1e-9)


def test_leg_ik_rejects_bad_input():
    with pytest.raises(ValueError, match="side"):
        solve_leg_ik(REST_JOINTS, np.zeros(72), np.zeros(3), "middle", np.zeros(3))
    with pytest.raises(ValueError, match="ankle_target"):
        solve_leg_ik(REST_JOINTS, np.zeros(72), np.zeros(3), "left", np.array([np.nan, 0.0, 0.0]))
    with pytest.raises(ValueError, match="foot_rotation"):
        solve_leg_ik(REST_JOINTS, np.zeros(72), np.zeros(3), "left", np.array([0.1, -0.8, 0.0]), np.eye(4))


def test_leg_ik_batched_equals_one_frame_at_a_time():
    rng = np.random.default_rng(6)
    frames = 40
    poses = np.stack([random_body_pose(rng) for _ in range(frames)])
    transl = rng.uniform(-1.0, 1.0, size=(frames, 3))
    # Reachable, unreachable and too-close targets around each hip.
    hips = forward_kinematics(REST_JOINTS, poses, transl)[0][:, LEG_JOINTS["left"][0]]
    targets = hips + rng.normal(size=(frames, 3)) * rng.choice([0.1, 0.5, 2.0], size=(frames, 1))
    foot_rotations = axis_angle_to_matrix(random_rotations(rng, frames))
    rest = REST_JOINTS * rng.uniform(0.9, 1.1, size=(frames, 1, 1))  # a body per frame, too
    for side in ("left", "right"):
        for feet in (None, foot_rotations):
            batched = solve_leg_ik(rest, poses, transl, side, targets, feet)
            assert batched.shape == (frames, 72)
            for frame in range(frames):
                single = solve_leg_ik(rest[frame], poses[frame], transl[frame], side, targets[frame],
                                      None if feet is None else feet[frame])
                np.testing.assert_array_equal(batched[frame], single)
    # Leading axes broadcast: one body and one target for a (2, 20) batch of poses.
    grid = solve_leg_ik(REST_JOINTS, poses.reshape(2, 20, 72), transl[0], "left", targets[0])
    assert grid.shape == (2, 20, 72)
    np.testing.assert_array_equal(grid[1, 3], solve_leg_ik(REST_JOINTS, poses[23], transl[0], "left", targets[0]))


def test_both_legs_at_once_equal_one_leg_after_the_other():
    rng = np.random.default_rng(9)
    frames = 12
    poses = np.stack([random_body_pose(rng) for _ in range(frames)])
    transl = rng.uniform(-1.0, 1.0, size=(frames, 3))
    hips = forward_kinematics(REST_JOINTS, poses, transl)[0][:, [LEG_JOINTS["left"][0], LEG_JOINTS["right"][0]]]
    targets = hips + rng.normal(size=(frames, 2, 3)) * rng.choice([0.1, 0.5, 2.0], size=(frames, 2, 1))
    foot_rotations = axis_angle_to_matrix(random_rotations(rng, 2 * frames)).reshape(frames, 2, 3, 3)
    for feet in (None, foot_rotations):
        both = solve_legs_ik(REST_JOINTS, poses, transl, targets, feet)
        for frame in range(frames):
            one_by_one = poses[frame]
            for leg, side in enumerate(("left", "right")):
                one_by_one = solve_leg_ik(REST_JOINTS, one_by_one, transl[frame], side, targets[frame, leg],
                                          None if feet is None else feet[frame, leg])
            np.testing.assert_array_equal(both[frame], one_by_one)
    with pytest.raises(ValueError, match="ankle_targets"):
        solve_legs_ik(REST_JOINTS, poses, transl, targets[:, 0])
    with pytest.raises(ValueError, match="foot_rotations"):
        solve_legs_ik(REST_JOINTS, poses, transl, targets, foot_rotations[:, 0])


def test_rotation_between_batches_and_handles_opposite_directions():
    rng = np.random.default_rng(7)
    source = rng.normal(size=(30, 3))
    target = rng.normal(size=(30, 3))
    target[:5] = -2.0 * source[:5]  # half turns
    target[5:10] = 3.0 * source[5:10]  # no turn
    rotations = rotation_between(source, target)
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(np.einsum("nij,nj->ni", rotations, unit(source)), unit(target), atol=1e-12)
    np.testing.assert_allclose(rotations[5:10], np.broadcast_to(np.eye(3), (5, 3, 3)), atol=1e-15)
    for k in range(30):
        np.testing.assert_array_equal(rotations[k], rotation_between(source[k], target[k]))
    with pytest.raises(ValueError, match="non-zero"):
        rotation_between(source, np.zeros(3))
