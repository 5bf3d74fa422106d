"""Frame in, tracked people out: `PressureTracker` (footprint grouping + tracking + crops) and
`BaselineTracker` (nearest-centroid tracking of raw blobs, for comparison). Same interface:
`update(frame, stamp) -> list[TrackedPerson]`.

Conventions are those of detection.py (boxes x1,y1,x2,y2 in cells with exclusive ends, x = column,
mat frame x along columns and y along rows, metres, radians).
"""
from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from .crops import DEFAULT_CROP_SIZE, person_crop
from .detection import (DetectionConfig, FootHint, FootprintDetector, GroupingPrior, NoiseFloor, PersonDetection, TrackHint,
                        detect_blobs, person_from_feet)
from .tracking import AssociationConfig, FootprintTracker, Track, TrackState


@dataclass(frozen=True)
class TrackerConfig:
    """Settings of `PressureTracker` (the ROS node's parameters map onto the first fields).

    crop_size: side of the square person crop [cells]; min_hits: consecutive frames before a track is
    confirmed; max_age: frames a confirmed track survives without footprints; cell_pitch [m];
    first_id: first track id handed out (a restarted node passes a value above the ids it used);
    report_lost / report_tentative: whether update() returns lost / tentative tracks;
    detection / association: the remaining knobs (their cell_pitch, min_hits, max_age and first_id are
    overridden by the fields above).
    """

    crop_size: int = 128
    min_hits: int = 3
    max_age: int = 45
    cell_pitch: float = 0.01
    first_id: int = 1
    report_lost: bool = True
    report_tentative: bool = True
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    association: AssociationConfig = field(default_factory=AssociationConfig)

    def __post_init__(self) -> None:
        for name in ("crop_size", "min_hits", "first_id"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.max_age, int) or isinstance(self.max_age, bool) or self.max_age < 0:
            raise ValueError(f"max_age must be an integer >= 0, got {self.max_age!r}")
        if not (isinstance(self.cell_pitch, (int, float)) and math.isfinite(self.cell_pitch) and self.cell_pitch > 0):
            raise ValueError(f"cell_pitch must be a positive number of metres, got {self.cell_pitch!r}")

    @property
    def detection_config(self) -> DetectionConfig:
        return dataclasses.replace(self.detection, cell_pitch=float(self.cell_pitch))

    @property
    def association_config(self) -> AssociationConfig:
        return dataclasses.replace(self.association, min_hits=self.min_hits, max_age=self.max_age, first_id=self.first_id)


