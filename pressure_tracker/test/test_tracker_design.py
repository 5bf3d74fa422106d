"""The tracker's design, case by case: pieces of a foot are one foot, noise cells join nobody, people passing
25 cm apart keep their ids, the pressure unit does not matter, a returning person gets their id back, and a
noise storm leaves every state as it was."""
from __future__ import annotations

import math

import numpy as np
import pytest

from painted_footprints import FootShape, Walker, render_foot, walking_scene
from pressure_tracker.contact import NoiseFloor
from pressure_tracker.detection import Foot, detect_feet
from pressure_tracker.motchallenge import MotRow, Scores, evaluate
from pressure_tracker.tracker import PressureTracker, TooManyPeople, TrackState, TrackerConfig

SHAPE = (238, 120)
# Toe pads 3 cm ahead of the ball, and no midfoot band: heel and ball 7 cm apart (a high arch).
APART = FootShape(toes_offset=0.13)


def standing(centre: tuple[float, float], facing: float = math.pi / 2, peak_kpa: float = 220.0,
             shape: FootShape = APART) -> np.ndarray:
    """A person standing on both feet, 20 cm apart, at `centre` [m]."""
    frame = np.zeros(SHAPE, dtype=np.float32)
    left = np.array([-math.sin(facing), math.cos(facing)]) * 0.10
    for side in (1.0, -1.0):
        render_foot(frame, tuple(np.asarray(centre) + side * left), facing, 0.5, peak_kpa, side, shape=shape,
                    midfoot=False)
    return frame


def rows_of(tracker, frames, fps: float = 15.0) -> list[MotRow]:
    rows = []
    for index, frame in enumerate(frames):
        rows += [MotRow(index + 1, p.track_id, *p.box[:2], p.box[2] - p.box[0], p.box[3] - p.box[1], p.confidence)
                 for p in tracker.update(frame, index / fps) if p.state == TrackState.CONFIRMED]
    return rows


def tracked_walkers(walkers: list[Walker], n_frames: int, seed: int) -> tuple[set[int], Scores]:
    """The walkers' scene at 15 Hz with 1 kPa noise, tracked: the confirmed track ids and the scene's scores."""
    scene = walking_scene(walkers, n_frames=n_frames, noise_kpa=1.0, seed=seed)
    rows = rows_of(PressureTracker(TrackerConfig(report_lost=False)), scene.pressure)
    return {r.track_id for r in rows}, evaluate(scene.boxes, rows)


def test_separate_pads_of_a_foot_are_one_foot():
    frame = np.zeros(SHAPE, dtype=np.float32)
    render_foot(frame, (0.6, 1.2), math.pi / 2, 0.5, shape=APART, midfoot=False)
    noise_floor = NoiseFloor(5.0)
    threshold = noise_floor.update(frame, 1 / 15)
    config = TrackerConfig()
    assert len(detect_feet(frame, threshold, config.cell_pitch, 0.0, config.min_foot_area)) >= 3   # heel, ball, toes
    (foot,) = detect_feet(frame, threshold, config.cell_pitch, config.foot_gap, config.min_foot_area)
    assert 0.24 < foot.length_m < 0.30


def test_a_person_standing_still_with_toes_and_arch_apart_is_one_person_for_a_minute():
    rng = np.random.default_rng(0)
    still = standing((0.6, 1.2))
    frames = [np.clip(still + rng.normal(0, 1.0, SHAPE), 0, None).astype(np.float32) for _ in range(600)]
    tracker = PressureTracker(TrackerConfig(report_lost=False))
    rows = rows_of(tracker, frames, fps=10.0)
    assert {r.track_id for r in rows} == {1}
    assert len(rows) == 600 - 2          # confirmed on its third frame, then every frame
    assert tracker.ids_issued == 1


def test_isolated_hot_cells_join_nobody_and_grow_no_box():
    clean = standing((0.6, 1.2))
    hot = clean.copy()
    rng = np.random.default_rng(1)
    hot[rng.integers(0, SHAPE[0], 40), rng.integers(0, SHAPE[1], 40)] = 60.0
    for row, col in ((92, 42), (150, 75), (120, 30)):     # single cells 2-5 cm from the feet
        hot[row, col] = 300.0
    for name, frame in (("clean", clean), ("hot", hot)):
        tracker = PressureTracker(TrackerConfig(min_hits=1))
        for index in range(5):
            people = tracker.update(frame, index / 15)
        if name == "clean":
            (reference,) = people
        else:
            (person,) = people
            assert person.box == reference.box
            assert not (person.mask & (clean <= 0)).any()


