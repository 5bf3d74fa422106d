"""Free feet join the tracks standing on one foot by the assignment of least total cost, not nearest
first: face to face, a partner's landing foot is often nearer to the other person's stance foot."""
from __future__ import annotations

import dataclasses

import numpy as np

from pressure_tracker.detection import DetectionConfig, Footprint, detect_footprints, group_footprints
from painted_footprints import MAT_COLS, MAT_ROWS, render_foot

SHAPE = (MAT_ROWS, MAT_COLS)
CONFIG = DetectionConfig()
THRESHOLD = 4.0


def _foot(x: float, y: float, track_id: int | None = None) -> Footprint:
    """One foot pointing along +x with its pressure centre near (x, y) [m], detected alone; anchored
    to `track_id` (continuing its previous foot) when given."""
    frame = np.zeros(SHAPE, dtype=np.float32)
    render_foot(frame, (x, y), 0.0, 0.5)
    (foot,) = detect_footprints(frame, THRESHOLD, CONFIG)
    return dataclasses.replace(foot, anchor_track_id=track_id, age=10) if track_id is not None else foot


def test_free_feet_join_one_foot_tracks_by_least_total_cost():
    stance_a, stance_b = _foot(0.50, 1.00, track_id=1), _foot(0.50, 1.30, track_id=2)
    between = _foot(0.60, 1.12)   # nearer to track 1's foot, within reach of track 2's
    ahead = _foot(0.90, 0.92)     # in line with track 1's foot only: too far sideways from track 2's
    people = group_footprints([stance_a, stance_b, between, ahead], SHAPE, CONFIG)
    feet = {person.prior_track_id: set(map(id, person.feet)) for person in people}
    # Nearest first, track 1 would take `between` and leave `ahead` alone and track 2 on one foot.
    assert feet == {1: {id(stance_a), id(ahead)}, 2: {id(stance_b), id(between)}}
