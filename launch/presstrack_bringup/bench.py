"""``presstrack-bench``: reproducible speed figures of PressTrack, per stage and end to end over DDS.

    presstrack-bench [--out DIR] [--quick] [--stages-only | --e2e-only] [--duration S] [--warmup S]
                     [--people 1 3 5] [--rates 15 30 60]

Per stage (in this process, no ROS graph): the driver's per-frame work (feed, calibration, Image
conversion) on a 238 x 120 and a 4x larger mat and the live simulator's step rate; the tracker core on
simulated frames; the learned HMR backend per person-frame, for every inference path side by side, with
the feature cache (WindowBank) and with the authors' re-encoding of the 16-frame window (the shipped
checkpoint on random crops: speed does not depend on their values); the
footprint baseline; the body model; marker building and serialisation. Torch runs on one thread, as in
the mesh_recovery node.

End to end: for each people x rate, ``presstrack up source:=sim people:=N --set mat_driver.rate=R`` runs
as separate processes and an independent rclpy node listens. Latency is /presstrack/bodies arrival minus
its header stamp (the /mat/pressure acquisition stamp; same host clock). Frames are matched by stamp.

Writes DIR/bench.json and DIR/bench.md (default ./bench), both with the machine's description.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from presstrack_common.outputs import check_output_folder
from presstrack_bringup.live_probe import (Graph, ProcessSampler, TopicProbe, isolate_ros, machine_description,
                                           machine_markdown, markdown_table, spin_for)

MIP_SHAPE = (238, 120)
LARGE_SHAPE = (476, 240)  # 4x the cells of the MIP mat


def people_label(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def timed(call: Callable[[], object], repeats: int, warmup: int = 2) -> np.ndarray:
    """Wall seconds of each of ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    seconds = np.empty(repeats)
    for index in range(repeats):
        start = time.perf_counter()
        call()
        seconds[index] = time.perf_counter() - start
    return seconds


def stage_row(stage: str, variant: str, seconds: np.ndarray, items_per_call: int, unit: str, **extra) -> dict:
    """One result: median and best ms per item and items per second (the best is least disturbed by load)."""
    per_item = seconds / items_per_call
    return {"stage": stage, "variant": variant, "unit": unit, "calls": int(len(seconds)),
            "ms_per_item_median": 1e3 * float(np.median(per_item)), "ms_per_item_best": 1e3 * float(per_item.min()),
            "items_per_s_median": float(1.0 / np.median(per_item)), **extra}


# --- per-stage benchmarks ---------------------------------------------------------------------------------------------
def bench_driver(repeats: int) -> list[dict]:
    """Feed + calibration + array_to_image per frame, as MatDriverNode.publish_loop does for one frame."""
    from std_msgs.msg import Header

    from mat_driver.calibration import Calibration
    from mat_driver.feeds import FeedFrame, PacedFeed
    from presstrack_common.conversions import array_to_image

    rows_out = []
    rng = np.random.default_rng(0)
    for shape in (MIP_SHAPE, LARGE_SHAPE):
        raw = (rng.random(shape) < 0.05) * rng.uniform(0.0, 300.0, shape)  # about 5 % loaded cells, kPa
        calibration = Calibration.identity(*shape, kpa_per_raw=1.0, noise_floor_kpa=1.0, full_scale_kpa=600.0)
        # A clock far in the future: the feed releases every frame at once, so only its own overhead is timed.
        feed = PacedFeed(((0.0, FeedFrame(raw, None)) for _ in iter(int, 1)), 1.0 / 15.0, clock=lambda: 1e9)
        header = Header(frame_id="mat")

        def one_frame() -> None:
            frame = feed.read(timeout=0.1)
            array_to_image(calibration.apply(frame.raw), header)

        rows_out.append(stage_row("driver publish", f"{shape[0]}x{shape[1]} feed+calibration+Image",
                                  timed(one_frame, repeats), 1, "frame"))
        rows_out.append(stage_row("driver publish", f"{shape[0]}x{shape[1]} calibration only",
                                  timed(lambda: calibration.apply(raw), repeats), 1, "frame"))
    return rows_out


def simulated_frames(people: int, frames: int, rate_hz: float = 15.0, seed: int = 1):
    """(steps/s of the live simulator, its SimFrames) for ``people`` people."""
    from presstrack_sim.simulator import SimConfig, Simulator

    simulator = Simulator(SimConfig(scenario="random", people=people, seed=seed, fps=rate_hz))
    simulator.step()  # the first step waits for its chunk: not representative
    start = time.perf_counter()
    sim_frames = [simulator.step() for _ in range(frames)]
    return frames / (time.perf_counter() - start), sim_frames


