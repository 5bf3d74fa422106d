"""Physics of the crowd simulator: feet on the floor where the pressure is, no sliding, forces, gait timing."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

# mesh_recovery (the body model) is a sibling package; make it importable when not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "mesh_recovery"))

from presstrack_sim import gait  # noqa: E402
from presstrack_common.mat_geometry import MatGeometry  # noqa: E402
from presstrack_sim.sensor import SensorModel  # noqa: E402
from presstrack_sim.scenario import PLAN_DT, MotionPlan  # noqa: E402
from presstrack_sim.simulator import (FOOTPRINT_THRESHOLD_KPA, LABEL_MIN_CELLS, label_threshold_kpa,  # noqa: E402
                                      SimConfig, Simulator)


@pytest.fixture(scope="module")
def crossing(model):
    simulator = Simulator(SimConfig(scenario="crossing2", seconds=5.0, fps=15.0, seed=3,
                                    sensor=SensorModel.ideal()), model)
    return simulator, simulator.render_chunk(0, simulator.config.frames, keep_vertices=True)


def _sole_heights(simulator, chunk, person, side):
    ids = simulator.people[person].sole_ids[side]
    return chunk.vertices[:, person][:, ids]


def test_pressure_lies_under_soles_touching_the_floor(crossing):
    simulator, chunk = crossing
    mat = simulator.config.mat
    from scipy.spatial import cKDTree

    checked = 0
    for person in range(len(simulator.people)):
        soles = np.concatenate([_sole_heights(simulator, chunk, person, side) for side in range(2)], axis=1)
        for frame in range(0, len(chunk.pressure), 3):
            cells = np.argwhere(chunk.true_pressure[frame, person] > FOOTPRINT_THRESHOLD_KPA)
            if len(cells) == 0:
                continue
            low = soles[frame][soles[frame][:, 2] < 0.015]
            assert len(low) > 0, f"pressure without any sole near the floor, person {person} frame {frame}"
            distance, _ = cKDTree(low[:, :2]).query(mat.cell_to_world(cells))
            # A vertex spreads its load over +-3 cells.
            assert distance.max() < 0.035, f"pressure {distance.max():.3f} m away from the nearest low sole"
            checked += 1
    assert checked > 20


def test_stance_soles_touch_and_swing_soles_clear_the_floor(crossing):
    simulator, chunk = crossing
    swing_heights = []
    for person, state in enumerate(simulator.people):
        for side in range(2):
            lowest = _sole_heights(simulator, chunk, person, side)[..., 2].min(axis=1)
            stance = state.gait.contact[:, side]
            assert np.all(np.abs(lowest[stance]) < 0.002), "a stance sole is off the floor or in it"
            assert np.all(lowest >= -0.002), "a foot goes through the floor"
            swing_heights.append(lowest[~stance])
    swing = np.concatenate(swing_heights)
    assert len(swing) > 10 and np.median(swing) > 0.01


def test_stance_feet_do_not_slide(crossing):
    simulator, chunk = crossing
    worst, pairs = 0.0, 0
    for person, state in enumerate(simulator.people):
        for side in range(2):
            soles = _sole_heights(simulator, chunk, person, side)
            stance = state.gait.contact[:, side]
            for frame in np.flatnonzero(stance[:-1] & stance[1:]):
                touching = (soles[frame, :, 2] < 0.002) & (soles[frame + 1, :, 2] < 0.002)
                if touching.any():
                    moved = np.linalg.norm(soles[frame + 1, touching, :2] - soles[frame, touching, :2], axis=1)
                    worst = max(worst, float(moved.max()))
                    pairs += 1
    assert pairs > 20
    assert worst < 0.01, f"a planted sole slid {worst * 100:.1f} cm between frames"


def test_pressure_integral_equals_vertical_force(crossing):
    simulator, chunk = crossing
    mat = simulator.config.mat
    compared = 0
    for person, state in enumerate(simulator.people):
        soles = np.concatenate([_sole_heights(simulator, chunk, person, side) for side in range(2)], axis=1)
        inside = mat.contains_world(soles[..., :2], margin=0.05).all(axis=1)
        integral = chunk.true_pressure[:, person].sum(axis=(1, 2)) * mat.cell_area_m2 * 1000.0
        force = state.gait.force.sum(axis=1)
        np.testing.assert_allclose(integral[inside], force[inside], rtol=1e-4)
        compared += inside.sum()
    assert compared > 30


def test_boxes_enclose_the_cells_each_person_shows_on_the_mat(crossing):
    simulator, chunk = crossing
    threshold = label_threshold_kpa(simulator.config.sensor)
    relabelled = 0
    for frame in range(len(chunk.pressure)):
        for person in range(len(simulator.people)):
            touching = chunk.true_pressure[frame, person] > FOOTPRINT_THRESHOLD_KPA
            above = chunk.pressure[frame] > threshold
            above &= ndimage.correlate(above.astype(np.uint8), np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]]),
                                       mode="constant") > 0   # no region of one cell
            shown = above & (chunk.owner[frame] == person)
            cells = np.argwhere(shown if shown.sum() >= LABEL_MIN_CELLS else touching)
            relabelled += shown.sum() >= LABEL_MIN_CELLS and not np.array_equal(cells, np.argwhere(touching))
            x1, y1, x2, y2 = chunk.box[frame, person]
            assert chunk.present[frame, person] == touching.any()
            if len(cells):
                assert y1 == cells[:, 0].min() and y2 == cells[:, 0].max() + 1
                assert x1 == cells[:, 1].min() and x2 == cells[:, 1].max() + 1
            else:
                assert x1 == y1 == x2 == y2 == 0
    assert relabelled > 0, "some feet touch the floor more lightly than the mat shows"


def _straight_walk(speed: float, seconds: float) -> MotionPlan:
    times = np.arange(0, seconds, PLAN_DT)
    moving = np.clip(times - 0.5, 0, None)  # stand for half a second, then walk along +x
    com = np.stack([speed * moving, np.full_like(times, 0.5)], axis=1)
    return MotionPlan(times=times, com_xy=com, facing=np.zeros_like(times), stepping=times >= 0.5,
                      speed=np.where(times >= 0.5, speed, 0.0), preferred_speed=speed)


@pytest.fixture(scope="module")
def body(model):
    from presstrack_sim.people import sample_body

    return sample_body(model, np.random.default_rng(0), height=1.75)


def test_gait_timing_at_normal_speed(body):
    plan = _straight_walk(1.3, 8.0)
    steps = gait.plan_footsteps(plan, body)
    steady = np.flatnonzero((steps.strike > 2.0) & (steps.strike < 6.0))
    cadence = 60.0 / np.diff(steps.strike[steady]).mean()
    assert 95 <= cadence <= 125
    cycle = steps.strike[steady + 2] - steps.strike[steady]
    stance = (steps.toe_off[steady] - steps.strike[steady]) / cycle
    assert np.all((stance > 0.57) & (stance < 0.63))
    # Double support: from this heel strike to the other foot's toe-off, twice per cycle.
    double = 2 * (steps.toe_off[steady - 1] - steps.strike[steady]) / cycle
    assert np.all((double > 0.15) & (double < 0.25))
    # Feet land half a step width (8-12 cm between heel centres) either side of the line of progression, and
    # stand wider (15-20 cm) before the walk; steps grow with speed.
    lateral = steps.position[steady, 1] - 0.5
    np.testing.assert_allclose(np.abs(lateral), body.step_width / 2, atol=1e-6)
    assert 0.08 <= body.step_width <= 0.12
    standing = np.abs(steps.position[:2, 1] - 0.5).sum()
    assert 0.15 <= standing <= 0.20 and abs(standing - body.stance_width) < 1e-6
    assert np.all(np.sign(lateral) == np.where(steps.side[steady] == gait.LEFT, 1, -1))
    slow = gait.plan_footsteps(_straight_walk(0.6, 8.0), body)
    slow_steps = np.flatnonzero((slow.strike > 2.0) & (slow.strike < 6.0))
    assert np.diff(slow.position[slow_steps, 0]).mean() < np.diff(steps.position[steady, 0]).mean()


def test_vertical_force_profile(body):
    plan = _straight_walk(1.3, 6.0)
    times = np.arange(0, 6.0, 1 / 120)
    track = gait.synthesise_gait(plan, body, times)
    weight = body.weight_newton
    standing = times < 0.45
    np.testing.assert_allclose(track.force[standing].sum(axis=1), weight, rtol=1e-9)
    walking = (times > 2) & (times < 5)
    peak = track.force[walking].max(axis=0) / weight
    assert np.all((peak > 1.0) & (peak < 1.25))
    # Over whole cycles the body weight is carried on average.
    assert abs(track.force[walking].sum(axis=1).mean() / weight - 1) < 0.05
    # A foot carries load exactly when it is in stance.
    assert np.all((track.force > 0) == track.contact)


def test_standing_splits_body_weight_and_sways_with_the_weight_shift(model):
    simulator = Simulator(SimConfig(scenario="stand_and_pass", seconds=4.0, seed=2, sensor=SensorModel.ideal()),
                          model)
    stander = simulator.people[0]
    both_down = stander.gait.contact.all(axis=1)
    assert both_down.all(), "the standing person lifted a foot"
    force = stander.gait.force
    np.testing.assert_allclose(force.sum(axis=1), stander.body.weight_newton, rtol=1e-9)
    assert np.ptp(force[:, 0] / force.sum(axis=1)) > 0.1, "weight shifting should move load between the feet"


def test_scene_is_deterministic_from_the_seed(model):
    def first_frames(seed):
        simulator = Simulator(SimConfig(scenario="random", people=2, seconds=1.0, seed=seed), model)
        return [simulator.step() for _ in range(3)]

    a, b, c = first_frames(7), first_frames(7), first_frames(8)
    for frame_a, frame_b in zip(a, b):
        np.testing.assert_array_equal(frame_a.pressure, frame_b.pressure)
        for person_a, person_b in zip(frame_a.persons, frame_b.persons):
            np.testing.assert_array_equal(person_a.pose, person_b.pose)
    assert not all(np.array_equal(x.pressure, y.pressure) for x, y in zip(a, c))


def test_step_streams_frames_with_the_people_on_the_mat(model):
    config = SimConfig(scenario="side_by_side", seconds=1.0, fps=10, seed=1, chunk_frames=4)
    simulator = Simulator(config, model)
    frames = [simulator.step() for _ in range(12)]  # runs past the episode: a new one starts
    assert [f.index for f in frames] == list(range(10)) + [0, 1]
    for frame in frames:
        assert frame.pressure.shape == (config.mat.rows, config.mat.cols) and frame.pressure.dtype == np.float32
        assert frame.persons, "both walkers start on the mat"
        for person in frame.persons:
            x1, y1, x2, y2 = person.box
            assert x2 > x1 and y2 > y1
            footprint = frame.pressure[int(y1):int(y2), int(x1):int(x2)]
            assert footprint.max() > 1.0
            assert person.pose.shape == (72,) and person.joints.shape == (24, 3)
    # The new episode is a new crowd: no id of the first one names one of its people (a live scorer would count
    # every episode's start as id switches of people who were never tracked before).
    first, second = ({p.id for f in part for p in f.persons} for part in (frames[:10], frames[10:]))
    assert first == {0, 1} and second.isdisjoint(first)


def test_side_by_side_walkers_keep_the_room_their_bodies_need(model):
    simulator = Simulator(SimConfig(scenario="side_by_side", seconds=3.0, seed=4), model)
    pelvis = [p.gait.joints[:, 0, :2] for p in simulator.people]
    gap = np.linalg.norm(pelvis[0] - pelvis[1], axis=1)
    # 40 cm apart as planned, their hands were inside each other's hips: the couple keeps the width of both
    # footprints plus the clearance between their centres of mass; each pelvis sways ~3 cm over the loaded foot.
    footprints = [person.gait_stream.plan for person in simulator.people]
    planned = np.linalg.norm(footprints[0].com_xy - footprints[1].com_xy, axis=1)
    assert np.ptp(planned) < 1e-6 and 0.45 < planned[0] < 0.8
    assert abs(gap.mean() - planned[0]) < 0.02
    assert np.all(np.abs(gap - planned[0]) < 0.08)


@pytest.mark.parametrize("scenario, seed", [("face_to_face", 41), ("wander3", 22)])
def test_people_never_stand_on_each_others_feet(model, scenario, seed):
    # Both scenes, planned person by person, had partners' or passers-by's soles on the same cells in
    # about a third (face to face) and a tenth (wandering) of their frames.
    simulator = Simulator(SimConfig(scenario=scenario, seconds=20.0, fps=15.0, seed=seed,
                                    sensor=SensorModel.ideal()), model)
    chunk = simulator.render_chunk(0, simulator.config.frames)
    contact = chunk.true_pressure > FOOTPRINT_THRESHOLD_KPA           # (F, P, rows, cols)
    shared = contact.sum(axis=1) > 1
    assert not shared.any(), f"{int(shared.any(axis=(1, 2)).sum())} frames with two people's soles on one cell"


def test_bodies_have_requested_stature_and_plausible_mass(model):
    from presstrack_sim.people import sample_body

    rng = np.random.default_rng(5)
    for _ in range(4):
        person = sample_body(model, rng)
        assert 1.49 <= person.height <= 1.91
        assert 40 <= person.mass <= 100
    tall = sample_body(model, rng, height=1.85)
    assert abs(tall.height - 1.85) < 0.01


def test_mip_mat_geometry():
    mat = MatGeometry()
    corners = mat.corners_world()
    paper = np.array([[1.17, 1.83], [-0.03, 1.818], [1.135, -0.567], [-0.06, -0.565]])
    assert np.abs(corners - paper).max() < 0.07
    np.testing.assert_allclose(mat.cell_to_world(np.array([0.0, 0.0])), [1.165, 1.825])
    points = np.random.default_rng(0).uniform(-1, 2, (20, 2))
    np.testing.assert_allclose(mat.cell_to_world(mat.world_to_cell(points)), points, atol=1e-12)
    with pytest.raises(ValueError, match="pitch"):
        MatGeometry(pitch=0.0)
    with pytest.raises(ValueError, match="floor"):
        tilted = np.eye(4)
        tilted[2, 3] = 0.1
        MatGeometry(world_from_mat=tilted)


def test_gait_synthesised_in_blocks_equals_the_whole(body):
    plan = _straight_walk(1.1, 6.0)
    times = np.arange(0, 5.0, 1 / 30)
    whole = gait.synthesise_gait(plan, body, times)
    for block in (1, 17):
        stream = gait.GaitStream(plan, body, times, block_frames=block)
        stream.until(40)
        assert stream.ready == (40 if block == 1 else 51)
        blocked = stream.until(len(times))
        for name in ("pose", "transl", "joints", "force"):
            np.testing.assert_allclose(getattr(blocked, name), getattr(whole, name), rtol=0, atol=1e-9, err_msg=name)
        np.testing.assert_array_equal(blocked.contact, whole.contact)


def test_live_frames_equal_the_recorded_scene(model):
    from presstrack_sim.simulator import simulate_scene

    config = SimConfig(scenario="crossing2", seconds=2.0, seed=5, chunk_frames=7)
    scene = simulate_scene(config, model)
    simulator = Simulator(config, model)
    for index in range(config.frames):
        frame = simulator.step()
        np.testing.assert_array_equal(frame.pressure, scene.pressure[index])
        assert [p.id for p in frame.persons] == list(np.flatnonzero(scene.present[index]))
        for person in frame.persons:
            np.testing.assert_array_equal(person.pose, scene.pose[index, person.id])
            np.testing.assert_array_equal(person.box, scene.box[index, person.id])


def test_live_steps_never_stall(model):
    """Work is spread over the steps: no step waits for a whole episode to be planned (as the constructor does).
    The bounds are loose on purpose (CI machines are slow and busy); pytest -s prints the real numbers."""
    import time

    # Few frames for a long plan (the crowd is integrated at 60 Hz whatever the frame rate): planning is late
    # unless the steps catch up.
    config = SimConfig(scenario="wander", people=5, seconds=40.0, fps=1.0, seed=2)
    started = time.perf_counter()
    simulator = Simulator(config, model)
    setup = time.perf_counter() - started
    durations = []
    for _ in range(2 * config.frames + 20):  # crosses two episode boundaries
        begin = time.perf_counter()
        simulator.step()
        durations.append(time.perf_counter() - begin)
    first, rest = durations[0], np.array(durations[1:])
    print(f"\nlive step, 5 people: constructor {setup:.2f} s, first step {first:.2f} s, then mean "
          f"{rest.mean() * 1e3:.1f} ms, p99 {np.percentile(rest, 99) * 1e3:.1f} ms, max {rest.max() * 1e3:.1f} ms "
          f"over {len(rest)} steps and {simulator.episode} new episodes")
    assert simulator.episode == 2
    assert setup + first < 10.0
    assert rest.max() < min(2.0, setup / 2), "a step waited for an episode to be planned"
