"""``presstrack``: run, record, replay and render the PressTrack graph where ``ros2 launch`` is not available.

    presstrack up [--composed] [--record OUT] [--set node.param=value ...] [--duration S] [name:=value ...]
    presstrack demo [--duration S] [--out DIR] [...]     # 3 simulated people: run, record, score, render
    presstrack score [--duration S] [--json FILE]        # score a running simulated graph against its truth
    presstrack record OUT [--topics T ...] [--namespace NS] [--duration S] [--split S]
    presstrack replay BAG [--rate R] [--loop] [up options]
    presstrack render BAG --out preview.png|gif|mp4 [--start S] [--duration S] [--fps F]

Bad input (a missing or unreadable bag, a bag without the needed topic, a bad --set) ends with exit
status 2 and one line naming the file and the problem.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from presstrack_common.outputs import check_creatable_folder, check_writable_file
from presstrack_bringup.bagfile import BagError, SegmentedBagWriter, bag_directory, open_bag, require_topic, suite_typestore
from presstrack_bringup.graph import (
    LAUNCH_ARGUMENT_NAMES,
    SUITE_TOPICS,
    GraphError,
    GraphPlan,
    NodeSpec,
    default_rviz_path,
    suite_topic_regex,
    parse_launch_arguments,
    plan_graph,
)
from presstrack_bringup.processes import GraphAlreadyRunning, ProcessSpec, Supervisor, exclusive_graph
from presstrack_bringup.render import RenderError, render_bag

USAGE_ERROR = 2


class UsageError(ValueError):
    """Bad input the user can fix; printed as one line, exit status 2."""


def find_executable(spec: NodeSpec) -> str:
    """lib/<package>/<executable> of the install prefix (where colcon puts it), else PATH."""
    for prefix in _package_prefixes(spec.package):
        candidate = prefix / "lib" / spec.package / spec.executable
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(spec.executable)
    if found is None:
        raise UsageError(f"{spec.package}/{spec.executable}: executable not found (run make build)")
    return found


def _package_prefixes(package: str) -> list[Path]:
    prefixes = []
    try:
        from ament_index_python.packages import get_package_prefix

        prefixes.append(Path(get_package_prefix(package)))
    except (ImportError, LookupError, OSError):
        pass
    return prefixes + [Path(sys.prefix)]


def process_specs(plan: GraphPlan, composed: bool, record_out: str | None) -> list[ProcessSpec]:
    """The processes that run ``plan``: one per node (or one composed process), recorder and RViz2. Each node
    reads the plan's params file as it is, and what the launch arguments change as ``-p`` arguments."""
    if composed:
        specs = [ProcessSpec("composed", (sys.executable, "-m", "presstrack_bringup.composed",
                                          "--params-file", str(plan.params_file), "--namespace", plan.namespace,
                                          "--overrides", json.dumps(plan.overrides),
                                          *(f"{n.name}={n.node_class}" for n in plan.nodes)))]
    else:
        specs = [
            ProcessSpec(node.name, (find_executable(node), "--ros-args", *plan.parameter_arguments(node.name),
                                    "-r", f"__ns:={plan.namespace}",
                                    "-r", f"__node:={node.name}"),
                        respawn=node.respawn, respawn_delay=node.respawn_delay, max_respawns=node.max_respawns)
            for node in plan.nodes
        ]
    if record_out is not None:
        # A recorder that dies is reported; the graph goes on (its bag stays readable up to its last split).
        specs.append(ProcessSpec("recorder", (sys.executable, "-m", "presstrack_bringup.cli", "record", record_out,
                                              "--namespace", plan.namespace), essential=False))
    if plan.rviz:
        rviz = shutil.which("rviz2")
        if rviz is None:
            raise UsageError("rviz:=true: rviz2 is not installed here; use `presstrack render` for a headless view")
        specs.append(ProcessSpec("rviz2", (rviz, "-d", str(default_rviz_path()), "--ros-args", "-r", f"__ns:={plan.namespace}")))
    return specs