def bench_sim_and_tracker(people_counts: Sequence[int], frames: int) -> tuple[list[dict], dict[int, list]]:
    """Simulator step rate and PressureTracker fps per people count; returns the tracked people per frame too."""
    from pressure_tracker.tracker import PressureTracker, TrackerConfig

    rows_out: list[dict] = []
    tracked: dict[int, list] = {}
    for people in people_counts:
        steps_per_s, sim_frames = simulated_frames(people, frames)
        rows_out.append({"stage": "simulator step", "variant": people_label(people), "unit": "frame",
                         "calls": frames, "ms_per_item_median": 1e3 / steps_per_s, "ms_per_item_best": float("nan"),
                         "items_per_s_median": steps_per_s, "note": "mean over consecutive steps (chunked rendering)"})
        pressure = [f.pressure for f in sim_frames]
        config = TrackerConfig()  # presstrack.yaml uses the defaults
        seconds, outputs = [], []
        tracker = PressureTracker(config)
        for index, frame in enumerate(pressure):
            start = time.perf_counter()
            outputs.append(tracker.update(frame, index / 15.0))
            seconds.append(time.perf_counter() - start)
        tracked[people] = outputs
        seconds_array = np.array(seconds[min(5, len(seconds) - 1):])
        rows_out.append(stage_row("tracker core", f"PressureTracker {people_label(people)}", seconds_array, 1, "frame",
                                  fps_mean=float(len(seconds_array) / seconds_array.sum())))
    return rows_out, tracked


def bench_hmr(frames: int, tracks: int) -> list[dict]:
    """Per inference path of the learned backend (every CPU path, and CUDA where present), side by side:
    WindowBank (one encoder pass per new person-frame, one batched head pass per frame) against
    ReencodingTrackWindow (16 encoder passes per output), with the shipped online checkpoint prepared as
    the node prepares it (``build_inference``). Each path's ratio comes from its own two runs."""
    import torch

    from mesh_recovery.hmr.checkpoint import load_network, shipped_checkpoint
    from mesh_recovery.hmr.inference import AUTO_CANDIDATES, build_inference
    from mesh_recovery.hmr.window import ReencodingTrackWindow, WindowBank

    torch.manual_seed(0)
    net = load_network(shipped_checkpoint("online"))[0]
    config = net.config
    crops = torch.rand(frames + 2, tracks, config.crop_size, config.crop_size)
    numbers = torch.rand(frames + 2, tracks, 10)
    names = [*AUTO_CANDIDATES["cpu"], *(AUTO_CANDIDATES["cuda"] if torch.cuda.is_available() else ())]
    rows_out = []
    for name in names:
        path = build_inference(net, name)
        bank = WindowBank(path)
        windows = [ReencodingTrackWindow(path) for _ in range(tracks)]
        cached_steps, reencoding_steps = iter(range(frames + 2)), iter(range(frames + 2))

        def cached_all() -> None:
            t = next(cached_steps)
            bank.step_many({k: (crops[t, k], numbers[t, k]) for k in range(tracks)})

        def reencode_all() -> None:
            t = next(reencoding_steps)
            for k, window in enumerate(windows):
                window.step(crops[t, k], numbers[t, k])

        cached = timed(cached_all, frames, warmup=2)
        reencoding = timed(reencode_all, frames, warmup=2)
        reencoding_counters = [w.counters for w in windows]
        ratio = float(np.median(reencoding) / np.median(cached))
        rows_out.append(stage_row("HMR learned", f"WindowBank cache, {tracks} tracks, {name}", cached, tracks,
                                  "person-frame", inference_path=name, encoder_frames=bank.counters.encoder_frames,
                                  frames=bank.counters.frames, head_passes=bank.counters.head_passes,
                                  speedup_vs_reencoding=ratio))
        rows_out.append(stage_row("HMR learned", f"re-encode 16-frame window (authors), {tracks} tracks, {name}",
                                  reencoding, tracks, "person-frame", inference_path=name,
                                  encoder_frames=sum(c.encoder_frames for c in reencoding_counters),
                                  frames=sum(c.frames for c in reencoding_counters),
                                  head_passes=sum(c.head_passes for c in reencoding_counters)))
    return rows_out


