"""Person-centred crops (isolation, placement, clipping) and the 10 context numbers."""
from __future__ import annotations


import numpy as np
import pytest

from pressure_tracker.crops import crop_origin, person_crop


def test_crop_holds_only_the_persons_cells_and_is_centred():
    frame = np.zeros((238, 120), dtype=np.float32)
    frame[100:125, 40:50] = 50.0          # this person's foot
    frame[100:125, 55:65] = 80.0          # a neighbour's foot inside this person's box
    frame[100:125, 70:80] = 60.0          # this person's other foot
    mask = np.zeros_like(frame, dtype=bool)
    mask[100:125, 40:50] = mask[100:125, 70:80] = True
    box = (40, 100, 80, 125)
    crop, (row0, col0) = person_crop(frame, np.flatnonzero(mask), box)
    assert crop.shape == (128, 128) and crop.dtype == np.float32
    assert (row0, col0) == (100 - (128 - 25) // 2, 40 - (128 - 40) // 2)
    assert crop.sum() == pytest.approx(frame[mask].sum())
    assert not np.any(crop == 80.0)        # the neighbour's foot did not leak in
    # crop pixel (i, j) is mat cell (row0 + i, col0 + j)
    rows, cols = np.nonzero(mask)
    np.testing.assert_array_equal(crop[rows - row0, cols - col0], frame[rows, cols])
    # the box sits in the middle of the canvas
    loaded_rows, loaded_cols = np.nonzero(crop)
    assert (loaded_rows.min() + loaded_rows.max() + 1) / 2 == pytest.approx(64, abs=1)
    assert (loaded_cols.min() + loaded_cols.max() + 1) / 2 == pytest.approx(64, abs=1)


def test_crop_near_the_mat_edge_has_negative_origin():
    frame = np.zeros((238, 120), dtype=np.float32)
    frame[0:20, 0:8] = 30.0
    cells = np.flatnonzero(frame)
    crop, (row0, col0) = person_crop(frame, cells, (0, 0, 8, 20))
    assert row0 < 0 and col0 < 0
    assert crop.sum() == pytest.approx(frame.sum())


def test_box_larger_than_the_crop_is_clipped_around_its_centre():
    frame = np.zeros((238, 120), dtype=np.float32)
    frame[10:150, 20:30] = 1.0            # 140 rows tall: longer than the 128-row crop
    crop, (row0, _) = person_crop(frame, np.flatnonzero(frame), (20, 10, 30, 150))
    assert row0 == 10 + 6                  # 6 rows dropped at each end
    assert crop.sum() == pytest.approx(128 * 10)


def test_other_crop_sizes_and_empty_person():
    frame = np.ones((238, 120), dtype=np.float32)
    crop, origin = person_crop(frame, np.zeros(0, dtype=np.int64), (10, 10, 20, 30), size=(64, 32))
    assert crop.shape == (64, 32) and not crop.any()
    assert origin == crop_origin((10, 10, 20, 30), (64, 32))
    with pytest.raises(ValueError, match="positive"):
        person_crop(frame, np.zeros(0, dtype=np.int64), (10, 10, 20, 30), size=(0, 32))

