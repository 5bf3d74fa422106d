"""A track whose feet all lifted takes back the young foot its neighbour was given (a partner's new foot
assigned to the wrong person), and a re-found or far-walked track's path point is renewed."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from pressure_tracker.detection import (DetectionConfig, FootHint, GroupingPrior, TrackHint, detect_footprints,
                                        group_footprints, person_from_feet)
from painted_footprints import MAT_COLS, MAT_ROWS, render_foot
from pressure_tracker.tracking import AssociationConfig, FootprintTracker

SHAPE = (MAT_ROWS, MAT_COLS)
CONFIG = DetectionConfig()


def _frame(*feet: tuple[float, float]) -> np.ndarray:
    frame = np.zeros(SHAPE, dtype=np.float32)
    for x, y in feet:
        render_foot(frame, (x, y), math.pi / 2, 0.4)
    return frame


def _two_tracks_prior(young_age: int) -> tuple[np.ndarray, GroupingPrior]:
    """Track 1 stood on a foot at (0.40, 1.00) that has lifted now; track 2 stands on an old foot at
    (0.80, 1.00) and was given a new foot at (0.55, 1.30) `young_age` frames ago."""
    frame = _frame((0.80, 1.00), (0.55, 1.30))
    owner = np.zeros(SHAPE, dtype=np.int32)
    owner[85:115, 72:88] = 1      # track 2's old foot
    owner[115:145, 47:63] = 2     # the young foot, given to track 2
    prior = GroupingPrior(owner, (FootHint(2, (100.0, 80.0), 40), FootHint(2, (130.0, 55.0), young_age)),
                          (TrackHint(1, (0.40, 1.0), math.pi / 2, ((0.40, 1.00),)),
                           TrackHint(2, (0.80, 1.0), math.pi / 2, ((0.80, 1.00), (0.55, 1.30)))))
    return frame, prior


def _owner_of(people, x: float, y: float) -> int | None:
    for person in people:
        if any(np.hypot(*(foot.centroid_m(CONFIG.cell_pitch) - [x, y])) < 0.1 for foot in person.feet):
            return person.prior_track_id
    raise AssertionError(f"no foot at ({x}, {y})")


def test_feet_carry_their_age_from_touch_down():
    frame, prior = _two_tracks_prior(young_age=3)
    ages = sorted(foot.age for foot in detect_footprints(frame, 4.0, CONFIG, prior))
    assert ages == [4, 41]
    assert [foot.age for foot in detect_footprints(frame, 4.0, CONFIG)] == [0, 0]


def test_track_without_feet_takes_back_its_neighbours_young_foot():
    frame, prior = _two_tracks_prior(young_age=3)
    people = group_footprints(detect_footprints(frame, 4.0, CONFIG, prior), SHAPE, CONFIG, prior)
    assert _owner_of(people, 0.55, 1.30) == 1
    assert _owner_of(people, 0.80, 1.00) == 2
    assert len(people) == 2


def test_old_foot_is_not_handed_over():
    frame, prior = _two_tracks_prior(young_age=CONFIG.young_foot_frames)   # age + 1 this frame: too old
    people = group_footprints(detect_footprints(frame, 4.0, CONFIG, prior), SHAPE, CONFIG, prior)
    assert _owner_of(people, 0.55, 1.30) == 2
    assert len(people) == 1


def test_young_foot_beyond_a_stride_is_not_handed_over():
    frame, prior = _two_tracks_prior(young_age=2)
    far = dataclasses.replace(prior.hints[0], feet_m=((0.40, 0.20),))
    prior = dataclasses.replace(prior, hints=(far, prior.hints[1]))
    people = group_footprints(detect_footprints(frame, 4.0, CONFIG, prior), SHAPE, CONFIG, prior)
    assert _owner_of(people, 0.55, 1.30) == 2


def test_path_point_is_renewed_when_stale():
    tracker = FootprintTracker(AssociationConfig(min_hits=1))
    two = detect_footprints(_frame((0.50, 0.40), (0.60, 0.70)), 4.0, CONFIG)
    tracker.update([person_from_feet(two, SHAPE, CONFIG)], 0.0)
    (track,) = tracker.tracks
    assert np.allclose(track.path_point_m, [0.55, 0.55], atol=0.03)
    # one foot near the path: the path point stays at the last two-foot stance
    near = detect_footprints(_frame((0.60, 0.70)), 4.0, CONFIG)
    tracker.update([person_from_feet(near, SHAPE, CONFIG, prior_track_id=track.track_id)], 1 / 15)
    assert np.allclose(track.path_point_m, [0.55, 0.55], atol=0.03)
    # the person walked on, one foot at a time, beyond path_reset_distance from it: renewed
    for k, y in enumerate((0.95, 1.25)):
        step = detect_footprints(_frame((0.60, y)), 4.0, CONFIG)
        tracker.update([person_from_feet(step, SHAPE, CONFIG, prior_track_id=track.track_id)], (2 + k) / 15)
        assert track.frames_since_update == 0
    assert np.allclose(track.path_point_m, [0.60, 1.25], atol=0.03)


def test_young_foot_behind_a_track_walking_away_is_not_handed_over():
    """Track 1's last foot (0.40, 0.80) lies 0.5 m before the young foot (0.55, 1.30) along y: walking
    towards it, the young foot is its next step; walking away (off the mat's edge), it is not."""
    frame, prior = _two_tracks_prior(young_age=2)
    for heading, owner in ((math.pi / 2, 1), (-math.pi / 2, 2)):
        vanished = dataclasses.replace(prior.hints[0], heading=heading, feet_m=((0.40, 0.80),))
        prior = dataclasses.replace(prior, hints=(vanished, prior.hints[1]))
        people = group_footprints(detect_footprints(frame, 4.0, CONFIG, prior), SHAPE, CONFIG, prior)
        assert _owner_of(people, 0.55, 1.30) == owner
