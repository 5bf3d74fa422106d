"""Scenario presets and the crowd-steering integrator that turns them into per-person motion plans.

A motion plan is where a person's centre of mass (projected on the floor) is, which way they face, and whether
they are stepping, sampled every `PLAN_DT` seconds. The gait module turns it into footsteps and poses.
Steering happens in the mat frame (see geometry.py) so presets read in mat units; plans are returned in the world.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from presstrack_common.mat_geometry import MatGeometry

from .stepwise import Work, run_to_end

PLAN_DT = 1.0 / 60.0  # s; fine enough for turns, coarse enough to integrate 10 minutes quickly
SPEED_RANGE = (0.3, 1.6)  # m/s, preferred walking speeds
EDGE_MARGIN = 0.28  # m; walkers turn back when they would step closer than this to an edge
PERSONAL_RADIUS = 0.9  # m; strangers steer away from each other inside this distance
MIN_SEPARATION = 0.5  # m between the centres of strangers; closer than that their bodies would overlap
MAX_ACCEL = 1.2  # m/s^2
STEP_SPEED = 0.05  # m/s; slower than this and not turning, a person stands
STEP_TURN_RATE = 0.35  # rad/s
MAX_PEOPLE = 5  # on the mat at once

SCENARIOS = ("crossing2", "wander3", "wander", "side_by_side", "face_to_face", "stand_and_pass", "stand_still",
             "enter_leave", "random")
FIXED_PEOPLE = {"crossing2": 2, "wander3": 3, "side_by_side": 2, "face_to_face": 2, "stand_and_pass": 2,
                "stand_still": 2}
DEFAULT_PEOPLE = {"wander": 3, "enter_leave": 2}  # scenarios whose count may be chosen, when it is not
LANE_GAP_RANGE_M = (0.1, 1.0)  # crossing2's lane_gap_m: closer, bodies would overlap; wider, the mat ends


@dataclass
class Segment:
    """One behaviour of an agent. `duration` None: until the behaviour completes (waypoints reached, turn done)."""

    kind: str  # 'walk' (wander), 'goto', 'stand', 'turn', 'follow'
    duration: float | None = None
    waypoints: np.ndarray | None = None  # (K, 2) mat frame, for 'goto'
    turn_angle: float = 0.0  # rad, for 'turn'
    shift_amplitude: float = 0.0  # m, lateral weight shifting while standing
    shift_period: float = 3.0  # s


@dataclass
class Agent:
    """An agent of the steering integrator. Virtual agents are anchors for couples and are not people."""

    position: np.ndarray  # (2,) mat frame
    heading: float  # rad, mat frame; the direction the body faces
    preferred_speed: float
    schedule: list[Segment]
    virtual: bool = False
    anchor: int | None = None  # index of the agent this one follows (side by side, dance couple)
    anchor_offset: np.ndarray = field(default_factory=lambda: np.zeros(2))  # (2,) in the anchor's (fwd, left) frame
    anchor_facing: float = 0.0  # rad added to the anchor's heading
    keeps_lane: bool = False  # neither steers away from others nor is pushed apart (a lane agreed on beforehand)


@dataclass
class MotionPlan:
    """One person's plan, sampled every PLAN_DT s, in the world frame.

    times (N,) s; com_xy (N, 2) m; facing (N,) rad (direction the pelvis faces); stepping (N,) bool;
    speed (N,) m/s of the centre of mass; preferred_speed m/s.
    """

    times: np.ndarray
    com_xy: np.ndarray
    facing: np.ndarray
    stepping: np.ndarray
    speed: np.ndarray
    preferred_speed: float


def _direction(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle)])


def _wrap(angle: np.ndarray | float) -> np.ndarray | float:
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi


def _random_inner_point(rng: np.random.Generator, mat: MatGeometry, margin: float) -> np.ndarray:
    width, length = mat.size_m
    margin_x, margin_y = min(margin, 0.45 * width), min(margin, 0.45 * length)
    return np.array([rng.uniform(margin_x, width - margin_x), rng.uniform(margin_y, length - margin_y)])


class _Crowd:
    """Integrates all agents together so that strangers can avoid each other."""

    def __init__(self, agents: list[Agent], mat: MatGeometry, rng: np.random.Generator):
        self.agents, self.mat, self.rng = agents, mat, rng
        self.width, self.length = mat.size_m
        count = len(agents)
        self.speed = np.zeros(count)
        self.turn_rate = np.zeros(count)
        self.turn_noise = np.zeros(count)
        self.segment_index = np.zeros(count, dtype=int)
        self.segment_start = np.zeros(count)
        self.waypoint_index = np.zeros(count, dtype=int)
        self.turn_goal = np.array([a.heading for a in agents], dtype=float)
        self.edge_target: list[np.ndarray | None] = [None] * count
        self.shift_phase = rng.uniform(0, 2 * np.pi, count)

    def _segment(self, i: int) -> Segment:
        schedule = self.agents[i].schedule
        return schedule[min(self.segment_index[i], len(schedule) - 1)]

    def _next_segment(self, i: int, now: float) -> None:
        self.segment_index[i] += 1
        self.segment_start[i] = now
        self.waypoint_index[i] = 0
        self.edge_target[i] = None
        segment = self._segment(i)
        if segment.kind == "turn":
            self.turn_goal[i] = self.agents[i].heading + segment.turn_angle

    def _inside(self, point: np.ndarray, margin: float) -> bool:
        return margin <= point[0] <= self.width - margin and margin <= point[1] <= self.length - margin

    def _avoidance(self, i: int) -> tuple[float, float]:
        """(turn rate away from nearby strangers in rad/s, speed factor in (0, 1]) for agent i."""
        me = self.agents[i]
        forward = _direction(me.heading)
        turn, speed_factor = 0.0, 1.0
        if me.keeps_lane:
            return 0.0, 1.0
        for j, other in enumerate(self.agents):
            if j == i or other.virtual or other.anchor == i or me.anchor == j or other.keeps_lane or (
                    me.anchor is not None and other.anchor == me.anchor):
                continue
            offset = other.position - me.position
            distance = float(np.hypot(*offset))
            if distance >= PERSONAL_RADIUS or distance < 1e-6:
                continue
            ahead = float(forward @ offset) / distance
            side = forward[0] * offset[1] - forward[1] * offset[0]  # > 0: the other is on my left
            closeness = (PERSONAL_RADIUS - distance) / PERSONAL_RADIUS
            if ahead > 0.0:
                turn -= 3.0 * closeness * ahead * (1.0 if side >= 0 else -1.0)
                speed_factor = min(speed_factor, float(np.clip((distance - 0.35) / 0.5, 0.15, 1.0)))
        return turn, speed_factor

    def _desired(self, i: int, now: float) -> tuple[float, float, bool]:
        """(desired turn rate rad/s, desired speed m/s, whether the behaviour ends now) for agent i."""
        agent, segment = self.agents[i], self._segment(i)
        max_turn = 2.6 - 0.7 * self.speed[i]
        if segment.kind in ("stand", "follow"):
            return 0.0, 0.0, False
        if segment.kind == "turn":
            error = float(_wrap(self.turn_goal[i] - agent.heading))
            return float(np.clip(3.0 * error, -1.8, 1.8)), 0.0, abs(error) < 0.03
        speed = agent.preferred_speed
        if segment.kind == "goto":
            target = segment.waypoints[self.waypoint_index[i]]
            offset = target - agent.position
            distance = float(np.hypot(*offset))
            last = self.waypoint_index[i] == len(segment.waypoints) - 1
            if distance < (0.12 if last else 0.3):
                if last:
                    return 0.0, 0.0, True
                self.waypoint_index[i] += 1
            desired_heading = float(np.arctan2(offset[1], offset[0]))
            turn = 3.0 * float(_wrap(desired_heading - agent.heading))
            if last:
                speed = min(speed, float(np.sqrt(2 * 0.6 * distance)))
        else:  # wander: smooth random turning, turn back before the edges
            self.turn_noise[i] += -self.turn_noise[i] / 1.5 * PLAN_DT + 0.5 * np.sqrt(PLAN_DT) * self.rng.normal()
            lookahead = agent.position + _direction(agent.heading) * (0.35 + 0.7 * self.speed[i])
            if self.edge_target[i] is None and not self._inside(lookahead, EDGE_MARGIN):
                self.edge_target[i] = _random_inner_point(self.rng, self.mat, 2 * EDGE_MARGIN)
            turn = float(self.turn_noise[i])
            if self.edge_target[i] is not None:
                offset = self.edge_target[i] - agent.position
                error = float(_wrap(np.arctan2(offset[1], offset[0]) - agent.heading))
                turn = 3.5 * error
                if abs(error) < 0.2 or np.hypot(*offset) < 0.2:
                    self.edge_target[i] = None
        avoid_turn, speed_factor = self._avoidance(i)
        turn = float(np.clip(turn + avoid_turn, -max_turn, max_turn))
        speed *= speed_factor * (1.0 - 0.5 * min(1.0, abs(turn) / max_turn))
        return turn, speed, False

    def run(self, duration: float, block_steps: int) -> Work[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Integrate, yielding after every `block_steps` steps; returns positions (A, N, 2), headings (A, N),
        stepping (A, N), com offsets (A, N, 2)."""
        steps = int(np.floor(duration / PLAN_DT + 1e-9)) + 1
        count = len(self.agents)
        positions = np.zeros((count, steps, 2))
        headings = np.zeros((count, steps))
        stepping = np.zeros((count, steps), dtype=bool)
        com_offsets = np.zeros((count, steps, 2))
        for i in range(count):
            if self._segment(i).kind == "turn":
                self.turn_goal[i] = self.agents[i].heading + self._segment(i).turn_angle
        for k in range(steps):
            if k and k % block_steps == 0:
                yield
            now = k * PLAN_DT
            for i, agent in enumerate(self.agents):
                segment = self._segment(i)
                if segment.duration is not None and now - self.segment_start[i] >= segment.duration:
                    self._next_segment(i, now)
                    segment = self._segment(i)
                if agent.anchor is not None and segment.kind == "follow":
                    self._follow(i)
                else:
                    turn, speed, done = self._desired(i, now)
                    if done and segment.duration is None:
                        self._next_segment(i, now)
                    self.turn_rate[i] += np.clip(turn - self.turn_rate[i], -6.0 * PLAN_DT, 6.0 * PLAN_DT)
                    self.speed[i] += np.clip(speed - self.speed[i], -MAX_ACCEL * PLAN_DT, MAX_ACCEL * PLAN_DT)
                    agent.heading = float(agent.heading + self.turn_rate[i] * PLAN_DT)
                    agent.position = agent.position + _direction(agent.heading) * self.speed[i] * PLAN_DT
            self._separate()
            for i, agent in enumerate(self.agents):
                positions[i, k] = agent.position
                headings[i, k] = agent.heading
                segment = self._segment(i)
                stepping[i, k] = segment.kind == "turn" or (
                    segment.kind != "follow" and (self.speed[i] > STEP_SPEED or abs(self.turn_rate[i]) > STEP_TURN_RATE))
                if segment.kind == "stand" and segment.shift_amplitude > 0:
                    since = now - self.segment_start[i]
                    ramp = min(1.0, since / 1.0)  # start shifting gently from a balanced stance
                    lateral = segment.shift_amplitude * ramp * np.sin(2 * np.pi * since / segment.shift_period)
                    com_offsets[i, k] = lateral * _direction(agent.heading + np.pi / 2)
        return positions, headings, stepping, com_offsets

    def _strangers(self, i: int, j: int) -> bool:
        a, b = self.agents[i], self.agents[j]
        if a.virtual or b.virtual or a.anchor == j or b.anchor == i or a.keeps_lane or b.keeps_lane:
            return False
        return a.anchor is None or a.anchor != b.anchor

    def _separate(self) -> None:
        """Push strangers apart to MIN_SEPARATION; followers are held by their anchor, so only free agents move."""
        for i, a in enumerate(self.agents):
            for j in range(i + 1, len(self.agents)):
                b = self.agents[j]
                if not self._strangers(i, j):
                    continue
                offset = b.position - a.position
                distance = float(np.hypot(*offset))
                if distance >= MIN_SEPARATION:
                    continue
                away = offset / distance if distance > 1e-9 else _direction(self.rng.uniform(-np.pi, np.pi))
                movable = [agent for agent in (a, b) if agent.anchor is None]
                if not movable:
                    continue
                push = (MIN_SEPARATION - distance) / len(movable)
                if a.anchor is None:
                    a.position = a.position - push * away
                if b.anchor is None:
                    b.position = b.position + push * away

    def _follow(self, i: int) -> None:
        agent = self.agents[i]
        anchor = self.agents[agent.anchor]
        forward, left = _direction(anchor.heading), _direction(anchor.heading + np.pi / 2)
        agent.position = anchor.position + agent.anchor_offset[0] * forward + agent.anchor_offset[1] * left
        agent.heading = anchor.heading + agent.anchor_facing