def test_the_rim_of_a_foot_widens_its_box_but_isolated_noise_and_tracking_do_not_change():
    rng = np.random.default_rng(5)
    noise = np.abs(rng.normal(0, 1.0, SHAPE)).astype(np.float32)
    plain = standing((0.6, 1.2)) + noise
    rimmed = plain.copy()
    rimmed[112:130, 74] = 3.5         # a faint strip along the right foot's outer edge (above 3, below 5 sigmas)
    rimmed[20, 20] = rimmed[21, 21] = 3.5   # the same faintness far from anybody
    results = {}
    for name, frame in (("plain", plain), ("rimmed", rimmed)):
        tracker = PressureTracker(TrackerConfig(min_hits=1))
        for index in range(5):
            (person,) = tracker.update(frame, index / 15)
        results[name] = person, track_states(tracker)
    (plain_person, plain_state), (rimmed_person, rimmed_state) = results["plain"], results["rimmed"]
    assert rimmed_person.box[2] > plain_person.box[2] >= 74        # the strip at column 74 is in the box
    assert rimmed_person.mask[112:130, 74].all() and not rimmed_person.mask[20:22, 20:22].any()
    assert rimmed_person.centroid_m == plain_person.centroid_m
    assert [s[:4] for s in rimmed_state] == [s[:4] for s in plain_state]


def crossing_walkers(closest: float) -> list[Walker]:
    """Two walkers of 60 and 80 kg on diagonals crossing at 60 degrees whose centres pass `closest` [m] apart.

    Both reach the crossing point after the same distance; b starting `delay` seconds later separates them by
    delay * speed along the paths, which meet at 60 degrees: closest distance = delay * speed * sin(60). b
    starts 0.35 m further back (and as much earlier) so that no foot of one lands on a footprint of the other.
    """
    delay, back = closest / math.sin(math.radians(60.0)), 0.35
    heading_b = math.radians(120.0)
    return [Walker((0.15, 0.30), math.radians(60.0), speed=1.0, step_length=0.55, weight_n=590.0),
            Walker((1.05 - back * math.cos(heading_b), 0.30 - back * math.sin(heading_b)), heading_b, speed=1.0,
                   step_length=0.55, first_foot_left=False, start_time=delay - back, weight_n=785.0)]


@pytest.mark.parametrize("closest", [0.25, 0.30])
def test_people_crossing_at_25_cm_keep_their_ids(closest):
    walkers = crossing_walkers(closest)
    times = np.arange(max(w.start_time for w in walkers), 3.0, 0.01)
    gap = min(float(np.hypot(*(walkers[0].path_pose(t - walkers[0].start_time)[0]
                               - walkers[1].path_pose(t - walkers[1].start_time)[0]))) for t in times)
    assert closest - 0.005 < gap < closest + 0.005
    alone = [walking_scene([walker], n_frames=45, noise_kpa=0.0).pressure > 0 for walker in walkers]
    assert not (alone[0] & alone[1]).any()            # nobody steps on a footprint of the other
    ids, scores = tracked_walkers(walkers, n_frames=45, seed=2)
    assert scores.id_switches == 0
    assert len(ids) == 2
    assert scores.mota > 0.9


@pytest.mark.parametrize("scale", [0.03, 30.0])
def test_a_file_in_another_pressure_scale_gives_the_same_tracks(scale):
    walkers = [Walker((0.40, 0.20), math.pi / 2, speed=0.8, step_length=0.5),
               Walker((0.85, 2.20), -math.pi / 2, speed=0.8, step_length=0.5, start_time=0.1)]
    scene = walking_scene(walkers, n_frames=40, noise_kpa=1.0, seed=4)
    calibrated = rows_of(PressureTracker(), scene.pressure)
    scaled = rows_of(PressureTracker(), scene.pressure * np.float32(scale))
    assert len({r.track_id for r in calibrated}) == 2
    assert scaled == calibrated


