"""Offline hindsight (linking.py): a whole file's tracklets linked into people. Painted tracklets: a walker who
steps off the mat's edge and back is one person, two people on the mat at once never are, a return too far in time,
too far to walk to, or of another body is nobody's, a departure must go over the border, and an unweighed tracklet
is linked only when nobody weighed but one person can be it. End to end, the offline writer links a return the
live tracker could not recognise (feet on the edge, never weighed) and leaves the live ids as they were."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from test_tracker_design import SHAPE, standing
from pressure_tracker.identity import BodySignature
from pressure_tracker.linking import link, tracklets_of
from pressure_tracker.motchallenge import Scene, track_scene
from pressure_tracker.tracker import PressureTracker, TrackState, TrackerConfig

FPS = 15.0
CONFIG = TrackerConfig()
WEIGHED = CONFIG.signature_time   # each visit weighed for the shortest time a signature takes
LIGHT_BODY, HEAVY_BODY = BodySignature(600.0, 0.26, WEIGHED), BodySignature(800.0, 0.28, WEIGHED)


def painted(pieces: list[tuple[int, float, float, tuple[float, float], tuple[float, float]]]):
    """Rows of tracklets: (id, first s, last s, where it starts, where it ends) [m], one box of 30 x 20 cm per frame
    on the line between, at 15 Hz. Returns frames, ids, boxes [cells] for `tracklets_of`."""
    frames, ids, boxes = [], [], []
    for track_id, first, last, start, end in pieces:
        span = np.arange(int(round(first * FPS)), int(round(last * FPS)) + 1)
        share = (span - span[0]) / max(1, span[-1] - span[0])
        centre = (np.asarray(start)[None, :] + share[:, None] * (np.subtract(end, start))[None, :]) / CONFIG.cell_pitch
        frames += list(span + 1)
        ids += [track_id] * len(span)
        boxes += [(x - 10, y - 15, x + 10, y + 15) for x, y in centre]
    return np.array(frames), np.array(ids), np.array(boxes, dtype=float)


def people(pieces, visits) -> dict[int, int]:
    frames, ids, boxes = painted(pieces)
    return link(tracklets_of(frames, ids, boxes, SHAPE, visits, FPS, CONFIG), FPS, CONFIG)


# A mat of 1.2 x 2.38 m: x along its 120 columns, y along its 238 rows. Its border at x = 0 and x = 1.2.
NEAR_LEFT_EDGE = 0.1


def test_a_walker_who_steps_off_the_edge_and_back_is_one_person():
    """Walker 1 is weighed on the mat, walks along the left edge, steps off for 2 s and on again 1 m further on, and
    is not weighed again (feet on the edge); person 2 stands in the middle all along: the piece is walker 1's."""
    pieces = [(1, 0.0, 10.0, (0.6, 0.5), (NEAR_LEFT_EDGE, 1.0)),
              (2, 0.0, 20.0, (0.7, 1.5), (0.7, 1.5)),
              (3, 12.0, 15.0, (NEAR_LEFT_EDGE, 2.0), (NEAR_LEFT_EDGE, 2.2))]
    assert people(pieces, {1: [LIGHT_BODY], 2: [HEAVY_BODY]}) == {1: 1, 2: 2, 3: 1}


def test_two_people_on_the_mat_at_once_are_never_one_person_however_alike():
    """Side by side 40 cm apart (within a step of each other), one joining the other half-way."""
    pieces = [(1, 0.0, 10.0, (0.4, 0.5), (0.4, 1.5)), (2, 5.0, 10.0, (0.8, 1.0), (0.8, 1.5))]
    assert people(pieces, {1: [LIGHT_BODY], 2: [LIGHT_BODY]}) == {1: 1, 2: 2}


def test_a_return_of_the_same_body_is_linked_and_one_of_another_body_is_not():
    """Both leave over the left edge and come back over it 30 s later: the return weighed as the walker is them;
    one 15 % heavier (1.6 combined weight tolerances off) is a new person."""
    leave = (0.6, 1.0), (NEAR_LEFT_EDGE, 1.0)
    back = (NEAR_LEFT_EDGE, 1.2), (0.6, 1.2)
    alike = BodySignature(LIGHT_BODY.weight_n * 1.03, LIGHT_BODY.foot_length_m + 0.005, WEIGHED)
    heavier = BodySignature(LIGHT_BODY.weight_n * 1.15, LIGHT_BODY.foot_length_m, WEIGHED)
    assert people([(1, 0.0, 10.0, *leave), (2, 40.0, 50.0, *back)], {1: [LIGHT_BODY], 2: [alike]}) == {1: 1, 2: 1}
    assert people([(1, 0.0, 10.0, *leave), (2, 40.0, 50.0, *back)], {1: [LIGHT_BODY], 2: [heavier]}) == {1: 1, 2: 2}


