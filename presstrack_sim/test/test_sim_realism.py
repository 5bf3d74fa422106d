"""Domain randomisation and the realism report, through presstrack-sim."""
import json

import numpy as np
import pytest

from presstrack_sim.cli import main
from presstrack_sim.mip_format import load_scene
from presstrack_sim.randomize import SENSOR_RANGES, random_sensor
from presstrack_sim.realism import NORMS, realism_report
from presstrack_sim.sensor import SensorModel


def test_random_sensors_stay_inside_the_documented_ranges_and_are_reproducible():
    drawn = [random_sensor(np.random.default_rng(seed)) for seed in range(40)]
    assert {name for name, _ in drawn} == {"commercial", "textile", "mip"}
    for name, sensor in drawn:
        for key, (low, high) in SENSOR_RANGES.items():
            value = getattr(sensor, key)
            assert low <= value <= high or (name != "textile" and value in (0.0, 1.0)) or \
                (key == "threshold_kpa" and value == 4.0 * sensor.noise_kpa), (key, value)
        assert sensor.threshold_kpa >= 4.0 * sensor.noise_kpa  # an empty mat reads 0
    assert len({sensor.threshold_kpa for _, sensor in drawn}) == 40
    assert any(sensor.tile_cells for _, sensor in drawn) and not all(sensor.tile_cells for _, sensor in drawn)
    assert random_sensor(np.random.default_rng(3)) == random_sensor(np.random.default_rng(3))


def test_randomized_scene_and_corpus_record_what_was_drawn(tmp_path, model):
    out = tmp_path / "r.npz"
    assert main(["--people", "1", "--seconds", "1", "--seed", "4", "--fps", "10", "--randomize", "--out",
                 str(out)]) == 0
    scene = load_scene(out)
    sensor = SensorModel(**json.loads(str(scene.extra["sensor_model"])))
    assert sensor != SensorModel() and scene.extra["foot_arch"].shape == (1,)
    assert main(["corpus", "--out", str(tmp_path / "c"), "--scenes", "3", "--seconds", "0.5", "--seed", "2",
                 "--fps", "10", "--randomize"]) == 0
    corpus = json.loads((tmp_path / "c" / "corpus.json").read_text())
    thresholds = {scene["sensor"]["threshold_kpa"] for scene in corpus["scenes"]}
    assert len(thresholds) == 3 and all(scene["plantar"] for scene in corpus["scenes"])


def test_report_measures_the_sensor_from_files(tmp_path, model, capsys):
    files = []
    for profile in ("legacy", "commercial"):
        files.append(tmp_path / f"{profile}.npz")
        assert main(["--people", "1", "--seconds", "2", "--seed", "1", "--fps", "10", "--sensor", profile,
                     "--feet", "anatomical", "--out", str(files[-1])]) == 0
    _, legacy = realism_report(files[:1])
    _, commercial = realism_report(files[1:])
    # The legacy sensor's noise floor lights most of an empty mat; a thresholded one reads exactly 0 there.
    assert np.median(legacy["empty cells reading > 0"].values) > 20
    assert max(commercial["empty cells reading > 0"].values) < 0.1
    assert max(commercial["phantom force"].values) < np.median(legacy["phantom force"].values)
    assert main(["report", *map(str, files), "--out", str(tmp_path / "table.md")]) == 0
    table = (tmp_path / "table.md").read_text()
    assert all(f"| {name} |" in table for name in NORMS)


def test_mesh_overlap_is_measured_inside_the_other_body(model):
    from presstrack_sim.body_overlap import penetration_depth, vertex_normals

    vertices = model.rest_vertices(np.zeros((1, model.num_betas)))[0].double().numpy()
    normals = vertex_normals(vertices, np.asarray(model.faces))
    height = (vertices[:, 1] - vertices[:, 1].min()) / np.ptp(vertices[:, 1])
    trunk = np.flatnonzero((height > 0.6) & (height < 0.65) & (np.abs(vertices[:, 0]) < 0.03))
    front = trunk[np.argmax(vertices[trunk, 2])]  # the middle of the belly (canonical z forward), a flat place
    inside = vertices[front] - 0.01 * normals[front]
    assert penetration_depth(vertices, normals, inside[None]) == pytest.approx(0.01, abs=2e-3)
    assert penetration_depth(vertices, normals, (vertices[front] + 0.02 * normals[front])[None]) == 0.0
    assert penetration_depth(vertices, normals, vertices + [0.0, 0.0, 0.6]) == 0.0  # a neighbour 60 cm ahead


def test_realism_options_make_the_configuration_the_cli_and_the_node_run():
    from presstrack_sim.randomize import with_realism
    from presstrack_sim.sensor import SENSOR_PROFILES
    from presstrack_sim.simulator import SimConfig

    base = SimConfig(scenario="crossing2", seconds=1.0)
    config = with_realism(base, sensor="commercial", feet="anatomical", shoes=0.5, objects=True, carrying=0.2,
                          jump_rate=2.0)
    assert config.sensor == SENSOR_PROFILES["commercial"] and config.plantar.shoe_probability == 0.5
    assert config.objects is not None and config.carrying == 0.2 and config.jump_rate == 2.0
    drawn = with_realism(base, randomize_seed=7)
    assert drawn == with_realism(base, randomize_seed=7) and drawn != with_realism(base, randomize_seed=8)
    assert drawn.bodies is not None and drawn.plantar is not None
    with pytest.raises(ValueError, match="anatomical"):
        with_realism(base, shoes=0.3)
    with pytest.raises(ValueError, match="feet"):
        with_realism(base, feet="bare")
