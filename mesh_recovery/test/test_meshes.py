"""The simplified RViz mesh: vertex clustering keeps the body's shape and orientation with far fewer faces."""
from __future__ import annotations

import numpy as np

from mesh_recovery.meshes import ClusteredMesh


def sphere(subdivisions: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """A closed UV sphere of radius 1 with outward-facing triangles."""
    theta, phi = np.meshgrid(np.linspace(0.0, np.pi, subdivisions + 1), np.linspace(0.0, 2 * np.pi, subdivisions,
                                                                                    endpoint=False), indexing="ij")
    vertices = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], -1).reshape(-1, 3)
    faces = []
    for i in range(subdivisions):
        for j in range(subdivisions):
            a, b = i * subdivisions + j, i * subdivisions + (j + 1) % subdivisions
            c, d = a + subdivisions, b + subdivisions
            faces += [[a, c, b], [b, c, d]]
    return vertices, np.array(faces)


def test_clustering_merges_nearby_vertices_and_keeps_faces_outward():
    vertices, faces = sphere()
    mesh = ClusteredMesh.from_rest_mesh(vertices, faces, resolution=0.2)
    assert len(mesh.faces) < len(faces) / 4
    merged = mesh.vertices(vertices)
    assert merged.shape == (len(mesh.vertex_counts), 3)
    assert np.all(np.abs(np.linalg.norm(merged, axis=1) - 1.0) < 0.2)  # still on the sphere, within a cell
    triangles = merged[mesh.faces]
    normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    outward = np.einsum("ij,ij->i", normals, triangles.mean(axis=1))
    assert np.mean(outward > 0) > 0.95  # the full mesh's orientation survives the merge
    assert len({tuple(sorted(f)) for f in mesh.faces.tolist()}) == len(mesh.faces)  # no triangle drawn twice


def test_cluster_vertices_follow_the_posed_mesh():
    vertices, faces = sphere()
    mesh = ClusteredMesh.from_rest_mesh(vertices, faces, resolution=0.2)
    moved = vertices * 2.0 + np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(mesh.vertices(moved), mesh.vertices(vertices) * 2.0 + [1.0, -2.0, 0.5], atol=1e-12)
