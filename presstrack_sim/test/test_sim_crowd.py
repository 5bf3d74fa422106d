"""Crowds that are physically consistent: bodies steered by their posed extent (a striding body's, a standing
one's), never inside each other, passing close, at each person's own walking speed where the floor leaves room."""
from __future__ import annotations

import numpy as np
import pytest

from presstrack_common.mat_geometry import MatGeometry, mip_world_from_mat
from presstrack_sim.body_overlap import penetration_depth, vertex_normals
from presstrack_sim.people import body_footprint, sample_body, walker_body
from presstrack_sim.realism import steady_walking_speed
from presstrack_sim.scenario import (BODY_CLEARANCE, PLAN_DT, REFERENCE_LEG_M, BodyFootprint, WalkerBody, footprint_gap,
                                   plan_motion)
from presstrack_sim.sensor import SensorModel
from presstrack_sim.simulator import SimConfig, simulate_scene

ANKLES = [7, 8]
PELVIS = 0


def test_footprint_gap_of_two_boxes():
    square = BodyFootprint.square(0.25)
    # Centres 0.8 m apart along x: 0.3 m of floor between the squares.
    gap = footprint_gap(square, square.placed(np.zeros(2), 0.0), square, square.placed(np.array([0.8, 0.0]), 0.0))
    assert gap == pytest.approx(0.3 - BODY_CLEARANCE)
    # Turned 45 degrees, the second square's corner points at the first: 0.8 - 0.25 - 0.25 * sqrt(2) between them.
    gap = footprint_gap(square, square.placed(np.zeros(2), 0.0), square,
                        square.placed(np.array([0.8, 0.0]), np.pi / 4))
    assert gap == pytest.approx(0.8 - 0.25 - 0.25 * np.sqrt(2) - BODY_CLEARANCE)
    # Boxes of different height bands never meet: striding feet pass under another's arms.
    feet = BodyFootprint(np.array([[0.0, 0.0, 0.5, 0.2, 0.0]]), np.array([0]))
    arms = BodyFootprint(np.array([[0.0, 0.0, 0.2, 0.5, 0.0]]), np.array([1]))
    assert footprint_gap(feet, feet.placed(np.zeros(2), 0.0), arms, arms.placed(np.zeros(2), 0.0)) == np.inf


def test_body_footprint_covers_the_walking_body(model):
    body = sample_body(model, np.random.default_rng(3), height=1.75)
    footprint = body_footprint(model, body)
    boxes = dict(zip(footprint.bands, footprint.boxes))
    feet, hands, trunk = boxes[0], boxes[1], boxes[2]
    # The striding feet reach far ahead and behind; hands and shoulders no wider than a person (0.4-0.7 m).
    assert 0.4 < feet[0] + feet[2] < 0.8 and 0.3 < feet[2] - feet[0] < 0.6
    assert 0.2 < hands[3] < 0.35 and 0.18 < trunk[3] < 0.33


def test_crowd_plan_keeps_bodies_apart_and_walking(model):
    rng = np.random.default_rng(5)
    walkers = [walker_body(model, sample_body(model, rng)) for _ in range(3)]
    # A 2.4 x 4.8 m floor: room to walk at one's own speed around the others.
    mat = MatGeometry(480, 240, 0.01, mip_world_from_mat())
    plans = plan_motion("wander3", None, 20.0, mat, np.random.default_rng(1), walkers=walkers)
    for i in range(3):
        for j in range(i + 1, 3):
            # Each body as it is at its walking speed in each frame (standing, walking slowly or at full stride): the
            # slowest the centre of mass moved over the quarter second before (a push apart moves a body, but does
            # not lengthen its strides; walking speed changes by at most 0.4 m/s in that time).
            speeds = []
            for plan in (plans[i], plans[j]):
                step = np.linalg.norm(np.diff(plan.com_xy, axis=0), axis=1) / PLAN_DT
                speeds.append(np.lib.stride_tricks.sliding_window_view(np.pad(step, (14, 0), mode="edge"), 15).min(1))
            gaps = np.array([footprint_gap(a, a.placed(plans[i].com_xy[k], plans[i].facing[k]), b,
                                           b.placed(plans[j].com_xy[k], plans[j].facing[k]))
                             for k in range(1, len(plans[i].times))
                             for a, b in [(walkers[i].at(speeds[0][k - 1]), walkers[j].at(speeds[1][k - 1]))]])
            # The plan holds the centre of mass, which shifts a few centimetres while standing: the clearance, not
            # the footprints themselves, may be eaten into.
            assert gaps.min() > -BODY_CLEARANCE, f"people {i} and {j} overlap by {-100 * gaps.min():.1f} cm"
    speeds = np.concatenate([plan.speed for plan in plans])
    walking = speeds[speeds > 0.5]
    assert 0.9 < np.median(walking) < 1.4  # before body-aware steering: 0.24-0.60 m/s, shuffling


def mutual_penetration(model, scene, frame: int, faces: np.ndarray) -> float:
    """[m] How deep either of the frame's two posed meshes reaches inside the other."""
    meshes = []
    for p in range(2):
        vertices, _ = model.pose_body(scene.betas[frame, p], scene.pose[frame, p][None], scene.trans[frame, p][None])
        vertices = vertices[0].double().numpy()
        meshes.append((vertices, vertex_normals(vertices, faces)))
    return max(penetration_depth(*meshes[0], meshes[1][0]), penetration_depth(*meshes[1], meshes[0][0]))


