"""Running: flight phases with no force on the mat, stance peaks of 2-3 body weights."""
import numpy as np

from presstrack_sim.sensor import SensorModel
from presstrack_sim.simulator import SimConfig, Simulator


def test_a_runner_flies_between_steps_and_lands_with_two_to_three_body_weights(model):
    config = SimConfig(scenario="run_across", seconds=10.0, fps=50.0, seed=2, sensor=SensorModel.ideal())
    simulator = Simulator(config, model)
    [runner] = simulator.people
    gait, weight = runner.gait, runner.body.weight_newton
    force = gait.force[:config.frames].sum(axis=1)
    steps = runner.gait_stream.steps
    # The longest bout of running steps in the scene (between two the runner turns about off the mat, walking).
    running = steps.stance_fraction < 0.5
    bouts = np.split(np.arange(len(running)), np.flatnonzero(np.diff(running.astype(int))) + 1)
    bout = max((b for b in bouts if running[b[0]] and steps.strike[b[-1]] < simulator.times[-1]), key=len)
    assert len(bout) >= 6
    start, stop = (int(np.searchsorted(simulator.times, steps.strike[bout[k]])) for k in (1, -2))
    flight = ~gait.contact[start:stop].any(axis=1)
    # Flight: neither foot on the floor, and no force, between every two steps.
    assert 0.1 < flight.mean() < 0.4
    assert np.all(force[start:stop][flight] == 0.0)
    # Stance: a peak of 2-3 body weights; over whole strides the force averages body weight (momentum).
    assert 2.0 <= force[start:stop].max() / weight <= 3.0
    assert 0.9 < force[start:stop].mean() / weight < 1.2  # strike to strike: about whole strides
    # On the mat, the pressure carries exactly the force.
    chunk = simulator.render_chunk(start, stop)
    on_mat = chunk.present[:, 0]
    cell_newton = config.mat.cell_area_m2 * 1000.0
    pressure_force = chunk.true_pressure[:, 0].sum(axis=(1, 2)) * cell_newton
    inside = on_mat & (chunk.box[:, 0, 1] > 2) & (chunk.box[:, 0, 3] < config.mat.rows - 2)
    np.testing.assert_allclose(pressure_force[inside], force[start:stop][inside], rtol=0.03)
    assert np.all(pressure_force[flight] == 0.0)
