"""Frame in, tracked people out: `PressureTracker` (contact -> feet -> people with identities -> crops)
and `BaselineTracker` (nearest-centroid tracking of raw contact blobs, for comparison). Same interface:
`update(frame, stamp) -> list[TrackedPerson]`. All parameters: `TrackerConfig` (config.py).

Conventions are those of detection.py (boxes x1,y1,x2,y2 in cells with exclusive ends, x = column,
mat frame x along columns and y along rows, metres, radians).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .config import TrackerConfig
from .contact import DefectiveCells, NoiseFloor
from .crops import DEFAULT_CROP_SIZE, person_crop
from .detection import PersonDetection, detect_feet, person_detection, with_rim
from .motion import Track, TrackState
from .tracking import PeopleTracker

__all__ = ["BaselineTracker", "PressureTracker", "TooManyPeople", "TrackedPerson", "TrackerConfig", "TrackState"]

# Frame period assumed when stamps are missing or do not increase [s].
DEFAULT_DT = 1.0 / 15.0


@dataclass(frozen=True, eq=False)
class TrackedPerson:
    """One tracked person in one frame.

    box: x1,y1,x2,y2 [cells], exclusive ends (for a lost track: its last box); mask: (rows, cols) bool of
    this person's own cells (all False when lost); centroid_rc (row, col) [cells] and centroid_m (x, y)
    [m, mat frame]: centre of pressure (for a lost track: the motion prediction); heading [rad] about +z
    from +x in (-pi, pi], NaN if unknown; force [N]; contact_area [m^2]; crop (crop rows, crop cols) float32 [kPa]
    with only this person's cells; crop_origin (row, col): mat cell of crop pixel (0, 0); withheld: a confirmed
    person whose id is still provisional (a newcomer who may be somebody who left, not yet settled:
    `identity`). Offline files write every confirmed row (relabelled by `recognised`); a live consumer publishes a
    withheld person as tentative (`published_state`), so the id it sees confirmed is the settled one.
    """

    track_id: int
    state: TrackState
    confidence: float
    box: tuple[int, int, int, int]
    mask: np.ndarray
    centroid_rc: tuple[float, float]
    centroid_m: tuple[float, float]
    heading: float
    force: float
    contact_area: float
    crop: np.ndarray
    crop_origin: tuple[int, int]
    withheld: bool = False

    @property
    def published_state(self) -> TrackState:
        return TrackState.TENTATIVE if self.withheld else self.state


def _check_frame(frame: np.ndarray, expected_shape: tuple[int, int] | None) -> np.ndarray:
    """Validated float32 copy-free view of `frame`; ValueError on a wrong shape or a non-numeric type."""
    array = np.asarray(frame)
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"frame must be a non-empty 2-D (rows, cols) array, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"frame must be numeric, got dtype {array.dtype}")
    if expected_shape is not None and array.shape != expected_shape:
        raise ValueError(f"frame shape changed from {expected_shape} to {array.shape}")
    return array.astype(np.float32, copy=False)


class _FrameInput:
    """Shared frame handling: fixed shape after the first frame, non-finite cells zeroed and counted."""

    def __init__(self) -> None:
        self.shape: tuple[int, int] | None = None
        self.nonfinite_cells = 0   # total non-finite cells replaced by 0 so far
        self._last_stamp: float | None = None
        self._stamp_before: float | None = None

    def period(self, stamp: float | None) -> float:
        """[s] since the last frame's stamp; DEFAULT_DT when either is missing or time did not advance."""
        self._stamp_before = self._last_stamp
        if stamp is None or self._last_stamp is None or not stamp > self._last_stamp:
            dt = DEFAULT_DT
        else:
            dt = stamp - self._last_stamp
        if stamp is not None:
            self._last_stamp = stamp
        return dt

    def undo_period(self) -> None:
        """Forget the last stamp (its frame was skipped)."""
        self._last_stamp = self._stamp_before

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        array = _check_frame(frame, self.shape)
        self.shape = array.shape
        finite = np.isfinite(array)
        if not finite.all():
            self.nonfinite_cells += int(array.size - np.count_nonzero(finite))
            array = np.where(finite, array, np.float32(0.0))
        return array


def with_rims(plan, frame: np.ndarray, rim_threshold: float, cell_pitch: float, defective: np.ndarray) -> None:
    """Give each person of `plan` the rim of their contact (`detection.with_rim`) in their box and mask."""
    people = list(plan.matched.items())
    rims = with_rim([d for _, d in people] + plan.new_people, frame, rim_threshold, cell_pitch, defective)
    for (t, _), detection in zip(people, rims):
        plan.matched[t] = detection
    plan.new_people = rims[len(people):]


