from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from presstrack_eval import dataset
from mesh_recovery.hmr.inputs import crop_person, frame_numbers
from presstrack_common.mip_format import MIP_FULL_SCALE_KPA, MIP_MAT_CORNERS_WORLD, kpa_per_unit, normalise_kpa
from hmr_fakes import write_recording


def test_load_normalises_kpa_and_derives_presence(tmp_path):
    rec = dataset.load_recording(write_recording(tmp_path / "a.npz"))
    assert rec.pressure.dtype == np.float32 and rec.pressure.max() <= 1.0
    assert np.isclose(rec.pressure[0].max(), 60.0 / MIP_FULL_SCALE_KPA)  # slot 1 presses 60 kPa
    assert not rec.present[20:23, 1].any() and rec.present[:, 0].all()
    assert rec.fps == 15.0 and np.allclose(rec.mat_corners_world, MIP_MAT_CORNERS_WORLD)


def test_mip_raw_pressure_clipped_at_1_5e7():
    """The network input of a file, as `load_recording` makes it: the stored values in kPa (the shared
    reader's unit rule), then normalise_kpa; for raw MIP values that is the paper's clip-and-divide."""
    def network_input(stored, unit, scale):
        return normalise_kpa(stored * kpa_per_unit(unit, scale))

    raw = np.array([[[0.0, 7.5e6, 3e7]]])
    assert np.allclose(network_input(raw, None, None), [[[0.0, 0.5, 1.0]]])
    assert np.allclose(network_input(np.array([[[10.0]]]), "counts", 3.0), 30.0 / MIP_FULL_SCALE_KPA)
    with pytest.raises(ValueError, match="pressure_scale_kpa"):
        network_input(raw, "counts", None)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(box=np.zeros((40, 2, 3))), "box must be"),
        (dict(pose=np.zeros((40, 2, 70))), "pose must be"),
        (dict(keypoints_3d=np.zeros((40, 2, 10, 3))), "keypoints_3d"),
        (dict(segments=np.array([[10, 5]])), "segments"),
        (dict(present=np.ones((40, 3), dtype=bool)), "present"),
        (dict(pressure_unit=np.array("psi")), "pressure_scale_kpa"),
        (dict(pressure=np.full((40, 60, 40), "x")), "pressure must be numeric"),
    ],
)
def test_bad_files_name_file_and_problem(tmp_path, change, message):
    path = write_recording(tmp_path / "bad.npz", **change)
    with pytest.raises(ValueError, match=message) as error:
        dataset.load_recording(path)
    assert "bad.npz" in str(error.value)


def test_nan_and_inf_cells_are_no_pressure_and_reported_once(tmp_path, capsys):
    path = write_recording(tmp_path / "nan.npz")
    clean = dataset.load_recording(path).pressure
    with np.load(path) as data:
        arrays = dict(data)
    arrays["pressure"][0, 0, :3] = [np.nan, np.inf, -np.inf]
    arrays["pressure"][5, 10, 10] = np.nan
    np.savez(path, **arrays)
    capsys.readouterr()
    rec = dataset.load_recording(path)
    assert capsys.readouterr().err.splitlines() == [f"{path}: 4 NaN/Inf pressure cells treated as 0"]
    assert np.isfinite(rec.pressure).all() and rec.pressure[0, 0, :3].tolist() == [0.0, 0.0, 0.0]
    assert rec.pressure[5, 10, 10] == 0.0 and np.array_equal(rec.pressure[1:5], clean[1:5])


def test_missing_keys_and_garbage_file(tmp_path):
    np.savez(tmp_path / "empty.npz", pressure=np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"empty\.npz: missing keys"):
        dataset.load_recording(tmp_path / "empty.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz: not a readable"):
        dataset.load_recording(tmp_path / "junk.npz")
    (tmp_path / "nothing_here").mkdir()
    with pytest.raises(ValueError, match="no .npz files"):
        dataset.list_data_files(tmp_path / "nothing_here")
    with pytest.raises(ValueError, match="no such file or directory"):
        dataset.list_data_files([tmp_path / "absent.npz"])


