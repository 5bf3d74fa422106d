"""People from feet: which feet belong to whom, frame by frame, and who is who over hours.

Per frame (`PeopleTracker.plan`, then `commit`):
0. a contact whose cells two people's whole feet held in the previous frame is cut into one foot per person by
   those cells (`_split_by_history`): two people's feet pressed together show no gap and no excess length, but a
   foot in stance does not move; nor does it widen: cells nobody held, more than half a foot gap beside one
   person's whole foot across its axis, are another foot landing next to it (somebody else's if somebody else
   takes it in step 2, else still that person's);
1. every person's centre of pressure (CoP) is predicted by a constant-velocity Kalman filter; where their
   next foot can land is the segment from that prediction to one step ahead of it (their walking velocity,
   the CoP's displacement over the last stride, times step_time);
2. feet are assigned to people by one global assignment (Hungarian) on a cost in metres: the distance from
   the foot to that segment, minus, for a foot on cells the person's feet held in the previous frame, up
   to step_reach (a foot in stance does not move: continuity wins over any prediction, which keeps two
   people apart when they pass close; a foot just landed counts less, as it may be someone else's). A foot
   is within a person's reach up to step_reach from the segment along their walking direction but only
   lateral_reach across it (a step goes far forward, never far sideways: two people walking abreast stay
   two), while they walk in a line along their feet; standing, starting or turning, step_reach every way.
   People present are served first (_FOOT_SLOTS contact regions each), then people who lost their feet
   within a stride's time (reach growing at walk_speed), then a foot left clear of the border goes to a person
   present on one foot within max_step of it who shifts weight off that foot (a far step, `_far_steps`), then the
   feet left start new people (two feet within a step of each other, in the frame of their axis, are one person);
3. a local search moves single feet between people (or to a new person) where that lowers the cost plus
   the people's weight misfit: the mat carries a person's whole weight at every instant, so a person
   holding far more force than their weight holds someone else's foot (less than their weight says nothing
   of a person with a foot at the mat's border, who may stand partly beyond it); then a person walking forward
   (from heading_min_speed) whose feet lie farther apart across the walk than lateral_reach holds somebody
   else's: their feet are parted at the widest sideways gap, the far side starting a new person
   (`_part_wide_people`), unless that side landed within step_time while the other side unloads (a side step);
4. a person without feet is lost and waits where last seen for lost_time seconds, then departs; one whose
   last feet came within a foot's length of the border may have walked off and is not continued by position
   (whoever steps on there next may be somebody else);
5. identity (identity.py, `IdentityMemory`): a newcomer is published at once under a provisional id, settled as a
   returning person by their body signature (weight, foot length) or as a new one; departed people are kept in a
   gallery. Two people whose recent weights each fit the other's long-standing weight have been swapped and get
   their ids back (`_repair_swaps`). Ids come from a monotonic counter.

The frame is decided in `plan` without touching any state, so a frame that proves to hold too many
people (a noise storm) can be dropped for free. Boxes are x1,y1,x2,y2 in cells with exclusive ends.
"""
from __future__ import annotations

import functools
import math
import statistics
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from scipy.optimize import linear_sum_assignment

from .config import TrackerConfig
from .detection import Foot, PersonDetection, person_detection, split_by_owner
from .heading import Stance, follow_stances, heading_from_feet, shows_axis
from .identity import BodySignature, IdentityMemory

Box = tuple[float, float, float, float]
_NEVER = 1e6            # cost of a pair outside the gate
_FOOT_SLOTS = 3          # contact regions one person may have: two feet, one of them in two parts (a foot longer than
                         # foot_length_max is split; a heel landing at the other foot's toes)
_SIGNATURE_SAMPLES = 512  # forces and foot lengths kept per person for the signature (medians, quantiles)
_MAX_MISFIT = 2.0        # weight misfit (in load_tolerance) of a person without feet, and of any underloaded one at most
_WEIGHT_SAMPLES = 15      # frames whose median force is a person's current body weight
_WEIGHT_MIN_SAMPLES = 5   # frames before a person's weight counts
_IDENTITY_MIN_SAMPLES = 60  # frames before those that a person's identity weight needs (swap repair)
_SWAP_CHECK_FRAMES = 5    # frames between swap checks (each costs medians of every person's forces)
_STRAIGHT_WALK = math.radians(30.0)   # feet axis vs walking direction: askew by a step width, toe-out
_MIN_VELOCITY_SPAN = 0.2  # [s] a younger track's walking velocity is its displacement over this (not yet known)


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


