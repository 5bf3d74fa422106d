"""Mesh-recovery metrics as defined in PressTrack-HMR and the authors' evaluation code.

All functions take metres and return metres (or the unit stated); the
``MetricAccumulator`` converts to the units the paper reports (mm, %).
Arrays: joints (N, J, 3), vertices (N, V, 3), translations (N, 3), N frames.

* MPJPE: joints minus the pelvis (mean of joints 1 and 2, the hips), no rotation.
* PA-MPJPE: after a similarity (scale, rotation, translation) Procrustes fit per frame.
* PVE: vertices in the world, no alignment.
* Acceleration error: |second difference of pred - second difference of gt| (m/frame^2).
* Accel (authors'): mean |second difference of pred| x fps^2 (m/s^2): smoothness, not an error.
* W-MPJPE100 / WA-MPJPE100: world joints in 100-frame chunks, each chunk aligned with an
  Umeyama similarity fitted on its first two frames (W) or on the whole chunk (WA).
* RTE: root-translation error after a rigid (no scale) fit of the whole trajectory,
  divided by the length of the ground-truth path (fraction; x100 for %).
* Jitter: mean |third difference of pred| x fps^3 over the 24 SMPL joints, in 10 m/s^3 (as WHAM).
* Foot sliding: displacement of predicted foot vertices between consecutive frames in which
  the same ground-truth vertex moved less than 1 cm (m).
* Joints: the 24 SMPL joints (the authors add a 25th, a nose vertex, that our body layer lacks).
* Multi-person: predictions are paired with ground-truth people by the Hungarian algorithm
  on world (unaligned) MPJPE, as in the authors' code.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

PELVIS_JOINTS = (1, 2)  # SMPL left/right hip; the authors' pelvis is their mean
SMPL_FOOT_VERTEX_IDS = (3216, 3387, 6617, 6787)  # heel and toe of each foot (WHAM/authors)
CHUNK_FRAMES = 100
MIP_FPS = 15.0


def _check_pair(pred: np.ndarray, gt: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(f"{what}: pred and gt must both be (N, K, 3), got {pred.shape} and {gt.shape}")
    return pred, gt


def pelvis_centred(joints: np.ndarray) -> np.ndarray:
    """Joints (..., J, 3) minus the pelvis (mean of joints 1 and 2)."""
    pelvis = joints[..., list(PELVIS_JOINTS), :].mean(axis=-2, keepdims=True)
    return joints - pelvis


def mean_point_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-frame mean Euclidean distance, (N, K, 3) x2 -> (N,)."""
    return np.linalg.norm(pred - gt, axis=-1).mean(axis=-1)


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Pelvis-aligned MPJPE per frame (N,), metres."""
    pred, gt = _check_pair(pred, gt, "mpjpe")
    return mean_point_error(pelvis_centred(pred), pelvis_centred(gt))


def world_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """MPJPE without any alignment (world frame) per frame (N,), metres."""
    pred, gt = _check_pair(pred, gt, "world_mpjpe")
    return mean_point_error(pred, gt)


def umeyama(target: np.ndarray, source: np.ndarray, with_scale: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity (or rigid) transform taking ``source`` onto ``target``.

    Args:
        target, source: (K, 3) corresponding points.
    Returns:
        scale s, rotation R (3, 3) with det +1, translation t (3,) such that
        s * R @ source_k + t ~ target_k.
    """
    mu_t, mu_s = target.mean(axis=0), source.mean(axis=0)
    centred_t, centred_s = target - mu_t, source - mu_s
    covariance = centred_t.T @ centred_s / len(target)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[2, 2] = -1.0
    rotation = u @ sign @ vt
    variance_s = (centred_s**2).sum() / len(source)
    scale = float(np.trace(np.diag(singular) @ sign) / variance_s) if (with_scale and variance_s > 0) else 1.0
    return scale, rotation, mu_t - scale * rotation @ mu_s


def _apply(scale: float, rotation: np.ndarray, translation: np.ndarray, points: np.ndarray) -> np.ndarray:
    return scale * points @ rotation.T + translation


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """MPJPE after a per-frame similarity Procrustes alignment of pred onto gt, (N,) metres."""
    pred, gt = _check_pair(pred, gt, "pa_mpjpe")
    pred, gt = pelvis_centred(pred), pelvis_centred(gt)
    aligned = np.stack([_apply(*umeyama(g, p), p) for p, g in zip(pred, gt)]) if len(pred) else pred
    return mean_point_error(aligned, gt)