def bench_bodies(tracked: dict[int, list], repeats: int) -> list[dict]:
    """Footprint baseline per person-frame, body model forward, markers per person."""

    from geometry_msgs.msg import Point
    from std_msgs.msg import Header

    from presstrack_body.model import BodyModel
    from mesh_recovery.estimators import FootprintEstimator, PersonInput
    from mesh_recovery.markers import label_marker, mesh_marker, serialize_markers
    from mesh_recovery.meshes import ClusteredMesh, id_colour
    from presstrack_common.mat_geometry import MatGeometry
    from pressure_tracker.tracker import TrackState

    rows_out = []
    model = BodyModel()
    geometry = MatGeometry()
    for people, outputs in tracked.items():
        estimator = FootprintEstimator(model, geometry)
        frames = [[PersonInput(p.track_id, p.crop, p.crop_origin, p.box,
                               p.heading + geometry.yaw_world_from_mat if math.isfinite(p.heading) else None,
                               index / 15.0)
                   for p in persons if p.state is not TrackState.TENTATIVE]
                  for index, persons in enumerate(outputs)]
        seconds, person_frames = 0.0, 0
        for inputs in frames:
            start = time.perf_counter()
            estimator.update_frame(inputs)
            seconds += time.perf_counter() - start
            person_frames += len(inputs)
        if person_frames:
            rows_out.append({"stage": "footprint baseline", "variant": f"{people_label(people)} scenes", "unit": "person-frame",
                             "calls": person_frames, "ms_per_item_median": 1e3 * seconds / person_frames,
                             "ms_per_item_best": float("nan"), "items_per_s_median": person_frames / seconds,
                             "note": "mean over the tracked person-frames"})
    for batch in (1, 3, 5):
        betas, pose = np.zeros((batch, model.num_betas), np.float32), np.zeros((batch, 72), np.float32)
        transl = np.zeros((batch, 3), np.float32)
        rows_out.append(stage_row("body model forward", f"batch {batch}", timed(lambda: model(betas, pose, transl), repeats),
                                  batch, "body", vertices=model.num_vertices))
    vertices = model(np.zeros((1, model.num_betas)), np.zeros((1, 72)), np.zeros((1, 3)))[0][0].numpy()
    header = Header(frame_id="world")
    for resolution in (0.035, 0.005):  # the node's default mesh_resolution, and its finest
        mesh = ClusteredMesh.from_rest_mesh(vertices, model.faces, resolution)

        def markers_for_one_person() -> bytes:
            # What the mesh worker does per body: cluster the vertices, build the markers, serialise.
            return serialize_markers([mesh_marker(header, 7, id_colour(7)), label_marker(header, 7, Point(z=1.7))],
                                     {0: mesh.vertices(vertices)[mesh.faces]})

        size = len(markers_for_one_person())
        rows_out.append(stage_row("markers (serialize_markers)", f"mesh_resolution {resolution}",
                                  timed(markers_for_one_person, repeats), 1, "person", bytes_per_person=size,
                                  faces=int(len(mesh.faces))))
    return rows_out


def run_stages(quick: bool) -> list[dict]:
    import torch

    torch.set_num_threads(1)  # as the mesh_recovery node
    people_counts = (1, 3) if quick else (1, 3, 5)
    repeats = 20 if quick else 200
    rows_out = bench_driver(repeats)
    tracker_rows, tracked = bench_sim_and_tracker(people_counts, 30 if quick else 150)
    rows_out += tracker_rows
    for tracks in ((3,) if quick else (3, 5)):
        rows_out += bench_hmr(frames=3 if quick else 20, tracks=tracks)
    rows_out += bench_bodies(tracked, 5 if quick else 50)
    return rows_out


