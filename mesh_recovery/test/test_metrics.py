from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mesh_recovery import metrics


def skeleton(frames: int = 1, joints: int = 24, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.3, (frames, joints, 3))


def similarity(points: np.ndarray, scale: float, rotvec, translation) -> np.ndarray:
    return scale * points @ Rotation.from_rotvec(rotvec).as_matrix().T + np.asarray(translation)


def test_similarity_transform_gives_zero_pa_mpjpe_but_nonzero_mpjpe():
    gt = skeleton(3)
    pred = similarity(gt, 1.3, [0.2, -0.5, 0.9], [1.0, 2.0, 0.5])
    assert np.allclose(metrics.pa_mpjpe(pred, gt), 0.0, atol=1e-9)
    assert np.all(metrics.mpjpe(pred, gt) > 0.05)


def test_constant_offset_is_removed_by_pelvis_alignment_only():
    gt = skeleton(2)
    pred = gt + np.array([0.1, -0.2, 0.3])
    assert np.allclose(metrics.mpjpe(pred, gt), 0.0)
    assert np.allclose(metrics.world_mpjpe(pred, gt), np.sqrt(0.14))
    assert np.allclose(metrics.pve(pred, gt), np.sqrt(0.14))


def test_mpjpe_hand_computed_with_hip_pelvis():
    gt = np.zeros((1, 3, 3))
    gt[0, 1], gt[0, 2] = [-0.1, 0.0, 0.0], [0.1, 0.0, 0.0]  # pelvis at the origin
    pred = gt.copy()
    pred[0, 0] = [0.0, 0.0, 0.3]  # joint 0 off by 0.3 m; hips exact
    assert np.allclose(metrics.mpjpe(pred, gt), [0.1])
    pred_hips_moved = gt.copy()
    pred_hips_moved[0, 1:] += [0.0, 0.3, 0.0]  # pelvis moves 0.3 m: joint 0 is 0.3 m off relative to it
    assert np.allclose(metrics.mpjpe(pred_hips_moved, gt), [0.1])


def test_acceleration_error_and_authors_accel():
    frames = np.arange(5, dtype=float)
    gt = np.zeros((5, 2, 3))
    pred = np.zeros((5, 2, 3))
    pred[:, :, 0] = 0.5 * 0.01 * frames[:, None] ** 2  # constant acceleration 0.01 m/frame^2 along x
    assert np.allclose(metrics.acceleration_error(pred, gt), 0.01)
    assert np.allclose(metrics.accel_smoothness(pred, fps=15), 0.01 * 225)
    assert np.allclose(metrics.acceleration_error(gt + 0.3, gt), 0.0)


def test_w_and_wa_mpjpe_chunks():
    gt = skeleton(150, seed=1)
    moved = similarity(gt, 0.9, [0.0, 0.0, 0.4], [0.3, 0.0, 0.0])
    assert np.allclose(metrics.wa_mpjpe(moved, gt), 0.0, atol=1e-9)
    assert np.allclose(metrics.w_mpjpe(moved, gt), 0.0, atol=1e-9)
    # Drift after the first two frames: W (fit on frames 0-1 of each chunk) keeps it, WA spreads it.
    drift = gt.copy()
    drift[2:100] += [0.05, 0.0, 0.0]
    w, wa = metrics.w_mpjpe(drift, gt), metrics.wa_mpjpe(drift, gt)
    assert w.shape == (150,)
    assert np.allclose(w[2:100], 0.05, atol=1e-9) and np.allclose(w[:2], 0.0, atol=1e-9)
    assert np.allclose(w[100:], 0.0, atol=1e-9)  # second chunk starts afresh
    assert 0.0 < wa[50] < 0.05


