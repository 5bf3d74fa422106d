"""Peer trackers fed our tracker's own per-frame person detections, so that only association differs.

`PressureTracker.update()` leaves its person detections, before identities, in `tracker.frame_detections`
(objects with `.box`, x1,y1,x2,y2 cells with exclusive ends, and `.force` [N]). Each peer here takes one
frame's boxes and answers the confirmed tracks of that frame as (track id, box):

- `UoETracker`: the PressTrack-HMR paper's tracker (shared/PAPER.md): ByteTrack's cascade with the UoE
  similarity |A u B| / |C| (C the box enclosing both), no motion prediction (a matched track takes the
  detection's box), lost tracks kept one frame, new tracks from confidence 0.9, match threshold 0.8 on the
  cost 1 - UoE * confidence. The paper's offline interpolation of missing boxes is not done: every tracker
  here is scored online.
- `LibraryPeer`: SORT, ByteTrack and OC-SORT of roboflow's `trackers` package (clean-room implementations,
  pinned in requirements.txt), with their published defaults at the scene's frame rate.

Every detection is given confidence 1: our detector emits people it has accepted, with no score a peer could
rank them by, so ByteTrack's low-score second stage never engages (its documented fallback to one stage).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

Box = tuple[float, float, float, float]

UOE_MATCH_COST = 0.8  # the paper's match threshold on 1 - UoE * confidence
UOE_NEW_TRACK_CONFIDENCE = 0.9
UOE_HIGH_CONFIDENCE = 0.5  # ByteTrack's split between its first (high) and second (low) association stage
UOE_LOW_MATCH_COST = 0.5  # ByteTrack's threshold for the second stage
UOE_LOST_FRAMES = 1  # the paper keeps a lost track one frame
DETECTION_CONFIDENCE = 1.0


def box_area(boxes: np.ndarray) -> np.ndarray:
    """(..., 4) x1,y1,x2,y2 with exclusive ends -> (...,) area in cells (0 for an empty box)."""
    return np.clip(boxes[..., 2] - boxes[..., 0], 0, None) * np.clip(boxes[..., 3] - boxes[..., 1], 0, None)


def uoe(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4), (M, 4) boxes -> (N, M) union over enclosing box: |A u B| / |C|, C the smallest box holding both
    (1 when one box contains the other, low when two boxes sit apart)."""
    a, b = np.asarray(a, dtype=float)[:, None, :], np.asarray(b, dtype=float)[None, :, :]
    inner = np.concatenate([np.maximum(a[..., :2], b[..., :2]), np.minimum(a[..., 2:], b[..., 2:])], axis=-1)
    outer = np.concatenate([np.minimum(a[..., :2], b[..., :2]), np.maximum(a[..., 2:], b[..., 2:])], axis=-1)
    union = box_area(a) + box_area(b) - box_area(inner)
    return union / np.maximum(box_area(outer), 1e-9)


@dataclass(eq=False)
class _UoETrack:
    track_id: int
    box: np.ndarray
    hits: int = 1
    missed: int = 0


class UoETracker:
    """The paper's UoE tracker (module docstring). `update(boxes, confidences)` -> confirmed [(id, box)] of this
    frame; a track is confirmed from its second consecutive match, as ByteTrack activates tracks."""

    def __init__(self) -> None:
        self.tracks: list[_UoETrack] = []
        self._next_id = 1

    def _associate(self, tracks: list[_UoETrack], boxes: np.ndarray, confidences: np.ndarray,
                   max_cost: float) -> tuple[list[tuple[_UoETrack, int]], list[_UoETrack], list[int]]:
        if not tracks or not len(boxes):
            return [], list(tracks), list(range(len(boxes)))
        cost = 1.0 - uoe(np.stack([t.box for t in tracks]), boxes) * confidences[None, :]
        pairs = [(r, c) for r, c in zip(*linear_sum_assignment(cost)) if cost[r, c] < max_cost]
        matched_rows, matched_cols = {r for r, _ in pairs}, {c for _, c in pairs}
        return ([(tracks[r], c) for r, c in pairs], [t for i, t in enumerate(tracks) if i not in matched_rows],
                [c for c in range(len(boxes)) if c not in matched_cols])

    def update(self, boxes: np.ndarray, confidences: np.ndarray) -> list[tuple[int, Box]]:
        boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        confidences = np.asarray(confidences, dtype=float).reshape(-1)
        high = np.flatnonzero(confidences >= UOE_HIGH_CONFIDENCE)
        low = np.flatnonzero(confidences < UOE_HIGH_CONFIDENCE)
        matched, unmatched_tracks, unmatched_high = self._associate(self.tracks, boxes[high], confidences[high],
                                                                    UOE_MATCH_COST)
        matched = [(track, high[c]) for track, c in matched]
        second, unmatched_tracks, _ = self._associate(unmatched_tracks, boxes[low], confidences[low], UOE_LOW_MATCH_COST)
        matched += [(track, low[c]) for track, c in second]
        for track, index in matched:
            track.box, track.hits, track.missed = boxes[index], track.hits + 1, 0  # no motion model: take the box
        survivors = [track for track, _ in matched]
        for track in unmatched_tracks:
            track.missed += 1
            if track.missed <= UOE_LOST_FRAMES:
                survivors.append(track)
        for index in high[unmatched_high]:
            if confidences[index] >= UOE_NEW_TRACK_CONFIDENCE:
                survivors.append(_UoETrack(self._next_id, boxes[index]))
                self._next_id += 1
        self.tracks = survivors
        return [(track.track_id, tuple(float(v) for v in track.box)) for track, _ in matched if track.hits >= 2]


class LibraryPeer:
    """A tracker of the `trackers` package ('sort', 'bytetrack', 'ocsort') behind the same update() as UoETracker.

    Its output boxes are the detections' own (the package returns the detections with their track ids); an
    immature track (id -1) is not reported."""

    NAMES = {"sort": "SORTTracker", "bytetrack": "ByteTrackTracker", "ocsort": "OCSORTTracker"}

    def __init__(self, name: str, fps: float) -> None:
        if name not in self.NAMES:
            raise ValueError(f"unknown peer {name!r}; known: {', '.join(self.NAMES)}")
        import supervision
        import trackers  # imported on use: it pulls in OpenCV

        self._detections = supervision.Detections
        self.tracker = getattr(trackers, self.NAMES[name])(frame_rate=float(fps))

    def update(self, boxes: np.ndarray, confidences: np.ndarray) -> list[tuple[int, Box]]:
        boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        detections = self._detections(xyxy=boxes, confidence=np.asarray(confidences, dtype=float).reshape(-1),
                                      class_id=np.zeros(len(boxes), dtype=int))
        result = self.tracker.update(detections)
        return [(int(track_id), tuple(float(v) for v in box))
                for track_id, box in zip(result.tracker_id, result.xyxy) if track_id >= 0]


PEERS = ("UoE", "SORT", "ByteTrack", "OC-SORT")


def make_peer(name: str, fps: float):
    """A fresh peer tracker by its table name (PEERS)."""
    if name == "UoE":
        return UoETracker()
    library = {"SORT": "sort", "ByteTrack": "bytetrack", "OC-SORT": "ocsort"}
    if name not in library:
        raise ValueError(f"unknown peer {name!r}; known: {', '.join(PEERS)}")
    return LibraryPeer(library[name], fps)


def detection_boxes(detections: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """One frame's `frame_detections` -> (boxes (N, 4) float, confidences (N,))."""
    boxes = np.array([d.box for d in detections], dtype=float).reshape(-1, 4)
    return boxes, np.full(len(boxes), DETECTION_CONFIDENCE)
