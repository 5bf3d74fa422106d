"""MIP scene files, MOTChallenge track files, and tracking metrics (CLEAR-MOT, IDF1, HOTA).

Scene file (.npz, MIP layout): 'pressure' (T, rows, cols) numeric; optional 'box'
(T, max_people, 4) x1,y1,x2,y2 [cells] with all-zero rows for absent people (slot index = identity);
optional 'pressure_unit', 'pressure_scale_kpa' (kPa per stored unit), 'fps', 'cell_pitch' [m]; other keys
are ignored. The shared reader presstrack_common.mip_format.read_mip_pressure resolves the unit: a kPa file
is read as kPa, one with 'pressure_scale_kpa' is scaled by it, and one with neither is taken as MIP raw
units (MIP_KPA_PER_RAW). Pass an explicit scale when the mat is calibrated.

Track file (MOTChallenge): one row per person and frame, `frame,id,left,top,width,height,conf,-1,-1,-1`,
frame 1-based, box in cells with x = column and y = row (left = x1, width = x2 - x1).

Metrics: MOTA, IDF1 and id switches from motmetrics with IoU matching at IoU >= 0.5; MOTP is reported
as mean IoU of matched pairs (1 - motmetrics' mean IoU distance), so higher is better as in the paper;
HOTA following Luiten et al. 2020 (`hota`), IoU similarity, averaged over alpha = 0.05 ... 0.95.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from presstrack_common.mip_format import MipArchive, open_mip, read_mip_pressure

from .config import TrackerConfig
from .identity import BodySignature
from .linking import link, tracklets_of
from .motion import Track, TrackState
from .tracker import PressureTracker

HOTA_ALPHAS = np.linspace(0.05, 0.95, 19)


class SceneError(ValueError):
    """A scene or track file that cannot be used; the message names the file and the problem."""


@dataclass
class Scene:
    """pressure (T, rows, cols) float32 [kPa], non-finite cells already set to 0 (nonfinite_cells
    counts them); boxes (T, max_people, 4) float64 or None; fps [Hz]; cell_pitch [m]; kpa_per_unit: the
    kPa per stored unit the pressure was read with, and unit_from: who said so ('caller', 'file', or
    'assumed': MIP raw units, the file names no unit)."""

    path: Path
    pressure: np.ndarray
    boxes: np.ndarray | None
    fps: float
    cell_pitch: float
    nonfinite_cells: int
    kpa_per_unit: float = 1.0
    unit_from: str = "caller"


def load_scene(path: str | Path, need_boxes: bool = False, pressure_scale_kpa: float | None = None) -> Scene:
    """Read a MIP-layout scene; SceneError on a missing key, wrong shape or dtype, or unreadable file.

    pressure_scale_kpa overrides the file's unit keys (kPa per stored unit).
    """
    path = Path(path)
    try:
        with open_mip(path) as data:
            mip = read_mip_pressure(data, pressure_scale_kpa)
            boxes = _read_boxes(data, mip.pressure.shape[0], need_boxes)
            unit_from = "caller" if pressure_scale_kpa is not None else (
                "file" if "pressure_unit" in data or "pressure_scale_kpa" in data else "assumed")
    except SceneError:
        raise
    except ValueError as error:
        raise SceneError(str(error)) from None
    return Scene(path, mip.kpa(), boxes, mip.fps, mip.cell_pitch, mip.nonfinite_cells, mip.kpa_per_unit, unit_from)


def _read_boxes(data: MipArchive, frames: int, need_boxes: bool) -> np.ndarray | None:
    """The scene's 'box' key as float64 (T, max_people, 4), None when absent and not needed."""
    if "box" not in data:
        if need_boxes:
            raise SceneError(f"{data.path}: missing key 'box' (ground truth needed for evaluation)")
        return None
    boxes = data["box"]
    if boxes.ndim != 3 or boxes.shape[0] != frames or boxes.shape[2] != 4:
        raise SceneError(f"{data.path}: 'box' must have shape ({frames}, max_people, 4), got {boxes.shape}")
    if boxes.dtype.kind not in "iuf":
        raise SceneError(f"{data.path}: 'box' must be numeric, got dtype {boxes.dtype}")
    boxes = boxes.astype(np.float64)
    if not np.isfinite(boxes).all():
        raise SceneError(f"{data.path}: 'box' contains NaN or Inf")
    return boxes


