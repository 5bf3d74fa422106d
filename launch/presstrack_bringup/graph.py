"""The PressTrack graph in one place: which nodes run, with which parameters, and which topics it has.

Both launch/presstrack.launch.py (on a ROS host) and ``presstrack up`` (everywhere else) build the
graph from ``plan_graph``, so the two start the same nodes with the same parameters. No rclpy here.

Parameters come from a params file (config/presstrack.yaml unless ``params_file:=`` names another; ROS 2
params-file format, one ``/**/<node>`` block per node so it applies in any namespace), then the launch
arguments (``source:=mip people:=3`` ...), then explicit ``node.param=value`` overrides. The nodes are given
the params file as it is and the changed values as ``-p name:=value`` arguments, so no file is written.
"""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PACKAGE = "presstrack_bringup"
CONFIG_NAME = "presstrack.yaml"
RVIZ_NAME = "presstrack.rviz"

SOURCES = ("sim", "mip", "bag", "serial", "udp")


class GraphError(ValueError):
    """Bad graph input (launch argument, override or parameter file); the message names the problem."""


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph.

    ``node_class`` is ``module:Class``; the class accepts rclpy ``Node`` keyword arguments, so the same
    node runs composed in one process. ``respawn_delay`` [s] and ``max_respawns`` apply when ``respawn``.
    """

    package: str
    executable: str
    name: str
    node_class: str
    respawn: bool = False
    respawn_delay: float = 2.0
    max_respawns: int = 3


# The driver talks to hardware (serial/UDP) that can drop out; restart it rather than end the session.
MAT_DRIVER = NodeSpec("mat_driver", "mat_driver", "mat_driver", "mat_driver.node:MatDriverNode", respawn=True)
# The simulator stands in for the driver: same node name, parameter block and topics.
MAT_SIMULATOR = NodeSpec("presstrack_sim", "mat_sim", "mat_driver", "presstrack_sim.node:SimMatNode", respawn=True)
NODES: tuple[NodeSpec, ...] = (
    MAT_DRIVER,
    NodeSpec("pressure_tracker", "pressure_tracker", "pressure_tracker", "pressure_tracker.node:PressureTrackerNode"),
    NodeSpec("mesh_recovery", "mesh_recovery", "mesh_recovery", "mesh_recovery.node:MeshRecoveryNode"),
)


def graph_nodes(parameters: Parameters) -> tuple[NodeSpec, ...]:
    """The nodes to start: the simulator in the driver's place when the mat source is ``sim``."""
    mat = MAT_SIMULATOR if parameters[MAT_DRIVER.name].get("source") == "sim" else MAT_DRIVER
    return (mat, *NODES[1:])


@dataclass(frozen=True)
class LaunchArgument:
    name: str
    default: str
    description: str


LAUNCH_ARGUMENTS: tuple[LaunchArgument, ...] = (
    LaunchArgument("source", "", "mat source: " + " | ".join(SOURCES) + " (empty: the parameter file's)"),
    LaunchArgument("people", "", "number of simulated people (sim source; empty: the parameter file's)"),
    LaunchArgument("seed", "", "simulator random seed (empty: the parameter file's)"),
    LaunchArgument("smpl_model_path", "", "SMPL model file or folder (empty: the parameter file's)"),
    LaunchArgument("backend", "", "mesh recovery backend: footprint | learned (empty: the parameter file's; "
                                  "learned without checkpoint:= runs the shipped checkpoint)"),
    LaunchArgument("checkpoint", "", "learned-backend checkpoint (.pt); non-empty also selects backend learned"),
    LaunchArgument("namespace", "", "ROS namespace of the graph's nodes and topics, e.g. mat_a (empty: the root)"),
    LaunchArgument("params_file", "", "ROS 2 params file with a /**/<node> block per node "
                                      "(empty: the installed presstrack.yaml)"),
    LaunchArgument("use_sim_time", "false", "every node takes its time from /clock (replaying a bag with --clock)"),
    LaunchArgument("device", "", "where the learned backend runs its network: cpu | cuda (empty: the parameter "
                                 "file's)"),
    LaunchArgument("rviz", "false", "start RViz2 with the PressTrack view"),
    LaunchArgument("record", "false", "record the suite's topics to a rosbag2 MCAP bag"),
)
LAUNCH_ARGUMENT_NAMES = tuple(argument.name for argument in LAUNCH_ARGUMENTS)
MESH_BACKENDS = ("footprint", "learned")
MESH_DEVICES = ("cpu", "cuda")

