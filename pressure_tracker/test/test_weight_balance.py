"""Body weight is conserved: a landing foot goes to the person whose stance foot is unloading, and a
young foot that would make its track carry far more than its body weight, with no other track within a
stride to own it, is shed to stand alone."""
from __future__ import annotations

import dataclasses

import numpy as np

from pressure_tracker.detection import (DetectionConfig, Footprint, GroupingPrior, TrackHint, detect_footprints,
                                        feet_pair_cost, group_footprints)
from painted_footprints import MAT_COLS, MAT_ROWS, render_foot

SHAPE = (MAT_ROWS, MAT_COLS)
CONFIG = DetectionConfig()
THRESHOLD = 4.0
WEIGHT = 700.0   # [N] body weight of every track


def _foot(x: float, y: float, force: float, track_id: int | None = None, age: int = 10,
          heading: float = 0.0) -> Footprint:
    """One foot pointing along `heading` [rad] (default +x) with its pressure centre near (x, y) [m], detected
    alone, carrying `force` [N]; anchored to `track_id` (continuing its previous foot, down `age` frames)
    when given."""
    frame = np.zeros(SHAPE, dtype=np.float32)
    render_foot(frame, (x, y), heading, 0.5)
    (foot,) = detect_footprints(frame, THRESHOLD, CONFIG)
    foot = dataclasses.replace(foot, force=force)
    return dataclasses.replace(foot, anchor_track_id=track_id, age=age) if track_id is not None else foot


def _prior(*feet: Footprint) -> GroupingPrior:
    """Hints of known body weight and no heading for the tracks the anchored `feet` belong to."""
    by_track: dict[int, list[tuple[float, float]]] = {}
    for foot in feet:
        by_track.setdefault(foot.anchor_track_id, []).append(tuple(foot.centroid_m(CONFIG.cell_pitch)))
    hints = tuple(TrackHint(track_id, feet_m[0], None, tuple(feet_m), WEIGHT) for track_id, feet_m in by_track.items())
    return GroupingPrior(np.zeros(SHAPE, dtype=np.int32), (), hints)


def _feet_of(people) -> dict[int | None, set[int]]:
    return {person.prior_track_id: set(map(id, person.feet)) for person in people if person.prior_track_id is not None}


def test_landing_foot_joins_the_track_whose_stance_foot_unloads():
    full = _foot(0.50, 1.00, WEIGHT, track_id=1)          # standing on all their weight
    unloading = _foot(0.50, 1.40, 0.5 * WEIGHT, track_id=2)  # half their weight already off this foot
    landing = _foot(0.75, 1.18, 0.5 * WEIGHT)              # a little nearer track 1's foot
    prior = _prior(full, unloading)
    geometric = DetectionConfig(join_weight_factor=0.0)
    assert _feet_of(group_footprints([full, unloading, landing], SHAPE, geometric, prior))[1] == {id(full), id(landing)}
    people = group_footprints([full, unloading, landing], SHAPE, CONFIG, prior)
    assert _feet_of(people) == {1: {id(full)}, 2: {id(unloading), id(landing)}}


def test_partners_step_at_the_others_toes_goes_back_to_the_partner_by_weight():
    """Face to face, a partner stepping round the other person lands a foot beside that person's foot,
    pointing across it, and at an angle to their own stance foot that no pairing accepts. Given to the
    wrong person when it landed, light, it moves to its owner once its weight shows: that person's feet
    now carry far more than their weight, the partner's unloading stance foot far less."""
    mine = _foot(0.26, 1.42, WEIGHT, track_id=2, age=9)
    partner_stance = _foot(0.58, 1.40, 0.7 * WEIGHT, track_id=1, age=13, heading=np.radians(-160.0))
    partner_step = _foot(0.25, 1.18, 0.4 * WEIGHT, track_id=2, age=1, heading=np.radians(117.0))
    assert not np.isfinite(feet_pair_cost(partner_step, partner_stance, CONFIG))
    assert feet_pair_cost(partner_step, mine, CONFIG) > CONFIG.poor_pair_cost
    feet, prior = [mine, partner_stance, partner_step], _prior(mine, partner_stance)
    people = group_footprints(feet, SHAPE, CONFIG, prior)
    assert _feet_of(people) == {2: {id(mine)}, 1: {id(partner_stance), id(partner_step)}}
    # By pairing alone it would stay: only a foot that pairs poorly with its track's other foot moves this way.
    people = group_footprints(feet, SHAPE, DetectionConfig(poor_pair_cost=np.inf), prior)
    assert _feet_of(people) == {2: {id(mine), id(partner_step)}, 1: {id(partner_stance)}}


def test_young_foot_far_beyond_the_body_weight_is_shed_when_nobody_else_is_near():
    stance = _foot(0.50, 1.00, WEIGHT, track_id=1)
    stranger = _foot(0.80, 1.10, WEIGHT, track_id=1, age=2)   # somebody back on the mat, given to track 1
    people = group_footprints([stance, stranger], SHAPE, CONFIG, _prior(stance))
    assert _feet_of(people) == {1: {id(stance)}}
    assert any(person.feet == (stranger,) and person.prior_track_id is None for person in people)


def test_young_foot_is_kept_in_double_support_or_with_a_neighbour_near():
    trailing = _foot(0.50, 1.00, 0.5 * WEIGHT, track_id=1)
    leading = _foot(0.80, 1.10, 0.5 * WEIGHT, track_id=1, age=2)   # weight passing to the new foot
    people = group_footprints([trailing, leading], SHAPE, CONFIG, _prior(trailing))
    assert _feet_of(people) == {1: {id(trailing), id(leading)}}
    stance = _foot(0.50, 1.00, WEIGHT, track_id=1)
    excess = _foot(0.80, 1.10, WEIGHT, track_id=1, age=2)
    neighbour = _foot(0.80, 1.60, WEIGHT, track_id=2)   # the excess foot may be theirs (`_hand_over_young_feet`)
    people = group_footprints([stance, excess, neighbour], SHAPE, CONFIG, _prior(stance, neighbour))
    assert _feet_of(people) == {1: {id(stance), id(excess)}, 2: {id(neighbour)}}


def test_foot_on_the_border_unlike_the_stance_foot_of_a_fully_loaded_track_joins_nobody():
    """Somebody stepping back onto the mat beside a person standing on their full weight: their foot,
    cut by the mat's border and pointing another way, is not that person's next step."""
    stance = _foot(0.70, 1.00, WEIGHT, track_id=1)
    frame = np.zeros(SHAPE, dtype=np.float32)
    render_foot(frame, (MAT_COLS * CONFIG.cell_pitch - 0.08, 1.10), np.pi, 0.5)   # toes towards the stance heel
    (border,) = detect_footprints(frame, THRESHOLD, CONFIG)
    border = dataclasses.replace(border, force=0.05 * WEIGHT)   # just touching down
    assert border.box[2] == MAT_COLS
    prior = _prior(stance)
    ungated = DetectionConfig(edge_join_pair_cost_max=np.inf)
    assert _feet_of(group_footprints([stance, border], SHAPE, ungated, prior)) == {1: {id(stance), id(border)}}
    people = group_footprints([stance, border], SHAPE, CONFIG, prior)
    assert _feet_of(people) == {1: {id(stance)}}
    # the same foot landing while the stance foot unloads is the track's next step
    unloading = dataclasses.replace(stance, force=0.5 * WEIGHT)
    assert _feet_of(group_footprints([unloading, border], SHAPE, CONFIG, prior)) == {1: {id(unloading), id(border)}}