@dataclass(frozen=True)
class MotRow:
    """One MOTChallenge row: frame (1-based), id, box left/top/width/height [cells], confidence."""

    frame: int
    track_id: int
    left: float
    top: float
    width: float
    height: float
    confidence: float

    @classmethod
    def of_person(cls, index: int, person) -> MotRow:
        """The row of a tracked person (`TrackedPerson`: id, box x1, y1, x2, y2 [cells], confidence) in frame
        `index` (0-based)."""
        x1, y1, x2, y2 = person.box
        return cls(index + 1, person.track_id, x1, y1, x2 - x1, y2 - y1, person.confidence)


def track_scene(scene: Scene, tracker) -> list[MotRow]:
    """Run `tracker` (PressureTracker or BaselineTracker) over the scene; the rows of the file as an offline writer
    writes them (`OfflineFile`)."""
    offline = OfflineFile(scene.fps)
    for index, frame in enumerate(scene.pressure):
        offline.add(index, tracker.update(frame, index / scene.fps), tracker, frame.shape)
    return offline.rows()


class OfflineFile:
    """What an offline writer keeps of a recording as it is tracked (fed frame by frame, in one pass or in pieces):
    the rows of confirmed people, a track's rows while it was tentative (the first min_hits - 1 frames of a visit)
    written once it is confirmed (an offline file may look back; live they are TENTATIVE; `backfill_tentative`
    False leaves them out), the provisional ids the tracker recognised as somebody who had left
    (`PressureTracker.recognised`), and the tracks seen under each id. Lost tracks are never written.

    `rows()`: the file as written: every provisional id recognised as a known one under that id (`relabelled`),
    then, for a PressureTracker, its tracklets linked into people with hindsight (linking.py: body signatures of
    the tracks behind each id, space-time continuity)."""

    def __init__(self, fps: float, backfill_tentative: bool = True) -> None:
        self.fps = fps
        self.backfill_tentative = backfill_tentative
        self.aliases: dict[int, int] = {}
        self._rows: list[MotRow] = []
        self._pending: dict[int, list[MotRow]] = {}
        # Each track seen, by object id: the id it is under, and it (a visit). A track whose id changed (recognised,
        # swapped back) ended a visit under its last id: its signature then is in _visits, by that id.
        self._holding: dict[int, tuple[int, Track]] = {}
        self._visits: dict[int, list[BodySignature | None]] = {}
        self._config: TrackerConfig | None = None   # of a tracker whose tracklets are linked
        self._shape: tuple[int, int] | None = None

    def add(self, index: int, people: Sequence, tracker, shape: tuple[int, int]) -> list[MotRow]:
        """Keep frame `index` (0-based) of a mat of `shape` (rows, cols): `people` as `tracker` returned them.
        Returns the rows written for it (the backfilled ones first)."""
        self._shape = shape
        self.aliases.update(getattr(tracker, "recognised", {}))   # the baseline recognises nobody
        if isinstance(tracker, PressureTracker):
            self._config = tracker.config
            for track in tracker.tracker.tracks:
                held = self._holding.get(id(track))
                if held is not None and held[0] != track.track_id:   # the visit under its last id ended
                    self._visits.setdefault(held[0], []).append(track.signature(self._config))
                if track.frames_since_update == 0 or held is not None:
                    self._holding[id(track)] = (track.track_id, track)
        written = []
        for person in people:
            if person.state == TrackState.LOST:
                continue
            row = MotRow.of_person(index, person)
            if person.state == TrackState.TENTATIVE:
                self._pending.setdefault(person.track_id, []).append(row)
                continue
            if self.backfill_tentative:
                written += self._pending.pop(person.track_id, [])
            written.append(row)
        self._rows += written
        return written

    def rows(self) -> list[MotRow]:
        """The rows of the file so far, sorted by frame and id, relabelled and (for a PressureTracker) linked."""
        rows = relabelled(self._rows, self.aliases)
        if self._config is None or not rows:
            return rows
        visits = {track_id: list(signatures) for track_id, signatures in self._visits.items()}
        for track_id, track in self._holding.values():
            visits.setdefault(track_id, []).append(track.signature(self._config))
        person = link(tracklets_of(np.array([r.frame for r in rows]), np.array([r.track_id for r in rows]),
                                   np.array([(r.left, r.top, r.left + r.width, r.top + r.height) for r in rows]),
                                   self._shape, visits, self.fps, self._config), self.fps, self._config)
        return sorted((replace(row, track_id=person[row.track_id]) for row in rows),
                      key=lambda r: (r.frame, r.track_id))


