"""Multi-person tracking of footprint detections, in the spirit of SORT / ByteTrack.

Per frame (`FootprintTracker.update`):
1. every track predicts its centre of pressure with a constant-velocity Kalman filter;
2. high-confidence detections are assigned to tracks by the Hungarian algorithm on a cost that
   combines footprint continuity (the detection's feet overlap the track's cells of the previous
   frame: feet do not move during stance), UoE box similarity (see `uoe`) weighted by detection
   confidence, and distance to the predicted centre; pairs farther than a gate are never matched;
3. ByteTrack second pass: low-confidence detections may continue still-unmatched tracks, never start one;
4. unmatched confident detections start tentative tracks, confirmed after `min_hits` consecutive hits;
   unmatched confirmed tracks become 'lost' (a swing phase, a turn on the mat's edge, a foot below the
   threshold) and are deleted after `max_age` frames; a lost track stops where it was last seen
   (footprints do not coast) and matches on distance alone, on a scale growing with the time lost, but
   never feet that continue another track's footprints;
   ids come from a monotonic counter and are never handed to another person;
5. re-identification (`_identify`): a deleted track's body signature (weight and foot length,
   `BodySignature`) is kept in a gallery of departed people for `reid_memory` seconds. When a young
   track's own signature is first trusted (within `reid_wait` seconds of its birth: about a second
   for a person walking onto the mat), it is compared with the departed people and the lost tracks;
   if exactly one of them matches, clearly better than everybody else, departed, lost or present, the
   young track takes that person's id (a lost one is dropped: the person lives on in the young track).
   Live, a returning person so appears under a new id for about a second, then under their old one;
   the new id is retired, never handed to anyone else, and a track is re-labelled at most once;
6. swap repair (`_repair_swaps`): two confirmed tracks that exchanged their people (feet given to the
   wrong person while they stood close) exchange their ids back once each one's recent weight fits the
   other's identity weight clearly better than its own.

Differences from PressTrack-HMR's tracker (identity "Kalman", UoE * confidence cost, 1-frame buffer):
the motion model here is a real constant-velocity filter on the centre of pressure, which moves
smoothly heel to toe and foot to foot even when the box jumps; the cost adds footprint continuity,
which the paper's box-only tracker cannot see; lost tracks live max_age frames, not 1.

Boxes are x1,y1,x2,y2 in cells with exclusive ends (see detection.py); centres are in metres.
"""
from __future__ import annotations

import functools
import itertools
import math
import statistics
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from scipy.optimize import linear_sum_assignment

