"""``presstrack-eval``: mesh-recovery metrics of a backend on MIP-format recordings.

Backends produce, for each frame of a recording range, a list of person
estimates, each with the id of the track it came from.  Two protocols score them
(``--protocol``; ``presstrack-eval-table`` prints both side by side):

* ``paper``: the authors' aggregation.  Every frame's estimates are paired with the
  ground-truth people by the Hungarian algorithm on world MPJPE (identities are not
  needed: a switch, a missed person or a spare track costs nothing); only frames
  whose estimate had a full window of real frames count (no edge padding); per-frame
  metrics are averaged over the people of a frame, then over frames; W/WA-MPJPE100
  only on people present for the whole segment.
* ``tracking``: identities held, as the live graph must keep them.  Each track is
  bound to one person for its whole life by majority overlap (``metrics.hold_identities``);
  its frames are scored against that person, so the frames after an identity switch
  count against the person it was bound to; every output frame counts; person-frames are
  pooled; missed person-frames, spare person-frames, spare tracks and identity switches
  are counted and reported.

Each ground-truth person's scored estimates, in runs of consecutive frames (one track
per run under ``tracking``), form the sequences the temporal metrics
(W/WA-MPJPE100, accelerations, RTE, jitter, foot sliding) run on.

  presstrack-eval --checkpoint runs/hmr/best.pt --data corpus/ --split unseen_sequence --json out.json
  presstrack-eval --backend footprint --data corpus/        # the training-free baseline
  presstrack-eval --checkpoint best.pt --data MIP/ --body-model SMPL_NEUTRAL.pkl --people tracker --protocol tracking

People come from ``--people``: ``ground-truth`` cuts each person's crops with their
ground-truth boxes (the paper's setting; a run of frames where the person is present is
one track), ``tracker`` runs the pressure tracker on the frames and uses its crops, as the
live graph does (end to end).  The HMR backend estimates every frame of a track
(edge-padded windows); the footprint backend is fed frame by frame, as the node feeds it.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from itertools import groupby
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from .dataset import SPLIT_PARTS, Recording, load_split, require_body_model_for_smpl_labels
from mesh_recovery.hmr.body_layer import BodyLayer, SMPLBodyLayer, posed_joints
from mesh_recovery.hmr.checkpoint import load_network, resolve_device
from mesh_recovery.hmr.inputs import crop_person, frame_numbers
from mesh_recovery.hmr.inference import INFERENCE_PATHS, build_inference
from mesh_recovery.hmr.network import HMRNet
from mesh_recovery.hmr.rotations import axis_angle_to_matrix
from mesh_recovery.hmr.window import predict_track
from mesh_recovery.metrics import (METRIC_UNITS, SMPL_FOOT_VERTEX_IDS, SMPL_NOSE_VERTEX, SMPL_VERTEX_COUNT, MetricAccumulator,
                                   PersonSequence, hold_identities, match_people)
from presstrack_common.mat_geometry import MatGeometry, world_from_mat_pose
from pressure_tracker.crops import crop_origin
from presstrack_common.mip_format import MIP_FULL_SCALE_KPA, normalise_kpa
from presstrack_common.outputs import check_writable_file

CROP_SIZE = 128


@dataclass
class PersonEstimate:
    """One person in one frame: joints (24, 3) world metres; transl (3,); pose (72,) and betas (10,)
    when the backend estimates a body (needed for PVE and foot sliding)."""

    joints: np.ndarray
    transl: np.ndarray
    pose: np.ndarray | None = None
    betas: np.ndarray | None = None
    track_id: int | None = None  # the track it came from (the tracking protocol needs it)
    full_window: bool = True  # estimated from a full window of real frames (no edge padding)


class Backend(Protocol):
    name: str
    window_margins: tuple[int, int]  # real frames an estimate needs before and after its frame (paper protocol)

    def predict(self, recording: Recording, start: int, stop: int) -> list[list[PersonEstimate]]:
        """Estimates for frames start..stop-1 of the recording, one list per frame."""
        ...


# Factories for backends selected with --backend NAME (e.g. the footprint baseline registers here).
BACKENDS: dict[str, Callable[[argparse.Namespace], Backend]] = {}


def present_runs(present: np.ndarray, start: int, stop: int) -> list[tuple[int, int]]:
    """Maximal [a, b) runs of True in present[start:stop], as absolute frame indices."""
    runs, run_start = [], None
    for frame in range(start, stop):
        if present[frame] and run_start is None:
            run_start = frame
        elif not present[frame] and run_start is not None:
            runs.append((run_start, frame))
            run_start = None
    if run_start is not None:
        runs.append((run_start, stop))
    return runs


@dataclass
class PersonTrack:
    """One person's consecutive frames as a backend sees them.

    frames (N,) frame indices; crops (N, S, S) float32 kPa holding only this person's cells; boxes (N, 4)
    x1, y1, x2, y2 cells; origins (N, 2) mat cell (row, col) of crop pixel (0, 0); headings (N,) world
    walking direction, radians, NaN where unknown; track_id: the person slot (ground truth) or the tracker's id.
    """

    frames: np.ndarray
    crops: np.ndarray
    boxes: np.ndarray
    origins: np.ndarray
    headings: np.ndarray
    track_id: int


def ground_truth_tracks(recording: Recording, start: int, stop: int, size: int = CROP_SIZE) -> list[PersonTrack]:
    """Each ground-truth person's runs of presence, cut by their ground-truth boxes (the paper's setting)."""
    rows, cols = recording.pressure.shape[1:]
    tracks = []
    for slot in range(recording.num_slots):
        for low, high in present_runs(recording.present[:, slot], start, stop):
            boxes = recording.boxes[low:high, slot]
            crops = np.stack([crop_person(recording.pressure[f], box, size, recording.person_mask(f, slot))
                              for f, box in zip(range(low, high), boxes)]) * np.float32(MIP_FULL_SCALE_KPA)
            tracks.append(PersonTrack(np.arange(low, high), crops, boxes,
                                      np.array([_crop_origin(box, rows, cols, size) for box in boxes]),
                                      np.full(high - low, np.nan), slot))
    return tracks


def _confirmed_people(recording: Recording, start: int, stop: int, size: int = CROP_SIZE
                      ) -> Iterator[tuple[int, list, MatGeometry, dict[int, int]]]:
    """The pressure tracker run on frames [start, stop) as live: per frame, the confirmed tracks seen in
    it (``pressure_tracker.tracker.TrackedPerson`` with their own footprints), the mat's placement, and the
    newcomers recognised in it (``PressureTracker.recognised``: provisional id -> the known id they go on under)."""
    from pressure_tracker.tracker import PressureTracker, TrackerConfig, TrackState

    rows, cols = recording.pressure.shape[1:]
    geometry = _geometry_from_corners(recording.mat_corners_world, rows, cols)
    tracker = PressureTracker(TrackerConfig(crop_size=size, cell_pitch=geometry.pitch))
    for frame in range(start, stop):
        kpa = recording.pressure[frame] * np.float32(MIP_FULL_SCALE_KPA)
        people = [p for p in tracker.update(kpa, frame / recording.fps) if p.state is TrackState.CONFIRMED]
        yield frame, people, geometry, dict(tracker.recognised)


def tracker_tracks(recording: Recording, start: int, stop: int, size: int = CROP_SIZE) -> list[PersonTrack]:
    """The pressure tracker run on the frames, as live: each confirmed track's runs of frames with its own
    footprints, and its own crops, boxes, headings and id (end to end). A newcomer recognised as somebody who had
    left goes on under the known id in one run, as the node carries their window over (`renamed_from`): the
    backend's window does not start over at the rename."""
    seen: dict[int, list] = {}
    for frame, people, geometry, recognised in _confirmed_people(recording, start, stop, size):
        for provisional, known in recognised.items():
            seen[known] = seen.get(known, []) + seen.pop(provisional, [])
        for person in people:
            heading = person.heading + geometry.yaw_world_from_mat
            seen.setdefault(person.track_id, []).append((frame, person.crop, person.box, person.crop_origin, heading))
    tracks = []
    for track_id, rows_of_track in seen.items():
        frames = np.array([r[0] for r in rows_of_track])
        for run in np.split(np.arange(len(frames)), np.flatnonzero(np.diff(frames) != 1) + 1):
            pick = [rows_of_track[i] for i in run]
            tracks.append(PersonTrack(frames[run], np.stack([p[1] for p in pick]), np.array([p[2] for p in pick], dtype=float),
                                      np.array([p[3] for p in pick]), np.array([p[4] for p in pick], dtype=float),
                                      track_id))
    return tracks


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes a (N, 4) and b (M, 4), x1, y1, x2, y2 with exclusive ends -> (N, M)."""
    low = np.maximum(a[:, None, :2], b[None, :, :2])
    high = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(high - low, 0, None).prod(axis=-1)
    area = lambda boxes: np.clip(boxes[:, 2:] - boxes[:, :2], 0, None).prod(axis=-1)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter, dtype=np.float64), where=union > 0)


def tracked_recording(recording: Recording, ranges: list[tuple[int, int]] | None = None,
                      min_iou: float = 0.3) -> Recording:
    """The recording as the tracker sees it, for training on the crops the live graph makes.

    Person slot k is the tracker's k-th confirmed track: its boxes and its own cells (``cell_owner``), so a
    neighbour's foot it took is in its crop and a foot it missed is not.  A newcomer recognised as somebody who
    had left goes on in its slot under the known id, as ``tracker_tracks`` and the node carry its window over
    the rename (`renamed_from`).  On each frame the tracks are
    paired with the ground-truth people by the Hungarian algorithm on box IoU; a paired track (IoU >=
    ``min_iou``) gets its person's pose, shape, translation and joints as targets.  Frames where a track is
    lost or paired with nobody are absent, their cells dropped (no body to learn there), and the windows
    around them see what the live backend sees of a lost track: no footprints.  The
    tracker runs over each of ``ranges`` (default: the whole recording) from a fresh start, as
    ``tracker_tracks`` does for evaluation.
    """
    frames, rows, cols = recording.pressure.shape
    paired: list[tuple[int, int, object, int]] = []  # frame, slot, tracked person, ground-truth slot
    slot_of_track: dict[tuple[int, int], int] = {}  # (range, track id) -> slot
    count = 0  # slots
    for number, (start, stop) in enumerate(ranges if ranges is not None else [(0, frames)]):
        for frame, people, _, recognised in _confirmed_people(recording, start, stop):
            for provisional, known in recognised.items():
                if (number, provisional) in slot_of_track:
                    slot_of_track[number, known] = slot_of_track.pop((number, provisional))
            truth = np.flatnonzero(recording.present[frame])
            if not people or len(truth) == 0:
                continue
            iou = box_iou(np.array([p.box for p in people], dtype=np.float64), recording.boxes[frame, truth])
            for i, j in zip(*linear_sum_assignment(iou, maximize=True)):
                if iou[i, j] >= min_iou:
                    if (number, people[i].track_id) not in slot_of_track:
                        slot_of_track[number, people[i].track_id] = count
                        count += 1
                    paired.append((frame, slot_of_track[number, people[i].track_id], people[i], int(truth[j])))
    boxes, present = np.zeros((frames, count, 4)), np.zeros((frames, count), dtype=bool)
    targets = {key: np.zeros((frames, count, *getattr(recording, key).shape[2:]), dtype=np.float32)
               for key in ("pose", "betas", "transl", "joints")}
    cell_owner = np.full((frames, rows, cols), -1, dtype=np.int16)
    for frame, slot, person, truth in paired:
        boxes[frame, slot], present[frame, slot] = person.box, True
        for key, values in targets.items():
            values[frame, slot] = getattr(recording, key)[frame, truth]
        cell_owner[frame][person.mask] = slot
    return replace(recording, boxes=boxes, present=present, cell_owner=cell_owner, **targets)


PEOPLE_SOURCES: dict[str, Callable[[Recording, int, int, int], list[PersonTrack]]] = {
    "ground-truth": ground_truth_tracks, "tracker": tracker_tracks}


class HMRBackend:
    """The network on each person track, every frame estimated (edge-padded windows, as ``predict_track``)."""

    name = "hmr"

    def __init__(self, net: HMRNet, body: BodyLayer, batch_size: int = 64, people: str = "ground-truth") -> None:
        self.net, self.body, self.batch_size = net.eval(), body, batch_size
        self.people = PEOPLE_SOURCES[people]
        self.window_margins = (net.config.target_index, net.config.lag)

    def predict(self, recording: Recording, start: int, stop: int) -> list[list[PersonEstimate]]:
        estimates: list[list[PersonEstimate]] = [[] for _ in range(stop - start)]
        rows, cols = recording.pressure.shape[1:]
        before, after = self.window_margins
        for track in self.people(recording, start, stop, self.net.config.crop_size):
            numbers = np.stack([frame_numbers(box, rows, cols, recording.mat_corners_world) for box in track.boxes])
            output = predict_track(self.net, torch.from_numpy(normalise_kpa(track.crops)), torch.from_numpy(numbers),
                                   self.batch_size)
            with torch.inference_mode():
                joints = posed_joints(self.body, output.betas, output.rotmats, output.transl).cpu().numpy()
            for i, frame in enumerate(track.frames):
                estimates[frame - start].append(PersonEstimate(
                    joints=joints[i], transl=output.transl[i].cpu().numpy(),
                    pose=output.pose[i].cpu().numpy(), betas=output.betas[i].cpu().numpy(), track_id=track.track_id,
                    full_window=before <= i < len(track.frames) - after))
        return estimates


class FootprintBackend:
    """The training-free baseline, fed frame by frame with every person of the frame, as the node does."""

    name = "footprint"
    window_margins = (0, 0)  # frame by frame

    def __init__(self, body_model_path: Path | None = None, people: str = "ground-truth") -> None:
        from presstrack_body.model import BodyModel
        from mesh_recovery.estimators import FootprintEstimator

        self.estimator = FootprintEstimator(BodyModel(body_model_path), MatGeometry())
        self.people = PEOPLE_SOURCES[people]

    def predict(self, recording: Recording, start: int, stop: int) -> list[list[PersonEstimate]]:
        from mesh_recovery.estimators import PersonInput

        rows, cols = recording.pressure.shape[1:]
        self.estimator.set_geometry(_geometry_from_corners(recording.mat_corners_world, rows, cols))
        by_frame: dict[int, list[PersonInput]] = {}
        last_frame: dict[int, int] = {}
        tracks = self.people(recording, start, stop)
        for number, track in enumerate(tracks):
            track_id = number  # a run of frames: the estimator starts afresh on each
            last_frame[track_id] = int(track.frames[-1])
            for i, frame in enumerate(track.frames):
                heading = float(track.headings[i]) if np.isfinite(track.headings[i]) else None
                by_frame.setdefault(int(frame), []).append(PersonInput(
                    track_id, track.crops[i], tuple(int(v) for v in track.origins[i]),
                    tuple(int(v) for v in track.boxes[i]), heading, frame / recording.fps))
        estimates: list[list[PersonEstimate]] = [[] for _ in range(stop - start)]
        for frame in range(start, stop):
            people = by_frame.get(frame, [])
            for number, body in self.estimator.update_frame(people).items():
                estimates[frame - start].append(PersonEstimate(joints=body.joints, transl=body.transl, pose=body.pose,
                                                               betas=body.betas, track_id=tracks[number].track_id))
            for person in people:
                if last_frame[person.track_id] == frame:
                    self.estimator.drop(person.track_id)
        return estimates


def _crop_origin(box: np.ndarray, rows: int, cols: int, size: int = CROP_SIZE) -> tuple[int, int]:
    """Mat cell of crop pixel (0, 0) for ``crop_person``'s centred paste of ``box``, which it clips to the mat first."""
    x1, y1, x2, y2 = (int(v) for v in box)
    return crop_origin((max(x1, 0), max(y1, 0), min(x2, cols), min(y2, rows)), (size, size))