class TrackState(IntEnum):
    """Values match presstrack_msgs/PersonPressure STATE_*."""

    TENTATIVE = 0
    CONFIRMED = 1
    LOST = 2


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

    def predicted(self, dt: float) -> np.ndarray:
        """State (x, y, vx, vy) dt [s] ahead, without changing the filter."""
        transition, _ = _motion_model(dt, self.acceleration_noise)
        return transition @ self.state

    def predict(self, dt: float) -> None:
        """Advance by dt [s]."""
        transition, noise = _motion_model(dt, self.acceleration_noise)
        self.state = transition @ self.state
        self.covariance = transition @ self.covariance @ transition.T + noise

    def update(self, position: np.ndarray) -> None:
        """Correct with a measured position (x, y) [m]."""
        (a, b), (c, d) = self.covariance[:2, :2].tolist()
        # As adding the identity times the variance did: + 0.0 off the diagonal (a -0.0 becomes 0.0).
        a, b, c, d = a + self.measurement_variance, b + 0.0, c + 0.0, d + self.measurement_variance
        # Closed-form inverse of the 2x2 innovation covariance (positive definite: det > 0).
        det = a * d - b * c
        inverse = np.array([[d / det, -b / det], [-c / det, a / det]])
        gain = self.covariance[:, :2] @ inverse
        self.state = self.state + gain @ (np.asarray(position) - self.state[:2])
        self.covariance = self.covariance - gain @ self.covariance[:2, :]

    def hold(self) -> None:
        """Stop where it is: zero velocity (footprints do not glide; a person without feet stopped or left)."""
        self.state[2:] = 0.0
        self.covariance[2:, :] = 0.0
        self.covariance[:, 2:] = 0.0
        self.covariance[2, 2] = self.covariance[3, 3] = 1.0

    @property
    def position(self) -> np.ndarray:
        return self.state[:2].copy()

    @property
    def velocity(self) -> np.ndarray:
        return self.state[2:].copy()


@dataclass(eq=False)
class Track:
    """One person. detection: the last frame they had feet in; frames_since_update / seconds_lost: since
    then (0 = this frame); recent_forces: of their last frames (current weight); forces / foot_lengths: of
    frames clear of the mat's edge (signature);
    contact_time [s]: time those frames span."""

    track_id: int
    state: TrackState
    kalman: ConstantVelocityKalman
    detection: PersonDetection
    arrived_at: float   # [s] first frame of their current run of frames with feet
    hits: int = 1
    frames_since_update: int = 0
    seconds_lost: float = 0.0
    heading: float | None = None
    feet_axis: float | None = None   # [rad, mod pi] of the last feet long enough to show one (`_feet_axis`)
    stances: list[Stance] = field(default_factory=list)   # last frame's feet, followed while down (heading.py)
    recent_forces: deque[float] = field(default_factory=lambda: deque(maxlen=_WEIGHT_SAMPLES))
    forces: deque[float] = field(default_factory=lambda: deque(maxlen=_SIGNATURE_SAMPLES))
    foot_lengths: deque[float] = field(default_factory=lambda: deque(maxlen=_SIGNATURE_SAMPLES))
    contact_time: float = 0.0
    identified: bool = False   # whether their id is settled (a newcomer's is provisional until then)
    shown_as: int | None = None   # while their id is provisional, the absent person's id they are published under
    path: deque[tuple[float, float, float]] = field(default_factory=deque)   # (clock [s], x, y [m]) of the CoP

    @property
    def published_id(self) -> int:
        """The id a live subscriber sees: shown_as while set (`IdentityMemory.guess`), else track_id."""
        return self.track_id if self.shown_as is None else self.shown_as

    def walking_velocity(self, span: float | None = None) -> np.ndarray:
        """(vx, vy) [m/s]: the CoP's displacement over the last stride (its own velocity swings heel to toe
        and foot to foot within a step; over a stride it is the body's), or over the track's life if shorter;
        over the last `span` [s] instead if given."""
        if len(self.path) < 2:
            return np.zeros(2)
        t1, x1, y1 = self.path[-1]
        t0, x0, y0 = self.path[0]
        if span is not None:
            t0, x0, y0 = next(point for point in self.path if t1 - point[0] <= span)
        return np.array([x1 - x0, y1 - y0]) / max(t1 - t0, _MIN_VELOCITY_SPAN)

    def left_over_edge(self, config: TrackerConfig) -> bool:
        """Whether their last feet came within a foot's length (foot_length_max) of the mat's border: the last
        contact of somebody stepping off the mat (on tuning sessions, 81 exits: median 1 cm, at most 28 cm)."""
        x1, y1, x2, y2 = self.detection.box
        rows, cols = self.detection.frame_shape
        return min(x1, y1, cols - x2, rows - y2) * config.cell_pitch < config.foot_length_max

    @property
    def weight_n(self) -> float:
        """[N] current body weight: median force of the last _WEIGHT_SAMPLES frames clear of the mat's edge;
        0 while fewer than _WEIGHT_MIN_SAMPLES."""
        return statistics.median(self.recent_forces) if len(self.recent_forces) >= _WEIGHT_MIN_SAMPLES else 0.0

    @property
    def confidence(self) -> float:
        return self.detection.confidence if self.frames_since_update == 0 else 0.0

    def signature(self, config: TrackerConfig) -> BodySignature | None:
        """The body signature once contact_time reaches signature_time, else None."""
        if self.contact_time < config.signature_time or not self.forces or not self.foot_lengths:
            return None
        weight = float(np.median(np.fromiter(self.forces, float, len(self.forces))))
        foot = float(np.median(np.fromiter(self.foot_lengths, float, len(self.foot_lengths))))
        return BodySignature(weight, foot) if weight > 0 else None