def relabelled(rows: Sequence[MotRow], aliases: dict[int, int]) -> list[MotRow]:
    """`rows` sorted by frame and id, with each provisional id of `aliases` (provisional id -> the known id it was
    recognised as) replaced by the known one: ids are never reused, so all of a provisional id's rows are that
    person's, and an offline file shows one id per person from their first frame back — but in a frame where the
    known id has a box already (one person's feet held by two ids for a moment, or a newcomer taken for a lost
    person whose feet were missed), the row keeps its provisional id: no frame holds one id twice."""
    def known(track_id: int) -> int:
        while track_id in aliases:
            track_id = aliases[track_id]
        return track_id

    taken = {(row.frame, row.track_id) for row in rows if row.track_id not in aliases}
    written = []
    for row in sorted(rows, key=lambda r: (r.frame, r.track_id)):
        if row.track_id in aliases and (row.frame, known_id := known(row.track_id)) not in taken:
            row = replace(row, track_id=known_id)
            taken.add((row.frame, known_id))
        written.append(row)
    return sorted(written, key=lambda r: (r.frame, r.track_id))


def ids_twice_in_a_frame(rows: Sequence[MotRow]) -> list[tuple[int, int]]:
    """(frame, id) of every id that `rows` give to more than one box of one frame (a tracker must give none)."""
    seen = Counter((row.frame, row.track_id) for row in rows)
    return sorted(key for key, count in seen.items() if count > 1)


def write_mot(rows: Sequence[MotRow], path: str | Path) -> None:
    """Write rows as MOTChallenge text (`frame,id,left,top,width,height,conf,-1,-1,-1`)."""
    with open(path, "w", encoding="ascii") as stream:
        for row in rows:
            stream.write(f"{row.frame},{row.track_id},{row.left:g},{row.top:g},{row.width:g},{row.height:g},"
                         f"{row.confidence:.4f},-1,-1,-1\n")


def read_mot(path: str | Path) -> list[MotRow]:
    """Parse a MOTChallenge file (at least 7 comma-separated numbers per non-empty line); SceneError
    naming the file and line on anything else."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise SceneError(f"{path}: cannot read ({error})") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        try:
            values = [float(v) for v in fields[:7]]
        except ValueError:
            values = []
        if len(values) < 7 or not all(math.isfinite(v) for v in values) or values[0] < 1 or values[0] != int(values[0]) \
                or values[4] < 0 or values[5] < 0:
            raise SceneError(f"{path}:{number}: expected 'frame,id,left,top,width,height,conf,...' "
                             f"with frame >= 1 and non-negative size, got {line.strip()!r}")
        rows.append(MotRow(int(values[0]), int(values[1]), *values[2:7]))
    return rows


Box = tuple[float, float, float, float]


def box_area(box: Box) -> float:
    """Area [cells^2] of x1,y1,x2,y2 (exclusive ends); 0 for an empty box."""
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def iou(box_a: Box, box_b: Box) -> float:
    """Intersection over union of two x1,y1,x2,y2 boxes; 0 if both are empty."""
    inter = box_area((max(box_a[0], box_b[0]), max(box_a[1], box_b[1]), min(box_a[2], box_b[2]), min(box_a[3], box_b[3])))
    union = box_area(box_a) + box_area(box_b) - inter
    return inter / union if union > 0 else 0.0


def uoe(box_a: Box, box_b: Box) -> float:
    """Union over Enclosure (PressTrack-HMR's box similarity) of two x1,y1,x2,y2 boxes, in [0, 1].

    UoE = |A ∪ B| / |C|, with C the smallest axis-aligned box enclosing A and B (= 1 + GIoU - IoU).
    A walking person's box grows from one foot to two feet containing it: IoU falls, UoE stays 1.
    Returns 0 when C is empty.
    """
    inter = box_area((max(box_a[0], box_b[0]), max(box_a[1], box_b[1]), min(box_a[2], box_b[2]), min(box_a[3], box_b[3])))
    union = box_area(box_a) + box_area(box_b) - inter
    enclosure = box_area((min(box_a[0], box_b[0]), min(box_a[1], box_b[1]), max(box_a[2], box_b[2]), max(box_a[3], box_b[3])))
    return union / enclosure if enclosure > 0 else 0.0


def iou_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of x1,y1,x2,y2 boxes (exclusive ends)."""
    a = np.asarray(boxes_a, dtype=float).reshape(-1, 4)[:, None, :]
    b = np.asarray(boxes_b, dtype=float).reshape(-1, 4)[None, :, :]
    inter = (np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
             * np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None))
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


