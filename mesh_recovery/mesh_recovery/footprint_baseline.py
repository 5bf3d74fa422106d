"""Training-free mesh recovery from one person's footprints (the ``footprint`` backend).

Per frame and track: find the (at most two) feet in the person's crop, tell left from right by the
walking direction, put each loaded foot's ankle above its footprint and the unloaded foot on a
swing arc between its last footprint and the next one, place the pelvis between the feet at
standing height, then let the body module's leg IK bend hips and knees so the feet land where the
pressure is. Arms swing against the legs. No weights, so it is the fallback when no checkpoint is
configured, and a baseline for the learned backend.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from presstrack_body.kinematics import (JOINT_NAMES, axis_angle_to_matrix, forward_kinematics,
                                           matrix_to_axis_angle, solve_legs_ik)
from presstrack_common.mat_geometry import MatGeometry

SWING_DURATION_S = 0.4      # typical swing phase of walking (~40 % of a 1 s gait cycle)
SWING_CLEARANCE_M = 0.08    # ankle lift at mid-swing
KNEE_SOFTENING = 0.97       # the pelvis sits a little below straight-leg height while walking
ARM_DROP_RAD = 1.25         # T-pose arms lowered to hang beside the body
ARM_SWING_RAD = 0.35        # shoulder swing at a full step
FOOT_ROLL_RAD = 0.3         # heel-strike / toe-off pitch of a foot at the extremes of its centre of pressure
PATH_WINDOW_S = 1.0         # without a heading from the tracker, the walking direction is read off this much path ...
MIN_TRAVEL_M = 0.15         # ... once the feet have moved at least this far (less is standing or shuffling)

_JOINT = {name: index for index, name in enumerate(JOINT_NAMES)}
_SIDES = ("left", "right")  # the order of the two legs in Placement and solve_legs_ik
# SMPL's canonical frame is y-up, facing +z; this turns it into the world's z-up frame facing -y.
_Y_UP_TO_Z_UP = axis_angle_to_matrix(np.array([math.pi / 2, 0.0, 0.0]))
# (2, 3, 3) left and right T-pose arms lowered by ARM_DROP_RAD about the forward axis.
_ARM_DROPS = axis_angle_to_matrix(np.array([[0.0, 0.0, -ARM_DROP_RAD], [0.0, 0.0, ARM_DROP_RAD]]))


@dataclass(frozen=True)
class Footprint:
    """One foot's contact in the world frame."""

    centre: np.ndarray   # (2,) centre of pressure on the floor [m]
    axis: np.ndarray     # (2,) unit vector along the foot; sign not known from one frame
    length: float        # [m] extent along the axis
    force_share: float   # fraction of the person's pressure on this foot
    cop_along: float     # centre of pressure along the axis, -0.5 .. 0.5 of the length from the middle


@dataclass(frozen=True)
class FootGeometry:
    """Where the ankle sits relative to a flat footprint, from the body model in its rest pose."""

    ankle_height: float          # [m] ankle above the sole
    ankle_behind_centre: float   # [m] ankle behind the middle of the footprint, along the foot
    pelvis_height: float         # [m] pelvis above the sole, legs straight


def foot_geometry(rest_vertices: np.ndarray, rest_joints: np.ndarray, sole_ids: np.ndarray) -> FootGeometry:
    """FootGeometry of a body in SMPL's rest frame (y up, facing +z) from its left sole vertices."""
    sole = rest_vertices[sole_ids]
    floor = sole[:, 1].min()
    ankle = rest_joints[_JOINT["left_ankle"]]
    middle = 0.5 * (sole[:, 2].max() + sole[:, 2].min())
    return FootGeometry(ankle_height=float(ankle[1] - floor), ankle_behind_centre=float(middle - ankle[2]),
                        pelvis_height=float(rest_joints[0, 1] - floor))


@dataclass(frozen=True)
class BodyEstimate:
    betas: np.ndarray       # (10,)
    pose: np.ndarray        # (72,) axis-angle, global orientation in the world frame
    transl: np.ndarray      # (3,) world [m]
    joints: np.ndarray      # (24, 3) world [m]
    rotations: np.ndarray   # (24, 3, 3) global joint rotations in the world frame
    confidence: float


@dataclass(frozen=True)
class Placement:
    """One person's frame up to the leg IK, which `FootprintBaseline.pose_bodies` runs for all people at once."""

    heading: float                # [rad] walking direction about +z from +x, world frame
    ankles: np.ndarray            # (2, 3) left and right ankle targets, world [m]
    foot_orientations: np.ndarray  # (2, 3, 3) left and right ankle global rotations before any roll, world frame
    foot_rolls: tuple[float | None, float | None]  # [rad] pitch of a loaded foot about its lateral axis; None: no roll
    pelvis: np.ndarray            # (3,) world [m]
    arm_swing: float              # [rad] left shoulder forward (right shoulder back) when positive
    confidence: float