from .detection import PersonDetection

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

    UoE = |A ∪ B| / |C|, with C the smallest axis-aligned box enclosing A and B and |A ∪ B| =
    |A| + |B| - |A ∩ B|. Since GIoU = IoU - (|C| - |A ∪ B|) / |C|, UoE = 1 + GIoU - IoU.

    Why not IoU: a walking person's box jumps between one foot and two feet. When a one-foot box grows
    into a two-foot box that contains it, IoU falls (to the area ratio) but UoE stays 1 because the
    enclosure is the union. Footprints of different people do not overlap, so their enclosing box is
    mostly empty floor and UoE is low. Returns 0 when C is empty.
    """
    inter = box_area((max(box_a[0], box_b[0]), max(box_a[1], box_b[1]), min(box_a[2], box_b[2]), min(box_a[3], box_b[3])))
    union = box_area(box_a) + box_area(box_b) - inter
    enclosure = box_area((min(box_a[0], box_b[0]), min(box_a[1], box_b[1]), max(box_a[2], box_b[2]), max(box_a[3], box_b[3])))
    return union / enclosure if enclosure > 0 else 0.0


class TrackState(IntEnum):
    """Values match presstrack_msgs/PersonPressure STATE_*."""

    TENTATIVE = 0
    CONFIRMED = 1
    LOST = 2


@dataclass(frozen=True)
class AssociationConfig:
    """Association and life-cycle parameters (frames, metres, seconds)."""

    min_hits: int = 3                     # consecutive matched frames before a track is confirmed
    max_age: int = 45                     # frames a confirmed track may stay unmatched ('lost') before deletion
    first_id: int = 1                     # first id handed out (a restarted node starts above ids already used)
    high_confidence: float = 0.5          # detections below take part only in the second pass
    new_track_confidence: float = 0.6     # a detection must be at least this confident to start a track
    min_similarity: float = 0.25          # pairs with combined similarity below are not matched
    weight_overlap: float = 0.4           # similarity = w_o * continuity + w_u * UoE * conf + w_m * motion
    weight_uoe: float = 0.3
    weight_motion: float = 0.3
    motion_scale: float = 0.35            # [m] distance to the prediction at which the motion term is exp(-1/2)
    gate: float = 0.9                     # [m] never match farther than this from the prediction ...
    gate_growth: float = 1.5              # [m/s] ... plus this much per second a track has been lost
    default_dt: float = 1.0 / 15.0        # [s] frame period used when stamps are missing or not increasing
    acceleration_noise: float = 4.0       # [m/s^2] Kalman process noise (white acceleration)
    measurement_noise: float = 0.05       # [m] std of the measured centre of pressure
    min_heading_speed: float = 0.15       # [m/s] slower than this, motion does not decide the heading
    lost_similarity: float = 0.9          # similarity of a lost track to a detection where it was last seen
    path_reset_distance: float = 0.6      # [m] a one-foot detection this far from the track's path point replaces it
    weight_window: int = 45               # frames: the body weight is the median force over the last this many
    weight_min_frames: int = 15           # frames matched before the body weight is trusted
    swap_window: int = 15                 # frames: a track's recent weight (median force) for swap repair, ...
    identity_window: int = 225            # ... compared with its identity weight over up to this many frames before
    identity_min_frames: int = 60         # ... once that rests on at least this many frames
    identity_stability: float = 0.05      # identity weight counts only if the halves of its window agree this well (log)
    swap_margin: float = 0.08             # (log) the swapped fit must beat the current one by this, and the identity
                                          # weights of the two differ by this: people of like weight are never swapped
    swap_fit: float = 0.07                # (log) ... and each recent weight is within this of the other's identity weight
    swap_check_interval: int = 5          # frames between swap checks (each costs medians of every track's forces)
    foot_window: int = 90                 # feet: the foot length is a high quantile over the last this many
    reid_memory: float = 60.0             # [s] a departed person's signature is kept this long
    reid_wait: float = 3.0                # [s] a track may take a departed or lost person's id only this young
    reid_weight_sigma: float = 0.03       # relative error of two weight estimates compared (15 vs 45 frames)
    reid_foot_sigma: float = 0.012        # [m] error of two foot length estimates compared
    reid_max_distance: float = 2.5        # signatures farther apart (in those errors) are different people ...
    reid_min_margin: float = 2.0          # ... and the best match must be this much closer than any other person
    reid_takeover: float = 0.05           # (log) a present track whose last weight_min_frames forces weigh this much off
                                          # its signature took over somebody else's feet (`Track.competing_signatures`)


@functools.lru_cache(maxsize=64)
def _motion_model(dt: float, acceleration_noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Transition and process noise of the constant-velocity model over dt [s] (cached: dt repeats)."""
    transition = np.eye(4)
    transition[0, 2] = transition[1, 3] = dt
    # Discrete white-noise acceleration model, per axis [[dt^4/4, dt^3/2], [dt^3/2, dt^2]] * q^2.
    q = acceleration_noise**2
    noise = np.zeros((4, 4))
    noise[[0, 1], [0, 1]] = q * dt**4 / 4
    noise[[2, 3], [2, 3]] = q * dt**2
    noise[[0, 1, 2, 3], [2, 3, 0, 1]] = q * dt**3 / 2
    transition.flags.writeable = False
    noise.flags.writeable = False
    return transition, noise


