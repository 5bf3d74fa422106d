"""Identities over comings and goings: a person who comes back is confirmed at once under a provisional id, which
is replaced by their own once they are recognised (and never by anyone else's; live they are withheld until then); people of different weight who come
back in the other order each get their own, a newcomer who matches nobody keeps their new id, one who leaves before
being settled is settled on departure, and a person who walks off the mat's edge is not continued by whoever steps
on there next."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from test_tracker_design import SHAPE, standing
from pressure_tracker.motchallenge import MotRow, Scene, ids_twice_in_a_frame, relabelled, track_scene
from pressure_tracker.tracker import PressureTracker, TrackState, TrackerConfig

FPS = 15.0
EMPTY = np.zeros(SHAPE, dtype=np.float32)
# Peak pressures of people of one foot shape: force scales with them (200 vs 280 kPa: 40 % heavier).
LIGHT, HEAVY, MIDDLE = 200.0, 280.0, 240.0


class Session:
    """A tracker fed standing frames for given seconds; what it confirmed and recognised."""

    def __init__(self, config: TrackerConfig = TrackerConfig(report_lost=False)) -> None:
        self.tracker = PressureTracker(config)
        self.frame = 0
        self.recognised: dict[int, int] = {}

    def stay(self, frame: np.ndarray, seconds: float) -> list[set[int]]:
        """Confirmed ids of each frame of `seconds` of `frame`."""
        confirmed = []
        for _ in range(int(round(seconds * FPS))):
            people = self.tracker.update(frame, self.frame / FPS)
            self.frame += 1
            self.recognised |= self.tracker.recognised
            confirmed.append({p.track_id for p in people if p.state == TrackState.CONFIRMED})
        return confirmed


def test_a_returning_person_is_published_at_once_and_takes_their_own_id_when_recognised():
    session = Session()
    light, heavy = standing((0.6, 0.5), peak_kpa=LIGHT), standing((0.6, 1.8), peak_kpa=HEAVY)
    assert session.stay(light + heavy, 2.0)[-1] == {1, 2}
    assert session.stay(heavy, 5.0)[-1] == {2}                      # the light person leaves (and departs)
    back = session.stay(standing((0.5, 1.0), peak_kpa=LIGHT) + heavy, 3.0)
    assert back[TrackerConfig.min_hits - 1] == {2, 3}                 # published at min_hits, under a provisional id
    assert back[-1] == {1, 2}
    assert session.recognised == {3: 1}                               # ... replaced once by their own
    assert all(ids in ({2, 3}, {1, 2}) for ids in back[TrackerConfig.min_hits - 1:])
    # a clear match (the only person away, the same body) is recognised once weighed, before settle_time
    frames_before = next(i for i, ids in enumerate(back) if 1 in ids) + 1
    assert frames_before < round(TrackerConfig.settle_time * FPS)


def test_two_people_of_different_weight_who_return_in_the_other_order_get_their_own_ids():
    session = Session()
    light, heavy = standing((0.6, 0.5), peak_kpa=LIGHT), standing((0.6, 1.8), peak_kpa=HEAVY)
    assert session.stay(light + heavy, 2.0)[-1] == {1, 2}
    assert session.stay(heavy, 2.0)[-1] == {2}                      # the light one leaves first ...
    assert session.stay(EMPTY, 2.0)[-1] == set()                    # ... then the heavy one
    assert session.stay(standing((0.4, 1.2), peak_kpa=HEAVY), 2.0)[-1] == {2}     # the heavy one comes back first
    both = session.stay(standing((0.4, 1.2), peak_kpa=HEAVY) + standing((0.8, 0.4), peak_kpa=LIGHT), 2.0)
    assert both[-1] == {1, 2}
    assert sorted(session.recognised.values()) == [1, 2]


def test_a_newcomer_who_matches_nobody_keeps_their_new_id():
    session = Session()
    light = standing((0.6, 0.5), peak_kpa=LIGHT)
    assert session.stay(light, 2.0)[-1] == {1}
    assert session.stay(EMPTY, 4.0)[-1] == set()                    # departed: their signature is kept
    arrival = session.stay(standing((0.6, 1.2), peak_kpa=MIDDLE), 3.0)   # 20 % heavier: somebody else
    assert all(ids == {2} for ids in arrival[TrackerConfig.min_hits - 1:])   # published at once, never renamed
    assert not session.recognised
    assert session.tracker.tracker.tracks[0].identified                     # settled by settle_time


def test_a_newcomer_who_leaves_before_being_settled_is_settled_on_departure():
    # settle_time beyond the visit, and two people away: the weak match is settled when the newcomer leaves
    session = Session(TrackerConfig(report_lost=False, settle_time=30.0))
    light, heavy = standing((0.6, 0.5), peak_kpa=LIGHT), standing((0.6, 1.8), peak_kpa=HEAVY)
    assert session.stay(light + heavy, 2.0)[-1] == {1, 2}
    session.stay(EMPTY, 4.0)                                          # both depart
    visit = session.stay(standing((0.5, 1.0), peak_kpa=LIGHT * 1.04), 2.0)   # a little off the light one
    assert visit[-1] == {3} and not session.recognised                # not clear: still provisional
    session.stay(EMPTY, 4.0)                                          # leaves: settled as the light person
    assert session.recognised == {3: 1}


def test_one_who_leaves_matching_an_older_gallery_entry_takes_its_id():
    # Two people the signature cannot tell apart (same weight, same feet), both new when they arrived (nobody was
    # away): the first leaves into the gallery; the second, leaving, matches that entry and takes its id, so the
    # gallery holds one entry and the next return takes one id back, not either at random.
    session = Session()
    first, second = standing((0.6, 0.5), peak_kpa=LIGHT), standing((0.6, 1.8), peak_kpa=LIGHT)
    assert session.stay(first + second, 2.0)[-1] == {1, 2}
    session.stay(second, 4.0)                                         # the first departs
    assert not session.recognised
    session.stay(EMPTY, 4.0)                                          # the second departs: matches entry 1
    assert session.recognised == {2: 1}
    assert [person.track_id for person in session.tracker.tracker.departed] == [1]


def test_a_track_that_comes_to_weigh_as_another_is_that_person_and_merges_nobody():
    # The light person comes back and is recognised; then their track weighs like the heavy one (somebody else on
    # those feet: a hand-over, an exit and an entry on one spot) until they leave. Within a few seconds the track is
    # a newcomer, withheld, then recognised as the heavy person; the light person's id is never given to the heavy
    # one's feet for good, nor the two merged (offline: every row of both under one id), and the light person's next
    # return is recognised as them again.
    session = Session()
    light, heavy = standing((0.6, 0.5), peak_kpa=LIGHT), standing((0.6, 1.8), peak_kpa=HEAVY)
    assert session.stay(light + heavy, 2.0)[-1] == {1, 2}
    session.stay(EMPTY, 4.0)                                          # both depart
    assert session.stay(standing((0.5, 1.0), peak_kpa=LIGHT), 2.0)[-1] == {1}   # recognised
    taken_over = session.stay(standing((0.5, 1.0), peak_kpa=HEAVY), 6.0)
    handed_over = next(i for i, ids in enumerate(taken_over) if 1 not in ids)
    assert handed_over < round(TrackerConfig.settle_time * FPS)      # within the window a weight is firm over
    assert taken_over[handed_over] == {4}                             # a newcomer (withheld live) ...
    assert all(ids == {2} for ids in taken_over[handed_over + 1:])    # ... at once recognised as the heavy person
    session.stay(EMPTY, 4.0)                                          # leaves
    assert session.recognised == {3: 1, 4: 2}                         # no merge of 1 into 2
    assert sorted(person.track_id for person in session.tracker.tracker.departed) == [1, 2]
    assert session.stay(standing((0.5, 1.0), peak_kpa=LIGHT), 2.0)[-1] == {1}   # the light one back: still 1


class _Leaving:
    """What IdentityMemory.depart reads of a track: a settled id and its signature."""

    def __init__(self, track_id: int, signature) -> None:
        self.track_id, self.identified = track_id, True
        self._signature = signature

    def signature(self, config: TrackerConfig):
        return self._signature


def test_one_person_under_two_known_ids_becomes_one_entry_when_their_medians_meet():
    # Person 1 is in the gallery; id 2 (a return not recognised while entry 1 was held) has visits of its own. When 2
    # leaves with an entry within reid_gate of 1's, both are one person: one entry, under 1, with all the visits.
    from pressure_tracker.identity import BodySignature, DepartedPerson, IdentityMemory

    memory = IdentityMemory(TrackerConfig())
    memory.departed = [DepartedPerson.of_visits(1, (BodySignature(600.0, 0.26, 8.0),) * 3, 0.0)]
    memory.returned = {2: DepartedPerson.of_visits(2, (BodySignature(606.0, 0.26, 8.0),) * 2, 5.0)}
    leaving = _Leaving(2, BodySignature(603.0, 0.26, 8.0))
    memory.depart(leaving, 10.0)
    assert memory.recognised == {2: 1} and leaving.track_id == 1
    assert [(person.track_id, len(person.visits)) for person in memory.departed] == [(1, 6)]
    # a visit that does not fit its own entry merges nobody, even if it fits another's
    memory.start_frame(10.0)
    memory.returned = {3: DepartedPerson.of_visits(3, (BodySignature(800.0, 0.28, 8.0),) * 3, 5.0)}
    memory.depart(_Leaving(3, BodySignature(601.0, 0.26, 8.0)), 11.0)
    assert not memory.recognised
    assert sorted(person.track_id for person in memory.departed) == [1, 3]


def test_one_person_under_two_ids_keeps_the_id_given_first_whichever_of_the_two_leaves_last():
    # Person 1 (nine visits) was held on the mat by a track that took somebody else's feet; meanwhile they came back
    # unrecognised as 7 and left. When the track under 1 leaves, its entry (unchanged: the visit did not fit) meets
    # 7's: one person, kept under 1, the id they were published under first and longest (7's rows become 1's).
    from pressure_tracker.identity import BodySignature, DepartedPerson, IdentityMemory

    memory = IdentityMemory(TrackerConfig())
    memory.departed = [DepartedPerson.of_visits(7, (BodySignature(603.0, 0.26, 8.0),), 8.0)]
    memory.returned = {1: DepartedPerson.of_visits(1, (BodySignature(600.0, 0.26, 8.0),) * 9, 0.0)}
    leaving = _Leaving(1, BodySignature(760.0, 0.29, 8.0))
    memory.depart(leaving, 10.0)
    assert memory.recognised == {7: 1} and leaving.track_id == 1
    assert [(person.track_id, len(person.visits)) for person in memory.departed] == [(1, 9)]


def test_people_a_few_percent_apart_are_told_apart_once_each_was_weighed_for_a_while():
    # Two people with the same feet, 4 % apart in weight: after ten-second visits each (a signature's error shrinks
    # with the time it was weighed over) they are two entries; from one-second glimpses they cannot be told apart
    # and are one.
    from pressure_tracker.identity import BodySignature, DepartedPerson, IdentityMemory

    for seconds, entries in ((10.0, [1, 2]), (1.0, [1])):
        memory = IdentityMemory(TrackerConfig())
        memory.departed = [DepartedPerson.of_visits(1, (BodySignature(600.0, 0.26, seconds),), 0.0)]
        memory.depart(_Leaving(2, BodySignature(624.0, 0.26, seconds)), 10.0)
        assert sorted(person.track_id for person in memory.departed) == entries


def test_a_gallery_entry_is_the_median_of_its_visits():
    from pressure_tracker.identity import BodySignature, DepartedPerson

    entry = DepartedPerson.of_visits(1, (BodySignature(600.0, 0.26, 8.0),), 0.0)
    for weight, clock in ((606.0, 10.0), (690.0, 20.0)):               # the last visit weighed 15 % heavy
        entry = entry.with_visit(BodySignature(weight, 0.26, 8.0), clock)
    assert entry.signature == BodySignature(606.0, 0.26, 24.0) and entry.departed_at == 20.0
    assert len(entry.visits) == 3


def test_nobody_away_means_confirmed_at_min_hits():
    session = Session(TrackerConfig(report_lost=False, min_hits=3))
    arrival = session.stay(standing((0.6, 1.2)), 1.0)
    assert [bool(ids) for ids in arrival[:4]] == [False, False, True, True]


def test_whoever_steps_on_where_a_person_walked_off_the_edge_is_not_taken_for_them():
    session = Session()
    at_edge = standing((0.6, 0.08), peak_kpa=LIGHT)               # heels over the mat's first row
    assert session.stay(at_edge, 1.0)[-1] == {1}
    session.stay(EMPTY, 2 / FPS)                                      # off the mat for two frames
    ids = session.stay(standing((0.6, 0.12), peak_kpa=HEAVY), 2.0)[-1]
    assert len(ids) == 1 and 1 not in ids


def test_an_offline_track_file_writes_a_recognised_return_under_the_known_id_from_its_first_frame():
    light, heavy = standing((0.6, 0.5), peak_kpa=LIGHT), standing((0.6, 1.8), peak_kpa=HEAVY)
    back = standing((0.5, 1.0), peak_kpa=LIGHT)
    frames = np.stack([light + heavy] * 30 + [heavy] * 75 + [back + heavy] * 45)
    rows = track_scene(Scene(Path('return.npz'), frames, None, FPS, 0.01, 0), PressureTracker(TrackerConfig(report_lost=False)))
    assert {r.track_id for r in rows} == {1, 2}                       # provisional id 3 relabelled as 1 ...
    # ... from its first frame (the frames before min_hits, tentative live, are written once it is confirmed)
    assert {r.frame for r in rows if r.track_id == 1 and r.frame > 105} == set(range(106, 151))


def test_relabelling_follows_a_chain_of_recognitions():
    rows = [MotRow(1, 5, 0, 0, 1, 1, 1.0), MotRow(2, 7, 0, 0, 1, 1, 1.0), MotRow(2, 2, 5, 5, 1, 1, 1.0)]
    assert [(r.frame, r.track_id) for r in relabelled(rows, {7: 5, 5: 1})] == [(1, 1), (2, 1), (2, 2)]


class LiveSession(Session):
    """A Session that also keeps what a live subscriber sees: the ids published confirmed in each frame
    (`published_state`), and the renames (id before -> after) in order."""

    def __init__(self, config: TrackerConfig = TrackerConfig(report_lost=False)) -> None:
        super().__init__(config)
        self.renamed: list[tuple[int, int]] = []

    def published(self, frame: np.ndarray, seconds: float) -> list[set[int]]:
        shown = []
        for _ in range(int(round(seconds * FPS))):
            people = self.tracker.update(frame, self.frame / FPS)
            self.frame += 1
            self.renamed += self.tracker.renamed.items()
            shown.append({p.track_id for p in people if p.published_state != TrackState.TENTATIVE})
        return shown


def test_a_returning_person_is_withheld_until_recognised_then_published_under_their_own_id_only():
    # Live, a return is not an id switch: the newcomer is published as tentative until weighed and recognised, then
    # confirmed under their own id; offline every confirmed row is written (the provisional id relabelled).
    session = LiveSession()
    light, heavy = standing((0.6, 0.5), peak_kpa=LIGHT), standing((0.6, 1.8), peak_kpa=HEAVY)
    assert session.published(light + heavy, 2.0)[-1] == {1, 2}
    session.published(heavy, 5.0)                                     # the light person departs
    back = session.published(standing((0.5, 0.6), peak_kpa=LIGHT) + heavy, 3.0)
    first = next(i for i, ids in enumerate(back) if ids != {2})
    assert all(ids == {1, 2} for ids in back[first:])                 # never published under 3
    assert TrackerConfig.signature_time * FPS <= first + 1 < TrackerConfig.settle_time * FPS   # withheld until weighed
    assert session.renamed == [(3, 1)]                                # tentative as 3, confirmed as 1
    assert session.tracker.tracker.tracks[-1].track_id == 1           # recognised: the provisional id is gone


def test_a_newcomer_near_where_somebody_left_is_not_published_as_them_but_under_their_own_id_once_settled():
    session = LiveSession()
    near_a, near_b = standing((0.6, 0.3), peak_kpa=LIGHT), standing((0.6, 2.0), peak_kpa=HEAVY)
    assert session.published(near_a + near_b, 2.0)[-1] == {1, 2}
    session.published(EMPTY, 5.0)                                     # both depart
    arrival = session.published(standing((0.5, 1.9), peak_kpa=MIDDLE), 3.0)   # by where 2 left; a third body
    assert all(ids in (set(), {3}) for ids in arrival) and arrival[-1] == {3}   # never shown as 2
    assert arrival.index({3}) + 1 >= round(TrackerConfig.settle_time * FPS)    # withheld until settled
    assert session.renamed == [] and session.tracker.tracker.tracks[-1].identified


def test_a_newcomer_with_nobody_away_is_published_at_min_hits():
    session = LiveSession()
    arrival = session.published(standing((0.6, 1.2), peak_kpa=LIGHT), 1.0)
    assert arrival[TrackerConfig.min_hits - 2] == set() and arrival[TrackerConfig.min_hits - 1] == {1}


def test_offline_rows_never_hold_one_id_twice_when_a_newcomer_is_taken_for_a_lost_person():
    """A newcomer of the same body as a person standing 1.6 m away, while somebody else is away (so their id stays
    provisional), settles in frames where that person's feet are missed and may be taken for them; offline, the
    newcomer's rows relabelled as them must not put one id on two people in the frames both were seen."""
    first, away, newcomer = (standing((0.6, 0.5), peak_kpa=LIGHT), standing((0.6, 1.3), peak_kpa=HEAVY),
                             standing((0.6, 2.1), peak_kpa=LIGHT))
    frames = np.stack([first + away] * 30 + [first] * 60 + [first + newcomer] * 22 + [newcomer] * 3
                      + [first + newcomer] * 30)
    rows = track_scene(Scene(Path('same_body.npz'), frames, None, FPS, 0.01, 0),
                       PressureTracker(TrackerConfig(report_lost=False)))
    assert not ids_twice_in_a_frame(rows)


def test_relabelling_never_writes_one_id_twice_in_a_frame():
    # Frame 2: the known id 1 still holds the person's last foot while their provisional id 7 took the next one.
    rows = [MotRow(1, 1, 0, 0, 1, 1, 1.0), MotRow(2, 1, 0, 0, 1, 1, 1.0), MotRow(2, 7, 3, 0, 1, 1, 1.0),
            MotRow(3, 7, 3, 0, 1, 1, 1.0)]
    written = relabelled(rows, {7: 1})
    assert [(r.frame, r.track_id) for r in written] == [(1, 1), (2, 1), (2, 7), (3, 1)]
    assert not ids_twice_in_a_frame(written)