class TooManyPeople(ValueError):
    """A frame holds more people than a real floor can (a noise storm): it was not used for tracking."""

    def __init__(self, count: int, max_people: int) -> None:
        super().__init__(f"{count} people in one frame, at most {max_people} expected")
        self.count = count


class PressureTracker:
    """Contact from the frames' own noise floor, feet by construction, people from feet (detection.py,
    tracking.py), and per-person crops.

    After each update(), `frame_detections` holds this frame's person detections before identities
    (`PersonDetection`: .box x1,y1,x2,y2 in cells with exclusive ends, .force [N]), for trackers compared on
    the same detections. Lost tracks are reported with state LOST, their last box, an empty mask and a
    zero crop, unless config.report_lost is False; tentative tracks likewise unless config.report_tentative
    is False.
    """

    def __init__(self, config: TrackerConfig = TrackerConfig()) -> None:
        self.config = config
        self.noise_floor = NoiseFloor(config.contact_sigmas, config.min_contact_kpa, peak_share=config.min_contact_share)
        self.tracker = PeopleTracker(config)
        self.defects = DefectiveCells(config.stuck_time)
        self.frame_detections: list[PersonDetection] = []
        self._input = _FrameInput()

    def reconfigure(self, config: TrackerConfig) -> None:
        """Apply new settings without losing tracks, the noise estimate or used ids. first_id only
        raises the id counter (ids are never reused)."""
        self.config = self.tracker.config = config
        self.noise_floor.sigmas, self.noise_floor.min_kpa = config.contact_sigmas, config.min_contact_kpa
        self.noise_floor.peak_share = config.min_contact_share
        self.defects.stuck_time = config.stuck_time
        self.tracker.reserve_ids_below(config.first_id)

    @property
    def ids_issued(self) -> int:
        """Number of track ids handed out so far (tentative ones included)."""
        return self.tracker.next_id - self.tracker.first_id

    @property
    def nonfinite_cells(self) -> int:
        """Total number of NaN/Inf cells replaced by 0 so far."""
        return self._input.nonfinite_cells

    @property
    def recognised(self) -> dict[int, int]:
        """Newcomers of the last update() recognised as somebody who had left: their id while tentative -> the
        id they are confirmed under (an offline consumer relabels what it kept of them while tentative)."""
        return self.tracker.recognised

    @property
    def renamed(self) -> dict[int, int]:
        """Changes of a withheld person's id in the last update() (provisional -> known): the id before -> now."""
        return self.tracker.identities.renamed

    def update(self, frame: np.ndarray, stamp: float | None = None, max_people: int | None = None) -> list[TrackedPerson]:
        """Track one frame (rows, cols) [kPa, or any unit with min_contact_kpa 0] taken at `stamp` [s].

        A frame with more than `max_people` people (present after it) raises TooManyPeople and leaves every
        track as it was: the frame is skipped, as a dropped frame would be. Only the noise floor and the map of
        defective cells learn from it (a mat that turned noisier must be followed, or every frame after it would
        be a storm too). Deciding
        the frame touches no state (`PeopleTracker.plan`), so the check costs nothing.
        """
        cfg = self.config
        self.tracker.identities.start_frame(None)   # a frame skipped below recognises and renames nobody
        frame = self._input(frame)
        dt = self._input.period(stamp)
        threshold = self.noise_floor.update(frame, dt)
        feet = detect_feet(frame, threshold, cfg.cell_pitch, cfg.foot_gap, cfg.min_foot_area, cfg.foot_length_max,
                           self.defects, dt, self.noise_floor.rim_threshold(cfg.light_sigmas))
        plan = self.tracker.plan(feet, frame, dt)
        with_rims(plan, frame, self.noise_floor.rim_threshold(cfg.rim_sigmas), cfg.cell_pitch, self.defects.defective)
        self.frame_detections = plan.detections
        if max_people is not None:
            people = len(plan.detections)
            if people > max_people:
                self._input.undo_period()
                raise TooManyPeople(people, max_people)
        tracks = self.tracker.commit(plan, frame.shape)
        return [self._person(frame, track) for track in tracks if self._reported(track)]

    def _reported(self, track: Track) -> bool:
        if track.state == TrackState.LOST:
            return self.config.report_lost
        if track.state == TrackState.TENTATIVE:
            return self.config.report_tentative and track.frames_since_update == 0
        return True

    def _person(self, frame: np.ndarray, track: Track) -> TrackedPerson:
        detection = track.detection
        size = (self.config.crop_size, self.config.crop_size)
        heading = math.nan if track.heading is None else math.remainder(track.heading, 2.0 * math.pi)
        if track.frames_since_update == 0:
            crop, origin = person_crop(frame, detection.cells, detection.box, size)
            return TrackedPerson(track.track_id, track.state, track.confidence, detection.box, detection.mask,
                                 detection.centroid_rc, detection.centroid_m, heading, detection.force,
                                 detection.contact_area, crop, origin,
                                 track.state == TrackState.CONFIRMED and not track.identified)
        pitch = self.config.cell_pitch
        x, y = track.kalman.position
        crop, origin = person_crop(frame, np.zeros(0, dtype=np.int64), detection.box, size)
        return TrackedPerson(track.track_id, track.state, track.confidence, detection.box,
                             np.zeros(frame.shape, dtype=bool), (y / pitch - 0.5, x / pitch - 0.5), (float(x), float(y)),
                             heading, 0.0, 0.0, crop, origin)