@dataclass(frozen=True)
class HotaResult:
    """HOTA, DetA, AssA averaged over alphas, plus per-alpha TP/FN/FP counts and AssA (for combining)."""

    hota: float
    deta: float
    assa: float
    tp: np.ndarray
    fn: np.ndarray
    fp: np.ndarray
    assa_per_alpha: np.ndarray


def _hota_from_counts(tp: np.ndarray, fn: np.ndarray, fp: np.ndarray, assa: np.ndarray) -> HotaResult:
    deta = tp / np.maximum(1.0, tp + fn + fp)
    hota_alpha = np.sqrt(deta * assa)
    return HotaResult(float(hota_alpha.mean()), float(deta.mean()), float(assa.mean()), tp, fn, fp, assa)


def hota(gt_ids: Sequence[Sequence[int]], tracker_ids: Sequence[Sequence[int]],
         similarities: Sequence[np.ndarray]) -> HotaResult:
    """HOTA (Luiten et al., IJCV 2020), implemented as in TrackEval.

    Per frame t: gt_ids[t] (n_gt,), tracker_ids[t] (n_tr,), similarities[t] (n_gt, n_tr) in [0, 1].
    1. Global alignment score A(g, k) = sum_t S_t(g, k) / (n_g + n_k - sum_t S_t(g, k)), where S_t is
       the frame's similarity normalised as an IoU over rows and columns and n_g, n_k count the frames
       each id appears in.
    2. Each frame, Hungarian assignment maximising A(g, k) * sim(g, k); for each alpha, a matched pair
       with sim >= alpha is a TP, other gt are FN, other tracker dets FP; TPA counts per (g, k).
    3. Per alpha: DetA = TP / (TP + FN + FP), AssA = sum over TPs of TPA / (TPA + FNA + FPA) / TP,
       HOTA = sqrt(DetA * AssA); the result is the mean over alpha = 0.05, 0.10, ..., 0.95.
    """
    if not len(gt_ids) == len(tracker_ids) == len(similarities):
        raise ValueError("gt_ids, tracker_ids and similarities must have one entry per frame")
    gt_index = {g: i for i, g in enumerate(sorted({int(g) for ids in gt_ids for g in ids}))}
    tr_index = {k: i for i, k in enumerate(sorted({int(k) for ids in tracker_ids for k in ids}))}
    potential = np.zeros((len(gt_index), len(tr_index)))
    gt_count = np.zeros((len(gt_index), 1))
    tr_count = np.zeros((1, len(tr_index)))
    frames = []
    for g_ids, k_ids, sim in zip(gt_ids, tracker_ids, similarities):
        g = np.array([gt_index[int(i)] for i in g_ids], dtype=int)
        k = np.array([tr_index[int(i)] for i in k_ids], dtype=int)
        sim = np.asarray(sim, dtype=float).reshape(len(g), len(k))
        frames.append((g, k, sim))
        if len(g) and len(k):
            denominator = sim.sum(0, keepdims=True) + sim.sum(1, keepdims=True) - sim
            potential[np.ix_(g, k)] += np.divide(sim, denominator, out=np.zeros_like(sim), where=denominator > 1e-12)
        gt_count[g, 0] += 1
        tr_count[0, k] += 1
    alignment = potential / np.maximum(1e-12, gt_count + tr_count - potential)

    alphas = HOTA_ALPHAS
    tp, fn, fp = np.zeros(len(alphas)), np.zeros(len(alphas)), np.zeros(len(alphas))
    matches = np.zeros((len(alphas), len(gt_index), len(tr_index)))
    for g, k, sim in frames:
        if len(g) == 0 or len(k) == 0:
            fn += len(g)
            fp += len(k)
            continue
        rows, cols = linear_sum_assignment(-(alignment[np.ix_(g, k)] * sim))
        for a, alpha in enumerate(alphas):
            ok = sim[rows, cols] >= alpha - 1e-9
            tp[a] += ok.sum()
            fn[a] += len(g) - ok.sum()
            fp[a] += len(k) - ok.sum()
            matches[a, g[rows[ok]], k[cols[ok]]] += 1
    assa = np.array([np.sum(m * m / np.maximum(1.0, gt_count + tr_count - m)) / max(1.0, t) for m, t in zip(matches, tp)])
    return _hota_from_counts(tp, fn, fp, assa)


