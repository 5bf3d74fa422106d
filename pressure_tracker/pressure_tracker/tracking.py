"""People from feet: which feet belong to whom, frame by frame, and who is who over hours.

Per frame (`PeopleTracker.plan`, then `commit`):
0.-3. the frame's feet are given to people (assignment.py, `FramePlanner.plan`): cut by the cells people's feet
   held, assigned on predicted motion and continuity, balanced by body weight, people too wide parted;
4. a person without feet is lost and waits where last seen for lost_time seconds, then departs; one whose
   last feet came within a foot's length of the border may have walked off and is not continued by position
   (whoever steps on there next may be somebody else);
5. identity (identity.py, `IdentityMemory`): a newcomer's id is provisional (withheld live) until settled as a
   returning person by their body signature (weight, foot length) or as a new one; departed people are kept in a
   gallery. Two people whose recent weights each fit the other's long-standing weight have been swapped and get
   their ids back (`_repair_swaps`); a recognised person's track that comes to weigh as somebody else has another
   person on its feet and becomes a newcomer (`_hand_overs`). Ids come from a monotonic counter.

The frame is decided in `plan` without touching any state, so a frame that proves to hold too many
people (a noise storm) can be dropped for free. Boxes are x1,y1,x2,y2 in cells with exclusive ends.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np

from .assignment import FramePlan, FramePlanner
from .config import TrackerConfig
from .detection import PersonDetection
from .heading import Stance, follow_stances, heading_along_path, heading_from_feet, shows_axis, stance_of
from .identity import IdentityMemory
from .motion import _SIGNATURE_SAMPLES, _WEIGHT_SAMPLES, ConstantVelocityKalman, Track, TrackState, _feet_axis

_IDENTITY_MIN_SAMPLES = 60  # frames before those that a person's identity weight needs (swap repair)
_SWAP_CHECK_FRAMES = 5    # frames between swap checks (each costs medians of every person's forces)


class PeopleTracker(FramePlanner):
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
        self._held_stances: list[Stance | None] = []   # ... and the stance each was (None: a newcomer's first feet)

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
                self._apply(track, plan.matched[t], plan.dt, self._followed(t, track, plan))
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
        self._hand_overs(plan.dt)
        for track in self.tracks:
            if track.state == TrackState.TENTATIVE and track.hits >= cfg.min_hits:
                track.state = TrackState.CONFIRMED   # the id may still be provisional (withheld live until settled)
        lost = [track for track in self.tracks if track.state == TrackState.LOST]
        taken = self.identities.identify([track for track in self.tracks if not track.identified
                                          and track.frames_since_update == 0 and track.state == TrackState.CONFIRMED],
                                         lost)
        if taken:
            self.tracks = [track for track in self.tracks if all(track is not other for other in taken)]
        self._paint_owners(frame_shape, plan.foot_ages)
        return list(self.tracks)

    def _followed(self, t: int, track: Track, plan: FramePlan) -> list[Stance]:
        """The stances of track `t`'s feet in `plan` (`follow_stances`). For a person who had feet in the last frame,
        from the cells each of those feet held (the plan found them), not by comparing cells again."""
        feet = plan.matched[t].feet
        if track.frames_since_update:
            return follow_stances(feet, track.stances)
        return [stance_of(foot, next((self._held_stances[h] for h in plan.held_before[id(foot)]
                                      if self._held[h][0] == t and self._held_stances[h] is not None), None))
                for foot in feet]

    def _apply(self, track: Track, detection: PersonDetection, dt: float, stances: list[Stance]) -> None:
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
        track.stances = stances
        track.feet_heading = heading_from_feet(track.stances, track.walking_velocity(cfg.step_time), track.heading,
                                               cfg, detection.frame_shape[1])
        track.heading = heading_along_path(track.feet_heading, track.walking_velocity(cfg.heading_path_time), cfg)
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
        self._held_stances = []
        for t, track in enumerate(self.tracks):
            if track.frames_since_update == 0:
                stance_of = {id(stance.foot): stance for stance in track.stances}
                for foot in track.detection.feet:
                    self._held.append((t, foot_ages.get(id(foot), 0.0), shows_axis(foot, self.config), foot.axis))
                    self._held_stances.append(stance_of.get(id(foot)))
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
        identity, recent = forces[:-_WEIGHT_SAMPLES], _median(forces[-_WEIGHT_SAMPLES:])
        half = len(identity) // 2
        first, second = _median(identity[:half]), _median(identity[half:])
        if min(first, second, recent) <= 0 or abs(math.log(first / second)) > self.config.weight_tolerance:
            return None
        return recent, _median(identity)

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


    def _hand_overs(self, dt: float) -> None:
        """Make a newcomer of each recognised person's track whose weight over the last settle_time of contact
        clear of the edge shows that somebody else stands on its feet (`IdentityMemory.left_their_feet`): a new,
        provisional id (withheld live until settled, as any newcomer's), and a signature of the newer half of those
        frames only. Checked with the swaps, after them (two present people exchanged get their ids back instead)."""
        if self._frames % _SWAP_CHECK_FRAMES:
            return
        recent = max(1, round(self.config.settle_time / dt))
        for track in self.tracks:
            if track.state != TrackState.CONFIRMED or track.frames_since_update or not track.identified or \
                    len(track.forces) < recent:
                continue
            forces = list(track.forces)[-recent:]
            weight = _median(np.asarray(forces))
            if weight <= 0 or not self.identities.left_their_feet(track, weight, self._clock):
                continue
            track.track_id, self._next_id = self._next_id, self._next_id + 1
            track.identified = False
            # The median moved: most of the window is the newcomer's, its newer half the likeliest.
            track.forces = deque(forces[recent // 2:], maxlen=_SIGNATURE_SAMPLES)
            track.foot_lengths.clear()   # not kept frame by frame: the next whole feet are the newcomer's
            track.contact_time = (recent - recent // 2) * dt


def _median(values: np.ndarray) -> float:
    """np.median of finite `values` from one sort, without its Python layers (every person, every few frames): the
    middle value, or the mean of the middle two as np.median takes it ((a + b) / 2)."""
    ordered = np.sort(values)
    middle = ordered.size // 2
    return float(ordered[middle]) if ordered.size % 2 else float((ordered[middle - 1] + ordered[middle]) / 2.0)