def test_a_returning_person_gets_their_id_back_and_somebody_else_does_not():
    config = TrackerConfig(report_lost=False, lost_time=1.0, signature_time=1.0)
    tracker = PressureTracker(config)
    empty = np.zeros(SHAPE, dtype=np.float32)
    clock = iter(range(10_000))

    def stay(frame: np.ndarray, seconds: float) -> set[int]:
        ids = set()
        for _ in range(int(seconds * 15)):
            ids = {p.track_id for p in tracker.update(frame, next(clock) / 15) if p.state == TrackState.CONFIRMED}
        return ids

    light, heavy = standing((0.6, 0.5), peak_kpa=200.0), standing((0.6, 1.8), peak_kpa=280.0)
    assert stay(light + heavy, 3.0) == {1, 2}
    assert stay(heavy, 3.0) == {2}                                    # the light person leaves ...
    assert stay(empty, 3.0) == set()                                  # ... then the heavy one
    assert stay(standing((0.3, 1.2), peak_kpa=280.0), 3.0) == {2}     # the heavy one comes back elsewhere
    newcomer = standing((0.9, 0.6), peak_kpa=240.0)                   # 20 % heavier than the light one
    ids = stay(newcomer + standing((0.3, 1.2), peak_kpa=280.0), 3.0)
    assert len(ids) == 2 and 2 in ids and 1 not in ids


def track_states(tracker: PressureTracker) -> list[tuple]:
    return [(t.track_id, t.state, t.hits, t.frames_since_update, tuple(t.kalman.state), t.detection.box, len(t.forces))
            for t in tracker.tracker.tracks]


def test_a_noise_storm_frame_raises_and_leaves_every_track_as_it_was():
    walkers = [Walker((0.40, 0.20), math.pi / 2, speed=0.6, step_length=0.5),
               Walker((0.85, 2.20), -math.pi / 2, speed=0.6, step_length=0.5, start_time=0.1)]
    frames = walking_scene(walkers, n_frames=30, seed=1).pressure
    storm = frames[15].copy()
    rng = np.random.default_rng(0)
    for row, col in zip(rng.integers(0, SHAPE[0] - 3, 30), rng.integers(0, SHAPE[1] - 3, 30)):
        storm[row:row + 3, col:col + 3] = 50.0
    tracker = PressureTracker()
    for index in range(15):
        tracker.update(frames[index], index / 15, max_people=3)
    before = track_states(tracker)
    with pytest.raises(TooManyPeople):
        tracker.update(storm, 15 / 15, max_people=3)
    assert track_states(tracker) == before
    ids = [{p.track_id for p in tracker.update(frames[index], index / 15, max_people=3)
            if p.state == TrackState.CONFIRMED} for index in range(15, 30)]
    assert all(frame_ids == {1, 2} for frame_ids in ids)


@pytest.mark.parametrize("first_foot_left_b", [True, False])
def test_two_people_walking_side_by_side_42_cm_apart_are_two_people(first_foot_left_b):
    # Centres 0.42 m apart sideways: nearer than one step forward (0.55 m), farther than any step width.
    walkers = [Walker((0.39, 0.20), math.pi / 2, speed=1.0, step_length=0.55, weight_n=650.0),
               Walker((0.81, 0.20), math.pi / 2, speed=1.0, step_length=0.55, weight_n=750.0,
                      first_foot_left=first_foot_left_b)]
    ids, scores = tracked_walkers(walkers, n_frames=40, seed=3)
    assert len(ids) == 2
    assert scores.id_switches == 0
    assert scores.mota > 0.9


def test_one_person_stepping_forward_0_5_m_stays_one_person():
    # The same 0.42 m and more, along the walking direction, is one person's step.
    walker = Walker((0.60, 0.20), math.pi / 2, speed=1.2, step_length=0.65)
    ids, scores = tracked_walkers([walker], n_frames=40, seed=4)
    assert len(ids) == 1
    assert scores.mota > 0.9