def _geometry_from_corners(corners: np.ndarray, rows: int, cols: int) -> MatGeometry:
    """The mat's placement from its corner list (origin corner, then along the columns)."""
    along_columns = corners[1] - corners[0]
    yaw = float(np.arctan2(along_columns[1], along_columns[0]))
    pitch = float(np.linalg.norm(along_columns)) / cols
    return MatGeometry(rows, cols, pitch, world_from_mat_pose(corners[0][0], corners[0][1], yaw))


BACKENDS["footprint"] = lambda args: FootprintBackend(args.body_model, args.people)


def _vertices(body: BodyLayer, pose: np.ndarray, betas: np.ndarray, transl: np.ndarray, batch: int = 256) -> np.ndarray:
    chunks = []
    with torch.inference_mode():
        for i in range(0, len(pose), batch):
            rotmats = axis_angle_to_matrix(torch.as_tensor(pose[i : i + batch], dtype=torch.float32).reshape(-1, 24, 3))
            chunks.append(body.vertices(torch.as_tensor(betas[i : i + batch], dtype=torch.float32), rotmats,
                                        torch.as_tensor(transl[i : i + batch], dtype=torch.float32)).cpu().numpy())
    return np.concatenate(chunks)


def body_vertex_count(body: BodyLayer) -> int:
    with torch.inference_mode():
        return int(body.vertices(torch.zeros(1, 10), torch.eye(3).repeat(1, 24, 1, 1), torch.zeros(1, 3)).shape[1])


