"""Who is who over hours: the body signatures of the people who left, and the ids of the people who come back.

A person's body signature is their weight (median force on the mat) and foot length, from frames clear of the
mat's edge. A departed person's signature is kept reid_memory seconds (the gallery): the median of the signatures
of their last visits that fitted it, so one visit weighed wrong (a foot of somebody else's taken, a hand-over) does
not move it; while they are back on the mat their entry waits for their departure (`returned`), so a return
recognised wrongly loses nobody's entry. Over 30 minutes a gallery that kept only each person's last visit, dropped
on every return and rewritten on every departure, decayed: one bad visit lost a person for good.

A newcomer's id is provisional until settled (`IdentityMemory.identify`): at once if nobody is away; else by one
assignment of the newcomers weighed in that frame to the departed and lost people within reid_gate, taken once
weighed (signature_time of contact) if the match is clear, else after settle_time, when matching nobody keeps the
provisional id; one who leaves before that is settled on departure (`IdentityMemory.depart`). A recognised newcomer
takes the known id (`recognised`: provisional -> known); a person who departs with a gallery entry (the median
over their visits) within reid_gate of another's is one person under two ids, merged into one entry under the id
given first (offline every row of the later id is relabelled). A single visit that does not fit its person's entry
changes no entry and merges nobody: relabelled offline, it would merge all the rows of two people. A recognised
person whose track comes to weigh as somebody else has left it (`left_their_feet`): their entry goes back to the
gallery at once. How far two signatures may lie apart depends on how long each was weighed
(`BodySignature.distance`).

Live, every change of the id a person is published under is an id switch, and a provisional id replaced by the known
one is two (the provisional id, then the known). So a newcomer whose id is provisional is withheld (the tracker
reports them, a live consumer sees them as tentative) until it is settled, and published from then on under the
settled id only. A guess of who they are by where they stepped on (who left nearest) was right on half the returns of
the tuning long session (4 people, 10 minutes), and each wrong guess cost two switches. `renamed` holds the changes
of a withheld person's id (provisional -> known), so a consumer that kept them while tentative carries them over.

The tracks handed in are `tracking.Track`s; only their id, whether it is settled (`identified`), their contact
time and signature are read here.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from .config import TrackerConfig

_NEVER = 1e6   # cost of a pair outside the gate
_VISITS_KEPT = 9   # visits a gallery entry's signature is the median of (an odd count: one median visit)


@dataclass(frozen=True)
class BodySignature:
    """What a person's footprints tell about their body: weight_n [N] and foot_length_m [m], measured over
    seconds [s] of contact clear of the mat's edge."""

    weight_n: float
    foot_length_m: float
    seconds: float

    def distance(self, other: BodySignature, config: TrackerConfig) -> float:
        """Distance in estimation errors: weight as a log ratio (errors scale with weight, and the unit
        cancels), foot length in metres. Each signature's error is its tolerance (weight_tolerance,
        foot_length_tolerance: of one weighed over signature_time) shrunk as sqrt(signature_time / seconds): a
        walk's swings of force and foot contact average out step by step (tuning long sessions: a visit's weight
        within a median 1.8 % of the person's over 1-2 s, 0.5 % over 2-4 s, 0.2 % over 4-8 s); the two errors add
        in quadrature. Two people 3 % apart thus stay apart once each was weighed for several seconds."""
        scale = math.sqrt(config.signature_time / self.seconds + config.signature_time / other.seconds)
        weight = math.log(self.weight_n / other.weight_n) / (config.weight_tolerance * scale)
        foot = (self.foot_length_m - other.foot_length_m) / (config.foot_length_tolerance * scale)
        return math.hypot(weight, foot)

    @staticmethod
    def median_of(visits: Sequence[BodySignature]) -> BodySignature:
        """One signature of several visits: their medians (a visit weighed wrong does not move it), weighed over
        their total time (a median of visits is about as good as their time)."""
        return BodySignature(float(np.median([v.weight_n for v in visits])),
                             float(np.median([v.foot_length_m for v in visits])), sum(v.seconds for v in visits))


