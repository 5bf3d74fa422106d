"""Jumps on the spot: a standing person dips, pushes off, flies with no force on the mat, and lands.

The vertical force of a countermovement jump (Linthorne 2001, "Analysis of standing vertical jumps using a force
platform", Am. J. Phys. 69:1198): unweighting, the force dropping to about 0.4 body weight for UNWEIGHT_S; propulsion,
a peak of 2-3 body weights for PROPULSION_S; flight at zero force; landing, a peak of about 2 body weights for
LANDING_S. The propulsion and landing impulses are set by the jump height h: the body leaves the floor at
v0 = sqrt(2 g h) and flies 2 v0 / g, so the force averages body weight over the whole jump (momentum is conserved).
The body is lifted bodily during the flight (the crouch and the leg extension are not posed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gait import GRAVITY, Footsteps, GaitTrack

JUMP_HEIGHT_M = (0.10, 0.30)
UNWEIGHT_S, UNWEIGHT_DEPTH = 0.25, 0.6  # the force dips to 1 - UNWEIGHT_DEPTH body weights
PROPULSION_S = 0.30
LANDING_S = 0.35
PLANTED_MARGIN_S = 0.5  # both feet planted this long before and after a jump
MIN_GAP_S = 1.0  # between two jumps of one person
CANDIDATE_STEP_S = 0.5


@dataclass(frozen=True)
class Jump:
    """One jump: starts (unweighting) at `start` s, rises `height` m."""

    start: float
    height: float

    @property
    def takeoff_speed(self) -> float:
        return float(np.sqrt(2 * GRAVITY * self.height))

    @property
    def flight(self) -> float:
        return 2 * self.takeoff_speed / GRAVITY

    @property
    def takeoff(self) -> float:
        return self.start + UNWEIGHT_S + PROPULSION_S

    @property
    def end(self) -> float:
        return self.takeoff + self.flight + LANDING_S

    def force_ratio(self, times: np.ndarray) -> np.ndarray:
        """(F,) vertical force / body weight (1 outside the jump)."""
        t = np.asarray(times, dtype=float) - self.start
        ratio = np.ones_like(t)
        unweight = (t >= 0) & (t < UNWEIGHT_S)
        ratio[unweight] = 1 - UNWEIGHT_DEPTH * np.sin(np.pi * t[unweight] / UNWEIGHT_S)
        # Propulsion: the unweighting's lost impulse back, plus the take-off momentum (per unit weight: v0 / g).
        lost = UNWEIGHT_DEPTH * 2 * UNWEIGHT_S / np.pi
        push = (self.takeoff_speed / GRAVITY + lost) / (2 * PROPULSION_S / np.pi)
        tp = t - UNWEIGHT_S
        propulsion = (tp >= 0) & (tp < PROPULSION_S)
        ratio[propulsion] = 1 + push * np.sin(np.pi * tp[propulsion] / PROPULSION_S)
        tf = tp - PROPULSION_S
        ratio[(tf >= 0) & (tf < self.flight)] = 0.0
        tl = tf - self.flight
        landing = (tl >= 0) & (tl < LANDING_S)
        brake = (self.takeoff_speed / GRAVITY) / (2 * LANDING_S / np.pi)
        ratio[landing] = 1 + brake * np.sin(np.pi * tl[landing] / LANDING_S)
        return ratio

    def lift(self, times: np.ndarray) -> np.ndarray:
        """(F,) m the body is raised (during the flight only)."""
        tf = np.asarray(times, dtype=float) - self.takeoff
        flying = (tf > 0) & (tf < self.flight)
        return np.where(flying, self.takeoff_speed * tf - 0.5 * GRAVITY * tf ** 2, 0.0)


def _planted(steps: Footsteps, side: int, begin: float, end: float) -> bool:
    """Whether one step of `side` holds its foot on the floor throughout [begin, end]."""
    mine = steps.of_side(side)
    return bool(np.any((steps.strike[mine] <= begin) & (steps.toe_off[mine] >= end)))


def plan_jumps(steps: Footsteps, times: np.ndarray, rate_per_min: float, rng: np.random.Generator) -> list[Jump]:
    """Jumps at about `rate_per_min` per minute of standing, where both feet stay planted around them."""
    jumps: list[Jump] = []
    if rate_per_min <= 0 or len(times) < 2:
        return jumps
    chance = rate_per_min / 60.0 * CANDIDATE_STEP_S
    for start in np.arange(times[0] + PLANTED_MARGIN_S, times[-1], CANDIDATE_STEP_S):
        jump = Jump(float(start), float(rng.uniform(*JUMP_HEIGHT_M)))
        if rng.random() >= chance or (jumps and start < jumps[-1].end + MIN_GAP_S):
            continue
        begin, end = start - PLANTED_MARGIN_S, jump.end + PLANTED_MARGIN_S
        if end < times[-1] and all(_planted(steps, side, begin, end) for side in (0, 1)):
            jumps.append(jump)
    return jumps


def apply_jumps(track: GaitTrack, start: int, stop: int, jumps: list[Jump], times: np.ndarray) -> None:
    """Put the jumps into frames [start, stop) of `track` (in place): forces scaled, the body lifted in flight,
    the feet out of contact while it flies."""
    for jump in jumps:
        frames = np.flatnonzero((times[start:stop] >= jump.start) & (times[start:stop] < jump.end)) + start
        if len(frames) == 0:
            continue
        ratio, lift = jump.force_ratio(times[frames]), jump.lift(times[frames])
        track.force[frames] *= ratio[:, None]
        track.transl[frames, 2] += lift
        track.joints[frames, :, 2] += lift[:, None]
        track.contact[frames] &= (ratio > 0)[:, None]
