"""Re-identification: a person who leaves the mat for longer than a lost track lives, or whose track is
lost while a new one picks them up, gets their old id back when their body signature (weight, foot
length) matches them and nobody else; people of near equal build, strangers and long-gone people do not."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from pressure_tracker.detection import DetectionConfig, PersonDetection, detect_footprints, person_from_feet
from painted_footprints import MAT_COLS, MAT_ROWS, render_foot
from pressure_tracker.tracking import AssociationConfig, BodySignature, FootprintTracker, TrackState

SHAPE = (MAT_ROWS, MAT_COLS)
CONFIG = DetectionConfig()
FPS = 15.0
NEAR = (0.60, 0.50)    # [m] where the first person stands
FAR = (0.60, 2.00)     # [m] where a newcomer steps on, out of reach of a track lost at NEAR


def _person(where: tuple[float, float], weight_n: float, foot_length_m: float) -> PersonDetection:
    """One standing foot at `where` [m], with the given total force [N] and foot length [m]."""
    frame = np.zeros(SHAPE, dtype=np.float32)
    render_foot(frame, where, math.pi / 2, 0.5)
    detection = person_from_feet(detect_footprints(frame, 4.0, CONFIG), SHAPE, CONFIG)
    feet = tuple(dataclasses.replace(foot, length=foot_length_m) for foot in detection.feet)
    return dataclasses.replace(detection, feet=feet, force=weight_n, confidence=0.95)


class _Clock:
    """Feeds one tracker frame after frame at FPS."""

    def __init__(self, config: AssociationConfig = AssociationConfig()) -> None:
        self.tracker = FootprintTracker(config)
        self.frame = 0

    def run(self, frames: int, *people: PersonDetection) -> list[list[int]]:
        """Track `people` (the same every frame) for `frames` frames; the ids of matched tracks per frame."""
        ids = []
        for _ in range(frames):
            tracks = self.tracker.update(list(people), self.frame / FPS)
            ids.append(sorted(t.track_id for t in tracks if t.frames_since_update == 0))
            self.frame += 1
        return ids


def _departed(weight_n: float = 700.0, foot_length_m: float = 0.27) -> _Clock:
    """A tracker that followed one person (id 1) for 4 s, then saw nobody for longer than max_age."""
    clock = _Clock()
    assert clock.run(60, _person(NEAR, weight_n, foot_length_m))[-1] == [1]
    assert clock.run(AssociationConfig().max_age + 5)[-1] == []
    assert [p.track_id for p in clock.tracker.departed] == [1]
    return clock


def test_signature_distance_counts_estimation_errors():
    config = AssociationConfig()
    a = BodySignature(700.0, 0.27)
    assert a.distance(a, config) == 0.0
    assert math.isclose(a.distance(BodySignature(700.0 * math.exp(config.reid_weight_sigma), 0.27), config), 1.0)
    assert math.isclose(a.distance(BodySignature(700.0, 0.27 + config.reid_foot_sigma), config), 1.0)
    # Weight as a ratio: 10 % more is as far for a light person as for a heavy one.
    assert math.isclose(BodySignature(500.0, 0.25).distance(BodySignature(550.0, 0.25), config),
                        BodySignature(800.0, 0.25).distance(BodySignature(880.0, 0.25), config))


def test_a_returning_person_gets_their_id_back():
    clock = _departed()
    ids = clock.run(20, _person(FAR, 705.0, 0.272))
    assert ids[0] == [2]                      # a new track at first ...
    assert ids[-1] == [1]                     # ... recognised once its weight is trusted
    assert clock.tracker.departed == []
    assert clock.tracker.next_id == 3         # id 2 is retired, never handed to anybody else
    track, = clock.tracker.tracks
    assert track.state == TrackState.CONFIRMED and track.identified


def test_a_stranger_keeps_a_new_id():
    clock = _departed()
    assert clock.run(30, _person(FAR, 560.0, 0.27))[-1] == [2]     # 20 % lighter
    assert clock.run(1)[-1] == []
    clock = _departed()
    assert clock.run(30, _person(FAR, 700.0, 0.23))[-1] == [2]     # 4 cm shorter feet
    assert [p.track_id for p in clock.tracker.departed] == [1]


def test_two_departed_people_of_near_equal_build_are_not_told_apart():
    clock = _Clock()
    clock.run(60, _person(NEAR, 700.0, 0.27), _person((0.60, 1.20), 715.0, 0.27))   # 2 % apart
    clock.run(AssociationConfig().max_age + 5)
    assert sorted(p.track_id for p in clock.tracker.departed) == [1, 2]
    assert clock.run(30, _person(FAR, 708.0, 0.27))[-1] == [3]


def test_a_present_person_of_equal_build_blocks_recognition():
    clock = _departed(700.0)
    ids = clock.run(30, _person(NEAR, 700.0, 0.27), _person(FAR, 700.0, 0.27))
    assert ids[-1] == [2, 3]


MIDDLE = (0.60, 1.20)   # [m] where a second person stands, away from NEAR and FAR


def _on_track_2(weight_n: float) -> PersonDetection:
    """A person at MIDDLE on feet that track 2 held in the previous frame (as grouping reports them: a lost
    track's growing reach must not take them)."""
    return dataclasses.replace(_person(MIDDLE, weight_n, 0.27), prior_track_id=2)


def _present_track_taken_over(earlier_n: float, later_n: float) -> _Clock:
    """Person 1 (700 N) at NEAR and person 2 (`earlier_n`) at MIDDLE for 4 s; person 1 leaves for longer than
    max_age; then somebody weighing `later_n` stands on person 2's feet, under track 2, for 3 s."""
    clock = _Clock()
    assert clock.run(60, _person(NEAR, 700.0, 0.27), _on_track_2(earlier_n))[-1] == [1, 2]
    clock.run(AssociationConfig().max_age + 5, _on_track_2(earlier_n))
    assert [p.track_id for p in clock.tracker.departed] == [1]
    assert clock.run(45, _on_track_2(later_n))[-1] == [2]
    return clock


def test_a_present_track_competes_as_the_person_it_holds_not_as_one_it_held_for_a_while():
    # Track 2 belongs to a heavy person; a person like the departed one held it for 3 s (feet given to the
    # wrong person), then it went back to its owner while that person stepped on elsewhere.
    clock = _present_track_taken_over(850.0, 700.0)
    ids = clock.run(20, _on_track_2(850.0), _person(FAR, 700.0, 0.27))
    assert ids[0] == [2, 3] and ids[-1] == [1, 2]


def test_a_present_track_competes_as_the_person_whose_id_it_carries():
    # Track 2 belongs to a person like the departed one; a heavy person took it over and the owner, lost by
    # it, steps on elsewhere: the newcomer may be either of the two look-alikes.
    clock = _present_track_taken_over(700.0, 850.0)
    ids = clock.run(20, _on_track_2(850.0), _person(FAR, 700.0, 0.27))
    assert ids[-1] == [2, 3]


def test_a_young_track_takes_over_the_lost_track_of_the_same_person():
    clock = _Clock()
    clock.run(60, _person(NEAR, 700.0, 0.27))
    ids = clock.run(20, _person(FAR, 700.0, 0.27))     # track 1 lost, the person picked up by track 2
    assert ids[0] == [2] and ids[-1] == [1]
    assert [t.track_id for t in clock.tracker.tracks] == [1]   # the lost track ended


def test_departed_people_are_forgotten_after_reid_memory():
    clock = _Clock(AssociationConfig(reid_memory=2.0))
    clock.run(60, _person(NEAR, 700.0, 0.27))
    clock.run(AssociationConfig().max_age + 40)       # deleted, then gone for more than 2 s
    assert clock.tracker.departed == []
    assert clock.run(20, _person(FAR, 700.0, 0.27))[-1] == [2]


def test_a_track_is_compared_only_while_young():
    clock = _departed()
    edge = _person((0.03, 2.0), 700.0, 0.27)           # cut by the mat's edge: its weight is never trusted
    assert edge.touches_edge
    wait = math.ceil(AssociationConfig().reid_wait * FPS) + 1
    assert clock.run(wait, edge)[-1] == [2]
    track, = clock.tracker.tracks
    assert track.signature(1) is None and track.identified
    # Stepping fully onto the mat later, it stays who it was confirmed as.
    assert clock.run(30, _person((0.12, 2.0), 700.0, 0.27))[-1] == [2]


@pytest.mark.parametrize("where, touches", [((0.60, 1.00), False), ((0.03, 1.00), True), ((0.60, 2.36), True)])
def test_detections_cut_by_the_mat_edge_stay_out_of_the_signature(where, touches):
    detection = _person(where, 700.0, 0.27)
    assert detection.touches_edge is touches
    clock = _Clock()
    clock.run(20, detection)
    track, = clock.tracker.tracks
    assert track.weighed_frames == 20  # grouping weighs every detection
    assert len(track.signature_forces) == (0 if touches else 20)
    assert len(track.foot_lengths) == (0 if touches else 20 * len(detection.feet))


LEFT, RIGHT = (0.40, 1.00), (0.80, 1.00)   # [m] two people standing 40 cm apart


def _ids_by_place(clock: _Clock) -> dict[tuple[float, float], int]:
    """Track id of the matched track at LEFT and at RIGHT."""
    ids = {}
    for track in clock.tracker.tracks:
        x, y = track.detection.centroid_m
        ids[min((LEFT, RIGHT), key=lambda p: math.hypot(p[0] - x, p[1] - y))] = track.track_id
    return ids


@pytest.mark.parametrize("light, heavy, swapped", [(600.0, 800.0, True), (600.0, 660.0, True), (600.0, 630.0, False)])
def test_tracks_that_exchanged_people_get_their_ids_back_when_weight_tells_them_apart(light, heavy, swapped):
    clock = _Clock()
    clock.run(120, _person(LEFT, light, 0.26), _person(RIGHT, heavy, 0.26))
    assert _ids_by_place(clock) == {LEFT: 1, RIGHT: 2}
    # The tracks exchange people (as after feet given to the wrong person): each now weighs the other.
    config = AssociationConfig()
    history = clock.run(config.swap_window // 2, _person(LEFT, heavy, 0.26), _person(RIGHT, light, 0.26))
    assert _ids_by_place(clock) == {LEFT: 1, RIGHT: 2}   # under half the recent window is no evidence yet
    history += clock.run(60, _person(LEFT, heavy, 0.26), _person(RIGHT, light, 0.26))
    assert _ids_by_place(clock) == ({LEFT: 2, RIGHT: 1} if swapped else {LEFT: 1, RIGHT: 2})
    assert all(ids == [1, 2] for ids in history)   # ids are exchanged, never new
    assert clock.tracker.next_id == 3



def test_a_foot_held_by_the_partners_track_is_not_taken_for_a_swap():
    clock = _Clock()
    clock.run(120, _person(LEFT, 620.0, 0.26), _person(RIGHT, 826.0, 0.26))
    # Face to face, the heavier person's landing foot went to the lighter one's track for a while: each
    # recent weight moves towards the other's identity weight (a swap fits better than staying by more
    # than swap_margin) but neither matches it.
    clock.run(60, _person(LEFT, 750.0, 0.26), _person(RIGHT, 700.0, 0.26))
    assert _ids_by_place(clock) == {LEFT: 1, RIGHT: 2}