# --- end to end ------------------------------------------------------------------------------------------------------
def run_end_to_end(people: int, rate_hz: float, warmup_s: float, duration_s: float, log_dir: Path,
                   extra_sets: Sequence[str] = (), profile_dir: Path | None = None) -> dict:
    """One configuration of the real graph over DDS; see the module docstring. With ``profile_dir`` every node
    runs under cProfile (slower: compare its figures only with other profiled runs)."""
    import rclpy

    if not rclpy.ok():
        rclpy.init()
    node = rclpy.create_node("presstrack_bench")
    probe = TopicProbe(node)
    result: dict = {"people": people, "rate_hz": rate_hz, "warmup_s": warmup_s, "duration_s": duration_s}
    try:
        with Graph(people, rate_hz, extra_sets, log_path=log_dir / f"graph_{people}p_{rate_hz:g}hz.log",
                   profile_dir=profile_dir) as graph:
            sampler = ProcessSampler(graph.node_processes())
            if not spin_for(node, 60.0, sampler, until=lambda: len(probe.bodies) > 0):
                raise RuntimeError("no /presstrack/bodies within 60 s of start")
            spin_for(node, warmup_s, sampler)
            start, start_ns = time.monotonic(), time.time_ns()
            spin_for(node, duration_s, sampler)
            stop, stop_ns = time.monotonic(), time.time_ns()
            spin_for(node, 3.0, sampler)  # late bodies of frames stamped inside the window still count
            result |= probe.frame_accounting(start_ns, stop_ns)
            # The driver's counters, from its 1 Hz diagnostics inside the window.
            published = probe.driver_counter("frames_published", start, stop)
            late = probe.driver_counter("frames_late", start, stop)
            result["published_rate_hz"] = published[0] / published[1] if published else float("nan")
            result["driver_frames_late"] = late[0] if late else None
            result["driver_counter_span_s"] = published[1] if published else None
            result["expected_frames"] = int(round(rate_hz * (stop - start)))
            result["bodies_rate_hz"] = result["bodies_received"] / (stop - start)
            result["processes"] = {name: {"cpu_percent": sampler.cpu_percent(name, start, stop),
                                          "peak_rss_mib": sampler.peak_rss_mib(name)}
                                   for name in sampler.processes}
    except RuntimeError as error:
        result["error"] = str(error)
    finally:
        node.destroy_node()
    return result


def profile_summaries(profile_dir: Path, top: int = 30) -> dict[str, str]:
    """node -> text of its cProfile's top functions by own time and by cumulative time (also written as DIR/<node>.txt)."""
    import io
    import pstats

    summaries = {}
    for path in sorted(profile_dir.glob("*.prof")):
        text = io.StringIO()
        stats = pstats.Stats(str(path), stream=text).strip_dirs()
        total = stats.total_tt
        text.write(f"{path.stem}: {total:.1f} s of profiled CPU time\n")
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        summaries[path.stem] = text.getvalue()
        path.with_suffix(".txt").write_text(summaries[path.stem])
    return summaries


def driver_alone(rate_hz: float, duration_s: float) -> dict:
    """The real driver replaying a looping MIP file, measured as presstrack-driver-rate does (rate, peak RSS)."""
    import tempfile

    import rclpy

    from mat_driver.rate_bench import measure

    if not rclpy.ok():
        rclpy.init()
    print(f"[presstrack-bench] the driver alone: MIP replay at {rate_hz:g} Hz", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as folder:
        return measure(MIP_SHAPE[0], MIP_SHAPE[1], rate_hz, duration_s, Path(folder))


def end_to_end_table(results: list[dict]) -> str:
    header = ["people", "rate Hz", "published Hz", "bodies Hz", "latency p50 ms", "p99 ms", "frames heard",
              "without bodies", "source late", "CPU % simulator/tracker/mesh", "peak RSS MiB simulator/tracker/mesh"]
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["people"], r["rate_hz"], f"error: {r['error']}", *[""] * (len(header) - 3)])
            continue
        processes = r["processes"]
        cpu = " / ".join(f"{processes[n]['cpu_percent']:.0f}" for n in ("mat_driver", "pressure_tracker", "mesh_recovery"))
        rss = " / ".join(f"{processes[n]['peak_rss_mib']:.0f}" for n in ("mat_driver", "pressure_tracker", "mesh_recovery"))
        rows.append([r["people"], r["rate_hz"], r["published_rate_hz"], r["bodies_rate_hz"], r["latency_p50_ms"],
                     r["latency_p99_ms"], r["pressure_frames_heard"], r["frames_without_bodies"], r["driver_frames_late"],
                     cpu, rss])
    return markdown_table(header, rows)


def stages_table(rows: list[dict]) -> str:
    def extras(row: dict) -> str:
        keys = ("encoder_frames", "frames", "head_passes", "speedup_vs_reencoding", "bytes_per_person", "fps_mean", "note")
        return ", ".join(f"{k}={row[k]:.3g}" if isinstance(row[k], float) else f"{k}={row[k]}" for k in keys if k in row)
    return markdown_table(["stage", "variant", "unit", "ms/unit (median)", "ms/unit (best)", "units/s (median)", "details"],
                          [[r["stage"], r["variant"], r["unit"], r["ms_per_item_median"], r["ms_per_item_best"],
                            r["items_per_s_median"], extras(r)] for r in rows])


