"""The sensor profiles: thresholds, saturation, nonlinear response, hysteresis, creep, ghosting, defects, tiles."""
import numpy as np
import pytest

from presstrack_sim.sensor import SENSOR_PROFILES, Sensor, SensorModel, seam_mask

SHAPE = (40, 30)
QUIET = dict(noise_kpa=0.0, noise_fraction=0.0, crosstalk_sigma=0.0, bits=32, gain_spread=0.0, dead_fraction=0.0,
             stuck_fraction=0.0, hot_fraction=0.0)


def _sensor(name: str, seed: int = 0, fps: float = 15.0, **overrides) -> Sensor:
    return Sensor(SensorModel.profile(name, **overrides), SHAPE, np.random.default_rng(seed), 1.0 / fps)


def test_profiles_are_named_and_unknown_ones_refused():
    assert {"legacy", "commercial", "textile", "mip", "tiled", "ideal"} <= set(SENSOR_PROFILES)
    assert SENSOR_PROFILES["legacy"] == SensorModel()
    assert SENSOR_PROFILES["mip"].full_scale_kpa == 500.0
    with pytest.raises(ValueError, match="unknown sensor profile"):
        SensorModel.profile("velvet")
    with pytest.raises(ValueError, match="seam_cells"):
        SensorModel(tile_cells=10, seam_cells=10)


def test_commercial_mat_reads_exactly_zero_unloaded_but_for_its_hot_cells():
    sensor = Sensor(SensorModel.profile("commercial", hot_fraction=0.01), SHAPE, np.random.default_rng(1))
    empty = sensor.measure(np.zeros((20,) + SHAPE))
    hot = sensor.hot_offset > 0
    assert hot.sum() == 12
    assert np.all(empty[:, ~hot] == 0.0)
    assert np.all(empty[:, hot & ~sensor.dead] > 0)
    light = np.zeros(SHAPE)
    light[5:10, 5:10] = 3.0  # under the 5 kPa firmware threshold
    light[20:25, 5:10] = 60.0
    reading = sensor.measure(light)
    assert np.all(reading[5:10, 5:10][~hot[5:10, 5:10]] == 0)
    assert np.median(reading[21:24, 6:9]) == pytest.approx(60.0, rel=0.1)


def test_heavy_loads_saturate_at_full_scale():
    for name in ("commercial", "textile", "mip", "legacy"):
        sensor = _sensor(name)
        truth = np.zeros(SHAPE)
        truth[10:20, 10:20] = 2000.0
        reading = sensor.measure(truth)
        assert reading.max() == pytest.approx(sensor.model.full_scale_kpa, rel=1e-6), name


def test_textile_response_is_nonlinear_and_remembers_its_loading():
    sensor = _sensor("textile", **QUIET, threshold_kpa=0.0, ghost_fraction=0.0, creep_fraction=0.0)
    # Power law: a light load over-reads, full scale reads full scale.
    light = sensor.measure(np.full(SHAPE, 30.0))[0, 0]
    assert light == pytest.approx(300.0 * 0.1 ** 0.7, rel=1e-5)
    sensor = _sensor("textile", **QUIET, threshold_kpa=0.0, ghost_fraction=0.0, creep_fraction=0.0,
                     response_exponent=1.0)
    ramp = np.concatenate([np.linspace(0, 200, 16), np.linspace(200, 0, 16)])
    readings = sensor.measure(ramp[:, None, None] * np.ones(SHAPE))[:, 0, 0]
    loading, unloading = readings[:16], readings[16:][::-1]
    np.testing.assert_allclose(loading, ramp[:16], rtol=1e-6)  # loading reads true
    assert np.all(unloading[1:-1] > ramp[1:15])  # unloading reads high: hysteresis
    assert (unloading - ramp[:16]).max() < 0.1 * 200 + 1e-6


def test_textile_creeps_under_a_steady_load():
    sensor = _sensor("textile", fps=10.0, **QUIET, threshold_kpa=0.0, ghost_fraction=0.0, hysteresis_fraction=0.0,
                     response_exponent=1.0)
    readings = sensor.measure(np.full((300,) + SHAPE, 100.0))[:, 0, 0]
    assert readings[0] == pytest.approx(100.0 * (1 + 0.05 * (1 - np.exp(-0.1 / 5.0))), rel=1e-6)
    assert readings[-1] == pytest.approx(105.0, rel=0.01)  # 30 s = 6 time constants
    assert np.all(np.diff(readings) >= 0)


def test_matrix_ghosting_lights_the_crossings_of_loaded_rows_and_columns():
    sensor = _sensor("textile", **QUIET, threshold_kpa=0.0, hysteresis_fraction=0.0, creep_fraction=0.0,
                     response_exponent=1.0)
    truth = np.zeros(SHAPE)
    truth[5:8, 5:8] = 100.0
    truth[30:33, 20:23] = 100.0
    reading = sensor.measure(truth)
    assert reading[5:8, 20:23].min() > 0 and reading[30:33, 5:8].min() > 0  # the ghosts
    assert np.all(reading[15:25, :] == 0) and np.all(reading[:, 12:18] == 0)  # rows/columns carrying nothing
    assert reading.sum() == pytest.approx(truth.sum() * 1.03, rel=1e-6)


def test_tiled_mat_has_insensitive_seams_and_defects_are_where_the_sensor_says():
    seams = seam_mask((100, 100), 48, 1)
    assert np.flatnonzero(seams[:, 0]).tolist() == [48, 96] and np.flatnonzero(seams[0]).tolist() == [48, 96]
    sensor = Sensor(SensorModel.profile("tiled", dead_fraction=0.01), (100, 100), np.random.default_rng(3))
    reading = sensor.measure(np.full((100, 100), 80.0))
    assert np.all(reading[48] == 0) and np.all(reading[:, 96] == 0)
    assert np.all(reading[sensor.dead] == 0) and sensor.dead.sum() == 100
    assert np.median(reading) == pytest.approx(80.0, rel=0.05)


@pytest.mark.parametrize("name", ["textile", "commercial"])
def test_measuring_a_batch_equals_measuring_frame_by_frame(name):
    rng = np.random.default_rng(5)
    truth = rng.uniform(0, 150, (6,) + SHAPE) * (rng.random((6,) + SHAPE) > 0.7)
    batch = _sensor(name, seed=9).measure(truth)
    one_by_one = _sensor(name, seed=9)
    np.testing.assert_array_equal(batch, np.stack([one_by_one.measure(frame) for frame in truth]))
