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
  Umeyama similarity fitted on its first two frames (W) or on the whole chunk (WA).  The authors'
  chunks start at the sequence's first frame; a 2-frame fit makes W swing with where the chunks
  start, so the accumulator also reports the mean over every chunk start 0..99 (``... all starts``,
  stable to a shift of the sequence) and the spread (max - min) over those starts.
* RTE: root-translation error after a rigid (no scale) fit of the whole trajectory,
  divided by the length of the ground-truth path (fraction; x100 for %).
* Jitter: mean |third difference of pred| x fps^3 over the 24 SMPL joints, in 10 m/s^3 (as WHAM).
* Foot sliding: displacement of predicted foot vertices between consecutive frames in which
  the same ground-truth vertex moved less than 1 cm (m).
* Joints: the 24 SMPL joints, plus the authors' 25th (SMPL's nose vertex) when the body has
  SMPL's 6,890-vertex topology and the file has a 25th keypoint.
* Averaging (``MetricAccumulator.average``): ``frames`` is the authors' (mean over the people of a
  frame, then over frames); ``person-frames`` pools every person-frame.
* Multi-person: the ``paper`` protocol pairs predictions with ground-truth people per frame by the
  Hungarian algorithm on world (unaligned) MPJPE, as in the authors' code; the ``tracking`` protocol
  holds identities (``hold_identities``): each track is bound to one person for its whole life.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

PELVIS_JOINTS = (1, 2)  # SMPL left/right hip; the authors' pelvis is their mean
SMPL_FOOT_VERTEX_IDS = (3216, 3387, 6617, 6787)  # heel and toe of each foot (WHAM/authors)
SMPL_NOSE_VERTEX = 332  # the authors' 25th joint
SMPL_VERTEX_COUNT = 6890
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


def chunk_starts(frames: int, chunk: int = CHUNK_FRAMES, offset: int = 0) -> list[int]:
    """First frames of the chunks of a ``frames``-long sequence: 0, then offset, offset + chunk, ...
    (offset 0: the authors' 0, chunk, 2 chunk, ...; a first chunk shorter than ``chunk`` otherwise)."""
    return sorted({0, *range(offset % chunk, frames, chunk)}) if frames > 0 else []


def _chunked_aligned_errors(pred: np.ndarray, gt: np.ndarray, chunk: int, fit_frames: int | None,
                            offset: int = 0) -> np.ndarray:
    starts = chunk_starts(len(pred), chunk, offset)
    errors = []
    for start, stop in zip(starts, starts[1:] + [len(pred)]):
        p, g = pred[start:stop], gt[start:stop]
        fit = slice(0, fit_frames)  # fit_frames None -> the whole chunk
        transform = umeyama(g[fit].reshape(-1, 3), p[fit].reshape(-1, 3), with_scale=True)
        errors.append(mean_point_error(_apply(*transform, p), g))
    return np.concatenate(errors) if errors else np.zeros(0)


def w_mpjpe(pred: np.ndarray, gt: np.ndarray, chunk: int = CHUNK_FRAMES, offset: int = 0) -> np.ndarray:
    """W-MPJPE: per chunk (``chunk_starts``), similarity fitted on its first two frames; per-frame errors (N,) metres."""
    pred, gt = _check_pair(pred, gt, "w_mpjpe")
    return _chunked_aligned_errors(pred, gt, chunk, fit_frames=2, offset=offset)


def wa_mpjpe(pred: np.ndarray, gt: np.ndarray, chunk: int = CHUNK_FRAMES, offset: int = 0) -> np.ndarray:
    """WA-MPJPE: per chunk (``chunk_starts``), similarity fitted on the whole chunk; per-frame errors (N,) metres."""
    pred, gt = _check_pair(pred, gt, "wa_mpjpe")
    return _chunked_aligned_errors(pred, gt, chunk, fit_frames=None, offset=offset)


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
class HeldIdentities:
    """Ground-truth people scored with identities held (see ``hold_identities``).

    chosen[f]: {gt index: index of the estimate of frame f scored against that person};
    bound: track id -> gt index (tracks bound to nobody are absent); missed: person-frames with no
    estimate of a track bound to the person; spare: estimates scored against nobody (their person
    absent, a second track of a person already scored in the frame, or a track bound to nobody);
    spare_tracks: tracks bound to nobody; switches: changes of the track that scores a person;
    followed[f]: {estimate index: gt index the frame's Hungarian pairing gives it} (an estimate scored
    against another person than it follows there is a track that has drifted or swapped onto someone else).
    """

    chosen: list[dict[int, int]]
    bound: dict[int, int]
    missed: int
    spare: int
    spare_tracks: int
    switches: int
    followed: list[dict[int, int]]