def foot_vertex_ids(body: BodyLayer | None) -> np.ndarray:
    """The authors' SMPL heel/toe vertices for SMPL-topology bodies, else the body's sole vertices."""
    if body is None or body_vertex_count(body) == SMPL_VERTEX_COUNT or not hasattr(body, "sole_vertex_ids"):
        return np.asarray(SMPL_FOOT_VERTEX_IDS)
    return np.asarray(body.sole_vertex_ids())


PROTOCOLS = ("paper", "tracking")
# What the tracking protocol counts besides the metrics (units for format_table).
COUNT_UNITS = {"truth person-frames": "count", "missed person-frames": "count", "missed": "%",
               "spare person-frames": "count", "spare tracks": "count", "identity switches": "count"}
# Where the tracking protocol's WA-MPJPE100 (authors' chunk starts) comes from: each scored person-frame is in
# one class, first that applies: "wrong-person" (its track follows someone else in that frame: after a swap or
# a switch), "edge-padded" (estimated from a window padded past its track's ends), "other".  For each class,
# its person-frames and the mean of their per-frame WA errors, from the same chunks as the headline figure.
WA_CLASSES = ("wrong-person", "edge-padded", "other")
DECOMPOSITION_UNITS = {key: unit for name in WA_CLASSES
                       for key, unit in ((f"{name} person-frames", "count"), (f"WA-MPJPE100 {name} frames", "mm"))}
