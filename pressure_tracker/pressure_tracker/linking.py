"""Hindsight for an offline file: the tracklets of a whole tracked file linked into people.

Live, a person's id is decided frame by frame; a return the gallery did not recognise, or feet lost for a moment and
found as a newcomer, is a new id for good (identity.py). Offline the whole file is known, so the writer may link
tracklets after tracking, as MOT trackers' global linking steps do (StrongSORT's AFLink: tracklets joined by
appearance and space-time continuity). Here a tracklet is all the rows of one id of the file (several visits when
the tracker recognised a return), and two tracklets are one person only if:
- they are never in the same frame (nobody is in two places);
- at every junction (a row of one, then the next row of the other, `gap` seconds later) the second begins within
  walk_speed * gap + max_step of where the first was last seen (reachable at walking speed; max_step: the box
  centre moves by up to a step between frames); a junction longer than lost_time (the time the tracker keeps a person
  without feet on the mat) is a departure and a return: the first ended and the second began within a foot's
  length (foot_length_max) of the mat's border; none is longer than reid_memory;
- their body signatures (the median over each one's visits of `Track.signature`, as the gallery pools visits)
  lie within reid_gate (`BodySignature.distance`), each judged as weighed over signature_time however long its
  visits were: a tracklet's rows may hold pieces of other people (a foot taken, a hand-over) and its edge walkers are
  weighed off, so its median does not sharpen with time as one visit's does (tuning side_by_side seed 3: an edge
  walker's 2.1 s visit weighed 5.7 % light of their 11 s median; the time-scaled gate left them two people).
A tracklet never weighed (an edge walker's feet on the border all along, a piece shorter than signature_time) has no
body to tell: it links to a weighed one only when every other weighed tracklet it may be (by space, time and body)
may be that one's person too (nobody else it can be: the other people were on the mat meanwhile), or when its
junctions are steps (at most step_time and max_step: feet missed for a moment), at a cost of reid_gate times the
largest share of the walking reach a junction used. Two unweighed tracklets are never linked to each other except
by steps: pieces that can be no weighed person are ghosts or parts of someone present, and who is who among them
is a guess.

Solved in rounds of one global assignment each (Hungarian): every tracklet may be linked to one tracklet that began
before it, at the cost above, or to nobody at reid_gate; links are made cheapest first, each tracklet in one link
per round (a chain waits for the next round). Linked tracklets pool their visits' signatures (more visits, a firmer
median) and the next round assigns again with their new costs, until a round links nobody. A person's id is that of
their earliest tracklet. Pure numpy/scipy: the offline writer (motchallenge.OfflineFile) calls it; the live node's
ids are never changed by hindsight.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from scipy.optimize import linear_sum_assignment

from .config import TrackerConfig
from .identity import BodySignature

_NEVER = 1e6   # cost of a link that may not be made


@dataclass
class Tracklet:
    """One id's rows: frames (sorted, 1-based), box centres (n, 2) [m], whether each box lies within a foot's length
    of the border (n,), and the signatures of the visits behind it (`Track.signature` of each, None: not weighed)."""

    track_id: int
    frames: np.ndarray
    centres: np.ndarray
    at_border: np.ndarray
    visits: list[BodySignature]

    @cached_property   # read for every pair of every round; a tracklet's visits never change (merged: a new one)
    def signature(self) -> BodySignature | None:
        """The median of the visits' signatures (a visit weighed wrong does not move it), None if none was weighed."""
        if not self.visits:
            return None
        return BodySignature.median_of(self.visits)

    def merged(self, other: Tracklet) -> Tracklet:
        """One person's tracklet of both, under the id of the one that began first."""
        order = np.argsort(np.concatenate([self.frames, other.frames]), kind="stable")
        return Tracklet(self.track_id if self.frames[0] <= other.frames[0] else other.track_id,
                        np.concatenate([self.frames, other.frames])[order],
                        np.concatenate([self.centres, other.centres])[order],
                        np.concatenate([self.at_border, other.at_border])[order], self.visits + other.visits)


