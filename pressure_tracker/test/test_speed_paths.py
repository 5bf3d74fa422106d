"""The shortcuts taken for speed give what the plain computations give: contact blobs labelled only over
the rows holding contact, moments of merged pads summed, the Kalman gain from a closed-form inverse."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from pressure_tracker.detection import DetectionConfig, _cell_moments, _pad_of, _total_moments, detect_blobs
from pressure_tracker.tracking import ConstantVelocityKalman

CONFIG = DetectionConfig()


def _frame_with_blobs_at_the_edges() -> np.ndarray:
    rng = np.random.default_rng(5)
    frame = np.zeros((60, 40), dtype=np.float32)
    frame[0:3, 5:9] = 20.0           # touches the first row
    frame[20:26, 10:14] = 30.0
    frame[26, 14] = 25.0             # diagonal neighbour: same blob
    frame[57:60, 30:40] = 15.0       # touches the last row and column
    frame[40, 2] = 50.0              # a single cell: below min_blob_cells
    return frame + rng.uniform(0.0, 0.5, frame.shape).astype(np.float32)


def test_blobs_match_labelling_the_whole_frame():
    frame = _frame_with_blobs_at_the_edges()
    labels, n_labels = ndimage.label(frame > 4.0, structure=np.ones((3, 3), dtype=bool))
    expected = sorted(tuple(np.flatnonzero(labels == k)) for k in range(1, n_labels + 1)
                      if np.count_nonzero(labels == k) >= CONFIG.min_blob_cells)
    blobs = detect_blobs(frame, 4.0, CONFIG)
    assert sorted(tuple(blob.cells) for blob in blobs) == expected
    for blob in blobs:
        np.testing.assert_allclose(blob.moments, _cell_moments(frame, blob.cells), rtol=1e-9)
        rows, cols = np.divmod(blob.cells, frame.shape[1])
        assert blob.box == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)


def test_blank_frame_has_no_blobs():
    assert detect_blobs(np.zeros((10, 10), dtype=np.float32), 4.0, CONFIG) == []


def test_total_moments_are_the_moments_of_all_cells():
    frame = _frame_with_blobs_at_the_edges()
    pads = [_pad_of(frame, blob.cells, CONFIG) for blob in detect_blobs(frame, 4.0, CONFIG)]
    np.testing.assert_allclose(_total_moments(pads), _cell_moments(frame, np.concatenate([p.cells for p in pads])),
                               rtol=1e-12)
    assert _total_moments(pads[:1]) is pads[0].moments


def test_kalman_update_matches_the_textbook_gain():
    kalman = ConstantVelocityKalman(np.array([1.0, 2.0]), acceleration_noise=4.0, measurement_noise=0.05)
    for _ in range(3):
        kalman.predict(1.0 / 15.0)
        kalman.covariance[0, 1] = kalman.covariance[1, 0] = 0.3 * kalman.covariance[0, 0]   # correlated x, y
        state, covariance = kalman.state.copy(), kalman.covariance.copy()
        measured = state[:2] + np.array([0.03, -0.02])
        gain = covariance[:, :2] @ np.linalg.inv(covariance[:2, :2] + np.eye(2) * kalman.measurement_variance)
        kalman.update(measured)
        np.testing.assert_allclose(kalman.state, state + gain @ (measured - state[:2]), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(kalman.covariance, covariance - gain @ covariance[:2, :], rtol=1e-12, atol=1e-15)