@dataclass
class _TrackMemory:
    heading: float | None = None
    path: list[tuple[float, np.ndarray]] = field(default_factory=list)  # (stamp, centre of pressure) recently
    last_stance: dict[str, np.ndarray] = field(default_factory=dict)   # side -> ankle xy of its last footprint
    last_contact: dict[str, float] = field(default_factory=dict)       # side -> when it last touched the floor


def find_footprints(crop: np.ndarray, crop_origin: tuple[int, int], geometry: MatGeometry,
                    threshold_kpa: float = 1.0, max_gap_cells: int = 3) -> list[Footprint]:
    """At most two footprints in a person-centred crop (kPa), largest force first.

    Pads of one foot (heel, forefoot, toes) are joined across gaps of up to ``max_gap_cells``;
    more than two remaining blobs are merged pairwise by nearest centroids.
    """
    loaded = crop > threshold_kpa
    rows, cols = np.flatnonzero(loaded.any(axis=1)), np.flatnonzero(loaded.any(axis=0))
    if not rows.size:
        return []
    # Dilate and label only the loaded cells' bounding box grown by the gap: nothing outside it can join.
    top, left = max(rows[0] - max_gap_cells, 0), max(cols[0] - max_gap_cells, 0)
    window = loaded[top:rows[-1] + max_gap_cells + 1, left:cols[-1] + max_gap_cells + 1]
    joined, count = ndimage.label(ndimage.binary_dilation(window, iterations=max_gap_cells),
                                  structure=np.ones((3, 3)))
    # Every joined blob holds a loaded cell (a dilation grows from them); groups are flat crop indices in
    # raster order, per blob in label order.
    window_rows, window_cols = np.nonzero(window)
    cells = (window_rows + top) * crop.shape[1] + window_cols + left
    labels = joined[window_rows, window_cols]
    groups = [cells[labels == k] for k in range(1, count + 1)]
    weights = crop.ravel()
    while len(groups) > 2:
        centres = np.array([np.average(np.column_stack(np.unravel_index(g, crop.shape)), axis=0,
                                       weights=weights[g]) for g in groups])
        distances = np.linalg.norm(centres[:, None] - centres[None], axis=-1) + np.eye(len(groups)) * 1e9
        i, j = np.unravel_index(np.argmin(distances), distances.shape)
        groups[i] = np.concatenate([groups[i], groups[j]])
        del groups[j]
    total = float(sum(weights[g].sum() for g in groups))
    feet = [_footprint(g, weights[g], crop.shape, crop_origin, geometry, total) for g in groups]
    return sorted(feet, key=lambda foot: -foot.force_share)


def _footprint(cells: np.ndarray, weights: np.ndarray, shape, crop_origin, geometry: MatGeometry,
               total: float) -> Footprint:
    rows, cols = np.unravel_index(cells, shape)
    world = geometry.cell_to_world(np.column_stack([rows + crop_origin[0], cols + crop_origin[1]]))
    centre = np.average(world, axis=0, weights=weights)
    offsets = world - centre
    covariance = (offsets * weights[:, None]).T @ offsets / weights.sum()
    _, vectors = np.linalg.eigh(covariance)
    axis = vectors[:, -1]
    along = offsets @ axis
    length = float(along.max() - along.min() + geometry.pitch)
    middle = 0.5 * (along.max() + along.min())
    cop_along = float(-middle / length) if length > 0 else 0.0  # centre of pressure (0) relative to the middle
    return Footprint(centre, axis, length, float(weights.sum() / total), cop_along)


def _rotation_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def body_orientation(heading: float) -> np.ndarray:
    """World rotation of an upright SMPL body facing ``heading`` (rad about +z from +x)."""
    return _rotation_z(heading + math.pi / 2) @ _Y_UP_TO_Z_UP