def tracklets_of(frames: np.ndarray, ids: np.ndarray, boxes: np.ndarray, shape: tuple[int, int],
                 visits: Mapping[int, Sequence[BodySignature | None]], fps: float,
                 config: TrackerConfig) -> list[Tracklet]:
    """The tracklets of a file's rows: frames (n,) 1-based, ids (n,), boxes (n, 4) x1,y1,x2,y2 [cells] on a mat of
    `shape` (rows, cols) at `fps`; visits: per id, the signatures of the visits behind it. An id with fewer rows than
    signature_time takes was not weighed on its own frames (the rows a recognised newcomer kept under its provisional
    id where the known id had a box already): its visits' signatures are another stretch's, and it counts as
    unweighed."""
    frames, ids, boxes = np.asarray(frames), np.asarray(ids), np.asarray(boxes, dtype=float).reshape(-1, 4)
    pitch = config.cell_pitch
    centres = np.stack([(boxes[:, 0] + boxes[:, 2]), (boxes[:, 1] + boxes[:, 3])], axis=1) * (0.5 * pitch)
    # As Track.left_over_edge: the box comes within a foot's length of the border.
    margin = np.min([boxes[:, 0], boxes[:, 1], shape[1] - boxes[:, 2], shape[0] - boxes[:, 3]], axis=0) * pitch
    at_border = margin < config.foot_length_max
    tracklets = []
    for track_id in np.unique(ids):
        mine = np.flatnonzero(ids == track_id)
        mine = mine[np.argsort(frames[mine], kind="stable")]
        weighed = len(mine) >= config.signature_time * fps
        tracklets.append(Tracklet(int(track_id), frames[mine], centres[mine], at_border[mine],
                                  [v for v in visits.get(int(track_id), ()) if v is not None and weighed]))
    return tracklets


@dataclass(frozen=True)
class Continuity:
    """How two tracklets that may be one person join: the largest share of the walking reach a junction used, and
    whether every junction is a step (at most step_time and max_step: feet missed for a moment)."""

    reach_used: float
    stepped: bool


def continuity(earlier: Tracklet, later: Tracklet, fps: float, config: TrackerConfig) -> Continuity | None:
    """How `later` may continue `earlier` as one person (see the module docstring); None if it cannot."""
    if earlier.frames[-1] < later.frames[0]:   # one junction: the last row of one, the first of the other
        frames_a, centres_a, border_a = earlier.frames[-1:], earlier.centres[-1:], earlier.at_border[-1:]
        frames_b, centres_b, border_b = later.frames[:1], later.centres[:1], later.at_border[:1]
    else:   # interleaved: a junction wherever the rows pass from one to the other
        if np.intersect1d(earlier.frames, later.frames, assume_unique=True).size:
            return None
        frames = np.concatenate([earlier.frames, later.frames])
        order = np.argsort(frames, kind="stable")
        frames = frames[order]
        source = np.concatenate([np.zeros(len(earlier.frames), bool), np.ones(len(later.frames), bool)])[order]
        centres = np.concatenate([earlier.centres, later.centres])[order]
        border = np.concatenate([earlier.at_border, later.at_border])[order]
        junction = np.flatnonzero(source[1:] != source[:-1])
        frames_a, frames_b = frames[junction], frames[junction + 1]
        centres_a, centres_b = centres[junction], centres[junction + 1]
        border_a, border_b = border[junction], border[junction + 1]
    gaps = (frames_b - frames_a) / fps
    distances = np.linalg.norm(centres_b - centres_a, axis=1)
    reach_used = distances / (config.walk_speed * gaps + config.max_step)
    departed = gaps > config.lost_time
    if np.any(gaps > config.reid_memory) or np.any(reach_used > 1.0) or np.any(departed & ~(border_a & border_b)):
        return None
    stepped = bool(np.all((gaps <= config.step_time) & (distances <= config.max_step)))
    return Continuity(float(reach_used.max()), stepped)


