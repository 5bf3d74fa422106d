"""Scenario presets and the crowd-steering integrator that turns them into per-person motion plans.

A motion plan is where a person's centre of mass (projected on the floor) is, which way they face, and whether
they are stepping, sampled every `PLAN_DT` seconds. The gait module turns it into footsteps and poses.
Steering happens in the mat frame (see geometry.py) so presets read in mat units; plans are returned in the world.

Crowds are steered body-aware: each person's `BodyFootprint` says how far their posed body (arms swinging, legs
striding) reaches from their centre of mass in every direction of their own frame, and their `WalkerBody` holds it
standing and at walking speeds (a standing body takes a foot's length of floor, a striding one a stride's). Two people
are apart when the distance between their centres exceeds the sum of their reaches towards each other plus
BODY_CLEARANCE (the reaches are those of convex hulls, so this is a separating-axis test and never passes overlapping
hulls). Every walker picks, each step, the heading and speed nearest its wish whose straight path keeps it apart
from everyone over the next AVOID_HORIZON_S (others held at their present velocity and size, its own body growing or
shrinking as fast as it can change speed), preferring PERSONAL_SPACE_M between bodies; a last projection pushes
apart whatever the steering did not resolve. So people walk at their own speed (scaled to their legs,
REFERENCE_LEG_M) and pass as close as their bodies allow: behind someone standing about 0.45 m pelvis to pelvis,
beside a walker about 0.55 m.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from presstrack_common.mat_geometry import MatGeometry

from .stepwise import Work, run_to_end

PLAN_DT = 1.0 / 60.0  # s; fine enough for turns, coarse enough to integrate 10 minutes quickly
SPEED_RANGE = (1.0, 1.4)  # m/s, comfortable walking of adults (Bohannon 1997: 1.27-1.46 m/s, 20-79 years) ...
# ... of REFERENCE_LEG_M legs (hip joints 0.90 m above the floor: the embedded body at 1.72 m). Geometrically similar
# walkers walk alike at equal Froude numbers v^2 / (g L) (Alexander 1989), so a person's preferred speed is the one
# drawn from SPEED_RANGE times sqrt(leg length / REFERENCE_LEG_M): a 1.0 m child (legs 0.53 m) walks at 0.77-1.07 m/s,
# a 2.0 m adult at 1.09-1.53 m/s, the adults of 1.5-1.9 m at 0.93-1.49 m/s (Froude numbers 0.11-0.22).
REFERENCE_LEG_M = 0.90
RUN_SPEED_RANGE = (2.5, 3.5)  # m/s, jogging to an easy run
RUN_UP_M = 6.0  # m beyond the mat's ends a runner turns: room to reach their speed before the mat
EDGE_MARGIN = 0.28  # m from the edges: where wanderers head for (their goals lie inside it) and walkers start
DEFAULT_REACH_M = 0.25  # m a body reaches each way when its footprint is not known (a 0.5 m square)
BODY_CLEARANCE = 0.05  # m kept between two footprints: each pelvis sways up to 2 cm, which the plan does not know
AVOID_HORIZON_S = 2.0  # s ahead the steering checks a heading for collisions
AVOID_SAMPLES = 9  # instants checked over the horizon
AVOID_EDGE_M = 0.15  # m: avoiding others never takes a centre of mass closer than this to an edge (half a foot)
AVOID_EVERY = 3  # integration steps between two steering decisions (20 per second, as quick as people react)
# Heading candidates around the wished one: fine near it (a slight bend passes close by), coarse far off.
AVOID_HEADINGS_DEG = np.array([-80.0, -60.0, -40.0, -20.0, -10.0, -5.0, 0.0, 5.0, 10.0, 20.0, 40.0, 60.0, 80.0])
AVOID_SPEEDS = np.array([1.0, 0.6, 0.0])  # speed candidates, fractions of the wished speed
# Gaps under this between two bodies cost a little: people leave room when they can. 0.1 m is within the close
# phase of Hall's intimate distance (0-0.15 m, Hall 1966, The Hidden Dimension), the least strangers accept in a crowd.
PERSONAL_SPACE_M = 0.05
FOOTPRINT_BANDS_M = (-np.inf, 0.5, 1.0, np.inf)  # height bands (m above the floor) a footprint is split into
WANDER_GOAL_DRAWS = 3  # a wanderer heads for the farthest of this many random points of the mat
WANDER_ARRIVED_M = 0.3  # ... and picks the next one this close to it
WANDER_PATIENCE_S = 0.7  # ... or after waiting this long for others to clear the way
COUPLE_TURN_RATE = 0.8  # rad/s a couple walking side by side turns at most (one at 0.6 m from the other
# then walks at most half a metre per second faster)
TURN_BACK_DECEL = 0.6  # m/s^2 people slow down at to stop, or to turn about, where they meant to
MAX_ACCEL = 1.5  # m/s^2: walkers reach their speed within about two steps of starting
STEP_SPEED = 0.05  # m/s; slower than this and not turning, a person stands
STEP_TURN_RATE = 0.35  # rad/s
MAX_PEOPLE = 5  # on the mat at once

SCENARIOS = ("crossing2", "wander3", "wander", "side_by_side", "face_to_face", "stand_and_pass", "stand_still",
             "enter_leave", "sit_on_chair", "kneel_and_lie", "run_across", "pass_behind", "random")
FIXED_PEOPLE = {"crossing2": 2, "wander3": 3, "side_by_side": 2, "face_to_face": 2, "stand_and_pass": 2,
                "stand_still": 2, "sit_on_chair": 2, "kneel_and_lie": 2, "run_across": 1,
                "pass_behind": 2}
DEFAULT_PEOPLE = {"wander": 3, "enter_leave": 2}  # scenarios whose count may be chosen, when it is not
PASS_BEHIND_OFFSET_M = 0.38  # pass_behind: the walker's line runs this far behind the stander's centre ...
PASS_BEHIND_RUN_UP_M = 1.0  # ... from this far beyond one end of the mat to as far beyond the other
LANE_GAP_RANGE_M = (0.1, 1.0)  # crossing2's lane_gap_m: closer, bodies would overlap; wider, the mat ends
# What a person at rest takes of the floor, about where their plan stands (x the way they face), in every height
# band: seated (about the centre of their feet: from the toes to the chair's back, a chair's width; sitting.py puts
# the chair behind the feet by a thigh's length), kneeling and lying (about the pelvis; resting.py: shins and feet
# behind the knees; head towards the way they "face", feet away).
POSTURE_FOOTPRINT_BOX = {"sit": (-0.25, 0.0, 0.45, 0.30, 0.0), "kneel": (-0.15, 0.0, 0.45, 0.25, 0.0),
                         "lie": (0.0, 0.0, 1.05, 0.27, 0.0)}


@dataclass(frozen=True)
class BodyFootprint:
    """The floor plan one person's posed body takes up about their centre of mass, as rectangles in their own frame
    (x the way they face, y to their left) over a walking cycle: one per height band of FOOTPRINT_BANDS_M (feet and
    shins, hands and hips, trunk and shoulders), since one person's striding feet do not meet another's shoulders.
    `boxes` (C, 5): centre x, y, half length, half width m, yaw rad; `bands` (C,) the band of each (a couple's
    footprint holds both partners' boxes)."""

    boxes: np.ndarray
    bands: np.ndarray

    @classmethod
    def square(cls, half: float = DEFAULT_REACH_M) -> BodyFootprint:
        """The same square in every band."""
        count = len(FOOTPRINT_BANDS_M) - 1
        return cls(np.tile([0.0, 0.0, half, half, 0.0], (count, 1)), np.arange(count))

    @classmethod
    def of_points(cls, points: np.ndarray, heights: np.ndarray) -> BodyFootprint:
        """The boxes around body points (N, 2) (own frame, about the centre of mass) at heights (N,) m, per band."""
        boxes, bands = [], []
        for band, (low, high) in enumerate(zip(FOOTPRINT_BANDS_M[:-1], FOOTPRINT_BANDS_M[1:])):
            inside = points[(heights >= low) & (heights < high)]
            if len(inside):
                low_corner, high_corner = inside.min(axis=0), inside.max(axis=0)
                boxes.append([*(low_corner + high_corner) / 2, *(high_corner - low_corner) / 2, 0.0])
                bands.append(band)
        return cls(np.array(boxes), np.array(bands))

    @property
    def radius(self) -> float:
        """m from the centre of mass to the farthest the footprint reaches."""
        centres, corners = np.hypot(*self.boxes[:, 0:2].T), np.hypot(*self.boxes[:, 2:4].T)
        return float((centres + corners).max())

    def moved(self, offset: np.ndarray, turn: float) -> BodyFootprint:
        """This footprint turned by `turn` rad and shifted by `offset` (2,), in a carrier's frame."""
        cos, sin = np.cos(turn), np.sin(turn)
        centres = self.boxes[:, :2] @ np.array([[cos, sin], [-sin, cos]]) + offset
        return BodyFootprint(np.concatenate([centres, self.boxes[:, 2:4], self.boxes[:, 4:] + turn], axis=1),
                             self.bands)

    def placed(self, position: np.ndarray, heading: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World centres (..., C, 2) and yaws (..., C) of the boxes for positions (..., 2) and headings (...,) rad."""
        return _place_boxes(self.boxes, position, heading)[:2]


def _place_boxes(boxes: np.ndarray, position: np.ndarray, heading: np.ndarray) -> tuple[np.ndarray, ...]:
    """World centres (..., C, 2), yaws (..., C) and half sizes (..., C, 2) of boxes (..., C, 5) (in a body's frame)
    for positions (..., 2) and headings (...,) rad."""
    heading = np.asarray(heading, dtype=float)[..., None]
    cos, sin = np.cos(heading), np.sin(heading)
    x, y = boxes[..., 0], boxes[..., 1]
    centres = np.stack([cos * x - sin * y, sin * x + cos * y], axis=-1) + np.asarray(position)[..., None, :]
    return centres, heading + boxes[..., 4], boxes[..., 2:4]


FOOTPRINT_SPEED_STEP = 0.02  # m/s: a walker's footprint is taken at its speed rounded up to this


@dataclass(frozen=True)
class WalkerBody:
    """What the crowd steering knows of one person's body: the floor their posed body takes up at `speeds` (S,) m/s,
    ascending, 0 first (standing), one footprint each (`footprints`, the same height bands): a striding body takes
    far more floor than one standing, so people can pass closer by someone who stands or walks slowly; and their leg
    length (m, hip joint above the floor), which scales their preferred speed (REFERENCE_LEG_M)."""

    speeds: tuple[float, ...]
    footprints: tuple[BodyFootprint, ...]
    leg_length: float = REFERENCE_LEG_M
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.speeds) != len(self.footprints) or self.speeds[0] != 0.0 or np.any(np.diff(self.speeds) <= 0):
            raise ValueError(f"a walker's footprints need ascending speeds from 0, one footprint each; got speeds "
                             f"{self.speeds} for {len(self.footprints)} footprints")
        if any(not np.array_equal(f.bands, self.footprints[0].bands) for f in self.footprints):
            raise ValueError("a walker's footprints must cover the same height bands")

    def boxes_at(self, speeds: np.ndarray) -> np.ndarray:
        """(..., C, 5) the footprint's boxes at speeds (...) m/s, interpolated between the measured speeds."""
        speeds = np.clip(np.asarray(speeds, dtype=float), 0.0, self.speeds[-1])
        if len(self.speeds) == 1:
            return np.broadcast_to(self.footprints[0].boxes, speeds.shape + self.footprints[0].boxes.shape)
        upper = np.clip(np.searchsorted(self.speeds, speeds), 1, len(self.speeds) - 1)
        known = np.asarray(self.speeds)
        share = ((speeds - known[upper - 1]) / (known[upper] - known[upper - 1]))[..., None, None]
        stacked = np.stack([f.boxes for f in self.footprints])  # (S, C, 5)
        return (1 - share) * stacked[upper - 1] + share * stacked[upper]

    def placed_at(self, speeds: np.ndarray, position: np.ndarray, heading: np.ndarray) -> tuple[np.ndarray, ...]:
        """`BodyFootprint.placed` of the footprint at speeds (...) m/s, with its half sizes (..., C, 2) as the third
        item (footprint_gaps takes them so)."""
        return _place_boxes(self.boxes_at(speeds), position, heading)

    def at(self, speed: float) -> BodyFootprint:
        """The footprint at `speed` m/s (rounded up to FOOTPRINT_SPEED_STEP): each box's centre and size
        interpolated between the measured speeds, so a body's floor grows smoothly as it speeds up (by a centimetre
        or two per step of the steering); the fastest's beyond them."""
        key = int(np.ceil(max(speed, 0.0) / FOOTPRINT_SPEED_STEP - 1e-9))
        footprint = self._cache.get(key)
        if footprint is None:
            footprint = self._cache[key] = BodyFootprint(np.array(self.boxes_at(key * FOOTPRINT_SPEED_STEP)),
                                                         self.footprints[0].bands)
        return footprint

    @property
    def widest(self) -> BodyFootprint:
        """The footprint at the fastest speed: longest strides, widest arm swing."""
        return self.footprints[-1]


def footprint_gap(a: BodyFootprint, a_placed: tuple[np.ndarray, np.ndarray], b: BodyFootprint,
                  b_placed: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(...) smallest gap (m) between two placed footprints (`placed`: centres (..., C, 2), yaws (..., C)) over the
    height bands they share, less BODY_CLEARANCE: negative where their bodies come closer than that. The gap of two
    boxes is their widest separation along the four axes of their sides (the separating-axis test); it is never
    more than their true distance."""
    return footprint_gaps(a, a_placed, [(b, b_placed)])[..., 0]


def footprint_gaps(a: BodyFootprint, a_placed: tuple[np.ndarray, np.ndarray],
                   others: list[tuple[BodyFootprint, tuple[np.ndarray, np.ndarray]]]) -> np.ndarray:
    """(..., J) `footprint_gap` of footprint `a` to each of J others (footprint, placed), in one computation."""
    firsts, seconds, starts, offset = [], [], [], 0
    for other, _ in others:
        first, second = np.nonzero(a.bands[:, None] == other.bands[None, :])  # box pairs in the same band
        starts.append(sum(len(f) for f in firsts))
        firsts.append(first)
        seconds.append(second + offset)
        offset += len(other.bands)
    first, second = np.concatenate(firsts), np.concatenate(seconds)
    shape = np.broadcast_shapes(a_placed[0].shape[:-2], *(placed[0].shape[:-2] for _, placed in others))
    if len(first) == 0:
        return np.full(shape + (len(others),), np.inf)
    b_centres = np.concatenate([np.broadcast_to(placed[0], shape + placed[0].shape[-2:]) for _, placed in others], -2)
    b_yaws = np.concatenate([np.broadcast_to(placed[1], shape + placed[1].shape[-1:]) for _, placed in others], -1)
    b_halves = np.concatenate([other.boxes[:, 2:4] for other, _ in others])
    offset = b_centres[..., second, :] - a_placed[0][..., first, :]  # (..., P, 2)
    yaw_a, yaw_b = a_placed[1][..., first], b_yaws[..., second]
    # `a`'s half sizes: its own, or those placed with it (a footprint that changes with speed, WalkerBody.placed_at).
    a_halves = a_placed[2][..., first, :] if len(a_placed) > 2 else a.boxes[first, 2:4]
    (a_long, a_wide), (b_long, b_wide) = np.moveaxis(a_halves, -1, 0), b_halves[second].T
    cos_a, sin_a, cos_b, sin_b = np.cos(yaw_a), np.sin(yaw_a), np.cos(yaw_b), np.sin(yaw_b)
    # |cos| and |sin| of the angle between the boxes: how much of each one's sides shows along the other's axes.
    cos_ab, sin_ab = np.abs(cos_a * cos_b + sin_a * sin_b), np.abs(sin_a * cos_b - cos_a * sin_b)
    x, y = offset[..., 0], offset[..., 1]
    best = np.maximum.reduce([
        np.abs(x * cos_a + y * sin_a) - a_long - cos_ab * b_long - sin_ab * b_wide,  # along a's length
        np.abs(y * cos_a - x * sin_a) - a_wide - sin_ab * b_long - cos_ab * b_wide,  # across a
        np.abs(x * cos_b + y * sin_b) - b_long - cos_ab * a_long - sin_ab * a_wide,  # along b's length
        np.abs(y * cos_b - x * sin_b) - b_wide - sin_ab * a_long - cos_ab * a_wide])  # across b
    counts = np.diff(starts + [len(first)])
    gaps = np.full(shape + (len(others),), np.inf)
    present = counts > 0
    gaps[..., present] = np.minimum.reduceat(best, np.asarray(starts)[present], axis=-1)
    return gaps - BODY_CLEARANCE


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
    footprint: BodyFootprint = field(default_factory=BodyFootprint.square)  # a virtual anchor's: its people's union
    walker: WalkerBody | None = None  # a person on their feet: footprints by speed (None: `footprint` at any speed)
    posture: str | None = None  # at rest where the plan stands: 'sit' on a chair (sitting.py), 'kneel' or 'lie'
    # on the floor (resting.py); None: on their feet


@dataclass
class MotionPlan:
    """One person's plan, sampled every PLAN_DT s, in the world frame.

    times (N,) s; com_xy (N, 2) m; facing (N,) rad (direction the pelvis faces); stepping (N,) bool;
    speed (N,) m/s of the centre of mass; preferred_speed m/s; posture: None on their feet, or at rest where the
    plan stands: 'sit' on a chair (sitting.py), 'kneel' or 'lie' on the floor (resting.py).
    """

    times: np.ndarray
    com_xy: np.ndarray
    facing: np.ndarray
    stepping: np.ndarray
    speed: np.ndarray
    preferred_speed: float
    posture: str | None = None


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
        self.segment_index = np.zeros(count, dtype=int)
        self.segment_start = np.zeros(count)
        self.waypoint_index = np.zeros(count, dtype=int)
        self.turn_goal = np.array([a.heading for a in agents], dtype=float)
        self.wander_goal: list[np.ndarray | None] = [None] * count
        self.waiting = np.zeros(count)  # s an agent has stood waiting for others to pass
        self.decision: list[tuple[float, float, int] | None] = [None] * count  # heading, speed share, steps left
        self.shift_phase = rng.uniform(0, 2 * np.pi, count)
        self.velocity = np.zeros((count, 2))  # m/s over the last step, followers too
        self.radii = np.array([agent.footprint.radius for agent in agents])

    def _segment(self, i: int) -> Segment:
        schedule = self.agents[i].schedule
        return schedule[min(self.segment_index[i], len(schedule) - 1)]

    def _next_segment(self, i: int, now: float) -> None:
        self.segment_index[i] += 1
        self.segment_start[i] = now
        self.waypoint_index[i] = 0
        self.wander_goal[i] = None
        segment = self._segment(i)
        if segment.kind == "turn":
            self.turn_goal[i] = self.agents[i].heading + segment.turn_angle

    def _keep_on_mat(self, i: int) -> None:
        """Hold a free agent that stays on the mat (it is not walking to a point off it) AVOID_EDGE_M inside the
        edges, where avoiding someone or being pushed would take it off."""
        agent, segment = self.agents[i], self._segment(i)
        if agent.virtual or agent.anchor is not None or agent.keeps_lane:  # a lane walker is never pushed off
            return
        if segment.kind == "goto":
            target = segment.waypoints[self.waypoint_index[i]]
            if not (0 <= target[0] <= self.width and 0 <= target[1] <= self.length):
                return
        inside = np.clip(agent.position, AVOID_EDGE_M, [self.width - AVOID_EDGE_M, self.length - AVOID_EDGE_M])
        if np.all(np.abs(agent.position - inside) < 0.05):  # pushed out a little: back in; far out: entering
            agent.position = inside

    def _footprint(self, i: int, speed: float | None = None) -> BodyFootprint:
        """Agent i's footprint walking at `speed` m/s (None: its own walking speed now, which pushes apart do not
        change: they move the body, not its strides); a couple's, or someone's at rest: their one footprint."""
        agent = self.agents[i]
        if agent.walker is None or agent.anchor is not None:
            return agent.footprint
        return agent.walker.at(float(self.speed[i]) if speed is None else speed)

    def _placed_now(self, i: int) -> tuple[BodyFootprint, tuple[np.ndarray, np.ndarray]]:
        """Agent i's footprint at its walking speed now, placed where it is."""
        agent = self.agents[i]
        footprint = self._footprint(i)
        return footprint, footprint.placed(agent.position, agent.heading)

    def _obstacles(self, i: int) -> list[int]:
        """The people agent i steers clear of: its strangers; a virtual anchor steers for its followers (its
        footprint is theirs) and clears everybody else."""
        if self.agents[i].virtual:
            return [j for j, other in enumerate(self.agents) if not other.virtual and other.anchor != i]
        return [j for j in range(len(self.agents)) if self._strangers(i, j)]

    def _avoid(self, i: int, turn: float, speed: float) -> tuple[float, float]:
        """The (turn rate rad/s, speed m/s) nearest the wished ones whose straight path keeps agent i's body
        apart from every obstacle's over AVOID_HORIZON_S, the obstacles moving on at their present velocity."""
        me = self.agents[i]
        if me.keeps_lane:  # a lane agreed on beforehand: kept whoever comes; the others steer around it
            self.decision[i] = None
            return turn, speed
        reaction = 0.5  # s over which the wished turn is taken as a change of heading
        if self.decision[i] is not None and self.decision[i][2] > 0:  # between two decisions: hold the last one
            heading, fraction, left = self.decision[i]
            self.decision[i] = (heading, fraction, left - 1)
            return float(_wrap(heading - me.heading)) / reaction, speed * fraction
        self.decision[i] = None
        # Only those who can come within reach over the horizon.
        obstacles = [j for j in self._obstacles(i) if float(np.hypot(*(self.agents[j].position - me.position))) <
                     (speed + float(np.hypot(*self.velocity[j]))) * AVOID_HORIZON_S + self.radii[i] + self.radii[j]
                     + BODY_CLEARANCE]
        if not obstacles or speed <= 0:
            return turn, speed
        wished = me.heading + float(np.clip(turn * reaction, -np.pi / 2, np.pi / 2))
        headings = wished + np.deg2rad(AVOID_HEADINGS_DEG)  # (H,)
        speeds = speed * AVOID_SPEEDS  # (S,)
        candidate_heading = np.repeat(headings, len(speeds))  # (K,)
        candidate_speed = np.tile(speeds, len(headings))
        velocity = candidate_speed[:, None] * np.stack([np.cos(candidate_heading), np.sin(candidate_heading)], 1)
        t = np.linspace(0.0, AVOID_HORIZON_S, AVOID_SAMPLES)  # (M,)
        theirs = []
        for j in obstacles:
            footprint = self._footprint(j)
            theirs.append((footprint, footprint.placed(self.agents[j].position + self.velocity[j] * t[:, None],
                                                       np.full(len(t), self.agents[j].heading))))
        positions = me.position + velocity[:, None] * t[None, :, None]
        headings = np.broadcast_to(candidate_heading[:, None], (len(velocity), len(t)))
        if me.walker is not None and me.anchor is None:
            # My body as it changes on the way to each candidate speed: strides lengthen and shorten only as fast as
            # one speeds up or slows down.
            now = float(self.speed[i])
            speeds = now + np.clip(candidate_speed[:, None] - now, -MAX_ACCEL * t, MAX_ACCEL * t)  # (K, M)
            mine, placed = me.walker.widest, me.walker.placed_at(speeds, positions, headings)
        else:
            mine = me.footprint
            placed = mine.placed(positions, headings)
        gap = np.moveaxis(footprint_gaps(mine, placed, theirs), -1, 1)  # (K, J, M)
        clash = gap < 0
        # Already too close now: only what opens the gap is acceptable (cost by how much it closes it).
        first = np.where(clash.any(axis=2), np.argmax(clash, axis=2), AVOID_SAMPLES)  # (K, J)
        urgency = np.where(first < AVOID_SAMPLES, 1.0 - first / AVOID_SAMPLES, 0.0)
        now_close = gap[:, :, 0] < 0
        closing = np.where(now_close, np.maximum(gap[:, :, 0] - gap[:, :, 1], 0.0) * 50.0, 0.0)
        comfort = np.clip((PERSONAL_SPACE_M - gap.min(axis=2)) / PERSONAL_SPACE_M, 0.0, 1.0)
        deviation = np.abs(_wrap(candidate_heading - wished))
        cost = (deviation ** 2 + 0.6 * (1.0 - candidate_speed / speed) ** 2
                + 4.0 * np.where(now_close, 0.0, urgency).sum(axis=1) + closing.sum(axis=1)
                + 0.15 * comfort.sum(axis=1))
        best = int(np.argmin(cost))
        self.decision[i] = (float(candidate_heading[best]), float(candidate_speed[best] / speed), AVOID_EVERY - 1)
        chosen_turn = float(_wrap(candidate_heading[best] - me.heading)) / reaction
        return chosen_turn, float(candidate_speed[best])

    def _desired(self, i: int, now: float) -> tuple[float, float, bool]:
        """(desired turn rate rad/s, desired speed m/s, whether the behaviour ends now) for agent i."""
        agent, segment = self.agents[i], self._segment(i)
        max_turn = 2.6 - 0.7 * self.speed[i]
        if agent.virtual:  # a couple turns about its middle: the outer partner must not have to run
            max_turn = min(max_turn, COUPLE_TURN_RATE)
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
            error = float(_wrap(desired_heading - agent.heading))
            turn = 3.0 * error
            speed *= float(np.clip(np.cos(error), 0.3, 1.0))  # a sharp turn is taken slowly, about on the spot
            if last:
                speed = min(speed, float(np.sqrt(2 * TURN_BACK_DECEL * distance)))
            elif float(offset @ (segment.waypoints[self.waypoint_index[i] + 1] - target)) < 0:
                # The way turns back at this waypoint: arrive slowly enough to turn about on the spot.
                speed = min(speed, float(np.sqrt(2 * TURN_BACK_DECEL * distance)) + 0.3)
        else:  # wander: walk straight to a far point of the mat, then on to another
            goal = self.wander_goal[i]
            if goal is None or np.hypot(*(goal - agent.position)) < WANDER_ARRIVED_M:
                draws = [_random_inner_point(self.rng, self.mat, EDGE_MARGIN) for _ in range(WANDER_GOAL_DRAWS)]
                goal = self.wander_goal[i] = max(draws, key=lambda point: float(np.hypot(*(point - agent.position))))
            offset = goal - agent.position
            error = float(_wrap(np.arctan2(offset[1], offset[0]) - agent.heading))
            turn = 3.0 * error
            # Slow down for a goal that needs a sharp turn: people turn about on the spot.
            speed *= float(np.clip(np.cos(error), 0.3, 1.0))
        wished = speed
        turn, speed = self._avoid(i, turn, speed)
        # A wanderer who has had to wait for others a while goes somewhere else.
        self.waiting[i] = self.waiting[i] + PLAN_DT if wished > 0 and speed == 0 else 0.0
        if segment.kind == "walk" and self.waiting[i] > WANDER_PATIENCE_S:
            self.wander_goal[i], self.waiting[i] = None, 0.0
        # So does one who has had to wait on the way to a last point (enter_leave's way in or out): with up to five
        # on the mat, each waiting for another to make room, nobody would move again (on the way out, too: four
        # walkers stood for good after 7 minutes of a held-out long session).
        if segment.kind == "goto" and self.waiting[i] > WANDER_PATIENCE_S \
                and self.waypoint_index[i] == len(segment.waypoints) - 1:
            self.waiting[i] = 0.0
            return float(np.clip(turn, -max_turn, max_turn)), speed, True
        turn = float(np.clip(turn, -max_turn, max_turn))
        speed *= 1.0 - 0.3 * min(1.0, abs(turn) / max_turn)  # people slow a little into a tight turn
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
            for i in range(len(self.agents)):
                self._keep_on_mat(i)
            for i, agent in enumerate(self.agents):
                if k:
                    self.velocity[i] = (agent.position - positions[i, k - 1]) / PLAN_DT
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
        if i == j or a.virtual or b.virtual or a.anchor == j or b.anchor == i:
            return False
        return a.anchor is None or a.anchor != b.anchor

    def _rest_level(self, i: int) -> int:
        """How firmly agent i holds its place: 3 keeping a lane (crossing2's lane_gap_m, stand_still: never pushed);
        2 seated, kneeling or lying; 1 standing without stepping; 0 moving."""
        agent = self.agents[i]
        if agent.keeps_lane:
            return 3
        if agent.posture is not None:
            return 2
        return int(agent.anchor is None and not agent.virtual and self.speed[i] < STEP_SPEED
                   and self._segment(i).kind in ("stand", "turn"))

    def _group(self, i: int) -> list[int]:
        """Agent i and whoever moves with it: a follower moves with its anchor and the anchor's other followers."""
        lead = self.agents[i].anchor if self.agents[i].anchor is not None else i
        return [lead] + [j for j, agent in enumerate(self.agents) if agent.anchor == lead]

    def _separate(self) -> None:
        """Push strangers whose footprints come closer than BODY_CLEARANCE apart along the line between them,
        half each, or all of it the one who is not at rest (a follower's share moves its whole group; someone
        standing still would otherwise slide, feet planted, out of their own base of support)."""
        agents = self.agents
        for i, me in enumerate(agents):
            near = [j for j in range(i + 1, len(agents)) if self._strangers(i, j) and float(
                np.hypot(*(agents[j].position - me.position))) < self.radii[i] + self.radii[j] + BODY_CLEARANCE]
            if not near:
                continue
            gaps = footprint_gaps(*self._placed_now(i), [self._placed_now(j) for j in near])
            for j, gap in zip(near, gaps):
                if gap >= 0:
                    continue
                offset = agents[j].position - me.position
                distance = float(np.hypot(*offset))
                away = offset / distance if distance > 1e-9 else _direction(self.rng.uniform(-np.pi, np.pi))
                # The one more at rest is not pushed: the other makes the room. Two seated, kneeling or lying are
                # placed apart by their scenario and stay where they are; someone keeping a lane is never pushed.
                rest_i, rest_j = self._rest_level(i), self._rest_level(j)
                if min(rest_i, rest_j) >= 2:
                    continue
                share_i = 0.5 if rest_i == rest_j else 0.0 if rest_i > rest_j else 1.0
                for k in self._group(i):
                    agents[k].position = agents[k].position + share_i * gap * away
                for k in self._group(j):
                    agents[k].position = agents[k].position - (1.0 - share_i) * gap * away

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
        anchor = Agent(centre, heading, rng.uniform(*SPEED_RANGE), _wander_schedule(rng, duration, pauses=True),
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
                                float(rng.uniform(*SPEED_RANGE)), schedule, keeps_lane=lane_gap_m is not None))
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
        passer = Agent(np.array([lane, 0.45]), np.pi / 2, float(rng.uniform(*SPEED_RANGE)),
                       [Segment("goto", None, waypoints=waypoints)])
        return [stander, passer]
    if name == "stand_still":
        # One person stands on the spot the whole time, shifting their weight, while another walks past, end to
        # end along the mat 54 cm beside them (on a 1.2 m mat), again and again; neither steers around the other.
        stander = Agent(np.array([0.3 * width, length / 2]), float(rng.uniform(-np.pi, np.pi)), 0.0,
                        [Segment("stand", None, shift_amplitude=0.03, shift_period=4.0)], keeps_lane=True)
        lane = 0.75 * width
        passer = Agent(np.array([lane, 0.45]), np.pi / 2, float(rng.uniform(*SPEED_RANGE)),
                       _lane_schedule(lane, 0.45, length - 0.45, duration), keeps_lane=True)
        return [stander, passer]
    if name == "sit_on_chair":
        # One sits on a chair in the middle of the mat the whole time; the other wanders around them.
        sitter = Agent(np.array([width / 2, length / 2]) + rng.uniform(-0.1, 0.1, 2), float(rng.uniform(-np.pi, np.pi)),
                       0.0, [Segment("stand")], posture="sit")
        return _spread([sitter, wanderer(pauses=True)], rng, mat)
    if name == "kneel_and_lie":
        # One lies on their back along the mat, one kneels beside them (a mat 1.2 m wide holds no more).
        # Neither is pushed once placed (at rest), so they are placed apart: the lying body's arms 5 cm inside the
        # edge, the kneeler facing along the mat beside them.
        lie_half_width, kneel_half_width = POSTURE_FOOTPRINT_BOX["lie"][3], POSTURE_FOOTPRINT_BOX["kneel"][3]
        lying = Agent(np.array([lie_half_width + 0.05, length / 2]), float(rng.choice([-np.pi / 2, np.pi / 2])),
                      0.0, [Segment("stand")], posture="lie")
        kneeling = Agent(np.array([min(2 * lie_half_width + kneel_half_width + 0.06 + BODY_CLEARANCE,
                                       width - kneel_half_width), length / 2 + rng.uniform(-0.3, 0.3)]),
                         float(rng.choice([-np.pi / 2, np.pi / 2]) + rng.uniform(-0.2, 0.2)), 0.0,
                         [Segment("stand")], posture="kneel")
        return [lying, kneeling]
    if name == "pass_behind":
        # One stands in the middle of the mat facing across it, shifting their weight; the other walks along the
        # mat, over it and PASS_BEHIND_RUN_UP_M beyond its ends (room to come at walking speed), on a line through
        # the stander's back half, and steers round them: behind their back, the narrow way past a standing body.
        facing = float(rng.choice([0.0, np.pi]))
        stander = Agent(np.array([width / 2, length / 2]), facing, 0.0,
                        [Segment("stand", None, shift_amplitude=0.03, shift_period=3.5)])
        lane = width / 2 - np.cos(facing) * PASS_BEHIND_OFFSET_M
        start, end = -PASS_BEHIND_RUN_UP_M, length + PASS_BEHIND_RUN_UP_M
        # Turning about on the spot at the ends, back on the same line: behind the stander again.
        walker = Agent(np.array([lane, start]), np.pi / 2, speed(), _lane_schedule(lane, start, end, duration))
        return [stander, walker]
    if name == "run_across":
        # Runs along the mat, over it and off the far end, turns well off it and runs back.
        lane = width / 2 + rng.uniform(-0.15, 0.15)
        waypoints = np.array([[lane, length + RUN_UP_M], [lane, -RUN_UP_M]] * int(duration / 4 + 4))
        return [Agent(np.array([lane, -RUN_UP_M]), np.pi / 2, float(rng.uniform(*RUN_SPEED_RANGE)),
                      [Segment("goto", None, waypoints=waypoints)])]
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


PAIR_SPREAD_STEP_M = 0.01  # a couple's partners are moved apart in steps of this until their bodies are


def fit_pairs(agents: list[Agent]) -> None:
    """Give each virtual anchor's followers (a side-by-side or dance couple) room for their bodies: their centres
    move apart along the line between them (about its midpoint) until their footprints are BODY_CLEARANCE apart,
    if they were closer; the anchor's footprint becomes the union of theirs, for steering the couple."""
    for a, anchor in enumerate(agents):
        if not anchor.virtual:
            continue
        followers = [agent for agent in agents if agent.anchor == a]
        if len(followers) == 2:
            first, second = followers
            middle = (first.anchor_offset + second.anchor_offset) / 2
            between = second.anchor_offset - first.anchor_offset
            direction = between / max(float(np.hypot(*between)), 1e-9)
            distance = float(np.hypot(*between))
            while footprint_gap(first.footprint, first.footprint.placed(middle - 0.5 * distance * direction,
                                                                          first.anchor_facing),
                                second.footprint, second.footprint.placed(middle + 0.5 * distance * direction,
                                                                          second.anchor_facing)) < 0:
                distance += PAIR_SPREAD_STEP_M
            first.anchor_offset = middle - 0.5 * distance * direction
            second.anchor_offset = middle + 0.5 * distance * direction
        if followers:
            moved = [f.footprint.moved(f.anchor_offset, f.anchor_facing) for f in followers]
            anchor.footprint = BodyFootprint(np.concatenate([m.boxes for m in moved]),
                                             np.concatenate([m.bands for m in moved]))


def plan_motion(name: str, people: int | None, duration: float, mat: MatGeometry, rng: np.random.Generator,
                walkers: list[WalkerBody] | None = None, lane_gap_m: float | None = None) -> list[MotionPlan]:
    """Motion plans (world frame) of the people of scenario `name` over `duration` seconds; `walkers` the
    people's bodies in order (None: 0.5 m squares and reference legs); `lane_gap_m`: build_agents."""
    def given(count: int) -> Work[list[WalkerBody]]:
        if len(walkers) < count:
            raise ValueError(f"scenario {name!r} needs {count} walkers, got {len(walkers)}")
        return walkers[:count]
        yield

    return run_to_end(plan_motion_stepwise(name, people, duration, mat, rng,
                                           walkers=None if walkers is None else given, lane_gap_m=lane_gap_m))


def plan_motion_stepwise(name: str, people: int | None, duration: float, mat: MatGeometry,
                         rng: np.random.Generator, block_steps: int = 60,
                         walkers: Callable[[int], Work[list[WalkerBody]]] | None = None,
                         lane_gap_m: float | None = None) -> Work[list[MotionPlan]]:
    """`plan_motion` in installments: yields after every `block_steps` integration steps (60: one second of
    plan, some milliseconds per person) and returns the plans. Checks its arguments when first advanced.
    `walkers(count)` (itself in installments) gives the bodies of the scenario's `count` people, once their
    number is known; None: 0.5 m squares and reference legs. Each person's preferred speed is scaled to their legs
    (REFERENCE_LEG_M)."""
    if not (np.isfinite(duration) and duration > 0):
        raise ValueError(f"scenario duration must be positive seconds, got {duration}")
    if block_steps < 1:
        raise ValueError(f"block_steps must be >= 1, got {block_steps}")
    agents = build_agents(name, people, duration, mat, rng, lane_gap_m)
    if walkers is not None:
        people_agents = [agent for agent in agents if not agent.virtual]
        for agent, walker in zip(people_agents, (yield from walkers(len(people_agents)))):
            agent.walker, agent.footprint = walker, walker.widest
            agent.preferred_speed *= float(np.sqrt(walker.leg_length / REFERENCE_LEG_M))
    for agent in agents:
        if agent.posture is not None:
            agent.walker = None
            agent.footprint = BodyFootprint(np.tile(POSTURE_FOOTPRINT_BOX[agent.posture],
                                                    (len(FOOTPRINT_BANDS_M) - 1, 1)),
                                            np.arange(len(FOOTPRINT_BANDS_M) - 1))
    fit_pairs(agents)
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
            posture=agent.posture,
        ))
    return plans