@pytest.mark.parametrize("stuck_time", [1.0, 1e6])
def test_a_hot_cell_next_to_a_foot_does_not_grow_its_box(stuck_time):
    person = standing((0.6, 1.2))
    rows, cols = np.nonzero(person > 20.0)
    hot = (int(rows.max()) + 1, int(cols[rows == rows.max()].min()) - 1)   # diagonally past a foot's end
    hot_offset = np.zeros(SHAPE, dtype=np.float32)
    hot_offset[hot] = 15.0                                            # a hot cell: 15 kPa over the truth, always

    def noisy(frame):
        return np.clip(frame + rng.normal(0, 0.5, SHAPE), 0, None).astype(np.float32)

    boxes = {}
    for name, offset in (("clean", 0.0 * hot_offset), ("hot", hot_offset)):
        rng = np.random.default_rng(7)
        tracker = PressureTracker(TrackerConfig(min_hits=1, stuck_time=stuck_time))
        empty = np.zeros(SHAPE, dtype=np.float32)
        for index in range(30):                   # 2 s of an empty mat: the cell stands alone
            tracker.update(noisy(empty) + offset, index / 15)
        for index in range(30, 40):               # then a person stands beside it
            (person_seen,) = tracker.update(noisy(person) + offset, index / 15)
        boxes[name] = person_seen.box
        if name == "hot":
            hot_in_mask = bool(person_seen.mask[hot])
    if stuck_time > 100:    # without learning the cell's history, the hot cell joins the foot's rim
        assert boxes["hot"] != boxes["clean"] and hot_in_mask
    else:
        assert boxes["hot"] == boxes["clean"] and not hot_in_mask


def test_a_foot_touching_lightly_is_contact_and_the_noise_around_makes_none():
    """A foot landing reads above the limit of detection (3 sigmas) before it reaches contact (5 sigmas): it is a
    foot, while a whole mat of noise at the same threshold makes no foot (four connected cells above 3 sigmas)."""
    rng = np.random.default_rng(3)
    frame = rng.normal(0.0, 1.0, SHAPE).astype(np.float32)
    frame += standing((0.25, 0.3)) + standing((0.95, 2.1))     # two people in opposite corners: the whole mat is looked at
    noise_floor = NoiseFloor(5.0)
    threshold = noise_floor.update(frame, 1 / 15)
    light = noise_floor.rim_threshold(3.0)
    config = TrackerConfig()

    def feet(image, light_threshold):
        return detect_feet(image, threshold, config.cell_pitch, config.foot_gap, config.min_foot_area,
                           config.foot_length_max, light_threshold=light_threshold)

    assert len(feet(frame, light)) == len(feet(frame, None)) == 4   # the noise made no light foot
    landing = frame.copy()
    landing[100:106, 60:63] = 0.5 * (threshold + light)              # a heel touching down, between 3 and 5 sigmas
    assert len(feet(landing, None)) == 4
    touching = [foot for foot in feet(landing, light) if foot.box == (60, 100, 63, 106)]
    assert len(touching) == 1 and len(feet(landing, light)) == 5


def standing_on_noise(seed: int) -> tuple[np.ndarray, float, float, TrackerConfig]:
    """A person standing on a mat with unit noise: the frame, its contact and light thresholds, the config."""
    rng = np.random.default_rng(seed)
    frame = rng.normal(0.0, 1.0, SHAPE).astype(np.float32)
    frame += standing((0.25, 0.3))
    noise_floor = NoiseFloor(5.0)
    threshold = noise_floor.update(frame, 1 / 15)
    return frame, threshold, noise_floor.rim_threshold(3.0), TrackerConfig()


def test_a_light_foot_whose_peak_just_passes_the_contact_threshold_is_still_a_foot():
    """A dancer's second foot, a toe touching: 18 cells above the limit of detection, its 2 most loaded cells above
    contact. The 2 contact cells alone fall under min_foot_area; judged by its light cells, as a foot that stays
    under the contact threshold is, it is a foot with the box of all 18. A contact cell (a hot cell) whose light
    neighbours are fewer than a light foot has cells is still no foot."""
    frame, threshold, light, config = standing_on_noise(seed=4)
    frame[150:156, 60:63] = 0.5 * (threshold + light)    # the toe, between 3 and 5 sigmas ...
    frame[152:154, 61] = 2.0 * threshold                 # ... its 2 most loaded cells in contact
    frame[200, 100] = 60.0                               # a hot cell with 2 light neighbours
    frame[200, 101:103] = 0.5 * (threshold + light)
    feet = detect_feet(frame, threshold, config.cell_pitch, config.foot_gap, config.min_foot_area,
                       config.foot_length_max, light_threshold=light)
    touching = [foot for foot in feet if foot.box == (60, 150, 63, 156)]
    assert len(touching) == 1 and touching[0].cells.size == 18
    assert len(feet) == 3                                # the standing person's two feet and the toe


