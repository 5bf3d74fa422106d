"""The ``main()`` every PressTrack node shares: start, spin, stop cleanly, say why it could not start."""
from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

EXIT_CANNOT_START = 2
EXIT_NO_OUTPUT = 3  # the node ran but produced nothing (its ``exit_status()`` says so, and why, in its log)


def run_node(make_node: Callable[[], Node], name: str, args: list[str] | None = None) -> None:
    """Spin the node until Ctrl-C or shutdown, or until its ``finished`` future (if it has one) is done.

    A node whose constructor refuses its parameters or inputs (ValueError, OSError, or a start value its
    parameter descriptor refuses) logs the reason and the process exits with status 2, without a traceback.
    A node with an ``exit_status()`` method is asked for the process's exit status when it stops (the driver:
    EXIT_NO_OUTPUT when no frame flowed).
    """
    rclpy.init(args=args)
    try:
        node = make_node()
    except (OSError, ValueError, ParameterException) as error:
        rclpy.logging.get_logger(name).fatal(f"cannot start: {error}")
        rclpy.try_shutdown()
        raise SystemExit(EXIT_CANNOT_START) from None
    except (KeyboardInterrupt, ExternalShutdownException):
        # Ctrl-C while the node starts (the simulated driver plans its scene for tens of seconds): stop as asked.
        rclpy.try_shutdown()
        return
    try:
        finished = getattr(node, "finished", None)
        if finished is None:
            rclpy.spin(node)
        else:
            rclpy.spin_until_future_complete(node, finished)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:
        # Ctrl-C can shut the context down while the executor takes a message (rclpy then raises from
        # take_message): that is the shutdown asked for, not a failure. While ROS runs, it is a failure.
        if rclpy.ok(context=node.context):
            raise
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    # Asked once the node is destroyed, so what it logs goes to the console only (rosout is gone with Ctrl-C).
    status = node.exit_status() if hasattr(node, "exit_status") else 0
    if status:
        raise SystemExit(status)
