"""The PressTrack graph on a ROS 2 host.

    ros2 launch presstrack_bringup presstrack.launch.py people:=2 rviz:=true record:=true

The nodes and their parameters come from presstrack_bringup.graph, the same plan `presstrack up`
runs where ros2 launch is not available: the params file (config/presstrack.yaml or params_file:=), given
to each node as it is, then what the launch arguments change, as -p arguments after it (the order
matters to rcl, so both are ROS arguments rather than parameters=); no file is written.
"""
from __future__ import annotations

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
from launch_ros.actions import Node

from presstrack_bringup.graph import LAUNCH_ARGUMENTS, default_rviz_path, plan_graph, suite_topic_regex


def _graph_actions(context, *args, **kwargs):
    """The actions for the launch arguments' values, resolved at launch time."""
    plan = plan_graph({a.name: context.launch_configurations.get(a.name, a.default) for a in LAUNCH_ARGUMENTS})
    actions = []
    for node in plan.nodes:
        respawn = {"respawn": True, "respawn_delay": node.respawn_delay,
                   "respawn_max_retries": node.max_respawns} if node.respawn else {}
        actions.append(Node(package=node.package, executable=node.executable, name=node.name,
                            namespace=plan.namespace, ros_arguments=plan.parameter_arguments(node.name),
                            output="screen", **respawn))
    if plan.rviz:
        actions.append(Node(package="rviz2", executable="rviz2", name="rviz2", namespace=plan.namespace,
                            arguments=["-d", str(default_rviz_path())], output="screen"))
    if plan.record:
        # The regex also takes the per-person topics presstrack/persons/person_<id>/pressure as they appear.
        actions.append(ExecuteProcess(cmd=["ros2", "bag", "record", "-s", "mcap", "--regex",
                                           suite_topic_regex(plan.namespace)],
                                      output="screen"))
    return actions


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(a.name, default_value=a.default, description=a.description) for a in LAUNCH_ARGUMENTS]
        + [OpaqueFunction(function=_graph_actions)]
    )
