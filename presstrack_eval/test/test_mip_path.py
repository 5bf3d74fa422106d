"""The real-data (MIP) path: files in MIP's exact layout with SMPL labels and a z-down world, large files
streamed from disk, and a refusal without an SMPL body model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from presstrack_eval import dataset, evaluate, streamed, train
from hmr_fakes import TINY, TINY_FLAGS, FakeBody, write_mip_recording, write_recording


def test_z_down_world_is_detected_and_turned_to_z_up(tmp_path, capsys):
    body = FakeBody()
    up = dataset.load_recording(write_mip_recording(tmp_path / "up" / "data_21.npz", body=body, z_down=False))
    assert "z points down" not in capsys.readouterr().err
    down = dataset.load_recording(write_mip_recording(tmp_path / "down" / "data_21.npz", body=body, z_down=True))
    message = capsys.readouterr().err.strip().splitlines()
    assert len(message) == 1 and "world z points down" in message[0] and "data_21.npz" in message[0]
    assert up.smpl_labels and down.smpl_labels  # raw pressure: MIP's own file, SMPL labels
    assert dataset.world_up_sign(down.joints, down.present) == 1
    present = up.present
    assert np.allclose(down.joints[present], up.joints[present], atol=1e-5)
    assert np.allclose(down.transl[present], up.transl[present], atol=1e-5)
    # The turned labels stay SMPL-consistent: the body posed from them gives the turned joints.
    rotmats = torch.from_numpy(dataset_rotmats(down.pose[present]))
    posed = body.vertices(torch.from_numpy(down.betas[present]), rotmats, torch.from_numpy(down.transl[present]))
    assert np.allclose(posed.numpy(), down.joints[present][:, :24], atol=1e-4)


def dataset_rotmats(pose: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(pose.reshape(-1, 3).astype(np.float64)).as_matrix().reshape(len(pose), 24, 3, 3).astype(np.float32)


def test_vertical_axis_other_than_z_is_refused():
    joints = np.zeros((2, 1, 24, 3))
    joints[:, :, 0, 1] = 0.9  # pelvis above the feet along y
    with pytest.raises(ValueError, match="vertical axis is not z"):
        dataset.world_up_sign(joints, np.ones((2, 1), dtype=bool))


def test_mip_fixture_trains_and_evaluates_and_needs_a_body_model(tmp_path, default_body_path, capsys):
    data = tmp_path / "MIP"
    write_mip_recording(data / "data_21.npz", frames=40, z_down=True)
    out = tmp_path / "run"
    run = ["--data", str(data), "--out", str(out), "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2", *TINY_FLAGS]
    capsys.readouterr()
    assert train.main(run) == 2
    assert evaluate.main(["--backend", "footprint", "--data", str(data)]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    refusals = [line for line in errors if line.startswith("presstrack-")]
    assert len(refusals) == 2 and all("--body-model" in line and "SMPL" in line for line in refusals)
    assert train.main([*run, "--body-model", str(default_body_path)]) == 0
    assert (out / "best.pt").is_file()
    for protocol in evaluate.PROTOCOLS:
        assert evaluate.main(["--checkpoint", str(out / "best.pt"), "--data", str(data), "--body-model",
                              str(default_body_path), "--protocol", protocol]) == 0
    printed = capsys.readouterr().out
    assert "protocol: paper" in printed and "protocol: tracking" in printed


@pytest.mark.parametrize("compressed", [False, True])
def test_large_pressure_is_streamed_from_disk_and_equals_the_loaded_one(tmp_path, monkeypatch, compressed, capsys):
    path = write_mip_recording(tmp_path / "data_1.npz", frames=24, z_down=False, compressed=compressed)
    with np.load(path) as data:
        damaged = {key: data[key] for key in data.files}
    damaged["pressure"][3, 10, 10:13] = np.nan
    (np.savez_compressed if compressed else np.savez)(path, **damaged)
    loaded = dataset.load_recording(path)
    monkeypatch.setattr(dataset, "STREAM_ABOVE_BYTES", 0)  # as if the set were larger than memory
    monkeypatch.setenv("PRESSTRACK_CACHE", str(tmp_path / "cache"))
    lazy = dataset.load_split(path, "unseen_sequence")[0][0]
    assert isinstance(lazy.pressure, streamed.StreamedFrames) and lazy.pressure.shape == loaded.pressure.shape
    assert any((tmp_path / "cache").glob("*.npy")) == compressed  # a compressed member is decompressed once
    assert np.array_equal(lazy.pressure[:], loaded.pressure) and np.array_equal(lazy.pressure[5], loaded.pressure[5])
    assert np.array_equal(lazy.pressure[2:9:3, 5:20, 1], loaded.pressure[2:9:3, 5:20, 1])
    assert capsys.readouterr().err.count("3 NaN/Inf pressure cells treated as 0") == 2
    # A window set too large to hold streams each batch's frames and cuts the same crops.
    ranges = [[(0, 24)]]
    held = dataset.WindowSet([loaded], ranges, TINY.window, TINY.target_index, TINY.crop_size)
    reading = dataset.WindowSet([lazy], ranges, TINY.window, TINY.target_index, TINY.crop_size, resident_bytes=0)
    assert not held.streamed and reading.streamed and reading.pressure is None
    indices = torch.tensor([0, 5, 7, len(held) - 1])
    (crops, numbers, targets), (read_crops, read_numbers, read_targets) = held.batch(indices), reading.batch(indices)
    assert crops.abs().sum() > 0 and torch.equal(crops, read_crops) and torch.equal(numbers, read_numbers)
    assert torch.equal(targets.joints, read_targets.joints)


def test_simulator_files_need_no_body_model(tmp_path):
    recording = dataset.load_recording(write_recording(tmp_path / "a.npz"))  # pressure in kPa: not MIP's own file
    assert not recording.smpl_labels
    dataset.require_body_model_for_smpl_labels([recording], None)


def test_memory_benchmark_set_is_in_mip_layout_and_loads(tmp_path):
    from presstrack_eval import mip_memory

    mip_memory.write_synthetic_set(tmp_path / "set", frames=300, files=3, compressed=False)
    recording = dataset.load_recording(tmp_path / "set" / "data_2.npz")
    assert recording.pressure.shape == (100, 238, 120) and recording.num_slots == 3 and recording.smpl_labels
    result = mip_memory.measure_loading(tmp_path / "set", batches=1)
    assert result["frames"] == 300 and result["files"] == 3 and result["train_windows"] > 0 and result["peak_rss_gib"] > 0