@dataclass(frozen=True)
class DepartedPerson:
    """A person who left the mat: their id, signature and when they left [s, tracker clock]. `visits`: the signatures of their last visits (at most _VISITS_KEPT)
    that fitted them; `signature` is their median, so one visit weighed wrong (a foot of somebody else's taken, a
    hand-over) does not move it."""

    track_id: int
    signature: BodySignature
    departed_at: float
    visits: tuple[BodySignature, ...]

    @classmethod
    def of_visits(cls, track_id: int, visits: tuple[BodySignature, ...], clock: float) -> DepartedPerson:
        """A gallery entry of the last _VISITS_KEPT of `visits` (oldest first), the person having left at `clock`."""
        visits = visits[-_VISITS_KEPT:]
        return cls(track_id, BodySignature.median_of(visits), clock, visits)

    def with_visit(self, signature: BodySignature, clock: float) -> DepartedPerson:
        """This person after one more visit that fitted them, which ended at `clock`."""
        return DepartedPerson.of_visits(self.track_id, self.visits + (signature,), clock)


class IdentityMemory:
    """The gallery of departed people and the settling of newcomers' ids (see the module docstring)."""

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self.departed: list[DepartedPerson] = []
        self.returned: dict[int, DepartedPerson] = {}   # gallery entries of known people back on the mat, by id
        self.recognised: dict[int, int] = {}   # this frame's people who took a known id: provisional id -> it
        self.renamed: dict[int, int] = {}      # this frame's changes of a withheld person's id: the one before -> now

    def start_frame(self, clock: float | None) -> None:
        """Forget the last frame's renames and (at `clock`) the people who left more than reid_memory ago."""
        self.recognised, self.renamed = {}, {}
        if clock is not None:
            self.departed = [p for p in self.departed if clock - p.departed_at <= self.config.reid_memory]

    def identify(self, newcomers: list, lost: list) -> list:
        """Settle the id of each confirmed newcomer whose id is still provisional. With nobody absent to be: a new
        person at once. Else, once weighed (signature_time of contact clear of the mat's edge), the absent person
        (departed within reid_memory, or one of the `lost` tracks) they are assigned to, at once if the match is
        clear, else once settle_time of contact has made it firm; matching nobody by then, a new person.
        Newcomers weighed in the same frame are assigned together (one global assignment: an absent person comes
        back once). One who leaves before that is settled on departure (`depart`). Returns the lost tracks whose
        id a newcomer took (they are that newcomer: the caller drops them)."""
        cfg = self.config
        absent = self._absent(lost)
        weighed, signatures = [], []
        for track in newcomers:
            if not absent:
                track.identified = True
            elif (signature := track.signature(cfg)) is not None:
                weighed.append(track)
                signatures.append(signature)
        taken = []
        if not weighed:
            return taken
        for track, (known_id, clear) in zip(weighed, self._recognise(signatures, absent)):
            if clear or track.contact_time >= cfg.settle_time:
                self._settle(track, known_id)
                taken += [other for other in lost if known_id is not None and other.track_id == known_id]
        return taken

    def depart(self, track, clock: float) -> None:
        """Keep what a person who left showed of their body (if they were weighed). One whose id was still
        provisional is settled now, as the departed person they match best within reid_gate, or nobody.
        A person who came back as somebody known (recognised, or settled so now) adds this visit to that person's
        entry if it fits it within reid_gate; one that does not (weighed wrong, or recognised wrongly) leaves the
        entry as it was. A person first seen on this visit is a new entry. An entry then within reid_gate of
        another one of the gallery is that person recorded under a second id (an id given while their signature
        was off, a return not recognised while their entry was held by somebody recognised wrongly): the two
        become one under the id given first (ids rise), the one the person was published under first and, but for
        one visit, longest (`recognised`: offline every row of the later id is relabelled, as medians over visits
        make the match that of the people, not of one visit). Keeping the other's id instead renamed a person
        whose entry had been held by a wrong track for the rest of the session (tuning long session, seed 500, 30
        minutes: published IDF1 58.2 %, 82.2 % this way)."""
        cfg = self.config
        signature = track.signature(cfg)
        known = self.returned.pop(track.track_id, None)
        if signature is not None and not track.identified:
            gallery = [(person.track_id, person.signature) for person in self.departed]
            self._settle(track, self._recognise([signature], gallery)[0][0] if gallery else None)
            known = self.returned.pop(track.track_id, None)
        if known is None:
            if signature is None:
                return
            entry = DepartedPerson.of_visits(track.track_id, (signature,), clock)
        elif signature is not None and signature.distance(known.signature, cfg) <= cfg.reid_gate:
            entry = known.with_visit(signature, clock)
        else:
            entry = replace(known, departed_at=clock)
        same = [(entry.signature.distance(person.signature, cfg), index) for index, person in enumerate(self.departed)]
        same = [match for match in same if match[0] <= cfg.reid_gate]
        if same:
            other = self.departed.pop(min(same)[1])
            first, second = sorted((other.track_id, entry.track_id))
            self.recognised[second] = first
            track.track_id = first
            entry = DepartedPerson.of_visits(first, other.visits + entry.visits, clock)
        self.departed.append(entry)

    def left_their_feet(self, track, recent_weight_n: float, clock: float) -> bool:
        """Whether the person a track was recognised as no longer stands on its feet: its weight over the last
        settle_time of contact (`recent_weight_n` [N]) is farther than reid_gate from their gallery entry's
        (`BodySignature.distance`, weight alone). A body's weight does not change while it walks, and over
        settle_time the mat weighs it to ~1 % (tuning long session, seed 500: 99 % of such checks within 3 %, a
        track on another person's feet 11-50 % off):
        that person has left the mat where somebody else took over their track (a hand-over at close quarters, an
        exit and an entry on one spot). Their entry goes back to the gallery as of `clock` (anybody may be them when
        they return); the caller makes the track a newcomer. A person first seen on this visit has no entry yet."""
        entry = self.returned.get(track.track_id)
        if entry is None:
            return False
        recent = BodySignature(recent_weight_n, entry.signature.foot_length_m, self.config.settle_time)
        if recent.distance(entry.signature, self.config) <= self.config.reid_gate:
            return False
        del self.returned[track.track_id]
        self.departed.append(replace(entry, departed_at=clock))
        return True

    def _settle(self, track, known_id: int | None) -> None:
        """Settle `track`'s id: it is `known_id` (an absent person's, who is then no longer absent: their gallery
        entry waits in `returned` until they leave again; their provisional id goes to `recognised`), or, None,
        their own."""
        track.identified = True
        if known_id is not None:
            self.recognised[track.track_id] = known_id
            self.renamed[track.track_id] = known_id
            for person in self.departed:
                if person.track_id == known_id:
                    self.returned[known_id] = person
            self.departed = [person for person in self.departed if person.track_id != known_id]
            track.track_id = known_id

    def _absent(self, lost: list) -> list[tuple[int, BodySignature]]:
        """(id, signature) of the people who may come back: departed within reid_memory, and the `lost` (without
        feet, not yet departed) with a settled id and a signature."""
        waiting = [(track.track_id, signature) for track in lost
                   if track.identified and (signature := track.signature(self.config)) is not None]
        return [(person.track_id, person.signature) for person in self.departed] + waiting

    def _recognise(self, signatures: list[BodySignature], absent: list[tuple[int, BodySignature]]
                   ) -> list[tuple[int | None, bool]]:
        """Per signature, the id it is recognised as (None: nobody absent) and whether that is clear: the
        assignment of signatures to absent people of least total distance (in tolerances,
        `BodySignature.distance`), where a pair farther than reid_gate is never made; clear when the pair is
        within half the gate and nobody else absent is within the gate. Present people are not candidates:
        nobody is in two places."""
        cfg = self.config
        distance = np.array([[signature.distance(other, cfg) for _, other in absent] for signature in signatures])
        cost = np.where(distance <= cfg.reid_gate, distance, _NEVER)
        matches: list[tuple[int | None, bool]] = [(None, False)] * len(signatures)
        for s, a in zip(*linear_sum_assignment(cost)):
            if cost[s, a] < _NEVER:
                rivals = np.count_nonzero(distance[s] <= cfg.reid_gate) - 1
                matches[s] = (absent[a][0], distance[s, a] <= 0.5 * cfg.reid_gate and rivals == 0)
        return matches
