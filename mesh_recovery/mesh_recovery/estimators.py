"""The backends the node can run, behind one per-track interface.

``update(track_id, crop, crop_origin, box, heading, stamp) -> BodyEstimate | None``, ``drop(track_id)``,
``set_geometry(geometry)``. ``heading`` is in the world frame (rad), ``stamp`` in seconds.
"""
from __future__ import annotations

import numpy as np

from mesh_recovery.body.model import BodyModel
from mesh_recovery.footprint_baseline import BodyEstimate, FootprintBaseline, foot_geometry
from presstrack_msgs.mat_geometry import MatGeometry


class FootprintEstimator:
    """The training-free backend, for the mean body shape of the loaded body model."""

    def __init__(self, body_model: BodyModel, geometry: MatGeometry) -> None:
        betas = np.zeros((1, body_model.num_betas), dtype=np.float32)
        rest_joints = body_model.rest_joints(betas)[0].cpu().numpy()
        rest_vertices = body_model(betas, np.zeros((1, 72)), np.zeros((1, 3)))[0][0].cpu().numpy()
        foot = foot_geometry(rest_vertices, rest_joints, body_model.sole_vertex_ids("left"))
        self.baseline = FootprintBaseline(rest_joints, foot, geometry, betas[0])

    def update(self, track_id: int, crop: np.ndarray, crop_origin: tuple[int, int],
               box: tuple[int, int, int, int], heading: float | None, stamp: float) -> BodyEstimate | None:
        return self.baseline.update(track_id, crop, crop_origin, heading, stamp)

    def drop(self, track_id: int) -> None:
        self.baseline.drop(track_id)

    def set_geometry(self, geometry: MatGeometry) -> None:
        self.baseline.geometry = geometry


def make_estimator(values: dict, body_model: BodyModel, geometry: MatGeometry):
    """The backend the node's parameters ask for."""
    if values["backend"] == "footprint":
        return FootprintEstimator(body_model, geometry)
    from mesh_recovery.learned_backend import LearnedEstimator  # torch network, only when asked for
    return LearnedEstimator(values["checkpoint"], body_model, geometry, window=int(values["window"]),
                            output_mode=values["output_mode"])