def _check(check, path, what: str) -> Path:
    """An output path checked before the work (see presstrack_common.outputs); UsageError if it will not do."""
    try:
        return check(path, what)
    except ValueError as error:
        raise UsageError(str(error)) from None


def run_graph(
    arguments: dict[str, str],
    sets: Sequence[str],
    composed: bool,
    record_out: str | None,
    duration: float | None,
    config: str | None = None,
    extra: Sequence[ProcessSpec] = (),
) -> int:
    plan = plan_graph(arguments, sets, config)
    if plan.record and record_out is None:
        record_out = time.strftime("presstrack_%Y%m%d-%H%M%S")
    if record_out is not None:
        _check(check_creatable_folder, bag_directory(record_out), "bag")
    specs = [*process_specs(plan, composed, record_out), *extra]
    try:
        with exclusive_graph(namespace=plan.namespace):
            print(f"[presstrack] starting {', '.join(s.name for s in specs)}"
                  f"{'' if duration is None else f' for {duration:g} s'}; Ctrl-C stops", file=sys.stderr, flush=True)
            return Supervisor(specs).run(duration)
    except GraphAlreadyRunning as error:
        raise UsageError(str(error)) from None


def run_demo(options: argparse.Namespace) -> int:
    """Run the simulated graph with a recorder and a scorer, then render the recording and summarise."""
    out = _check(check_creatable_folder, Path(options.out), "demo folder")
    out.mkdir(parents=True)
    bag, summary_file, preview = out / "session", out / "summary.json", out / "preview.gif"
    from presstrack_bringup.live_score import Summary  # rclpy only where ROS is needed

    arguments = {"source": "sim", "people": "3", "backend": "learned", **parse_launch_arguments(options.arguments)}
    sets = ["mat_driver.scenario=wander3", *options.sets]
    # The scorer starts with the graph and ends it: a process that exits 0 stops the graph cleanly.
    scorer = ProcessSpec("score", (sys.executable, "-m", "presstrack_bringup.cli", "score",
                                   "--duration", str(options.duration), "--json", str(summary_file)))
    status = run_graph(arguments, sets, options.composed, str(bag), None, options.config, extra=[scorer])
    if status != 0 or not summary_file.exists():
        print("[presstrack] the demo graph did not finish cleanly", file=sys.stderr)
        return status or 1
    render_bag(str(bag), str(preview), 0.0, None, 7.5, 6000)
    summary = json.loads(summary_file.read_text())
    print("\n".join(["PressTrack demo: 3 simulated people through the real node graph over DDS", *
                     Summary(**summary).lines(), f"bag      {bag}", f"preview  {preview}"]))
    return 0


