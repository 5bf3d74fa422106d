"""The crowd simulator: people with their own bodies walk a scenario on the mat; the mat measures their feet.

`Simulator(config).step()` yields one `SimFrame` at a time (the driver node publishes them live); `simulate_scene`
returns a whole recording as arrays (the MIP writer stores them). Everything is deterministic from `config.seed`.

An episode's crowd motion, bodies and footsteps are planned first (footsteps kept off other people's feet,
footing.py); leg poses are then synthesised in blocks of
GAIT_BLOCK_FRAMES, and meshes, pressure and sensor readings in chunks of `config.chunk_frames`, with one batched
body-model call per person and chunk. `step()` keeps every call short: it does this work in small units, a little
ahead of the frame it hands out, and prepares the next episode in the background while the current one plays.
"""
from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import partial

import numpy as np
import torch
from scipy.ndimage import correlate, maximum_filter

from presstrack_body.model import BodyModel

from .footing import keep_feet_apart
from .gait import SIDES, BodyGeometry, GaitStream, GaitTrack
from presstrack_common.mat_geometry import MatGeometry
from .jumping import Jump, apply_jumps, plan_jumps
from .mip_format import Scene
from .objects import FloorObject, ObjectsConfig, cell_object, object_pressure, place_objects
from .people import (BodyRanges, body_geometry, sample_body, sample_varied_body, sole_vertex_areas, walker_body,
                     walking_style)
from .plantar import (FootType, PlantarModel, arch_load_factors, frame_load_factors, heel_loading_bias,
                      lean_towards_heel, sole_coordinates, step_arches)
from .pressure import feet_pressure
from .sensor import Sensor, SensorModel
from .resting import REST_CONTACT_M, Rest, plan_rest, rest
from .sitting import Seat, chair, plan_seat, sit
from .scenario import MAX_PEOPLE, PLAN_DT, SCENARIOS, WalkerBody, plan_motion_stepwise
from .stepwise import Work, run_to_end

FOOTPRINT_THRESHOLD_KPA = 0.5  # a cell belongs to a person's footprint above this true pressure
LABEL_THRESHOLD_KPA = 1.5  # a person's box holds their cells measured above this, as MIP's labels threshold the reading
LABEL_MIN_CELLS = 4  # ... when there are this many (fewer are a foot grazing the floor, lost in the sensor noise)
# ... and above this many noise sigmas of the unloaded mat: a labeller sets a threshold above the sensor's noise floor
# (the 3-sigma limit of detection; 1.5 kPa is 3 sigmas of the 0.5 kPa mat), or the box grows with the noise.
LABEL_NOISE_SIGMAS = 3.0
GAIT_BLOCK_FRAMES = 30  # leg poses synthesised per unit of work (some milliseconds per person)
PLAN_BLOCK_STEPS = 30  # crowd integration steps per unit of work (half a second of plan)
LOOKAHEAD_CHUNKS = 2  # step() renders up to this many chunks ahead of the frame it hands out
WORK_AHEAD_BUDGET_S = 0.005  # time a step() spends working ahead once its frame is ready
CATCH_UP_UNITS = 3  # units a step() may add past its budget when the next episode's planning is late
CARRIED_KG = (2.0, 20.0)  # shopping bags, a box, a toddler on the arm
PLANNED_BY = 0.8  # the next episode is planned by this fraction of the current one, leaving time to render ahead


