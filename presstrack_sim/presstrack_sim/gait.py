"""Walking, stepping and standing: footstep planning and per-frame SMPL poses with planted feet.

Gait model (numbers from clinical gait analysis of healthy adults):
- cadence 112 steps/min at 1.3 m/s, scaling with speed^0.45 and with 1/sqrt(height) (pendulum legs), at least
  75 steps/min; step length = speed / cadence;
- stance fraction 60 % of the cycle at 1.3 m/s (so 20 % double support), longer when slower;
- each foot lands where the centre of mass will be at that foot's mid-stance, half a step width to its side
  (heel centres 8-12 cm apart, ~5.8 % of stature); standing, the feet are ~10 % of stature apart (15-20 cm);
- stance: heel rocker (the foot rolls down about the heel from up to 20 deg dorsiflexion) for the first 15 % of
  stance, foot flat, then heel rise about the ball of the foot (toes stay flat, up to 35 deg) for the last 40 %;
  the pivot is fixed in the world, and the foot is lifted vertically so its lowest sole point touches the floor,
  so a stance foot never slides and never sinks;
- swing: minimum-jerk travel between toe-off and the next heel strike, the lowest sole point following a
  sin(pi v) arc 2-5 cm above the floor;
- vertical ground reaction force per foot: weight passes from the trailing to the leading foot during double
  support, and the total force oscillates during single support (peaks ~1.2 BW, valley ~0.75 BW at 1.3 m/s),
  averaging body weight over a cycle; standing splits body weight by the lever rule about the centre of mass;
- pelvis: follows the centre of mass, sways 40 % of the way (~2 cm) towards the loaded foot, bobs +-1.5 cm (lowest in
  double support), rotates +-4 deg with the stride; arms swing opposite to the legs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from presstrack_body import kinematics

from .scenario import MotionPlan

GRAVITY = 9.81  # m/s^2
LEFT, RIGHT = 0, 1
SIDES = ("left", "right")
SIDES_I = (LEFT, RIGHT)
SIDE_SIGN = np.array([1.0, -1.0])  # left foot lies on the +left side of the body
JOINT = {name: index for index, name in enumerate(kinematics.JOINT_NAMES)}
ANKLE = (JOINT["left_ankle"], JOINT["right_ankle"])
TOE = (JOINT["left_foot"], JOINT["right_foot"])
HIP = (JOINT["left_hip"], JOINT["right_hip"])
KNEE = (JOINT["left_knee"], JOINT["right_knee"])

MAX_HEEL_PITCH = np.deg2rad(20.0)
MAX_TOE_PITCH = np.deg2rad(35.0)
HEEL_ROCKER_FRACTION = 0.15  # of stance
HEEL_RISE_FRACTION = 0.40  # of stance
TOE_OUT = np.deg2rad(5.0)
REACH_FRACTION = 0.99  # the knee never locks completely straight
STEP_WIDTH_PER_HEIGHT = 0.058  # walking: lateral distance of the heel centres, ~10 cm at 1.72 m
STANCE_WIDTH_PER_HEIGHT = 0.10  # standing: ~17 cm at 1.72 m
SWAY_FRACTION = 0.4  # of the way from the centre of mass to the centre of pressure
# Running (planned speed from RUN_SPEED, about where people change from walking to running): each foot is on the
# floor RUN_STANCE_FRACTION of the stride, so both are off it between the steps (flight, no force on the mat), and the
# vertical force of a stance is a half sine whose impulse carries the body weight over one step: a peak of
# pi / (4 RUN_STANCE_FRACTION) = 2.1 body weights (2-3 in distance running: Cavanagh & Lafortune 1980).
RUN_SPEED = 2.2  # m/s
RUN_STANCE_FRACTION = 0.37
# A runner's posture (Novacheck 1998, The biomechanics of running): the knee flexes about 40 deg by mid-stance (the
# pelvis is at its lowest) and far more in swing, the heel rising behind towards the buttocks (we lift the swinging
# ankle RUN_SWING_LIFT leg lengths at mid-swing); the centre of mass rises and falls RUN_BOUNCE_M (6-10 cm in
# distance running, Cavanagh 1990), highest in flight; the trunk leans forward RUN_TRUNK_LEAN more than walking; the
# elbows are bent to about RUN_ELBOW_BEND.
RUN_STANCE_KNEE = np.deg2rad(40.0)
RUN_SWING_LIFT = 0.30
RUN_BOUNCE_M = 0.07
RUN_TRUNK_LEAN = np.deg2rad(8.0)
RUN_ELBOW_BEND = np.deg2rad(90.0)
ARM_DROP = np.deg2rad(70.0)  # how far the arms hang down from the T-pose unless the body says (people.arm_drop)


def upright(yaw: np.ndarray | float) -> np.ndarray:
    """(...,) heading in the world -> (..., 3, 3) global rotation of a standing SMPL body facing that heading.

    SMPL's canonical frame has x left, y up, z forward: rotate +90 deg about x (y -> world z), then about world z.
    """
    yaw = np.asarray(yaw, dtype=float) + np.pi / 2
    cos, sin = np.cos(yaw), np.sin(yaw)
    zero, one = np.zeros_like(yaw), np.ones_like(yaw)
    # Rz(yaw) @ Rx(90 deg), written out.
    return np.stack([np.stack([cos, zero, sin], -1), np.stack([sin, zero, -cos], -1),
                     np.stack([zero, one, zero], -1)], -2)


def rot_x(angle: np.ndarray | float) -> np.ndarray:
    """(...,) -> (..., 3, 3) rotation about x. In SMPL's canonical frame, + tips forward/downward."""
    angle = np.asarray(angle, dtype=float)
    cos, sin = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(angle), np.ones_like(angle)
    return np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cos, -sin], -1),
                     np.stack([zero, sin, cos], -1)], -2)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _minimum_jerk(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x ** 3 * (10 - 15 * x + 6 * x * x)


@dataclass(frozen=True)
class BodyGeometry:
    """What the gait needs to know about one body, in SMPL's canonical rest frame (y up, z forward), metres.

    sole_points[side] (n, 3) sole vertices; toe_mask[side] (n,) those moved by the toe joint (ahead of it);
    heel_pivot[side] (3,) the heel point the foot rolls about at heel strike.
    """

    betas: np.ndarray  # (10,)
    rest_joints: np.ndarray  # (24, 3)
    sole_points: tuple[np.ndarray, np.ndarray]
    toe_mask: tuple[np.ndarray, np.ndarray]
    heel_pivot: tuple[np.ndarray, np.ndarray]
    height: float  # m, top of head to sole
    mass: float  # kg
    step_width_ratio: float = STEP_WIDTH_PER_HEIGHT  # walking step width / height
    stance_width_ratio: float = STANCE_WIDTH_PER_HEIGHT  # standing feet distance / height
    toe_out: float = TOE_OUT  # rad each foot points outward of the heading
    arm_drop: float = ARM_DROP  # rad the arms hang down from the T-pose (90 deg: straight down)
    step_width_sd: float = 0.0  # m each walking step lands off its planned lateral place, SD (with a step rng)
    toe_out_sd: float = 0.0  # rad each walking step's toe-out varies, SD (with a step rng)

    @property
    def step_width(self) -> float:
        """Lateral distance (m) between the ankles of successive footsteps while walking."""
        return self.step_width_ratio * self.height

    @property
    def stance_width(self) -> float:
        """Lateral distance (m) between the ankles when standing."""
        return self.stance_width_ratio * self.height

    def ankle_height(self, side: int) -> float:
        """Height of the ankle joint above the floor with the foot flat."""
        return float(self.rest_joints[ANKLE[side], 1] - self.sole_points[side][:, 1].min())

    @property
    def pelvis_height(self) -> float:
        """Height of the pelvis joint above the floor standing upright."""
        return float(self.rest_joints[0, 1] - min(points[:, 1].min() for points in self.sole_points))

    @property
    def leg_length(self) -> float:
        """Height (m) of the hip joints above the floor standing upright: the leg of the Froude number."""
        return float(self.rest_joints[list(HIP), 1].mean() - min(points[:, 1].min() for points in self.sole_points))

    def leg_reach(self, side: int) -> float:
        """Longest hip-to-ankle distance the leg allows, slightly bent."""
        hip, knee, ankle = self.rest_joints[[HIP[side], KNEE[side], ANKLE[side]]]
        return REACH_FRACTION * float(np.linalg.norm(knee - hip) + np.linalg.norm(ankle - knee))

    @property
    def weight_newton(self) -> float:
        return self.mass * GRAVITY


def heel_pivot_point(sole_points: np.ndarray, toe_mask: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """(3,) the sole point that is lowest when the foot is tipped toe-up by MAX_HEEL_PITCH about the ankle."""
    tipped = (sole_points[~toe_mask] - ankle) @ rot_x(-MAX_HEEL_PITCH).T
    return sole_points[~toe_mask][np.argmin(tipped[:, 1])]


# ---------------------------------------------------------------- gait parameters


def cadence_steps_per_min(speed: np.ndarray | float, height: float) -> np.ndarray:
    speed = np.maximum(np.asarray(speed, dtype=float), 0.0)
    return np.maximum(112.0 * (speed / 1.3) ** 0.45, 75.0) * np.sqrt(1.72 / height)


def stance_fraction(speed: np.ndarray | float) -> np.ndarray:
    """Share of a stride each foot is on the floor: walking 57-68 %, running RUN_STANCE_FRACTION (flight between
    the steps)."""
    speed = np.asarray(speed, dtype=float)
    return np.where(speed >= RUN_SPEED, RUN_STANCE_FRACTION, np.clip(0.60 - 0.06 * (speed - 1.3), 0.57, 0.68))


def force_oscillation(speed: np.ndarray | float) -> np.ndarray:
    """Amplitude (fraction of body weight) of the total vertical force oscillation while walking."""
    return 0.25 * np.clip((np.asarray(speed, dtype=float) - 0.2) / 1.2, 0.0, 1.0)


@dataclass
class Footsteps:
    """All footsteps of one person, sorted by heel strike. K steps; the first two are the initial standing stance.

    side (K,) 0 left / 1 right; strike, toe_off (K,) s (toe_off inf: never leaves); position (K, 2) world xy of the
    ankle with the foot flat; yaw (K,) rad; heel_pitch, toe_pitch (K,) rad of the roll-over at strike and toe-off;
    heel_duration, toe_duration (K,) s of those phases; clearance (K,) m of the swing that ends at this step;
    speed (K,) m/s the step was planned for; stance_fraction (K,).
    """

    side: np.ndarray
    strike: np.ndarray
    toe_off: np.ndarray
    position: np.ndarray
    yaw: np.ndarray
    heel_pitch: np.ndarray
    toe_pitch: np.ndarray
    heel_duration: np.ndarray
    toe_duration: np.ndarray
    clearance: np.ndarray
    speed: np.ndarray
    stance_fraction: np.ndarray

    def of_side(self, side: int) -> np.ndarray:
        return np.flatnonzero(self.side == side)


class _PlanSampler:
    """Linear interpolation of a motion plan at arbitrary times (clamped to its span)."""

    def __init__(self, plan: MotionPlan):
        self.plan = plan
        # Speed the gait is planned for: smoothed over ~0.5 s so single frames do not change the step length.
        kernel = np.ones(31) / 31
        padded = np.pad(plan.speed, 15, mode="edge")
        self.gait_speed = np.convolve(padded, kernel, mode="valid")

    def com(self, t: float) -> np.ndarray:
        return np.array([np.interp(t, self.plan.times, self.plan.com_xy[:, 0]),
                         np.interp(t, self.plan.times, self.plan.com_xy[:, 1])])

    def facing(self, t: float) -> float:
        return float(np.interp(t, self.plan.times, self.plan.facing))

    def speed(self, t: float) -> float:
        return float(np.interp(t, self.plan.times, self.gait_speed))

    def stepping(self, t: float) -> bool:
        index = int(np.clip(np.searchsorted(self.plan.times, t), 0, len(self.plan.times) - 1))
        return bool(self.plan.stepping[index])


def plan_footsteps(plan: MotionPlan, body: BodyGeometry, rng: np.random.Generator | None = None) -> Footsteps:
    """Footsteps that carry the centre of mass along the plan: walking bouts separated by standing. With `rng`,
    each walking step's width and toe-out vary about the body's by body.step_width_sd and body.toe_out_sd."""
    sample = _PlanSampler(plan)
    half_step, half_stance = body.step_width / 2, body.stance_width / 2
    t_end = float(plan.times[-1])
    rows: list[dict] = []
    last = [0, 1]  # index of each foot's current stance step

    def place(side: int, strike: float, t_mid: float, speed: float, fraction: float, half_width: float,
              walking: bool) -> None:
        yaw = sample.facing(t_mid)
        toe_out = body.toe_out
        if walking and rng is not None:  # step-to-step variety about the person's own width and angle
            half_width += rng.normal(0.0, body.step_width_sd)
            toe_out += rng.normal(0.0, body.toe_out_sd)
        lateral = np.array([-np.sin(yaw), np.cos(yaw)]) * SIDE_SIGN[side] * half_width
        position = sample.com(t_mid) + lateral
        previous = rows[last[side]]
        stride = float((position - previous["position"]) @ np.array([np.cos(yaw), np.sin(yaw)]))
        amplitude = float(np.clip(stride / (0.75 * body.height), 0.0, 1.0))
        previous["toe_pitch"] = MAX_TOE_PITCH * amplitude
        stance = 2 * fraction * 60.0 / float(cadence_steps_per_min(speed, body.height))
        rows.append(dict(side=side, strike=strike, toe_off=np.inf, position=position,
                         yaw=yaw + SIDE_SIGN[side] * toe_out, heel_pitch=MAX_HEEL_PITCH * amplitude, toe_pitch=0.0,
                         heel_duration=HEEL_ROCKER_FRACTION * stance, toe_duration=HEEL_RISE_FRACTION * stance,
                         clearance=RUN_SWING_LIFT * body.leg_length if fraction < 0.5 else 0.02 + 0.03 * amplitude,
                         speed=speed, stance_fraction=fraction))
        last[side] = len(rows) - 1

    yaw0 = sample.facing(0.0)
    for side in (LEFT, RIGHT):
        lateral = np.array([-np.sin(yaw0), np.cos(yaw0)]) * SIDE_SIGN[side] * half_stance
        stance = 2 * 0.6 * 60.0 / float(cadence_steps_per_min(1.0, body.height))
        rows.append(dict(side=side, strike=-1.0, toe_off=np.inf, position=sample.com(0.0) + lateral,
                         yaw=yaw0 + SIDE_SIGN[side] * body.toe_out, heel_pitch=0.0, toe_pitch=0.0,
                         heel_duration=HEEL_ROCKER_FRACTION * stance, toe_duration=HEEL_RISE_FRACTION * stance,
                         clearance=0.0, speed=0.0, stance_fraction=0.6))

    stepping_times = plan.times[plan.stepping]
    t = 0.0
    while True:
        upcoming = stepping_times[stepping_times >= t]
        if len(upcoming) == 0 or upcoming[0] >= t_end:
            break
        start = float(upcoming[0])
        # The first foot to leave is the one farther from where the body is heading.
        ahead, yaw = sample.com(start + 0.5), sample.facing(start + 0.5)
        lateral = np.array([-np.sin(yaw), np.cos(yaw)]) * half_step
        misplacement = [np.linalg.norm(rows[last[s]]["position"] - (ahead + SIDE_SIGN[s] * lateral)) for s in SIDES_I]
        side = int(np.argmax(misplacement))
        speed = sample.speed(start)
        fraction = float(stance_fraction(speed))
        step_time = 60.0 / float(cadence_steps_per_min(speed, body.height))
        rows[last[side]]["toe_off"] = start
        strike = start + 2 * (1 - fraction) * step_time  # one swing
        while True:
            speed = sample.speed(strike)
            fraction = float(stance_fraction(speed))
            step_time = 60.0 / float(cadence_steps_per_min(speed, body.height))
            closing = not sample.stepping(strike) or strike > t_end + 1.0
            # A closing step lands beside the other foot, under the (now still) centre of mass, in a standing stance.
            place(side, strike, strike + (0.3 if closing else fraction * step_time), speed, fraction,
                  half_stance if closing else half_step, walking=not closing)
            if closing:
                break
            rows[last[1 - side]]["toe_off"] = strike + (2 * fraction - 1) * step_time
            strike += step_time
            side = 1 - side
        t = strike + 0.1

    keys = rows[0].keys()
    order = np.argsort([row["strike"] for row in rows], kind="stable")
    columns = {key: np.array([rows[i][key] for i in order], dtype=float) for key in keys}
    columns["side"] = columns["side"].astype(int)
    return Footsteps(**columns)



# ---------------------------------------------------------------- foot kinematics


def _sole_min_height(body: BodyGeometry, side: int, ankle: np.ndarray, ankle_rotation: np.ndarray,
                     toe_rotation: np.ndarray) -> np.ndarray:
    """(N,) height of the lowest sole point for ankle positions (N, 3) and global rotations (N, 3, 3)."""
    joints = body.rest_joints
    points, toe = body.sole_points[side], body.toe_mask[side]
    toe_joint = ankle + ankle_rotation @ (joints[TOE[side]] - joints[ANKLE[side]])
    rear = ankle[:, None, 2] + np.einsum("nj,mj->nm", ankle_rotation[:, 2], points[~toe] - joints[ANKLE[side]])
    front = toe_joint[:, None, 2] + np.einsum("nj,mj->nm", toe_rotation[:, 2], points[toe] - joints[TOE[side]])
    return np.minimum(rear.min(axis=1), front.min(axis=1) if toe.any() else np.inf)


def _stance_pose(body: BodyGeometry, side: int, steps: Footsteps, index: np.ndarray,
                 since_strike: np.ndarray, until_toe_off: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ankle positions (N, 3), ankle and toe global rotations (N, 3, 3) of a stance foot on steps[index]."""
    joints = body.rest_joints
    flat = upright(steps.yaw[index])
    ankle_flat = np.concatenate([steps.position[index], np.full((len(index), 1), body.ankle_height(side))], axis=1)
    heel_up = np.clip(1.0 - until_toe_off / steps.toe_duration[index], 0.0, 1.0) ** 2 * steps.toe_pitch[index]
    toe_up = (1.0 - _smoothstep(since_strike / steps.heel_duration[index])) * steps.heel_pitch[index]
    rolling_on_heel = toe_up > 0
    pitch = np.where(rolling_on_heel, -toe_up, heel_up)
    ankle_rotation = flat @ rot_x(pitch)
    # The pivot (heel point, or the toe joint during heel rise) keeps its flat-foot place in the world.
    pivot = np.where(rolling_on_heel[:, None], body.heel_pivot[side], joints[TOE[side]]) - joints[ANKLE[side]]
    pivot_world = ankle_flat + np.einsum("nij,nj->ni", flat, pivot)
    ankle = pivot_world - np.einsum("nij,nj->ni", ankle_rotation, pivot)
    toe_rotation = np.where(rolling_on_heel[:, None, None], ankle_rotation, flat)
    ankle[:, 2] -= _sole_min_height(body, side, ankle, ankle_rotation, toe_rotation)
    return ankle, ankle_rotation, toe_rotation


@dataclass
class FootTrack:
    """Per-frame state of one foot: ankle (T, 3), ankle_rotation and toe_rotation (T, 3, 3) global, stance (T,)
    bool, step (T,) index of the current (stance) or next (swing) footstep."""

    ankle: np.ndarray
    ankle_rotation: np.ndarray
    toe_rotation: np.ndarray
    stance: np.ndarray
    step: np.ndarray

    def frames(self, index: slice | np.ndarray) -> FootTrack:
        """The state at some of the frames."""
        return FootTrack(self.ankle[index], self.ankle_rotation[index], self.toe_rotation[index], self.stance[index],
                         self.step[index])


def foot_track(body: BodyGeometry, side: int, steps: Footsteps, times: np.ndarray) -> FootTrack:
    """Ankle and foot rotations of one foot at the frame times (T,)."""
    own = steps.of_side(side)
    position = np.searchsorted(steps.strike[own], times, side="right") - 1
    current = own[np.clip(position, 0, len(own) - 1)]
    stance = times < steps.toe_off[current]
    frames = len(times)
    ankle, ankle_rotation, toe_rotation = np.zeros((frames, 3)), np.zeros((frames, 3, 3)), np.zeros((frames, 3, 3))
    step = current.copy()

    if stance.any():
        index = current[stance]
        ankle[stance], ankle_rotation[stance], toe_rotation[stance] = _stance_pose(
            body, side, steps, index, times[stance] - steps.strike[index], steps.toe_off[index] - times[stance])
    swing = ~stance
    if swing.any():
        leaving = current[swing]
        following = position[swing] + 1
        if following.max() >= len(own):
            raise ValueError("footstep plan ends in mid-swing; plan footsteps past the last frame")
        landing = own[following]
        step[swing] = landing
        zero = np.zeros(len(leaving))
        start, start_rotation, _ = _stance_pose(body, side, steps, leaving, steps.toe_off[leaving] - steps.strike[
            leaving], zero)
        end, _, _ = _stance_pose(body, side, steps, landing, zero, steps.toe_off[landing] - steps.strike[landing])
        progress = (times[swing] - steps.toe_off[leaving]) / (steps.strike[landing] - steps.toe_off[leaving])
        travel = _minimum_jerk(progress)
        yaw = steps.yaw[leaving] + travel * ((steps.yaw[landing] - steps.yaw[leaving] + np.pi) % (2 * np.pi) - np.pi)
        pitch = (1 - travel) * steps.toe_pitch[leaving] - travel * steps.heel_pitch[landing]
        toe_bend = -steps.toe_pitch[leaving] * (1 - _smoothstep(progress / 0.4))
        rotation = upright(yaw) @ rot_x(pitch)
        toes = rotation @ rot_x(toe_bend)
        swing_ankle = start + travel[:, None] * (end - start)
        clearance = steps.clearance[landing] * np.sin(np.pi * np.clip(progress, 0, 1))
        swing_ankle[:, 2] += clearance - _sole_min_height(body, side, swing_ankle, rotation, toes)
        ankle[swing], ankle_rotation[swing], toe_rotation[swing] = swing_ankle, rotation, toes
    return FootTrack(ankle, ankle_rotation, toe_rotation, stance, step)


# ---------------------------------------------------------------- loads


def foot_forces(body: BodyGeometry, steps: Footsteps, feet: tuple[FootTrack, FootTrack], com_xy: np.ndarray,
                times: np.ndarray) -> np.ndarray:
    """(T, 2) vertical ground reaction force (N) on the left and right foot.

    Single support: the stance foot carries body weight times the walking oscillation. Double support: the weight
    moves from the foot about to leave to the foot that just landed; standing, the lever rule about the centre of
    mass sets the split. Both ramps take the double-support time of the steps involved.
    """
    weight = body.weight_newton
    left, right = feet
    forces = np.zeros((len(times), 2))
    flight = ~left.stance & ~right.stance
    if np.any(np.minimum(steps.stance_fraction[left.step[flight]], steps.stance_fraction[right.step[flight]]) >= 0.5):
        raise ValueError("gait has a flight phase between walking steps; walking keeps a foot on the floor")

    # Running: a half sine over each stance, its impulse the body weight times one step's time.
    support_step = np.where(left.stance, left.step, right.step)
    running = (left.stance ^ right.stance) & (steps.stance_fraction[support_step] < 0.5)
    if running.any():
        frames = np.flatnonzero(running)
        k = support_step[frames]
        stance_time = steps.toe_off[k] - steps.strike[k]
        step_time = 60.0 / cadence_steps_per_min(steps.speed[k], body.height)
        phase = np.clip((times[frames] - steps.strike[k]) / stance_time, 0.0, 1.0)
        forces[frames, np.where(left.stance[frames], LEFT, RIGHT)] = (
            weight * np.pi * step_time / (2 * stance_time) * np.sin(np.pi * phase))

    single = (left.stance ^ right.stance) & ~running
    if single.any():
        support = np.where(left.stance[single], LEFT, RIGHT)
        # Progress through single support = progress of the other foot's swing.
        swinging_step = np.where(support == LEFT, right.step[single], left.step[single])
        other_sides = 1 - support
        leaving = np.array([_previous_of_side(steps, s, k) for s, k in zip(other_sides, swinging_step)])
        begin, end = steps.toe_off[leaving], steps.strike[swinging_step]
        progress = np.clip((times[single] - begin) / (end - begin), 0, 1)
        amplitude = force_oscillation(steps.speed[swinging_step])
        double_fraction = 2 * steps.stance_fraction[swinging_step] - 1
        total = weight * (1 + amplitude * (np.cos(2 * np.pi * progress) - double_fraction))
        forces[np.flatnonzero(single), support] = total

    double = left.stance & right.stance
    if double.any():
        frames = np.flatnonzero(double)
        t = times[frames]
        index = np.stack([left.step[frames], right.step[frames]], axis=1)  # (n, 2) current stance steps
        strikes, toe_offs = steps.strike[index], steps.toe_off[index]
        began = strikes.max(axis=1)  # the later landing opens this double support
        ends = toe_offs.min(axis=1)  # the earlier toe-off closes it
        landing_foot = np.argmax(strikes, axis=1)
        leaving_foot = np.argmin(toe_offs, axis=1)
        ramp = 2 * steps.stance_fraction[index[np.arange(len(frames)), landing_foot]] - 1
        ramp = ramp * 60.0 / cadence_steps_per_min(steps.speed[index[np.arange(len(frames)), landing_foot]],
                                                   body.height)
        ramp = np.maximum(np.minimum(ramp, ends - began), 1e-3)
        # Lever rule about the centre of mass between the two feet (centres of the soles).
        foot_left, foot_right = left.ankle[frames, :2], right.ankle[frames, :2]
        axis = foot_left - foot_right
        lever = np.einsum("ni,ni->n", com_xy[frames] - foot_right, axis) / np.maximum(
            np.einsum("ni,ni->n", axis, axis), 1e-6)
        base = np.stack([np.clip(lever, 0.1, 0.9), 1 - np.clip(lever, 0.1, 0.9)], axis=1)
        rows = np.arange(len(frames))
        loading = np.ones((len(frames), 2))
        loading[rows, landing_foot] *= np.where(np.isfinite(began), _smoothstep((t - began) / ramp), 1.0)
        unloading = np.ones((len(frames), 2))
        finite_end = np.isfinite(ends)
        unloading[rows, leaving_foot] *= np.where(finite_end, _smoothstep((ends - t) / ramp), 1.0)
        share = base * loading * unloading
        share /= share.sum(axis=1, keepdims=True)
        # Close to a step the total follows the walking peak; standing still it is body weight.
        amplitude = force_oscillation(steps.speed[index[rows, landing_foot]])
        near_step = np.maximum(1 - (t - began) / ramp, 0) + np.where(finite_end, np.maximum(1 - (ends - t) / ramp,
                                                                                            0), 0)
        walking = (ends - began) <= 2.5 * ramp
        lift = np.where(walking, 1.0, np.clip(near_step, 0, 1))
        double_fraction = 2 * steps.stance_fraction[index[rows, landing_foot]] - 1
        forces[frames] = weight * (1 + amplitude * (1 - double_fraction) * lift)[:, None] * share
    return forces


def _previous_of_side(steps: Footsteps, side: int, following: int) -> int:
    own = steps.of_side(side)
    return int(own[np.searchsorted(own, following) - 1])


# ---------------------------------------------------------------- whole body


@dataclass
class GaitTrack:
    """One person's motion at the frame times (T,).

    pose (T, 72) SMPL axis-angle with the world orientation in the root; transl (T, 3) SMPL translation in the world
    (pelvis joint = rest pelvis + transl); joints (T, 24, 3) world; contact (T, 2) bool per foot (left, right);
    force (T, 2) N vertical ground reaction per foot; steps the footstep plan.
    """

    pose: np.ndarray
    transl: np.ndarray
    joints: np.ndarray
    contact: np.ndarray
    force: np.ndarray
    steps: Footsteps


def _smooth(signal: np.ndarray, width: int) -> np.ndarray:
    """Moving average along axis 0 over `width` frames (odd), edges held."""
    if width <= 1:
        return signal
    pad = width // 2
    padded = np.pad(signal, [(pad, pad)] + [(0, 0)] * (signal.ndim - 1), mode="edge")
    cumulative = np.cumsum(np.concatenate([np.zeros((1,) + signal.shape[1:]), padded]), axis=0)
    return (cumulative[width:] - cumulative[:-width]) / width


def _running_max(signal: np.ndarray, width: int) -> np.ndarray:
    pad = width // 2
    padded = np.pad(signal, pad, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, width).max(axis=1)


def synthesise_gait(plan: MotionPlan, body: BodyGeometry, times: np.ndarray) -> GaitTrack:
    """Footsteps, foot paths, loads, pelvis, arms and leg IK for the frame times (T,) s."""
    times = np.asarray(times, dtype=float)
    return GaitStream(plan, body, times, block_frames=max(1, len(times))).until(len(times))


def _running_pelvis_height(body: BodyGeometry, steps: Footsteps, times: np.ndarray) -> np.ndarray:
    """(T,) pelvis height (m) of a runner: lowest at each mid-stance, with the knee flexed RUN_STANCE_KNEE over a foot
    flat below the hip, and RUN_BOUNCE_M higher half a step later, in flight (a cosine between mid-stances)."""
    thigh, shank = (float(np.mean([np.linalg.norm(body.rest_joints[a[side]] - body.rest_joints[b[side]])
                                   for side in SIDES_I])) for a, b in ((HIP, KNEE), (KNEE, ANKLE)))
    crouch = thigh + shank - np.sqrt(thigh ** 2 + shank ** 2 + 2 * thigh * shank * np.cos(RUN_STANCE_KNEE))
    middles = np.sort(((steps.strike + steps.toe_off) / 2)[np.isfinite(steps.toe_off) & (steps.strike >= 0)])
    if len(middles) < 2:
        return np.full(len(times), body.pelvis_height - crouch)
    after = np.clip(np.searchsorted(middles, times, side="right"), 1, len(middles) - 1)
    phase = np.clip((times - middles[after - 1]) / (middles[after] - middles[after - 1]), 0.0, 1.0)
    return body.pelvis_height - crouch + RUN_BOUNCE_M / 2 * (1 - np.cos(2 * np.pi * phase))


def _smoothing_window(times: np.ndarray) -> int:
    """Frames (odd) of the 0.25 s moving averages that ease the body in and out of a walk."""
    dt = float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / 15
    return max(1, int(round(0.25 / dt)) | 1)


class GaitStream:
    """One person's gait synthesised block by block, as the frames are needed; the same track as `synthesise_gait`.

    Each block is synthesised together with the neighbouring frames its moving averages reach (the chain of
    averages and running maximum spans at most two windows either side), so a block's frames equal those of a
    whole-track synthesis up to rounding.

    Args:
        plan, body: the person's motion plan and body.
        times: (T,) frame times, s.
        block_frames: frames synthesised per `advance()`.
        adjust: optional f(track, start, stop) that changes frames [start, stop) of the track in place once they
            are synthesised (what the walking model does not know of, e.g. jumps).
        step_rng: optional generator of the footsteps' step-to-step variety (plan_footsteps).
    """

    def __init__(self, plan: MotionPlan, body: BodyGeometry, times: np.ndarray, block_frames: int,
                 adjust: Callable[[GaitTrack, int, int], None] | None = None,
                 step_rng: np.random.Generator | None = None):
        if block_frames < 1:
            raise ValueError(f"block_frames must be >= 1, got {block_frames}")
        self.plan, self.body, self.block_frames, self.adjust = plan, body, int(block_frames), adjust
        self.times = np.asarray(times, dtype=float)
        self.steps = plan_footsteps(plan, body, step_rng)
        self.window = _smoothing_window(self.times)
        frames = len(self.times)
        # Filled block by block: frames [0, ready) hold the gait.
        self.track = GaitTrack(pose=np.zeros((frames, 72)), transl=np.zeros((frames, 3)),
                               joints=np.zeros((frames, kinematics.NUM_JOINTS, 3)),
                               contact=np.zeros((frames, 2), dtype=bool), force=np.zeros((frames, 2)),
                               steps=self.steps)
        self.ready = 0

    def advance(self) -> None:
        """Synthesise the next block of frames (nothing once all are done)."""
        frames = len(self.times)
        start, stop = self.ready, min(self.ready + self.block_frames, frames)
        if start >= stop:
            return
        margin = 2 * self.window
        first, last = max(0, start - margin), min(frames, stop + margin)
        block = _synthesise(self.plan, self.body, self.steps, self.times[first:last], self.window,
                            slice(start - first, stop - first))
        for name in ("pose", "transl", "joints", "contact", "force"):
            getattr(self.track, name)[start:stop] = getattr(block, name)
        if self.adjust is not None:
            self.adjust(self.track, start, stop)
        self.ready = stop

    def until(self, stop: int) -> GaitTrack:
        """The track, synthesised at least up to frame `stop` (exclusive)."""
        while self.ready < min(stop, len(self.times)):
            self.advance()
        return self.track


def _synthesise(plan: MotionPlan, body: BodyGeometry, steps: Footsteps, times: np.ndarray, window: int,
                keep: slice) -> GaitTrack:
    """Gait at the frames times[keep]; the frames around them only feed the moving averages."""
    feet = (foot_track(body, LEFT, steps, times), foot_track(body, RIGHT, steps, times))
    com = np.stack([np.interp(times, plan.times, plan.com_xy[:, k]) for k in range(2)], axis=1)
    facing = np.interp(times, plan.times, plan.facing)
    force = foot_forces(body, steps, feet, com, times)
    share = force / np.maximum(force.sum(axis=1, keepdims=True), 1e-9)

    # Walking intensity 0..1 from the planned step speeds, smoothed so the body eases in and out of a walk.
    stance_steps = np.stack([foot.step for foot in feet], axis=1)
    walking = _smooth(np.clip(steps.speed[stance_steps].max(axis=1) / 1.0, 0, 1) * ~(feet[0].stance & feet[
        1].stance & (np.abs(share[:, 0] - 0.5) < 0.45)), window)
    walking = np.clip(walking, 0, 1)

    left_dir = np.stack([-np.sin(facing), np.cos(facing)], axis=1)
    forward_dir = np.stack([np.cos(facing), np.sin(facing)], axis=1)
    centre_of_pressure = share[:, :1] * feet[0].ankle[:, :2] + share[:, 1:] * feet[1].ankle[:, :2]
    flying = force.sum(axis=1) <= 0  # running: no pressure to sway towards
    centre_of_pressure[flying] = com[flying]
    sway = SWAY_FRACTION * np.einsum("ni,ni->n", centre_of_pressure - com, left_dir)
    pelvis_xy = com + _smooth(sway, window)[:, None] * left_dir
    single_support = np.abs(share[:, 0] - share[:, 1])
    bob = 0.015 * walking * (2 * single_support - 1)
    pelvis_z = body.pelvis_height - 0.02 * walking + _smooth(bob, window)
    # Running intensity 0..1 (steps with a flight phase between them), eased like the walking one.
    running = np.clip(_smooth((steps.stance_fraction[stance_steps].min(axis=1) < 0.5).astype(float), window), 0, 1)
    if running.any():
        pelvis_z = (1 - running) * pelvis_z + running * _running_pelvis_height(body, steps, times)

    # Stride: how far the left foot is ahead of the right, normalised by a nominal step length.
    stride = np.einsum("ni,ni->n", feet[0].ankle[:, :2] - feet[1].ankle[:, :2], forward_dir) / (0.4 * body.height)
    stride = np.clip(_smooth(stride, window), -1.5, 1.5)
    pelvis_yaw = facing - np.deg2rad(4.0) * stride
    lean = np.deg2rad(3.0) + np.deg2rad(3.0) * walking
    root = upright(pelvis_yaw) @ rot_x(lean + RUN_TRUNK_LEAN * running)  # the spine takes back half the walking lean

    joints_rest = body.rest_joints
    # Lower the pelvis wherever a planted foot would otherwise be out of the leg's reach.
    drop = np.zeros(len(times))
    for side in SIDES_I:
        hip_offset = np.einsum("nij,j->ni", root, joints_rest[HIP[side]] - joints_rest[0])
        hip_xy = pelvis_xy + hip_offset[:, :2]
        horizontal = np.linalg.norm(feet[side].ankle[:, :2] - hip_xy, axis=1)
        reach = body.leg_reach(side)
        highest = feet[side].ankle[:, 2] + np.sqrt(np.maximum(reach ** 2 - horizontal ** 2, 0.0)) - hip_offset[:, 2]
        drop = np.maximum(drop, pelvis_z - highest)
    drop = _smooth(_running_max(np.maximum(drop, 0.0), window), window)
    pelvis = np.concatenate([pelvis_xy, (pelvis_z - drop)[:, None]], axis=1)
    transl = pelvis - joints_rest[0]

    # The rest is frame by frame: pose only the kept frames.
    root, transl, stride, lean, walking, running, force = (
        values[keep] for values in (root, transl, stride, lean, walking, running, force))
    feet = (feet[0].frames(keep), feet[1].frames(keep))
    pose = np.zeros((len(transl), 72))
    pose[:, :3] = kinematics.matrix_to_axis_angle(root)
    # Spine undoes part of the pelvis rotation (the thorax counter-rotates), torso stays upright.
    spine_twist = np.deg2rad(4.0) * stride / 3 * 1.5
    for name in ("spine1", "spine2", "spine3"):
        pose[:, 3 * JOINT[name] + 1] = spine_twist
    pose[:, 3 * JOINT["spine1"]] -= lean / 2
    # Arms hang down from the T-pose (as close to the sides as the hips let them) and swing against the legs;
    # elbows slightly bent.
    arm_swing = np.deg2rad(18.0) * walking * stride
    for side, sign in ((LEFT, 1.0), (RIGHT, -1.0)):
        shoulder = JOINT[("left", "right")[side] + "_shoulder"]
        elbow = JOINT[("left", "right")[side] + "_elbow"]
        drop = -sign * body.arm_drop
        down = np.array([[np.cos(drop), -np.sin(drop), 0], [np.sin(drop), np.cos(drop), 0], [0, 0, 1]])
        swing = sign * arm_swing  # left arm goes forward (negative x rotation) when the left foot is behind
        pose[:, 3 * shoulder:3 * shoulder + 3] = kinematics.matrix_to_axis_angle(rot_x(swing) @ down)
        bend = (1 - running) * (np.deg2rad(15.0) + np.deg2rad(10.0) * walking) + running * RUN_ELBOW_BEND
        pose[:, 3 * elbow + 1] = -sign * bend

    # One leg's IK leaves the other leg's hip (and the pelvis) where they were, so each leg is solved for all
    # frames at once.
    for side in SIDES_I:
        pose = kinematics.solve_leg_ik(joints_rest, pose, transl, SIDES[side], feet[side].ankle,
                                       feet[side].ankle_rotation)
    for side in SIDES_I:
        toe_local = np.swapaxes(feet[side].ankle_rotation, 1, 2) @ feet[side].toe_rotation
        pose[:, 3 * TOE[side]:3 * TOE[side] + 3] = kinematics.matrix_to_axis_angle(toe_local)
    joints, _ = kinematics.forward_kinematics(joints_rest, pose, transl)
    contact = np.stack([feet[0].stance, feet[1].stance], axis=1)
    return GaitTrack(pose=pose, transl=transl, joints=joints, contact=contact, force=force, steps=steps)
