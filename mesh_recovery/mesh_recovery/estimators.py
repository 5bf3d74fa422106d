"""The backends the node can run, behind one per-frame interface.

``update_frame(people: list[PersonInput]) -> {track_id: BodyEstimate}`` for the people of one mat
frame, ``drop(track_id)`` when a track ends, ``set_geometry(geometry)`` when /mat/info changes.

A person renamed by the tracker (a newcomer's provisional id replaced once they are recognised as someone who
had left: `PersonInput.renamed_from`) keeps what the backend holds of them, the learned backend's temporal
window and the footprint backend's memory (heading, path, last stances), under the new id: their body goes
on smoothly instead of starting over. The tracker announces a rename in one frame only; `PendingRenames` carries it
on the frames after it until a frame that holds it reaches the backend, as the node skips frames when busy.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import numpy as np

from presstrack_body.kinematics import forward_kinematics
from presstrack_body.model import BodyModel
from mesh_recovery.footprint_baseline import BodyEstimate, FootprintBaseline, foot_geometry
from presstrack_common.mat_geometry import MatGeometry
from presstrack_common.mip_format import normalise_kpa


@dataclass(frozen=True)
class PersonInput:
    track_id: int
    crop: np.ndarray                       # (S, S) float32 kPa, only this person's cells
    crop_origin: tuple[int, int]           # mat cell (row, col) of crop pixel (0, 0)
    box: tuple[int, int, int, int]         # x1, y1, x2, y2 cells, exclusive ends
    heading: float | None                  # [rad] walking direction in the world frame, None if unknown
    stamp: float                           # [s]
    renamed_from: int = 0                  # the id this person had until now (the tracker renamed them); 0: none


def renames(people: list[PersonInput]) -> list[tuple[int, int]]:
    """(old id, new id) of the people of a frame whom the tracker renamed."""
    return [(p.renamed_from, p.track_id) for p in people if p.renamed_from and p.renamed_from != p.track_id]


class PendingRenames:
    """Renames announced to a consumer that may skip frames (the node's worker takes the newest frame when
    busy): `carry` stamps each frame, as it arrives, with every rename of its people not yet applied;
    `applied` is told of each frame the backend took. Renaming is idempotent in the backends (an old id they do
    not hold renames nothing), so a rename carried once more than needed is harmless. Thread-safe: frames arrive
    on one thread, are processed on another."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._old_id: dict[int, int] = {}   # new id -> the id the backend may still hold them under

    def carry(self, people: list[PersonInput]) -> list[PersonInput]:
        """`people` with `renamed_from` set for each person renamed in this frame or in a frame that may have
        been skipped. A rename whose new id is absent from a frame is forgotten: a backend that takes that frame
        ends the person anyway."""
        with self._lock:
            carried = {}
            for person in people:
                old_id = self._old_id.get(person.track_id, 0)
                if person.renamed_from and person.renamed_from != person.track_id:
                    # Renamed twice before the first reached the backend: it holds them under the first id.
                    old_id = self._old_id.get(person.renamed_from, person.renamed_from)
                if old_id:
                    carried[person.track_id] = old_id
            self._old_id = carried
            return [replace(person, renamed_from=carried[person.track_id]) if person.track_id in carried else person
                    for person in people]

    def applied(self, people: list[PersonInput]) -> None:
        """The backend took this frame: its renames are done."""
        with self._lock:
            for person in people:
                if person.renamed_from and self._old_id.get(person.track_id) == person.renamed_from:
                    del self._old_id[person.track_id]


class FootprintEstimator:
    """The training-free backend, for the mean body shape of the loaded body model."""

    def __init__(self, body_model: BodyModel, geometry: MatGeometry) -> None:
        betas = np.zeros((1, body_model.num_betas), dtype=np.float32)
        rest_joints = body_model.rest_joints(betas)[0].cpu().numpy()
        rest_vertices = body_model(betas, np.zeros((1, 72)), np.zeros((1, 3)))[0][0].cpu().numpy()
        foot = foot_geometry(rest_vertices, rest_joints, body_model.sole_vertex_ids("left"))
        self.baseline = FootprintBaseline(rest_joints, foot, geometry, betas[0])

    def update_frame(self, people: list[PersonInput]) -> dict[int, BodyEstimate]:
        for old_id, new_id in renames(people):
            self.baseline.rename(old_id, new_id)
        placements = {}
        for person in people:
            placement = self.baseline.place(person.track_id, person.crop, person.crop_origin, person.heading,
                                            person.stamp)
            if placement is not None:
                placements[person.track_id] = placement
        return self.baseline.pose_bodies(placements)

    def drop(self, track_id: int) -> None:
        self.baseline.drop(track_id)

    def set_geometry(self, geometry: MatGeometry) -> None:
        self.baseline.geometry = geometry


