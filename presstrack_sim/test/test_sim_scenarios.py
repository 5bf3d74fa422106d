"""Scenario options the robustness grid draws on: crossing at an exact closest approach, standing still the
whole scene, and people leaving and coming back in any number. Motion plans only (no bodies): fast."""
from __future__ import annotations

import numpy as np
import pytest

from presstrack_common.mat_geometry import MatGeometry
from presstrack_sim.scenario import build_agents, plan_motion


@pytest.mark.parametrize("gap", [0.25, 0.30, 0.35])
def test_crossing_walkers_pass_at_the_lane_gap(gap):
    plans = plan_motion("crossing2", None, 12.0, MatGeometry(), np.random.default_rng(3), lane_gap_m=gap)
    distance = np.linalg.norm(plans[0].com_xy - plans[1].com_xy, axis=1)
    assert distance.min() == pytest.approx(gap, abs=0.01)
    # They pass each other more than once in 12 s, each time at the gap: nobody steers them apart.
    passes = np.flatnonzero((distance[1:] < gap + 0.02) & (distance[:-1] >= gap + 0.02))
    assert len(passes) >= 2


def test_crossing_without_a_lane_gap_keeps_its_fifty_centimetre_lanes():
    plans = plan_motion("crossing2", None, 12.0, MatGeometry(), np.random.default_rng(3))
    assert np.linalg.norm(plans[0].com_xy - plans[1].com_xy, axis=1).min() > 0.45


def test_lane_gap_is_refused_outside_crossing2_and_its_range():
    for name, gap in (("wander3", 0.3), ("crossing2", 0.05), ("crossing2", 1.5)):
        with pytest.raises(ValueError, match="lane_gap_m"):
            build_agents(name, None, 10.0, MatGeometry(), np.random.default_rng(0), lane_gap_m=gap)


def test_the_stander_stays_on_the_spot_while_the_other_walks_past():
    plans = plan_motion("stand_still", None, 60.0, MatGeometry(), np.random.default_rng(5))
    stander, passer = plans
    drift = np.linalg.norm(stander.com_xy - stander.com_xy[0], axis=1)
    assert drift.max() < 0.05 and not stander.stepping.any()
    assert np.ptp(passer.com_xy, axis=0).max() > 1.2 and passer.stepping.mean() > 0.5


@pytest.mark.parametrize("people", [3, 5])
def test_people_leave_the_mat_and_come_back(people):
    mat = MatGeometry()
    plans = plan_motion("enter_leave", people, 60.0, mat, np.random.default_rng(people))
    assert len(plans) == people
    width, length = mat.size_m
    for plan in plans:
        on_mat = mat.world_to_mat(plan.com_xy)
        inside = (on_mat[:, 0] > 0) & (on_mat[:, 0] < width) & (on_mat[:, 1] > 0) & (on_mat[:, 1] < length)
        assert (inside[1:] & ~inside[:-1]).sum() >= 2  # came onto the mat at least twice
    assert len(build_agents("enter_leave", None, 10.0, mat, np.random.default_rng(0))) == 2  # its default count


def test_a_lane_walker_is_never_pushed_nor_steered_but_others_steer_around_it():
    from presstrack_sim.scenario import Agent, Segment, _Crowd, footprint_gap

    mat = MatGeometry()
    lane = Agent(np.array([0.6, 1.0]), np.pi / 2, 1.2, [Segment("goto", None, waypoints=np.array([[0.6, 2.0]]))],
                 keeps_lane=True)
    other = Agent(np.array([0.75, 1.05]), np.pi, 1.2, [Segment("goto", None, waypoints=np.array([[0.2, 1.0]]))])
    crowd = _Crowd([lane, other], mat, np.random.default_rng(0))
    assert crowd._avoid(0, 0.3, 1.2) == (0.3, 1.2)  # the lane walker keeps its wish
    assert 0 in crowd._obstacles(1)  # the other steers around it

    def gap() -> float:
        return float(footprint_gap(lane.footprint, lane.footprint.placed(lane.position, lane.heading),
                                   other.footprint, other.footprint.placed(other.position, other.heading)))

    before = gap()
    assert before < 0
    crowd._separate()
    assert np.array_equal(lane.position, [0.6, 1.0])  # the other makes all the room
    assert gap() > before + 0.9 * -before  # (a push along the line between the centres, as for anyone at rest)


def test_a_walker_is_not_its_own_obstacle():
    from presstrack_sim.scenario import _Crowd

    agents = build_agents("wander3", None, 10.0, MatGeometry(), np.random.default_rng(0))
    crowd = _Crowd(agents, MatGeometry(), np.random.default_rng(0))
    for i in range(len(agents)):
        assert i not in crowd._obstacles(i)
        assert sorted(crowd._obstacles(i)) == [j for j in range(len(agents)) if j != i]