# Every topic of the suite, for recording, relative to the graph's namespace; the TF and diagnostics
# topics are global by convention. Per-person crops (presstrack/persons/person_<id>/pressure) appear as
# people are tracked.
GLOBAL_TOPICS: tuple[str, ...] = ("/tf_static", "/tf", "/diagnostics")
RELATIVE_TOPICS: tuple[str, ...] = (
    "mat/pressure",
    "mat/info",
    "mat/sim/persons",
    "mat/sim/bodies",
    "presstrack/persons",
    "presstrack/persons/tracked",
    "presstrack/debug_image",
    "presstrack/bodies",
    "presstrack/meshes",
)
# ROS 2 topic name tokens must not start with a digit, so the id token is e.g. ``person_7``
# (/presstrack/persons/7/pressure is rejected by rcl); any valid token is accepted here.
PERSON_PRESSURE_PATTERN = r"presstrack/persons/[A-Za-z_][A-Za-z0-9_]*/pressure"


def namespace_prefix(namespace: str) -> str:
    """``""`` / ``"/"`` -> ``"/"``; ``"mat_a"`` or ``"/mat_a/"`` -> ``"/mat_a/"`` (GraphError if not a valid name)."""
    stripped = namespace.strip("/")
    if stripped and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*", stripped):
        raise GraphError(f"namespace {namespace!r}: tokens of letters, digits and _, not starting with a digit")
    return f"/{stripped}/" if stripped else "/"


def suite_topics(namespace: str = "") -> tuple[str, ...]:
    """The suite's fixed topics as absolute names for a graph in ``namespace``."""
    prefix = namespace_prefix(namespace)
    return (*(prefix + topic for topic in RELATIVE_TOPICS), *GLOBAL_TOPICS)


def suite_topic_regex(namespace: str = "") -> str:
    prefix = re.escape(namespace_prefix(namespace))
    return "^(" + "|".join([re.escape(t) for t in suite_topics(namespace)] + [prefix + PERSON_PRESSURE_PATTERN]) + ")$"


SUITE_TOPICS = suite_topics()
SUITE_TOPIC_REGEX = suite_topic_regex()


def is_suite_topic(topic: str, namespace: str = "") -> bool:
    return re.fullmatch(suite_topic_regex(namespace), topic) is not None


Parameters = dict[str, dict[str, Any]]  # node name -> parameter name -> value


@dataclass(frozen=True)
class GraphPlan:
    """What to start: the nodes, the params file and what the launch arguments change in it, each node's
    resulting parameters, and the launch-level options."""

    nodes: tuple[NodeSpec, ...]
    parameters: Parameters
    params_file: Path
    overrides: Parameters
    namespace: str
    rviz: bool
    record: bool

    def parameter_arguments(self, node: str) -> list[str]:
        """The ROS arguments that give ``node`` its parameters: the params file, then ``-p name:=value`` for
        what the launch arguments change. rcl lets the later of two equally specific settings win, and
        stores ``-p`` values as ``/**`` ones, so they must come after the file (see ``load_parameters``)."""
        # JSON is YAML: strings stay strings ("1" is not read as a number), lists and bools keep their type.
        settings = [a for name, value in self.overrides.get(node, {}).items() for a in ("-p", f"{name}:={json.dumps(value)}")]
        return ["--params-file", str(self.params_file), *settings]


def package_share(package: str) -> Path | None:
    """share/<package> of an installed package: from the ament index where its environment is set up
    (a sourced ROS host), else under this Python's prefix (the pip-only .venv, which is never sourced)."""
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory(package))
    except (ImportError, LookupError, OSError):  # not installed, unknown, or AMENT_PREFIX_PATH unset
        pass
    candidate = Path(sys.prefix) / "share" / package
    return candidate if candidate.is_dir() else None


def share_directory() -> Path:
    """The installed share/presstrack_bringup, else this source tree's launch/ folder."""
    return package_share(PACKAGE) or Path(__file__).resolve().parents[1]


