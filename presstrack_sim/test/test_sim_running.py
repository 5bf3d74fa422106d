"""Running: flight phases with no force on the mat, stance peaks of 2-3 body weights, a runner's posture."""
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


def _knee_flexion(joints: np.ndarray, side: int) -> np.ndarray:
    """(T,) deg between thigh and shank of the left (0) or right (1) leg; joints (T, 24, 3)."""
    hip, knee, ankle = (joints[:, k] for k in ((1, 4, 7), (2, 5, 8))[side])
    thigh, shank = knee - hip, ankle - knee
    cos = np.einsum("ij,ij->i", thigh, shank) / (np.linalg.norm(thigh, axis=1) * np.linalg.norm(shank, axis=1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_a_runner_leans_forward_bends_the_knees_and_rises_in_flight(model):
    config = SimConfig(scenario="run_across", seconds=10.0, fps=50.0, seed=2, sensor=SensorModel.ideal())
    [runner] = Simulator(config, model).people
    gait = runner.gait
    joints, contact = gait.joints[:config.frames], gait.contact[:config.frames]
    pelvis_velocity = np.gradient(joints[:, 0, :2], 1.0 / config.fps, axis=0)
    speed = np.linalg.norm(pelvis_velocity, axis=1)
    forward = pelvis_velocity / np.maximum(speed[:, None], 1e-9)
    trunk = joints[:, 12] - joints[:, 0]  # pelvis to neck
    lean = np.degrees(np.arctan2(np.einsum("ij,ij->i", trunk[:, :2], forward), trunk[:, 2]))
    running, walking = speed > 2.0, (speed > 0.8) & (speed < 1.6)  # (the runner walks its turns off the mat)
    assert running.sum() > config.fps and walking.sum() > 5
    # The trunk leans forward, more than walking (Novacheck 1998).
    assert np.median(lean[running]) > np.median(lean[walking]) + 5.0
    # Stance: the supporting knee bends 30-60 deg; swing: the heel comes up behind, the knee bent far more.
    single = running & (contact.sum(axis=1) == 1)
    supporting = np.where(contact[:, 0], _knee_flexion(joints, 0), _knee_flexion(joints, 1))[single]
    assert 30.0 < np.median(supporting) < 60.0
    flight = running & ~contact.any(axis=1)
    assert 90.0 < np.maximum(_knee_flexion(joints, 0), _knee_flexion(joints, 1))[running].max() < 130.0
    # The body rises in flight and sinks in stance (a bouncing centre of mass), the pelvis below its standing height.
    assert np.median(joints[flight, 0, 2]) > np.median(joints[single, 0, 2]) + 0.02
    assert joints[running, 0, 2].max() < runner.body.pelvis_height
