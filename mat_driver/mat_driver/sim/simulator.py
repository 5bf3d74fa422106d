"""The crowd simulator: people with their own bodies walk a scenario on the mat; the mat measures their feet.

`Simulator(config).step()` yields one `SimFrame` at a time (the driver node publishes them live); `simulate_scene`
returns a whole recording as arrays (the MIP writer stores them). Everything is deterministic from `config.seed`.
Poses are planned for the whole episode up front (cheap); meshes and pressure are made in chunks of frames, with
one batched body-model call per person and chunk.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mesh_recovery.body.model import BodyModel

from .gait import SIDES, BodyGeometry, GaitTrack, synthesise_gait
from presstrack_msgs.mat_geometry import MatGeometry
from .mip_format import Scene
from .people import body_geometry, sample_body, sole_vertex_areas
from .pressure import Sensor, SensorModel, feet_pressure
from .scenario import SCENARIOS, plan_motion

FOOTPRINT_THRESHOLD_KPA = 0.5  # a cell belongs to a person's footprint above this true pressure


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. `people` None: the scenario's own count ('random': 1-5 drawn from the seed).
    `subjects`: optional betas (10,) of the people to use, in order (for disjoint train/test corpora);
    otherwise bodies are drawn from the seed. `model_path`: SMPL file or folder, None = default body."""

    scenario: str = "random"
    people: int | None = None
    seconds: float = 60.0
    fps: float = 15.0
    seed: int = 0
    mat: MatGeometry = field(default_factory=MatGeometry)
    sensor: SensorModel = field(default_factory=SensorModel)
    subjects: tuple[np.ndarray, ...] | None = None
    model_path: str | None = None
    chunk_frames: int = 60

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}; known: {', '.join(SCENARIOS)}")
        if not (np.isfinite(self.seconds) and self.seconds > 0):
            raise ValueError(f"seconds must be positive, got {self.seconds}")
        if not (np.isfinite(self.fps) and 1 <= self.fps <= 240):
            raise ValueError(f"fps must be in [1, 240], got {self.fps}")
        if self.chunk_frames < 1:
            raise ValueError(f"chunk_frames must be >= 1, got {self.chunk_frames}")

    @property
    def frames(self) -> int:
        return int(round(self.seconds * self.fps))


@dataclass
class SimPerson:
    """One person in one frame. box (4,) x1, y1, x2, y2 in cells (x = column, y = row; the cell edges enclosing the
    footprint); pose (72,), betas (10,), trans (3,) SMPL in the world; joints (24, 3) world; contact (2,) bool
    (left, right foot in stance); force (2,) N vertical on each foot."""

    id: int
    box: np.ndarray
    pose: np.ndarray
    betas: np.ndarray
    trans: np.ndarray
    joints: np.ndarray
    contact: np.ndarray
    force: np.ndarray


@dataclass
class SimFrame:
    """One mat frame: index, time s, pressure (rows, cols) float32 kPa as measured, and the people on the mat."""

    index: int
    time: float
    pressure: np.ndarray
    persons: list[SimPerson]


@dataclass
class _Person:
    id: int
    body: BodyGeometry
    gait: GaitTrack
    sole_ids: tuple[np.ndarray, np.ndarray]
    sole_areas: tuple[np.ndarray, np.ndarray]


@dataclass
class SceneChunk:
    """Frames [start, start + F) of an episode for P people (P-axis = person id).

    pressure (F, rows, cols) float32 measured kPa; true_pressure (F, P, rows, cols) float32 kPa per person before the
    sensor; box (F, P, 4) float32 (zeros when absent); present (F, P) bool; vertices optional (F, P, V, 3) float32.
    """

    start: int
    pressure: np.ndarray
    true_pressure: np.ndarray
    box: np.ndarray
    present: np.ndarray
    vertices: np.ndarray | None


def footprint_box(footprint: np.ndarray) -> np.ndarray:
    """(rows, cols) pressure of one person -> (4,) float32 x1, y1, x2, y2 cell edges around cells above the
    footprint threshold; zeros when there are none."""
    rows = np.flatnonzero((footprint > FOOTPRINT_THRESHOLD_KPA).any(axis=1))
    if rows.size == 0:
        return np.zeros(4, dtype=np.float32)
    cols = np.flatnonzero((footprint > FOOTPRINT_THRESHOLD_KPA).any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float32)