class FootprintBaseline:
    """Per-track state and the per-frame estimate; one instance serves every track of a mat."""

    def __init__(self, rest_joints: np.ndarray, foot: FootGeometry, geometry: MatGeometry,
                 betas: np.ndarray | None = None) -> None:
        """rest_joints: (24, 3) of the body for ``betas`` (default: the mean shape)."""
        self.rest_joints = np.asarray(rest_joints, dtype=np.float64)
        self.foot = foot
        self.geometry = geometry
        self.betas = np.zeros(10) if betas is None else np.asarray(betas, dtype=np.float64)
        self.tracks: dict[int, _TrackMemory] = {}

    def drop(self, track_id: int) -> None:
        self.tracks.pop(track_id, None)

    def rename(self, old_id: int, new_id: int) -> None:
        """The track `old_id` goes on as `new_id` (its memory with it); whatever `new_id` had is replaced."""
        if old_id in self.tracks:
            self.tracks[new_id] = self.tracks.pop(old_id)

    def place(self, track_id: int, crop: np.ndarray, crop_origin: tuple[int, int], heading: float | None,
              stamp: float) -> Placement | None:
        """This track's feet, pelvis and arms for this frame (its memory moves on), or None while it has no
        footprint and no memory of one."""
        memory = self.tracks.setdefault(track_id, _TrackMemory())
        feet = find_footprints(crop, crop_origin, self.geometry)
        heading = self._heading(memory, feet, heading, stamp)
        if heading is None:
            return None
        forward = np.array([math.cos(heading), math.sin(heading)])
        left_dir = np.array([-forward[1], forward[0]])
        stance = self._assign_sides(memory, feet, forward, left_dir)
        if not stance and not memory.last_stance:
            return None

        ankles: dict[str, np.ndarray] = {}
        foot_orientations: dict[str, np.ndarray] = {}
        foot_rolls: dict[str, float] = {}
        for side, foot in stance.items():
            axis_sign = 1 if foot.axis @ forward >= 0 else -1  # +1: the footprint's axis points forward
            direction = axis_sign * foot.axis
            xy = foot.centre - direction * self.foot.ankle_behind_centre
            ankles[side] = np.array([xy[0], xy[1], self.foot.ankle_height])
            # Centre of pressure ahead of the middle: heel lifting (toe-off); behind: toes up (heel strike).
            foot_rolls[side] = FOOT_ROLL_RAD * np.clip(2 * foot.cop_along * axis_sign, -1, 1)
            foot_orientations[side] = body_orientation(math.atan2(direction[1], direction[0]))
            memory.last_stance[side] = xy
            memory.last_contact[side] = stamp
        for side in _SIDES:
            if side in ankles or side not in memory.last_stance:
                continue
            ankles[side] = self._swing_ankle(memory, side, stance, forward, left_dir, stamp)
            foot_orientations[side] = body_orientation(heading)
        if len(ankles) == 1:  # never seen the other foot: stand it beside the known one
            (side, ankle), = ankles.items()
            other = "right" if side == "left" else "left"
            hip_width = abs(self.rest_joints[_JOINT["left_hip"], 0] - self.rest_joints[_JOINT["right_hip"], 0])
            offset = left_dir * hip_width * (1 if other == "left" else -1)
            ankles[other] = ankle + np.array([offset[0], offset[1], 0.0])
            foot_orientations[other] = body_orientation(heading)

        # Weight shifts towards the loaded foot: the pelvis sits over the stance side in single support.
        shares = {side: stance[side].force_share if side in stance else 0.0 for side in _SIDES}
        total = shares["left"] + shares["right"]
        weight_left = 0.5 if total == 0 else 0.3 + 0.4 * shares["left"] / total
        pelvis_xy = weight_left * ankles["left"][:2] + (1 - weight_left) * ankles["right"][:2]
        pelvis = np.array([*pelvis_xy, self.foot.pelvis_height * KNEE_SOFTENING])
        # Arms hang down and swing against the legs: left arm forward when the right foot is ahead.
        step = (ankles["right"][:2] - ankles["left"][:2]) @ forward
        arm_swing = ARM_SWING_RAD * float(np.clip(step / 0.35, -1, 1))
        return Placement(heading, np.stack([ankles[side] for side in _SIDES]),
                         np.stack([foot_orientations[side] for side in _SIDES]),
                         (foot_rolls.get("left"), foot_rolls.get("right")), pelvis, arm_swing, 0.3 + 0.2 * len(stance))

    def pose_bodies(self, placements: dict[int, Placement]) -> dict[int, BodyEstimate]:
        """Bodies of one frame's placed people (track id -> Placement), solved together: one rotation
        conversion, one IK for all legs and one forward kinematics per frame, not per person (for a few
        bodies, the numpy calls' overhead is the cost, not their arithmetic)."""
        if not placements:
            return {}
        people = list(placements.values())
        count = len(people)
        # The T-pose arm lowered about the forward axis, then swung about the lateral axis (-x: forward).
        arm_swings = np.zeros((count, 2, 3))
        arm_swings[:, 0, 0] = [-p.arm_swing for p in people]
        arm_swings[:, 1, 0] = [p.arm_swing for p in people]
        arms = axis_angle_to_matrix(arm_swings) @ _ARM_DROPS
        roots = np.stack([body_orientation(p.heading) for p in people])
        root_and_arms = matrix_to_axis_angle(np.concatenate([roots[:, None], arms], axis=1))
        pose = np.zeros((count, 72))
        pose[:, :3] = root_and_arms[:, 0]
        for row, side in enumerate(_SIDES, start=1):
            shoulder = 3 * _JOINT[f"{side}_shoulder"]
            pose[:, shoulder: shoulder + 3] = root_and_arms[:, row]
        transl = np.stack([p.pelvis for p in people]) - self.rest_joints[0]
        pose = solve_legs_ik(self.rest_joints, pose, transl, np.stack([p.ankles for p in people]),
                             self._foot_rotations(people))
        joints, rotations = forward_kinematics(self.rest_joints, pose, transl)
        return {track_id: BodyEstimate(self.betas.copy(), pose[i], transl[i], joints[i], rotations[i], p.confidence)
                for i, (track_id, p) in enumerate(placements.items())}

    @staticmethod
    def _foot_rotations(people: list[Placement]) -> np.ndarray:
        """(people, 2, 3, 3) ankle global rotations: each loaded foot's orientation rolled about its lateral axis."""
        rotations = np.stack([p.foot_orientations for p in people])
        rolled = [(person, side, roll) for person, p in enumerate(people) for side, roll in enumerate(p.foot_rolls)
                  if roll is not None]
        if rolled:
            persons, sides, rolls = zip(*rolled)
            roll_axis_angles = np.zeros((len(rolls), 3))
            roll_axis_angles[:, 0] = rolls
            rotations[persons, sides] = rotations[persons, sides] @ axis_angle_to_matrix(roll_axis_angles)
        return rotations

    def _heading(self, memory: _TrackMemory, feet: list[Footprint], heading: float | None,
                 stamp: float) -> float | None:
        """The tracker's heading when it has one. Else the direction the feet have travelled over the last
        second, when they travelled far enough to tell; else the foot axis closest to the last heading."""
        if heading is not None and math.isfinite(heading):
            memory.heading = heading
            return heading
        if feet:
            centre = np.average([f.centre for f in feet], axis=0, weights=[f.force_share for f in feet])
            memory.path = [(t, c) for t, c in memory.path if stamp - t <= PATH_WINDOW_S] + [(stamp, centre)]
            travelled = memory.path[-1][1] - memory.path[0][1]
            if np.linalg.norm(travelled) >= MIN_TRAVEL_M:
                memory.heading = math.atan2(travelled[1], travelled[0])
                return memory.heading
            axis = feet[0].axis
            candidate = math.atan2(axis[1], axis[0])
            if memory.heading is not None and math.cos(candidate - memory.heading) < 0:
                candidate = math.atan2(-axis[1], -axis[0])
            memory.heading = candidate
        return memory.heading

    def _assign_sides(self, memory: _TrackMemory, feet: list[Footprint], forward: np.ndarray,
                      left_dir: np.ndarray) -> dict[str, Footprint]:
        if len(feet) == 2:
            a, b = feet
            return {"left": a, "right": b} if (a.centre - b.centre) @ left_dir > 0 else {"left": b, "right": a}
        if len(feet) == 1:
            foot = feet[0]
            if memory.last_stance:  # the foot that was nearest here last time
                side = min(memory.last_stance, key=lambda s: np.linalg.norm(memory.last_stance[s] - foot.centre))
                if len(memory.last_stance) == 2:
                    return {side: foot}
                # Only one side known: the same side if it is still near its footprint, else the other.
                if np.linalg.norm(memory.last_stance[side] - foot.centre) < 0.5 * foot.length:
                    return {side: foot}
                return {("right" if side == "left" else "left"): foot}
            return {"left": foot}
        return {}

    def _swing_ankle(self, memory: _TrackMemory, side: str, stance: dict[str, Footprint], forward: np.ndarray,
                     left_dir: np.ndarray, stamp: float) -> np.ndarray:
        progress = float(np.clip((stamp - memory.last_contact[side]) / SWING_DURATION_S, 0.0, 1.0))
        start = memory.last_stance[side]
        other = "right" if side == "left" else "left"
        if other in memory.last_stance:
            support = memory.last_stance[other]
            # Land as far ahead of the support foot as it was behind it, keeping the lateral gap.
            behind = (support - start) @ forward
            lateral = (start - support) @ left_dir
            landing = support + forward * max(behind, 0.0) + left_dir * lateral
        else:
            landing = start
        xy = (1 - progress) * start + progress * landing
        lift = SWING_CLEARANCE_M * math.sin(math.pi * progress) if other in stance else 0.0
        return np.array([xy[0], xy[1], self.foot.ankle_height + lift])