def link_cost(earlier: Tracklet, later: Tracklet, joined: Continuity | None, clear: tuple[bool, bool],
              config: TrackerConfig) -> float:
    """The cost of `later` being the same person as `earlier` (see the module docstring), who join as `joined`;
    clear: for each, whether every other weighed tracklet it may be may be the other one's person too (nobody else it
    can be). _NEVER if they cannot be one person."""
    if joined is None:
        return _NEVER
    signature_a, signature_b = earlier.signature, later.signature
    if signature_a is not None and signature_b is not None:
        distance = _body_distance(signature_a, signature_b, config)
        return distance if distance <= config.reid_gate else _NEVER
    # Unweighed: one whose feet were missed for a moment, or one who can be nobody but a weighed person.
    if joined.stepped or (signature_a is None and signature_b is not None and clear[0]) or \
            (signature_b is None and signature_a is not None and clear[1]):
        return config.reid_gate * joined.reach_used
    return _NEVER


def link(tracklets: list[Tracklet], fps: float, config: TrackerConfig) -> dict[int, int]:
    """Per tracklet id, the id of the person it is linked into (its own if none); see the module docstring."""
    people = {t.track_id: t for t in tracklets}
    person_of = {t.track_id: t.track_id for t in tracklets}
    joins: dict[tuple[int, int, int, int], Continuity | None] = {}   # by ids and sizes: unchanged pairs are kept
    while True:
        current = sorted(people.values(), key=lambda t: t.frames[0])
        n = len(current)
        joined = [[None] * n for _ in range(n)]
        for j, later in enumerate(current):
            for i, earlier in enumerate(current[:j]):
                key = (earlier.track_id, len(earlier.frames), later.track_id, len(later.frames))
                if key not in joins:
                    joins[key] = continuity(earlier, later, fps, config)
                joined[j][i] = joins[key]
        # may[i, j]: tracklets i and j may be one person, by space and time and, if both were weighed, by body.
        may = np.zeros((n, n), dtype=bool)
        for j, later in enumerate(current):
            for i, earlier in enumerate(current[:j]):
                may[i, j] = may[j, i] = joined[j][i] is not None and _same_body(earlier, later, config)
        weighed = np.array([t.signature is not None for t in current])
        cost = np.full((n, n), _NEVER)
        for j, later in enumerate(current):
            for i, earlier in enumerate(current[:j]):
                if may[i, j]:
                    clear = (_clear(may, weighed, i, j), _clear(may, weighed, j, i))
                    cost[j, i] = link_cost(earlier, later, joined[j][i], clear, config)
        # Each later tracklet takes one earlier one or nobody (its own column at reid_gate).
        rows, cols = linear_sum_assignment(np.hstack([cost, np.where(np.eye(n, dtype=bool), config.reid_gate, _NEVER)]))
        links = sorted((cost[j, i], i, j) for j, i in zip(rows, cols) if i < n and cost[j, i] < _NEVER)
        changed: set[int] = set()
        for _, i, j in links:
            if i in changed or j in changed:
                continue   # linked already this round (a chain): decided again next round, with their new costs
            a, b = current[i], current[j]
            merged = a.merged(b)
            del people[a.track_id], people[b.track_id]
            people[merged.track_id] = merged
            person_of[a.track_id] = person_of[b.track_id] = merged.track_id
            changed |= {i, j}
        if not changed:
            return {track_id: _root(person_of, track_id) for track_id in person_of}


def _same_body(a: Tracklet, b: Tracklet, config: TrackerConfig) -> bool:
    """Whether two tracklets' signatures lie within reid_gate (True when either was not weighed)."""
    signature_a, signature_b = a.signature, b.signature
    if signature_a is None or signature_b is None:
        return True
    return _body_distance(signature_a, signature_b, config) <= config.reid_gate


def _body_distance(a: BodySignature, b: BodySignature, config: TrackerConfig) -> float:
    """`BodySignature.distance` of two tracklets' signatures, each as weighed over signature_time."""
    return replace(a, seconds=config.signature_time).distance(replace(b, seconds=config.signature_time), config)


def _clear(may: np.ndarray, weighed: np.ndarray, i: int, j: int) -> bool:
    """Whether every weighed tracklet other than j that tracklet i may be one person with may be one person with j
    too (nobody else it can be; an unweighed one is undecided itself, and no rival)."""
    others = np.flatnonzero(may[i] & weighed)
    others = others[others != j]
    return bool(may[others, j].all())


def _root(person_of: dict[int, int], track_id: int) -> int:
    while person_of[track_id] != track_id:
        track_id = person_of[track_id]
    return track_id
