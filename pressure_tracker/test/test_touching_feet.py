"""Feet of two people that touch in one contact blob keep their own cells (split along the previous
frame's feet), and body weight moves a young foot to the person whose force it balances."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from pressure_tracker.detection import (DetectionConfig, FootHint, GroupingPrior, TrackHint, detect_blobs,
                                        detect_footprints, feet_pair_cost, group_footprints, person_from_feet,
                                        _axis_difference)
from painted_footprints import MAT_COLS, MAT_ROWS, render_foot
from pressure_tracker.tracking import AssociationConfig, FootprintTracker

SHAPE = (MAT_ROWS, MAT_COLS)
CONFIG = DetectionConfig()
THRESHOLD = 4.0


def _foot(x: float, y: float, heading: float) -> np.ndarray:
    frame = np.zeros(SHAPE, dtype=np.float32)
    render_foot(frame, (x, y), heading, 0.5)
    return frame


def _face_to_face() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two feet toe to toe along +x, each person's foot pointing at the other; their toe pads touch."""
    a, b = _foot(0.50, 1.00, 0.0), _foot(0.72, 1.00, math.pi)
    return a, b, a + b


def _blobs_holding_both(a: np.ndarray, b: np.ndarray, frame: np.ndarray) -> int:
    """Number of contact blobs of `frame` with cells where foot frame a presses harder and cells where b does."""
    mine = (a > b).ravel()
    return sum(1 for blob in detect_blobs(frame, THRESHOLD, CONFIG) if mine[blob.cells].any() and not mine[blob.cells].all())


def _prior(*feet: tuple[np.ndarray, FootHint]) -> GroupingPrior:
    """Previous frame in which each foot frame's contact cells belonged to its FootHint."""
    owner = np.zeros(SHAPE, dtype=np.int32)
    for k, (frame, _) in enumerate(feet, start=1):
        owner[(frame > THRESHOLD) & (owner == 0)] = k
    hints = tuple(TrackHint(hint.track_id, (0.0, 0.0), None) for _, hint in feet)
    return GroupingPrior(owner, tuple(hint for _, hint in feet), hints)


def test_touching_feet_of_two_tracks_are_split_into_each_tracks_cells():
    a, b, both = _face_to_face()
    assert _blobs_holding_both(a, b, both) == 1   # the toes are one 8-connected blob
    prior = _prior((a, FootHint(1, (100.0, 50.0), 10)), (b, FootHint(2, (100.0, 74.0), 10)))
    feet = {foot.anchor_track_id: foot for foot in detect_footprints(both, THRESHOLD, CONFIG, prior)}
    assert sorted(feet) == [1, 2]
    own = {1: (a > b).ravel(), 2: (b >= a).ravel()}
    for track_id, foot in feet.items():
        assert own[track_id][foot.cells].mean() > 0.9   # cells both feet press are either's
        assert foot.age == 11
    people = group_footprints(list(feet.values()), SHAPE, CONFIG, prior)
    assert sorted(p.prior_track_id for p in people) == [1, 2]


def test_without_a_prior_touching_toes_join_one_foot():
    a, b, both = _face_to_face()
    mine = (a > b).ravel()
    assert any(mine[foot.cells].any() and not mine[foot.cells].all() for foot in detect_footprints(both, THRESHOLD, CONFIG))


def test_new_cells_far_from_both_tracks_become_a_new_foot():
    # A third foot lands with its heel against the two touching toes: its cells were nobody's before.
    a, b, both = _face_to_face()
    landing = _foot(0.62, 1.10, math.pi / 2)
    frame = both + landing
    prior = _prior((a, FootHint(1, (100.0, 50.0), 10)), (b, FootHint(2, (100.0, 74.0), 10)))
    feet = detect_footprints(frame, THRESHOLD, CONFIG, prior)
    own = {1: (a > b + landing).ravel(), 2: (b > a + landing).ravel(), None: (landing > a + b).ravel()}
    assert sorted(foot.anchor_track_id or 0 for foot in feet) == [0, 1, 2]
    for foot in feet:
        # The landing's cells within split_reach of a tracked foot stay with that foot.
        assert own[foot.anchor_track_id][foot.cells].mean() > (0.99 if foot.anchor_track_id is None else 0.8)


