"""Things on the floor that are no one: furniture legs, a dropped object, a pet's four paws.

On a real floor these make blobs a tracker may take for feet; the scene's ground truth says they belong to no person
(`cell_object`, alongside the people's `cell_owner`). Each object presses with its weight, split over its contact
patches, and each patch spreads its load evenly over a disc (pressure integrates exactly to the weight on the mat).

Placement: furniture and dropped objects lie in the band along the mat's long edges that walkers leave free (they
head for points at least scenario.EDGE_MARGIN inside the edges; only avoiding someone takes their centre of mass
closer, down to scenario.AVOID_EDGE_M), so a foot rarely lands on a chair leg;
the pet trots anywhere on the mat, between the people.

Figures: furniture 4-25 kg on four legs of 2-4 cm, spaced 0.35-0.5 m (a chair or side table standing half on the mat,
two legs on it); a dropped object 0.3-3 kg (a bag, a book, a bottle) on a 5-20 cm patch, lying from the moment it
lands; a dog of 4-30 kg trotting at 0.6-1.5 m/s (about 1.5-2.5 strides/s), body length 0.35-0.8 m, paw pads 2-5 cm
across, 60 % of its weight on the forelimbs (Budsberg, Verstraete & Soutas-Little 1987), each foot on the floor 60 %
of a stride in a trot (diagonal pairs).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from presstrack_common.mat_geometry import MatGeometry

from .pressure import splat_forces

GRAVITY = 9.81
EDGE_BAND_M = (0.03, 0.10)  # distance from a long edge where furniture legs and dropped objects lie
FURNITURE_MASS_KG = (4.0, 25.0)
FURNITURE_LEG_M = (0.02, 0.04)
FURNITURE_SPAN_M = (0.35, 0.5)
DROPPED_MASS_KG = (0.3, 3.0)
DROPPED_SIZE_M = (0.05, 0.20)
PET_MASS_KG = (4.0, 30.0)
PET_SPEED_M_S = (0.6, 1.5)
PET_STRIDE_HZ = (1.5, 2.5)
PET_PAW_M = (0.02, 0.05)
PET_FORELIMB_SHARE = 0.6
PET_DUTY_FACTOR = 0.6
PATCH_POINTS = 7  # points across a patch's diameter that carry its load


@dataclass(frozen=True)
class FloorObject:
    """One thing on the floor. kind: 'furniture', 'dropped' or 'pet'; mass kg; contacts (F, K, 2) world xy of its
    K contact patches per frame, with loads (F, K) N (zero when a patch is off the floor); patch diameter m."""

    kind: str
    mass: float
    contacts: np.ndarray
    loads: np.ndarray
    patch: float


@dataclass(frozen=True)
class ObjectsConfig:
    """Which objects a scene gets: how many pieces of furniture, dropped objects and pets."""

    furniture: int = 1
    dropped: int = 1
    pets: int = 1

    def __post_init__(self) -> None:
        for name in ("furniture", "dropped", "pets"):
            if not 0 <= getattr(self, name) <= 4:
                raise ValueError(f"objects: {name} must be 0-4, got {getattr(self, name)}")


def _edge_point(rng: np.random.Generator, mat: MatGeometry) -> tuple[np.ndarray, float]:
    """A mat-frame point in the free band along a long edge, and the inward direction (+1 / -1 along x)."""
    width, length = mat.size_m
    inset = rng.uniform(*EDGE_BAND_M)
    left = rng.random() < 0.5
    return np.array([inset if left else width - inset, rng.uniform(0.2, length - 0.2)]), (1.0 if left else -1.0)


def place_objects(config: ObjectsConfig, mat: MatGeometry, times: np.ndarray,
                  rng: np.random.Generator) -> list[FloorObject]:
    """The objects of one scene over frame times (F,) s."""
    frames, objects = len(times), []
    for _ in range(config.furniture):
        mass, span, leg = rng.uniform(*FURNITURE_MASS_KG), rng.uniform(*FURNITURE_SPAN_M), rng.uniform(*FURNITURE_LEG_M)
        near, inward = _edge_point(rng, mat)
        # Four legs; two stand on the mat in the band, two off it past the edge (their load is lost off the mat).
        legs = np.array([near, near + [0, span], near - [inward * span, 0], near + [-inward * span, span]])
        contacts = np.broadcast_to(mat.mat_to_world(legs), (frames, 4, 2))
        objects.append(FloorObject("furniture", mass, contacts, np.full((frames, 4), mass * GRAVITY / 4), leg))
    for _ in range(config.dropped):
        mass, size = rng.uniform(*DROPPED_MASS_KG), rng.uniform(*DROPPED_SIZE_M)
        spot, _ = _edge_point(rng, mat)
        lands = rng.uniform(0.2, 0.8) * times[-1] if frames > 1 else 0.0
        loads = np.where(times >= lands, mass * GRAVITY, 0.0)[:, None]
        objects.append(FloorObject("dropped", mass, np.broadcast_to(mat.mat_to_world(spot), (frames, 1, 2)),
                                   loads, size))
    for _ in range(config.pets):
        objects.append(_pet(mat, times, rng))
    return objects


def _pet(mat: MatGeometry, times: np.ndarray, rng: np.random.Generator) -> FloorObject:
    """A dog trotting around the mat: bounces off the edges, turns now and then."""
    mass = rng.uniform(*PET_MASS_KG)
    size = (mass / PET_MASS_KG[1]) ** (1 / 3)  # body length and paw size grow with the cube root of the mass
    body_length = 0.8 * size
    paw = float(np.clip(PET_PAW_M[1] * size, *PET_PAW_M))
    speed, stride_hz = rng.uniform(*PET_SPEED_M_S), rng.uniform(*PET_STRIDE_HZ)
    width, length = mat.size_m
    margin = 0.5 * body_length + 0.05
    position = np.array([rng.uniform(margin, width - margin), rng.uniform(margin, length - margin)])
    heading = rng.uniform(-np.pi, np.pi)
    dt = np.diff(times, prepend=times[0])
    centres, headings = np.zeros((len(times), 2)), np.zeros(len(times))
    for f, step in enumerate(dt):
        heading += rng.normal(0.0, 0.6) * np.sqrt(step)
        ahead = position + speed * step * np.array([np.cos(heading), np.sin(heading)])
        if not (margin <= ahead[0] <= width - margin and margin <= ahead[1] <= length - margin):
            heading += np.pi * rng.uniform(0.6, 1.0)  # turn away from the edge
        else:
            position = ahead
        centres[f], headings[f] = position, heading
    forward = np.stack([np.cos(headings), np.sin(headings)], axis=1)
    side = np.stack([-forward[:, 1], forward[:, 0]], axis=1)
    half_length, half_width = 0.5 * body_length, 0.12 * size
    # Paws: left fore, right fore, left hind, right hind; a trot moves the diagonals together, half a stride apart.
    offsets = [(half_length, half_width), (half_length, -half_width), (-half_length, half_width),
               (-half_length, -half_width)]
    phase_offset = np.array([0.0, 0.5, 0.5, 0.0])
    share = np.array([PET_FORELIMB_SHARE / 2] * 2 + [(1 - PET_FORELIMB_SHARE) / 2] * 2)
    phase = (times[:, None] * stride_hz + phase_offset[None]) % 1.0
    down = phase < PET_DUTY_FACTOR
    contacts = np.stack([centres + a * forward + b * side for a, b in offsets], axis=1)
    # The weight is shared by the paws on the floor, fore and hind in their proportions.
    weights = down * share[None]
    loads = mass * GRAVITY * weights / weights.sum(axis=1, keepdims=True)
    return FloorObject("pet", mass, mat.mat_to_world(contacts), loads, paw)


def object_pressure(objects: list[FloorObject], mat: MatGeometry, start: int, stop: int) -> np.ndarray:
    """(K objects, F, rows, cols) kPa of frames [start, stop)."""
    frames = stop - start
    out = np.zeros((len(objects), frames, mat.rows, mat.cols), dtype=np.float32)
    grid = (np.arange(PATCH_POINTS) + 0.5) / PATCH_POINTS - 0.5
    disc = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    disc = disc[np.linalg.norm(disc, axis=1) <= 0.5]  # points of a unit-diameter disc
    for k, thing in enumerate(objects):
        contacts, loads = thing.contacts[start:stop], thing.loads[start:stop]  # (F, P, 2), (F, P)
        points = contacts[:, :, None, :] + thing.patch * disc[None, None]  # (F, P, D, 2)
        forces = np.broadcast_to((loads / len(disc))[:, :, None], points.shape[:3])
        frame = np.broadcast_to(np.arange(frames)[:, None, None], points.shape[:3])
        sigma = max(0.5, 0.5 * thing.patch / PATCH_POINTS / mat.pitch)
        out[k] = splat_forces(points.reshape(-1, 2), forces.ravel(), mat, frame.ravel(), frames, sigma)
    return out


def cell_object(pressure: np.ndarray) -> np.ndarray:
    """(K, F, rows, cols) kPa per object -> (F, rows, cols) int8 object index pressing each cell, -1 for none."""
    if len(pressure) == 0:
        return np.full(pressure.shape[1:], -1, dtype=np.int8)
    owner = np.argmax(pressure, axis=0).astype(np.int8)
    owner[pressure.max(axis=0) <= 0] = -1
    return owner
