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
    expected = {name: block["ros__parameters"] for name, block in yaml.safe_load(CONFIG.read_text()).items()}
    assert plan.parameters == expected
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
    partial.write_text("mat_driver:\n  ros__parameters:\n    rate: 1.0\n")
    with pytest.raises(GraphError, match="no 'pressure_tracker: ros__parameters:' block"):
        load_parameters(partial)


def test_params_file_text_round_trips():
    plan = plan_graph({"people": "1"}, ["mesh_recovery.window=8"], config_path=CONFIG)
    document = yaml.safe_load(plan.params_file_text())
    assert document == {name: {"ros__parameters": params} for name, params in plan.parameters.items()}


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
