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


WALK_WINDOW_FRAMES = 5   # the walking direction at a frame: the true hips' displacement over this many frames (1/3 s,
                         # about a step) either side
WALK_SPEED = 0.3         # [m/s] walking, not swaying or shuffling
FORWARD = 30.0           # [deg] a person walks forward when their true body frame's x is this close to their walk


@pytest.fixture(scope="module")
def estimated_walk(default_body_path):
    """The recorded session's scene (two people stepping on and off the mat, seed 3, 30 s) through the tracker and
    the footprint backend offline, every frame. Per frame where a person walks forward (the simulator's people
    also sidestep and step back while they dodge each other: a body facing exactly right is askew of that walk):
    the angles [deg] of the estimated body frame's x to their walking direction and of its z to world up."""
    from mesh_recovery.body_frames import body_pose
    from mesh_recovery.estimators import FootprintEstimator, PersonInput
    from presstrack_sim.simulator import simulate_scene
    from pressure_tracker.tracker import PressureTracker, TrackState

    model, mat = BodyModel(default_body_path), MatGeometry()
    scene = simulate_scene(SimConfig(scenario="enter_leave", people=2, seed=3, seconds=30.0, fps=FPS), model)
    hips = (scene.keypoints_3d[:, :, 1] + scene.keypoints_3d[:, :, 2]) / 2.0   # (T, P, 3) world
    tracker, estimator = PressureTracker(), FootprintEstimator(model, mat)
    angles, tilts = [], []
    for t, frame in enumerate(scene.pressure):
        people = [p for p in tracker.update(frame, t / FPS) if p.state == TrackState.CONFIRMED and p.mask.any()]
        inputs = [PersonInput(p.track_id, p.crop, p.crop_origin, p.box,
                              p.heading + mat.yaw_world_from_mat if np.isfinite(p.heading) else None, t / FPS)
                  for p in people]
        if not WALK_WINDOW_FRAMES <= t < len(scene.pressure) - WALK_WINDOW_FRAMES:
            continue
        for body in estimator.update_frame(inputs).values():
            origin, rotation = body_pose(body.joints)
            present = [p for p in range(hips.shape[1])
                       if scene.present[t - WALK_WINDOW_FRAMES:t + WALK_WINDOW_FRAMES + 1, p].all()]
            nearest = min(present, key=lambda p: np.linalg.norm(hips[t, p, :2] - origin[:2]), default=None)
            if nearest is None or np.linalg.norm(hips[t, nearest, :2] - origin[:2]) > 0.3:
                continue
            walk = (hips[t + WALK_WINDOW_FRAMES, nearest] - hips[t - WALK_WINDOW_FRAMES, nearest])[:2]
            if np.linalg.norm(walk) < WALK_SPEED * 2 * WALK_WINDOW_FRAMES / FPS:
                continue
            walk /= np.linalg.norm(walk)
            _, true_rotation = body_pose(scene.keypoints_3d[t, nearest])
            if np.degrees(np.arccos(np.clip(true_rotation[:2, 0] @ walk, -1, 1))) > FORWARD:
                continue
            angles.append(np.degrees(np.arccos(np.clip(rotation[:2, 0] @ walk / np.linalg.norm(rotation[:2, 0]), -1, 1))))
            tilts.append(np.degrees(np.arccos(np.clip(rotation[2, 2], -1, 1))))
    return np.array(angles), np.array(tilts)


def test_estimated_body_frames_face_the_walk_through_turns(estimated_walk):
    """The body frames the footprint backend gives (their yaw is the tracker's heading) stand up (z within 10
    degrees of world up) and face the walk, turns included: 93.6 % of 388 walking frames within 30 degrees, median
    5.4 degrees, 95th percentile 31.7 (before the heading followed the path as well as the feet: 93.0 %, 6.8 and
    34.5, which fail the median and the 95th percentile asserted here). Not "nearly every walking frame": the
    rest lag a turn by 30-45 degrees, or are a new person's first frames, before anything tells which way they
    face; a live heading knows only the path so far, and even the true hips' path over the last 0.2 s is within
    30 degrees of this walk in only 97 % of such frames (`presstrack-heading`). Nor does a body frame published
    late: with the centre of pressure's path over 0.5 s either side in place of the last 0.2 s, the tracker's
    heading is within 30 degrees in 93.3 % of this scene's walking frames (`presstrack-heading`'s hindsight rows):
    what misses is the feet (22 of 26 misses: they point more than side_step_angle across that path in a turn, and
    are taken alone; 4: reversed)."""
    angles, tilts = estimated_walk
    assert len(angles) > 200, "people walk in the scene"
    assert tilts.max() < 10.0
    assert np.mean(angles < 30.0) >= 0.93 and np.median(angles) < 6.0 and np.percentile(angles, 95) < 33.0 \
        and np.mean(angles > 150.0) < 0.03, np.percentile(angles, [50, 90, 95, 99])