def _debounce(stepping: np.ndarray, min_pause: float) -> np.ndarray:
    """Fill pauses in stepping shorter than min_pause seconds: people do not stop for a moment mid-walk."""
    result = stepping.copy()
    gap = int(round(min_pause / PLAN_DT))
    k, n = 0, len(stepping)
    while k < n:
        if not result[k]:
            end = k
            while end < n and not result[end]:
                end += 1
            if 0 < k and end < n and end - k < gap:
                result[k:end] = True
            k = end
        else:
            k += 1
    return result


def _kinematic_stepping(positions: np.ndarray, headings: np.ndarray) -> np.ndarray:
    """Stepping flags of a follower from its own motion (it has no speed state). (N, 2), (N,) -> (N,) bool."""
    velocity = np.gradient(positions, PLAN_DT, axis=0)
    turn_rate = np.gradient(np.unwrap(headings), PLAN_DT)
    return (np.hypot(velocity[:, 0], velocity[:, 1]) > STEP_SPEED) | (np.abs(turn_rate) > STEP_TURN_RATE)


# ---------------------------------------------------------------- presets


def _wander_schedule(rng: np.random.Generator, duration: float, pauses: bool) -> list[Segment]:
    """Walk bouts of 3-10 s; with pauses, separated by standing, weight shifting or turning on the spot."""
    if not pauses:
        return [Segment("walk")]
    schedule, elapsed = [], 0.0
    while elapsed < duration + 10:
        walk = rng.uniform(3.0, 10.0)
        schedule.append(Segment("walk", walk))
        choice = rng.integers(3)
        if choice == 0:
            pause = rng.uniform(1.0, 3.0)
            schedule.append(Segment("stand", pause))
        elif choice == 1:
            pause = rng.uniform(3.0, 6.0)
            schedule.append(Segment("stand", pause, shift_amplitude=rng.uniform(0.03, 0.06),
                                    shift_period=rng.uniform(2.0, 3.5)))
        else:
            pause = 0.0
            schedule.append(Segment("turn", None, turn_angle=rng.choice([-1, 1]) * rng.uniform(np.pi / 2, np.pi)))
        elapsed += walk + pause + 1.5
    return schedule


