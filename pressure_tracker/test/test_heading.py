"""A tracked person's heading: the way their feet point, the toe end told by each whole foot's shape (a wide
forefoot, a narrow heel), else by the heel-to-toe roll of its centre of pressure, so neither turning about on the
spot nor walking backwards leaves it reversed."""
from __future__ import annotations

import math

import numpy as np

from painted_footprints import Walker, walking_scene
from pressure_tracker.tracker import PressureTracker, TrackState

FPS = 15.0


def heading_errors(walker: Walker, seconds: float) -> np.ndarray:
    """[deg] per frame with feet: the tracked person's heading against the way their painted feet point (the
    mean toe direction of the feet down in that frame)."""
    scene = walking_scene([walker], n_frames=int(seconds * FPS), noise_kpa=2.0, seed=5)
    tracker, errors = PressureTracker(), []
    for index, frame in enumerate(scene.pressure):
        people = [p for p in tracker.update(frame, index / FPS) if p.state == TrackState.CONFIRMED]
        feet = walker.feet_at(index / FPS)
        if not people or not feet or not math.isfinite(people[0].heading):
            continue
        toes = sum(np.array([math.cos(heading), math.sin(heading)]) for _, heading, _, _ in feet)
        errors.append(abs(math.degrees(math.remainder(people[0].heading - math.atan2(toes[1], toes[0]), 2 * math.pi))))
    return np.array(errors)


def test_heading_is_not_left_reversed_by_turns_about_on_the_spot():
    """Pacing 1.2 m along the mat and back, turning about on the spot at each end (five turns in 14 s). Right
    after a turn the painted first foot lands on the last one's toes, so for a frame or two they are one contact
    and no heading can be right; the heading taken from the walking direction alone stayed reversed for about
    half a second after most turns (15 % of frames reversed, 69 % within 30 degrees)."""
    walker = Walker((0.45, 0.5), math.pi / 2, speed=0.9, step_length=0.5, turn_back_after=1.2)
    errors = heading_errors(walker, 14.0)
    assert len(errors) > 10 * FPS
    figures = np.percentile(errors, [50, 90, 99])
    assert np.mean(errors > 150.0) < 0.05 and np.mean(errors < 30.0) >= 0.8 and np.median(errors) < 5.0, figures


def test_heading_on_a_straight_walk():
    errors = heading_errors(Walker((0.6, 0.2), math.pi / 2 + 0.3, speed=1.1), 2.0)
    assert len(errors) > FPS and max(errors) < 30.0


def test_a_backward_walk_is_faced_by_the_feet_not_the_motion():
    """Stepping back along a straight line: each painted foot lands forefoot first and its centre of pressure rolls
    towards the heel, the way the body moves, so the walking direction and the roll both name the heel. Before
    the feet's shape told the toes, 38 of the 41 frames with feet were reversed; now 2 of 42 (where a forefoot alone
    is down just after the other foot lifted and the walking direction disagrees with the previous heading)."""
    errors = heading_errors(Walker((0.6, 1.8), -math.pi / 2, speed=0.6, step_length=0.35, backwards=True), 3.0)
    assert len(errors) > 2 * FPS
    assert np.mean(errors < 30.0) >= 0.85 and np.mean(errors > 150.0) < 0.1, np.percentile(errors, [50, 90, 100])
