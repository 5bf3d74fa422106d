"""Helpers for tests that run our nodes as real processes and listen to them over DDS."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import rclpy
import yaml
from rclpy.node import Node
from rclpy.qos import QoSProfile


def write_params(path: Path, node_name: str, params: dict) -> Path:
    path.write_text(yaml.safe_dump({node_name: {"ros__parameters": params}}))
    return path


def start_node(executable: str, params: dict, tmp_path: Path, node_name: str | None = None) -> subprocess.Popen:
    """Start ``.venv/bin/<executable>`` (the installed console script) with ``params``."""
    node_name = node_name or executable
    params_file = write_params(tmp_path / f"{node_name}.yaml", node_name, params)
    command = [str(Path(sys.executable).parent / executable), "--ros-args", "--params-file", str(params_file)]
    log = open(tmp_path / f"{node_name}.log", "w")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_node(process: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGINT, as Ctrl-C would; SIGKILL if it does not exit in time. Returns the exit code."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


class Listener:
    """An independent rclpy node that records what arrives on the topics it is given."""

    def __init__(self, name: str = "test_listener") -> None:
        if not rclpy.ok():
            rclpy.init()
        self.node: Node = rclpy.create_node(name)
        self.messages: dict[str, list] = defaultdict(list)
        self.arrival: dict[str, list[float]] = defaultdict(list)

    def listen(self, topic: str, msg_type, qos: QoSProfile | int = 10) -> None:
        def record(msg, topic=topic):
            self.messages[topic].append(msg)
            self.arrival[topic].append(time.time())  # wall clock, comparable with header stamps
        self.node.create_subscription(msg_type, topic, record, qos)

    def spin_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            rclpy.spin_once(self.node, timeout_sec=0.05)
        return condition()

    def spin_for(self, seconds: float) -> None:
        self.spin_until(lambda: False, seconds)

    def close(self) -> None:
        self.node.destroy_node()
        rclpy.try_shutdown()


def stamp_ns(header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def answer_arrival(listener: Listener, topic: str, stamp: int, timeout: float = 10.0) -> float | None:
    """Wall-clock arrival of the first message on ``topic`` whose header carries ``stamp`` [ns]; None if none
    arrives within ``timeout``."""
    def arrival() -> float | None:
        arrivals = zip(listener.messages[topic], listener.arrival[topic])
        return next((t for m, t in arrivals if stamp_ns(m.header) == stamp), None)
    listener.spin_until(lambda: arrival() is not None, timeout)
    return arrival()


def diagnostics_after(listener: Listener, name_prefix: str, after: float, timeout: float = 5.0) -> dict[str, str]:
    """Key/values of the first /diagnostics status named ``name_prefix``... published after wall-clock ``after``.

    The node stamps /diagnostics with its clock (the wall clock), so what it reports then includes everything
    it did before ``after``. The listener must listen to /diagnostics.
    """
    def values() -> dict[str, str] | None:
        for msg in listener.messages["/diagnostics"]:
            if stamp_ns(msg.header) * 1e-9 > after:
                for status in msg.status:
                    if status.name.startswith(name_prefix):
                        return {kv.key: kv.value for kv in status.values}
        return None
    assert listener.spin_until(lambda: values() is not None, timeout), f"no {name_prefix} diagnostics after {after}"
    return values()


def assert_each_kind_counted(listener: Listener, name_prefix: str, cases, feed, answer_good: Callable[[], float]) -> None:
    """For each ``(kind, send)`` case, ``send(feed)`` then a good message (``answer_good`` returns when it was
    answered): the node's ``bad_input_<kind>`` diagnostics counter must have grown every time."""
    before = diagnostics_after(listener, name_prefix, answer_good())
    for kind, send in cases:
        send(feed)
        after = diagnostics_after(listener, name_prefix, answer_good())
        key = f"bad_input_{kind}"
        assert int(after.get(key, 0)) > int(before.get(key, 0)), f"{kind} not counted: {after}"
        before = after


def check_published_mat(listener, rows=238, cols=120, min_frames=20):
    """Wait for ``min_frames`` /mat/pressure frames; check their shape, encoding, frame and rising stamps."""
    assert listener.spin_until(lambda: len(listener.messages["/mat/pressure"]) >= min_frames, 20.0), \
        f"only {len(listener.messages['/mat/pressure'])} pressure frames arrived"
    frames = listener.messages["/mat/pressure"]
    for msg in frames:
        assert (msg.height, msg.width, msg.encoding, msg.header.frame_id) == (rows, cols, "32FC1", "mat")
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in frames]
    assert all(b > a for a, b in zip(stamps, stamps[1:])), "stamps not strictly increasing"
    return frames, stamps


class PublishedStatuses:
    """Stands in for a node's /diagnostics publisher: keeps the statuses it would have published."""

    def __init__(self) -> None:
        self.statuses: list = []

    def publish(self, msg) -> None:
        self.statuses.extend(msg.status)


class NodeInProcess:
    """One of our nodes built in this process on a context of its own, its /diagnostics kept in ``diagnostics``
    instead of published, for tests that call its callbacks directly (deterministic input, no DDS timing)."""

    def __init__(self, node_class, **parameters) -> None:
        from rclpy.parameter import Parameter

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        try:
            self.node = node_class(context=self.context, parameter_overrides=[
                Parameter(name, value=value) for name, value in parameters.items()])
        except BaseException:
            rclpy.try_shutdown(context=self.context)
            raise
        self.diagnostics = PublishedStatuses()
        self.node.diagnostics_pub = self.diagnostics

    def status(self):
        """The status the node reports now."""
        self.node.publish_diagnostics()
        return self.diagnostics.statuses[-1]

    def close(self) -> None:
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def status_values(status) -> dict[str, str]:
    return {kv.key: kv.value for kv in status.values}
