"""Variety of people: children to tall adults, underweight to obese, walking with their feet on the floor."""
import numpy as np
import pytest

from presstrack_sim.people import BodyRanges, sample_varied_body
from presstrack_sim.sensor import SensorModel
from presstrack_sim.simulator import SimConfig, Simulator


def test_varied_bodies_have_the_drawn_stature_and_bmi(model):
    rng = np.random.default_rng(1)
    child = sample_varied_body(model, rng, BodyRanges(height_range=(1.0, 1.05), bmi_range=(16, 40)))
    assert 0.99 <= child.height <= 1.06 and 16 <= child.mass / child.height ** 2 <= 24.5  # a child's BMI
    heavy = sample_varied_body(model, rng, BodyRanges(height_range=(1.9, 2.0), bmi_range=(38, 40)))
    assert 1.89 <= heavy.height <= 2.01 and 37.5 <= heavy.mass / heavy.height ** 2 <= 40.5
    slim = sample_varied_body(model, rng, BodyRanges(height_range=(1.6, 1.7), bmi_range=(16, 17)))
    assert 15.5 <= slim.mass / slim.height ** 2 <= 17.5
    with pytest.raises(ValueError, match="heights"):
        BodyRanges(height_range=(0.5, 1.0))


def test_a_child_walks_with_planted_feet_and_its_weight_on_the_mat(model):
    config = SimConfig(scenario="crossing2", seconds=3.0, fps=15.0, seed=4, sensor=SensorModel.ideal(),
                       bodies=BodyRanges(height_range=(1.0, 1.2)))
    simulator = Simulator(config, model)
    chunk = simulator.render_chunk(0, config.frames)
    cell_newton = config.mat.cell_area_m2 * 1000.0
    for p, person in enumerate(simulator.people):
        assert person.body.height <= 1.21
        force = person.gait.force[:config.frames].sum(axis=1)
        on_mat = chunk.present[:, p]
        np.testing.assert_allclose(chunk.true_pressure[on_mat, p].sum(axis=(1, 2)) * cell_newton, force[on_mat],
                                   rtol=0.02)
        # Averaged over the scene, the feet carry the body weight.
        assert force.mean() == pytest.approx(person.body.weight_newton, rel=0.1)


def test_a_carried_load_weighs_on_the_feet_not_in_the_body(model):
    from presstrack_sim.simulator import simulate_scene

    config = SimConfig(scenario="stand_and_pass", seconds=2.0, fps=15.0, seed=6, sensor=SensorModel.ideal(),
                       carrying=1.0)
    simulator = Simulator(config, model)
    for person in simulator.people:
        assert 2.0 <= person.carried_kg <= 20.0
        force = person.gait.force[:config.frames].sum(axis=1)
        assert force.mean() == pytest.approx((person.body.mass + person.carried_kg) * 9.81, rel=0.1)
    scene = simulate_scene(config, model)
    np.testing.assert_allclose(scene.extra["carried_kg"], [p.carried_kg for p in simulator.people], rtol=1e-6)
    np.testing.assert_allclose(scene.masses, [p.body.mass for p in simulator.people], rtol=1e-6)


def test_varied_people_walk_with_their_own_step_width_and_toe_out(model):
    config = SimConfig(scenario="crossing2", seconds=2.0, fps=15.0, seed=3, sensor=SensorModel.ideal(),
                       bodies=BodyRanges(height_range=(1.6, 1.8)))
    people = Simulator(config, model).people
    assert len({round(p.body.toe_out, 6) for p in people}) == 2
    assert len({round(p.body.step_width_ratio, 6) for p in people}) == 2
    for person in people:
        assert np.deg2rad(3.0) <= person.body.toe_out <= np.deg2rad(14.0)
        steps = person.gait_stream.steps
        # Standing at the start, the left and right feet point apart by twice the toe-out.
        assert steps.yaw[0] - steps.yaw[1] == pytest.approx(2 * person.body.toe_out, abs=1e-9)


def test_steps_vary_in_width_and_toe_out_step_to_step(model):
    from dataclasses import replace

    from presstrack_sim.gait import plan_footsteps
    from presstrack_sim.people import sample_body
    from presstrack_sim.scenario import PLAN_DT, MotionPlan

    body = replace(sample_body(model, np.random.default_rng(0), height=1.72), step_width_sd=0.025,
                   toe_out_sd=np.deg2rad(3.0))
    times = np.arange(0.0, 40.0, PLAN_DT)  # a straight walk along +x at 1.2 m/s
    plan = MotionPlan(times, np.stack([1.2 * times, np.zeros_like(times)], axis=1), np.zeros_like(times),
                      np.ones_like(times, dtype=bool), np.full_like(times, 1.2), 1.2)

    def walking_steps(rng):
        steps = plan_footsteps(plan, body, rng)
        walking = (steps.speed > 1.0) & (steps.strike > 2.0) & (steps.strike < 35.0)
        sign = np.where(steps.side[walking] == 0, 1.0, -1.0)
        return sign * steps.position[walking, 1], sign * steps.yaw[walking]  # lateral place, toe-out

    width, toe_out = walking_steps(None)
    assert np.ptp(width) < 1e-9 and np.ptp(toe_out) < 1e-9  # without a step generator every step is alike
    width, toe_out = walking_steps(np.random.default_rng(1))
    assert len(width) > 50
    assert np.std(width) == pytest.approx(0.025, rel=0.25)
    assert np.std(toe_out) == pytest.approx(np.deg2rad(3.0), rel=0.25)
    assert np.mean(toe_out) == pytest.approx(body.toe_out, abs=np.deg2rad(1.0))