SUMMARY_UNITS = {**METRIC_UNITS, **COUNT_UNITS, **DECOMPOSITION_UNITS, "PVE vertices": "count", "joints": "count"}


def evaluate_backend(backend: Backend, recordings: list[Recording], ranges: list[list[tuple[int, int]]],
                     body: BodyLayer | None = None, protocol: str = "paper") -> tuple[dict[str, float], int]:
    """Metric means (units in ``SUMMARY_UNITS``) under ``protocol`` and the number of scored person-frames."""
    return evaluate_protocols(backend, recordings, ranges, body, (protocol,))[protocol]


def evaluate_protocols(backend: Backend, recordings: list[Recording], ranges: list[list[tuple[int, int]]],
                       body: BodyLayer | None = None, protocols: tuple[str, ...] = PROTOCOLS
                       ) -> dict[str, tuple[dict[str, float], int]]:
    """``evaluate_backend`` under each of ``protocols``, the backend run once."""
    unknown = set(protocols) - set(PROTOCOLS)
    if unknown:
        raise ValueError(f"unknown protocol {sorted(unknown)}: use {' or '.join(PROTOCOLS)}")
    if not recordings:
        raise ValueError("no recordings to evaluate")
    scorers = {name: _ProtocolScorer(name, recordings[0].fps, body, getattr(backend, "window_margins", (0, 0)))
               for name in protocols}
    first_key = 0  # frame keys unique over all recordings (the paper's per-frame averaging)
    for recording, file_ranges in zip(recordings, ranges):
        for start, stop in file_ranges:
            per_frame = backend.predict(recording, start, stop)
            if len(per_frame) != stop - start:
                raise ValueError(f"backend {backend.name} returned {len(per_frame)} frames for {stop - start}")
            for scorer in scorers.values():
                scorer.add_range(recording, start, stop, per_frame, first_key)
        first_key += recording.num_frames
    return {name: scorer.result() for name, scorer in scorers.items()}


