"""Jumps on the spot: no force on the mat in flight, momentum conserved, feet off the floor."""
import numpy as np
import pytest

from presstrack_sim.jumping import Jump
from presstrack_sim.sensor import SensorModel
from presstrack_sim.simulator import SimConfig, Simulator


def test_jump_force_averages_body_weight_and_is_zero_in_flight():
    jump = Jump(start=1.0, height=0.2)
    times = np.arange(0.9, jump.end + 0.1, 1e-4)
    ratio = jump.force_ratio(times)
    assert jump.flight == pytest.approx(2 * np.sqrt(2 * 0.2 / 9.81))
    flying = (times > jump.takeoff) & (times < jump.takeoff + jump.flight)
    assert np.all(ratio[flying] == 0) and np.all(jump.lift(times)[flying] > 0)
    assert np.mean(ratio[(times >= jump.start) & (times < jump.end)]) == pytest.approx(1.0, abs=0.01)
    assert jump.lift(times).max() == pytest.approx(0.2, rel=1e-3)
    assert 2.0 < ratio.max() < 3.5


def test_a_jumping_person_leaves_the_mat_empty_in_flight(model):
    config = SimConfig(scenario="stand_and_pass", seconds=4.0, fps=15.0, seed=2, sensor=SensorModel.ideal(),
                       jump_rate=30.0)
    simulator = Simulator(config, model)
    chunk = simulator.render_chunk(0, config.frames, keep_vertices=True)
    jumper = next(p for p, person in enumerate(simulator.people) if person.jumps)
    person = simulator.people[jumper]
    flying = ~person.gait.contact[:config.frames].any(axis=1)
    in_flight = np.zeros(config.frames, dtype=bool)
    for jump in person.jumps:
        in_flight |= (simulator.times > jump.takeoff + 0.02) & (simulator.times < jump.takeoff + jump.flight - 0.02)
    assert in_flight.any() and np.all(flying[in_flight])
    np.testing.assert_array_equal(chunk.true_pressure[in_flight, jumper].sum(axis=(1, 2)), 0.0)
    soles = chunk.vertices[in_flight, jumper][:, np.concatenate(person.sole_ids), 2]
    assert soles.min() > 0.01  # both feet off the floor
    assert not chunk.present[in_flight, jumper].any()  # labelled from what the mat shows: no box in flight
