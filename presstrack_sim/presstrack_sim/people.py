"""Body shapes of simulated people: betas for a sampled stature, and the foot geometry the gait needs."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from presstrack_body.model import BodyModel

from presstrack_body import kinematics

from .body_overlap import penetration_depth, vertex_normals
from .gait import (ANKLE, ARM_DROP, JOINT, TOE, SIDES, BodyGeometry, cadence_steps_per_min, heel_pivot_point,
                   synthesise_gait)
from .scenario import AVOID_SPEEDS, PLAN_DT, REFERENCE_LEG_M, SPEED_RANGE, BodyFootprint, MotionPlan, WalkerBody

HEIGHT_RANGE_M = (1.50, 1.90)
MASS_RANGE_KG = (40.0, 100.0)
BODY_DENSITY = 1010.0  # kg/m^3, whole human body
VARIED_HEIGHT_M = (1.0, 2.0)  # what sample_varied_body can make of the embedded body (beta 0 from about -6 to +3)
VARIED_BMI = (14.0, 40.0)
CHILD_HEIGHT_M = 1.5
CHILD_MAX_BMI = 24.0
# A person's walking style, drawn per person: step width (heel centres across the walking line) over stature, and
# the angle each foot points out of the heading (foot progression angle about 5-13 degrees in healthy adults).
STEP_WIDTH_RATIO = (0.035, 0.075)  # 6-13 cm at 1.72 m
TOE_OUT_DEG = (3.0, 14.0)
# ... and how much they vary step to step (SD): step width 1.5-3.5 cm (Owings & Grabiner 2004, healthy adults on a
# treadmill, as quoted in the realism report), toe-out 1.5-3.5 degrees (our assumption: no published norm found).
STEP_WIDTH_SD_M = (0.015, 0.035)
TOE_OUT_SD_DEG = (1.5, 3.5)
# Arms hang as close to the body as its hips allow: the first of these drops (deg from the T-pose) that keeps the
# forearms and hands within ARM_CLEARANCE_M of the trunk's surface (ARM_DROP, 70 deg, the widest).
ARM_DROPS_DEG = (84.0, 81.0, 78.0, 75.0, 72.0)
ARM_CLEARANCE_M = 0.003
FOREARM_JOINTS = ("left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand")
TRUNK_JOINTS = ("pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2")
FOOTPRINT_FRAME_S = 0.1  # s between the frames of the measuring walk
FOOTPRINT_POSE_S = 0.2  # s between the poses a body's footprint is taken from (six over a gait cycle)
FOOTPRINT_WALK_S = (1.5, 2.7)  # s of the measuring walk whose poses count: a whole gait cycle, after the start
WALKER_SLOW_SHARE = float(AVOID_SPEEDS[1])  # the slow walk a body's footprint is also taken at: the steering's
# slowed-down speed, at which people let others pass close
BMI_BETA = 3  # the embedded body's beta that changes girth most at a fixed stature (+3: BMI 23 -> 35)


def mesh_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Enclosed volume (m^3) of a closed triangle mesh (V, 3), (F, 3), by the divergence theorem."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return float(abs(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0)


def _rest_mesh(model: BodyModel, betas: np.ndarray) -> np.ndarray:
    return model.rest_vertices(betas[None])[0].double().numpy()


def body_geometry(model: BodyModel, betas: np.ndarray) -> BodyGeometry:
    """BodyGeometry of the shaped body: rest joints, sole points split at the toe joint, height, mass."""
    betas = np.asarray(betas, dtype=float)
    if betas.shape != (model.num_betas,):
        raise ValueError(f"betas must have shape ({model.num_betas},), got {betas.shape}")
    vertices = _rest_mesh(model, betas)
    joints = model.rest_joints(betas[None])[0].double().numpy()
    soles, toes, heels = [], [], []
    for side, name in enumerate(SIDES):
        points = vertices[model.sole_vertex_ids(name)]
        toe_mask = points[:, 2] > joints[TOE[side], 2]  # ahead of the ball of the foot: moved by the toe joint
        soles.append(points)
        toes.append(toe_mask)
        heels.append(heel_pivot_point(points, toe_mask, joints[ANKLE[side]]))
    height = float(vertices[:, 1].max() - vertices[:, 1].min())
    mass = BODY_DENSITY * mesh_volume(vertices, model.faces)
    return BodyGeometry(betas=betas, rest_joints=joints, sole_points=(soles[0], soles[1]),
                        toe_mask=(toes[0], toes[1]), heel_pivot=(heels[0], heels[1]), height=height, mass=mass,
                        arm_drop=arm_drop(model, betas))


def arm_drop(model: BodyModel, betas: np.ndarray) -> float:
    """How far (rad) the arms of the shaped body hang down from the T-pose: the first of ARM_DROPS_DEG whose
    forearms and hands stay clear of the trunk (a heavy body's hips hold the arms out), else ARM_DROP."""
    drops = np.deg2rad(ARM_DROPS_DEG)
    pose = np.zeros((len(drops), kinematics.POSE_DIM))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        shoulder, elbow = JOINT[f"{side}_shoulder"], JOINT[f"{side}_elbow"]
        pose[:, 3 * shoulder + 2] = -sign * drops  # about the body's forward axis: down from the T-pose
        pose[:, 3 * elbow + 1] = -sign * np.deg2rad(15.0)  # the standing elbow bend of gait.py
    part = model.dominant_joints()
    forearm = np.isin(part, [JOINT[name] for name in FOREARM_JOINTS])
    trunk = np.isin(part, [JOINT[name] for name in TRUNK_JOINTS])
    faces = np.asarray(model.faces)
    for drop, drop_pose in zip(drops, pose):  # one at a time: most bodies take the first
        with torch.no_grad():
            vertices, _ = model.pose_body(betas, drop_pose[None], np.zeros((1, 3)))
        posed = vertices[0].double().numpy()
        normals = vertex_normals(posed, faces)
        if penetration_depth(posed[trunk], normals[trunk], posed[forearm]) <= ARM_CLEARANCE_M:
            return float(drop)
    return float(ARM_DROP)


def sample_body(model: BodyModel, rng: np.random.Generator, height: float | None = None) -> BodyGeometry:
    """A random adult body with stature in HEIGHT_RANGE_M (or `height`) and mass in MASS_RANGE_KG.

    Betas 1..9 are drawn from N(0, 0.8^2); beta 0 is then solved (secant steps) for the stature, and shapes whose
    mass (mesh volume x body density) falls outside the range are drawn again.
    """
    target = float(rng.uniform(*HEIGHT_RANGE_M)) if height is None else float(height)
    if not HEIGHT_RANGE_M[0] - 0.1 <= target <= HEIGHT_RANGE_M[1] + 0.1:
        raise ValueError(f"body height {target:.2f} m is outside the simulated range {HEIGHT_RANGE_M}")
    with torch.no_grad():
        for _ in range(100):
            betas = np.zeros(model.num_betas)
            betas[1:] = rng.normal(0.0, 0.8, model.num_betas - 1)
            stature = _solve_beta(betas, 0, target, lambda b: _stature(model, b), 0.1, (0.02, 0.5), 0.002)
            if abs(stature - target) > 0.01 or abs(betas[0]) > 4.0:
                continue
            body = body_geometry(model, betas)
            if MASS_RANGE_KG[0] <= body.mass <= MASS_RANGE_KG[1]:
                return body
    raise ValueError(f"could not find a body of height {target:.2f} m with a mass in {MASS_RANGE_KG} kg")


@dataclass(frozen=True)
class BodyRanges:
    """Statures and body-mass indices to draw people from (`sample_varied_body`). Defaults: children from 1.0 m to
    tall adults, underweight to obese (BMI 16-40, WHO classes); a child (under CHILD_HEIGHT_M) is drawn with a BMI of
    at most CHILD_MAX_BMI (children's BMI centiles stay below about 24 up to age 12, WHO growth references)."""

    height_range: tuple[float, float] = (1.0, 2.0)
    bmi_range: tuple[float, float] = (16.0, 40.0)

    def __post_init__(self) -> None:
        if not VARIED_HEIGHT_M[0] <= self.height_range[0] <= self.height_range[1] <= VARIED_HEIGHT_M[1]:
            raise ValueError(f"heights must lie in {VARIED_HEIGHT_M} m, got {self.height_range}")
        if not VARIED_BMI[0] <= self.bmi_range[0] <= self.bmi_range[1] <= VARIED_BMI[1]:
            raise ValueError(f"BMI must lie in {VARIED_BMI}, got {self.bmi_range}")


def sample_varied_body(model: BodyModel, rng: np.random.Generator, ranges: BodyRanges) -> BodyGeometry:
    """A body of a stature and BMI drawn from `ranges`: beta 0 solved for the stature and beta BMI_BETA for the
    BMI, in turn; the other betas drawn from N(0, 0.8^2) as for `sample_body`.

    The embedded body's shape space is an adult's: below 1.5 m it is an adult body scaled down (beta 0 extrapolated),
    with adult proportions (a real child's head and feet are relatively larger).
    """
    with torch.no_grad():
        for _ in range(100):
            height = float(rng.uniform(*ranges.height_range))
            high_bmi = min(ranges.bmi_range[1], CHILD_MAX_BMI) if height < CHILD_HEIGHT_M else ranges.bmi_range[1]
            bmi = float(rng.uniform(ranges.bmi_range[0], max(ranges.bmi_range[0], high_bmi)))
            betas = np.zeros(model.num_betas)
            betas[1:] = rng.normal(0.0, 0.8, model.num_betas - 1)
            betas[BMI_BETA] = 0.0
            for _ in range(3):
                stature = _solve_beta(betas, 0, height, lambda b: _stature(model, b), 0.1, (0.02, 0.5), 0.002)
                body_bmi = _solve_beta(betas, BMI_BETA, bmi, lambda b: _bmi(model, b), 4.0, (0.5, 20.0), 0.1)
            if abs(stature - height) > 0.01 or abs(body_bmi - bmi) > 0.5 or np.abs(betas[[0, BMI_BETA]]).max() > 8:
                continue
            return body_geometry(model, betas)
    raise ValueError(f"could not find a body in {ranges}")


def _solve_beta(betas: np.ndarray, index: int, target: float, measure, slope: float, slope_range: tuple[float, float],
                tolerance: float) -> float:
    """Secant steps on betas[index] (in place) until measure(betas) is within tolerance of target; returns the
    last measure."""
    value = measure(betas)
    for _ in range(4):
        betas[index] += (target - value) / slope
        new_value = measure(betas)
        if abs(new_value - value) > 1e-6:
            slope = float(np.clip((new_value - value) / ((target - value) / slope), *slope_range))
        value = new_value
        if abs(value - target) < tolerance:
            break
    return value


def _bmi(model: BodyModel, betas: np.ndarray) -> float:
    vertices = _rest_mesh(model, betas)
    height = float(vertices[:, 1].max() - vertices[:, 1].min())
    return BODY_DENSITY * mesh_volume(vertices, model.faces) / height ** 2


def _stature(model: BodyModel, betas: np.ndarray) -> float:
    vertices = _rest_mesh(model, betas)
    return float(vertices[:, 1].max() - vertices[:, 1].min())


def sole_vertex_areas(vertices: np.ndarray, faces: np.ndarray, vertex_ids: np.ndarray) -> np.ndarray:
    """(K,) m^2 of floor each sole vertex stands for: a third of the downward-facing faces around it, projected
    on the floor (rest frame, y up). vertices (V, 3), faces (F, 3), vertex_ids (K,)."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    downward = -0.5 * np.cross(b - a, c - a)[:, 1]  # projected area of faces whose normal points down
    per_vertex = np.zeros(len(vertices))
    for k in range(3):
        np.add.at(per_vertex, faces[:, k], np.maximum(downward, 0.0) / 3.0)
    return per_vertex[vertex_ids]


def walking_style(body: BodyGeometry, rng: np.random.Generator) -> BodyGeometry:
    """`body` with its own step width and toe-out drawn from STEP_WIDTH_RATIO and TOE_OUT_DEG, and their
    step-to-step spread from STEP_WIDTH_SD_M and TOE_OUT_SD_DEG."""
    return replace(body, step_width_ratio=float(rng.uniform(*STEP_WIDTH_RATIO)),
                   toe_out=float(np.deg2rad(rng.uniform(*TOE_OUT_DEG))),
                   step_width_sd=float(rng.uniform(*STEP_WIDTH_SD_M)),
                   toe_out_sd=float(np.deg2rad(rng.uniform(*TOE_OUT_SD_DEG))))


def body_footprint(model: BodyModel, body: BodyGeometry, speed: float = SPEED_RANGE[1]) -> BodyFootprint:
    """The floor plan `body` takes up: the convex hull, about its centre of mass, of its posed mesh standing and
    over a gait cycle at `speed` m/s (default: the fastest preferred walking speed of the reference leg, the
    longest strides and widest arm swing)."""
    points, heights = _footprint_walk(model, body, speed)
    return BodyFootprint.of_points(points.reshape(-1, 2), heights.ravel())


def walker_body(model: BodyModel, body: BodyGeometry) -> WalkerBody:
    """What the crowd steering knows of `body`: its footprints standing, at WALKER_SLOW_SHARE of its fastest
    preferred speed and at that speed (SPEED_RANGE scaled to its legs), and its leg length."""
    leg = body.leg_length
    fastest = SPEED_RANGE[1] * float(np.sqrt(leg / REFERENCE_LEG_M))
    slow_points, slow_heights = _footprint_walk(model, body, WALKER_SLOW_SHARE * fastest)
    fast_points, fast_heights = _footprint_walk(model, body, fastest)
    footprints = [BodyFootprint.of_points(slow_points[0], slow_heights[0]),  # the first pose stands
                  BodyFootprint.of_points(slow_points.reshape(-1, 2), slow_heights.ravel()),
                  BodyFootprint.of_points(fast_points.reshape(-1, 2), fast_heights.ravel())]
    # Across the body, each takes the widest of the three (arms hang at the sides at any speed, within 1-4 cm): only
    # a stride's length grows with speed, so speeding up beside someone never presses into them.
    boxes = np.stack([footprint.boxes for footprint in footprints])  # (3, C, 5)
    right, left = (boxes[..., 1] - boxes[..., 3]).min(axis=0), (boxes[..., 1] + boxes[..., 3]).max(axis=0)
    boxes[..., 1], boxes[..., 3] = (left + right) / 2, (left - right) / 2
    return WalkerBody((0.0, WALKER_SLOW_SHARE * fastest, fastest),
                      tuple(BodyFootprint(b, footprints[0].bands) for b in boxes), leg)


def _footprint_walk(model: BodyModel, body: BodyGeometry, speed: float) -> tuple[np.ndarray, np.ndarray]:
    """Floor points (F, V, 2) about the centre of mass, in the body's frame (x forward, y left), and heights (F, V)
    m of `body`'s posed mesh: standing (the first pose), then every FOOTPRINT_POSE_S over a whole gait cycle of a
    steady walk at `speed` m/s."""
    cycle = 2 * 60.0 / float(cadence_steps_per_min(speed, body.height))  # s of one gait cycle
    walk_start = FOOTPRINT_WALK_S[0]
    walk_end = walk_start + max(cycle, FOOTPRINT_WALK_S[1] - walk_start)
    plan_times = np.arange(0.0, walk_end + 2.0, PLAN_DT)
    walking = plan_times >= 0.5
    com = np.stack([speed * np.maximum(plan_times - 0.5, 0.0), np.zeros_like(plan_times)], axis=1)
    plan = MotionPlan(plan_times, com, np.zeros_like(plan_times), walking, np.where(walking, speed, 0.0), speed)
    times = np.arange(0.0, walk_end, FOOTPRINT_FRAME_S)
    track = synthesise_gait(plan, body, times)
    posed = np.isclose((times - walk_start) / FOOTPRINT_POSE_S, np.round((times - walk_start) / FOOTPRINT_POSE_S))
    frames = np.flatnonzero((times == 0.0) | ((times >= walk_start - 1e-9) & posed))
    with torch.no_grad():
        vertices, _ = model.pose_body(body.betas, track.pose[frames], track.transl[frames])
    # The plan faces +x (the body's forward) and its left is +y: world xy about the centre of mass is the body frame.
    vertices = vertices.double().numpy()
    points = vertices[..., :2] - np.stack([np.interp(times[frames], plan_times, com[:, k]) for k in range(2)],
                                          axis=1)[:, None]
    return points, vertices[..., 2]
