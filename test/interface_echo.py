"""Echo node run as its own process by test_interfaces_dds.py.

Subscribes to /echo/in/persons and /echo/in/bodies and republishes every message unchanged on
/echo/out/..., so the test sees each message cross DDS twice, between two processes.
"""
from __future__ import annotations

import rclpy
from rclpy.node import Node

from presstrack_msgs.msg import PersonPressureArray, SmplBodyArray


class Echo(Node):
    def __init__(self) -> None:
        super().__init__("interface_echo")
        for name, msg_type in (("persons", PersonPressureArray), ("bodies", SmplBodyArray)):
            publisher = self.create_publisher(msg_type, f"/echo/out/{name}", 10)
            self.create_subscription(msg_type, f"/echo/in/{name}", publisher.publish, 10)


def main() -> None:
    rclpy.init()
    node = Echo()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
