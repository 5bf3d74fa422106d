"""One tracked person (`Track`): their state, the constant-velocity Kalman filter on their centre of pressure, the
line they walk along (`_walking_axis`, `_across`), the axis their feet show (`_feet_axis`), and their body weight
and signature as the mat measures them. Used by the frame's assignment (assignment.py) and the track lifecycle
(tracking.py)."""
from __future__ import annotations

import functools
import math
import statistics
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from .config import TrackerConfig
from .detection import Foot, PersonDetection
from .heading import Stance, shows_axis
from .identity import BodySignature

_SIGNATURE_SAMPLES = 512  # forces and foot lengths kept per person for the signature (medians, quantiles)
_WEIGHT_SAMPLES = 15      # frames whose median force is a person's current body weight
_WEIGHT_MIN_SAMPLES = 5   # frames before a person's weight counts
_STRAIGHT_WALK = math.radians(30.0)   # feet axis vs walking direction: askew by a step width, toe-out
_MIN_VELOCITY_SPAN = 0.2  # [s] a younger track's walking velocity is its displacement over this (not yet known)


class TrackState(IntEnum):
    """Values match presstrack_msgs/PersonPressure STATE_*."""

    TENTATIVE = 0
    CONFIRMED = 1
    LOST = 2


@functools.lru_cache(maxsize=64)
def _motion_model(dt: float, acceleration_noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Transition and process noise of the constant-velocity model over dt [s] (cached: dt repeats)."""
    transition = np.eye(4)
    transition[0, 2] = transition[1, 3] = dt
    # Discrete white-noise acceleration model, per axis [[dt^4/4, dt^3/2], [dt^3/2, dt^2]] * q^2.
    q = acceleration_noise**2
    noise = np.zeros((4, 4))
    noise[[0, 1], [0, 1]] = q * dt**4 / 4
    noise[[2, 3], [2, 3]] = q * dt**2
    noise[[0, 1, 2, 3], [2, 3, 0, 1]] = q * dt**3 / 2
    transition.flags.writeable = False
    noise.flags.writeable = False
    return transition, noise


class ConstantVelocityKalman:
    """Kalman filter on state (x, y, vx, vy) [m, m/s] with position measurements (x, y) [m]."""

    def __init__(self, position: np.ndarray, acceleration_noise: float, measurement_noise: float) -> None:
        self.state = np.array([position[0], position[1], 0.0, 0.0])
        self.covariance = np.diag([measurement_noise**2, measurement_noise**2, 1.0, 1.0])
        self.acceleration_noise = acceleration_noise
        self.measurement_variance = measurement_noise**2

    def predicted(self, dt: float) -> np.ndarray:
        """State (x, y, vx, vy) dt [s] ahead, without changing the filter."""
        transition, _ = _motion_model(dt, self.acceleration_noise)
        return transition @ self.state

    def predict(self, dt: float) -> None:
        """Advance by dt [s]."""
        transition, noise = _motion_model(dt, self.acceleration_noise)
        self.state = transition @ self.state
        self.covariance = transition @ self.covariance @ transition.T + noise

    def update(self, position: np.ndarray) -> None:
        """Correct with a measured position (x, y) [m]."""
        (a, b), (c, d) = self.covariance[:2, :2].tolist()
        # As adding the identity times the variance did: + 0.0 off the diagonal (a -0.0 becomes 0.0).
        a, b, c, d = a + self.measurement_variance, b + 0.0, c + 0.0, d + self.measurement_variance
        # Closed-form inverse of the 2x2 innovation covariance (positive definite: det > 0).
        det = a * d - b * c
        inverse = np.array([[d / det, -b / det], [-c / det, a / det]])
        gain = self.covariance[:, :2] @ inverse
        self.state = self.state + gain @ (np.asarray(position) - self.state[:2])
        self.covariance = self.covariance - gain @ self.covariance[:2, :]

    def hold(self) -> None:
        """Stop where it is: zero velocity (footprints do not glide; a person without feet stopped or left)."""
        self.state[2:] = 0.0
        self.covariance[2:, :] = 0.0
        self.covariance[:, 2:] = 0.0
        self.covariance[2, 2] = self.covariance[3, 3] = 1.0

    @property
    def position(self) -> np.ndarray:
        return self.state[:2].copy()

    @property
    def velocity(self) -> np.ndarray:
        return self.state[2:].copy()


@dataclass(eq=False)
class Track:
    """One person. detection: the last frame they had feet in; frames_since_update / seconds_lost: since
    then (0 = this frame); recent_forces: of their last frames (current weight); forces / foot_lengths: of
    frames clear of the mat's edge (signature);
    contact_time [s]: time those frames span."""

    track_id: int
    state: TrackState
    kalman: ConstantVelocityKalman
    detection: PersonDetection
    arrived_at: float   # [s] first frame of their current run of frames with feet
    hits: int = 1
    frames_since_update: int = 0
    seconds_lost: float = 0.0
    heading: float | None = None
    feet_heading: float | None = None   # [rad] this frame's heading from the feet alone (heading_from_feet)
    feet_axis: float | None = None   # [rad, mod pi] of the last feet long enough to show one (`_feet_axis`)
    stances: list[Stance] = field(default_factory=list)   # last frame's feet, followed while down (heading.py)
    recent_forces: deque[float] = field(default_factory=lambda: deque(maxlen=_WEIGHT_SAMPLES))
    forces: deque[float] = field(default_factory=lambda: deque(maxlen=_SIGNATURE_SAMPLES))
    foot_lengths: deque[float] = field(default_factory=lambda: deque(maxlen=_SIGNATURE_SAMPLES))
    contact_time: float = 0.0
    identified: bool = False   # whether their id is settled (a newcomer's is provisional until then)
    path: deque[tuple[float, float, float]] = field(default_factory=deque)   # (clock [s], x, y [m]) of the CoP

    def walking_velocity(self, span: float | None = None) -> np.ndarray:
        """(vx, vy) [m/s]: the CoP's displacement over the last stride (its own velocity swings heel to toe
        and foot to foot within a step; over a stride it is the body's), or over the track's life if shorter;
        over the last `span` [s] instead if given."""
        if len(self.path) < 2:
            return np.zeros(2)
        t1, x1, y1 = self.path[-1]
        t0, x0, y0 = self.path[0]
        if span is not None:
            t0, x0, y0 = next(point for point in self.path if t1 - point[0] <= span)
        return np.array([x1 - x0, y1 - y0]) / max(t1 - t0, _MIN_VELOCITY_SPAN)

    def left_over_edge(self, config: TrackerConfig) -> bool:
        """Whether their last feet came within a foot's length (foot_length_max) of the mat's border: the last
        contact of somebody stepping off the mat (on tuning sessions, 81 exits: median 1 cm, at most 28 cm)."""
        x1, y1, x2, y2 = self.detection.box
        rows, cols = self.detection.frame_shape
        return min(x1, y1, cols - x2, rows - y2) * config.cell_pitch < config.foot_length_max

    @property
    def weight_n(self) -> float:
        """[N] current body weight: median force of the last _WEIGHT_SAMPLES frames clear of the mat's edge;
        0 while fewer than _WEIGHT_MIN_SAMPLES."""
        return statistics.median(self.recent_forces) if len(self.recent_forces) >= _WEIGHT_MIN_SAMPLES else 0.0

    @property
    def confidence(self) -> float:
        return self.detection.confidence if self.frames_since_update == 0 else 0.0

    def signature(self, config: TrackerConfig) -> BodySignature | None:
        """The body signature once contact_time reaches signature_time, else None."""
        if self.contact_time < config.signature_time or not self.forces or not self.foot_lengths:
            return None
        weight = float(np.median(np.fromiter(self.forces, float, len(self.forces))))
        foot = float(np.median(np.fromiter(self.foot_lengths, float, len(self.foot_lengths))))
        return BodySignature(weight, foot, self.contact_time) if weight > 0 else None


def _walking_axis(track: Track, config: TrackerConfig, min_speed: float | None = None) -> np.ndarray | None:
    """Unit vector (x, y) along which `track` walks in a line (modulo pi): the long axis its feet showed last
    (feet point where people walk, within a few degrees of toe-out; the centre of pressure jumps from foot to
    foot a step width sideways, so its path points askew by up to atan(step width / step length), ~15 degrees),
    when it walks at least `min_speed` (default steady_walk_speed) within _STRAIGHT_WALK of that axis. None
    otherwise: a person standing, starting off or turning may step any way."""
    velocity = track.walking_velocity()
    speed = math.hypot(*velocity)
    if speed < (config.steady_walk_speed if min_speed is None else min_speed) or track.feet_axis is None:
        return None
    axis = np.array([math.cos(track.feet_axis), math.sin(track.feet_axis)])
    return axis if abs(float(axis @ velocity)) >= speed * math.cos(_STRAIGHT_WALK) else None


def _across(feet: list[Foot], mine: np.ndarray, track: Track, config: TrackerConfig) -> np.ndarray | None:
    """[m] Where each of `feet[mine]`, one person's feet, lies across the line `track` walks along (`_walking_axis`,
    at any walking pace from heading_min_speed); None while they do not walk forward in a line: standing, stepping
    aside (a side step reaches 0.5 m), or turning, where a foot that shows an axis (`shows_axis`) points more than
    _STRAIGHT_WALK off the line (a turning step lands a foot at a new angle, anywhere about the other). Walking, one
    person's feet lie within lateral_reach of each other that way: a step width apart (0.05-0.2 m), never more
    than hip width."""
    axis = _walking_axis(track, config, config.heading_min_speed)
    if axis is None or any(abs(math.sin(feet[f].axis - track.feet_axis)) > math.sin(_STRAIGHT_WALK)
                           for f in mine if shows_axis(feet[f], config)):
        return None
    return np.array([feet[f].centroid_m for f in mine]) @ np.array([-axis[1], axis[0]])


def _feet_axis(feet, config: TrackerConfig) -> float | None:
    """[rad, mod pi] the contact-area-weighted mean long axis of those `feet` that show one (`shows_axis`);
    None if none."""
    long_feet = [foot for foot in feet if shows_axis(foot, config)]
    if not long_feet:
        return None
    # Angles doubled: an axis is a direction modulo pi.
    return 0.5 * math.atan2(sum(f.area * math.sin(2 * f.axis) for f in long_feet),
                            sum(f.area * math.cos(2 * f.axis) for f in long_feet))