class ConstantVelocityKalman:
    """Kalman filter on state (x, y, vx, vy) [m, m/s] with position measurements (x, y) [m]."""

    def __init__(self, position: np.ndarray, acceleration_noise: float, measurement_noise: float) -> None:
        self.state = np.array([position[0], position[1], 0.0, 0.0])
        self.covariance = np.diag([measurement_noise**2, measurement_noise**2, 1.0, 1.0])
        self.acceleration_noise = acceleration_noise
        self.measurement_variance = measurement_noise**2

    def predict(self, dt: float) -> np.ndarray:
        """Advance by dt [s]; return the predicted position (x, y)."""
        transition, noise = _motion_model(dt, self.acceleration_noise)
        self.state = transition @ self.state
        self.covariance = transition @ self.covariance @ transition.T + noise
        return self.state[:2].copy()

    def update(self, position: np.ndarray) -> None:
        """Correct with a measured position (x, y) [m]."""
        (a, b), (c, d) = self.covariance[:2, :2] + np.eye(2) * self.measurement_variance
        # Closed-form inverse of the 2x2 innovation covariance (positive definite: det > 0).
        inverse = np.array([[d, -b], [-c, a]]) / (a * d - b * c)
        gain = self.covariance[:, :2] @ inverse
        self.state = self.state + gain @ (np.asarray(position) - self.state[:2])
        self.covariance = self.covariance - gain @ self.covariance[:2, :]

    def hold(self, position: np.ndarray) -> None:
        """Stop at `position` (x, y) [m]: zero velocity, position kept as uncertain as it was."""
        self.state = np.array([position[0], position[1], 0.0, 0.0])
        self.covariance[2:, :] = 0.0
        self.covariance[:, 2:] = 0.0
        self.covariance[2, 2] = self.covariance[3, 3] = 1.0

    @property
    def position(self) -> np.ndarray:
        return self.state[:2].copy()

    @property
    def velocity(self) -> np.ndarray:
        return self.state[2:].copy()


@dataclass(frozen=True)
class BodySignature:
    """What a person's footprints tell about their body, to recognise them when they come back.

    weight_n [N]: median force of the track's detections clear of the mat's edge (see `Track`);
    foot_length_m [m]: the 90 % quantile of its feet's lengths (a foot shows its whole sole only in mid-stance, less at heel strike and push-off;
    not the maximum, which catches the odd frame where a foot merged with another blob).
    """

    weight_n: float
    foot_length_m: float

    def distance(self, other: BodySignature, config: AssociationConfig) -> float:
        """Distance to `other` in estimation errors: weight as a ratio (errors scale with weight), foot length
        in metres."""
        weight = math.log(self.weight_n / other.weight_n) / config.reid_weight_sigma
        foot = (self.foot_length_m - other.foot_length_m) / config.reid_foot_sigma
        return math.hypot(weight, foot)


@dataclass(frozen=True)
class DepartedPerson:
    """A person who left the mat: their last track id, signature and when they left [s, tracker clock]."""

    track_id: int
    signature: BodySignature
    departed_at: float