class LearnedEstimator:
    """The paper's network with a per-track feature cache; one batched encoder pass and one batched head pass
    per mat frame for all its people, on the inference path ``prepare_inference`` picks (see hmr/inference.py).

    A person whose crop holds no pressure (a lost track: its feet went unseen this frame) does not enter
    the network's window, where an empty crop would read as nobody standing there; their last body is
    held until their feet are seen again or the track is dropped.
    """

    def __init__(self, checkpoint: str, body_model: BodyModel, geometry: MatGeometry, window: int,
                 output_mode: str, inference_path: str = "auto", device: str = "cpu") -> None:
        from mesh_recovery.hmr.checkpoint import load_network  # torch network: only for this backend
        from mesh_recovery.hmr.inference import prepare_inference
        from mesh_recovery.hmr.window import WindowBank

        # path_timings: ms per 3-person frame of every path timed by 'auto' (empty for a named path)
        self.inference, self.path_timings = prepare_inference(load_network(checkpoint)[0], inference_path, device)
        config = self.inference.config
        if config.window != window or config.mode != output_mode:
            raise ValueError(f"{checkpoint} was trained for window {config.window} in {config.mode} mode; "
                             f"the node asks for window {window} in {output_mode} mode")
        self.bank = WindowBank(self.inference)
        self.body_model = body_model
        self.geometry = geometry
        self.last_bodies: dict[int, BodyEstimate] = {}

    def update_frame(self, people: list[PersonInput]) -> dict[int, BodyEstimate]:
        from mesh_recovery.hmr.inputs import frame_numbers

        for old_id, new_id in renames(people):
            self.bank.rename(old_id, new_id)
            if old_id in self.last_bodies:
                self.last_bodies[new_id] = self.last_bodies.pop(old_id)
        corners = self.geometry.corners_world()
        inputs = {p.track_id: (normalise_kpa(p.crop), frame_numbers(np.asarray(p.box), self.geometry.rows,
                                                                   self.geometry.cols, corners))
                  for p in people if p.crop.any()}
        outputs = {track_id: out for track_id, out in self.bank.step_many(inputs).items() if out is not None}
        if outputs:
            track_ids = list(outputs)
            betas = np.stack([outputs[t].betas[0].cpu().numpy() for t in track_ids])
            pose = np.stack([outputs[t].pose[0].cpu().numpy() for t in track_ids]).astype(np.float64)
            transl = np.stack([outputs[t].transl[0].cpu().numpy() for t in track_ids]).astype(np.float64)
            rest_joints = self.body_model.rest_joints(betas).cpu().numpy()
            joints, rotations = forward_kinematics(rest_joints, pose, transl)
            self.last_bodies.update({t: BodyEstimate(betas[i], pose[i], transl[i], joints[i], rotations[i], 1.0)
                                     for i, t in enumerate(track_ids)})
        return {p.track_id: self.last_bodies[p.track_id] for p in people
                if p.track_id in outputs or (p.track_id not in inputs and p.track_id in self.last_bodies)}

    def drop(self, track_id: int) -> None:
        self.bank.remove(track_id)
        self.last_bodies.pop(track_id, None)

    def set_geometry(self, geometry: MatGeometry) -> None:
        self.geometry = geometry


def make_estimator(values: dict, body_model: BodyModel, geometry: MatGeometry):
    """The backend the node's parameters ask for; the learned one without a checkpoint uses the shipped one
    for its output mode (trained on simulated data)."""
    if values["backend"] == "footprint":
        return FootprintEstimator(body_model, geometry)
    from mesh_recovery.hmr.checkpoint import shipped_checkpoint

    checkpoint = values["checkpoint"] or str(shipped_checkpoint(values["output_mode"]))
    return LearnedEstimator(checkpoint, body_model, geometry, window=int(values["window"]),
                            output_mode=values["output_mode"], inference_path=values["inference_path"],
                            device=values["device"])
