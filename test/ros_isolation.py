"""Pytest plugin: isolate every ROS 2 process a test run starts.

Loaded through ``-p ros_isolation`` (pytest.ini) before any test module, so rclpy in the test process
and in every child process inherits the same settings: a ROS_DOMAIN_ID chosen per run, so parallel
runs on one machine never see each other, and discovery limited to localhost, so nothing leaves it.
"""
from __future__ import annotations

import os
import random

# Domain ids 1..101 are valid for Fast DDS on Linux; avoid 0, the default every ROS tool uses.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(1, 101)))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_LOG_DIR", os.path.join(os.getcwd(), "log", "ros"))
os.environ.setdefault("HOME", os.getcwd())