def default_config_path() -> Path:
    installed = share_directory() / "config" / CONFIG_NAME
    return installed if installed.is_file() else Path(__file__).resolve().parents[1] / "config" / CONFIG_NAME


def default_rviz_path() -> Path:
    installed = share_directory() / "rviz" / RVIZ_NAME
    return installed if installed.is_file() else Path(__file__).resolve().parents[1] / "rviz" / RVIZ_NAME


def _node_block(document: dict, node: str) -> dict | None:
    """The ``ros__parameters`` of ``node`` in a params file: its ``/**/<node>`` block, or a bare ``<node>`` one."""
    for key in (f"/**/{node}", node, f"/{node}"):
        block = document.get(key)
        if isinstance(block, dict) and isinstance(block.get("ros__parameters"), dict):
            return block["ros__parameters"]
    return None


def load_parameters(path: str | Path | None = None) -> Parameters:
    """Every node's parameters in a params file (default: config/presstrack.yaml).

    The file has a ``/**/<node>`` (or ``<node>``) block per node. A ``/**`` block is refused: rcl would
    apply every node's own block after it, and after the ``-p`` values of the launch arguments too, which
    rcl files under ``/**``, so those would silently lose against the file.
    """
    path = Path(path) if path is not None else default_config_path()
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise GraphError(f"{path}: cannot read parameter file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise GraphError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(document, dict):
        raise GraphError(f"{path}: expected one block per node, got {type(document).__name__}")
    if "/**" in document:
        raise GraphError(f"{path}: a '/**' block for every node is not supported (it would override the "
                         "launch arguments); put its values into each node's '/**/<node>' block")
    parameters: Parameters = {}
    for spec in NODES:
        block = _node_block(document, spec.name)
        if block is None:
            raise GraphError(f"{path}: no '/**/{spec.name}: ros__parameters:' block")
        parameters[spec.name] = dict(block)
    return parameters


def _parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off", ""):
        return False
    raise GraphError(f"launch argument {name}:={text!r} must be true or false")


def _parse_count(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise GraphError(f"launch argument {name}:={text!r} must be a whole number") from None
    if value < 0:
        raise GraphError(f"launch argument {name}:={text!r} must not be negative")
    return value


def argument_overrides(arguments: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """The (node, parameter, value text) settings that launch arguments stand for; empty arguments set nothing."""
    unknown = sorted(set(arguments) - set(LAUNCH_ARGUMENT_NAMES))
    if unknown:
        raise GraphError(f"unknown launch argument {unknown[0]!r}; known: {', '.join(LAUNCH_ARGUMENT_NAMES)}")
    settings: list[tuple[str, str, str]] = []
    source = arguments.get("source", "")
    if source:
        if source not in SOURCES:
            raise GraphError(f"launch argument source:={source!r} must be one of {', '.join(SOURCES)}")
        settings.append(("mat_driver", "source", source))
    for name in ("people", "seed"):
        if arguments.get(name, ""):
            settings.append(("mat_driver", name, str(_parse_count(name, arguments[name]))))
    if arguments.get("smpl_model_path", ""):
        settings.append(("mesh_recovery", "smpl_model_path", arguments["smpl_model_path"]))
    backend = arguments.get("backend", "")
    if backend not in ("", *MESH_BACKENDS):
        raise GraphError(f"launch argument backend:={backend!r} must be one of {', '.join(MESH_BACKENDS)}")
    if arguments.get("checkpoint", ""):
        if backend == "footprint":
            raise GraphError("launch argument checkpoint:= is for backend learned, not backend:=footprint")
        settings.append(("mesh_recovery", "checkpoint", arguments["checkpoint"]))
        backend = "learned"
    if backend:
        settings.append(("mesh_recovery", "backend", backend))
    device = arguments.get("device", "")
    if device not in ("", *MESH_DEVICES):
        raise GraphError(f"launch argument device:={device!r} must be one of {', '.join(MESH_DEVICES)}")
    if device:
        settings.append(("mesh_recovery", "device", device))
    return settings


def parse_set(text: str) -> tuple[str, str, str]:
    """``node.param=value`` -> (node, param, value text); the text is typed by ``apply_settings``."""
    match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_.]*)=(.*)", text, flags=re.DOTALL)
    if match is None:
        raise GraphError(f"--set {text!r}: expected node.param=value, e.g. mat_driver.people=2")
    node, name, value = match.groups()
    return node, name, value


def _typed(where: str, text: str, current: Any) -> Any:
    """``text`` as a value of the type of the parameter's file value ``current``.

    Text parameters take the text as it is; others read it as YAML (``3``, ``1.5``, ``true``, ``[1, 2]``).
    The type must match, since ROS 2 rejects a parameter whose type changes.
    """
    if isinstance(current, str):
        return text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise GraphError(f"{where}={text!r}: not a valid value") from None
    return _checked(where, value, current)


def _checked(where: str, value: Any, current: Any) -> Any:
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        raise GraphError(f"{where}={value!r}: must be true or false")
    if isinstance(current, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise GraphError(f"{where}={value!r}: must be a number")
    if isinstance(current, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise GraphError(f"{where}={value!r}: must be a whole number")
    if isinstance(current, str):
        if isinstance(value, str):
            return value
        raise GraphError(f"{where}={value!r}: must be text")
    if isinstance(current, list):
        if not isinstance(value, list) or len(value) != len(current):
            raise GraphError(f"{where}={value!r}: must be a list of {len(current)} values like {current}")
        return [_checked(f"{where}[{i}]", v, c) for i, (v, c) in enumerate(zip(value, current))]
    return value


def apply_settings(parameters: Parameters, settings: Iterable[tuple[str, str, str]]) -> tuple[Parameters, Parameters]:
    """``parameters`` with each (node, param, value text) set, and the values set; unknown nodes or parameters
    are errors."""
    result = {node: dict(params) for node, params in parameters.items()}
    changed: Parameters = {node: {} for node in parameters}
    for node, name, value in settings:
        if node not in result:
            raise GraphError(f"unknown node {node!r} in {node}.{name}; nodes: {', '.join(result)}")
        if name not in result[node]:
            raise GraphError(f"unknown parameter {node}.{name}; {node} has: {', '.join(result[node])}")
        result[node][name] = changed[node][name] = _typed(f"{node}.{name}", value, result[node][name])
    return result, changed


def plan_graph(
    arguments: Mapping[str, str] | None = None,
    sets: Iterable[str] = (),
    config_path: str | Path | None = None,
) -> GraphPlan:
    """The graph for these launch arguments (name -> text, as on a command line) and ``node.param=value`` sets.

    Launch arguments are applied before the sets, so ``--set mesh_recovery.backend=footprint`` wins over
    what ``checkpoint:=`` implies. ``params_file:=`` wins over ``config_path``.
    """
    arguments = dict(arguments or {})
    settings = argument_overrides(arguments)
    settings += [parse_set(text) for text in sets]
    params_file = Path(arguments.get("params_file") or config_path or default_config_path()).resolve()
    parameters, overrides = apply_settings(load_parameters(params_file), settings)
    if _parse_bool("use_sim_time", arguments.get("use_sim_time", "false")):
        for node in parameters:  # a parameter of every rclpy node, whether the file names it or not
            parameters[node]["use_sim_time"] = overrides[node]["use_sim_time"] = True
    return GraphPlan(
        nodes=graph_nodes(parameters),
        parameters=parameters,
        params_file=params_file,
        overrides={node: values for node, values in overrides.items() if values},
        namespace=namespace_prefix(arguments.get("namespace", "")).rstrip("/") or "/",
        rviz=_parse_bool("rviz", arguments.get("rviz", "false")),
        record=_parse_bool("record", arguments.get("record", "false")),
    )


def parse_launch_arguments(tokens: Iterable[str]) -> dict[str, str]:
    """``["source:=mip", "people:=3"]`` -> ``{"source": "mip", "people": "3"}``."""
    arguments: dict[str, str] = {}
    for token in tokens:
        name, separator, value = token.partition(":=")
        if not separator or not name:
            raise GraphError(f"{token!r}: expected a launch argument name:=value, e.g. people:=2")
        if name not in LAUNCH_ARGUMENT_NAMES:
            raise GraphError(f"unknown launch argument {name!r}; known: {', '.join(LAUNCH_ARGUMENT_NAMES)}")
        arguments[name] = value
    return arguments