@dataclass(eq=False)
class _BaselineTrack:
    track_id: int
    detection: PersonDetection
    frames_since_update: int = 0


class BaselineTracker:
    """Nearest-centroid tracking of raw contact blobs (no pieces joined into feet, no feet into people).

    Each 8-connected contact blob (contact as `PressureTracker` finds it) is one 'person'; blobs are
    assigned to the previous frame's blobs by the Hungarian algorithm on centroid distance, gated at
    `gate` [m]; an unmatched blob starts a new id at once; a track unmatched for more than `max_age` frames
    is dropped. Exists to show what feet and people buy. Its heading is the blob's axis.
    """

    def __init__(self, config: TrackerConfig = TrackerConfig(), gate: float = 0.5, max_age: int = 15,
                 first_id: int = 1, crop_size: tuple[int, int] = DEFAULT_CROP_SIZE) -> None:
        self.config = config
        self.noise_floor = NoiseFloor(config.contact_sigmas, config.min_contact_kpa, peak_share=config.min_contact_share)
        self.gate = gate
        self.max_age = max_age
        self.crop_size = crop_size
        self.tracks: list[_BaselineTrack] = []
        self._next_id = first_id
        self._input = _FrameInput()

    @property
    def nonfinite_cells(self) -> int:
        return self._input.nonfinite_cells

    def update(self, frame: np.ndarray, stamp: float | None = None) -> list[TrackedPerson]:
        """Track one frame (rows, cols) [kPa] taken at `stamp` [s]."""
        cfg = self.config
        frame = self._input(frame)
        threshold = self.noise_floor.update(frame, self._input.period(stamp))
        blobs = detect_feet(frame, threshold, cfg.cell_pitch, 0.0, cfg.min_foot_area)
        detections = [person_detection([blob], frame.shape, cfg.cell_pitch) for blob in blobs]
        matched_tracks: set[int] = set()
        matched_detections: set[int] = set()
        if self.tracks and detections:
            centres_t = np.array([t.detection.centroid_m for t in self.tracks])
            centres_d = np.array([d.centroid_m for d in detections])
            distance = np.linalg.norm(centres_t[:, None, :] - centres_d[None, :, :], axis=2)
            for r, c in zip(*linear_sum_assignment(distance)):
                if distance[r, c] <= self.gate:
                    self.tracks[r].detection = detections[c]
                    matched_tracks.add(r)
                    matched_detections.add(c)
        survivors = []
        for r, track in enumerate(self.tracks):
            track.frames_since_update = 0 if r in matched_tracks else track.frames_since_update + 1
            if track.frames_since_update <= self.max_age:
                survivors.append(track)
        survivors += [_BaselineTrack(self._next_id + k, d)
                      for k, d in enumerate(d for c, d in enumerate(detections) if c not in matched_detections)]
        self._next_id += len(detections) - len(matched_detections)
        self.tracks = survivors
        people = []
        for track in self.tracks:
            if track.frames_since_update:
                continue
            d = track.detection
            crop, origin = person_crop(frame, d.cells, d.box, self.crop_size)
            heading = d.foot_axis
            people.append(TrackedPerson(track.track_id, TrackState.CONFIRMED, d.confidence, d.box, d.mask, d.centroid_rc,
                                        d.centroid_m, heading, d.force, d.contact_area, crop, origin))
        return people
