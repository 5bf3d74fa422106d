"""The graph's nodes in one process with a MultiThreadedExecutor (``presstrack up --composed``).

Run as ``python -m presstrack_bringup.composed --params-file FILE [--namespace NS] [--overrides JSON]
name=module:Class ...``. Parameters come from the same params file the separate processes get (passed as a
global ``--params-file``, so each node picks its own block by name), with the values the launch arguments
change (``{"node": {"name": value}}``) as the node's overrides. Exits 0 on SIGINT/SIGTERM, 1 when a node fails,
2 in one line when a node refuses its configuration (as the node's own process would: presstrack_common.node_main).
"""
from __future__ import annotations

import argparse
import importlib
import json
import signal
import sys
import traceback

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.signals import SignalHandlerOptions

from presstrack_common.node_main import EXIT_CANNOT_START


def node_class(dotted: str) -> type[Node]:
    """``package.module:Class`` -> the class."""
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def run_composed(params_file: str, classes: list[str], namespace: str = "/", overrides: dict | None = None) -> int:
    stop: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.append(signum))
    rclpy.init(args=[sys.argv[0], "--ros-args", "--params-file", params_file],
               signal_handler_options=SignalHandlerOptions.NO)
    nodes: list[Node] = []
    executor = MultiThreadedExecutor()
    status = 0
    try:
        for named in classes:
            name, _, dotted = named.partition("=")
            try:
                nodes.append(node_class(dotted)(namespace=namespace, parameter_overrides=[
                    Parameter(key, value=value) for key, value in (overrides or {}).get(name, {}).items()]))
            except (OSError, ValueError, ParameterException) as error:
                rclpy.logging.get_logger(name).fatal(f"cannot start: {error}")
                return EXIT_CANNOT_START
            executor.add_node(nodes[-1])
            print(f"[presstrack] composed {nodes[-1].get_name()} ({dotted})", file=sys.stderr, flush=True)
        while not stop:
            executor.spin_once(timeout_sec=0.1)
    except Exception:  # a node failed: report it as the process's failure
        traceback.print_exc()
        status = 1
    finally:
        executor.shutdown()
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="presstrack-composed", description=__doc__.splitlines()[0])
    parser.add_argument("--params-file", required=True)
    parser.add_argument("--namespace", default="/")
    parser.add_argument("--overrides", type=json.loads, default={}, help='{"node": {"parameter": value}}')
    parser.add_argument("classes", nargs="+", help="node name and class as name=package.module:Class")
    options = parser.parse_args(argv)
    return run_composed(options.params_file, options.classes, options.namespace, options.overrides)


if __name__ == "__main__":
    sys.exit(main())