def _entry_point(rng: np.random.Generator, width: float, length: float, edge: int, outside: float) -> np.ndarray:
    """A point `outside` metres beyond edge 0..3 (y=0, x=width, y=length, x=0) of the mat."""
    if edge in (0, 2):
        return np.array([rng.uniform(0.3 * width, 0.7 * width), -outside if edge == 0 else length + outside])
    return np.array([width + outside if edge == 1 else -outside, rng.uniform(0.3 * length, 0.7 * length)])


def _lane_schedule(lane: float, start_y: float, end_y: float, duration: float) -> list[Segment]:
    """Walk end to end along the line x = `lane` of the mat, stopping at each end and turning on the spot, so the
    walker never leaves the lane (a walker turning at speed would swing out of it by its turning radius)."""
    there, back = (Segment("goto", None, waypoints=np.array([[lane, y]])) for y in (end_y, start_y))
    turn = Segment("turn", None, turn_angle=np.pi)
    return [there, turn, back, turn] * int(duration / 4 + 2)


def _enter_leave_schedule(rng: np.random.Generator, width: float, length: float, duration: float,
                          first_edge: int) -> tuple[np.ndarray, list[Segment]]:
    """Start outside, walk in, wander, walk out over another edge, wait, repeat."""
    start = _entry_point(rng, width, length, first_edge, 0.6)
    schedule, elapsed, edge = [], 0.0, first_edge
    while elapsed < duration + 10:
        inside = np.array([rng.uniform(0.35, width - 0.35), rng.uniform(0.4, length - 0.4)])
        schedule.append(Segment("goto", None, waypoints=inside[None]))
        wander = rng.uniform(3.0, 8.0)
        schedule.append(Segment("walk", wander))
        edge = int((edge + rng.integers(1, 4)) % 4)
        schedule.append(Segment("goto", None, waypoints=_entry_point(rng, width, length, edge, 0.7)[None]))
        wait = rng.uniform(1.0, 3.0)
        schedule.append(Segment("stand", wait))
        elapsed += wander + wait + 6.0
    return start, schedule