@dataclass
class FramePlan:
    """What one frame decides: the person detection of each existing track with feet (index into tracks ->
    detection) and of each new person; `detections`: all of them, before identities."""

    dt: float
    matched: dict[int, PersonDetection]
    new_people: list[PersonDetection]
    foot_ages: dict[int, float]   # id(foot) -> its age [s] this frame

    @property
    def detections(self) -> list[PersonDetection]:
        return list(self.matched.values()) + self.new_people


class PeopleTracker:
    """Assigns feet to people and keeps their identities (see the module docstring)."""

    def __init__(self, config: TrackerConfig = TrackerConfig()) -> None:
        self.config = config
        self.tracks: list[Track] = []
        self.identities = IdentityMemory(config)
        self._next_id = config.first_id
        self._first_id = config.first_id
        self._clock = 0.0
        self._frames = 0
        self._owner: np.ndarray | None = None   # flat: 1 + index into _held of the foot that held each cell last frame
        self._held: list[tuple[int, float, bool, float]] = []   # last frame's feet: (index of their track, age [s],
                                                         # whether it was a whole foot's contact (`shows_axis`), its axis)

    @property
    def recognised(self) -> dict[int, int]:
        """Last frame's people who took a known id: provisional id -> it."""
        return self.identities.recognised

    @property
    def departed(self):
        """The gallery: people who left within reid_memory (`identity.DepartedPerson`)."""
        return self.identities.departed

    @property
    def next_id(self) -> int:
        """The id the next new person will get (persist it to restart above the ids already used)."""
        return self._next_id

    @property
    def first_id(self) -> int:
        return self._first_id

    def reserve_ids_below(self, first_id: int) -> None:
        """Never hand out ids below first_id from now on (the counter only moves up)."""
        self._next_id = max(self._next_id, first_id)

    # --- one frame: decide ------------------------------------------------------------------------
    def plan(self, feet: list[Foot], frame: np.ndarray, dt: float) -> FramePlan:
        """Decide which feet of `frame` belong to whom, without changing any state."""
        cfg = self.config
        frame_shape = frame.shape
        feet, landed_beside = self._split_by_history(feet, frame)
        owner = np.full(len(feet), -1)   # track index of each foot, -1: a new person's
        share, ages = self._continuity(feet)
        if self.tracks and feet:
            cost = self._costs(feet, dt, share, ages)
            # Feet go to the people present first (a few slots each, or a new person at new_person_cost), then
            # those left to people who lost their feet recently (they may have stepped off and back on).
            lost = np.array([track.frames_since_update > 0 for track in self.tracks])
            new = np.full((len(feet), len(feet)), _NEVER)
            np.fill_diagonal(new, cfg.new_person_cost * cfg.step_reach)
            present = np.where(lost[None, :], _NEVER, cost)
            slots = np.concatenate([present] * _FOOT_SLOTS + [new], axis=1)
            for f, s in zip(*linear_sum_assignment(slots)):
                owner[f] = s % len(self.tracks) if s < _FOOT_SLOTS * len(self.tracks) else -1
            free = np.flatnonzero(owner < 0)
            if lost.any() and free.size:
                returning = np.where(lost[None, :], cost[free], _NEVER)
                for f, t in zip(*linear_sum_assignment(returning)):
                    if returning[f, t] < _NEVER:
                        owner[free[f]] = t
            self._far_steps(feet, owner)
            self._balance_weights(feet, cost, owner)
            for f, holder in landed_beside.items():
                if owner[f] < 0:   # nobody else present took it: the holder's own other foot (a narrow step, a turn)
                    owner[f] = holder
            self._part_wide_people(feet, cost, share, ages, owner)
        matched: dict[int, list[Foot]] = {}
        for foot, t in zip(feet, owner):
            if t >= 0:
                matched.setdefault(int(t), []).append(foot)
        free = [foot for foot, t in zip(feet, owner) if t < 0]
        return FramePlan(dt, {t: person_detection(group, frame_shape, cfg.cell_pitch) for t, group in matched.items()},
                         [person_detection(group, frame_shape, cfg.cell_pitch)
                          for group in _pair_new_feet(free, cfg)],
                         {id(foot): age + dt if share[f].any() else 0.0 for f, (foot, age) in enumerate(zip(feet, ages))})

    def _far_steps(self, feet: list[Foot], owner: np.ndarray) -> None:
        """Give (in `owner`, in place) a foot nobody took to a person present who stands on one foot within max_step
        of it and shifts weight off that foot this frame: a long step (a dancer's side step, a stride from one foot
        at the mat's border) lands beyond step_reach of the centre of pressure, and its weight comes from the foot
        left behind. A newcomer's first foot adds weight to the mat; nobody present lifts it. The nearest such
        person takes the foot, each at most one; no more than their body weight (load_tolerance) may land on them."""
        cfg = self.config
        pairs = []
        for f in np.flatnonzero(owner < 0):
            if feet[f].touches_edge:   # stepping on across the mat's border: somebody arriving
                continue
            for t, track in enumerate(self.tracks):
                mine = np.flatnonzero(owner == t)
                if track.frames_since_update or mine.size != 1:
                    continue
                before = sum(foot.force for foot in track.detection.feet)
                load = feet[mine[0]].force
                heaviest = track.weight_n * math.exp(cfg.load_tolerance) if track.weight_n > 0 else math.inf
                reach = float(np.linalg.norm(feet[f].centroid_m - feet[mine[0]].centroid_m))
                if reach <= cfg.max_step and load < before and load + feet[f].force <= heaviest:
                    pairs.append((reach, f, t))
        taken: set[int] = set()
        for _, f, t in sorted(pairs):
            if owner[f] < 0 and t not in taken:
                owner[f] = t
                taken.add(t)

    def _balance_weights(self, feet: list[Foot], cost: np.ndarray, owner: np.ndarray) -> None:
        """Improve the assignment `owner` (in place) by moving single feet between people (or to a new
        person) while that lowers the total cost: the feet's costs plus, per person of known weight, step_reach
        times the misfit log(force of their feet / body weight) / load_tolerance (below their weight capped
        at _MAX_MISFIT, that of a person without feet; none for a person with a foot at the mat's border, who may
        stand partly off it). The mat carries a person's whole weight at every instant: two people whose feet came
        close get theirs back by it, which position alone cannot tell."""
        cfg = self.config
        weights = np.array([track.weight_n for track in self.tracks])
        if not (weights > 0).any():
            return
        forces = np.array([foot.force for foot in feet])
        move_cost = np.concatenate([cost, np.full((len(feet), 1), cfg.new_person_cost * cfg.step_reach)], axis=1)  # last column: new

        at_edge = np.array([foot.touches_edge for foot in feet])

        def misfit(t: int, load: float, edge: int) -> float:
            # Less load than weight is common (a foot off the mat, a light touch): it counts up to a cap, the
            # misfit of a person without feet, and not at all while a foot of theirs reaches the mat's border (the
            # rest of them may stand beyond it). More is not (walking loads the feet by at most ~1.2 x weight).
            weight = weights[t]
            if weight <= 0:
                return 0.0
            if load >= weight:
                return math.log(load / weight) / cfg.load_tolerance
            if edge:
                return 0.0
            return min(_MAX_MISFIT, math.log(weight / load) / cfg.load_tolerance) if load > 0 else _MAX_MISFIT

        loads = np.zeros(len(self.tracks))
        counts = np.zeros(len(self.tracks), dtype=int)
        edge_feet = np.zeros(len(self.tracks), dtype=int)
        for f, t in enumerate(owner):
            if t >= 0:
                loads[t] += forces[f]
                counts[t] += 1
                edge_feet[t] += at_edge[f]
        for _ in range(2 * len(feet)):
            best_gain, best_move = 1e-9, None
            for f, source in enumerate(owner):
                here = move_cost[f, source] if source >= 0 else move_cost[f, -1]
                leave = (cfg.step_reach * (misfit(source, loads[source] - forces[f], edge_feet[source] - at_edge[f])
                                           - misfit(source, loads[source], edge_feet[source])) if source >= 0 else 0.0)
                for target in range(-1, len(self.tracks)):
                    if target == source or (target >= 0 and (counts[target] >= _FOOT_SLOTS or cost[f, target] >= _NEVER)):
                        continue
                    there = move_cost[f, target] if target >= 0 else move_cost[f, -1]
                    join = (cfg.step_reach * (misfit(target, loads[target] + forces[f], edge_feet[target] + at_edge[f])
                                              - misfit(target, loads[target], edge_feet[target])) if target >= 0 else 0.0)
                    gain = here - there - leave - join
                    if leave + join < 0 and gain > best_gain and \
                            not (target >= 0 and self._too_wide(feet, np.append(np.flatnonzero(owner == target), f), target)):
                        best_gain, best_move = gain, (f, source, target)   # moved for weight, not for position alone
            if best_move is None:
                return
            f, source, target = best_move
            owner[f] = target
            if source >= 0:
                loads[source] -= forces[f]
                counts[source] -= 1
                edge_feet[source] -= at_edge[f]
            if target >= 0:
                loads[target] += forces[f]
                counts[target] += 1
                edge_feet[target] += at_edge[f]

    def _part_wide_people(self, feet: list[Foot], cost: np.ndarray, share: np.ndarray, ages: np.ndarray,
                          owner: np.ndarray) -> None:
        """Release to new people (in `owner`, in place) the feet that make a person walking forward wider than one
        person: one person's feet lie within lateral_reach of each other across the line they walk (`_across`); two
        people walking side by side taken for one are wider (a merged birth, a foot given to the wrong one). Such a
        person's feet are cut at the widest sideways gap between them, when each side holds a whole foot
        (`shows_axis`); the person keeps the side holding more of the cells their feet held in the last frame (a
        foot in stance does not move), else the side nearer where they were predicted. Not while the released side
        landed less than step_time ago and the kept side unloads (`_unloading`): a side step (a dancer's), whose weight
        moves onto the landing foot; a second person's foot landing adds weight and takes none from the first."""
        for t in np.unique(owner[owner >= 0]):
            mine = np.flatnonzero(owner == t)
            while mine.size >= 2:
                across = _across(feet, mine, self.tracks[t], self.config)
                if across is None or across.max() - across.min() <= self.config.lateral_reach:
                    break
                order = np.argsort(across)
                cut = int(np.argmax(np.diff(across[order]))) + 1
                sides = (mine[order[:cut]], mine[order[cut:]])
                if not all(any(shows_axis(feet[f], self.config) for f in side) for side in sides):
                    break   # the pieces of a foot landing or lifting may lie anywhere about it
                held = [(sum(share[f, t] * feet[f].area for f in side), -cost[side, t].min()) for side in sides]
                kept, released = sides if held[0] >= held[1] else sides[::-1]
                if (ages[released] < self.config.step_time).all() and self._unloading(feet, kept, self.tracks[t]):
                    break   # a side step: feet landing aside as the weight leaves the feet they landed beside
                owner[released] = -1
                mine = kept

    def _unloading(self, feet: list[Foot], side: np.ndarray, track: Track) -> bool:
        """Whether `feet[side]` carry less than the feet of `track`'s last frame whose cells they hold did, by more
        than load_tolerance: the weight moves off them (onto a foot landing elsewhere)."""
        cells = np.concatenate([feet[f].cells for f in side])
        before = sum(foot.force for foot in track.detection.feet if np.isin(foot.cells, cells).any())
        now = sum(feet[f].force for f in side)
        return now < before * math.exp(-self.config.load_tolerance)

    def _too_wide(self, feet: list[Foot], mine: np.ndarray, t: int) -> bool:
        """Whether `feet[mine]` are wider than person `t` can stand (`_part_wide_people`)."""
        across = _across(feet, mine, self.tracks[t], self.config)
        return across is not None and across.max() - across.min() > self.config.lateral_reach

    def _costs(self, feet: list[Foot], dt: float, share: np.ndarray, ages: np.ndarray) -> np.ndarray:
        """(feet, tracks) cost [m] of each foot joining each person; _NEVER outside the gate. share, ages: see
        `_continuity`.

        In the person's walking frame (`_walking_axis`), a foot beyond the segment from their predicted centre
        of pressure to one step ahead by `beyond` and beside it by `across` is within reach when |beyond| <=
        step_reach and |across| <= lateral_reach (a step reaches far forward, never far sideways); it costs its
        distance from the segment, hypot(beyond, across). Without a walking frame, step_reach holds every way."""
        cfg = self.config
        centres = np.array([foot.centroid_m for foot in feet])
        cost = np.full((len(feet), len(self.tracks)), _NEVER)
        # A foot in stance does not move: holding cells a person's foot held is worth up to a full step_reach,
        # reached as the foot settles over a step (a foot just landed may still be someone else's).
        continuity = share * cfg.step_reach * np.minimum(1.0, (ages + dt) / cfg.step_time)[:, None]
        for t, track in enumerate(self.tracks):
            # A person without feet for a moment (a jump) can be anywhere within walk_speed times that of where
            # they were; after a stride's time, or at once if they may have walked off the mat (the next person
            # there may be somebody else), they come back through re-identification. A newcomer whose id is
            # still provisional has no identity to lose: its flickering first touches at the edge are continued.
            walked_off = track.identified and track.left_over_edge(cfg)
            if track.seconds_lost > 2.0 * cfg.step_time or (track.seconds_lost > 0 and walked_off):
                continue
            grown = cfg.walk_speed * track.seconds_lost
            forward_reach = cfg.step_reach + grown
            start = track.kalman.predicted(dt)[:2]
            ahead = track.walking_velocity() * cfg.step_time
            axis = _walking_axis(track, cfg)
            walking = axis is not None
            if not walking:   # a step may go any way: distances from the segment itself
                length = math.hypot(*ahead)
                axis = ahead / length if length > 0 else np.array([1.0, 0.0])
            offset = centres - start
            along = offset @ axis
            across = offset @ np.array([-axis[1], axis[0]])
            length = abs(float(ahead @ axis))
            # The segment runs forward from the prediction; a walking axis is known modulo pi.
            low, high = (0.0, length) if float(ahead @ axis) >= 0 else (-length, 0.0)
            beyond = along - np.clip(along, low, high)
            distance = np.hypot(beyond, across)
            if walking:
                inside = (np.abs(beyond) <= forward_reach) & (np.abs(across) <= cfg.lateral_reach + grown)
            else:
                inside = distance <= forward_reach
            cost[:, t] = np.where(inside | (share[:, t] > 0), distance - continuity[:, t], _NEVER)
        return cost

    def _split_by_history(self, feet: list[Foot], frame: np.ndarray) -> tuple[list[Foot], dict[int, int]]:
        """`feet` with each foot that holds other people's feet as well cut into one foot per person (`split_by_owner`):
        feet of two people pressed together, side by side or toe to heel, read as one contact no wider or longer
        than a foot, but a foot in stance does not move. A contact whose cells two or more people's whole feet
        (`shows_axis`) held in the previous frame (at least min_foot_area each) is cut so that each keeps the cells
        it held; one holding a single person's whole foot and, beside it (`_beside`), at least min_foot_area of
        cells nobody held is that foot and a foot landing next to it (two people's feet closer than a foot gap);
        the second value maps each such landing foot (index into the feet returned) to the track that holds the
        foot it landed beside: it is somebody else's only if somebody else present takes it (`plan`)."""
        landed_beside: dict[int, int] = {}
        if self._owner is None or not self._held:
            return feet, landed_beside
        cfg = self.config
        # By _owner's value (0: nobody's); only whole feet count: a part of a foot cut from another contact may be
        # a mix of two people's feet, which history must not carry on.
        held_track = np.array([-1] + [t if whole else -1 for t, _, whole, _ in self._held])
        min_cells = cfg.min_foot_area / (cfg.cell_pitch * cfg.cell_pitch)
        out = []
        for foot in feet:
            held = self._owner[foot.cells]
            owner = held_track[held]
            counts = np.bincount(owner + 1, minlength=len(self.tracks) + 1)[1:]
            holders = np.flatnonzero(counts >= min_cells)
            # Most feet are one person's foot in stance, with fewer than min_cells cells they did not hold.
            if holders.size == 0 or (holders.size == 1 and foot.cells.size - counts[holders[0]] < min_cells):
                out.append(foot)
                continue
            owner = np.where((owner >= 0) & (counts[owner] >= min_cells), owner, -1)   # a few cells of somebody are nobody's
            if holders.size == 1:
                beside = self._beside(foot, held, owner, frame.shape)
                if np.count_nonzero(beside) < min_cells:
                    out.append(foot)
                    continue
                owner[beside] = len(self.tracks)   # somebody else's foot
            for part in split_by_owner(foot, owner, frame, cfg.cell_pitch, cfg.foot_gap, cfg.foot_length_max):
                if holders.size == 1 and not np.any(held_track[self._owner[part.cells]] == holders[0]):
                    landed_beside[len(out)] = int(holders[0])
                out.append(part)
        return out, landed_beside

    def _beside(self, foot: Foot, held: np.ndarray, owner: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Which cells of `foot` nobody held (`owner` -1) lie beside the whole foot that held most of the others
        (`held`: 1 + index into _held per cell) by more than half a foot gap across its axis: a foot in stance does
        not move or widen, so they are a foot landing next to it."""
        index = int(np.argmax(np.bincount(held, weights=owner >= 0)))
        axis = self._held[index - 1][3]
        rows, cols = np.divmod(foot.cells, shape[1])
        across = (rows * math.cos(axis) - cols * math.sin(axis)) * self.config.cell_pitch
        own = across[held == index]
        margin = 0.5 * self.config.foot_gap
        return (owner < 0) & ((across < own.min() - margin) | (across > own.max() + margin))

    def _continuity(self, feet: list[Foot]) -> tuple[np.ndarray, np.ndarray]:
        """(feet, tracks) share of each foot's cells that the track's feet held in the previous frame, and
        (feet,) each foot's age [s] then: of the oldest foot whose cells it holds, 0 for a foot just landed."""
        share = np.zeros((len(feet), len(self.tracks)))
        ages = np.zeros(len(feet))
        if self._owner is None or not self._held:
            return share, ages
        held_track = np.array([t for t, _, _, _ in self._held])
        held_age = np.array([age for _, age, _, _ in self._held])
        for f, foot in enumerate(feet):
            counts = np.bincount(self._owner[foot.cells], minlength=len(self._held) + 1)[1:]
            overlapped = counts > 0
            if overlapped.any():
                share[f] = np.bincount(held_track[overlapped], counts[overlapped], len(self.tracks)) / foot.cells.size
                ages[f] = held_age[overlapped].max()
        return share, ages

    # --- one frame: apply -------------------------------------------------------------------------
    def commit(self, plan: FramePlan, frame_shape: tuple[int, int]) -> list[Track]:
        """Apply `plan`; return the live tracks (tentative, confirmed and lost)."""
        cfg = self.config
        self._clock += plan.dt
        self._frames += 1
        self.identities.start_frame(self._clock)
        survivors = []
        for t, track in enumerate(self.tracks):
            track.kalman.predict(plan.dt)
            if t in plan.matched:
                self._apply(track, plan.matched[t], plan.dt)
                survivors.append(track)
                continue
            if track.frames_since_update == 0:
                track.kalman.hold()
            track.frames_since_update += 1
            track.seconds_lost += plan.dt
            if track.state == TrackState.TENTATIVE:
                # A newcomer whose feet are missed for a frame or two (a light first touch, a foot another person
                # took) goes on within a stride's time, as a lost person does (`_costs`); a blip of noise ends.
                if track.seconds_lost <= 2.0 * cfg.step_time:
                    survivors.append(track)
                continue
            if track.seconds_lost > cfg.lost_time:
                self.identities.depart(track, self._clock)
                continue
            track.state = TrackState.LOST
            survivors.append(track)
        for detection in plan.new_people:
            kalman = ConstantVelocityKalman(np.asarray(detection.centroid_m), cfg.motion_noise, cfg.cop_noise)
            track = Track(self._next_id, TrackState.TENTATIVE, kalman, detection, arrived_at=self._clock)
            self._record_body(track, detection, plan.dt)
            self._next_id += 1
            survivors.append(track)
        self.tracks = survivors
        self._repair_swaps()
        confirmed = []
        for track in self.tracks:
            if track.state == TrackState.TENTATIVE and track.hits >= cfg.min_hits:
                track.state = TrackState.CONFIRMED   # published at once; the id may still be provisional
                confirmed.append(track)
        lost = [track for track in self.tracks if track.state == TrackState.LOST]
        taken = self.identities.identify([track for track in self.tracks if not track.identified
                                          and track.frames_since_update == 0 and track.state == TrackState.CONFIRMED],
                                         lost)
        if taken:
            self.tracks = [track for track in self.tracks if all(track is not other for other in taken)]
            lost = [track for track in lost if all(track is not other for other in taken)]
        self.identities.guess(confirmed, [track for track in self.tracks if track.state != TrackState.LOST], lost)
        self._paint_owners(frame_shape, plan.foot_ages)
        return list(self.tracks)

    def _apply(self, track: Track, detection: PersonDetection, dt: float) -> None:
        cfg = self.config
        track.kalman.update(np.asarray(detection.centroid_m))
        track.detection = detection
        if track.frames_since_update == 0:
            track.hits += 1
        else:
            track.hits, track.arrived_at = 1, self._clock
        track.frames_since_update = 0
        track.seconds_lost = 0.0
        self._record_body(track, detection, dt)
        track.path.append((self._clock, *detection.centroid_m))
        while self._clock - track.path[0][0] > 2.0 * cfg.step_time:
            track.path.popleft()
        track.stances = follow_stances(detection.feet, track.stances)
        track.heading = heading_from_feet(track.stances, track.walking_velocity(cfg.step_time), track.heading, cfg,
                                          detection.frame_shape[1])
        axis = _feet_axis(detection.feet, cfg)
        track.feet_axis = axis if axis is not None else track.feet_axis
        if track.state == TrackState.LOST:
            track.state = TrackState.CONFIRMED

    def _record_body(self, track: Track, detection: PersonDetection, dt: float) -> None:
        """The current weight and the signature's weight and foot lengths, from detections wholly on the mat only
        (part of a person may stand off it); foot lengths of whole feet only (`shows_axis`: a heel landing or
        toes lifting are shorter, two feet pressed together or another person's foot merged in are wider)."""
        if detection.touches_edge:
            return
        track.recent_forces.append(detection.force)
        track.forces.append(detection.force)
        track.foot_lengths.extend(foot.length_m for foot in detection.feet if shows_axis(foot, self.config))
        track.contact_time += dt

    def _paint_owners(self, shape: tuple[int, int], foot_ages: dict[int, float]) -> None:
        size = shape[0] * shape[1]
        if self._owner is None or self._owner.size != size:
            self._owner = np.zeros(size, dtype=np.int32)
        else:
            self._owner.fill(0)
        self._held = []
        for t, track in enumerate(self.tracks):
            if track.frames_since_update == 0:
                for foot in track.detection.feet:
                    self._held.append((t, foot_ages.get(id(foot), 0.0), shows_axis(foot, self.config), foot.axis))
                    self._owner[foot.cells] = len(self._held)

    # --- identity ---------------------------------------------------------------------------------
    def _weights(self, track: Track) -> tuple[float, float] | None:
        """(recent, identity) weight [N] of a person with feet this frame: the median force of their last
        _WEIGHT_SAMPLES frames clear of the edge and of up to _SIGNATURE_SAMPLES before them; None while the
        latter rests on fewer than _IDENTITY_MIN_SAMPLES or its two halves differ by more than weight_tolerance
        (a track that held feet of several people has no weight of its own)."""
        if track.state != TrackState.CONFIRMED or track.frames_since_update or \
                len(track.forces) < _IDENTITY_MIN_SAMPLES + _WEIGHT_SAMPLES:
            return None
        forces = np.fromiter(track.forces, float, len(track.forces))
        identity, recent = forces[:-_WEIGHT_SAMPLES], float(np.median(forces[-_WEIGHT_SAMPLES:]))
        half = len(identity) // 2
        first, second = float(np.median(identity[:half])), float(np.median(identity[half:]))
        if min(first, second, recent) <= 0 or abs(math.log(first / second)) > self.config.weight_tolerance:
            return None
        return recent, float(np.median(identity))

    def _repair_swaps(self) -> None:
        """Give two people whose tracks exchanged them (feet given to the wrong person at close quarters, then
        followed) their ids back: when the recent weight of each fits the other's identity weight within
        weight_tolerance and better than its own by that much, and the two weigh that much apart. The ids
        and their weight histories are exchanged; the recent forces stay with the feet they were measured on."""
        if self._frames % _SWAP_CHECK_FRAMES:
            return
        tol = self.config.weight_tolerance
        weighed = [(track, weights) for track in self.tracks if (weights := self._weights(track)) is not None]
        best = None
        for i, (a, (recent_a, identity_a)) in enumerate(weighed):
            for b, (recent_b, identity_b) in weighed[i + 1:]:
                if abs(math.log(identity_a / identity_b)) < tol:
                    continue
                stay = abs(math.log(recent_a / identity_a)) + abs(math.log(recent_b / identity_b))
                a_as_b, b_as_a = abs(math.log(recent_a / identity_b)), abs(math.log(recent_b / identity_a))
                if a_as_b + b_as_a + tol < stay and max(a_as_b, b_as_a) < tol and \
                        (best is None or stay - a_as_b - b_as_a > best[0]):
                    best = (stay - a_as_b - b_as_a, a, b)
        if best is None:
            return
        _, a, b = best
        a.track_id, b.track_id = b.track_id, a.track_id
        forces_a, forces_b = list(a.forces), list(b.forces)
        a.forces = deque(forces_b[:-_WEIGHT_SAMPLES] + forces_a[-_WEIGHT_SAMPLES:], maxlen=_SIGNATURE_SAMPLES)
        b.forces = deque(forces_a[:-_WEIGHT_SAMPLES] + forces_b[-_WEIGHT_SAMPLES:], maxlen=_SIGNATURE_SAMPLES)
        a.foot_lengths, b.foot_lengths = b.foot_lengths, a.foot_lengths


def _walking_axis(track: Track, config: TrackerConfig, min_speed: float | None = None) -> np.ndarray | None:
    """Unit vector (x, y) along which `track` walks in a line (modulo pi): the long axis its feet showed last
    (feet point where people walk, within a few degrees of toe-out; the centre of pressure jumps from foot to
    foot a step width sideways, so its path points askew by up to atan(step width / step length), ~15 degrees),
    when it walks at least `min_speed` (default steady_walk_speed) within _STRAIGHT_WALK of that axis. None
    otherwise: a person standing, starting off or turning may step any way."""
    velocity = track.walking_velocity()
    speed = math.hypot(*velocity)
    if speed < (config.steady_walk_speed if min_speed is None else min_speed) or track.feet_axis is None:
        return None
    axis = np.array([math.cos(track.feet_axis), math.sin(track.feet_axis)])
    return axis if abs(float(axis @ velocity)) >= speed * math.cos(_STRAIGHT_WALK) else None


def _across(feet: list[Foot], mine: np.ndarray, track: Track, config: TrackerConfig) -> np.ndarray | None:
    """[m] Where each of `feet[mine]`, one person's feet, lies across the line `track` walks along (`_walking_axis`,
    at any walking pace from heading_min_speed); None while they do not walk forward in a line: standing, stepping
    aside (a side step reaches 0.5 m), or turning, where a foot that shows an axis (`shows_axis`) points more than
    _STRAIGHT_WALK off the line (a turning step lands a foot at a new angle, anywhere about the other). Walking, one
    person's feet lie within lateral_reach of each other that way: a step width apart (0.05-0.2 m), never more
    than hip width."""
    axis = _walking_axis(track, config, config.heading_min_speed)
    if axis is None or any(abs(math.sin(feet[f].axis - track.feet_axis)) > math.sin(_STRAIGHT_WALK)
                           for f in mine if shows_axis(feet[f], config)):
        return None
    return np.array([feet[f].centroid_m for f in mine]) @ np.array([-axis[1], axis[0]])


def _feet_axis(feet, config: TrackerConfig) -> float | None:
    """[rad, mod pi] the contact-area-weighted mean long axis of those `feet` that show one (`shows_axis`);
    None if none."""
    long_feet = [foot for foot in feet if shows_axis(foot, config)]
    if not long_feet:
        return None
    # Angles doubled: an axis is a direction modulo pi.
    return 0.5 * math.atan2(sum(f.area * math.sin(2 * f.axis) for f in long_feet),
                            sum(f.area * math.cos(2 * f.axis) for f in long_feet))


def _pair_new_feet(feet: list[Foot], config: TrackerConfig) -> list[list[Foot]]:
    """Feet nobody claims, as new people: the closest pairs within reach of each other are one person each.
    Along the pair's feet axis (`_feet_axis`) one foot reaches step_reach from the other, across it
    lateral_reach (step width); without an axis (heels or toes alone), lateral_reach every way: two people side
    by side merged into one would keep each other's feet, while one person's two feet taken for two people part
    as soon as one of them lifts. Closeness is hypot(along / step_reach, across / lateral_reach)."""
    if len(feet) < 2:
        return [[foot] for foot in feet]
    centres = np.array([foot.centroid_m for foot in feet])
    distance = np.full((len(feet), len(feet)), np.inf)
    for a in range(len(feet)):
        for b in range(a + 1, len(feet)):
            offset = centres[b] - centres[a]
            angle = _feet_axis((feet[a], feet[b]), config)
            if angle is None:   # which way is sideways is unknown: feet beside each other only
                along, across = 0.0, math.hypot(*offset)
            else:
                c, s = math.cos(angle), math.sin(angle)
                along, across = c * offset[0] + s * offset[1], c * offset[1] - s * offset[0]
            if abs(along) <= config.step_reach and abs(across) <= config.lateral_reach:
                distance[a, b] = distance[b, a] = math.hypot(along / config.step_reach, across / config.lateral_reach)
    people, used = [], set()
    for flat in np.argsort(distance, axis=None):
        a, b = divmod(int(flat), len(feet))
        if not np.isfinite(distance[a, b]):
            break
        if a in used or b in used:
            continue
        used.update((a, b))
        people.append([feet[a], feet[b]])
    return people + [[foot] for f, foot in enumerate(feet) if f not in used]