def hold_identities(track_ids: list[list[int]], pred_joints: list[np.ndarray], gt_present: np.ndarray,
                    gt_joints: np.ndarray) -> HeldIdentities:
    """Bind each track to one ground-truth person for its whole life and pick, per frame, what scores each person.

    track_ids[f] (P_f,) and pred_joints[f] (P_f, J, 3): the estimates of frame f; gt_present (F, G) bool;
    gt_joints (F, G, J, 3).  Each frame's estimates vote for the person the Hungarian pairing on world MPJPE
    gives them; a track is bound to the person with most votes (majority overlap; ties: the lower index).
    A bound track's estimates are scored against its person on every frame the person is present, even
    after it has switched to following someone else, so an identity switch costs what it costs live.
    When two tracks bound to one person are seen together, the one with more votes for that person scores.
    """
    votes: dict[int, dict[int, int]] = {}
    followed: list[dict[int, int]] = []
    for f, (ids, joints) in enumerate(zip(track_ids, pred_joints)):
        present = np.flatnonzero(gt_present[f])
        votes.update({t: votes.get(t, {}) for t in ids})
        pairs = match_people(joints, gt_joints[f, present]) if len(ids) else []
        followed.append({pred_index: int(present[gt_index]) for pred_index, gt_index in pairs})
        for pred_index, person in followed[-1].items():
            tally = votes[ids[pred_index]]
            tally[person] = tally.get(person, 0) + 1
    bound = {t: min(tally, key=lambda g: (-tally[g], g)) for t, tally in votes.items() if tally}
    chosen: list[dict[int, int]] = []
    missed = spare = switches = 0
    last_track: dict[int, int] = {}
    for f, ids in enumerate(track_ids):
        scoring: dict[int, int] = {}
        for index, track in enumerate(ids):
            person = bound.get(track)
            if person is None or not gt_present[f, person]:
                spare += 1
                continue
            if person in scoring:
                spare += 1
                rival = ids[scoring[person]]
                if (-votes[track][person], track) > (-votes[rival][person], rival):
                    continue
            scoring[person] = index
        missed += int(gt_present[f].sum()) - len(scoring)
        for person, index in scoring.items():
            switches += int(person in last_track and last_track[person] != ids[index])
            last_track[person] = ids[index]
        chosen.append(scoring)
    return HeldIdentities(chosen, bound, missed, spare, len(votes) - len(bound), switches, followed)


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


PER_FRAME_METRICS = ("MPJPE", "PA-MPJPE", "W-MPJPE (no align)", "PVE")
CHUNKED_METRICS = {"W-MPJPE100": w_mpjpe, "WA-MPJPE100": wa_mpjpe}
METRIC_UNITS = {
    "MPJPE": "mm", "PA-MPJPE": "mm", "W-MPJPE (no align)": "mm", "PVE": "mm",
    "W-MPJPE100": "mm", "W-MPJPE100 all starts": "mm", "W-MPJPE100 spread": "mm",
    "WA-MPJPE100": "mm", "WA-MPJPE100 all starts": "mm", "WA-MPJPE100 spread": "mm",
    "AccelErr": "mm/frame^2", "Accel": "m/s^2", "RTE": "%", "Jitter": "10 m/s^3", "FootSliding": "mm",
}
AVERAGES = ("frames", "person-frames")


def _frame_then_people_mean(keys: np.ndarray, values: np.ndarray) -> float:
    """Mean over the values of each key (a frame), then over keys."""
    _, frame_of, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return float((np.bincount(frame_of, weights=values) / counts).mean())