class _ProtocolScorer:
    """Scores ranges of a backend's estimates under one protocol (see the module docstring)."""

    def __init__(self, protocol: str, fps: float, body: BodyLayer | None, window_margins: tuple[int, int]) -> None:
        self.protocol, self.body, self.window_margins = protocol, body, window_margins
        self.accumulator = MetricAccumulator(fps=fps, foot_vertex_ids=foot_vertex_ids(body),
                                             average="frames" if protocol == "paper" else "person-frames")
        self.vertex_count = body_vertex_count(body) if body is not None else 0
        self.counts = dict.fromkeys(COUNT_UNITS, 0)
        self.wa_classes: list[np.ndarray] = []  # tracking: the WA_CLASSES index of each scored person-frame
        self.joint_count = 24

    def add_range(self, recording: Recording, start: int, stop: int, per_frame: list[list[PersonEstimate]],
                  first_key: int) -> None:
        if self.protocol == "paper":
            self._add_paper(recording, start, stop, per_frame, first_key)
        else:
            self._add_tracking(recording, start, stop, per_frame, first_key)

    def _add_paper(self, recording: Recording, start: int, stop: int, per_frame: list[list[PersonEstimate]],
                   first_key: int) -> None:
        matched: dict[int, dict[int, PersonEstimate]] = {slot: {} for slot in range(recording.num_slots)}
        for frame, estimates in zip(range(start, stop), per_frame):
            estimates = [e for e in estimates if e.full_window]  # the authors have no edge-padded outputs
            slots = np.flatnonzero(recording.present[frame])
            if not estimates or len(slots) == 0:
                continue
            pairs = match_people(np.stack([e.joints for e in estimates]), recording.joints[frame, slots, :24])
            for pred_index, gt_index in pairs:
                matched[int(slots[gt_index])][frame] = estimates[pred_index]
        for slot, by_frame in matched.items():
            whole_segment = bool(recording.present[start:stop, slot].all())
            for low, high in present_runs(np.isin(np.arange(recording.num_frames), list(by_frame)), start, stop):
                self._add(recording, slot, [by_frame[f] for f in range(low, high)], low, high, first_key, whole_segment)

    def _add_tracking(self, recording: Recording, start: int, stop: int, per_frame: list[list[PersonEstimate]],
                      first_key: int) -> None:
        if any(e.track_id is None for estimates in per_frame for e in estimates):
            raise ValueError("the tracking protocol needs the track id of every estimate; this backend gives none")
        present = recording.present[start:stop]
        held = hold_identities([[e.track_id for e in estimates] for estimates in per_frame],
                               [np.stack([e.joints for e in estimates]) if estimates else np.zeros((0, 24, 3))
                                for estimates in per_frame],
                               present, recording.joints[start:stop, :, :24])
        for key, value in (("truth person-frames", int(present.sum())), ("missed person-frames", held.missed),
                           ("spare person-frames", held.spare), ("spare tracks", held.spare_tracks),
                           ("identity switches", held.switches)):
            self.counts[key] += value
        for slot in range(recording.num_slots):
            scored = [(start + i, per_frame[i][chosen[slot]], WA_CLASSES.index(
                          "wrong-person" if held.followed[i].get(chosen[slot]) != slot
                          else "other" if per_frame[i][chosen[slot]].full_window else "edge-padded"))
                      for i, chosen in enumerate(held.chosen) if slot in chosen]
            # Runs of consecutive frames scored by one track (frame - position is constant along a run).
            for _, run in groupby(enumerate(scored), key=lambda item: (item[1][0] - item[0], item[1][1].track_id)):
                frames, estimates, classes = zip(*(scored_frame for _, scored_frame in run))
                self._add(recording, slot, list(estimates), frames[0], frames[-1] + 1, first_key, True)
                self.wa_classes.append(np.array(classes))

    def _add(self, recording: Recording, slot: int, estimates: list[PersonEstimate], low: int, high: int,
             first_key: int, world_chunks: bool) -> None:
        sequence = _person_sequence(recording, slot, estimates, low, high, self.body, self.vertex_count)
        self.joint_count = max(self.joint_count, sequence.gt_joints.shape[1])
        self.accumulator.add(sequence, np.arange(low, high) + first_key, world_chunks)

    def result(self) -> tuple[dict[str, float], int]:
        summary = self.accumulator.summary()
        summary["joints"] = float(self.joint_count)
        if self.vertex_count:
            summary["PVE vertices"] = float(self.vertex_count)
        if self.protocol == "tracking":
            self.counts["missed"] = 100.0 * self.counts["missed person-frames"] / max(self.counts["truth person-frames"], 1)
            summary.update({k: float(v) for k, v in self.counts.items()})
            summary.update(self._wa_decomposition())
        return summary, self.accumulator.person_frames

    def _wa_decomposition(self) -> dict[str, float]:
        """Person-frames and mean WA-MPJPE100 (authors' chunk starts, mm) per class of ``WA_CLASSES``; the class
        means weighted by their person-frames give the summary's WA-MPJPE100."""
        chunks = self.accumulator.values.get("WA-MPJPE100", [])
        errors = np.concatenate(chunks)[:, 0] if chunks else np.zeros(0)
        classes = np.concatenate(self.wa_classes) if self.wa_classes else np.zeros(0, dtype=int)
        out = {}
        for index, name in enumerate(WA_CLASSES):
            picked = errors[classes == index]
            out[f"{name} person-frames"] = float(len(picked))
            out[f"WA-MPJPE100 {name} frames"] = float(picked.mean()) if len(picked) else float("nan")
        return out