def test_umeyama_recovers_a_known_transform():
    source = skeleton(1, 30)[0]
    target = similarity(source, 2.0, [0.3, 0.1, -0.2], [1.0, -1.0, 0.5])
    scale, rotation, translation = metrics.umeyama(target, source)
    assert np.isclose(scale, 2.0)
    assert np.allclose(rotation, Rotation.from_rotvec([0.3, 0.1, -0.2]).as_matrix())
    assert np.allclose(translation, [1.0, -1.0, 0.5])
    assert metrics.umeyama(target, source, with_scale=False)[0] == 1.0


def test_rte_rigid_alignment_and_path_normalisation():
    gt = np.stack([np.linspace(0, 2, 11), np.zeros(11), np.zeros(11)], axis=1)  # 2 m straight walk
    rotated = gt @ Rotation.from_rotvec([0, 0, 1.0]).as_matrix().T + [5, 5, 0]
    assert np.allclose(metrics.rte(gt, rotated), 0.0, atol=1e-9)
    offset_one = gt.copy()
    offset_one[5, 1] = 0.2  # one frame off by 0.2 m sideways (the fit moves the rest slightly)
    errors = metrics.rte(gt, offset_one)
    assert errors.max() < 0.2 / 2 and errors[5] > 0.05
    assert metrics.rte(np.zeros((4, 3)), np.ones((4, 3))).size == 0  # standing still: undefined, dropped


def test_jitter_of_cubic_motion():
    t = np.arange(6, dtype=float)
    pred = np.zeros((6, 24, 3))
    pred[:, :, 2] = (t**3)[:, None] * 1e-3  # third difference 6e-3 m per frame^3
    assert np.allclose(metrics.jitter(pred, fps=10), 6e-3 * 1000 / 10.0)


def test_foot_sliding_counts_only_ground_contact_frames():
    gt = np.zeros((4, 2, 3))
    gt[2:, 1, 0] = 0.5  # vertex 1 lifts off between frames 1 and 2
    pred = np.zeros((4, 2, 3))
    pred[:, 0, 0] = [0.0, 0.01, 0.03, 0.03]  # vertex 0 slides while in contact
    errors = metrics.foot_sliding(gt, pred, foot_vertex_ids=(0, 1))
    assert np.allclose(np.sort(errors), [0.0, 0.0, 0.0, 0.01, 0.02])  # 3 steps of v0 + 2 contact steps of v1


def test_hungarian_matching_on_mpjpe():
    a, b, c = skeleton(1, seed=1)[0], skeleton(1, seed=2)[0] + 2.0, skeleton(1, seed=3)[0] - 2.0
    pairs = metrics.match_people(np.stack([c + 0.01, a + 0.02]), np.stack([a, b, c]))
    assert pairs == [(1, 0), (0, 2)]
    assert metrics.match_people(np.zeros((0, 24, 3)), np.stack([a])) == []


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError, match="mpjpe"):
        metrics.mpjpe(np.zeros((2, 24, 3)), np.zeros((2, 25, 3)))
    with pytest.raises(ValueError, match="rte"):
        metrics.rte(np.zeros((3, 3)), np.zeros((4, 3)))


def test_accumulator_summary_units():
    gt = skeleton(20, seed=4)
    gt_transl = np.cumsum(np.full((20, 3), 0.05), axis=0)
    acc = metrics.MetricAccumulator(foot_vertex_ids=(0, 1))
    acc.add(metrics.PersonSequence(gt + 0.01, gt, gt_transl + 0.01, gt_transl, gt + 0.01, gt))
    summary = acc.summary()
    assert set(summary) == set(metrics.METRIC_UNITS)
    assert np.isclose(summary["MPJPE"], 0.0, atol=1e-6)
    assert np.isclose(summary["W-MPJPE (no align)"], np.sqrt(3) * 10, atol=1e-6)
    assert np.isclose(summary["PVE"], np.sqrt(3) * 10, atol=1e-6)
    assert np.isclose(summary["RTE"], 0.0, atol=1e-6) and acc.person_frames == 20
    assert np.isnan(metrics.MetricAccumulator().summary()["MPJPE"])