def test_a_light_foot_away_from_all_contact_is_found():
    """A dancer's other foot, touching lightly 60 cm from the only contact on the mat (no cell of it in contact):
    found wherever it lies, not only near the contact."""
    frame, threshold, light, config = standing_on_noise(seed=6)
    frame[100:106, 90:93] = 0.5 * (threshold + light)    # rows 100-105: 57 cm beyond the feet's last row
    feet = detect_feet(frame, threshold, config.cell_pitch, config.foot_gap, config.min_foot_area,
                       config.foot_length_max, light_threshold=light)
    assert [foot.box for foot in feet if foot.box == (90, 100, 93, 106)] == [(90, 100, 93, 106)]
    assert len(feet) == 3


def test_a_rim_joins_the_one_person_it_touches_and_no_cell_twice():
    from pressure_tracker.detection import person_detection, with_rim

    frame = np.zeros((40, 80), dtype=np.float32)
    for left in (10, 40, 60):           # the feet of three people
        frame[10:20, left:left + 5] = 50.0
    frame[8:22, 9:16] += 2.0            # a faint rim around the first foot only
    frame[14:16, 45:60] = 2.0           # a faint bridge between the second and third: nobody's
    pitch = 0.01
    feet = sorted(detect_feet(frame, 10.0, pitch, 0.0, 4e-4), key=lambda foot: foot.box[0])
    people = [person_detection([foot], frame.shape, pitch) for foot in feet]
    grown = with_rim(people, frame, 1.0, pitch)
    assert all(np.unique(p.cells).size == p.cells.size for p in grown)
    assert grown[0].box == (9, 8, 16, 22) and grown[0].cells.size == 14 * 7
    assert [p.box for p in grown[1:]] == [p.box for p in people[1:]]
    assert [p.cells.size for p in grown[1:]] == [50, 50]


def test_two_people_whose_feet_press_together_stay_two_people_by_the_cells_each_foot_held():
    # A stands on feet at x 0.30 and 0.50 m, B on feet at 0.82 and 1.02 m; B's inner foot then slides 1 cm a frame
    # towards A's until they touch: one contact no longer or wider than a pair of feet side by side (under
    # foot_length_max, no gap), which only the cells each foot held tell apart.
    frames = []
    for index in range(40):
        frame = np.zeros(SHAPE, dtype=np.float32)
        b_inner = max(0.60, 0.82 - 0.01 * max(0, index - 10))
        for x, side in ((0.30, 1.0), (0.50, -1.0), (b_inner, 1.0), (1.02, -1.0)):
            render_foot(frame, (x, 1.2), math.pi / 2, 0.5, 220.0, side, shape=APART, midfoot=False)
        frames.append(frame)
    config = TrackerConfig(report_lost=False)
    touching = detect_feet(frames[-1], 5.0, config.cell_pitch, config.foot_gap, config.min_foot_area,
                           config.foot_length_max)
    assert len(touching) == 3   # the inner feet are one contact
    tracker = PressureTracker(config)
    ids = None
    for index, frame in enumerate(frames):
        people = sorted((p for p in tracker.update(frame, index / 15) if p.state == TrackState.CONFIRMED),
                        key=lambda p: p.box[0])
        if index >= 3:
            ids = ids or [p.track_id for p in people]
            assert [p.track_id for p in people] == ids and len(ids) == 2
            a, b = people
            assert a.box[2] <= 56 and b.box[0] >= 54, (index, a.box, b.box)   # A's inner foot ends at ~55 cells


