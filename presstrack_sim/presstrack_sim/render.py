"""Picture of a simulated frame: the pressure image with boxes and ids beside the posed meshes on the mat."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from mpl_toolkits.mplot3d.art3d import Poly3DCollection  # noqa: E402

from presstrack_common.mat_geometry import MatGeometry  # noqa: E402

_COLOURS = ("tab:red", "tab:orange", "tab:cyan", "tab:pink", "tab:olive")


def render_frame(path: str | Path, pressure: np.ndarray, boxes: np.ndarray, ids: np.ndarray, vertices: np.ndarray,
                 faces: np.ndarray, mat: MatGeometry, title: str = "", max_faces: int = 20000) -> Path:
    """Write a PNG: pressure (rows, cols) kPa with boxes (P, 4) x1,y1,x2,y2 in cells labelled by ids (P,), and the
    P posed meshes (P, V, 3) world with `faces` (F, 3) over the mat outline. Returns the path."""
    path = Path(path)
    figure = plt.figure(figsize=(11, 6.5))
    image_axes = figure.add_subplot(1, 2, 1)
    shown = image_axes.imshow(pressure, cmap="viridis", origin="upper", interpolation="nearest")
    figure.colorbar(shown, ax=image_axes, fraction=0.04, label="pressure (kPa)")
    for slot, (box, person_id) in enumerate(zip(boxes, ids)):
        x1, y1, x2, y2 = box
        colour = _COLOURS[slot % len(_COLOURS)]
        image_axes.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor=colour, lw=1.5))
        image_axes.text(x1 - 0.5, y1 - 2, f"id {person_id}", color=colour, fontsize=9, va="bottom")
    image_axes.set_xlabel("column")
    image_axes.set_ylabel("row")
    image_axes.set_title("pressure mat")

    mesh_axes = figure.add_subplot(1, 2, 2, projection="3d")
    step = max(1, len(faces) // max_faces)
    for slot, body in enumerate(vertices):
        triangles = body[faces[::step]]
        mesh_axes.add_collection3d(Poly3DCollection(triangles, facecolor=_COLOURS[slot % len(_COLOURS)],
                                                    edgecolor="none", alpha=0.85))
    corners = mat.corners_world()[[0, 1, 3, 2, 0]]
    mesh_axes.plot(corners[:, 0], corners[:, 1], np.zeros(len(corners)), color="k", lw=1)
    everything = np.concatenate([np.concatenate([c, np.zeros((len(c), 1))], 1) for c in [corners]]
                                + [v.reshape(-1, 3) for v in vertices])
    centre = (everything.max(axis=0) + everything.min(axis=0)) / 2
    radius = (everything.max(axis=0) - everything.min(axis=0)).max() / 2
    mesh_axes.set_xlim(centre[0] - radius, centre[0] + radius)
    mesh_axes.set_ylim(centre[1] - radius, centre[1] + radius)
    mesh_axes.set_zlim(0, 2 * radius)
    mesh_axes.set_box_aspect((1, 1, 1))
    mesh_axes.view_init(elev=20, azim=-60)
    mesh_axes.set_xlabel("x (m)")
    mesh_axes.set_ylabel("y (m)")
    mesh_axes.set_zlabel("z (m)")
    mesh_axes.set_title("ground-truth bodies (world)")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