def pve(pred_vertices: np.ndarray, gt_vertices: np.ndarray) -> np.ndarray:
    """Per-vertex error in the world frame, no alignment, (N,) metres."""
    pred, gt = _check_pair(pred_vertices, gt_vertices, "pve")
    return mean_point_error(pred, gt)


def acceleration_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """|x''_pred - x''_gt| (second differences) averaged over joints, (N-2,) m/frame^2."""
    pred, gt = _check_pair(pred, gt, "acceleration_error")
    second = lambda x: x[:-2] - 2.0 * x[1:-1] + x[2:]  # noqa: E731
    return np.linalg.norm(second(pred) - second(gt), axis=-1).mean(axis=-1)


def accel_smoothness(pred: np.ndarray, fps: float = MIP_FPS) -> np.ndarray:
    """The authors' 'Accel': |second difference of pred| x fps^2 averaged over joints, (N-2,) m/s^2."""
    pred = np.asarray(pred, dtype=np.float64)
    second = pred[:-2] - 2.0 * pred[1:-1] + pred[2:]
    return np.linalg.norm(second, axis=-1).mean(axis=-1) * fps**2


def _chunked_aligned_errors(pred: np.ndarray, gt: np.ndarray, chunk: int, fit_frames: int | None) -> np.ndarray:
    errors = []
    for start in range(0, len(pred), chunk):
        p, g = pred[start : start + chunk], gt[start : start + chunk]
        fit = slice(0, fit_frames)  # fit_frames None -> the whole chunk
        transform = umeyama(g[fit].reshape(-1, 3), p[fit].reshape(-1, 3), with_scale=True)
        errors.append(mean_point_error(_apply(*transform, p), g))
    return np.concatenate(errors) if errors else np.zeros(0)


def w_mpjpe(pred: np.ndarray, gt: np.ndarray, chunk: int = CHUNK_FRAMES) -> np.ndarray:
    """W-MPJPE: per chunk, similarity fitted on its first two frames; per-frame errors (N,) metres."""
    pred, gt = _check_pair(pred, gt, "w_mpjpe")
    return _chunked_aligned_errors(pred, gt, chunk, fit_frames=2)


def wa_mpjpe(pred: np.ndarray, gt: np.ndarray, chunk: int = CHUNK_FRAMES) -> np.ndarray:
    """WA-MPJPE: per chunk, similarity fitted on the whole chunk; per-frame errors (N,) metres."""
    pred, gt = _check_pair(pred, gt, "wa_mpjpe")
    return _chunked_aligned_errors(pred, gt, chunk, fit_frames=None)


def rte(gt_transl: np.ndarray, pred_transl: np.ndarray) -> np.ndarray:
    """Root translation error per frame as a fraction of the ground-truth path length (N,).

    Rigid (scale 1) alignment of the whole predicted trajectory first.  Returns an
    empty array when the ground truth does not move (the authors drop those non-finite values).
    """
    gt, pred = np.asarray(gt_transl, dtype=np.float64), np.asarray(pred_transl, dtype=np.float64)
    if gt.shape != pred.shape or gt.ndim != 2 or gt.shape[1] != 3:
        raise ValueError(f"rte: translations must both be (N, 3), got {gt.shape} and {pred.shape}")
    path_length = np.linalg.norm(np.diff(gt, axis=0), axis=-1).sum()
    if path_length <= 0:
        return np.zeros(0)
    aligned = _apply(*umeyama(gt, pred, with_scale=False), pred)
    return np.linalg.norm(gt - aligned, axis=-1) / path_length


def jitter(pred: np.ndarray, fps: float = MIP_FPS) -> np.ndarray:
    """|third difference| x fps^3 over the first 24 joints, per frame (N-3,), in units of 10 m/s^3."""
    joints = np.asarray(pred, dtype=np.float64)[:, :24]
    third = joints[3:] - 3.0 * joints[2:-1] + 3.0 * joints[1:-2] - joints[:-3]
    return np.linalg.norm(third * fps**3, axis=-1).mean(axis=-1) / 10.0