@dataclass(eq=False)
class Track:
    """One tracked person. `detection` is the last matched detection; `frames_since_update` counts
    frames without a match (0 = matched this frame); weight_n [N]: body weight estimate, the median
    force of the last weight_window matched detections (`recent_forces`, a deque of that length; a
    person's feet carry their weight at every instant, also while walking). The median, not the mean: a
    detection that also held a neighbour's foot, or lost one of its own, for a few frames must not shift
    the weight that grouping uses to undo exactly such mistakes. `identity_forces` holds the forces of up
    to identity_window + swap_window detections for swap repair: unlike `recent_forces` (what these feet
    weigh, for grouping) it belongs to the id and moves with it (`FootprintTracker._repair_swaps`). The
    body signature for re-identification (`signature`) has its own forces and foot lengths (`signature_forces`, the last weight_window, and
    `foot_lengths`, the last foot_window feet) that leave out detections touching the mat's edge: part of
    the person may stand off the mat. Grouping keeps weighing them (it needs a weight soon after a person
    steps on, and on a crossing at the edge). born_at [s, tracker clock]: when the track started; identified: whether it
    has been compared with the departed and lost people (once, see `FootprintTracker._identify`)."""

    track_id: int
    state: TrackState
    kalman: ConstantVelocityKalman
    detection: PersonDetection
    hits: int = 1
    frames_since_update: int = 0
    seconds_since_update: float = 0.0
    heading: float | None = None
    path_point_m: np.ndarray = field(default_factory=lambda: np.zeros(2))
    recent_forces: deque[float] = field(default_factory=deque)
    identity_forces: deque[float] = field(default_factory=deque)
    signature_forces: deque[float] = field(default_factory=deque)
    foot_lengths: deque[float] = field(default_factory=deque)
    born_at: float = 0.0
    identified: bool = False

    @property
    def weight_n(self) -> float:
        """[N] median of `recent_forces`; 0 before any."""
        return statistics.median(self.recent_forces) if self.recent_forces else 0.0

    @property
    def weighed_frames(self) -> int:
        """Number of forces the weight estimate rests on (at most weight_window)."""
        return len(self.recent_forces)

    def signature(self, min_frames: int) -> BodySignature | None:
        """The body signature once it rests on at least min_frames detections clear of the edge, else None."""
        if len(self.signature_forces) < min_frames:
            return None
        lengths = sorted(self.foot_lengths)
        return BodySignature(statistics.median(self.signature_forces), lengths[int(0.9 * (len(lengths) - 1))])

    def competing_signatures(self, min_frames: int, takeover: float) -> list[BodySignature]:
        """Whom a present track may stand for, as a competitor of a departed or lost person in
        re-identification (`FootprintTracker._recognise`): the person whose id it carries (the median of its
        identity forces) and the person it holds now (its signature). The latter's weight is that of the last
        min_frames forces alone when their median is more than `takeover` (log) off the whole window's: the
        track then took over somebody else's feet within its window, whose median describes nobody present.
        Empty until the signature rests on min_frames detections."""
        signature = self.signature(min_frames)
        if signature is None:
            return []
        owner = BodySignature(statistics.median(self.identity_forces), signature.foot_length_m)
        recent = statistics.median(itertools.islice(self.signature_forces, len(self.signature_forces) - min_frames, None))
        if abs(math.log(recent / signature.weight_n)) > takeover:
            signature = BodySignature(recent, signature.foot_length_m)
        return [owner, signature]

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.detection.box

    @property
    def confidence(self) -> float:
        """Last detection confidence, halved for every frame the track has been unmatched."""
        return self.detection.confidence * 0.5**self.frames_since_update


def _heading(axis: float | None, velocity: np.ndarray, previous: float | None, min_speed: float,
             toe: float | None = None) -> float | None:
    """Walking direction [rad]: the feet axis pointed along the motion, or along the previous heading when
    slow, or, with neither (a person standing since they were first seen), along the feet's heel -> toe
    direction `toe`; the motion direction when no foot is elongated enough to have an axis."""
    speed = float(np.hypot(*velocity))
    motion = math.atan2(velocity[1], velocity[0]) if speed >= min_speed else None
    if axis is None:
        return motion if motion is not None else previous
    reference = motion if motion is not None else previous if previous is not None else toe
    if reference is None:
        return axis
    flipped = axis + math.pi if axis <= 0 else axis - math.pi
    return axis if abs(math.remainder(axis - reference, 2 * math.pi)) <= math.pi / 2 else flipped


def _record_body(track: Track, detection: PersonDetection) -> None:
    """Add the detection's force to the track's weight and, unless it touches the mat's edge (part of the
    person may stand off the mat), its force and foot lengths to the track's signature."""
    track.recent_forces.append(detection.force)
    track.identity_forces.append(detection.force)
    if not detection.touches_edge:
        track.signature_forces.append(detection.force)
        track.foot_lengths.extend(foot.length for foot in detection.feet)