@contextmanager
def single_threaded_torch() -> Iterator[None]:
    """Run torch on one thread of the calling thread's pool, then restore the thread count.

    The simulator's tensors are small (a chunk of one person's sole vertices): torch's thread pool gains nothing
    on them, and on a busy machine each parallel operation can wait milliseconds for its workers.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. `people` None: the scenario's own count ('random': 1-5 drawn from the seed).
    `subjects`: optional betas (10,) of the people to use, in order (for disjoint train/test corpora);
    otherwise bodies are drawn from the seed. `model_path`: SMPL file or folder, None = default body.
    `plantar`: the ranges each person's feet are drawn from (plantar.py); None: the legacy sole that carries the
    same load per unit area everywhere, which the fixed scenes, the tracker's tuning and the shipped network use.
    `objects`: furniture, dropped objects and pets on the floor besides the people (objects.py); None: none.
    `bodies`: statures and BMIs the people are drawn from (people.BodyRanges; children to tall, underweight to
    obese) and each person's step width and toe-out (people.STEP_WIDTH_RATIO, TOE_OUT_DEG); None: the legacy
    adults of 1.5-1.9 m and 40-100 kg who all step 5.8 % of their height apart with feet 5 degrees out.
    `carrying`: share of people who carry a load of CARRIED_KG (their feet carry its weight too; the file's
    `carried_kg` says how much). `jump_rate`: jumps on the spot per minute of standing (jumping.py: flight phases
    with no force on the mat)."""

    scenario: str = "random"
    people: int | None = None
    seconds: float = 60.0
    fps: float = 15.0
    seed: int = 0
    mat: MatGeometry = field(default_factory=MatGeometry)
    sensor: SensorModel = field(default_factory=SensorModel)
    plantar: PlantarModel | None = None
    objects: ObjectsConfig | None = None
    bodies: BodyRanges | None = None
    carrying: float = 0.0
    jump_rate: float = 0.0
    lane_gap_m: float | None = None  # crossing2: the walkers' lanes this far apart (scenario.build_agents)
    old_labels: bool = False  # label_box as before issue 20's labeller: a fixed 1.5 kPa, one-cell regions kept
    subjects: tuple[np.ndarray, ...] | None = None
    model_path: str | None = None
    chunk_frames: int = 10  # frames rendered together: larger is a little faster overall, but makes longer steps

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}; known: {', '.join(SCENARIOS)}")
        if not (np.isfinite(self.seconds) and self.seconds > 0):
            raise ValueError(f"seconds must be positive, got {self.seconds}")
        if not (np.isfinite(self.fps) and 1 <= self.fps <= 240):
            raise ValueError(f"fps must be in [1, 240], got {self.fps}")
        if not (np.isfinite(self.jump_rate) and 0 <= self.jump_rate <= 60):
            raise ValueError(f"jump_rate must be in [0, 60] jumps per minute, got {self.jump_rate}")
        if not 0 <= self.carrying <= 1:
            raise ValueError(f"carrying must be a share of people in [0, 1], got {self.carrying}")
        if self.chunk_frames < 1:
            raise ValueError(f"chunk_frames must be >= 1, got {self.chunk_frames}")

    @property
    def frames(self) -> int:
        return int(round(self.seconds * self.fps))