def write_report(out: Path, report: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=2))
    parts = ["# PressTrack benchmark", "", machine_markdown(report["machine"]), ""]
    if report.get("stages") is not None:
        parts += ["## Per stage (this process, torch on 1 thread)", "", stages_table(report["stages"]), ""]
    if report.get("end_to_end") is not None:
        parts += ["## End to end over DDS (separate node processes, independent listener)", "",
                  f"Latency: /presstrack/bodies arrival minus header stamp. CPU in % of one core over the "
                  f"measured window; peak RSS over the whole run. {report['end_to_end_note']}", "",
                  end_to_end_table(report["end_to_end"]), ""]
    if report.get("driver_alone") is not None:
        d = report["driver_alone"]
        parts += ["The graph above runs the simulator node (presstrack_sim) as its mat source. The driver alone, "
                  f"replaying a {d['rows']} x {d['cols']} MIP file at {d['rate_hz']:g} Hz "
                  f"(`presstrack-driver-rate`'s measurement): received {d['received_hz']:.2f} Hz, "
                  f"peak RSS {d['peak_rss_mib']:.0f} MiB.", ""]
    (out / "bench.md").write_text("\n".join(parts))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="presstrack-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/bench", metavar="DIR", help="where bench.json and bench.md go (default ./out/bench)")
    parser.add_argument("--quick", action="store_true", help="smoke test: few repeats, 1 and 3 people, short runs")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--stages-only", action="store_true", help="only the per-stage part (no ROS graph)")
    which.add_argument("--e2e-only", action="store_true", help="only the end-to-end part")
    parser.add_argument("--duration", type=float, metavar="S", help="measured seconds per end-to-end configuration "
                        "(default 20, quick 5)")
    parser.add_argument("--warmup", type=float, metavar="S", help="seconds after the first body before measuring "
                        "(default 5, quick 2)")
    parser.add_argument("--people", type=int, nargs="+", metavar="N", help="end-to-end people counts (default 1 3 5)")
    parser.add_argument("--rates", type=float, nargs="+", metavar="HZ", help="end-to-end rates (default 15 30 60)")
    parser.add_argument("--profile", metavar="DIR", help="instead of the matrix: run the first people/rate "
                        "configuration with every node under cProfile; DIR/<node>.prof and .txt (top functions)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="extra parameter override for the end-to-end graph (repeatable)")
    options = parser.parse_args(argv)
    for name in ("duration", "warmup"):
        value = getattr(options, name)
        if value is not None and not (math.isfinite(value) and value > 0):
            parser.error(f"--{name} must be a positive number of seconds, got {value:g}")
    if any(p < 1 for p in options.people or []) or any(not r > 0 for r in options.rates or []):
        parser.error("--people must be >= 1 and --rates > 0")
    try:
        out = check_output_folder(options.out, "--out")
        if options.profile:
            check_output_folder(options.profile, "--profile")
    except ValueError as error:
        parser.exit(2, f"presstrack-bench: error: {error}\n")
    isolate_ros()
    report: dict = {"machine": machine_description(), "quick": options.quick, "stages": None, "end_to_end": None}
    report["machine"]["torch_threads_in_stages"] = 1  # set by run_stages, as in the mesh_recovery node
    if not options.e2e_only:
        print("[presstrack-bench] per-stage benchmarks", file=sys.stderr, flush=True)
        report["stages"] = run_stages(options.quick)
        write_report(out, report)
    if not options.stages_only:
        people = options.people or ([3] if options.quick else [1, 3, 5])
        rates = options.rates or ([15.0] if options.quick else [15.0, 30.0, 60.0])
        duration = options.duration or (5.0 if options.quick else 20.0)
        warmup = options.warmup or (2.0 if options.quick else 5.0)
        report["end_to_end_note"] = f"{warmup:g} s warm-up after the first body, then {duration:g} s measured."
        report["end_to_end"] = []
        log_dir = out / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        if options.profile:
            profile_dir = Path(options.profile)
            report["end_to_end_note"] += " Every node under cProfile (slower than normal)."
            report["end_to_end"] = [run_end_to_end(people[0], rates[0], warmup, duration, log_dir, options.sets,
                                                   profile_dir=profile_dir)]
            report["profiles"] = {node: str(profile_dir / f"{node}.txt") for node in profile_summaries(profile_dir)}
            people = []
        report["driver_alone"] = driver_alone(rates[0], duration)
        for count in people:
            for rate in rates:
                print(f"[presstrack-bench] end to end: {count} people at {rate:g} Hz", file=sys.stderr, flush=True)
                report["end_to_end"].append(run_end_to_end(count, rate, warmup, duration, log_dir, options.sets))
                write_report(out, report)
        import rclpy

        rclpy.try_shutdown()
    report["machine"]["load_average_at_end"] = machine_description()["load_average_1_5_15"]
    write_report(out, report)
    print((out / "bench.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