def _pair(rng: np.random.Generator, width: float, length: float, duration: float, face_to_face: bool,
          first_index: int) -> list[Agent]:
    """A virtual anchor and two people attached to it: side by side 40 cm apart, or a dance couple."""
    centre = np.array([width / 2, length / 2]) + rng.uniform(-0.1, 0.1, 2)
    heading = rng.uniform(-np.pi, np.pi)
    if face_to_face:
        # Dancers turn often and move slowly around the mat.
        schedule, elapsed = [], 0.0
        while elapsed < duration + 10:
            walk = rng.uniform(2.0, 4.0)
            schedule += [Segment("walk", walk), Segment("turn", None, turn_angle=rng.choice([-1, 1]) * rng.uniform(
                np.pi / 3, np.pi))]
            elapsed += walk + 1.0
        anchor = Agent(centre, heading, rng.uniform(0.3, 0.6), schedule, virtual=True)
        # Closed ballroom hold: about 40 cm between pelvises, each slightly to the partner's left.
        people = [Agent(centre.copy(), heading, 0.0, [Segment("follow")], anchor=first_index,
                        anchor_offset=np.array([0.2, -0.06]), anchor_facing=np.pi),
                  Agent(centre.copy(), heading, 0.0, [Segment("follow")], anchor=first_index,
                        anchor_offset=np.array([-0.2, 0.06]), anchor_facing=0.0)]
    else:
        anchor = Agent(centre, heading, rng.uniform(0.7, 1.3), _wander_schedule(rng, duration, pauses=True),
                       virtual=True)
        people = [Agent(centre.copy(), heading, 0.0, [Segment("follow")], anchor=first_index,
                        anchor_offset=np.array([0.0, side * 0.2])) for side in (1.0, -1.0)]
    return [anchor, *people]


