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


def test_chunk_starts_shift_the_authors_chunks():
    assert metrics.chunk_starts(250) == [0, 100, 200]  # the authors' chunks
    assert metrics.chunk_starts(250, offset=3) == [0, 3, 103, 203]
    assert metrics.chunk_starts(0) == []


def walk(frames: int = 330, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """A fixed synthetic trajectory: a rigid skeleton walking along x at 1 m/s (15 fps) with a sway, and a
    prediction that drifts slowly away from it, with a fixed noise."""
    rng = np.random.default_rng(seed)
    body = rng.normal(0.0, 0.25, (24, 3))
    t = np.arange(frames) / 15.0
    root = np.stack([t, 0.05 * np.sin(2 * np.pi * t), np.zeros(frames)], axis=1)
    gt = body[None] + root[:, None]
    drift = np.stack([0.03 * t, 0.02 * np.sin(0.7 * t), 0.01 * t], axis=1)
    pred = gt + drift[:, None] + rng.normal(0.0, 0.02, gt.shape)
    return pred, gt


def summary_of(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    acc = metrics.MetricAccumulator()
    acc.add(metrics.PersonSequence(pred, gt, pred[:, 0], gt[:, 0]))
    return acc.summary()


def test_w100_is_pinned_on_a_fixed_trajectory_and_stable_to_a_shift():
    pred, gt = walk()
    summary = summary_of(pred, gt)
    # Pinned: the authors' rule (chunks from frame 0) and the mean over all 100 chunk starts.
    assert summary["W-MPJPE100"] == pytest.approx(101.2943, abs=1e-3)
    assert summary["W-MPJPE100 all starts"] == pytest.approx(90.1379, abs=1e-3)
    assert summary["W-MPJPE100 spread"] == pytest.approx(73.9642, abs=1e-3)
    assert summary["WA-MPJPE100"] == pytest.approx(33.6501, abs=1e-3)
    authors, all_starts = [summary["W-MPJPE100"]], [summary["W-MPJPE100 all starts"]]
    for shift in (1, 2, 3):  # the same walk, scored from 1-3 frames later
        shifted = summary_of(pred[shift:], gt[shift:])
        authors.append(shifted["W-MPJPE100"])
        all_starts.append(shifted["W-MPJPE100 all starts"])
    # The 2-frame fit makes the authors' figure swing by tens of mm; the mean over chunk starts holds.
    assert np.ptp(authors) > 20.0 and np.ptp(all_starts) < 2.5


def test_paper_averaging_is_over_people_then_frames():
    gt = skeleton(2, seed=6)
    person_frames, frames = metrics.MetricAccumulator(), metrics.MetricAccumulator(average="frames")
    for acc in (person_frames, frames):
        acc.add(metrics.PersonSequence(gt + [0.01, 0, 0], gt, gt[:, 0], gt[:, 0]), frames=np.array([0, 1]))
        acc.add(metrics.PersonSequence(gt[:1] + [0.04, 0, 0], gt[:1], gt[:1, 0], gt[:1, 0]), frames=np.array([0]))
    assert person_frames.summary()["W-MPJPE (no align)"] == pytest.approx((10 + 10 + 40) / 3)
    assert frames.summary()["W-MPJPE (no align)"] == pytest.approx(((10 + 40) / 2 + 10) / 2)
    assert frames.person_frames == 3


def test_world_chunks_only_for_the_sequences_given_them():
    pred, gt = walk(120)
    acc = metrics.MetricAccumulator()
    acc.add(metrics.PersonSequence(pred, gt, pred[:, 0], gt[:, 0]), world_chunks=False)
    summary = acc.summary()
    assert np.isnan(summary["W-MPJPE100"]) and np.isnan(summary["WA-MPJPE100 all starts"]) and summary["MPJPE"] > 0


def test_identities_held_bind_each_track_to_one_person():
    """A at x=0 and B at x=5 m for 8 frames.  Track 1 follows A on frames 0-3, then switches onto B (4-5);
    track 2 follows B on frames 0-3 and is lost; track 3 is a one-frame ghost 20 m away; track 5 follows A
    on frames 4-7."""
    body = skeleton(1, seed=7)[0]
    at = {"A": body, "B": body + [5.0, 0, 0], "ghost": body + [20.0, 0, 0]}
    where = {1: "AAAABB", 2: "BBBB", 3: "  g", 5: "    AAAA"}
    ids, joints = [], []
    for f in range(8):
        seen = [(t, path[f]) for t, path in where.items() if f < len(path) and path[f] != " "]
        ids.append([t for t, _ in seen])
        joints.append(np.stack([at[{"g": "ghost"}.get(p, p)] for _, p in seen]))
    gt = np.broadcast_to(np.stack([at["A"], at["B"]]), (8, 2, 24, 3))
    held = metrics.hold_identities(ids, joints, np.ones((8, 2), dtype=bool), gt)
    assert held.bound == {1: 0, 2: 1, 5: 0}  # track 1: 4 frames on A against 2 on B
    assert held.spare_tracks == 1  # the ghost
    assert held.missed == 4  # B on frames 4-7: its track is lost and track 1 stays A's
    assert held.spare == 1 + 2  # the ghost; track 5 on frames 4-5, while track 1 (more votes) scores A
    assert held.switches == 1  # A: track 1 -> track 5 on frame 6
    assert [ids[f][held.chosen[f][0]] for f in range(8)] == [1, 1, 1, 1, 1, 1, 5, 5]
    # After the switch, track 1's frames count against A, 5 m off, while it follows B.
    assert np.allclose(joints[4][held.chosen[4][0]], at["B"])
    assert held.followed[4][held.chosen[4][0]] == 1 and held.followed[0][held.chosen[0][0]] == 0