def test_crop_pastes_box_unresized_in_centre_and_masks_others():
    pressure = np.arange(60 * 40, dtype=np.float32).reshape(60, 40)
    crop = crop_person(pressure, [10, 20, 14, 26], size=16)  # 4 wide, 6 high
    assert np.array_equal(crop[5:11, 6:10], pressure[20:26, 10:14])
    assert crop.sum() == pressure[20:26, 10:14].sum()
    mask = np.zeros_like(pressure, dtype=bool)
    mask[20:23, 10:14] = True
    assert crop_person(pressure, [10, 20, 14, 26], 16, mask).sum() == pressure[20:23, 10:14].sum()
    big = crop_person(pressure, [0, 0, 40, 60], size=16)  # larger than the canvas: central part
    assert np.array_equal(big, pressure[22:38, 12:28])


def test_frame_numbers_layout():
    numbers = frame_numbers([10, 20, 14, 26], rows=60, cols=40, mat_corners_world=MIP_MAT_CORNERS_WORLD)
    assert np.allclose(numbers[:2], [12 / 40, 23 / 60])
    assert np.allclose(numbers[2:], MIP_MAT_CORNERS_WORLD.reshape(-1))


def test_interpolate_boxes():
    boxes = np.array([[0, 0, 2, 2], [0, 0, 0, 0], [2, 2, 4, 4], [0, 0, 0, 0]], dtype=float)
    filled = dataset.interpolate_boxes(boxes, np.any(boxes != 0, axis=1))
    assert np.allclose(filled[1], [1, 1, 3, 3]) and np.allclose(filled[3], [2, 2, 4, 4])


def test_unseen_sequence_split_follows_the_authors_cuts():
    parts = dataset.time_split_ranges(np.array([[0, 50], [60, 100]]))
    assert parts == {"train": [(0, 50), (60, 80)], "val": [(80, 90)], "test": [(90, 100)]}


def test_windows_respect_ranges_presence_and_target(tmp_path):
    write_recording(tmp_path / "a.npz")
    recordings, ranges = dataset.load_split(tmp_path, "unseen_sequence")
    assert ranges["train"] == [[(0, 32)]] and ranges["test"] == [[(36, 40)]]
    windows = dataset.WindowSet(recordings, ranges["train"], window=4, target_index=1, crop_size=32, stride=2)
    assert all(ref.start + 4 <= 32 for ref in windows.refs)
    assert all(recordings[0].present[ref.start + 1, ref.slot] for ref in windows.refs)
    crops, numbers, targets = windows.batch(torch.tensor([0, 3]))
    assert crops.shape == (2, 4, 1, 32, 32) and numbers.shape == (2, 4, 10) and targets.joints.shape == (2, 24, 3)
    ref = windows.refs[3]
    assert np.allclose(targets.transl[1].numpy(), recordings[0].transl[ref.start + 1, ref.slot])
    # The last window of a range ends on its last frame even when the stride overshoots.
    assert max(ref.start for ref in windows.refs) == 32 - 4


def test_window_crops_and_numbers_equal_the_per_frame_reference(tmp_path):
    """The batched device path cuts the same pixels as crop_person (the live path), masks included."""
    write_recording(tmp_path / "a.npz", frames=24)
    recording = dataset.load_recording(tmp_path / "a.npz")
    rng = np.random.default_rng(3)
    rows, cols = recording.pressure.shape[1:]
    recording.cell_owner = rng.integers(-1, recording.num_slots, size=recording.pressure.shape).astype(np.int8)
    # Boxes of every kind: inside, over the edges, larger than the crop, empty, fractional.
    xs = np.sort(rng.uniform(-10, cols + 10, (24, recording.num_slots, 2)), axis=-1)
    ys = np.sort(rng.uniform(-10, rows + 10, (24, recording.num_slots, 2)), axis=-1)
    recording.boxes = np.stack([xs[..., 0], ys[..., 0], xs[..., 1], ys[..., 1]], axis=-1)
    recording.boxes[5, 0] = [4, 4, 4, 9]
    recording.present[:] = True  # every frame's box is its own (no interpolation)
    windows = dataset.WindowSet([recording], [[(3, 24)]], window=4, target_index=3, crop_size=16, stride=1)
    crops, numbers, _ = windows.batch(torch.arange(len(windows)))
    assert len(windows.pressure) == 24 - 3  # only the frames the windows cover
    for i, ref in enumerate(windows.refs):
        for t in range(4):
            frame, box = ref.start + t, recording.boxes[ref.start + t, ref.slot]
            expected = crop_person(recording.pressure[frame], recording.boxes[frame, ref.slot], 16,
                                   recording.person_mask(frame, ref.slot))
            assert np.array_equal(crops[i, t, 0].numpy(), expected), (i, t, box)
            assert np.allclose(numbers[i, t].numpy(), frame_numbers(recording.boxes[frame, ref.slot], rows, cols,
                                                                    recording.mat_corners_world))


