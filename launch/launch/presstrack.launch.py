"""The PressTrack graph on a ROS 2 host.

    ros2 launch presstrack_bringup presstrack.launch.py people:=2 rviz:=true record:=true

The nodes and their parameters come from presstrack_bringup.graph, the same plan `presstrack up`
runs where ros2 launch is not available: config/presstrack.yaml, then the launch arguments.
"""
from __future__ import annotations

import tempfile

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
from launch_ros.actions import Node

from presstrack_bringup.graph import LAUNCH_ARGUMENTS, SUITE_TOPIC_REGEX, default_rviz_path, plan_graph


def _graph_actions(context, *args, **kwargs):
    """The actions for the launch arguments' values, resolved at launch time."""
    plan = plan_graph({a.name: context.launch_configurations.get(a.name, a.default) for a in LAUNCH_ARGUMENTS})
    # One params file for all nodes, the very file `presstrack up` would write for these arguments.
    with tempfile.NamedTemporaryFile("w", prefix="presstrack_params_", suffix=".yaml", delete=False) as params:
        params.write(plan.params_file_text())
    actions = []
    for node in plan.nodes:
        respawn = {"respawn": True, "respawn_delay": node.respawn_delay,
                   "respawn_max_retries": node.max_respawns} if node.respawn else {}
        actions.append(Node(package=node.package, executable=node.executable, name=node.name,
                            parameters=[params.name], output="screen", **respawn))
    if plan.rviz:
        actions.append(Node(package="rviz2", executable="rviz2", name="rviz2",
                            arguments=["-d", str(default_rviz_path())], output="screen"))
    if plan.record:
        # The regex also takes the per-person topics /presstrack/persons/<id>/pressure as they appear.
        actions.append(ExecuteProcess(cmd=["ros2", "bag", "record", "-s", "mcap", "--regex", SUITE_TOPIC_REGEX],
                                      output="screen"))
    return actions


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(a.name, default_value=a.default, description=a.description) for a in LAUNCH_ARGUMENTS]
        + [OpaqueFunction(function=_graph_actions)]
    )