class Simulator:
    """Frame-by-frame simulation of `config`; after the last frame of an episode a new episode (new seed) starts."""

    def __init__(self, config: SimConfig, model: BodyModel | None = None):
        self.config = config
        self.model = model if model is not None else BodyModel(config.model_path)
        self.episode = 0
        self._start_episode()

    def _start_episode(self) -> None:
        config = self.config
        streams = np.random.SeedSequence([config.seed, self.episode]).spawn(3)
        plan_rng, body_rng, sensor_rng = (np.random.default_rng(s) for s in streams)
        # Plan past the end so the last footsteps (which look ahead to mid-stance) are defined.
        plans = plan_motion(config.scenario, config.people, config.seconds + 3.0, config.mat, plan_rng)
        if config.subjects is not None and len(config.subjects) < len(plans):
            raise ValueError(f"scenario {config.scenario!r} needs {len(plans)} subjects, got {len(config.subjects)}")
        times = np.arange(config.frames) / config.fps
        self.times = times
        self.people: list[_Person] = []
        for person_id, plan in enumerate(plans):
            if config.subjects is not None:
                body = body_geometry(self.model, np.asarray(config.subjects[person_id], dtype=float))
            else:
                body = sample_body(self.model, body_rng)
            rest_vertices = self.model.forward(body.betas[None], np.zeros((1, 72)), np.zeros((1, 3)))[0][0]
            rest_vertices = rest_vertices.double().numpy()
            sole_ids = tuple(self.model.sole_vertex_ids(side) for side in SIDES)
            areas = tuple(sole_vertex_areas(rest_vertices, self.model.faces, ids) for ids in sole_ids)
            self.people.append(_Person(person_id, body, synthesise_gait(plan, body, times), sole_ids, areas))
        self.sensor = Sensor(config.sensor, (config.mat.rows, config.mat.cols), sensor_rng)
        self._chunk: SceneChunk | None = None
        self._next = 0

    def render_chunk(self, start: int, stop: int, keep_vertices: bool = False) -> SceneChunk:
        """Meshes, contact pressure, sensor reading and boxes of frames [start, stop) of the current episode."""
        config, mat = self.config, self.config.mat
        frames = stop - start
        count = len(self.people)
        true_pressure = np.zeros((frames, count, mat.rows, mat.cols), dtype=np.float32)
        vertices_out = np.zeros((frames, count, self.model.num_vertices, 3), dtype=np.float32) if keep_vertices \
            else None
        for p, person in enumerate(self.people):
            gait = person.gait
            betas = np.repeat(person.body.betas[None], frames, axis=0)
            vertices, _ = self.model.forward(betas, gait.pose[start:stop], gait.transl[start:stop])
            vertices = vertices.numpy()
            if vertices_out is not None:
                vertices_out[:, p] = vertices
            for side in range(2):
                sole = vertices[:, person.sole_ids[side]].astype(float)
                true_pressure[:, p] += feet_pressure(sole, person.sole_areas[side], gait.force[start:stop, side],
                                                     mat).astype(np.float32)
        total = true_pressure.sum(axis=1)
        pressure = np.stack([self.sensor.measure(image) for image in total])
        box = np.stack([[footprint_box(true_pressure[f, p]) for p in range(count)] for f in range(frames)]) \
            if count else np.zeros((frames, 0, 4), dtype=np.float32)
        present = box[..., 2] > 0
        return SceneChunk(start, pressure, true_pressure, box, present, vertices_out)

    def step(self) -> SimFrame:
        """The next frame."""
        if self._next >= self.config.frames:
            self.episode += 1
            self._start_episode()
        chunk = self._chunk
        if chunk is None or not chunk.start <= self._next < chunk.start + len(chunk.pressure):
            stop = min(self._next + self.config.chunk_frames, self.config.frames)
            chunk = self._chunk = self.render_chunk(self._next, stop)
        index = self._next
        local = index - chunk.start
        persons = [
            SimPerson(id=person.id, box=chunk.box[local, p], pose=person.gait.pose[index].astype(np.float32),
                      betas=person.body.betas.astype(np.float32), trans=person.gait.transl[index].astype(np.float32),
                      joints=person.gait.joints[index].astype(np.float32), contact=person.gait.contact[index],
                      force=person.gait.force[index].astype(np.float32))
            for p, person in enumerate(self.people) if chunk.present[local, p]
        ]
        self._next += 1
        return SimFrame(index=index, time=float(self.times[index]), pressure=chunk.pressure[local], persons=persons)


def simulate_scene(config: SimConfig, model: BodyModel | None = None, name: str | None = None) -> Scene:
    """The whole first episode of `config` as an MIP-format Scene (per-person arrays zeroed when absent)."""
    simulator = Simulator(config, model)
    frames, count = config.frames, len(simulator.people)
    pressure = np.zeros((frames, config.mat.rows, config.mat.cols), dtype=np.float32)
    box = np.zeros((frames, count, 4), dtype=np.float32)
    present = np.zeros((frames, count), dtype=bool)
    for start in range(0, frames, config.chunk_frames):
        chunk = simulator.render_chunk(start, min(start + config.chunk_frames, frames))
        stop = start + len(chunk.pressure)
        pressure[start:stop], box[start:stop], present[start:stop] = chunk.pressure, chunk.box, chunk.present

    def per_person(values: list[np.ndarray]) -> np.ndarray:
        stacked = np.stack(values, axis=1).astype(np.float32)  # (T, P, ...)
        return stacked * present.reshape(present.shape + (1,) * (stacked.ndim - 2))

    people = simulator.people
    return Scene(
        name=name or f"sim/{config.scenario}/seed{config.seed}",
        pressure=pressure, box=box,
        pose=per_person([p.gait.pose for p in people]),
        betas=per_person([np.repeat(p.body.betas[None], frames, axis=0) for p in people]),
        trans=per_person([p.gait.transl for p in people]),
        keypoints_3d=per_person([p.gait.joints for p in people]),
        present=present,
        contact=np.stack([p.gait.contact for p in people], axis=1) & present[..., None],
        person_ids=np.array([p.id for p in people], dtype=np.int64),
        heights=np.array([p.body.height for p in people], dtype=np.float32),
        masses=np.array([p.body.mass for p in people], dtype=np.float32),
        fps=config.fps, mat=config.mat,
    )