def combine_hota(results: Sequence[HotaResult]) -> HotaResult:
    """HOTA over several sequences (TrackEval's combination: counts summed, AssA weighted by TP)."""
    tp = np.sum([r.tp for r in results], axis=0)
    fn = np.sum([r.fn for r in results], axis=0)
    fp = np.sum([r.fp for r in results], axis=0)
    assa = np.sum([r.assa_per_alpha * r.tp for r in results], axis=0) / np.maximum(1.0, tp)
    return _hota_from_counts(tp, fn, fp, assa)


def ground_truth_frames(boxes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per frame (ids, boxes): slot s with a non-zero row is identity s + 1."""
    frames = []
    for frame_boxes in boxes:
        present = np.flatnonzero(np.any(frame_boxes != 0, axis=1))
        frames.append((present + 1, frame_boxes[present]))
    return frames


def hypothesis_frames(rows: Sequence[MotRow], n_frames: int, path: Path | str = "tracks") -> list[tuple[np.ndarray, np.ndarray]]:
    """Per frame (ids, x1,y1,x2,y2 boxes) from MOT rows; SceneError for frames beyond the scene."""
    ids: list[list[int]] = [[] for _ in range(n_frames)]
    boxes: list[list[tuple[float, float, float, float]]] = [[] for _ in range(n_frames)]
    for row in rows:
        if row.frame > n_frames:
            raise SceneError(f"{path}: frame {row.frame} is beyond the scene's {n_frames} frames")
        ids[row.frame - 1].append(row.track_id)
        boxes[row.frame - 1].append((row.left, row.top, row.left + row.width, row.top + row.height))
    return [(np.array(i, dtype=int), np.array(b, dtype=float).reshape(-1, 4)) for i, b in zip(ids, boxes)]


@dataclass(frozen=True)
class Scores:
    """MOTA, MOTP (mean IoU of matches), IDF1 in [0, 1] (MOTA may be negative); HOTA result."""

    frames: int
    mota: float
    motp: float
    idf1: float
    id_switches: int
    hota: HotaResult


def accumulate(gt: list[tuple[np.ndarray, np.ndarray]], hyp: list[tuple[np.ndarray, np.ndarray]]):
    """motmetrics accumulator matching at IoU >= 0.5 (distance 1 - IoU, NaN beyond), and the HOTA result.
    (motmetrics.distances.iou_matrix is not used: it calls np.asfarray, removed in NumPy 2.)"""
    import motmetrics  # imported on use: it pulls in pandas, slow to import for the tracker alone

    accumulator = motmetrics.MOTAccumulator(auto_id=True)
    sims = []
    for (g_ids, g_boxes), (h_ids, h_boxes) in zip(gt, hyp):
        overlap = iou_matrix(g_boxes, h_boxes)
        distance = np.where(overlap >= 0.5, 1.0 - overlap, np.nan)
        accumulator.update(g_ids.tolist(), h_ids.tolist(), distance)
        sims.append(overlap)
    return accumulator, hota([g for g, _ in gt], [h for h, _ in hyp], sims)


def scores_from(accumulator, hota_result: HotaResult, name: str) -> Scores:
    import motmetrics

    summary = motmetrics.metrics.create().compute(accumulator, metrics=["num_frames", "mota", "motp", "idf1", "num_switches"], name=name)
    row = summary.iloc[0]
    motp = float(row["motp"])
    return Scores(int(row["num_frames"]), float(row["mota"]), 1.0 - motp if math.isfinite(motp) else 0.0,
                  float(row["idf1"]) if math.isfinite(row["idf1"]) else 0.0, int(row["num_switches"]), hota_result)


def evaluate(boxes: np.ndarray, rows: Sequence[MotRow], path: Path | str = "tracks") -> Scores:
    """Scores of MOT rows against ground-truth boxes (T, max_people, 4) x1,y1,x2,y2."""
    gt = ground_truth_frames(boxes)
    accumulator, hota_result = accumulate(gt, hypothesis_frames(rows, len(gt), path))
    return scores_from(accumulator, hota_result, str(path))
