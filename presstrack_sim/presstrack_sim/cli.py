"""presstrack-sim: write simulated MIP-format scenes, one file or a train/val/test corpus.

  presstrack-sim --people 3 --seconds 60 --seed 1 --out scene.npz [--scenario NAME] [--fps 15]
                 [--rows 238 --cols 120 --pitch 0.01] [--model SMPL] [--picture frame.png]
                 [--sensor legacy|commercial|textile|mip|tiled|ideal] [--feet even|anatomical] [--shoes P]
                 [--objects] [--carrying SHARE] [--jump-rate PER_MIN] [--randomize]
  presstrack-sim corpus --out DIR --scenes N --seconds S --seed K [--jobs J] [same sensor/feet options]
  presstrack-sim report FILE.npz... [--out table.md] [--meshes]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import NoReturn

import numpy as np

from presstrack_body.model import BodyModel

from presstrack_common.mat_geometry import MatGeometry, mip_world_from_mat
from presstrack_common.outputs import check_writable_file

from .mip_format import scene_path, write_scene
from .people import sample_body, sample_varied_body
from .randomize import BODY_RANGES, FEET, randomize_rng, randomized, with_realism
from .realism import realism_report
from .sensor import SENSOR_PROFILES
from .scenario import FIXED_PEOPLE, SCENARIOS
from .simulator import SimConfig, Simulator, simulate_scene, single_threaded_torch

SPLITS = ("train", "val", "test")
SUBJECTS_PER_SPLIT = {"train": 10, "val": 5, "test": 5}  # 20 volunteers, as in MIP
SCENE_SHARE = {"train": 0.7, "val": 0.15, "test": 0.15}
# The corpus draws from the scenarios and people counts it always drew from, so a seed still makes the same corpus.
CORPUS_SCENARIOS = ("crossing2", "wander3", "side_by_side", "face_to_face", "stand_and_pass", "enter_leave", "random")
CORPUS_PEOPLE = {name: FIXED_PEOPLE.get(name, 2) for name in CORPUS_SCENARIOS if name != "random"}


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (and exit status 2) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each scene (s)")
    parser.add_argument("--seed", type=int, default=0, help="everything is reproducible from this")
    parser.add_argument("--fps", type=float, default=15.0, help="frame rate (MIP: 15)")
    parser.add_argument("--rows", type=int, default=238, help="mat rows (cells)")
    parser.add_argument("--cols", type=int, default=120, help="mat columns (cells)")
    parser.add_argument("--pitch", type=float, default=0.01, help="cell pitch (m)")
    parser.add_argument("--model", default=None, help="SMPL model file or folder (default: embedded body)")
    parser.add_argument("--ideal-sensor", action="store_true", help="the same as --sensor ideal")
    parser.add_argument("--sensor", default="legacy", choices=tuple(SENSOR_PROFILES),
                        help="sensor profile (presstrack_sim/sensor.py; default legacy, as the fixed scenes)")
    parser.add_argument("--feet", default="even", choices=FEET,
                        help="plantar load: even over the sole (legacy) or anatomical (heel, metatarsal heads, toe "
                             "pads, arch from flat to high per person; plantar.py)")
    parser.add_argument("--shoes", type=float, default=0.0,
                        help="with --feet anatomical: share of people wearing shoes (0-1)")
    parser.add_argument("--objects", action="store_true",
                        help="put a piece of furniture, a dropped object and a trotting dog on the mat (objects.py)")
    parser.add_argument("--carrying", type=float, default=0.0,
                        help="share of people carrying a load of 2-20 kg (0-1)")
    parser.add_argument("--jump-rate", type=float, default=0.0,
                        help="jumps on the spot per minute of standing (flight phases; jumping.py)")
    parser.add_argument("--randomize", action="store_true",
                        help="draw the sensor and the feet per scene from the ranges of presstrack_sim/randomize.py")


def _mat(args: argparse.Namespace) -> MatGeometry:
    return MatGeometry(args.rows, args.cols, args.pitch, mip_world_from_mat())


def _realism(config: SimConfig, args: argparse.Namespace, randomize_seed: int | None) -> SimConfig:
    return with_realism(config, sensor="ideal" if args.ideal_sensor else args.sensor, feet=args.feet,
                        shoes=args.shoes, objects=args.objects, carrying=args.carrying, jump_rate=args.jump_rate,
                        randomize_seed=randomize_seed)


def scene_main(argv: list[str]) -> int:
    parser = _Parser(prog="presstrack-sim", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="output .npz")
    parser.add_argument("--scenario", default="random", choices=SCENARIOS)
    parser.add_argument("--people", type=int, default=None, help="number of people (1-5)")
    parser.add_argument("--picture", type=Path, default=None, help="also render the middle frame to this PNG")
    _common(parser)
    args = parser.parse_args(argv)
    config = _realism(SimConfig(scenario=args.scenario, people=args.people, seconds=args.seconds, fps=args.fps,
                                seed=args.seed, mat=_mat(args), model_path=args.model),
                      args, args.seed if args.randomize else None)
    if args.out.is_dir():
        raise ValueError(f"--out {args.out} is a folder; give a file name")
    check_writable_file(scene_path(args.out), "--out")
    if args.picture is not None:
        check_writable_file(args.picture, "--picture")
    started = time.perf_counter()
    model = BodyModel(args.model)
    scene = simulate_scene(config, model)
    path = write_scene(args.out, scene)
    print(f"wrote {path}: {scene.pressure.shape[0]} frames, {len(scene.person_ids)} people, "
          f"{time.perf_counter() - started:.1f} s")
    if args.picture is not None:
        render_scene_frame(config, model, config.frames // 2, args.picture)
        print(f"wrote {args.picture}")
    return 0


def render_scene_frame(config: SimConfig, model: BodyModel, frame: int, path: Path) -> Path:
    """Render frame `frame` of the scene of `config` to a PNG."""
    from .render import render_frame  # matplotlib only when a picture is asked for

    simulator = Simulator(config, model)
    chunk = simulator.render_chunk(frame, frame + 1, keep_vertices=True)
    present = np.flatnonzero(chunk.present[0])
    return render_frame(path, chunk.pressure[0], chunk.box[0, present], present, chunk.vertices[0, present],
                        model.faces, config.mat, title=f"{config.scenario}, seed {config.seed}, frame {frame}")


def _write_corpus_scene(job: tuple[Path, SimConfig, str], model: BodyModel | None = None) -> Path:
    path, config, name = job
    return write_scene(path, simulate_scene(config, model, name=name))


def corpus_main(argv: list[str]) -> int:
    parser = _Parser(prog="presstrack-sim corpus",
                     description="Write data_1.npz ... data_N.npz and corpus.json: scenes split "
                                 "train/val/test with disjoint subjects (body shapes).")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--scenes", required=True, type=int, help="number of scenes (>= 3)")
    parser.add_argument("--jobs", type=int, default=1, help="scenes simulated at once, one process each")
    _common(parser)
    args = parser.parse_args(argv)
    if args.scenes < 3:
        parser.error("--scenes must be at least 3 (one per split)")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    SimConfig(seconds=args.seconds, fps=args.fps, mat=_mat(args))  # checks them before any work
    args.out.mkdir(parents=True, exist_ok=True)
    check_writable_file(args.out / "corpus.json", "--out")
    rng = np.random.default_rng(args.seed)
    drawing = randomize_rng(args.seed)
    model = BodyModel(args.model)
    subjects: dict[str, list[np.ndarray]] = {}
    subject_ids: dict[str, list[int]] = {}
    next_id = 0
    for split in SPLITS:
        subjects[split] = [(sample_varied_body(model, rng, BODY_RANGES) if args.randomize else
                            sample_body(model, rng)).betas for _ in range(SUBJECTS_PER_SPLIT[split])]
        subject_ids[split] = list(range(next_id, next_id + SUBJECTS_PER_SPLIT[split]))
        next_id += SUBJECTS_PER_SPLIT[split]
    counts = {split: max(1, int(round(SCENE_SHARE[split] * args.scenes))) for split in ("val", "test")}
    counts["train"] = args.scenes - counts["val"] - counts["test"]
    assignment = [split for split in SPLITS for _ in range(counts[split])]
    scenes, files, jobs = [], {split: [] for split in SPLITS}, []
    for index, split in enumerate(assignment, start=1):
        scenario = str(rng.choice(CORPUS_SCENARIOS))
        people = CORPUS_PEOPLE.get(scenario, int(rng.integers(1, 6)))
        chosen = rng.choice(len(subjects[split]), size=people, replace=False)
        seed = int(rng.integers(2 ** 31))
        config = _realism(SimConfig(scenario=scenario, people=None if scenario in CORPUS_PEOPLE else people,
                                    seconds=args.seconds, fps=args.fps, seed=seed, mat=_mat(args),
                                    subjects=tuple(subjects[split][k] for k in chosen), model_path=args.model),
                          args, None)
        if args.randomize:
            config = randomized(config, drawing)
        name = f"data_{index}.npz"
        jobs.append((args.out / name, config, f"sim_{len(chosen)}_person/{scenario}/{split}"))
        files[split].append(name)
        scenes.append(dict(file=name, split=split, scenario=scenario, seed=seed, seconds=args.seconds, fps=args.fps,
                           subjects=[subject_ids[split][k] for k in chosen], sensor=asdict(config.sensor),
                           plantar=None if config.plantar is None else asdict(config.plantar),
                           objects=None if config.objects is None else asdict(config.objects)))
    # Every scene's configuration is drawn above, so the files do not depend on --jobs.
    if args.jobs == 1:
        outcomes = (_write_corpus_scene(job, model) for job in jobs)
    else:
        pool = ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn"))
        outcomes = pool.map(_write_corpus_scene, jobs)
    for scene in scenes:
        next(outcomes)
        print(f"wrote {args.out / scene['file']} ({scene['split']}, {scene['scenario']}, "
              f"{len(scene['subjects'])} people)", flush=True)
    description = dict(
        description="Simulated PressTrack corpus in MIP layout; pressure in kPa. Subjects (body shapes) of the "
                    "train, val and test splits are disjoint.",
        seed=args.seed, splits=files, subjects=subject_ids,
        subject_betas={str(subject_ids[split][k]): subjects[split][k].tolist()
                       for split in SPLITS for k in range(len(subjects[split]))},
        scenes=scenes,
    )
    (args.out / "corpus.json").write_text(json.dumps(description, indent=1))
    print(f"wrote {args.out / 'corpus.json'}")
    return 0


def report_main(argv: list[str]) -> int:
    parser = _Parser(prog="presstrack-sim report",
                     description="The realism table: gait, force, pressure and sensor quantities measured from "
                                 "simulated files, beside published norms (presstrack_sim/realism.py).")
    parser.add_argument("files", nargs="+", type=Path, help="scene files written by presstrack-sim")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this Markdown file")
    parser.add_argument("--meshes", action="store_true",
                        help="also pose every close pair of people and measure how far their meshes overlap (slow)")
    parser.add_argument("--model", default=None, help="SMPL model file or folder for --meshes (default: embedded)")
    args = parser.parse_args(argv)
    if args.out is not None:
        check_writable_file(args.out, "--out")
    table, _ = realism_report(args.files, BodyModel(args.model) if args.meshes else None)
    print(table, end="")
    if args.out is not None:
        args.out.write_text(table)
        print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with single_threaded_torch():
            if argv and argv[0] == "corpus":
                return corpus_main(argv[1:])
            if argv and argv[0] == "report":
                return report_main(argv[1:])
            return scene_main(argv)
    except (ValueError, OSError) as error:
        print(f"presstrack-sim: error: {error}", file=sys.stderr)
        return 2
    except MemoryError:
        print("presstrack-sim: error: out of memory; simulate fewer seconds or a smaller mat", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("presstrack-sim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
