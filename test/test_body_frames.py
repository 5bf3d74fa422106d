"""TF body frames per REP-103/155 on a simulated walking person: z up, x along the walk, the SMPL joint tree."""
from __future__ import annotations

import numpy as np
import pytest

from mesh_recovery.body_frames import body_transforms
from presstrack_body.kinematics import JOINT_NAMES, PARENTS, forward_kinematics
from presstrack_body.model import BodyModel
from presstrack_common.mat_geometry import MatGeometry
from presstrack_sim.simulator import SimConfig, Simulator

FPS = 15.0


@pytest.fixture(scope="module")
def walker(default_body_path):
    """A person crossing the mat for 12 s: the body frames of every frame, in the mat frame, and the walk velocity."""
    mat = MatGeometry()
    simulator = Simulator(SimConfig(scenario="crossing2", seconds=12.0, fps=FPS, seed=1),
                          BodyModel(default_body_path))
    person = simulator.people[0]
    gait = person.gait
    joints, rotations = forward_kinematics(person.body.rest_joints, gait.pose, gait.transl)
    mat_from_world = np.linalg.inv(mat.world_from_mat)
    frames = [body_transforms(7, j, r, "mat", mat_from_world, with_joints=True) for j, r in zip(joints, rotations)]
    # Velocity of the hip midpoint over one second, in the mat frame; NaN where the course bends more than 30 deg
    # over that second (in a turn about at the mat's end the chord points nowhere the body faces).
    hips = mat.world_to_mat((joints[:, 1] + joints[:, 2]) / 2.0)
    half = int(FPS / 2)
    velocity = np.full_like(hips, np.nan)
    velocity[half:-half] = (hips[2 * half:] - hips[:-2 * half]) / (2 * half / FPS)
    before, after = (hips[half:-half] - hips[:-2 * half])[:, :2], (hips[2 * half:] - hips[half:-half])[:, :2]
    bends = np.einsum("ij,ij->i", before, after) < np.cos(np.radians(30.0)) * np.linalg.norm(before, axis=1) * \
        np.linalg.norm(after, axis=1)
    velocity[half:-half][bends] = np.nan
    return frames, velocity


def test_body_frame_is_z_up_and_x_along_the_walk(walker):
    frames, velocity = walker
    speed = np.linalg.norm(velocity[:, :2], axis=1)
    walking = np.flatnonzero(speed > 0.3)  # [m/s] a clear walk on a straight course, not turning or swaying
    assert len(walking) > 3 * FPS, "the scene must walk straight for several seconds"
    angle_to_up, angle_to_walk = [], []
    for index in walking:
        body = frames[index][0]
        assert (body.parent, body.child) == ("mat", "body_b7")
        x_axis, z_axis = body.rotation[:, 0], body.rotation[:, 2]
        angle_to_up.append(np.degrees(np.arccos(np.clip(z_axis[2], -1, 1))))  # the mat frame is z up
        direction = velocity[index] / np.linalg.norm(velocity[index])
        angle_to_walk.append(np.degrees(np.arccos(np.clip(x_axis @ direction, -1, 1))))
    assert max(angle_to_up) < 10.0
    assert max(angle_to_walk) < 30.0


def test_joint_frames_form_the_smpl_tree_and_rebuild_the_joints(walker):
    frames, _ = walker
    transforms = {t.child: t for t in frames[40]}
    assert len(transforms) == 1 + len(JOINT_NAMES)
    for index, name in enumerate(JOINT_NAMES):
        parent = "body_b7" if PARENTS[index] < 0 else f"{JOINT_NAMES[PARENTS[index]]}_b7"
        assert transforms[f"{name}_b7"].parent == parent
    for transform in frames[40]:
        np.testing.assert_allclose(transform.rotation.T @ transform.rotation, np.eye(3), atol=1e-9)
        assert np.linalg.det(transform.rotation) == pytest.approx(1.0)
    # The pelvis frame's own z is up in a standing body too, not SMPL's y-up axes leaking into TF.
    pelvis = transforms["body_b7"].rotation @ transforms["pelvis_b7"].rotation
    assert pelvis[2, 2] > np.cos(np.radians(30.0))


def test_chained_joint_frames_place_each_joint_where_the_body_is(default_body_path):
    rng = np.random.default_rng(0)
    rest = BodyModel(default_body_path).rest_joints(np.zeros((1, 10), dtype=np.float32))[0].double().numpy()
    pose = rng.normal(scale=0.3, size=72)
    pose[:3] = [np.pi / 2, 0.0, 0.0]  # SMPL's y-up body stood up in a z-up world
    joints, rotations = forward_kinematics(rest, pose, np.array([0.3, -0.2, 0.9]))
    transforms = {t.child: t for t in body_transforms(3, joints, rotations, "world", np.eye(4), True)}

    def world_pose(frame: str):
        transform = transforms[frame]
        if transform.parent == "world":
            return transform.rotation, transform.translation
        rotation, translation = world_pose(transform.parent)
        return rotation @ transform.rotation, rotation @ transform.translation + translation

    for index, name in enumerate(JOINT_NAMES):
        np.testing.assert_allclose(world_pose(f"{name}_b3")[1], joints[index], atol=1e-9)
