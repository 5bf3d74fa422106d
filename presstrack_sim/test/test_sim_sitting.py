"""Sitting on a chair on the mat: the chair's legs and the sitter's feet share the weight, and the chair is no one."""
import numpy as np
import pytest
from scipy.ndimage import label

from presstrack_sim.gait import GRAVITY, KNEE
from presstrack_sim.objects import object_pressure
from presstrack_sim.sensor import SensorModel
from presstrack_sim.simulator import SimConfig, Simulator, simulate_scene
from presstrack_sim.sitting import CHAIR_MASS_KG, SEATED_FEET_SHARE


def test_chair_legs_and_feet_share_the_sitters_weight(model):
    config = SimConfig(scenario="sit_on_chair", seconds=2.0, fps=10.0, seed=3, sensor=SensorModel.ideal())
    simulator = Simulator(config, model)
    sitter = simulator.people[0]
    assert sitter.gait_stream.plan.posture == "sit" and simulator.people[1].gait_stream.plan.posture is None
    chunk = simulator.render_chunk(0, config.frames)
    cell_newton = config.mat.cell_area_m2 * 1000.0
    weight = sitter.body.weight_newton
    feet = chunk.true_pressure[:, 0].sum(axis=(1, 2)) * cell_newton
    # Seated upright, the feet carry 20-30 % of the body weight (Mbada et al. 2016) ...
    low, high = SEATED_FEET_SHARE
    assert np.all(feet > (low - 0.01) * weight) and np.all(feet < (high + 0.01) * weight)
    np.testing.assert_allclose(feet, sitter.gait.force[:config.frames].sum(axis=1), rtol=0.02)
    # ... and the chair's four legs the rest, with the chair's own weight.
    [chair] = [thing for thing in simulator.objects if thing.kind == "chair"]
    legs = object_pressure([chair], config.mat, 0, config.frames)[0].sum(axis=(1, 2)) * cell_newton
    np.testing.assert_allclose(legs + feet, weight + chair.mass * GRAVITY, rtol=0.02)
    # The sitter's thighs are level on the seat: knees as high as the hips, well below a standing pelvis.
    joints = sitter.gait.joints[:config.frames]
    assert np.all(np.abs(joints[:, KNEE[0], 2] - joints[:, 1, 2]) < 0.06)
    assert np.all(joints[:, 0, 2] < 0.75 * sitter.body.pelvis_height)


def test_chair_legs_are_no_ones_in_the_ground_truth(model):
    scene = simulate_scene(SimConfig(scenario="sit_on_chair", seconds=1.0, fps=5.0, seed=3,
                                     sensor=SensorModel.ideal()), model)
    kinds = list(scene.extra["object_kinds"])
    chair_cells = scene.extra["cell_object"] == kinds.index("chair")
    assert chair_cells.any(axis=(1, 2)).all()
    # Four separate legs, apart from the feet: no chair cell belongs to a person.
    assert all(label(frame)[1] == 4 for frame in chair_cells)
    assert not (chair_cells & (scene.cell_owner >= 0)).any()
    assert CHAIR_MASS_KG[0] <= scene.extra["object_masses"][kinds.index("chair")] <= CHAIR_MASS_KG[1]


@pytest.mark.parametrize("scenario", ["sit_on_chair", "kneel_and_lie"])
def test_people_at_rest_are_never_pushed_by_the_crowd(scenario):
    # A pushed sitter's plan drifted off their seated body, and a walker came through it (69 % of close pairs).
    from presstrack_common.mat_geometry import MatGeometry
    from presstrack_sim.scenario import plan_motion

    plans = plan_motion(scenario, None, 20.0, MatGeometry(), np.random.default_rng(5))
    resting = [plan for plan in plans if plan.posture is not None]
    assert resting
    for plan in resting:
        assert np.ptp(plan.com_xy, axis=0).max() < 1e-9 and not plan.stepping.any()
