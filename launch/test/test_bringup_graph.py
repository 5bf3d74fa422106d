"""The graph plan: nodes, parameters from presstrack.yaml, launch arguments and --set overrides."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from presstrack_bringup.graph import (
    NODES,
    GraphError,
    is_suite_topic,
    load_parameters,
    parse_launch_arguments,
    plan_graph,
)
CONFIG = Path(__file__).resolve().parents[1] / "config" / "presstrack.yaml"


def test_nodes_and_classes():
    assert [(n.package, n.executable, n.name) for n in NODES] == [
        ("mat_driver", "mat_driver", "mat_driver"),
        ("pressure_tracker", "pressure_tracker", "pressure_tracker"),
        ("mesh_recovery", "mesh_recovery", "mesh_recovery"),
    ]
    assert [n.node_class for n in NODES] == [
        "mat_driver.node:MatDriverNode",
        "pressure_tracker.node:PressureTrackerNode",
        "mesh_recovery.node:MeshRecoveryNode",
    ]
    assert [n.respawn for n in NODES] == [True, False, False]


def test_no_arguments_gives_the_parameter_file():
    plan = plan_graph(config_path=CONFIG)
    document = yaml.safe_load(CONFIG.read_text())
    expected = {name.removeprefix("/**/"): block["ros__parameters"] for name, block in document.items()}
    assert plan.parameters == expected
    assert plan.overrides == {} and plan.namespace == "/"
    assert not plan.rviz and not plan.record


def test_launch_arguments_map_to_node_parameters():
    plan = plan_graph({"source": "mip", "people": "2", "seed": "7", "smpl_model_path": "/m/SMPL_NEUTRAL.pkl",
                       "rviz": "true", "record": "true"}, config_path=CONFIG)
    driver, mesh = plan.parameters["mat_driver"], plan.parameters["mesh_recovery"]
    assert (driver["source"], driver["people"], driver["seed"]) == ("mip", 2, 7)
    assert mesh["smpl_model_path"] == "/m/SMPL_NEUTRAL.pkl"
    assert mesh["backend"] == "footprint"
    assert plan.rviz and plan.record


def test_backend_argument():
    assert plan_graph({"backend": "learned"}, config_path=CONFIG).parameters["mesh_recovery"]["backend"] == "learned"
    for bad in ({"backend": "magic"}, {"backend": "footprint", "checkpoint": "/c/hmr.pt"}):
        with pytest.raises(GraphError, match="backend"):
            plan_graph(bad, config_path=CONFIG)


def test_device_argument():
    assert plan_graph({"device": "cuda"}, config_path=CONFIG).parameters["mesh_recovery"]["device"] == "cuda"
    assert plan_graph({}, config_path=CONFIG).parameters["mesh_recovery"]["device"] == "cpu"
    with pytest.raises(GraphError, match="device"):
        plan_graph({"device": "gpu0"}, config_path=CONFIG)


def test_checkpoint_selects_the_learned_backend_and_set_wins_over_arguments():
    plan = plan_graph({"checkpoint": "/c/hmr.pt"}, config_path=CONFIG)
    assert plan.parameters["mesh_recovery"]["checkpoint"] == "/c/hmr.pt"
    assert plan.parameters["mesh_recovery"]["backend"] == "learned"
    plan = plan_graph({"checkpoint": "/c/hmr.pt"}, ["mesh_recovery.backend=footprint"], config_path=CONFIG)
    assert plan.parameters["mesh_recovery"]["backend"] == "footprint"


def test_set_keeps_each_parameter_type():
    plan = plan_graph({}, ["mat_driver.rate=20", "mat_driver.frame_id=007", "pressure_tracker.min_hits=5",
                           "mat_driver.mat_pose=[0, 0, 0, 0, 0, 1.5]", "mat_driver.loop=true"], config_path=CONFIG)
    driver = plan.parameters["mat_driver"]
    assert driver["rate"] == 20.0 and isinstance(driver["rate"], float)  # ROS 2 would reject an int for a double
    assert driver["frame_id"] == "007"
    assert driver["mat_pose"] == [0.0, 0.0, 0.0, 0.0, 0.0, 1.5] and all(isinstance(v, float) for v in driver["mat_pose"])
    assert driver["loop"] is True
    assert plan.parameters["pressure_tracker"]["min_hits"] == 5


@pytest.mark.parametrize(("arguments", "sets", "message"), [
    ({"source": "camera"}, [], "source:='camera' must be one of"),
    ({"people": "two"}, [], "people:='two' must be a whole number"),
    ({"people": "-1"}, [], "must not be negative"),
    ({"rviz": "maybe"}, [], "rviz:='maybe' must be true or false"),
    ({"colour": "red"}, [], "unknown launch argument 'colour'"),
    ({}, ["people=3"], "expected node.param=value"),
    ({}, ["camera_driver.rate=3"], "unknown node 'camera_driver'"),
    ({}, ["mat_driver.rat=3"], "unknown parameter mat_driver.rat"),
    ({}, ["mat_driver.rate=fast"], "mat_driver.rate='fast': must be a number"),
    ({}, ["mat_driver.people=2.5"], "must be a whole number"),
    ({}, ["mat_driver.loop=sometimes"], "must be true or false"),
    ({}, ["mat_driver.mat_pose=[1, 2]"], "must be a list of 6 values"),
])
def test_bad_input_is_named(arguments, sets, message):
    with pytest.raises(GraphError, match=message.replace("(", r"\(").replace("[", r"\[")):
        plan_graph(arguments, sets, config_path=CONFIG)


def test_bad_parameter_file_is_named(tmp_path):
    missing = tmp_path / "none.yaml"
    with pytest.raises(GraphError, match="none.yaml: cannot read"):
        load_parameters(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("mat_driver: [unclosed\n")
    with pytest.raises(GraphError, match="broken.yaml: not valid YAML"):
        load_parameters(broken)
    partial = tmp_path / "partial.yaml"
    partial.write_text("/**/mat_driver:\n  ros__parameters:\n    rate: 1.0\n")
    with pytest.raises(GraphError, match="no '/\\*\\*/pressure_tracker: ros__parameters:' block"):
        load_parameters(partial)


def test_changed_values_become_typed_parameter_arguments():
    plan = plan_graph({"people": "1", "use_sim_time": "true", "smpl_model_path": "7"}, ["mesh_recovery.window=8"],
                      config_path=CONFIG)
    assert plan.params_file == CONFIG.resolve()
    file = ["--params-file", str(CONFIG.resolve())]
    assert plan.parameter_arguments("mat_driver") == [*file, "-p", "people:=1", "-p", "use_sim_time:=true"]
    # A text value that reads as a number stays text (JSON quotes it, and JSON is YAML).
    assert plan.parameter_arguments("mesh_recovery") == [*file, "-p", 'smpl_model_path:="7"', "-p", "window:=8",
                                                         "-p", "use_sim_time:=true"]
    for node, arguments in ((n, plan.parameter_arguments(n)[2:]) for n in plan.parameters):
        values = yaml.safe_load(CONFIG.read_text())[f"/**/{node}"]["ros__parameters"]
        for name, value in (a.split(":=", 1) for a in arguments[1::2]):
            values[name] = yaml.safe_load(value)
        assert values == plan.parameters[node]


def test_params_file_and_namespace_arguments(tmp_path):
    own = tmp_path / "own.yaml"
    document = yaml.safe_load(CONFIG.read_text())
    document["/**/mat_driver"]["ros__parameters"]["people"] = 5
    own.write_text(yaml.safe_dump(document))
    plan = plan_graph({"params_file": str(own), "namespace": "/mat_a/"}, config_path=CONFIG)
    assert plan.params_file == own.resolve() and plan.parameters["mat_driver"]["people"] == 5
    assert plan.namespace == "/mat_a"
    for bad in ("1mat", "mat-a", "a//b"):
        with pytest.raises(GraphError, match="namespace"):
            plan_graph({"namespace": bad}, config_path=CONFIG)
    document["/**"] = {"ros__parameters": {"use_sim_time": True}}
    own.write_text(yaml.safe_dump(document))
    with pytest.raises(GraphError, match="override the launch arguments"):
        plan_graph({"params_file": str(own)})


def test_launch_arguments_win_over_the_params_file_in_rcl():
    """The order rcl gives precedence by: -p values after the file override its /**/<node> block,
    in any namespace."""
    import rclpy
    from rclpy.node import Node

    plan = plan_graph({"people": "1", "use_sim_time": "true"}, config_path=CONFIG)
    for namespace in ("/", "/mat_a"):
        context = rclpy.Context()
        rclpy.init(args=["--ros-args", *plan.parameter_arguments("mat_driver")], context=context)
        try:
            node = Node("mat_driver", context=context, namespace=namespace)
            assert node.declare_parameter("people", 0).value == 1
            assert node.declare_parameter("rate", 0.0).value == plan.parameters["mat_driver"]["rate"]
            assert node.get_parameter("use_sim_time").value is True
            node.destroy_node()
        finally:
            rclpy.shutdown(context=context)


def test_launch_argument_tokens():
    assert parse_launch_arguments(["source:=mip", "people:=3", "checkpoint:="]) == {
        "source": "mip", "people": "3", "checkpoint": ""}
    with pytest.raises(GraphError, match="expected a launch argument name:=value"):
        parse_launch_arguments(["people=3"])


@pytest.mark.parametrize(("topic", "suite"), [
    ("/mat/pressure", True), ("/tf_static", True), ("/presstrack/meshes", True),
    ("/presstrack/persons/person_7/pressure", True), ("/presstrack/persons/person_123/pressure", True),
    ("/presstrack/persons/7/pressure", False),  # not a valid ROS 2 name: tokens must not start with a digit
    ("/presstrack/persons/a/b/pressure", False), ("/presstrack/persons/person_7/pressure/extra", False),
    ("/rosout", False), ("/mat/pressure_raw", False),
])
def test_suite_topics(topic, suite):
    assert is_suite_topic(topic) is suite
    namespaced = topic if topic in ("/tf_static", "/rosout") else "/mat_a" + topic
    assert is_suite_topic(namespaced, "mat_a") is suite
    assert not is_suite_topic("/mat_b" + topic, "mat_a")