def test_tracklets_weighed_long_are_judged_as_one_short_weighing_each():
    """A tracklet's median over many seconds does not sharpen as one visit's weighing does (its rows may hold pieces of
    other people; an edge walker weighs light): a return 5.7 % light after 11 s of visits is the walker; 15 % off is
    still somebody else."""
    leave = (0.6, 1.0), (NEAR_LEFT_EDGE, 1.0)
    back = (NEAR_LEFT_EDGE, 1.2), (0.6, 1.2)
    walker = [BodySignature(LIGHT_BODY.weight_n, LIGHT_BODY.foot_length_m, 1.8)] * 6
    light = BodySignature(LIGHT_BODY.weight_n * 0.943, LIGHT_BODY.foot_length_m, 2.1)
    lighter = BodySignature(LIGHT_BODY.weight_n * 0.85, LIGHT_BODY.foot_length_m, 2.1)
    assert people([(1, 0.0, 10.0, *leave), (2, 40.0, 50.0, *back)], {1: walker, 2: [light]}) == {1: 1, 2: 1}
    assert people([(1, 0.0, 10.0, *leave), (2, 40.0, 50.0, *back)], {1: walker, 2: [lighter]}) == {1: 1, 2: 2}


def test_two_people_of_one_build_far_apart_in_time_are_not_linked():
    """Alike bodies but more than reid_memory apart: as the live gallery, hindsight forgets a departed person."""
    late = CONFIG.reid_memory + 60.0
    pieces = [(1, 0.0, 10.0, (0.6, 1.0), (NEAR_LEFT_EDGE, 1.0)),
              (2, late, late + 10.0, (NEAR_LEFT_EDGE, 1.0), (0.6, 1.0))]
    assert people(pieces, {1: [LIGHT_BODY], 2: [LIGHT_BODY]}) == {1: 1, 2: 2}


def test_a_departure_goes_over_the_border_and_a_return_within_walking_reach():
    """Somebody whose feet vanish mid-mat for longer than lost_time did not leave: who appears 10 s later is not
    them; a piece that begins farther from where one ended than walking reaches in the gap is nobody's either."""
    visits = {1: [LIGHT_BODY], 2: [LIGHT_BODY]}
    assert people([(1, 0.0, 10.0, (0.6, 0.5), (0.6, 1.0)), (2, 20.0, 30.0, (NEAR_LEFT_EDGE, 1.2), (0.6, 1.2))],
                  visits) == {1: 1, 2: 2}
    far = (1, 0.0, 10.0, (0.6, 0.3), (0.6, 0.2)), (2, 10.5, 20.0, (0.6, 2.2), (0.6, 2.0))   # 2 m in 0.5 s
    assert people(list(far), visits) == {1: 1, 2: 2}
    near = (1, 0.0, 10.0, (0.6, 0.3), (0.6, 0.2)), (2, 10.5, 20.0, (0.6, 0.5), (0.6, 1.0))
    assert people(list(near), visits) == {1: 1, 2: 1}


def test_an_unweighed_piece_that_two_absent_people_could_be_is_nobody_s():
    """Walkers 1 and 2, weighed apart, both walk off over the left edge; an unweighed piece on that edge soon after
    could be either: it is linked to neither. With walker 2 on the mat meanwhile, only walker 1 can be it."""
    walker_1 = (1, 0.0, 10.0, (0.6, 0.5), (NEAR_LEFT_EDGE, 0.5))
    piece = (3, 12.0, 14.0, (NEAR_LEFT_EDGE, 1.0), (NEAR_LEFT_EDGE, 1.2))
    visits = {1: [LIGHT_BODY], 2: [HEAVY_BODY]}
    away = (2, 0.0, 11.0, (0.6, 2.0), (NEAR_LEFT_EDGE, 2.0))
    assert people([walker_1, away, piece], visits)[3] == 3
    present = (2, 0.0, 20.0, (0.6, 2.0), (0.6, 2.0))
    assert people([walker_1, present, piece], visits)[3] == 1


def test_the_offline_writer_links_a_return_the_tracker_could_not_weigh_and_keeps_the_live_ids():
    """A light person stands in the middle for 4 s (weighed), then on the left edge, steps off for 1 s and back on
    the edge further along (feet on the edge: never weighed, so live they keep a new id); a heavy person stands all
    along. The file writes the return under the light person's id; what the tracker published is unchanged."""
    heavy = standing((0.7, 1.8), peak_kpa=280.0)
    middle, edge, edge_further = (standing(centre, peak_kpa=200.0) for centre in ((0.6, 0.6), (0.08, 0.6), (0.08, 1.2)))
    frames = np.stack([middle + heavy] * 60 + [edge + heavy] * 15 + [heavy] * 15 + [edge_further + heavy] * 45)
    tracker = PressureTracker(TrackerConfig(report_lost=False))
    live = []
    for index, frame in enumerate(frames):
        live.append({p.track_id for p in tracker.update(frame, index / FPS) if p.state == TrackState.CONFIRMED})
    assert live[-1] == {2, 4}   # live, the return is a newcomer (4; 3 was a blip), never weighed to be recognised
    rows = track_scene(Scene(Path("edge.npz"), frames, None, FPS, 0.01, 0),
                       PressureTracker(TrackerConfig(report_lost=False)))
    assert {r.track_id for r in rows if r.frame > 90} == {1, 2}
    assert {r.frame for r in rows if r.track_id == 1} == set(range(1, 76)) | set(range(91, 136))