def _person_sequence(recording: Recording, slot: int, estimates: list[PersonEstimate], low: int, high: int,
                     body: BodyLayer | None, vertex_count: int = 0) -> PersonSequence:
    """The scored sequence; with an SMPL-topology body and a file with a 25th keypoint, the authors' 25 joints
    (the predicted nose is SMPL's nose vertex)."""
    sequence = PersonSequence(
        pred_joints=np.stack([e.joints for e in estimates]), gt_joints=recording.joints[low:high, slot, :24],
        pred_transl=np.stack([e.transl for e in estimates]), gt_transl=recording.transl[low:high, slot])
    if body is not None and all(e.pose is not None and e.betas is not None for e in estimates):
        sequence.pred_vertices = _vertices(body, np.stack([e.pose for e in estimates]), np.stack([e.betas for e in estimates]), sequence.pred_transl)
        sequence.gt_vertices = _vertices(body, recording.pose[low:high, slot], recording.betas[low:high, slot], sequence.gt_transl)
        if vertex_count == SMPL_VERTEX_COUNT and recording.joints.shape[2] >= 25:
            sequence.pred_joints = np.concatenate([sequence.pred_joints, sequence.pred_vertices[:, SMPL_NOSE_VERTEX, None]], axis=1)
            sequence.gt_joints = recording.joints[low:high, slot, :25]
    return sequence