def foot_sliding(
    gt_vertices: np.ndarray,
    pred_vertices: np.ndarray,
    foot_vertex_ids: tuple[int, ...] | np.ndarray = SMPL_FOOT_VERTEX_IDS,
    contact_threshold: float = 0.01,
) -> np.ndarray:
    """Predicted foot-vertex displacements (K,) metres over (frame, vertex) pairs where the
    ground-truth vertex moved less than ``contact_threshold`` metres since the previous frame."""
    pred, gt = _check_pair(pred_vertices, gt_vertices, "foot_sliding")
    ids = np.asarray(foot_vertex_ids)
    gt_step = np.linalg.norm(np.diff(gt[:, ids], axis=0), axis=-1)
    pred_step = np.linalg.norm(np.diff(pred[:, ids], axis=0), axis=-1)
    return pred_step[gt_step < contact_threshold]


def match_people(pred_joints: np.ndarray, gt_joints: np.ndarray) -> list[tuple[int, int]]:
    """Hungarian pairing of predicted (P, J, 3) and ground-truth (G, J, 3) people on world MPJPE.

    Returns (pred index, gt index) pairs, min(P, G) of them, sorted by gt index.
    """
    pred, gt = np.asarray(pred_joints, dtype=np.float64), np.asarray(gt_joints, dtype=np.float64)
    if len(pred) == 0 or len(gt) == 0:
        return []
    cost = np.linalg.norm(pred[:, None] - gt[None], axis=-1).mean(axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return sorted(zip(rows.tolist(), cols.tolist()), key=lambda pair: pair[1])


@dataclass
class PersonSequence:
    """One person's contiguous predicted and true trajectory (frames in order).

    joints (N, J, 3); transl (N, 3); vertices (N, V, 3) or None when no body model
    was available (then PVE and foot sliding are skipped).
    """

    pred_joints: np.ndarray
    gt_joints: np.ndarray
    pred_transl: np.ndarray
    gt_transl: np.ndarray
    pred_vertices: np.ndarray | None = None
    gt_vertices: np.ndarray | None = None


METRIC_UNITS = {
    "MPJPE": "mm", "PA-MPJPE": "mm", "W-MPJPE (no align)": "mm", "PVE": "mm",
    "W-MPJPE100": "mm", "WA-MPJPE100": "mm", "AccelErr": "mm/frame^2", "Accel": "m/s^2",
    "RTE": "%", "Jitter": "10 m/s^3", "FootSliding": "mm",
}


@dataclass
class MetricAccumulator:
    """Collects per-frame values over person sequences; ``summary`` gives the paper's means."""

    fps: float = MIP_FPS
    foot_vertex_ids: tuple[int, ...] | np.ndarray = SMPL_FOOT_VERTEX_IDS
    values: dict[str, list[np.ndarray]] = field(default_factory=lambda: {name: [] for name in METRIC_UNITS})
    person_frames: int = 0

    def add(self, seq: PersonSequence) -> None:
        n = len(seq.pred_joints)
        if n == 0:
            return
        self.person_frames += n
        mm = 1000.0
        add = lambda name, value: self.values[name].append(np.asarray(value, dtype=np.float64))  # noqa: E731
        add("MPJPE", mpjpe(seq.pred_joints, seq.gt_joints) * mm)
        add("PA-MPJPE", pa_mpjpe(seq.pred_joints, seq.gt_joints) * mm)
        add("W-MPJPE (no align)", world_mpjpe(seq.pred_joints, seq.gt_joints) * mm)
        add("W-MPJPE100", w_mpjpe(seq.pred_joints, seq.gt_joints) * mm)
        add("WA-MPJPE100", wa_mpjpe(seq.pred_joints, seq.gt_joints) * mm)
        if n >= 3:
            add("AccelErr", acceleration_error(seq.pred_joints, seq.gt_joints) * mm)
            add("Accel", accel_smoothness(seq.pred_joints, self.fps))
        if n >= 4:
            add("Jitter", jitter(seq.pred_joints, self.fps))
        if n >= 2:
            add("RTE", rte(seq.gt_transl, seq.pred_transl) * 100.0)
        if seq.pred_vertices is not None and seq.gt_vertices is not None:
            add("PVE", pve(seq.pred_vertices, seq.gt_vertices) * mm)
            if n >= 2:
                add("FootSliding", foot_sliding(seq.gt_vertices, seq.pred_vertices, self.foot_vertex_ids) * mm)

    def summary(self) -> dict[str, float]:
        """Mean of every metric over all collected per-frame values (NaN when none)."""
        out: dict[str, float] = {}
        for name, chunks in self.values.items():
            joined = np.concatenate(chunks) if chunks else np.zeros(0)
            out[name] = float(joined.mean()) if joined.size else float("nan")
        return out
