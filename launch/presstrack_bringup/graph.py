"""The PressTrack graph in one place: which nodes run, with which parameters, and which topics it has.

Both launch/presstrack.launch.py (on a ROS host) and ``presstrack up`` (everywhere else) build the
graph from ``plan_graph``, so the two start the same nodes with the same parameters. No rclpy here.

Parameters come from config/presstrack.yaml (ROS 2 params-file format, one block per node), then the
launch arguments (``source:=mip people:=3`` ...), then explicit ``node.param=value`` overrides.
"""
from __future__ import annotations

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
    LaunchArgument("device", "", "where the learned backend runs its network: cpu | cuda (empty: the parameter "
                                 "file's)"),
    LaunchArgument("rviz", "false", "start RViz2 with the PressTrack view"),
    LaunchArgument("record", "false", "record the suite's topics to a rosbag2 MCAP bag"),
)
LAUNCH_ARGUMENT_NAMES = tuple(argument.name for argument in LAUNCH_ARGUMENTS)
MESH_BACKENDS = ("footprint", "learned")
MESH_DEVICES = ("cpu", "cuda")

# Every topic of the suite, for recording. Per-person crops (/presstrack/persons/person_<id>/pressure)
# appear as people are tracked.
SUITE_TOPICS: tuple[str, ...] = (
    "/mat/pressure",
    "/mat/info",
    "/mat/sim/persons",
    "/mat/sim/bodies",
    "/tf_static",
    "/tf",
    "/diagnostics",
    "/presstrack/persons",
    "/presstrack/persons/tracked",
    "/presstrack/debug_image",
    "/presstrack/bodies",
    "/presstrack/meshes",
)
# ROS 2 topic name tokens must not start with a digit, so the id token is e.g. ``person_7``
# (/presstrack/persons/7/pressure is rejected by rcl); any valid token is accepted here.
PERSON_PRESSURE_PATTERN = r"/presstrack/persons/[A-Za-z_][A-Za-z0-9_]*/pressure"
SUITE_TOPIC_REGEX = "^(" + "|".join([re.escape(t) for t in SUITE_TOPICS] + [PERSON_PRESSURE_PATTERN]) + ")$"


def is_suite_topic(topic: str) -> bool:
    return re.fullmatch(SUITE_TOPIC_REGEX, topic) is not None


Parameters = dict[str, dict[str, Any]]  # node name -> parameter name -> value


@dataclass(frozen=True)
class GraphPlan:
    """What to start: the nodes, each node's parameters, and the launch-level options."""

    nodes: tuple[NodeSpec, ...]
    parameters: Parameters
    rviz: bool
    record: bool

    def params_file_text(self) -> str:
        """The parameters as a ROS 2 params file (the format of config/presstrack.yaml)."""
        document = {node: {"ros__parameters": params} for node, params in self.parameters.items()}
        return yaml.safe_dump(document, sort_keys=False, default_flow_style=None)


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


def load_parameters(path: str | Path | None = None) -> Parameters:
    """Every node's ``ros__parameters`` block of a params file (default: config/presstrack.yaml)."""
    path = Path(path) if path is not None else default_config_path()
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise GraphError(f"{path}: cannot read parameter file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise GraphError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(document, dict):
        raise GraphError(f"{path}: expected one block per node, got {type(document).__name__}")
    parameters: Parameters = {}
    for spec in NODES:
        block = document.get(spec.name)
        if not isinstance(block, dict) or not isinstance(block.get("ros__parameters"), dict):
            raise GraphError(f"{path}: no '{spec.name}: ros__parameters:' block")
        parameters[spec.name] = dict(block["ros__parameters"])
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


def apply_settings(parameters: Parameters, settings: Iterable[tuple[str, str, str]]) -> Parameters:
    """A copy of ``parameters`` with each (node, param, value text) set; unknown nodes or parameters are errors."""
    result = {node: dict(params) for node, params in parameters.items()}
    for node, name, value in settings:
        if node not in result:
            raise GraphError(f"unknown node {node!r} in {node}.{name}; nodes: {', '.join(result)}")
        if name not in result[node]:
            raise GraphError(f"unknown parameter {node}.{name}; {node} has: {', '.join(result[node])}")
        result[node][name] = _typed(f"{node}.{name}", value, result[node][name])
    return result


def plan_graph(
    arguments: Mapping[str, str] | None = None,
    sets: Iterable[str] = (),
    config_path: str | Path | None = None,
) -> GraphPlan:
    """The graph for these launch arguments (name -> text, as on a command line) and ``node.param=value`` sets.

    Launch arguments are applied before the sets, so ``--set mesh_recovery.backend=footprint`` wins over
    what ``checkpoint:=`` implies.
    """
    arguments = dict(arguments or {})
    settings = argument_overrides(arguments)
    settings += [parse_set(text) for text in sets]
    parameters = apply_settings(load_parameters(config_path), settings)
    return GraphPlan(
        nodes=graph_nodes(parameters),
        parameters=parameters,
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
