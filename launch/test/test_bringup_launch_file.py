"""launch/presstrack.launch.py starts what `presstrack up` starts, with the same parameters."""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
import yaml

from presstrack_bringup import cli
from presstrack_bringup.graph import LAUNCH_ARGUMENTS, NODES, SUITE_TOPIC_REGEX, is_suite_topic, plan_graph, suite_topic_regex

LAUNCH_FILE = Path(__file__).resolve().parents[1] / "launch" / "presstrack.launch.py"


def _load_launch_file(name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Action:
    """Stands in for a launch action class: records how it was constructed."""

    created: list[_Action] = []

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        _Action.created.append(self)


@pytest.fixture
def stand_in_launch(monkeypatch):
    """Minimal `launch` and `launch_ros` modules that record the actions instead of running them."""
    _Action.created = []
    launch = types.ModuleType("launch")
    launch.LaunchDescription = type("LaunchDescription", (_Action,), {})
    actions = types.ModuleType("launch.actions")
    for name in ("DeclareLaunchArgument", "ExecuteProcess", "OpaqueFunction"):
        setattr(actions, name, type(name, (_Action,), {}))
    launch.actions = actions
    launch_ros = types.ModuleType("launch_ros")
    ros_actions = types.ModuleType("launch_ros.actions")
    ros_actions.Node = type("Node", (_Action,), {})
    launch_ros.actions = ros_actions
    for name, module in {"launch": launch, "launch.actions": actions,
                         "launch_ros": launch_ros, "launch_ros.actions": ros_actions}.items():
        monkeypatch.setitem(sys.modules, name, module)
    return _load_launch_file("presstrack_launch_stand_in")


def _launch(module: types.ModuleType, overrides: dict[str, str]) -> list[_Action]:
    """Run generate_launch_description and its OpaqueFunction as `ros2 launch ... name:=value` would."""
    description = module.generate_launch_description()
    (entities,) = description.args
    declared = {e.args[0]: e.kwargs["default_value"] for e in entities if type(e).__name__ == "DeclareLaunchArgument"}
    assert set(declared) == {a.name for a in LAUNCH_ARGUMENTS}
    assert set(overrides) <= set(declared)
    (opaque,) = [e for e in entities if type(e).__name__ == "OpaqueFunction"]
    context = types.SimpleNamespace(launch_configurations={**declared, **overrides})
    return opaque.kwargs["function"](context)


def _node_parameters(ros_arguments: list[str], node: str) -> dict:
    """What a node reads: its block of the params file, then the ``-p name:=value`` ROS arguments."""
    assert ros_arguments[0] == "--params-file"
    values = yaml.safe_load(Path(ros_arguments[1]).read_text())[f"/**/{node}"]["ros__parameters"]
    ros_arguments = ros_arguments[2:]
    assert ros_arguments[::2] == ["-p"] * (len(ros_arguments) // 2)
    for name, text in (a.split(":=", 1) for a in ros_arguments[1::2]):
        values[name] = yaml.safe_load(text)
    return values


ARGUMENT_SETS = [
    {},
    {"people": "1", "seed": "42"},
    {"source": "mip", "smpl_model_path": "/models/SMPL_NEUTRAL.pkl"},
    {"checkpoint": "/ckpt/presstrack_hmr.pt", "people": "3"},
    {"source": "bag", "rviz": "true", "record": "true"},
    {"namespace": "mat_a", "use_sim_time": "true", "record": "true"},
]


@pytest.mark.parametrize("overrides", ARGUMENT_SETS)
def test_launch_file_matches_presstrack_up(stand_in_launch, overrides, monkeypatch, tmp_path):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # any temporary file would land here
    actions = _launch(stand_in_launch, overrides)
    plan = plan_graph(overrides)
    nodes = [a for a in actions if type(a).__name__ == "Node" and a.kwargs["package"] != "rviz2"]

    # What `presstrack up` would start for the same arguments.
    monkeypatch.setattr(cli, "find_executable", lambda spec: f"/prefix/lib/{spec.package}/{spec.executable}")
    monkeypatch.setattr(cli.shutil, "which", lambda name: f"/usr/bin/{name}")
    up_specs = cli.process_specs(plan, composed=False, record_out=None)
    up_nodes = [s for s in up_specs if s.name in {n.name for n in NODES}]

    assert [(n.kwargs["package"], n.kwargs["executable"], n.kwargs["name"]) for n in nodes] == [
        (s.package, s.executable, s.name) for s in plan.nodes]
    assert [s.argv[-1] for s in up_nodes] == [f"__node:={n.kwargs['name']}" for n in nodes]
    for node, spec, up in zip(nodes, plan.nodes, up_nodes):
        assert "parameters" not in node.kwargs  # launch_ros would put a params file after the -p values
        assert node.kwargs["namespace"] == plan.namespace == ("/mat_a" if overrides.get("namespace") else "/")
        assert f"__ns:={plan.namespace}" in up.argv
        up_arguments = list(up.argv[up.argv.index("--ros-args") + 1:up.argv.index("-r")])
        assert up_arguments == node.kwargs["ros_arguments"]
        assert up_arguments[1] == str(plan.params_file)
        assert _node_parameters(up_arguments, spec.name) == plan.parameters[spec.name]
        assert node.kwargs.get("respawn", False) == spec.respawn == up.respawn
        if spec.respawn:
            assert node.kwargs["respawn_delay"] == up.respawn_delay
            assert node.kwargs["respawn_max_retries"] == up.max_respawns
    assert list(tmp_path.iterdir()) == [], "no temporary file is left behind"

    rviz = [a for a in actions if type(a).__name__ == "Node" and a.kwargs["package"] == "rviz2"]
    assert len(rviz) == (overrides.get("rviz") == "true") == any(s.name == "rviz2" for s in up_specs)
    if rviz:
        assert rviz[0].kwargs["arguments"][0] == "-d"
        assert rviz[0].kwargs["arguments"][1].endswith("presstrack.rviz")
        # The config's topics are relative: RViz runs in the graph's namespace, as `presstrack up` starts it.
        assert rviz[0].kwargs["namespace"] == plan.namespace
        rviz_spec = next(s for s in up_specs if s.name == "rviz2")
        assert rviz_spec.argv[-2:] == ("-r", f"__ns:={plan.namespace}")
    records = [a for a in actions if type(a).__name__ == "ExecuteProcess"]
    assert len(records) == (overrides.get("record") == "true")
    if records:
        command = records[0].kwargs["cmd"]
        assert command[:5] == ["ros2", "bag", "record", "-s", "mcap"]
        assert command[command.index("--regex") + 1] == suite_topic_regex(plan.namespace)


def test_launch_file_expected_values(stand_in_launch):
    """Spot values, so the comparison above cannot pass with both sides equally wrong."""
    actions = _launch(stand_in_launch, {"checkpoint": "/ckpt/presstrack_hmr.pt", "people": "3",
                                        "use_sim_time": "true"})
    by_name = {a.kwargs["name"]: _node_parameters(a.kwargs["ros_arguments"], a.kwargs["name"])
               for a in actions if type(a).__name__ == "Node"}
    assert by_name["mesh_recovery"]["backend"] == "learned"
    assert by_name["mesh_recovery"]["checkpoint"] == "/ckpt/presstrack_hmr.pt"
    assert by_name["mat_driver"]["people"] == 3
    assert all(values["use_sim_time"] is True for values in by_name.values())


def test_record_regex_takes_the_suite_topics():
    import re

    for topic in ("/mat/pressure", "/tf_static", "/presstrack/persons/person_12/pressure", "/rosout"):
        assert (re.fullmatch(SUITE_TOPIC_REGEX, topic) is not None) == is_suite_topic(topic)


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None,
                    reason="launch_ros is not installed (pip-only set-up without ROS 2 launch); "
                           "the stand-in test above covers the launch file")
def test_launch_file_with_real_launch_ros():
    from launch import LaunchContext, LaunchDescription
    from launch.actions import OpaqueFunction
    from launch_ros.actions import Node

    module = _load_launch_file("presstrack_launch_real")
    description = module.generate_launch_description()
    assert isinstance(description, LaunchDescription)
    context = LaunchContext()
    for entity in description.entities:
        if not isinstance(entity, OpaqueFunction):
            entity.visit(context)
    (opaque,) = [e for e in description.entities if isinstance(e, OpaqueFunction)]
    nodes = [a for a in opaque.execute(context) if isinstance(a, Node)]
    assert [n.node_executable for n in nodes] == [s.executable for s in plan_graph().nodes]