@dataclass
class SimPerson:
    """One person in one frame. id: unique over the simulator's run, episode * MAX_PEOPLE + their index in the
    episode (a new episode is a new crowd: the same id for two of its people would have a scorer count a switch
    where the tracker rightly sees someone new). box (4,) x1, y1, x2, y2 in cells (x = column, y = row; the cell edges enclosing the
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
    """One person of an episode; `gait_stream.track` holds the gait of the frames synthesised so far."""

    id: int
    body: BodyGeometry
    gait_stream: GaitStream
    sole_ids: tuple[np.ndarray, np.ndarray]
    sole_areas: tuple[np.ndarray, np.ndarray]
    foot: FootType | None = None  # None: the legacy even sole
    load_factors: tuple[np.ndarray, np.ndarray] | None = None  # (per side) arch_load_factors of `foot` (G, n)
    sole_u: tuple[np.ndarray, np.ndarray] | None = None  # (per side) position of each sole vertex along the foot
    carried_kg: float = 0.0  # a load in the arms, on the back: weight on the feet, not in the body
    jumps: list[Jump] = field(default_factory=list)
    resting: Rest | None = None  # kneeling or lying on the floor: the whole contact presses, not the soles
    step_arches: np.ndarray | None = None  # (K,) the arch of each footstep (plantar.step_arches)

    @property
    def gait(self) -> GaitTrack:
        """The gait of the whole episode (synthesising the frames not done yet)."""
        return self.gait_stream.until(len(self.gait_stream.times))


@dataclass
class SceneChunk:
    """Frames [start, start + F) of an episode for P people (P-axis = person id).

    pressure (F, rows, cols) float32 measured kPa; true_pressure (F, P, rows, cols) float32 kPa per person before the
    sensor; owner (F, rows, cols) int8 (`cell_owner`); box (F, P, 4) float32 (`label_box`, zeros when absent);
    present (F, P) bool; vertices optional (F, P, V, 3) float32; object_owner (F, rows, cols) int8 the floor object
    (objects.py) pressing each cell, -1 for none.
    """

    start: int
    pressure: np.ndarray
    true_pressure: np.ndarray
    owner: np.ndarray
    box: np.ndarray
    present: np.ndarray
    vertices: np.ndarray | None
    object_owner: np.ndarray


def cell_owner(true_pressure: np.ndarray) -> np.ndarray:
    """(F, P, rows, cols) true kPa per person -> (F, rows, cols) int8 person slot owning each cell, -1 for none.

    A cell belongs to the person pressing hardest within one cell of it: the one-cell reach covers the sensor's
    crosstalk halo, so a crop masked with this owner keeps what a tracker's footprint mask keeps.
    """
    reach = maximum_filter(true_pressure, size=(1, 1, 3, 3), mode="constant")
    owner = np.argmax(reach, axis=1).astype(np.int8)
    owner[reach.max(axis=1) <= 0] = -1
    return owner


def footprint_box(footprint: np.ndarray) -> np.ndarray:
    """(..., rows, cols) pressure of one person -> (..., 4) float32 x1, y1, x2, y2 cell edges around the cells
    above the footprint threshold; zeros where there are none."""
    return _mask_box(np.asarray(footprint) > FOOTPRINT_THRESHOLD_KPA)


_NEIGHBOURS = np.ones((1, 3, 3), dtype=np.uint8)   # the 8 neighbours of a cell within its frame
_NEIGHBOURS[0, 1, 1] = 0


def label_threshold_kpa(sensor: SensorModel) -> float:
    """[kPa] The reading above which a labeller counts a cell as shown: LABEL_THRESHOLD_KPA, raised to
    LABEL_NOISE_SIGMAS times the noise of the sensor's unloaded cells (`noise_kpa`) on a noisier mat.

    Nobody labelling a mat sets the threshold inside its noise: at 2 kPa noise a 1.5 kPa threshold passes 23 % of
    the unloaded cells, so a box would take in every cell near a foot where the noise happens to be high and grow
    with the sensor's noise, not with the foot. 3 sigmas is the usual limit of detection (0.13 % of unloaded
    cells pass, and `label_box` drops those that pass alone) and is what 1.5 kPa already was on the 0.5 kPa mat,
    so quiet mats keep their threshold."""
    return max(LABEL_THRESHOLD_KPA, LABEL_NOISE_SIGMAS * sensor.noise_kpa)


def label_box(measured: np.ndarray, owner: np.ndarray, contact_box: np.ndarray,
              threshold_kpa: float = LABEL_THRESHOLD_KPA, drop_speckle: bool = True) -> np.ndarray:
    """The boxes MIP's labelling gives: (F, P, 4) float32 around each person's own cells (`owner`, (F, rows, cols))
    whose reading (`measured`, (F, rows, cols) kPa) exceeds `threshold_kpa` (`label_threshold_kpa`), in regions of
    more than one cell (8-connected) with `drop_speckle` (without it, as the simulator labelled before issue 20).

    MIP thresholds the measured pressure into regions and gives each the nearest foot's identity (PressTrack-HMR), so
    its boxes hold what the mat shows; a heel that has only begun to touch down is outside them. A person with fewer
    than LABEL_MIN_CELLS such cells keeps their true contact's box (`contact_box`, (F, P, 4), `footprint_box`), so a
    box is zero exactly when its person is off the mat.
    """
    persons = np.arange(contact_box.shape[1], dtype=owner.dtype)
    above = measured > threshold_kpa
    # A region of one cell is speckle, not pressure: even 3 sigmas above the noise, one cell in 750 passes.
    if drop_speckle:
        above &= correlate(above.view(np.uint8), _NEIGHBOURS, mode="constant") > 0
    visible = above[:, None] & (owner[:, None] == persons[None, :, None, None])
    enough = visible.sum(axis=(-2, -1)) >= LABEL_MIN_CELLS
    return np.where(enough[..., None], _mask_box(visible), contact_box).astype(np.float32)


def _mask_box(above: np.ndarray) -> np.ndarray:
    """(..., rows, cols) bool -> (..., 4) float32 x1, y1, x2, y2 cell edges around the True cells; zeros where
    there are none."""
    row_hit, col_hit = above.any(axis=-1), above.any(axis=-2)
    rows, cols = row_hit.shape[-1], col_hit.shape[-1]
    box = np.stack([np.argmax(col_hit, axis=-1), np.argmax(row_hit, axis=-1),
                    cols - np.argmax(col_hit[..., ::-1], axis=-1), rows - np.argmax(row_hit[..., ::-1], axis=-1)],
                   axis=-1)
    return np.where(row_hit.any(axis=-1)[..., None], box, 0).astype(np.float32)


class _Episode:
    """One episode: its people, their gait, the sensor, and the chunks rendered ahead of the frame being taken.

    All its work is done in units of some milliseconds through `advance()`: planning the crowd half a second at a
    time, drawing a body, synthesising a gait block, rendering one foot of one person for a chunk, reading the
    sensor.
    """

    def __init__(self, config: SimConfig, model: BodyModel, number: int):
        self.config, self.model, self.number = config, model, number
        self.times = np.arange(config.frames) / config.fps
        self.people: list[_Person] = []
        self.sensor: Sensor | None = None
        self.objects: list[FloorObject] = []
        self.prepared = False  # people and sensor are there
        self.chunks: deque[SceneChunk] = deque()  # rendered ahead by advance(), taken by the simulator
        self.rendered = 0  # frames [0, rendered) have been rendered into `chunks`
        self.units_done = 0
        # Units of planning: the crowd integration, then a body and a gait stream per person.
        plan_steps = int(np.floor((config.seconds + 3.0) / PLAN_DT + 1e-9)) + 1
        self.planning_units = -(-plan_steps // PLAN_BLOCK_STEPS) + 3 * MAX_PEOPLE
        self._work = self._all_work()

    def advance(self) -> None:
        """Do the next unit of work (nothing once the episode is rendered)."""
        if self.rendered >= self.config.frames:
            return
        self.units_done += 1
        with single_threaded_torch():
            try:
                next(self._work)
            except StopIteration:
                if self.rendered < self.config.frames:
                    raise RuntimeError(f"episode {self.number} cannot go on after an earlier error") from None

    def prepare(self) -> None:
        """Do all the planning now."""
        while not self.prepared:
            self.advance()

    def _all_work(self) -> Work[None]:
        yield from self._prepare()
        frames, chunk_frames = self.config.frames, self.config.chunk_frames
        for start in range(0, frames, chunk_frames):
            chunk = yield from self.render(start, min(start + chunk_frames, frames), keep_vertices=False)
            self.chunks.append(chunk)
            self.rendered = start + len(chunk.pressure)

    def _prepare(self) -> Work[None]:
        config, model = self.config, self.model
        # (Spawned children do not depend on how many are spawned: a stream added last changes none of the others.)
        streams = np.random.SeedSequence([config.seed, self.number]).spawn(11)
        (plan_rng, body_rng, sensor_rng, foot_rng, object_rng, load_rng, jump_rng, gait_rng, seat_rng, step_rng,
         arch_rng) = (np.random.default_rng(s) for s in streams)
        bodies: list[BodyGeometry] = []

        def draw_bodies(count: int) -> Work[list[WalkerBody]]:
            """The people's bodies, drawn once the scenario's cast is known; their footprints and legs steer the
            crowd."""
            if config.subjects is not None and len(config.subjects) < count:
                raise ValueError(f"scenario {config.scenario!r} needs {count} subjects, got {len(config.subjects)}")
            walkers = []
            for person_id in range(count):
                if config.subjects is not None:
                    body = body_geometry(model, np.asarray(config.subjects[person_id], dtype=float))
                elif config.bodies is not None:
                    body = sample_varied_body(model, body_rng, config.bodies)
                else:
                    body = sample_body(model, body_rng)
                if config.bodies is not None:
                    body = walking_style(body, gait_rng)
                bodies.append(body)
                yield
                walkers.append(walker_body(model, body))
                yield
            return walkers

        # Plan past the end so the last footsteps (which look ahead to mid-stance) are defined.
        plans = yield from plan_motion_stepwise(config.scenario, config.people, config.seconds + 3.0, config.mat,
                                                plan_rng, block_steps=PLAN_BLOCK_STEPS, walkers=draw_bodies,
                                                lane_gap_m=config.lane_gap_m)
        sole_ids = tuple(model.sole_vertex_ids(side) for side in SIDES)
        seats: list[tuple[Seat, float]] = []  # (seat, the sitter's weight on it and their feet, N)
        for person_id, (plan, body) in enumerate(zip(plans, bodies)):
            rest_vertices = model.rest_vertices(body.betas[None])[0].double().numpy()
            areas = tuple(sole_vertex_areas(rest_vertices, model.faces, ids) for ids in sole_ids)
            foot = factors = sole_u = None
            if config.plantar is not None:
                foot = config.plantar.draw(foot_rng)
                factors = tuple(arch_load_factors(body.sole_points[side], body.toe_mask[side], side, foot, areas[side])
                                for side in range(2))
                sole_u = tuple(sole_coordinates(body.sole_points[side], body.toe_mask[side], side)[0]
                               for side in range(2))
            carried = float(load_rng.uniform(*CARRIED_KG)) if load_rng.random() < config.carrying else 0.0
            # The gait's forces come from the weight on the feet: body and load.
            loaded = replace(body, mass=body.mass + carried) if carried else body
            # Varied people (config.bodies) vary their steps too; the legacy adults walk without.
            stream = GaitStream(plan, loaded, self.times, GAIT_BLOCK_FRAMES,
                                step_rng=step_rng if config.bodies is not None else None)
            jumps, resting = [], None
            if plan.posture == "sit":
                seat = plan_seat(body, stream.steps, seat_rng)
                stream.adjust = partial(sit, body=body, seat=seat)
                seats.append((seat, loaded.weight_newton))
            elif plan.posture is not None:
                resting = plan_rest(model, body, plan.posture, plan.com_xy[0], float(plan.facing[0]))
                stream.adjust = partial(rest, body=body, resting=resting)
            else:
                jumps = plan_jumps(stream.steps, self.times, config.jump_rate, jump_rng)
            if jumps:
                stream.adjust = partial(apply_jumps, jumps=jumps, times=self.times)
            arches = None if foot is None else step_arches(foot, stream.steps, arch_rng)
            self.people.append(_Person(person_id, body, stream, sole_ids, areas, foot, factors, sole_u, carried,
                                       jumps, resting, arches))
            yield
        keep_feet_apart([person.gait_stream.steps for person in self.people], [person.body for person in self.people])
        if config.objects is not None:
            self.objects = place_objects(config.objects, config.mat, self.times, object_rng)
        self.objects += [chair(seat, weight, len(self.times)) for seat, weight in seats]
        self.sensor = Sensor(config.sensor, (config.mat.rows, config.mat.cols), sensor_rng, 1.0 / config.fps)
        self.prepared = True

    def render(self, start: int, stop: int, keep_vertices: bool) -> Work[SceneChunk]:
        """Meshes, contact pressure, sensor reading and boxes of frames [start, stop), a person at a time."""
        config, mat, model = self.config, self.config.mat, self.model
        if not 0 <= start < stop <= config.frames:
            raise ValueError(f"frames [{start}, {stop}) are not inside the episode's {config.frames} frames")
        frames = stop - start
        count = len(self.people)
        true_pressure = np.zeros((frames, count, mat.rows, mat.cols), dtype=np.float32)
        vertices_out = np.zeros((frames, count, model.num_vertices, 3), dtype=np.float32) if keep_vertices \
            else None
        for p, person in enumerate(self.people):
            while person.gait_stream.ready < stop:
                person.gait_stream.advance()
                yield
            gait = person.gait_stream.track
            if person.resting is not None:  # still on the floor: the whole contact carries the weight
                resting = person.resting
                if vertices_out is not None:
                    vertices, _ = model.pose_body(person.body.betas, gait.pose[start:stop], gait.transl[start:stop])
                    vertices_out[:, p] = vertices.numpy()
                contact, _ = model.pose_body(person.body.betas, gait.pose[start:stop], gait.transl[start:stop],
                                             resting.contact_ids)
                true_pressure[:, p] = feet_pressure(contact.numpy().astype(float), resting.contact_areas,
                                                    gait.force[start:stop].sum(axis=1), mat,
                                                    contact_distance=REST_CONTACT_M).astype(np.float32)
                yield
                continue
            # Pressure needs only the soles; the whole mesh only when it is kept.
            if vertices_out is None:
                vertex_ids = np.concatenate(person.sole_ids)
                left_count = len(person.sole_ids[0])
                sole_index = (np.arange(left_count), np.arange(left_count, len(vertex_ids)))
            else:
                vertex_ids, sole_index = None, person.sole_ids
            vertices, _ = model.pose_body(person.body.betas, gait.pose[start:stop], gait.transl[start:stop],
                                          vertex_ids)
            vertices = vertices.numpy()
            if vertices_out is not None:
                vertices_out[:, p] = vertices
            for side in range(2):
                sole = vertices[:, sole_index[side]].astype(float)
                factors, spread = None, 0.0
                if person.foot is not None:
                    bias = heel_loading_bias(gait.steps, side, self.times[start:stop])
                    step_factors = frame_load_factors(person.load_factors[side], gait.steps, side, person.step_arches,
                                                      self.times[start:stop])
                    factors = lean_towards_heel(step_factors, person.sole_u[side], bias)
                    spread = person.foot.spread_m
                true_pressure[:, p] += feet_pressure(sole, person.sole_areas[side], gait.force[start:stop, side],
                                                     mat, load_factors=factors, spread_m=spread).astype(np.float32)
                yield
        objects = object_pressure(self.objects, mat, start, stop)
        pressure = self.sensor.measure(true_pressure.sum(axis=1) + objects.sum(axis=0))
        owner = cell_owner(true_pressure)
        contact_box = footprint_box(true_pressure)
        labels = label_box(pressure, owner, contact_box, *((LABEL_THRESHOLD_KPA, False) if config.old_labels
                                                           else (label_threshold_kpa(config.sensor), True)))
        return SceneChunk(start, pressure, true_pressure, owner, labels,
                          contact_box[..., 2] > 0, vertices_out, cell_object(objects))


class Simulator:
    """Frame-by-frame simulation of `config`; after the last frame of an episode a new episode (new seed) starts.

    The constructor plans the first episode (about a second); each `step()` then takes some milliseconds, and
    tens of milliseconds at most, whatever the episode length.
    """

    def __init__(self, config: SimConfig, model: BodyModel | None = None):
        self.config = config
        self.model = model if model is not None else BodyModel(config.model_path)
        self.episode = 0
        self._current = _Episode(config, self.model, 0)
        self._current.prepare()
        self._upcoming: _Episode | None = None
        self._next = 0

    @property
    def people(self) -> list[_Person]:
        """The people of the current episode."""
        return self._current.people

    @property
    def objects(self) -> list[FloorObject]:
        """The floor objects (no person) of the current episode."""
        return self._current.objects

    @property
    def times(self) -> np.ndarray:
        """(T,) frame times of an episode, s."""
        return self._current.times

    @property
    def sensor(self) -> Sensor:
        """The current episode's sensor (its defects and noise stream)."""
        return self._current.sensor

    def render_chunk(self, start: int, stop: int, keep_vertices: bool = False) -> SceneChunk:
        """Meshes, contact pressure, sensor reading and boxes of frames [start, stop) of the current episode.

        Reads the episode's sensor noise stream: render the chunks in order for a reproducible recording.
        """
        with single_threaded_torch():
            return run_to_end(self._current.render(start, stop, keep_vertices))

    def step(self) -> SimFrame:
        """The next frame."""
        frames = self.config.frames
        if self._next >= frames:
            self.episode += 1
            upcoming = self._upcoming or _Episode(self.config, self.model, self.episode)
            self._current, self._upcoming, self._next = upcoming, None, 0
        episode, index = self._current, self._next
        # Only the first frame, or a machine too busy to work ahead, waits here for a chunk to be rendered.
        while episode.rendered <= index:
            episode.advance()
        while episode.chunks[0].start + len(episode.chunks[0].pressure) <= index:
            episode.chunks.popleft()
        chunk = episode.chunks[0]
        local = index - chunk.start
        persons = []
        for p, person in enumerate(episode.people):
            if not chunk.present[local, p]:
                continue
            gait = person.gait_stream.track
            persons.append(SimPerson(
                id=self.episode * MAX_PEOPLE + person.id, box=chunk.box[local, p], pose=gait.pose[index].astype(np.float32),
                betas=person.body.betas.astype(np.float32), trans=gait.transl[index].astype(np.float32),
                joints=gait.joints[index].astype(np.float32), contact=gait.contact[index].copy(),
                force=gait.force[index].astype(np.float32)))
        self._next += 1
        self._work_ahead()
        return SimFrame(index=index, time=float(episode.times[index]), pressure=chunk.pressure[local],
                        persons=persons)

    def _work_ahead(self) -> None:
        """Render the current episode up to LOOKAHEAD_CHUNKS ahead and prepare the next episode, for about
        WORK_AHEAD_BUDGET_S; past the budget while less than a chunk is ready, and by up to CATCH_UP_UNITS when
        the next episode's planning lags behind this one's playing."""
        frames, chunk_frames = self.config.frames, self.config.chunk_frames
        deadline = time.perf_counter() + WORK_AHEAD_BUDGET_S
        catch_up = 0
        while True:
            current = self._current
            if current.rendered < min(frames, self._next + chunk_frames):
                current.advance()
                continue
            if self._upcoming is None:
                self._upcoming = _Episode(self.config, self.model, self.episode + 1)
            upcoming = self._upcoming
            if time.perf_counter() >= deadline:
                late = not upcoming.prepared and (
                    upcoming.units_done < upcoming.planning_units * self._next / (PLANNED_BY * frames))
                if not late or catch_up >= CATCH_UP_UNITS:
                    return
                upcoming.advance()
                catch_up += 1
            elif current.rendered < min(frames, self._next + LOOKAHEAD_CHUNKS * chunk_frames):
                current.advance()
            elif upcoming.rendered < min(frames, LOOKAHEAD_CHUNKS * chunk_frames):
                upcoming.advance()
            else:
                return


