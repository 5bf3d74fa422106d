"""Plantar pressure from anatomy: load shares of the foot regions, arches, toe pads, shoes, the loading response."""
import numpy as np
import pytest

from presstrack_sim.plantar import (ARCH_STEP_SD, TOE_LESS_EXTRA_U, FootType, PlantarModel, STANDING_SHARE,
                                    frame_load_factors, heel_loading_bias, lean_towards_heel, sole_coordinates,
                                    sole_load_factors)
from presstrack_sim.realism import measure_scene
from presstrack_sim.sensor import SensorModel
from presstrack_sim.simulator import SimConfig, Simulator, simulate_scene


@pytest.fixture(scope="module")
def left_sole(model):
    from presstrack_sim.people import sample_body, sole_vertex_areas

    body = sample_body(model, np.random.default_rng(0))
    rest = model.rest_vertices(body.betas[None])[0].double().numpy()
    areas = sole_vertex_areas(rest, model.faces, model.sole_vertex_ids("left"))
    return body.sole_points[0], body.toe_mask[0], areas


def _region_shares(points, toe_mask, areas, foot):
    load = sole_load_factors(points, toe_mask, 0, foot, areas) * areas
    u, _, u_ball = sole_coordinates(points, toe_mask, 0)
    toe_less = u_ball + 0.08
    edges = [0, toe_less / 3, 2 * toe_less / 3, toe_less, 2]
    return [load[(u >= lo) & (u < hi)].sum() / load.sum() for lo, hi in zip(edges, edges[1:])], load, u, u_ball


def test_flat_sole_shares_follow_the_standing_norms_and_the_arch(left_sole):
    shares, _, _, _ = _region_shares(*left_sole, FootType(arch=0.5))
    assert shares[0] == pytest.approx(STANDING_SHARE["rearfoot"] / sum(STANDING_SHARE.values()), abs=0.06)
    assert shares[2] + shares[3] == pytest.approx(0.32, abs=0.07)
    flat, _, _, _ = _region_shares(*left_sole, FootType(arch=0.0))
    high, _, _, _ = _region_shares(*left_sole, FootType(arch=1.0))
    assert flat[1] > 0.12 and high[1] < 0.03 < shares[1]  # midfoot: flat > normal > high arch (a gap)


def test_hot_spots_toe_pads_and_shoes(left_sole):
    points, toe_mask, areas = left_sole
    barefoot = sole_load_factors(points, toe_mask, 0, FootType(), areas)
    u, _, u_ball = sole_coordinates(points, toe_mask, 0)
    metatarsals = barefoot[np.abs(u - (u_ball - 0.03)) < 0.02].max()
    crease = barefoot[np.abs(u - (u_ball + 0.06)) < 0.01].max()
    toe_pads = barefoot[np.abs(u - (u_ball + 0.13)) < 0.02].max()
    assert crease < 0.25 * toe_pads and toe_pads < metatarsals  # the toe pads print apart from the forefoot
    stiff = sole_load_factors(points, toe_mask, 0, FootType(stiffness=1.25), areas)
    shod = sole_load_factors(points, toe_mask, 0, FootType(shoes=True), areas)
    assert stiff.max() > barefoot.max() > shod.max() and shod.min() > 0.5  # stiffer: sharper; a shoe evens out
    assert FootType(shoes=True).spread_m > FootType().spread_m
    with pytest.raises(ValueError, match="arch"):
        FootType(arch=1.5)


def test_loading_response_leans_on_the_heel(model):
    from presstrack_sim.gait import Footsteps

    # Left foot: a walking stance 0-1 s, then one set down flat at 2 s (heel_pitch 0) that stands on.
    steps = Footsteps(*(np.array(v) for v in ([0, 0], [0.0, 2.0], [1.0, np.inf], [[0, 0], [1, 0]], [0, 0],
                                               [0.3, 0.0], [0, 0], [0.1, 0.1], [0, 0], [0, 0], [1, 0], [0.6, 0.6])))
    times = np.array([-0.1, 0.0, 0.175, 0.35, 0.9, 2.5])
    bias = heel_loading_bias(steps, 0, times)
    np.testing.assert_allclose(bias[[0, 3, 4, 5]], 0.0)  # before, after the loading response, standing
    assert bias[1] > bias[2] > 0
    leaning = lean_towards_heel(np.ones(3), np.array([0.0, 0.5, 1.0]), bias)
    assert leaning[1, 0] > leaning[1, 1] > leaning[1, 2]