@pytest.mark.parametrize("at_border", [True, False])
def test_a_person_at_the_mat_border_keeps_a_foot_their_weight_does_not_show(at_border):
    # Two people, each with one foot at the border (at_border) and one clear of it, both carrying less than
    # their weight. B would fit its weight with A's clear foot (0.52 m from B, 0.15 m from A): with a foot at
    # the border a person may stand partly off the mat, so their underload tells nothing and A keeps the foot;
    # clear of the border, the weights decide.
    from pressure_tracker.assignment import _NEVER
    from pressure_tracker.motion import ConstantVelocityKalman, Track
    from pressure_tracker.tracking import PeopleTracker

    def foot(force: float, edge: bool) -> Foot:
        return Foot(np.arange(30), (0, 0, 5, 6), np.zeros(2), force, 0.003, 0.2, 0.0, edge)

    tracker = PeopleTracker(TrackerConfig())
    for track_id, weight in ((1, 694.0), (2, 602.0)):
        track = Track(track_id, TrackState.CONFIRMED, ConstantVelocityKalman(np.zeros(2), 4.0, 0.05), None, 0.0)
        track.recent_forces.extend([weight] * 15)
        tracker.tracks.append(track)
    feet = [foot(40.0, at_border), foot(233.0, False), foot(94.0, at_border), foot(276.0, False)]
    owner = np.array([0, 0, 1, 1])
    cost = np.array([[0.0, _NEVER], [0.15, 0.52], [_NEVER, 0.0], [_NEVER, 0.0]])
    tracker._balance_weights(feet, cost, owner)
    assert owner[1] == (0 if at_border else 1)


@pytest.mark.parametrize("first_foot_left_b", [True, False])
def test_two_people_walking_side_by_side_30_cm_apart_keep_one_box_each_for_10_s(first_foot_left_b):
    # Pelvises 0.3 m apart, shoulder to shoulder, pacing back and forth for 10 s. With B's first foot right, the inner
    # feet land 0.16 m apart, 7 cm between their edges (closer than foot_gap: one contact), B's a step after A's:
    # the foot landing beside a foot in stance is somebody else's (`_split_by_history`).
    walkers = [Walker((0.45, 0.30), math.pi / 2, speed=0.9, step_length=0.55, step_width=0.14, turn_back_after=1.65,
                      weight_n=600.0),
               Walker((0.75, 0.30), math.pi / 2, speed=0.9, step_length=0.55, step_width=0.14, turn_back_after=1.65,
                      weight_n=800.0, first_foot_left=first_foot_left_b, start_time=0.15)]
    ids, scores = tracked_walkers(walkers, n_frames=150, seed=5)
    assert len(ids) == 2
    assert scores.id_switches == 0
    assert scores.mota > 0.95


def test_two_people_walking_side_by_side_taken_for_one_at_first_are_parted():
    # Pelvises 0.38 m apart; their inner feet land first, 0.24 m apart: one person's two feet, as far as one frame
    # can tell. Walking on, the track holds feet wider apart across the walk than one person's (lateral_reach).
    walkers = [Walker((0.45, 0.30), math.pi / 2, speed=0.9, step_length=0.55, step_width=0.14, turn_back_after=1.65,
                      weight_n=600.0, first_foot_left=False),
               Walker((0.83, 0.30), math.pi / 2, speed=0.9, step_length=0.55, step_width=0.14, turn_back_after=1.65,
                      weight_n=800.0, start_time=0.1)]
    ids, scores = tracked_walkers(walkers, n_frames=150, seed=5)
    assert len(ids) == 2
    assert scores.id_switches == 0
    assert scores.mota > 0.85


@pytest.mark.parametrize("weight_moves", [True, False])
def test_a_far_step_is_the_stepper_s_own_and_a_newcomer_beside_a_person_is_not(weight_moves):
    # A dancer on one foot steps 0.68 m aside and forward (beyond step_reach of their centre of pressure, within
    # max_step of the foot left behind) and moves their weight onto the far foot over 4 frames: one person. The same
    # foot landing while the person's load stays on their foot is somebody arriving: a second person.
    old, far = (0.50, 1.00), (0.90, 1.55)
    shares = [0.15, 0.5, 0.85, 1.0]
    frames = []
    for index in range(30):
        frame = np.zeros(SHAPE, dtype=np.float32)
        landed = index - 12
        on_far = 0.0 if landed < 0 else shares[min(landed, len(shares) - 1)]
        on_old = 1.0 - on_far if weight_moves else 1.0
        if on_old > 0:
            render_foot(frame, old, math.pi / 2, 0.5, 220.0 * on_old, 1.0, shape=APART, midfoot=False)
        if on_far > 0:
            render_foot(frame, far, math.pi / 2, 0.5, 220.0 * on_far, -1.0, shape=APART, midfoot=False)
        frames.append(frame)
    rows = rows_of(PressureTracker(TrackerConfig(report_lost=False)), frames)
    assert len({r.track_id for r in rows}) == (1 if weight_moves else 2)