def format_table(summary: dict[str, float], person_frames: int, protocol: str = "paper") -> str:
    lines = [f"protocol: {protocol}", f"{'metric':<32}{'value':>10}  unit", "-" * 52]
    lines += [f"{name:<32}{value:>10.2f}  {SUMMARY_UNITS[name]}" for name, value in summary.items()]
    lines.append(f"{'scored person-frames':<32}{person_frames:>10d}")
    if summary.get("PVE vertices", SMPL_VERTEX_COUNT) != SMPL_VERTEX_COUNT:
        lines.append(f"PVE is on this body's {summary['PVE vertices']:.0f} vertices, not SMPL's {SMPL_VERTEX_COUNT}: "
                     "not comparable to the paper's PVE")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="presstrack-eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="HMR checkpoint (best.pt / last.pt)")
    source.add_argument("--backend", help="a registered backend name, e.g. footprint")
    p.add_argument("--data", nargs="+", required=True, help="directory of .npz recordings, or .npz files")
    p.add_argument("--split", default="unseen_sequence", help="unseen_sequence | subject_fold:K | corpus | split JSON file")
    p.add_argument("--part", choices=SPLIT_PARTS, default="test")
    p.add_argument("--people", choices=sorted(PEOPLE_SOURCES), default="ground-truth",
                   help="whose crops: ground-truth boxes (the paper's setting) or the pressure tracker's, end to end")
    p.add_argument("--protocol", choices=PROTOCOLS, default="paper",
                   help="paper: the authors' per-frame Hungarian pairing and averaging; tracking: identities held, "
                        "misses, spare tracks and switches counted (what the live graph delivers)")
    p.add_argument("--device", default="auto")
    p.add_argument("--body-model", type=Path, help="SMPL model file/folder (default: the embedded body; "
                                                   "required for MIP's SMPL labels)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--inference-path", choices=INFERENCE_PATHS, default="torch-float32",
                   help="run the network as this path of the live node does (torch-float32 is the reference)")
    p.add_argument("--json", type=Path, help="also write the metrics as JSON here")
    return p


