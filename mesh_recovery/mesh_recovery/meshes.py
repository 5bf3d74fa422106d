"""What RViz is sent of a body: a simplified mesh, decimated faces and a stable colour per track id."""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

GOLDEN_RATIO_CONJUGATE = 0.618033988749895


def decimated_faces(faces: np.ndarray, keep_every: int) -> np.ndarray:
    """Every ``keep_every``-th triangle of (F, 3) faces: a cheap way to cut RViz bandwidth."""
    if keep_every < 1:
        raise ValueError(f"keep_every must be >= 1, got {keep_every}")
    return np.ascontiguousarray(faces[::keep_every])


@dataclass(frozen=True)
class ClusteredMesh:
    """A body mesh simplified by vertex clustering: the vertices of each ``resolution``-sided cube of the
    rest mesh merge into one (their mean, per frame), and the faces that collapse are dropped. The
    topology is fixed once, so each frame costs one weighted sum of the full mesh's vertices."""

    cluster_of_vertex: np.ndarray  # (V,) cluster index of each full-mesh vertex
    vertex_counts: np.ndarray      # (C,) full-mesh vertices per cluster
    faces: np.ndarray              # (F', 3) triangles over the clusters, oriented as the full mesh's

    @classmethod
    def from_rest_mesh(cls, rest_vertices: np.ndarray, faces: np.ndarray, resolution: float) -> ClusteredMesh:
        if not resolution > 0:
            raise ValueError(f"resolution must be > 0 m, got {resolution}")
        cells = np.floor(np.asarray(rest_vertices, dtype=np.float64) / resolution).astype(np.int64)
        _, cluster_of_vertex, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
        cluster_of_vertex = cluster_of_vertex.ravel()
        merged = cluster_of_vertex[np.asarray(faces)]
        distinct = (merged[:, 0] != merged[:, 1]) & (merged[:, 1] != merged[:, 2]) & (merged[:, 0] != merged[:, 2])
        merged = merged[distinct]
        # Two faces over the same three clusters draw one triangle twice; keep the first, in its orientation.
        _, first = np.unique(np.sort(merged, axis=1), axis=0, return_index=True)
        return cls(cluster_of_vertex, counts, np.ascontiguousarray(merged[np.sort(first)]))

    def vertices(self, full_vertices: np.ndarray) -> np.ndarray:
        """(C, 3) cluster vertices: the mean of their full-mesh vertices in this pose."""
        full_vertices = np.asarray(full_vertices, dtype=np.float64)
        sums = np.stack([np.bincount(self.cluster_of_vertex, weights=full_vertices[:, k],
                                     minlength=len(self.vertex_counts)) for k in range(3)], axis=1)
        return sums / self.vertex_counts[:, None]


def id_colour(track_id: int, alpha: float = 0.9) -> tuple[float, float, float, float]:
    """(r, g, b, a) in [0, 1]: well separated hues for consecutive ids (golden-ratio steps round the wheel)."""
    hue = (track_id * GOLDEN_RATIO_CONJUGATE) % 1.0
    return (*colorsys.hsv_to_rgb(hue, 0.65, 0.95), alpha)