@pytest.mark.parametrize("stance_unloads", [True, False])
def test_a_walker_s_side_step_is_not_parted_as_a_second_person(stance_unloads):
    # A person walking forward (0.4 m/s along their feet) puts a foot down 0.4 m aside, wider than lateral_reach:
    # while the foot they stand on unloads (600 -> 200 N), the weight moves onto the new foot, a side step of
    # their own; while it keeps its load, the new foot adds weight: somebody else's, parted to a new person.
    from collections import deque

    from pressure_tracker.detection import person_detection
    from pressure_tracker.motion import ConstantVelocityKalman, Track
    from pressure_tracker.tracking import PeopleTracker

    def foot(cells: np.ndarray, x: float, force: float) -> Foot:
        return Foot(cells, (0, 0, 8, 24), np.array([x, 1.0]), force, 0.012, 0.24, math.pi / 2, False)

    stance_cells, landing_cells = np.arange(0, 120), np.arange(1000, 1120)
    tracker = PeopleTracker(TrackerConfig())
    track = Track(1, TrackState.CONFIRMED, ConstantVelocityKalman(np.array([0.5, 1.0]), 4.0, 0.05),
                  person_detection([foot(stance_cells, 0.5, 600.0)], SHAPE, 0.01), 0.0)
    track.path = deque([(0.0, 0.5, 0.8), (0.5, 0.5, 1.0)])
    track.feet_axis = math.pi / 2
    tracker.tracks.append(track)
    feet = [foot(stance_cells, 0.5, 200.0 if stance_unloads else 590.0), foot(landing_cells, 0.9, 400.0)]
    owner = np.array([0, 0])
    tracker._part_wide_people(feet, np.zeros((2, 1)), np.array([[1.0], [0.0]]), np.array([0.3, 0.0]), owner)
    assert owner.tolist() == ([0, 0] if stance_unloads else [0, -1])


# A big shoe (~0.33 m of outsole contact, heel to toe joined by the sole), longer than foot_length_max: a heavy
# person's load lifts its fading rim above the contact threshold.
BIG_SHOE = FootShape(heel_offset=-0.12, heel_half_axes=(0.045, 0.038), ball_offset=0.07, ball_half_axes=(0.045, 0.05),
                     toes_offset=0.13, toes_half_axes=(0.035, 0.045), midfoot_offset=(-0.02, 0.0),
                     midfoot_half_axes=(0.11, 0.035))


@pytest.mark.parametrize("facing", [0.6, 2.2])
def test_a_heavy_person_standing_in_big_shoes_is_one_person(facing):
    """Each shoe is cut in two for its length; the two parts of one shoe pair as one foot, so a newcomer standing
    still with feet 25 cm apart is one person, not one per shoe (parts of a shoe paired with each other)."""
    frame = np.zeros(SHAPE, dtype=np.float32)
    left = np.array([-math.sin(facing), math.cos(facing)]) * 0.125
    for side in (1.0, -1.0):
        render_foot(frame, tuple(np.array([0.6, 1.2]) + side * left), facing, 0.5, 300.0, side, shape=BIG_SHOE)
    config = TrackerConfig(report_lost=False)
    feet = detect_feet(frame, NoiseFloor(config.contact_sigmas).update(frame, 1 / 15), config.cell_pitch,
                       config.foot_gap, config.min_foot_area, config.foot_length_max)
    assert len(feet) == 4 and len({foot.cut_from for foot in feet}) == 2 and None not in {f.cut_from for f in feet}
    tracker = PressureTracker(config)
    ids = set()
    for i in range(30):
        ids |= {p.track_id for p in tracker.update(frame, i / 15) if p.state == TrackState.CONFIRMED}
    assert ids == {1}
