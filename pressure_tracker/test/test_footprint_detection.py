"""Footprint detection (noise floor, blobs, pad merging) and grouping of feet into people."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pressure_tracker.detection import (DetectionConfig, FootHint, FootprintDetector, GroupingPrior, NoiseFloor, TrackHint,
                                        detect_blobs, detect_footprints, group_footprints)
from painted_footprints import MAT_COLS, MAT_ROWS, render_foot

SHAPE = (MAT_ROWS, MAT_COLS)
CONFIG = DetectionConfig()


def frame_with(*feet: tuple[float, float, float, float], noise: float = 0.0, seed: int = 0, **kwargs) -> np.ndarray:
    """Frame [kPa] with feet (x, y, heading, phase) in metres/radians."""
    frame = np.zeros(SHAPE, dtype=np.float32)
    for x, y, heading, phase in feet:
        render_foot(frame, (x, y), heading, phase, **kwargs)
    if noise:
        frame += np.random.default_rng(seed).normal(0.0, noise, SHAPE).astype(np.float32)
        np.clip(frame, 0.0, None, out=frame)
    return frame


def person_of(people, x: float, y: float):
    """The person with a foot whose pressure centre is within 0.12 m of (x, y) [m]."""
    owners = [p for p in people if any(np.hypot(*(foot.centroid_m(CONFIG.cell_pitch) - [x, y])) < 0.12 for foot in p.feet)]
    assert len(owners) == 1, f"foot at ({x}, {y}) belongs to {len(owners)} people"
    return owners[0]


def test_noise_floor_threshold_rises_above_the_noise():
    noise_floor = NoiseFloor(CONFIG)
    rng = np.random.default_rng(1)
    for _ in range(60):
        threshold = noise_floor.update((20.0 + rng.normal(0.0, 3.0, SHAPE)).astype(np.float32))
    # level 20 kPa, sigma 3 kPa -> 20 + 5 * 3 = 35 kPa
    assert threshold == pytest.approx(35.0, abs=2.0)


def test_noise_floor_ignores_footprints_and_keeps_minimum_on_clean_mat():
    noise_floor = NoiseFloor(CONFIG)
    frame = frame_with((0.3, 0.5, math.pi / 2, 0.4), (0.8, 1.5, math.pi / 2, 0.4))
    assert noise_floor.update(frame) == CONFIG.min_threshold_kpa


def test_noisy_frame_gives_only_the_foot():
    detector = FootprintDetector()
    frame = frame_with((0.5, 1.0, math.pi / 2, 0.4), noise=3.0)
    for _ in range(5):
        people = detector(frame)
    assert len(people) == 1
    assert len(people[0].feet) == 1


def test_separate_heel_ball_and_toe_pads_merge_into_one_foot():
    frame = frame_with((0.5, 1.0, math.pi / 2, 0.4), midfoot=False)
    assert len(detect_blobs(frame, 4.0, CONFIG)) == 3          # heel, ball, toes
    feet = detect_footprints(frame, 4.0, CONFIG)
    assert len(feet) == 1
    foot = feet[0]
    x1, y1, x2, y2 = foot.box
    assert 22 <= y2 - y1 <= 28 and 7 <= x2 - x1 <= 11          # about 25 x 9 cells


@pytest.mark.parametrize("heading", [math.pi / 2, 0.0, 0.6, -1.0])
def test_foot_orientation_force_and_centroid(heading):
    frame = frame_with((0.6, 1.2, heading, 0.4))
    (foot,) = detect_footprints(frame, 4.0, CONFIG)
    assert abs(math.remainder(foot.axis - heading, math.pi)) < math.radians(8)
    assert foot.elongation > 2.0
    loaded = frame > 4.0
    assert foot.force == pytest.approx(frame[loaded].sum() * 1e-4 * 1000.0, rel=1e-5)
    assert foot.area == pytest.approx(loaded.sum() * 1e-4)
    rows, cols = np.nonzero(loaded)
    weights = frame[loaded]
    assert foot.centroid_rc == pytest.approx((np.average(rows, weights=weights), np.average(cols, weights=weights)))
    # the pressure centre lies within a few cm of the foot centre
    assert np.hypot(*(foot.centroid_m(0.01) - [0.6, 1.2])) < 0.05


def test_two_feet_of_one_walking_person_are_one_person():
    frame = frame_with((0.5, 0.8, math.pi / 2, 0.85), (0.68, 1.4, math.pi / 2, 0.1))
    people = group_footprints(detect_footprints(frame, 4.0, CONFIG), SHAPE, CONFIG)
    assert len(people) == 1
    assert len(people[0].feet) == 2
    assert people[0].mask.sum() == (frame > 4.0).sum()


def test_single_foot_is_a_person():
    people = group_footprints(detect_footprints(frame_with((0.5, 1.0, 0.3, 0.5)), 4.0, CONFIG), SHAPE, CONFIG)
    assert len(people) == 1 and len(people[0].feet) == 1


@pytest.mark.parametrize("stagger", [0.0, 0.3])
def test_two_people_side_by_side_40cm_apart_are_separated(stagger):
    # person A centred on x = 0.4, person B on x = 0.8, feet 0.18 m apart; B's feet staggered by `stagger`
    frame = frame_with((0.31, 1.0, math.pi / 2, 0.4), (0.49, 1.0, math.pi / 2, 0.4),
                       (0.71, 1.0 + stagger, math.pi / 2, 0.4), (0.89, 1.0 - stagger, math.pi / 2, 0.4))
    people = group_footprints(detect_footprints(frame, 4.0, CONFIG), SHAPE, CONFIG)
    assert len(people) == 2
    a, b = person_of(people, 0.31, 1.0), person_of(people, 0.89, 1.0 - stagger)
    assert a is person_of(people, 0.49, 1.0)
    assert b is person_of(people, 0.71, 1.0 + stagger)
    assert a is not b


def test_prior_keeps_feet_with_their_tracks():
    # Two single-foot people 0.30 m apart side by side: without a prior they pair up as one person.
    frame = frame_with((0.45, 1.0, math.pi / 2, 0.4), (0.75, 1.0, math.pi / 2, 0.4))
    assert len(group_footprints(detect_footprints(frame, 4.0, CONFIG), SHAPE, CONFIG)) == 1
    owner = np.zeros(SHAPE, dtype=np.int32)
    owner[:, :60] = 1
    owner[:, 60:] = 2
    prior = GroupingPrior(owner, (FootHint(7, (100.0, 45.0)), FootHint(9, (100.0, 75.0))),
                          (TrackHint(7, (0.45, 1.0), math.pi / 2), TrackHint(9, (0.75, 1.0), math.pi / 2)))
    people = group_footprints(detect_footprints(frame, 4.0, CONFIG, prior), SHAPE, CONFIG, prior)
    assert sorted(p.prior_track_id for p in people) == [7, 9]
    assert person_of(people, 0.45, 1.0).prior_track_id == 7


def test_new_foot_joins_the_track_whose_path_it_continues():
    # Track 1 walks +y along x = 0.40 (stance foot at x = 0.31); track 2 along x = 0.80 (stance foot at 0.71).
    # A new foot lands at x = 0.49, y = 1.6: 0.18 m from track 1's stance foot, 0.22 m from track 2's.
    frame = frame_with((0.31, 1.0, math.pi / 2, 0.6), (0.71, 1.0, math.pi / 2, 0.6), (0.49, 1.6, math.pi / 2, 0.05))
    owner = np.zeros(SHAPE, dtype=np.int32)
    owner[80:120, 20:42] = 1
    owner[80:120, 60:82] = 2
    prior = GroupingPrior(owner, (FootHint(1, (100.0, 31.0)), FootHint(2, (100.0, 71.0))),
                          (TrackHint(1, (0.40, 0.7), math.pi / 2), TrackHint(2, (0.80, 0.7), math.pi / 2)))
    people = group_footprints(detect_footprints(frame, 4.0, CONFIG, prior), SHAPE, CONFIG, prior)
    assert person_of(people, 0.49, 1.6).prior_track_id == 1
    assert len(person_of(people, 0.71, 1.0).feet) == 1


def test_bad_frame_raises():
    with pytest.raises(ValueError, match="2-D"):
        detect_footprints(np.zeros((2, 3, 4), dtype=np.float32), 4.0, CONFIG)


def test_traces_too_small_for_a_foot_join_the_box_and_mask_of_the_nearest_person():
    # A heel's first touch: three faint cells, under min_blob_cells and min_foot_force_n, 0.3 m ahead of a
    # standing foot. It is that person's contact (MIP's box holds it) but not a foot of theirs.
    frame = frame_with((0.40, 1.00, math.pi / 2, 0.5), (0.90, 1.00, math.pi / 2, 0.5))
    touch = [(130, 40), (131, 40), (131, 41)]          # (row, col): 0.3 m on from the person at x = 0.40 m
    far = [(230, 40)]                                  # 1.3 m away from everybody: ignored
    for row, col in touch + far:
        frame[row, col] = 2.5
    people = FootprintDetector(CONFIG)(frame)
    assert len(people) == 2
    walker, other = person_of(people, 0.40, 1.00), person_of(people, 0.90, 1.00)
    assert walker.box[3] == 132 and walker.box[0] <= 40
    assert all(walker.mask[row, col] for row, col in touch) and not other.mask[touch[0]]
    assert not any(p.mask[far[0]] for p in people)
    assert len(walker.feet) == 1
    assert walker.force == pytest.approx(walker.feet[0].force)
    assert other.box[3] < 130                          # the other person's box is unchanged


def test_a_light_foot_on_the_border_is_kept_where_one_inside_is_dust():
    # The toes of a person stepping off: four cells on the last column, far under min_foot_force_n.
    frame = np.zeros(SHAPE, dtype=np.float32)
    frame[140:144, MAT_COLS - 1] = 2.5
    frame[60:64, 60] = 2.5                              # the same inside the mat
    feet = detect_footprints(frame, CONFIG.min_threshold_kpa, CONFIG)
    assert [foot.box for foot in feet] == [(MAT_COLS - 1, 140, MAT_COLS, 144)]
    assert feet[0].force < CONFIG.min_foot_force_n
