"""MIP-format writer and reader, sensor model, and the presstrack-sim command."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "mesh_recovery"))

from presstrack_common.mat_geometry import MatGeometry  # noqa: E402
from presstrack_sim.mip_format import Scene, load_scene, present_segments, write_scene  # noqa: E402
from presstrack_sim.pressure import contact_weights, splat_forces  # noqa: E402
from presstrack_sim.sensor import Sensor, SensorModel  # noqa: E402


def _scene(frames=6, people=2) -> Scene:
    rng = np.random.default_rng(0)
    mat = MatGeometry(rows=20, cols=10)
    present = np.ones((frames, people), dtype=bool)
    present[:2, 1] = False
    return Scene(name="sim/test", pressure=rng.uniform(0, 50, (frames, 20, 10)).astype(np.float32),
                 box=rng.uniform(0, 10, (frames, people, 4)).astype(np.float32),
                 pose=rng.normal(size=(frames, people, 72)).astype(np.float32),
                 betas=rng.normal(size=(frames, people, 10)).astype(np.float32),
                 trans=rng.normal(size=(frames, people, 3)).astype(np.float32),
                 keypoints_3d=rng.normal(size=(frames, people, 24, 3)).astype(np.float32),
                 present=present, contact=rng.uniform(size=(frames, people, 2)) > 0.5,
                 person_ids=np.arange(people), heights=np.full(people, 1.7, np.float32),
                 masses=np.full(people, 70.0, np.float32), fps=15.0, mat=mat)


def test_round_trip(tmp_path):
    scene = _scene()
    path = write_scene(tmp_path / "data_1", scene)
    assert path.name == "data_1.npz"
    loaded = load_scene(path)
    for key in ("pressure", "box", "pose", "betas", "trans", "keypoints_3d", "present", "contact", "person_ids"):
        np.testing.assert_array_equal(getattr(loaded, key), getattr(scene, key), err_msg=key)
    assert loaded.name == "sim/test" and loaded.fps == 15.0
    np.testing.assert_array_equal(loaded.mat.world_from_mat, scene.mat.world_from_mat)
    with np.load(path) as raw:
        assert str(raw["pressure_unit"]) == "kPa" and float(raw["pressure_scale_kpa"]) == 1.0
        np.testing.assert_array_equal(raw["segments"], [[[0, 6]], [[2, 6]]])


def test_segments_are_runs_of_presence():
    present = np.array([[1, 0], [1, 1], [0, 1], [1, 0]], dtype=bool)
    np.testing.assert_array_equal(present_segments(present), [[[0, 2], [3, 4]], [[1, 3], [-1, -1]]])


def _rewrite(tmp_path, change):
    path = write_scene(tmp_path / "scene.npz", _scene())
    with np.load(path) as raw:
        data = {key: raw[key] for key in raw.files}
    change(data)
    broken = tmp_path / "broken.npz"
    np.savez(broken, **data)
    return broken


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("box"), "missing key.*box"),
    (lambda d: d.update(pose=d["pose"][:, :, :69]), "pose.*size 69, expected 72"),
    (lambda d: d.update(trans=d["trans"][:-1]), "trans.*size 5, but T = 6"),
    (lambda d: d.update(present=d["present"].astype(np.float32)), "present.*dtype float32"),
    (lambda d: d.update(pressure_unit=np.array("raw")), "pressure_unit"),
    (lambda d: d.update(segments=d["segments"] + 1), "segments disagree"),
    (lambda d: d.update(rows=np.array(21)), "rows x cols"),
])
def test_reader_names_file_and_problem(tmp_path, change, message):
    broken = _rewrite(tmp_path, change)
    with pytest.raises(ValueError, match=message) as error:
        load_scene(broken)
    assert "broken.npz" in str(error.value)


def test_reader_rejects_non_npz(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_text("not a zip")
    with pytest.raises(ValueError, match="junk.npz"):
        load_scene(path)


def test_splat_conserves_force_inside_the_mat_and_loses_it_outside():
    mat = MatGeometry(rows=40, cols=30)
    points = mat.cell_to_world(np.array([[10.3, 12.7], [25.0, 5.5], [20.0, -10.0]]))
    image = splat_forces(points, np.array([100.0, 250.0, 40.0]), mat)[0]
    assert image.sum() * mat.cell_area_m2 * 1000 == pytest.approx(350.0)
    # 100 N spread over cells of 1 cm^2 peaks well below 100 N / 1 cm^2 = 1000 kPa.
    assert 0 < image.max() < 1000


def test_contact_weights_prefer_low_vertices_and_large_areas():
    weights = contact_weights(np.array([[0.0, 0.005, 0.02, 0.0]]), np.array([1.0, 1.0, 1.0, 3.0]))
    np.testing.assert_allclose(weights, [[1 / 4.5, 0.5 / 4.5, 0.0, 3 / 4.5]])
    floating = contact_weights(np.array([[0.03, 0.02]]), np.ones(2))
    np.testing.assert_array_equal(floating, [[0.0, 1.0]])


def test_sensor_model():
    rng = np.random.default_rng(0)
    truth = np.zeros((30, 20))
    truth[10:15, 5:9] = 80.0
    truth[3, 3] = 900.0
    ideal = Sensor(SensorModel.ideal(), truth.shape, rng).measure(truth)
    np.testing.assert_allclose(ideal, truth, rtol=1e-6)
    blurred = Sensor(SensorModel(full_scale_kpa=1e4, noise_kpa=0, noise_fraction=0, crosstalk_sigma=0.7, bits=32),
                     truth.shape, rng).measure(truth)
    assert blurred.sum() == pytest.approx(truth.sum(), rel=1e-4) and blurred[3, 3] < 900
    model = SensorModel(full_scale_kpa=400, noise_kpa=0.5, bits=8, dead_fraction=0.05, stuck_fraction=0.02)
    sensor = Sensor(model, truth.shape, rng)
    reading = sensor.measure(truth)
    assert reading.max() <= 400 and reading.min() >= 0 and reading.dtype == np.float32
    step = 400 / 255
    np.testing.assert_allclose(reading[~sensor.stuck] / step, np.round(reading[~sensor.stuck] / step), atol=1e-3)
    assert np.all(reading[sensor.dead] == 0)
    np.testing.assert_allclose(reading[sensor.stuck], sensor.stuck_value[sensor.stuck], rtol=1e-6)
    assert sensor.dead.sum() == 30 and sensor.stuck.sum() == 12
    with pytest.raises(ValueError, match="dead_fraction"):
        SensorModel(dead_fraction=1.5)


def test_cli_writes_a_loadable_scene(tmp_path, model):
    from presstrack_sim.cli import main

    out = tmp_path / "scene.npz"
    assert main(["--people", "2", "--seconds", "1", "--seed", "1", "--out", str(out), "--fps", "10",
                 "--rows", "120", "--cols", "100"]) == 0
    scene = load_scene(out)
    assert scene.pressure.shape == (10, 120, 100) and scene.box.shape == (10, 2, 4)
    assert scene.present.any(axis=0).all()
    # Every person with a box has pressure inside it, on cells the person owns.
    assert scene.cell_owner.shape == scene.pressure.shape and scene.cell_owner.dtype == np.int8
    for frame, slot in zip(*np.nonzero(scene.present)):
        x1, y1, x2, y2 = scene.box[frame, slot].astype(int)
        own = scene.cell_owner[frame, y1:y2, x1:x2] == slot
        assert scene.pressure[frame, y1:y2, x1:x2][own].max() > 1.0


def test_cli_rejects_bad_arguments(tmp_path, capsys):
    from presstrack_sim.cli import main

    assert main(["--scenario", "crossing2", "--people", "3", "--seconds", "1", "--out", str(tmp_path / "x.npz")]) == 2
    assert "crossing2" in capsys.readouterr().err


def test_corpus_splits_have_disjoint_subjects(tmp_path, model):
    from presstrack_sim.cli import main

    assert main(["corpus", "--out", str(tmp_path), "--scenes", "3", "--seconds", "0.5", "--seed", "2",
                 "--fps", "10"]) == 0
    # Scenes simulated in parallel processes are the same files.
    assert main(["corpus", "--out", str(tmp_path / "parallel"), "--scenes", "3", "--seconds", "0.5", "--seed", "2",
                 "--fps", "10", "--jobs", "2"]) == 0
    for name in ("data_1.npz", "data_2.npz", "data_3.npz"):
        assert (tmp_path / name).read_bytes() == (tmp_path / "parallel" / name).read_bytes()
    corpus = json.loads((tmp_path / "corpus.json").read_text())
    assert sorted(sum(corpus["splits"].values(), [])) == ["data_1.npz", "data_2.npz", "data_3.npz"]
    subjects = {split: set(ids) for split, ids in corpus["subjects"].items()}
    assert not subjects["train"] & subjects["test"] and not subjects["train"] & subjects["val"]
    for scene in corpus["scenes"]:
        assert set(scene["subjects"]) <= subjects[scene["split"]]
        loaded = load_scene(tmp_path / scene["file"])
        betas = [corpus["subject_betas"][str(s)] for s in scene["subjects"]]
        first = loaded.present.argmax(axis=0)
        for slot, expected in enumerate(betas):
            if loaded.present[:, slot].any():
                np.testing.assert_allclose(loaded.betas[first[slot], slot], expected, rtol=1e-5, atol=1e-6)


def test_sensor_measures_a_batch_like_one_image_after_another():
    model = SensorModel(dead_fraction=0.02, stuck_fraction=0.01)
    rng = np.random.default_rng(3)
    images = rng.uniform(0, 300, (5, 30, 20)) * (rng.uniform(size=(5, 30, 20)) < 0.2)
    one_by_one = Sensor(model, (30, 20), np.random.default_rng(4))
    batch = Sensor(model, (30, 20), np.random.default_rng(4))
    np.testing.assert_array_equal(batch.measure(images), np.stack([one_by_one.measure(image) for image in images]))
    with pytest.raises(ValueError, match="shape"):
        batch.measure(np.zeros((20, 30)))


def test_cell_owner_is_the_hardest_presser_within_one_cell():
    from presstrack_sim.simulator import cell_owner

    true = np.zeros((1, 2, 6, 8), dtype=np.float32)
    true[0, 0, 1, 1] = 5.0  # person 0 at (1, 1)
    true[0, 1, 1, 4] = 9.0  # person 1 at (1, 4): (1, 2) is person 0's halo, (1, 3) person 1's
    owner = cell_owner(true)[0]
    assert owner.dtype == np.int8
    assert (owner[0:3, 0:3] == 0).all() and (owner[0:3, 3:6] == 1).all()
    assert (owner[3:] == -1).all() and (owner[:, 6:] == -1).all()


def test_footprint_box_encloses_the_cells_above_threshold():
    from presstrack_sim.simulator import FOOTPRINT_THRESHOLD_KPA, footprint_box

    rng = np.random.default_rng(6)
    footprints = np.where(rng.uniform(size=(4, 3, 30, 20)) < 0.01, 10.0, 0.2)
    footprints[0, 0] = 0.0
    boxes = footprint_box(footprints)
    assert boxes.shape == (4, 3, 4) and boxes.dtype == np.float32
    for index in np.ndindex(4, 3):
        cells = np.argwhere(footprints[index] > FOOTPRINT_THRESHOLD_KPA)
        expected = [0, 0, 0, 0] if len(cells) == 0 else [cells[:, 1].min(), cells[:, 0].min(),
                                                          cells[:, 1].max() + 1, cells[:, 0].max() + 1]
        np.testing.assert_array_equal(boxes[index], expected)
        np.testing.assert_array_equal(footprint_box(footprints[index]), expected)


def test_label_box_holds_the_cells_the_mat_shows_of_each_person():
    from presstrack_sim.simulator import LABEL_THRESHOLD_KPA, label_box

    owner = np.full((1, 10, 12), -1, dtype=np.int8)
    owner[0, 1:4, 1:5] = 0      # person 0's foot, of which the mat shows only the top-left 2 x 2 cells
    owner[0, 6:9, 6:11] = 1     # person 1's foot, of which the mat shows 3 cells: too few to label
    measured = np.zeros((1, 10, 12), dtype=np.float32)
    measured[0, 1:3, 1:3] = LABEL_THRESHOLD_KPA + 1.0
    measured[0, 7, 6:9] = LABEL_THRESHOLD_KPA + 1.0
    measured[0, 5, 11] = 50.0   # a stuck cell nobody stands on
    contact = np.array([[[1, 1, 5, 4], [6, 6, 11, 9], [0, 0, 0, 0]]], dtype=np.float32)
    box = label_box(measured, owner, contact)
    assert box.dtype == np.float32
    np.testing.assert_array_equal(box[0, 0], [1, 1, 3, 3])      # what the mat shows
    np.testing.assert_array_equal(box[0, 1], [6, 6, 11, 9])     # the true contact, as the person stands there
    np.testing.assert_array_equal(box[0, 2], [0, 0, 0, 0])      # off the mat


@pytest.mark.parametrize("arguments, message", [
    (["--seconds", "abc"], "--seconds"),
    (["--scenario", "nowhere"], "--scenario"),
    (["corpus", "--scenes", "2"], "--scenes"),
])
def test_cli_argument_errors_are_one_line(tmp_path, capsys, arguments, message):
    from presstrack_sim.cli import main

    argv = arguments + ["--out", str(tmp_path / "x.npz")]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.count("\n") == 1 and message in error and "usage" not in error


def test_cli_refuses_an_unwritable_output_before_simulating(tmp_path, capsys):
    from presstrack_sim.cli import main

    for argv, message in (
        (["--out", str(tmp_path / "missing" / "x.npz")], "does not exist"),
        (["--out", str(tmp_path)], "folder"),
        (["--out", str(tmp_path / "x.npz"), "--picture", str(tmp_path / "missing" / "x.png")], "--picture"),
    ):
        assert main(argv + ["--seconds", "600"]) == 2  # would take long if it simulated first
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and message in error and "Traceback" not in error
    assert not (tmp_path / "x.npz").exists()


def test_label_threshold_stays_above_the_sensor_noise():
    from presstrack_sim.sensor import SensorModel
    from presstrack_sim.simulator import LABEL_NOISE_SIGMAS, LABEL_THRESHOLD_KPA, label_threshold_kpa

    # A quiet mat keeps the fixed threshold (1.5 kPa is 3 sigmas of the 0.5 kPa mat); a noisier one raises it.
    assert label_threshold_kpa(SensorModel(noise_kpa=0.5)) == LABEL_THRESHOLD_KPA
    assert label_threshold_kpa(SensorModel(noise_kpa=0.3)) == LABEL_THRESHOLD_KPA
    assert label_threshold_kpa(SensorModel(noise_kpa=2.0)) == pytest.approx(LABEL_NOISE_SIGMAS * 2.0)


def test_noisy_mat_labels_hold_the_feet_not_the_noise():
    """On a 2 kPa mat the fixed 1.5 kPa threshold passes 23 % of the cells near a foot that carry no load, so the
    label box grows far beyond the foot's load; the threshold above the noise, without single cells, keeps it to
    the loaded cells (the labels of before: `drop_speckle=False`)."""
    from presstrack_sim.simulator import label_box

    rng = np.random.default_rng(0)
    truth = np.zeros((1, 40, 40), dtype=np.float32)
    truth[0, 15:25, 17:22] = 80.0                        # a foot: 10 x 5 cells well above any threshold
    owner = np.full((1, 40, 40), -1, dtype=np.int8)
    owner[0, 5:35, 7:32] = 0                             # the person's own cells, far into the pressure's faint tail
    measured = truth + rng.normal(0.0, 2.0, truth.shape).astype(np.float32)
    contact = np.array([[[17, 15, 22, 25]]], dtype=np.float32)
    fixed = label_box(measured, owner, contact, 1.5, drop_speckle=False)[0, 0]
    above_noise = label_box(measured, owner, contact, 6.0)[0, 0]
    assert (fixed[2] - fixed[0]) * (fixed[3] - fixed[1]) > 10 * 50      # the box of the noise
    np.testing.assert_array_equal(above_noise, [17, 15, 22, 25])         # the box of the foot