def _lifting_off_case(remaining: float, age: int) -> dict:
    """Toe to toe, track 1's foot (down `age` frames) now presses `remaining` of its previous force and
    track 2's foot as before. Returns, per track, how many of its foot's cells track 2 presses harder."""
    a, b, _ = _face_to_face()
    force = lambda f: CONFIG.force_n(float(f[f > THRESHOLD].sum()))
    prior = _prior((a, FootHint(1, (100.0, 50.0), age, force(a))), (b, FootHint(2, (100.0, 72.0), 10, force(b))))
    frame = remaining * a + b
    partners = (b > remaining * a).ravel()
    return {foot.anchor_track_id: int(partners[foot.cells].sum()) for foot in detect_footprints(frame, THRESHOLD, CONFIG, prior)}


def test_a_foot_lifting_off_gives_up_its_cells_next_to_a_loading_foot():
    # Pushing off, a foot's pressure fades; where the partner's foot now presses harder, the cells are its.
    lifting = _lifting_off_case(remaining=0.3, age=20)
    assert lifting[1] == 0 and lifting[2] > 100
    # A foot still pressing, or one just landed (its force still growing), keeps every cell it held.
    assert _lifting_off_case(remaining=0.8, age=20)[1] > 0
    assert _lifting_off_case(remaining=0.3, age=CONFIG.young_foot_frames)[1] > 0


def _young_foot_case(weight_1: float, weight_2: float):
    """Track 1 stands on an old foot at (0.80, 1.00) and a young one at (0.55, 1.30); track 2 stands on
    one foot at (0.40, 1.00). Returns the grouped people and the three feet's forces."""
    old, young, other = _foot(0.80, 1.00, math.pi / 2), _foot(0.55, 1.30, math.pi / 2), _foot(0.40, 1.00, math.pi / 2)
    prior = _prior((old, FootHint(1, (100.0, 80.0), 30)), (young, FootHint(1, (130.0, 55.0), 2)),
                   (other, FootHint(2, (100.0, 40.0), 30)))
    prior = dataclasses.replace(prior, hints=(TrackHint(1, (0.7, 1.1), math.pi / 2, weight_n=weight_1),
                                              TrackHint(2, (0.4, 1.0), math.pi / 2, weight_n=weight_2)))
    feet = detect_footprints(old + young + other, THRESHOLD, CONFIG, prior)
    return group_footprints(feet, SHAPE, CONFIG, prior), feet[0].force


def _track_of_young_foot(people) -> int:
    return next(p.prior_track_id for p in people
                if any(np.hypot(*(f.centroid_m(CONFIG.cell_pitch) - [0.55, 1.30])) < 0.1 for f in p.feet))


def test_young_foot_moves_to_the_track_whose_weight_it_balances():
    _, force = _young_foot_case(1.0, 1.0)   # all rendered feet carry the same force
    people, _ = _young_foot_case(weight_1=force, weight_2=2.0 * force)
    assert _track_of_young_foot(people) == 2
    assert sorted(len(p.feet) for p in people) == [1, 2]


def test_young_foot_stays_when_its_track_needs_its_weight():
    _, force = _young_foot_case(1.0, 1.0)
    people, _ = _young_foot_case(weight_1=2.0 * force, weight_2=force)
    assert _track_of_young_foot(people) == 1
    people, _ = _young_foot_case(weight_1=0.0, weight_2=2.0 * force)   # weight 0: not known yet
    assert _track_of_young_foot(people) == 1


def _weights_over(forces: list[float], config: AssociationConfig) -> list[float]:
    """The track's weight after each frame when one detection with each of `forces` [N] is fed in turn."""
    frame = _foot(0.50, 1.00, math.pi / 2)
    detection = person_from_feet(detect_footprints(frame, THRESHOLD, CONFIG), SHAPE, CONFIG)
    tracker = FootprintTracker(config)
    weights = []
    for k, force in enumerate(forces):
        tracker.update([dataclasses.replace(detection, force=force)], k / 15.0)
        track, = tracker.tracks
        weights.append(track.weight_n)
    return weights


