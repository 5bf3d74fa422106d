"""Floor objects that are no one: furniture legs, a dropped object, a pet's paws; their physics and ground truth."""
import numpy as np
import pytest
from scipy.ndimage import maximum_filter

from presstrack_common.mat_geometry import MatGeometry
from presstrack_sim.objects import EDGE_BAND_M, GRAVITY, ObjectsConfig, cell_object, object_pressure, place_objects
from presstrack_sim.sensor import SensorModel
from presstrack_sim.simulator import SimConfig, Simulator, simulate_scene

MAT = MatGeometry()
CELL_NEWTON = MAT.cell_area_m2 * 1000.0
TIMES = np.arange(60) / 15.0


def _objects(seed: int, **counts):
    config = ObjectsConfig(**({"furniture": 0, "dropped": 0, "pets": 0} | counts))
    return place_objects(config, MAT, TIMES, np.random.default_rng(seed))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_pets_paws_carry_its_weight_in_a_trot(seed):
    (pet,) = _objects(seed, pets=1)
    pressure = object_pressure([pet], MAT, 0, len(TIMES))[0]
    np.testing.assert_allclose(pressure.sum(axis=(1, 2)) * CELL_NEWTON, pet.mass * GRAVITY, rtol=1e-4)
    down = pet.loads > 0
    assert np.all(down.sum(axis=1) >= 2)  # a trot always has a diagonal pair down
    np.testing.assert_array_equal(down[:, 0], down[:, 3])  # left fore with right hind
    np.testing.assert_array_equal(down[:, 1], down[:, 2])
    fore = pet.loads[:, :2].sum(axis=1) / pet.loads.sum(axis=1)
    assert np.all(fore[down.all(axis=1)] == pytest.approx(0.6))
    travelled = np.linalg.norm(np.diff(pet.contacts[:, 0], axis=0), axis=1).sum()
    assert travelled > 0.5 * 0.6 * TIMES[-1]  # it moves


def test_furniture_stands_half_on_the_mat_in_the_band_walkers_leave_free():
    (furniture,) = _objects(3, furniture=1)
    pressure = object_pressure([furniture], MAT, 0, 2)[0]
    np.testing.assert_allclose(pressure.sum(axis=(1, 2)) * CELL_NEWTON, furniture.mass * GRAVITY / 2, rtol=1e-4)
    cols = np.flatnonzero(pressure[0].sum(axis=0) > 0.5)
    inset_cells = np.minimum(cols, MAT.cols - 1 - cols)
    assert inset_cells.max() * MAT.pitch <= EDGE_BAND_M[1] + 0.04


def test_a_dropped_object_weighs_from_the_moment_it_lands():
    (dropped,) = _objects(4, dropped=1)
    force = object_pressure([dropped], MAT, 0, len(TIMES))[0].sum(axis=(1, 2)) * CELL_NEWTON
    landed = np.flatnonzero(force > 0)
    assert 0 < landed[0] and np.all(np.diff(landed) == 1) and landed[-1] == len(TIMES) - 1
    np.testing.assert_allclose(force[landed], dropped.mass * GRAVITY, rtol=1e-4)


def test_cell_object_names_the_object_pressing_hardest():
    pressure = np.zeros((2, 1, 3, 3), dtype=np.float32)
    pressure[0, 0, 0, 0], pressure[1, 0, 0, 0], pressure[1, 0, 2, 2] = 5, 7, 1
    owner = cell_object(pressure)
    assert owner[0, 0, 0] == 1 and owner[0, 2, 2] == 1 and owner[0, 1, 1] == -1


def test_scene_with_objects_says_what_is_no_one(model):
    config = SimConfig(scenario="crossing2", seconds=2.0, fps=15.0, seed=5, sensor=SensorModel.ideal(),
                       objects=ObjectsConfig(furniture=1, dropped=1, pets=1))
    simulator = Simulator(config, model)
    chunk = simulator.render_chunk(0, config.frames)
    objects = object_pressure(simulator.objects, config.mat, 0, config.frames)
    total = (chunk.true_pressure.sum(axis=1) + objects.sum(axis=0)).sum(axis=(1, 2))
    np.testing.assert_allclose(chunk.pressure.sum(axis=(1, 2)), total, rtol=1e-4)  # the mat reads both
    nobody_near = maximum_filter(chunk.true_pressure.sum(axis=1), size=(1, 3, 3)) == 0  # cell_owner's reach
    only_objects = (chunk.object_owner >= 0) & nobody_near
    assert only_objects.any() and np.all(chunk.owner[only_objects] == -1)
    scene = simulate_scene(config, model)
    assert list(scene.extra["object_kinds"]) == ["furniture", "dropped", "pet"]
    np.testing.assert_array_equal(scene.extra["cell_object"], chunk.object_owner)
