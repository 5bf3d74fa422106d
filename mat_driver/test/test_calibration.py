"""Raw -> kPa calibration: maths, data-quality counts, validation errors, files, MIP scale."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from presstrack_common.mip_format import MIP_RAW_FULL_SCALE, normalise_kpa
from mat_driver.calibration import (
    MIP_FULL_SCALE_KPA,
    MIP_KPA_PER_RAW,
    Calibration,
)


def test_offset_gain_and_global_scale() -> None:
    calibration = Calibration(
        offset=np.array([[10.0, 0.0], [5.0, 100.0]]),
        gain=np.array([[1.0, 2.0], [0.5, 1.0]]),
        kpa_per_raw=0.1,
    )
    kpa = calibration.apply(np.array([[110, 50], [205, 300]], dtype=np.uint16))
    assert kpa.dtype == np.float32
    np.testing.assert_allclose(kpa, [[10.0, 10.0], [10.0, 20.0]], rtol=1e-6)
    assert calibration.last_stats.active_cells == 4


def test_negatives_noise_floor_dead_cells_and_non_finite_are_zeroed_and_counted() -> None:
    calibration = Calibration.identity(
        2, 4, noise_floor_kpa=2.0, full_scale_kpa=100.0
    )
    calibration.dead_mask = np.array([[False, False, False, True], [False, False, False, False]])
    calibration.validate()
    raw = np.array([[-5.0, 1.5, 2.0, 50.0], [np.nan, np.inf, -np.inf, 30.0]])
    kpa = calibration.apply(raw)
    np.testing.assert_array_equal(kpa, [[0, 0, 2, 0], [0, 0, 0, 30]])
    stats = calibration.last_stats
    assert (stats.negative_cells, stats.dead_cells, stats.nonfinite_cells) == (1, 1, 3)
    assert stats.active_cells == 2 and stats.saturated_cells == 0 and stats.saturation_ratio == 0.0


def test_saturation_is_clipped_and_ratio_is_over_active_cells() -> None:
    calibration = Calibration.identity(1, 5, full_scale_kpa=100.0, noise_floor_kpa=1.0)
    kpa = calibration.apply(np.array([[0.5, 20.0, 100.0, 250.0, 99.0]]))
    np.testing.assert_array_equal(kpa, [[0, 20, 100, 100, 99]])
    assert calibration.last_stats.saturated_cells == 2
    assert calibration.last_stats.active_cells == 4
    assert calibration.last_stats.saturation_ratio == pytest.approx(0.5)


def test_stuck_cells_are_zeroed_until_they_change() -> None:
    calibration = Calibration.identity(1, 3, noise_floor_kpa=1.0, stuck_after_frames=3)
    # Cell 0 repeats an above-floor value, cell 1 repeats a below-floor value, cell 2 keeps changing.
    frames = [np.array([[50.0, 0.5, 10.0 + i]]) for i in range(5)]
    outputs = [calibration.apply(frame) for frame in frames]
    stuck_counts = [0, 0, 0, 1, 1]  # seen 4 times in a row (3 repeats) -> stuck
    for frame_index, output in enumerate(outputs):
        assert output[0, 0] == (0.0 if stuck_counts[frame_index] else 50.0)
        assert output[0, 1] == 0.0 and output[0, 2] == 10.0 + frame_index
    calibration.apply(np.array([[51.0, 0.5, 0.0]]))
    assert calibration.last_stats.stuck_cells == 0
    calibration.reset_history()
    assert calibration.apply(np.array([[51.0, 0.5, 0.0]]))[0, 0] == 51.0


def test_stuck_detection_disabled_by_default() -> None:
    calibration = Calibration.identity(1, 1)
    for _ in range(500):
        kpa = calibration.apply(np.array([[7.0]]))
    assert kpa[0, 0] == 7.0 and calibration.last_stats.stuck_cells == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"offset": np.zeros(3)}, "offset must be a non-empty 2-D"),
        ({"gain": np.ones((2, 2))}, "gain shape"),
        ({"gain": -np.ones((2, 3))}, "negative"),
        ({"offset": np.full((2, 3), np.nan)}, "offset has 6 non-finite"),
        ({"gain": np.full((2, 3), np.inf)}, "gain has 6 non-finite"),
        ({"dead_mask": np.zeros((2, 3), np.uint8)}, "dead_mask must be a bool"),
        ({"dead_mask": np.zeros((3, 2), bool)}, "dead_mask shape"),
        ({"kpa_per_raw": 0.0}, "kpa_per_raw"),
        ({"kpa_per_raw": float("nan")}, "kpa_per_raw"),
        ({"noise_floor_kpa": -1.0}, "noise_floor_kpa"),
        ({"full_scale_kpa": 5.0, "noise_floor_kpa": 5.0}, "full_scale_kpa"),
        ({"stuck_after_frames": -1}, "stuck_after_frames"),
        ({"stuck_after_frames": 2.5}, "stuck_after_frames must be an integer"),
    ],
)
def test_validation_names_the_problem(changes: dict, message: str) -> None:
    arguments = {"offset": np.zeros((2, 3)), "gain": np.ones((2, 3))} | changes
    with pytest.raises(ValueError, match=message):
        Calibration(**arguments)


def test_apply_rejects_wrong_shape_and_non_real_input() -> None:
    calibration = Calibration.identity(2, 3)
    with pytest.raises(ValueError, match=r"shape \(3, 2\) does not match calibration shape \(2, 3\)"):
        calibration.apply(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="real numbers"):
        calibration.apply(np.zeros((2, 3), dtype=complex))


def test_npz_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    original = Calibration(
        offset=rng.uniform(0, 10, (4, 5)),
        gain=rng.uniform(0.5, 2, (4, 5)),
        dead_mask=rng.random((4, 5)) < 0.2,
        kpa_per_raw=0.25,
    )
    original.save_npz(tmp_path / "mat.npz")
    loaded = Calibration.from_npz(tmp_path / "mat.npz", kpa_per_raw=0.25)
    raw = rng.uniform(0, 100, (4, 5))
    np.testing.assert_array_equal(loaded.apply(raw), original.apply(raw))
    np.testing.assert_array_equal(loaded.dead_mask, original.dead_mask)


def test_npz_missing_arrays_and_bad_contents(tmp_path: Path) -> None:
    np.savez(tmp_path / "no_gain.npz", offset=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"lacks array\(s\) \['gain'\]"):
        Calibration.from_npz(tmp_path / "no_gain.npz")
    np.savez(tmp_path / "mismatch.npz", offset=np.zeros((2, 2)), gain=np.ones((2, 3)))
    with pytest.raises(ValueError, match="gain shape"):
        Calibration.from_npz(tmp_path / "mismatch.npz")


def test_mip_scale_reproduces_the_papers_clip_and_divide() -> None:
    assert MIP_KPA_PER_RAW * MIP_RAW_FULL_SCALE == pytest.approx(MIP_FULL_SCALE_KPA)
    calibration = Calibration.for_mip()
    assert calibration.shape == (238, 120)
    raw = np.random.default_rng(5).uniform(0, 3e7, (238, 120))
    paper_input = np.clip(raw, 0, MIP_RAW_FULL_SCALE) / MIP_RAW_FULL_SCALE
    np.testing.assert_allclose(normalise_kpa(calibration.apply(raw)), paper_input, rtol=1e-5, atol=1e-6)