def run_evaluation(args: argparse.Namespace, body: BodyLayer | None = None) -> tuple[dict[str, float], int]:
    """The metrics under ``args.protocol`` (see ``run_protocols``)."""
    protocol = getattr(args, "protocol", "paper")
    return run_protocols(args, (protocol,), body)[protocol]


def run_protocols(args: argparse.Namespace, protocols: tuple[str, ...] = PROTOCOLS,
                  body: BodyLayer | None = None) -> dict[str, tuple[dict[str, float], int]]:
    """Load the split, build the backend ``args`` name and score it under each protocol (the backend runs once)."""
    device = resolve_device(args.device)
    recordings, ranges = load_split(args.data, args.split)
    if body is None:
        require_body_model_for_smpl_labels(recordings, args.body_model)
        body = SMPLBodyLayer(args.body_model, device)
    if args.checkpoint is not None:
        net, _ = load_network(args.checkpoint, device)
        if args.inference_path != "torch-float32":
            net = build_inference(net, args.inference_path)
        backend: Backend = HMRBackend(net, body, args.batch_size, args.people)
    else:
        if args.backend not in BACKENDS:
            raise ValueError(f"backend {args.backend!r} is not available (registered: {sorted(BACKENDS) or 'none'})")
        backend = BACKENDS[args.backend](args)
    return evaluate_protocols(backend, recordings, ranges[args.part], body, protocols)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.json:
            check_writable_file(args.json, "--json")
        summary, person_frames = run_evaluation(args)
    except ValueError as error:
        print(f"presstrack-eval: error: {error}", file=sys.stderr)
        return 2
    print(format_table(summary, person_frames, args.protocol))
    if args.json:
        clean = {k: (None if math.isnan(v) else v) for k, v in summary.items()}
        args.json.write_text(json.dumps({"protocol": args.protocol, "metrics": clean, "units": SUMMARY_UNITS,
                                         "person_frames": person_frames}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