def test_subject_fold_uses_authors_table(tmp_path):
    for index in (1, 2, 21, 22, 23):
        write_recording(tmp_path / f"data_{index}.npz", frames=20, slots=1)
    recordings, ranges = dataset.load_split(tmp_path, "subject_fold:0")
    names = [r.path.name for r in recordings]
    test_files = {names[i] for i, r in enumerate(ranges["test"]) if r}
    train_files = {names[i] for i, r in enumerate(ranges["train"]) if r}
    assert test_files == {"data_1.npz", "data_22.npz"}  # groups made only of fold-0 people
    assert train_files == {"data_2.npz", "data_23.npz"}  # 21 has volunteer 1 with an unseen partner: dropped
    with pytest.raises(ValueError, match="subject folds 0..1"):
        dataset.load_split(tmp_path, "subject_fold:5")


def test_explicit_split_file_and_corpus_json(tmp_path):
    for name in ("a", "b", "c"):
        write_recording(tmp_path / f"{name}.npz", frames=12, slots=1)
    split_file = tmp_path / "split.json"
    split_file.write_text(json.dumps({"train": ["a.npz", "b.npz"], "val": [], "test": ["c.npz"]}))
    recordings, ranges = dataset.load_split(tmp_path, str(split_file))
    assert [bool(r) for r in ranges["train"]] == [True, True, False] and ranges["test"][2] == [(0, 12)]
    with pytest.raises(ValueError, match="corpus.json"):
        dataset.load_split(tmp_path, "corpus")
    (tmp_path / "corpus.json").write_text(json.dumps({"splits": {"train": ["a.npz"], "val": ["c.npz"], "test": ["b.npz"]},
                                                      "subject_folds": [{"train": ["c.npz"], "test": ["a.npz"]}]}))
    _, named = dataset.load_split(tmp_path, "corpus")
    assert [bool(r) for r in named["train"]] == [True, False, False] and [bool(r) for r in named["test"]] == [False, True, False]
    _, fold = dataset.load_split(tmp_path, "subject_fold:0")
    assert [bool(r) for r in fold["test"]] == [True, False, False]
    split_file.write_text(json.dumps({"train": ["zzz.npz"]}))
    with pytest.raises(ValueError, match="zzz.npz"):
        dataset.load_split(tmp_path, str(split_file))
    with pytest.raises(ValueError, match="unknown split"):
        dataset.load_split(tmp_path, "by_colour")


def test_simulator_corpus_with_per_person_segments_is_not_taken_for_mip(tmp_path):
    present = np.ones((20, 2), dtype=bool)
    present[:5, 1] = False
    per_person = np.array([[[0, 20], [-1, -1]], [[5, 20], [-1, -1]]])
    for index in (1, 2):
        write_recording(tmp_path / f"data_{index}.npz", frames=20, present=present, segments=per_person)
    (tmp_path / "corpus.json").write_text(json.dumps({"splits": {"train": ["data_1.npz"], "val": [], "test": ["data_2.npz"]}}))
    recordings, ranges = dataset.load_split(tmp_path, "corpus")
    assert recordings[0].segments.tolist() == [[0, 20]] and not recordings[0].present[:5, 1].any()
    with pytest.raises(ValueError, match="use --split corpus"):
        dataset.load_split(tmp_path, "subject_fold:0")
