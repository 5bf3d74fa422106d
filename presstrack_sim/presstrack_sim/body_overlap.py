"""How deep one posed body mesh lies inside another (or a limb inside its own trunk): a signed distance to the
nearest vertex of the other surface, along that vertex's outward normal, accurate for shallow overlaps."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

SURFACE_REACH_M = 0.15  # a vertex farther than this from the other mesh's nearest vertex is not inside it


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) area-weighted unit normals, pointing out of the closed mesh."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    face_normals = np.cross(b - a, c - a)
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    if np.einsum("ij,ij->i", a, face_normals).sum() < 0:  # winding inwards: flip
        normals = -normals
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def penetration_depth(inside_of: np.ndarray, normals: np.ndarray, points: np.ndarray) -> float:
    """Deepest (m) any of `points` (N, 3) lies inside the mesh with vertices `inside_of` (V, 3) and outward
    `normals`, judged against the nearest vertex (a signed distance accurate for shallow overlaps); 0 if none."""
    # Only the parts of the two surfaces within reach of each other's bounding boxes can meet.
    near_points = np.all((points >= inside_of.min(axis=0) - SURFACE_REACH_M)
                         & (points <= inside_of.max(axis=0) + SURFACE_REACH_M), axis=1)
    points = points[near_points]
    if len(points) == 0:
        return 0.0
    near_surface = np.flatnonzero(np.all((inside_of >= points.min(axis=0) - SURFACE_REACH_M)
                                         & (inside_of <= points.max(axis=0) + SURFACE_REACH_M), axis=1))
    distance, nearest = cKDTree(inside_of[near_surface]).query(points, distance_upper_bound=SURFACE_REACH_M)
    close = np.isfinite(distance)
    if not close.any():
        return 0.0
    nearest = near_surface[nearest[close]]
    depth = np.einsum("ij,ij->i", inside_of[nearest] - points[close], normals[nearest])
    return float(max(0.0, depth.max()))