class FootprintTracker:
    """SORT/ByteTrack-style tracker of `PersonDetection`s (see the module docstring)."""

    def __init__(self, config: AssociationConfig = AssociationConfig()) -> None:
        self.config = config
        self.tracks: list[Track] = []
        self.departed: list[DepartedPerson] = []   # the re-identification gallery, oldest first
        self._next_id = config.first_id
        self._first_id = config.first_id
        self._last_stamp: float | None = None
        self._clock = 0.0   # [s] sum of the frame periods so far
        self._frames = 0    # frames seen (swap checks run every swap_check_interval-th)

    @property
    def next_id(self) -> int:
        """The id the next new track will get (persist it to restart above the ids already used)."""
        return self._next_id

    @property
    def first_id(self) -> int:
        return self._first_id

    def reserve_ids_below(self, first_id: int) -> None:
        """Never hand out ids below first_id from now on (the counter only moves up)."""
        self._next_id = max(self._next_id, first_id)

    def _dt(self, stamp: float | None) -> float:
        if stamp is None or self._last_stamp is None or not stamp > self._last_stamp:
            dt = self.config.default_dt
        else:
            dt = stamp - self._last_stamp
        if stamp is not None:
            self._last_stamp = stamp
        return dt

    def similarity(self, track: Track, predicted: np.ndarray, detection: PersonDetection) -> float:
        """Combined similarity in [0, 1] of `detection` to `track`; 0 outside the motion gate."""
        cfg = self.config
        distance = math.hypot(detection.centroid_m[0] - predicted[0], detection.centroid_m[1] - predicted[1])
        if distance > cfg.gate + cfg.gate_growth * track.seconds_since_update:
            return 0.0
        continuity = 1.0 if detection.prior_track_id == track.track_id else 0.0
        motion = math.exp(-0.5 * (distance / cfg.motion_scale) ** 2)
        similarity = (cfg.weight_overlap * continuity + cfg.weight_uoe * uoe(detection.box, track.box) * detection.confidence
                      + cfg.weight_motion * motion)
        if track.frames_since_update and detection.prior_track_id in (None, track.track_id):
            # A lost track has no footprints to continue and its box may be stale: distance to where it was
            # last seen also counts, on a scale that grows with the time it has been gone; capped below a
            # live track's best. Never for feet that continue another track's footprints: they are that
            # person's, however far their centre jumped (a long stride), and a lost person nearby cannot take them.
            scale = cfg.motion_scale + 0.5 * cfg.gate_growth * track.seconds_since_update
            similarity = max(similarity, cfg.lost_similarity * math.exp(-0.5 * (distance / scale) ** 2))
        return similarity

    def _assign(self, tracks: list[Track], predictions: list[np.ndarray], detections: list[PersonDetection]
                ) -> tuple[list[tuple[Track, PersonDetection]], list[Track], list[PersonDetection]]:
        """Hungarian assignment maximising similarity; pairs below min_similarity are rejected."""
        if not tracks or not detections:
            return [], list(tracks), list(detections)
        sim = np.array([[self.similarity(t, p, d) for d in detections] for t, p in zip(tracks, predictions)])
        rows, cols = linear_sum_assignment(-sim)
        matches = [(tracks[r], detections[c]) for r, c in zip(rows, cols) if sim[r, c] >= self.config.min_similarity]
        matched_tracks = {id(t) for t, _ in matches}
        matched_detections = {id(d) for _, d in matches}
        return (matches, [t for t in tracks if id(t) not in matched_tracks],
                [d for d in detections if id(d) not in matched_detections])

    def _apply(self, track: Track, detection: PersonDetection) -> None:
        cfg = self.config
        track.kalman.update(np.asarray(detection.centroid_m))
        track.detection = detection
        was_lost = track.frames_since_update > 0
        track.hits = track.hits + 1 if track.frames_since_update == 0 else 1
        track.frames_since_update = 0
        track.seconds_since_update = 0.0
        if len(detection.feet) == 2:
            track.path_point_m = detection.feet_midpoint_m
        elif was_lost or float(np.hypot(*(detection.feet_midpoint_m - track.path_point_m))) > cfg.path_reset_distance:
            # The last two-foot stance is stale (the person was gone, or has walked on since on feet that were
            # seen one at a time): the foot they stand on now is the best point on their path.
            track.path_point_m = detection.feet_midpoint_m
        _record_body(track, detection)
        track.heading = _heading(detection.foot_axis, track.kalman.velocity, track.heading, cfg.min_heading_speed,
                                 detection.toe_direction)
        if track.state == TrackState.LOST or (track.state == TrackState.TENTATIVE and track.hits >= cfg.min_hits):
            track.state = TrackState.CONFIRMED

    def _identify(self, track: Track) -> None:
        """Once a young confirmed track's signature is trusted, give it the id of the departed or lost
        person it is recognised as, if any (`_recognise`); past reid_wait it keeps its own id for good."""
        cfg = self.config
        signature = track.signature(cfg.weight_min_frames)
        if signature is None:
            track.identified = self._clock - track.born_at >= cfg.reid_wait
            return
        track.identified = True
        known_id = self._recognise(track, signature)
        if known_id is None:
            return
        # The person lives on in `track` alone: out of the gallery, or their lost track ends here.
        self.departed = [person for person in self.departed if person.track_id != known_id]
        self.tracks = [t for t in self.tracks if t.track_id != known_id]
        track.track_id = known_id

    def _recognise(self, newcomer: Track, signature: BodySignature) -> int | None:
        """The id of the departed or lost person whose signature is within reid_max_distance of `signature`,
        if exactly one is and everybody else, departed, lost or present (with a trusted signature; a present
        track competes as the person it holds and the person whose id it carries, see
        `Track.competing_signatures`), is at least reid_min_margin farther: pressure alone cannot tell people
        of near equal build apart, and an id must never pass to somebody else."""
        cfg = self.config
        unseen = [(person.track_id, person.signature) for person in self.departed]
        others = []
        for track in self.tracks:
            other = track.signature(cfg.weight_min_frames)
            if track is newcomer or other is None:
                continue
            if track.state == TrackState.LOST:
                unseen.append((track.track_id, other))
            else:
                others += [signature.distance(competitor, cfg)
                           for competitor in track.competing_signatures(cfg.weight_min_frames, cfg.reid_takeover)]
        if not unseen:
            return None
        ranked = sorted((signature.distance(other, cfg), track_id) for track_id, other in unseen)
        best_distance, best_id = ranked[0]
        others += [distance for distance, _ in ranked[1:]]
        if best_distance > cfg.reid_max_distance or any(d < best_distance + cfg.reid_min_margin for d in others):
            return None
        return best_id

    def _identity_weights(self, track: Track) -> tuple[float, float] | None:
        """(recent weight, identity weight) [N] of a confirmed track matched this frame: the median force of
        its last swap_window detections and of up to identity_window before them; None while the latter
        rests on fewer than identity_min_frames or its two halves differ by more than identity_stability
        (a track that has been holding feet of several people has no weight of its own to go by)."""
        cfg = self.config
        if track.state != TrackState.CONFIRMED or track.frames_since_update:
            return None
        if len(track.identity_forces) < cfg.identity_min_frames + cfg.swap_window:
            return None
        forces = np.fromiter(track.identity_forces, dtype=float, count=len(track.identity_forces))
        identity = forces[:-cfg.swap_window]   # the deque holds at most identity_window more
        half = len(identity) // 2
        first, second = float(np.median(identity[:half])), float(np.median(identity[half:]))
        recent = float(np.median(forces[-cfg.swap_window:]))
        if min(first, second, recent) <= 0.0 or abs(math.log(first / second)) > cfg.identity_stability:
            return None
        return recent, float(np.median(identity))

    def _repair_swaps(self) -> None:
        """Give two tracks that exchanged their people each other's id back (`AssociationConfig.swap_window`).

        Body weight is a person's, not a track's: when the recent weight of each of two tracks fits the
        other's identity weight better than its own, by swap_margin in summed |log ratio|, and within swap_fit,
        the tracks swapped people (a foot given to the wrong person at close quarters, and the tracks then
        followed the other person's feet). Without the fit, a foot of one person held by the other's track
        for the recent window (face to face) passed for a swap: the lighter track gains, the heavier loses,
        and both recent weights move towards the other's without matching it. The tracks exchange ids and
        identity forces but for the recent ones, which stay with the feet they were measured on. At most the clearest pair per check (every
        swap_check_interval frames). Live, both people's ids so switch back a second or two after they
        were exchanged.
        """
        cfg = self.config
        weighed = [(track, weights) for track in self.tracks if (weights := self._identity_weights(track)) is not None]
        best: tuple[float, Track, Track] | None = None
        for (a, (recent_a, identity_a)), (b, (recent_b, identity_b)) in itertools.combinations(weighed, 2):
            if abs(math.log(identity_a / identity_b)) < cfg.swap_margin:
                continue
            stay = abs(math.log(recent_a / identity_a)) + abs(math.log(recent_b / identity_b))
            a_as_b, b_as_a = abs(math.log(recent_a / identity_b)), abs(math.log(recent_b / identity_a))
            swap = a_as_b + b_as_a
            if (swap + cfg.swap_margin < stay and max(a_as_b, b_as_a) < cfg.swap_fit
                    and (best is None or stay - swap > best[0])):
                best = (stay - swap, a, b)
        if best is None:
            return
        _, a, b = best
        a.track_id, b.track_id = b.track_id, a.track_id
        forces_a, forces_b = list(a.identity_forces), list(b.identity_forces)
        a.identity_forces = deque(forces_b[:-cfg.swap_window] + forces_a[-cfg.swap_window:], maxlen=a.identity_forces.maxlen)
        b.identity_forces = deque(forces_a[:-cfg.swap_window] + forces_b[-cfg.swap_window:], maxlen=b.identity_forces.maxlen)

    def update(self, detections: list[PersonDetection], stamp: float | None = None) -> list[Track]:
        """Advance one frame with this frame's detections; `stamp` [s] (None: default_dt after the last).

        Returns the live tracks (tentative, confirmed and lost), matched ones with frames_since_update 0.
        """
        cfg = self.config
        dt = self._dt(stamp)
        self._clock += dt
        if self.departed:
            self.departed = [p for p in self.departed if self._clock - p.departed_at <= cfg.reid_memory]
        predictions = [track.kalman.predict(dt) for track in self.tracks]
        prediction_of = {id(t): p for t, p in zip(self.tracks, predictions)}

        high = [d for d in detections if d.confidence >= cfg.high_confidence]
        low = [d for d in detections if d.confidence < cfg.high_confidence]
        matches, unmatched_tracks, unmatched_high = self._assign(self.tracks, predictions, high)
        # ByteTrack: weak detections (a light heel strike, a foot mostly off the mat) only continue tracks.
        pending = [t for t in unmatched_tracks if t.state != TrackState.TENTATIVE]
        second, _, _ = self._assign(pending, [prediction_of[id(t)] for t in pending], low)
        for track, detection in matches + second:
            self._apply(track, detection)
        matched = {id(track) for track, _ in matches + second}

        survivors = []
        for track in self.tracks:
            if id(track) in matched:
                survivors.append(track)
                continue
            if not track.frames_since_update:
                # Footprints do not glide: a person who left no footprint stopped, turned or stepped off,
                # so the lost track waits where it was last seen instead of coasting on.
                track.kalman.hold(track.kalman.position - track.kalman.velocity * dt)
            track.frames_since_update += 1
            track.seconds_since_update += dt
            if track.state == TrackState.TENTATIVE:
                continue
            if track.frames_since_update > cfg.max_age:
                # Remembered only with a full weight window: a short track may hold bits of several people.
                signature = track.signature(cfg.weight_window)
                if signature is not None:
                    self.departed.append(DepartedPerson(track.track_id, signature, self._clock))
                continue
            track.state = TrackState.LOST
            survivors.append(track)

        for detection in unmatched_high:
            if detection.confidence < cfg.new_track_confidence:
                continue
            kalman = ConstantVelocityKalman(np.asarray(detection.centroid_m), cfg.acceleration_noise, cfg.measurement_noise)
            track = Track(self._next_id, TrackState.CONFIRMED if cfg.min_hits <= 1 else TrackState.TENTATIVE,
                          kalman, detection, path_point_m=detection.feet_midpoint_m,
                          heading=_heading(detection.foot_axis, np.zeros(2), None, cfg.min_heading_speed, detection.toe_direction),
                          recent_forces=deque(maxlen=cfg.weight_window),
                          identity_forces=deque(maxlen=cfg.identity_window + cfg.swap_window),
                          signature_forces=deque(maxlen=cfg.weight_window), foot_lengths=deque(maxlen=cfg.foot_window), born_at=self._clock)
            _record_body(track, detection)
            self._next_id += 1
            survivors.append(track)
        self.tracks = survivors
        self._frames += 1
        if self._frames % cfg.swap_check_interval == 0:
            self._repair_swaps()
        for track in [t for t in survivors if t.state == TrackState.CONFIRMED and not t.identified]:
            self._identify(track)
        return list(self.tracks)