@dataclass
class MetricAccumulator:
    """Collects per-frame values over person sequences; ``summary`` gives the means in the paper's units.

    ``average``: 'frames' (the authors': mean over the people of a frame, then over frames; the frame of
    each value is the ``frames`` key given to ``add``) or 'person-frames' (every person-frame weighs the
    same).  The per-frame metrics (``PER_FRAME_METRICS``) and the chunked world metrics follow it; the
    derivative metrics (accelerations, jitter, RTE, foot sliding) pool their values.  The chunked world
    metrics are computed for every chunk start in ``chunk_offsets``; offset 0 is the authors' figure.
    """

    fps: float = MIP_FPS
    foot_vertex_ids: tuple[int, ...] | np.ndarray = SMPL_FOOT_VERTEX_IDS
    average: str = "person-frames"
    chunk_offsets: tuple[int, ...] = tuple(range(CHUNK_FRAMES))
    values: dict[str, list[np.ndarray]] = field(default_factory=dict)
    keys: dict[str, list[np.ndarray]] = field(default_factory=dict)
    person_frames: int = 0
    _next_key: int = 0

    def __post_init__(self) -> None:
        if self.average not in AVERAGES:
            raise ValueError(f"average must be one of {AVERAGES}, got {self.average!r}")
        if self.chunk_offsets[:1] != (0,):
            raise ValueError("chunk_offsets must start with the authors' offset 0")

    def _add(self, name: str, value: np.ndarray, keys: np.ndarray | None = None) -> None:
        self.values.setdefault(name, []).append(np.asarray(value, dtype=np.float64))
        if keys is not None:
            self.keys.setdefault(name, []).append(np.asarray(keys))

    def add(self, seq: PersonSequence, frames: np.ndarray | None = None, world_chunks: bool = True) -> None:
        """One person's sequence.  ``frames`` (N,): a key per frame, the same for every person seen in that
        frame (default: new keys, each person-frame its own frame); ``world_chunks`` False leaves the
        sequence out of W/WA-MPJPE100 (the authors score those on people present for the whole segment)."""
        n = len(seq.pred_joints)
        if n == 0:
            return
        if frames is None:
            frames, self._next_key = np.arange(self._next_key, self._next_key + n) - 2**62, self._next_key + n
        frames = np.asarray(frames)
        if frames.shape != (n,):
            raise ValueError(f"frames must be ({n},), got {frames.shape}")
        self.person_frames += n
        mm = 1000.0
        self._add("MPJPE", mpjpe(seq.pred_joints, seq.gt_joints) * mm, frames)
        self._add("PA-MPJPE", pa_mpjpe(seq.pred_joints, seq.gt_joints) * mm, frames)
        self._add("W-MPJPE (no align)", world_mpjpe(seq.pred_joints, seq.gt_joints) * mm, frames)
        if world_chunks:
            for name, chunked in CHUNKED_METRICS.items():
                per_offset = [chunked(seq.pred_joints, seq.gt_joints, offset=o) * mm for o in self.chunk_offsets]
                self._add(name, np.stack(per_offset, axis=1), frames)  # (N, offsets)
        if n >= 3:
            self._add("AccelErr", acceleration_error(seq.pred_joints, seq.gt_joints) * mm)
            self._add("Accel", accel_smoothness(seq.pred_joints, self.fps))
        if n >= 4:
            self._add("Jitter", jitter(seq.pred_joints, self.fps))
        if n >= 2:
            self._add("RTE", rte(seq.gt_transl, seq.pred_transl) * 100.0)
        if seq.pred_vertices is not None and seq.gt_vertices is not None:
            self._add("PVE", pve(seq.pred_vertices, seq.gt_vertices) * mm, frames)
            if n >= 2:
                self._add("FootSliding", foot_sliding(seq.gt_vertices, seq.pred_vertices, self.foot_vertex_ids) * mm)

    def _mean(self, name: str, values: np.ndarray) -> float:
        if name in self.keys and self.average == "frames":
            return _frame_then_people_mean(np.concatenate(self.keys[name]), values)
        return float(values.mean())

    def summary(self) -> dict[str, float]:
        """Every metric of ``METRIC_UNITS`` (NaN when it has no values)."""
        out = {name: float("nan") for name in METRIC_UNITS}
        for name, chunks in self.values.items():
            joined = np.concatenate(chunks)
            if joined.size == 0:
                continue
            if name in CHUNKED_METRICS:
                per_offset = np.array([self._mean(name, joined[:, i]) for i in range(joined.shape[1])])
                out[name] = float(per_offset[0])
                out[f"{name} all starts"] = float(per_offset.mean())
                out[f"{name} spread"] = float(per_offset.max() - per_offset.min())
            else:
                out[name] = self._mean(name, joined)
        return out