@pytest.mark.parametrize("scenario, seed, seconds", [("side_by_side", 4, 4.0), ("crossing2", 1, 6.0)])
def test_close_neighbours_posed_meshes_do_not_interpenetrate(model, scenario, seed, seconds):
    # Side by side 40 cm apart, hands were 2-14 cm inside the partner's hips in every close frame (issue 19).
    scene = simulate_scene(SimConfig(scenario=scenario, seconds=seconds, fps=5.0, seed=seed,
                                     sensor=SensorModel.ideal()), model)
    faces = np.asarray(model.faces)
    closest_feet, deepest = np.inf, 0.0
    for f in range(len(scene.present)):
        if not scene.present[f].all():
            continue
        deepest = max(deepest, mutual_penetration(model, scene, f, faces))
        ankles = scene.keypoints_3d[f, :, ANKLES, :2]
        closest_feet = min(closest_feet, float(np.linalg.norm(ankles[0][:, None] - ankles[1][None], axis=-1).min()))
    assert deepest <= 0.01, f"posed meshes overlap by {100 * deepest:.1f} cm"
    assert closest_feet < 0.4  # they do come close: feet of the two within 40 cm, centre to centre


def test_a_standing_body_takes_less_floor_than_a_striding_one(model):
    walker = walker_body(model, sample_body(model, np.random.default_rng(3), height=1.75))
    standing, slow, fast = (dict(zip(f.bands, f.boxes)) for f in walker.footprints)
    # Feet: a stride reaches far ahead and behind, a standing stance about a foot's length (0.2-0.35 m).
    assert 0.2 < 2 * standing[0][2] < 0.35 < 2 * slow[0][2] < 2 * fast[0][2]
    # Across the body each takes the widest of them, so speeding up beside someone never presses into them.
    for band in (0, 1, 2):
        assert standing[band][3] == slow[band][3] == fast[band][3] > 0.1
    # In between two measured speeds, each box's size lies between theirs.
    middle = walker.at((walker.speeds[1] + walker.speeds[2]) / 2).boxes[:, 2:4]
    sizes = np.stack([walker.footprints[1].boxes[:, 2:4], walker.footprints[2].boxes[:, 2:4]])
    assert np.all((sizes.min(axis=0) - 1e-9 <= middle) & (middle <= sizes.max(axis=0) + 1e-9))
    np.testing.assert_array_equal(walker.at(0.0).boxes, walker.footprints[0].boxes)


def test_a_walker_passes_close_behind_someone_standing_without_touching(model):
    # pass_behind: the walker's line runs through the stander's back half; steering round the standing body (not a
    # striding one) it passes 0.4-0.47 m pelvis to pelvis, where two striding bodies keep more than 0.5 m.
    scene = simulate_scene(SimConfig(scenario="pass_behind", seconds=7.0, fps=15.0, seed=4,
                                     sensor=SensorModel.ideal()), model)
    pelvis = scene.keypoints_3d[:, :, PELVIS, :2]
    distance = np.linalg.norm(pelvis[:, 0] - pelvis[:, 1], axis=1)
    assert 0.35 < distance.min() <= 0.47
    # Behind: on the side the stander's back faces.
    closest = int(np.argmin(distance))
    left = scene.keypoints_3d[closest, 0, 1, :2] - scene.keypoints_3d[closest, 0, 2, :2]  # right hip -> left hip
    forward = np.array([left[1], -left[0]])  # the stander's forward: its left turned a quarter clockwise
    assert (pelvis[closest, 1] - pelvis[closest, 0]) @ forward < 0
    faces = np.asarray(model.faces)
    deepest = 0.0
    for f in np.flatnonzero(distance < 0.6)[::2]:
        deepest = max(deepest, mutual_penetration(model, scene, f, faces))
    assert deepest <= 0.01, f"posed meshes overlap by {100 * deepest:.1f} cm"


def test_preferred_speed_scales_with_the_legs_at_one_froude_number():
    square = BodyFootprint.square()
    mat = MatGeometry(800, 120, 0.01, mip_world_from_mat())
    speeds = {}
    for leg in (0.5, REFERENCE_LEG_M, 1.05):
        walkers = [WalkerBody((0.0,), (square,), leg_length=leg)] * 2
        plans = plan_motion("crossing2", None, 4.0, mat, np.random.default_rng(2), walkers=walkers)
        speeds[leg] = np.array([plan.preferred_speed for plan in plans])
    for leg in (0.5, 1.05):
        np.testing.assert_allclose(speeds[leg] / speeds[REFERENCE_LEG_M], np.sqrt(leg / REFERENCE_LEG_M))
    froude = speeds[REFERENCE_LEG_M] ** 2 / (9.81 * REFERENCE_LEG_M)
    assert np.all((0.1 < froude) & (froude < 0.25))


def test_adults_walk_at_their_comfortable_speed_on_a_long_straight(model):
    # crossing2 on an 8 m mat: straight, level stretches between the turns at the ends.
    mat = MatGeometry(800, 120, 0.01, mip_world_from_mat())
    scene = simulate_scene(SimConfig(scenario="crossing2", seconds=12.0, fps=15.0, seed=1, mat=mat,
                                     sensor=SensorModel.ideal()), model)
    for p in range(2):
        steady = steady_walking_speed(scene.keypoints_3d[:, p, PELVIS, :2], scene.present[:, p], scene.fps)
        assert len(steady) > 2 * scene.fps
        assert 1.0 <= np.median(steady) <= 1.4  # Bohannon 1997: 1.27-1.46 m/s comfortable, adults 20-79
