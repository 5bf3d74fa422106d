"""Kneeling and lying on the floor: large contacts that carry the whole body weight."""
import numpy as np

from presstrack_sim.sensor import SensorModel
from presstrack_sim.simulator import FOOTPRINT_THRESHOLD_KPA, SimConfig, Simulator


def test_kneeling_and_lying_people_press_the_mat_with_their_whole_weight(model):
    config = SimConfig(scenario="kneel_and_lie", seconds=1.0, fps=5.0, seed=3, sensor=SensorModel.ideal())
    simulator = Simulator(config, model)
    chunk = simulator.render_chunk(0, config.frames)
    cell_newton = config.mat.cell_area_m2 * 1000.0
    postures = [person.gait_stream.plan.posture for person in simulator.people]
    assert postures == ["lie", "kneel"]
    for p, person in enumerate(simulator.people):
        on_mat = chunk.true_pressure[:, p].sum(axis=(1, 2)) * cell_newton
        np.testing.assert_allclose(on_mat, person.body.weight_newton, rtol=0.02)
        # A large contact, not two soles: the lying body's back and buttocks, the kneeler's knees and shins.
        area_cm2 = (chunk.true_pressure[:, p] > FOOTPRINT_THRESHOLD_KPA).sum(axis=(1, 2)).min()
        assert area_cm2 > (300 if postures[p] == "lie" else 150)
        # The pelvis rests low: on the floor lying, over the knees kneeling.
        pelvis = person.gait.joints[:config.frames, 0, 2]
        assert np.all(pelvis < (0.2 if postures[p] == "lie" else 0.7 * person.body.pelvis_height))
        # The cells only they press are theirs in the ground truth.
        theirs_only = (chunk.true_pressure[:, p] > 0) & (chunk.true_pressure.sum(axis=1) == chunk.true_pressure[:, p])
        assert theirs_only.any() and np.all(chunk.owner[theirs_only] == p)