def test_anatomical_scene_conserves_force_and_meets_the_standing_norms(model):
    config = SimConfig(scenario="stand_and_pass", seconds=3.0, fps=15.0, seed=2, sensor=SensorModel.ideal(),
                       plantar=PlantarModel(arch_range=(0.4, 0.6)))
    simulator = Simulator(config, model)
    chunk = simulator.render_chunk(0, config.frames)
    cell_newton = config.mat.cell_area_m2 * 1000.0
    for p, person in enumerate(simulator.people):
        force = person.gait.force[:config.frames].sum(axis=1)
        # Where the soles are inside the mat (the walker turns about near its side edge).
        box = chunk.box[:, p]
        inside = (box[:, 0] > 0) & (box[:, 1] > 0) & (box[:, 2] < config.mat.cols) & (box[:, 3] < config.mat.rows)
        assert inside.mean() > 0.5
        np.testing.assert_allclose(chunk.true_pressure[inside, p].sum(axis=(1, 2)) * cell_newton, force[inside],
                                   rtol=1e-3)
    scene = simulate_scene(config, model)
    assert set(scene.extra) >= {"sensor_model", "foot_arch", "foot_shoes"}
    measured = measure_scene(scene)
    assert 50 <= np.median(measured["standing rearfoot share"]) <= 65
    assert 80 <= np.median(measured["standing rearfoot peak"]) <= 200


def test_a_two_centimetre_mat_measures_the_same_force(model):
    from presstrack_common.mat_geometry import MatGeometry

    mat = MatGeometry(rows=119, cols=60, pitch=0.02)
    config = SimConfig(scenario="crossing2", seconds=2.0, fps=15.0, seed=1, mat=mat, sensor=SensorModel.ideal(),
                       plantar=PlantarModel())
    simulator = Simulator(config, model)
    chunk = simulator.render_chunk(0, config.frames)
    for p, person in enumerate(simulator.people):
        on_mat = chunk.present[:, p]
        force = person.gait.force[:config.frames].sum(axis=1)[on_mat]
        measured = chunk.true_pressure[on_mat, p].sum(axis=(1, 2)) * mat.cell_area_m2 * 1000.0
        np.testing.assert_allclose(measured, force, rtol=0.02)


def test_each_step_has_its_own_arch_and_a_higher_one_loads_the_midfoot_less(model):
    config = SimConfig(scenario="crossing2", seconds=8.0, fps=15.0, seed=1, sensor=SensorModel.ideal(),
                       plantar=PlantarModel(arch_range=(0.5, 0.5)))
    person = Simulator(config, model).people[0]
    steps, arches = person.gait_stream.steps, person.step_arches
    assert len(arches) == len(steps.side) > 10
    # About the person's arch, step to step by ARCH_STEP_SD.
    assert abs(np.mean(arches) - 0.5) < 0.05 and 0.5 * ARCH_STEP_SD < np.std(arches) < 1.5 * ARCH_STEP_SD
    # Each stance's load factors are its step's arch's: the midfoot carries less under a higher arch.
    side = 0
    own = steps.of_side(side)
    factors = frame_load_factors(person.load_factors[side], steps, side, arches, steps.strike[own] + 0.01)
    u, _, u_ball = sole_coordinates(person.body.sole_points[side], person.body.toe_mask[side], side)
    toe_less = u_ball + TOE_LESS_EXTRA_U
    midfoot = (u > toe_less / 3) & (u < 2 * toe_less / 3)
    load = factors * person.sole_areas[side]
    midfoot_share = load[:, midfoot].sum(axis=1) / load.sum(axis=1)
    assert np.corrcoef(midfoot_share, arches[own])[0, 1] < -0.9