@dataclass(frozen=True, eq=False)
class TrackedPerson:
    """One tracked person in one frame.

    box: x1,y1,x2,y2 [cells], exclusive ends (for a lost track: its last box); mask: (rows, cols) bool of
    this person's own cells (all False when lost); centroid_rc (row, col) [cells] and centroid_m (x, y)
    [m, mat frame]: centre of pressure (for a lost track: the motion prediction); heading [rad] about +z
    from +x in (-pi, pi], NaN if unknown; force [N]; contact_area [m^2]; crop (crop rows, crop cols) float32 [kPa]
    with only this person's cells; crop_origin (row, col): mat cell of crop pixel (0, 0).
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

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        array = _check_frame(frame, self.shape)
        self.shape = array.shape
        finite = np.isfinite(array)
        if not finite.all():
            self.nonfinite_cells += int(array.size - np.count_nonzero(finite))
            array = np.where(finite, array, np.float32(0.0))
        return array


class TooManyPeople(ValueError):
    """A frame holds more people than a real floor can (a noise storm): it was not used for tracking."""

    def __init__(self, count: int, max_people: int) -> None:
        super().__init__(f"{count} people in one frame, at most {max_people} expected")
        self.count = count


class PressureTracker:
    """Footprint detection with a track prior, tracking and per-person crops.

    Lost tracks (no footprint this frame) are reported with state LOST, their last box, an empty mask
    and a zero crop, unless config.report_lost is False; tentative tracks likewise unless
    config.report_tentative is False.

    After each update(), `frame_detections` holds this frame's person detections before identities
    (`PersonDetection`: .box x1,y1,x2,y2 in cells with exclusive ends, .force [N]), so that other trackers
    can be compared on the same detections.
    """

    def __init__(self, config: TrackerConfig = TrackerConfig()) -> None:
        self.config = config
        self.detector = FootprintDetector(config.detection_config)
        self.tracker = FootprintTracker(config.association_config)
        self._input = _FrameInput()
        self._owner: np.ndarray | None = None
        self.frame_detections: list[PersonDetection] = []

    def reconfigure(self, config: TrackerConfig) -> None:
        """Apply new settings without losing tracks, the noise estimate or used ids. first_id only
        raises the id counter (ids are never reused)."""
        self.config = config
        self.detector.config = self.detector.noise_floor.config = config.detection_config
        self.tracker.config = config.association_config
        self.tracker.reserve_ids_below(config.first_id)

    @property
    def ids_issued(self) -> int:
        """Number of track ids handed out so far (tentative ones included)."""
        return self.tracker.next_id - self.tracker.first_id

    @property
    def nonfinite_cells(self) -> int:
        """Total number of NaN/Inf cells replaced by 0 so far."""
        return self._input.nonfinite_cells

    def _prior(self, shape: tuple[int, int]) -> GroupingPrior:
        """The previous frame's matched tracks: their feet's cells painted into an owner image, and hints."""
        if self._owner is None or self._owner.shape != shape:
            self._owner = np.zeros(shape, dtype=np.int32)
        else:
            self._owner.fill(0)
        owner = self._owner.ravel()
        feet, hints = [], []
        min_frames = self.tracker.config.weight_min_frames
        for track in self.tracker.tracks:
            if track.frames_since_update == 0:
                hints.append(TrackHint(track.track_id, tuple(track.path_point_m), track.heading,
                                       tuple((float(x), float(y)) for x, y in track.detection.feet_centroids_m),
                                       track.weight_n if track.weighed_frames >= min_frames else 0.0))
                for foot in track.detection.feet:
                    feet.append(FootHint(track.track_id, foot.origin_rc, foot.age, foot.force, foot.cells.size))
                    owner[foot.cells] = len(feet)
        return GroupingPrior(self._owner, tuple(feet), tuple(hints))

    def update(self, frame: np.ndarray, stamp: float | None = None, max_people: int | None = None) -> list[TrackedPerson]:
        """Track one frame (rows, cols) [kPa] taken at `stamp` [s]; returns the reported tracks.

        A frame with more than `max_people` people (live tracks after it) raises TooManyPeople and leaves
        every track as it was: the frame is skipped, as a dropped frame would be, and identities survive it.
        """
        frame = self._input(frame)
        detections = self.detector(frame, self._prior(frame.shape))
        self.frame_detections = detections
        # Only a frame with many detections can hold too many people; only then is the state worth keeping.
        before = copy.deepcopy(self.tracker) if max_people is not None and len(detections) > max_people else None
        tracks = self.tracker.update(detections, stamp)
        if before is not None:
            people = sum(track.state != TrackState.LOST and self._reported(track) for track in tracks)
            if people > max_people:
                self.tracker = before
                raise TooManyPeople(people, max_people)
        return [self._person(frame, track) for track in tracks if self._reported(track)]

    def _reported(self, track: Track) -> bool:
        if track.state == TrackState.LOST:
            return self.config.report_lost
        if track.state == TrackState.TENTATIVE:
            return self.config.report_tentative
        return True

    def _person(self, frame: np.ndarray, track: Track) -> TrackedPerson:
        detection = track.detection
        size = (self.config.crop_size, self.config.crop_size)
        heading = math.nan if track.heading is None else math.remainder(track.heading, 2.0 * math.pi)
        if track.frames_since_update == 0:
            crop, origin = person_crop(frame, detection.cells, detection.box, size)
            return TrackedPerson(track.track_id, track.state, track.confidence, detection.box, detection.mask,
                                 detection.centroid_rc, detection.centroid_m, heading, detection.force,
                                 detection.contact_area, crop, origin)
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
    """Nearest-centroid tracking of raw contact blobs (no pad merging, no footprint grouping).

    Each 8-connected blob above the adaptive noise floor is one 'person'; blobs are assigned to the
    previous frame's blobs by the Hungarian algorithm on centroid distance, gated at `gate` [m]; an
    unmatched blob starts a new id at once; a track unmatched for more than `max_age` frames is dropped.
    Exists to show what footprint grouping and the tracking cost buy. Its heading is the blob's
    undirected axis (NaN for round blobs).
    """

    def __init__(self, detection_config: DetectionConfig = DetectionConfig(), gate: float = 0.5, max_age: int = 15,
                 first_id: int = 1, crop_size: tuple[int, int] = DEFAULT_CROP_SIZE) -> None:
        self.config = detection_config
        self.noise_floor = NoiseFloor(detection_config)
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
        """Track one frame (rows, cols) [kPa]; `stamp` is accepted for interface parity and unused."""
        frame = self._input(frame)
        blobs = detect_blobs(frame, self.noise_floor.update(frame), self.config)
        detections = [person_from_feet([blob], frame.shape, self.config) for blob in blobs]
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
            heading = math.nan if d.foot_axis is None else d.foot_axis
            people.append(TrackedPerson(track.track_id, TrackState.CONFIRMED, d.confidence, d.box, d.mask, d.centroid_rc,
                                        d.centroid_m, heading, d.force, d.contact_area, crop, origin))
        return people