def build_agents(name: str, people: int | None, duration: float, mat: MatGeometry,
                 rng: np.random.Generator, lane_gap_m: float | None = None) -> list[Agent]:
    """Agents (people and virtual anchors) of scenario `name`; see SCENARIOS. `people` None: the preset's count.

    `lane_gap_m` (crossing2 only): the two walkers' lanes are this far apart (centre of mass paths), so they
    pass each other at exactly this closest approach, and they keep to their lanes instead of steering apart;
    None: lanes 50 cm apart, steering as usual."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    if lane_gap_m is not None and (name != "crossing2" or not LANE_GAP_RANGE_M[0] <= lane_gap_m <= LANE_GAP_RANGE_M[1]):
        raise ValueError(f"lane_gap_m needs scenario 'crossing2' and {LANE_GAP_RANGE_M[0]}-{LANE_GAP_RANGE_M[1]} m, "
                         f"got {name!r} and {lane_gap_m}")
    fixed = FIXED_PEOPLE.get(name)
    if fixed is not None and people is not None and people != fixed:
        raise ValueError(f"scenario {name!r} has {fixed} people, but {people} were requested")
    count = fixed if fixed is not None else (people if people is not None else (
        DEFAULT_PEOPLE[name] if name in DEFAULT_PEOPLE else int(rng.integers(1, MAX_PEOPLE + 1))))
    if not 1 <= count <= MAX_PEOPLE:
        raise ValueError(f"the simulator places 1 to {MAX_PEOPLE} people on the mat, got {count}")
    width, length = mat.size_m
    if min(width, length) < 0.8:
        raise ValueError(f"the mat ({width:.2f} x {length:.2f} m) is too small to walk on; need at least 0.8 m")

    def speed() -> float:
        return float(rng.uniform(*SPEED_RANGE))

    def wanderer(pauses: bool) -> Agent:
        return Agent(_random_inner_point(rng, mat, 0.35), float(rng.uniform(-np.pi, np.pi)), speed(),
                     _wander_schedule(rng, duration, pauses))

    if name in ("wander3", "wander"):
        return _spread([wanderer(pauses=True) for _ in range(count)], rng, mat)
    if name == "crossing2":
        # Two people walk end to end along the mat, 50 cm apart sideways, meeting in the middle each time.
        # With lane_gap_m they keep to their lanes, turning on the spot at the ends, so every pass is at the gap.
        agents = []
        half_gap = 0.25 if lane_gap_m is None else lane_gap_m / 2
        for i, (start_y, end_y) in enumerate([(0.45, length - 0.45), (length - 0.45, 0.45)]):
            lane = width / 2 + (half_gap if i == 0 else -half_gap)
            waypoints = np.array([[lane, end_y], [lane, start_y]] * int(duration / 2 + 4))
            schedule = [Segment("goto", None, waypoints=waypoints)] if lane_gap_m is None else \
                _lane_schedule(lane, start_y, end_y, duration)
            agents.append(Agent(np.array([lane, start_y]), float(np.arctan2(end_y - start_y, 0.0)),
                                float(rng.uniform(0.9, 1.4)), schedule, keeps_lane=lane_gap_m is not None))
        return agents
    if name == "side_by_side":
        return _pair(rng, width, length, duration, face_to_face=False, first_index=0)
    if name == "face_to_face":
        return _pair(rng, width, length, duration, face_to_face=True, first_index=0)
    if name == "stand_and_pass":
        stander = Agent(np.array([0.3 * width, length / 2]), float(rng.uniform(-np.pi, np.pi)), 0.0,
                        [Segment("stand", rng.uniform(4, 8), shift_amplitude=0.04, shift_period=3.0),
                         Segment("turn", None, turn_angle=np.pi / 2)] * int(duration / 4 + 2))
        lane = 0.75 * width
        waypoints = np.array([[lane, length - 0.45], [lane, 0.45]] * int(duration / 2 + 4))
        passer = Agent(np.array([lane, 0.45]), np.pi / 2, float(rng.uniform(0.8, 1.3)),
                       [Segment("goto", None, waypoints=waypoints)])
        return [stander, passer]
    if name == "stand_still":
        # One person stands on the spot the whole time, shifting their weight, while another walks past, end to
        # end along the mat 54 cm beside them (on a 1.2 m mat), again and again; neither steers around the other.
        stander = Agent(np.array([0.3 * width, length / 2]), float(rng.uniform(-np.pi, np.pi)), 0.0,
                        [Segment("stand", None, shift_amplitude=0.03, shift_period=4.0)], keeps_lane=True)
        lane = 0.75 * width
        passer = Agent(np.array([lane, 0.45]), np.pi / 2, float(rng.uniform(0.8, 1.3)),
                       _lane_schedule(lane, 0.45, length - 0.45, duration), keeps_lane=True)
        return [stander, passer]
    if name == "enter_leave":
        agents = []
        for i in range(count):
            start, schedule = _enter_leave_schedule(rng, width, length, duration, first_edge=(0, 2, 1, 3)[i % 4])
            inward = np.array([width / 2, length / 2]) - start
            agents.append(Agent(start, float(np.arctan2(inward[1], inward[0])), speed(), schedule))
        return agents
    # random: a mix of wanderers (with and without pauses), people entering and leaving, and couples.
    agents: list[Agent] = []
    remaining = count
    while remaining > 0:
        kind = int(rng.integers(4)) if remaining >= 2 else int(rng.integers(2))
        if kind >= 2 and not any(a.virtual for a in agents):
            agents += _pair(rng, width, length, duration, face_to_face=kind == 3, first_index=len(agents))
            remaining -= 2
        elif kind == 1:
            start, schedule = _enter_leave_schedule(rng, width, length, duration, int(rng.integers(4)))
            inward = np.array([width / 2, length / 2]) - start
            agents.append(Agent(start, float(np.arctan2(inward[1], inward[0])), speed(), schedule))
            remaining -= 1
        else:
            agents.append(wanderer(pauses=bool(rng.integers(2))))
            remaining -= 1
    return _spread(agents, rng, mat)


def _spread(agents: list[Agent], rng: np.random.Generator, mat: MatGeometry) -> list[Agent]:
    """Re-draw start points of free walkers that start within 60 cm of another agent."""
    for i, agent in enumerate(agents):
        if agent.anchor is not None or agent.schedule[0].kind == "goto":
            continue
        for _ in range(50):
            others = [a.position for j, a in enumerate(agents) if j < i and a.anchor is None]
            if all(np.hypot(*(agent.position - p)) > 0.6 for p in others):
                break
            agent.position = _random_inner_point(rng, mat, 0.35)
    return agents


def plan_motion(name: str, people: int | None, duration: float, mat: MatGeometry,
                rng: np.random.Generator, lane_gap_m: float | None = None) -> list[MotionPlan]:
    """Motion plans (world frame) of the people of scenario `name` over `duration` seconds (`lane_gap_m`:
    build_agents)."""
    return run_to_end(plan_motion_stepwise(name, people, duration, mat, rng, lane_gap_m=lane_gap_m))


def plan_motion_stepwise(name: str, people: int | None, duration: float, mat: MatGeometry,
                         rng: np.random.Generator, block_steps: int = 60,
                         lane_gap_m: float | None = None) -> Work[list[MotionPlan]]:
    """`plan_motion` in installments: yields after every `block_steps` integration steps (60: one second of
    plan, some milliseconds per person) and returns the plans. Checks its arguments when first advanced."""
    if not (np.isfinite(duration) and duration > 0):
        raise ValueError(f"scenario duration must be positive seconds, got {duration}")
    if block_steps < 1:
        raise ValueError(f"block_steps must be >= 1, got {block_steps}")
    agents = build_agents(name, people, duration, mat, rng, lane_gap_m)
    positions, headings, stepping, com_offsets = yield from _Crowd(agents, mat, rng).run(duration, block_steps)
    times = np.arange(positions.shape[1]) * PLAN_DT
    plans = []
    for i, agent in enumerate(agents):
        if agent.virtual:
            continue
        steps = _kinematic_stepping(positions[i], headings[i]) if agent.anchor is not None else stepping[i]
        com_mat = positions[i] + com_offsets[i]
        velocity = np.gradient(positions[i], PLAN_DT, axis=0)
        plans.append(MotionPlan(
            times=times,
            com_xy=mat.mat_to_world(com_mat),
            facing=np.unwrap(headings[i]) + mat.yaw_world_from_mat,
            stepping=_debounce(steps, min_pause=0.8),
            speed=np.hypot(velocity[:, 0], velocity[:, 1]),
            preferred_speed=agent.preferred_speed if agent.anchor is None else float(
                np.mean(np.hypot(velocity[:, 0], velocity[:, 1])[steps]) if steps.any() else 0.5),
        ))
    return plans
