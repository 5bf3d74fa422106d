"""Crowds that are physically consistent: bodies steered by their posed extent, never inside each other, at
walking speed where the floor leaves room."""
from __future__ import annotations

import numpy as np
import pytest

from presstrack_common.mat_geometry import MatGeometry, mip_world_from_mat
from presstrack_sim.body_overlap import penetration_depth, vertex_normals
from presstrack_sim.people import body_footprint, sample_body
from presstrack_sim.scenario import BODY_CLEARANCE, BodyFootprint, footprint_gap, plan_motion
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
    footprints = [body_footprint(model, sample_body(model, rng)) for _ in range(3)]
    # A 2.4 x 4.8 m floor: room to walk at one's own speed around the others.
    mat = MatGeometry(480, 240, 0.01, mip_world_from_mat())
    plans = plan_motion("wander3", None, 20.0, mat, np.random.default_rng(1), footprints=footprints)
    for i in range(3):
        for j in range(i + 1, 3):
            a, b = footprints[i], footprints[j]
            gaps = footprint_gap(a, a.placed(plans[i].com_xy, plans[i].facing), b,
                                 b.placed(plans[j].com_xy, plans[j].facing))
            # The plan holds the centre of mass, which shifts a few centimetres while standing: the clearance, not
            # the footprints themselves, may be eaten into.
            assert gaps.min() > -BODY_CLEARANCE, f"people {i} and {j} overlap by {-100 * gaps.min():.1f} cm"
    speeds = np.concatenate([plan.speed for plan in plans])
    walking = speeds[speeds > 0.5]
    assert 0.9 < np.median(walking) < 1.4  # before body-aware steering: 0.24-0.60 m/s, shuffling


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
        meshes = []
        for p in range(2):
            vertices, _ = model.pose_body(scene.betas[f, p], scene.pose[f, p][None], scene.trans[f, p][None])
            vertices = vertices[0].double().numpy()
            meshes.append((vertices, vertex_normals(vertices, faces)))
        deepest = max(deepest, penetration_depth(*meshes[0], meshes[1][0]), penetration_depth(*meshes[1], meshes[0][0]))
        ankles = scene.keypoints_3d[f, :, ANKLES, :2]
        closest_feet = min(closest_feet, float(np.linalg.norm(ankles[0][:, None] - ankles[1][None], axis=-1).min()))
    assert deepest <= 0.01, f"posed meshes overlap by {100 * deepest:.1f} cm"
    assert closest_feet < 0.4  # they do come close: feet of the two within 40 cm, centre to centre
