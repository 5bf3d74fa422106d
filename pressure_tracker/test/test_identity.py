"""Identities over comings and goings: a person who leaves and comes back is confirmed under their own id (never
under another first), people of different weight who come back in the other order each get their own, a newcomer
who matches nobody gets a new id, and a person who walks off the mat's edge is not continued by whoever steps on
there next."""
from __future__ import annotations

import numpy as np

from test_tracker_design import SHAPE, standing
from pressure_tracker.tracker import PressureTracker, TrackerConfig
from pressure_tracker.tracking import TrackState

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


def test_a_person_who_leaves_and_returns_is_confirmed_under_their_own_id_only():
    session = Session()
    light, heavy = standing((0.6, 0.5), peak_kpa=LIGHT), standing((0.6, 1.8), peak_kpa=HEAVY)
    assert session.stay(light + heavy, 2.0)[-1] == {1, 2}
    assert session.stay(heavy, 5.0)[-1] == {2}                      # the light person leaves (and departs)
    back = session.stay(standing((0.5, 1.0), peak_kpa=LIGHT) + heavy, 3.0)
    assert all(ids <= {1, 2} for ids in back)                         # never confirmed under another id
    assert back[-1] == {1, 2}
    (provisional,) = session.recognised                               # they came back under a provisional id
    assert session.recognised == {provisional: 1} and provisional > 2
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


def test_a_newcomer_who_matches_nobody_gets_a_new_id():
    session = Session()
    light = standing((0.6, 0.5), peak_kpa=LIGHT)
    assert session.stay(light, 2.0)[-1] == {1}
    assert session.stay(EMPTY, 4.0)[-1] == set()                    # departed: their signature is kept
    arrival = session.stay(standing((0.6, 1.2), peak_kpa=MIDDLE), 3.0)   # 20 % heavier: somebody else
    newcomer = arrival[-1]
    assert len(newcomer) == 1 and 1 not in newcomer
    assert not session.recognised
    # Somebody was away who might have come back: they were weighed until settle_time, not confirmed at min_hits.
    frames_before = next(i for i, ids in enumerate(arrival) if ids) + 1
    assert frames_before >= round(TrackerConfig.settle_time * FPS)


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
