"""A foot's cells of the previous frame keep it with its track: when it flattens after heel strike, when
it fades rolling off the toes, and when a person's contact splits into more pieces than they have feet;
a flat foot no longer grows, so a pad landing next to it is another foot."""
from __future__ import annotations

import numpy as np

from pressure_tracker.detection import DetectionConfig, FootHint, GroupingPrior, TrackHint, detect_footprints, group_footprints
from painted_footprints import MAT_COLS, MAT_ROWS, render_foot

SHAPE = (MAT_ROWS, MAT_COLS)
CONFIG = DetectionConfig()
THRESHOLD = 4.0


def _prior(owner: np.ndarray, feet: tuple[FootHint, ...]) -> GroupingPrior:
    return GroupingPrior(owner, feet, tuple(TrackHint(t, (0.0, 0.0), None) for t in sorted({f.track_id for f in feet})))


def test_a_foot_flattening_after_heel_strike_stays_with_its_track():
    flat = np.zeros(SHAPE, dtype=np.float32)
    render_foot(flat, (0.5, 1.0), 0.0, 0.5)          # toes towards +x
    contact = flat > THRESHOLD
    cols = np.flatnonzero(contact.any(axis=0))
    heel = contact & (np.arange(SHAPE[1]) < cols[0] + 4)   # at heel strike only the back of the heel touched
    assert heel.sum() < CONFIG.min_anchor_fraction * contact.sum()
    prior = _prior(heel.astype(np.int32), (FootHint(7, (100.0, cols[0] + 2.0), 0, 0.0, int(heel.sum())),))
    (foot,) = detect_footprints(flat, THRESHOLD, CONFIG, prior)
    assert foot.anchor_track_id == 7 and foot.age == 1


def test_a_track_whose_contact_splits_into_three_pieces_keeps_them_all():
    frame = np.zeros(SHAPE, dtype=np.float32)
    owner = np.zeros(SHAPE, dtype=np.int32)
    pieces = {"left": (slice(95, 105), slice(40, 65)), "right": (slice(110, 120), slice(40, 65)),
              "third": (slice(125, 132), slice(40, 56)), "neighbour": (slice(150, 160), slice(40, 65))}
    for name, (rows, cols) in pieces.items():
        frame[rows, cols] = 60.0
    # Track 1 stood on left + right (touching, one foot in the previous frame) and on the third piece;
    # track 2's one foot is within a stride of the third piece.
    owner[pieces["left"]] = owner[pieces["right"]] = 1
    owner[pieces["third"]] = 2
    owner[pieces["neighbour"]] = 3
    prior = _prior(owner, (FootHint(1, (100.0, 45.0), 30), FootHint(1, (128.0, 45.0), 30), FootHint(2, (155.0, 45.0), 30)))
    feet = detect_footprints(frame, THRESHOLD, CONFIG, prior)
    assert sorted(f.anchor_track_id for f in feet) == [1, 1, 1, 2]
    people = {p.prior_track_id: p for p in group_footprints(feet, SHAPE, CONFIG, prior)}
    assert sorted(people) == [1, 2]
    assert len(people[1].feet) == 2
    track_1_cells = np.flatnonzero(np.isin(owner, [1, 2]))
    assert np.array_equal(np.sort(people[1].cells), track_1_cells)
    assert np.array_equal(np.sort(people[2].cells), np.flatnonzero(owner == 3))


def test_a_new_pad_next_to_a_flat_foot_is_another_foot():
    # A partner's heel lands 3 cm in front of the toes of a foot that has stood flat for a while: close
    # enough to be merged as one foot's pads, but a flat foot no longer grows.
    standing, landing = np.zeros(SHAPE, dtype=np.float32), np.zeros(SHAPE, dtype=np.float32)
    render_foot(standing, (0.50, 1.00), 0.0, 0.5)
    landing[96:104, 64:67] = 80.0   # heel strike: a small pad
    contact = standing > THRESHOLD
    toes = np.flatnonzero(contact.any(axis=0))[-1]
    assert 2 <= 64 - toes <= CONFIG.pad_max_gap / CONFIG.cell_pitch
    for age, expected in ((CONFIG.foot_flat_frames + 5, [0, 1]), (0, [1])):
        prior = _prior(contact.astype(np.int32), (FootHint(1, (100.0, 40.0), age, 0.0, int(contact.sum())),))
        feet = detect_footprints(standing + landing, THRESHOLD, CONFIG, prior)
        assert sorted(f.anchor_track_id or 0 for f in feet) == expected


def test_a_tracked_foot_fading_off_its_toes_stays_while_a_new_one_as_light_is_dust():
    frame = np.zeros(SHAPE, dtype=np.float32)
    toes, dust = (slice(100, 102), slice(60, 62)), (slice(150, 152), slice(60, 62))
    frame[toes] = frame[dust] = THRESHOLD + 0.5      # 4 cells each, 1.8 N: under min_foot_force_n
    assert CONFIG.force_n(frame[toes].sum()) < CONFIG.min_foot_force_n
    owner = np.zeros(SHAPE, dtype=np.int32)
    owner[98:102, 45:62] = 1                         # the whole foot, of which only the toes still press
    prior = _prior(owner, (FootHint(4, (100.0, 50.0), 12),))
    (foot,) = detect_footprints(frame, THRESHOLD, CONFIG, prior)
    assert foot.anchor_track_id == 4 and foot.box == (60, 100, 62, 102)
    assert detect_footprints(frame, THRESHOLD, CONFIG, None) == []


def test_a_fragment_a_track_kept_beside_its_flat_foot_leaves_room_for_its_next_step():
    frame = np.zeros(SHAPE, dtype=np.float32)
    render_foot(frame, (0.50, 1.00), 0.0, 0.5)      # the flat stance foot, toes towards +x
    fragment = (slice(112, 117), slice(50, 56))     # 30 cells 12 cm aside: left over from touching feet
    frame[fragment] = 40.0
    render_foot(frame, (0.85, 0.95), 0.0, 0.5)      # the person's next step lands
    owner = np.zeros(SHAPE, dtype=np.int32)
    stance = (frame > THRESHOLD) & (np.arange(SHAPE[1]) < 68)
    stance[fragment] = False
    owner[stance] = 1
    owner[fragment] = 2
    prior = _prior(owner, (FootHint(5, (100.0, 50.0), 10, 0.0, int(stance.sum())),
                           FootHint(5, (114.0, 53.0), 10, 0.0, 30)))
    feet = detect_footprints(frame, THRESHOLD, CONFIG, prior)
    assert sorted(f.anchor_track_id or 0 for f in feet) == [0, 5, 5]
    person = next(p for p in group_footprints(feet, SHAPE, CONFIG, prior) if p.prior_track_id == 5)
    assert len(person.feet) == 2 and person.feet[1].anchor_track_id is None   # stance (+ fragment) and the step
    assert np.isin(np.flatnonzero(owner == 2), person.cells).all()