def test_track_weight_is_the_median_force_of_its_last_detections():
    forces = [600.0, 800.0, 650.0, 900.0, 700.0, 700.0, 700.0, 700.0]
    weights = _weights_over(forces, AssociationConfig(weight_window=4))
    for k, weight in enumerate(weights):
        assert math.isclose(weight, np.median(forces[max(0, k - 3):k + 1]))


def test_track_weight_ignores_a_few_frames_holding_a_neighbours_foot_too():
    # 20 frames alone at 600 N, then 8 frames holding a partner's 800 N foot as well, then alone again.
    forces = [600.0] * 20 + [1400.0] * 8 + [600.0] * 5
    assert all(abs(weight - 600.0) < 1.0 for weight in _weights_over(forces, AssociationConfig())[20:])


def _feet_end_to_end() -> tuple[np.ndarray, np.ndarray]:
    """Two 25 x 10 cm soles end to end along +x, touching through a lightly pressed 2 cm neck: one contact
    blob 52 cm long. Returns the frame and the mask of the first sole's side."""
    frame = np.zeros(SHAPE, dtype=np.float32)
    frame[95:105, 40:65] = 50.0
    frame[95:105, 67:92] = 40.0
    frame[99:101, 65:67] = 6.0
    first = np.zeros(SHAPE, dtype=bool)
    first[:, :66] = True
    return frame, first


def test_a_blob_longer_than_a_foot_is_cut_at_the_valley_between_the_feet_without_a_prior():
    frame, first = _feet_end_to_end()
    blobs = detect_blobs(frame, THRESHOLD, CONFIG)
    assert len(blobs) == 1 and blobs[0].length > CONFIG.blob_max_length
    feet = detect_footprints(frame, THRESHOLD, CONFIG)
    assert len(feet) == 2
    shares = sorted(float(first.ravel()[foot.cells].mean()) for foot in feet)
    assert shares[0] < 0.05 and shares[1] > 0.95   # one sole each (the neck's cells go either way)


def test_a_long_blob_of_one_known_person_within_their_weight_is_not_cut():
    frame, _ = _feet_end_to_end()
    blob = detect_blobs(frame, THRESHOLD, CONFIG)[0]
    owner = (frame > THRESHOLD).astype(np.int32)
    prior = GroupingPrior(owner, (FootHint(1, (100.0, 66.0), 10),), (TrackHint(1, (0.0, 0.0), None, weight_n=blob.force),))
    assert len(detect_footprints(frame, THRESHOLD, CONFIG, prior)) == 1
    heavier = GroupingPrior(owner, prior.feet, (TrackHint(1, (0.0, 0.0), None, weight_n=0.5 * blob.force),))
    assert len(detect_footprints(frame, THRESHOLD, CONFIG, heavier)) == 2


def test_toe_direction_points_from_heel_to_forefoot():
    for heading in (0.0, 2.0, -2.5):
        feet = detect_footprints(_foot(0.8, 1.0, heading), THRESHOLD, CONFIG)
        assert len(feet) == 1 and feet[0].toe_direction is not None
        assert abs(math.remainder(feet[0].toe_direction - heading, 2 * math.pi)) < math.radians(15)


def test_feet_pointing_opposite_ways_cost_more_to_pair():
    a, b, _ = _face_to_face()
    left = detect_footprints(_foot(0.50, 1.10, 0.0), THRESHOLD, CONFIG)[0]
    same_way, opposite = (detect_footprints(frame, THRESHOLD, CONFIG)[0] for frame in (a, b))
    assert same_way.toe_direction is not None and opposite.toe_direction is not None
    # Undirected, both axes lie along x: only heel -> toe tells a partner's foot from one's own.
    assert _axis_difference(left.axis, opposite.axis) < math.radians(10)
    no_turn = dataclasses.replace(CONFIG, max_toe_turn_cost=0.0)
    assert feet_pair_cost(left, opposite, CONFIG) == feet_pair_cost(left, opposite, no_turn) + CONFIG.max_toe_turn_cost
    assert feet_pair_cost(left, same_way, CONFIG) - feet_pair_cost(left, same_way, no_turn) < 0.1