def _add_up_options(parser: argparse.ArgumentParser, launch_arguments: bool = True) -> None:
    parser.add_argument("--composed", action="store_true", help="all nodes in one process (MultiThreadedExecutor)")
    parser.add_argument("--record", metavar="OUT", help="also record the suite's topics into bag OUT")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="override one node parameter (repeatable)")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--config", metavar="YAML", help="parameter file (default: the installed presstrack.yaml)")
    if launch_arguments:
        parser.add_argument("arguments", nargs="*", metavar="NAME:=VALUE",
                            help=f"launch arguments: {', '.join(LAUNCH_ARGUMENT_NAMES)}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="presstrack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the graph (nodes as separate processes unless --composed)")
    _add_up_options(up)
    demo = commands.add_parser("demo", help="3 simulated people through the real graph: record, score, render")
    demo.add_argument("--out", default="presstrack_demo", metavar="DIR",
                      help="where the bag, summary.json and preview.gif go (default presstrack_demo)")
    _add_up_options(demo)
    demo.set_defaults(duration=20.0)

    score = commands.add_parser("score", help="score a running simulated graph against the simulator's truth")
    score.add_argument("--duration", type=float, default=20.0, metavar="S", help="seconds to listen (default 20)")
    score.add_argument("--json", metavar="FILE", help="also write the summary as JSON")

    record = commands.add_parser("record", help="record the suite's topics into a rosbag2 MCAP bag")
    record.add_argument("out", metavar="OUT", help="bag folder to create (a trailing .mcap is dropped)")
    record.add_argument("--topics", nargs="+", metavar="TOPIC", help=f"only these topics (default: {len(SUITE_TOPICS)} "
                        "suite topics and every presstrack/persons/person_<id>/pressure)")
    record.add_argument("--namespace", default="", metavar="NS",
                        help="the graph's namespace (namespace:= of presstrack up; default: the root)")
    record.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    record.add_argument("--split", type=float, default=1.5, metavar="S",
                        help="seconds per closed bag file; a killed recorder loses at most this much and the "
                             "0.5 s it may take to close it (default 1.5: at most 2 s)")

    replay = commands.add_parser("replay", help="drive the graph from a recorded bag (source:=bag)")
    replay.add_argument("bag", metavar="BAG")
    replay.add_argument("--rate", type=float, default=1.0, metavar="R", help="playback speed factor (default 1)")
    replay.add_argument("--loop", action="store_true", help="start over at the end of the bag")
    _add_up_options(replay, launch_arguments=False)

    render = commands.add_parser("render", help="render a recorded session headless to png, gif or mp4")
    render.add_argument("bag", metavar="BAG")
    render.add_argument("--out", required=True, metavar="FILE", help="preview.png (middle frame), .gif or .mp4")
    render.add_argument("--start", type=float, default=0.0, metavar="S", help="seconds after the first frame")
    render.add_argument("--duration", type=float, metavar="S", help="seconds to render (default: to the end)")
    render.add_argument("--fps", type=float, metavar="F", help="frames per second (default: recorded rate, at most 15)")
    render.add_argument("--max-faces", type=int, default=1500, metavar="N", help="mesh triangles drawn per person")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    try:
        return _dispatch(options)
    except (UsageError, GraphError, BagError, RenderError) as error:
        print(f"presstrack: error: {' '.join(str(error).split())}", file=sys.stderr)  # always one line
        return USAGE_ERROR


def _dispatch(options: argparse.Namespace) -> int:
    if options.command == "up":
        arguments = parse_launch_arguments(options.arguments)
        return run_graph(arguments, options.sets, options.composed, options.record, options.duration, options.config)
    if options.command == "demo":
        return run_demo(options)
    if options.command == "score":
        from presstrack_bringup.live_score import score  # rclpy only where ROS is needed

        print("\n".join(score(options.duration, options.json).lines()))
        return 0
    if options.command == "record":
        suite_regex = re.compile(suite_topic_regex(options.namespace))
        wanted = set(options.topics).__contains__ if options.topics else \
            (lambda topic: suite_regex.fullmatch(topic) is not None)
        _check(check_creatable_folder, bag_directory(options.out), "bag")
        if not options.split > 0:
            raise UsageError(f"--split must be positive, got {options.split:g}")
        writer = SegmentedBagWriter(options.out, suite_typestore(), split_seconds=options.split)
        from presstrack_bringup.recorder import record  # rclpy only where ROS is needed, once the bag exists

        record(writer, wanted, options.duration)
        return 0
    if options.command == "replay":
        if options.rate <= 0:
            raise UsageError(f"--rate must be positive, got {options.rate:g}")
        reader = open_bag(options.bag)
        try:
            require_topic(reader, options.bag, "/mat/pressure")
            bag = str(Path(reader.path).resolve())
        finally:
            reader.close()
        sets = [f"mat_driver.bag_path={bag}", f"mat_driver.loop={'true' if options.loop else 'false'}",
                f"mat_driver.bag_rate={options.rate}", *options.sets]
        return run_graph({"source": "bag"}, sets, options.composed, options.record, options.duration, options.config)
    if options.command == "render":
        _check(check_writable_file, options.out, "preview")
        count = render_bag(options.bag, options.out, options.start, options.duration, options.fps, options.max_faces)
        print(f"[presstrack] wrote {count} frame{'s' if count != 1 else ''} to {options.out}", file=sys.stderr)
        return 0
    raise AssertionError(options.command)


if __name__ == "__main__":
    sys.exit(main())
