"""Body shapes of simulated people: betas for a sampled stature, and the foot geometry the gait needs."""
from __future__ import annotations

import numpy as np
import torch

from presstrack_body.model import BodyModel

from .gait import ANKLE, TOE, SIDES, BodyGeometry, heel_pivot_point

HEIGHT_RANGE_M = (1.50, 1.90)
MASS_RANGE_KG = (40.0, 100.0)
BODY_DENSITY = 1010.0  # kg/m^3, whole human body


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
                        toe_mask=(toes[0], toes[1]), heel_pivot=(heels[0], heels[1]), height=height, mass=mass)


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
            stature = _stature(model, betas)
            slope = 0.1  # m per unit of beta 0, refined by the secant steps
            for _ in range(4):
                betas[0] += (target - stature) / slope
                new_stature = _stature(model, betas)
                if abs(new_stature - stature) > 1e-6:
                    slope = float(np.clip((new_stature - stature) / ((target - stature) / slope), 0.02, 0.5))
                stature = new_stature
                if abs(stature - target) < 0.002:
                    break
            if abs(stature - target) > 0.01 or abs(betas[0]) > 4.0:
                continue
            body = body_geometry(model, betas)
            if MASS_RANGE_KG[0] <= body.mass <= MASS_RANGE_KG[1]:
                return body
    raise ValueError(f"could not find a body of height {target:.2f} m with a mass in {MASS_RANGE_KG} kg")


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