def simulate_scene(config: SimConfig, model: BodyModel | None = None, name: str | None = None) -> Scene:
    """The whole first episode of `config` as an MIP-format Scene (per-person arrays zeroed when absent)."""
    simulator = Simulator(config, model)
    frames, count = config.frames, len(simulator.people)
    pressure = np.zeros((frames, config.mat.rows, config.mat.cols), dtype=np.float32)
    box = np.zeros((frames, count, 4), dtype=np.float32)
    present = np.zeros((frames, count), dtype=bool)
    owner = np.full((frames, config.mat.rows, config.mat.cols), -1, dtype=np.int8)
    object_owner = np.full_like(owner, -1)
    for start in range(0, frames, config.chunk_frames):
        chunk = simulator.render_chunk(start, min(start + config.chunk_frames, frames))
        stop = start + len(chunk.pressure)
        pressure[start:stop], box[start:stop], present[start:stop] = chunk.pressure, chunk.box, chunk.present
        owner[start:stop], object_owner[start:stop] = chunk.owner, chunk.object_owner

    def per_person(values: list[np.ndarray]) -> np.ndarray:
        stacked = np.stack(values, axis=1).astype(np.float32)  # (T, P, ...)
        return stacked * present.reshape(present.shape + (1,) * (stacked.ndim - 2))

    people = simulator.people
    extra = {"sensor_model": np.array(json.dumps(asdict(config.sensor)))}
    objects = simulator.objects
    if objects:
        extra |= {"cell_object": object_owner, "object_kinds": np.array([thing.kind for thing in objects]),
                  "object_masses": np.array([thing.mass for thing in objects], dtype=np.float32)}
    if any(person.carried_kg for person in people):
        extra["carried_kg"] = np.array([person.carried_kg for person in people], dtype=np.float32)
    if all(person.foot is not None for person in people):
        extra |= {"foot_arch": np.array([p.foot.arch for p in people], dtype=np.float32),
                  "foot_stiffness": np.array([p.foot.stiffness for p in people], dtype=np.float32),
                  "foot_shoes": np.array([p.foot.shoes for p in people], dtype=bool)}
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
        fps=config.fps, mat=config.mat, cell_owner=owner, extra=extra,
    )
