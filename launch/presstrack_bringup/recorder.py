"""``presstrack record``: the suite's topics into a crash-safe rosbag2 MCAP bag (see bagfile.py).

Messages are taken as serialized CDR bytes (``raw=True`` subscriptions) and written as they are, with
the receive time as the bag timestamp, as ``ros2 bag record`` does. Topics are discovered while
recording, so per-person topics (/presstrack/persons/person_<id>/pressure) are picked up as they appear.
The subscription QoS adapts to the publishers, again like ``ros2 bag record``: best effort if any
publisher is (sensor data such as /mat/pressure), transient local if all are (/mat/info, /tf_static).
"""
from __future__ import annotations

import importlib
import signal
import sys
import time
from collections.abc import Callable

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from rclpy.topic_endpoint_info import TopicEndpointInfo
from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime

from presstrack_bringup.bagfile import BagError, SegmentedBagWriter

DISCOVERY_PERIOD = 0.2  # [s] how often new topics are looked for and a due segment is closed
QUEUE_DEPTH = 100       # deep enough that bursts (meshes of several people) are not dropped while writing


def message_class(msgtype: str) -> type:
    """``pkg/msg/Type`` -> the generated Python class."""
    package, _, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


def _qos_time(duration) -> QosTime:
    nanoseconds = duration.nanoseconds
    return QosTime(sec=nanoseconds // 1_000_000_000, nsec=nanoseconds % 1_000_000_000)


def offered_qos(endpoint: TopicEndpointInfo) -> Qos:
    """A publisher's QoS as rosbag2 metadata stores it (``ros2 bag play`` publishes with it)."""
    profile = endpoint.qos_profile
    return Qos(
        history=QosHistory(int(profile.history)),
        depth=profile.depth,
        reliability=QosReliability(int(profile.reliability)),
        durability=QosDurability(int(profile.durability)),
        deadline=_qos_time(profile.deadline),
        lifespan=_qos_time(profile.lifespan),
        liveliness=QosLiveliness(int(profile.liveliness)),
        liveliness_lease_duration=_qos_time(profile.liveliness_lease_duration),
        avoid_ros_namespace_conventions=profile.avoid_ros_namespace_conventions,
    )


def subscription_qos(publishers: list[TopicEndpointInfo]) -> QoSProfile:
    """A QoS that matches every publisher and keeps what they keep (latched messages included)."""
    best_effort = any(p.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT for p in publishers)
    latched = bool(publishers) and all(p.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in publishers)
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=QUEUE_DEPTH,
        reliability=ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


class BagRecorderNode(Node):
    """Subscribes to every published topic that ``wanted`` accepts and writes it to ``writer``."""

    def __init__(self, writer: SegmentedBagWriter, wanted: Callable[[str], bool], **kwargs) -> None:
        super().__init__("presstrack_recorder", **kwargs)
        self._writer = writer
        self._wanted = wanted
        self._recorded: dict[str, object] = {}  # topic -> its raw subscription
        self._skipped: set[str] = set()
        self.create_timer(DISCOVERY_PERIOD, self._discover)
        self._discover()

    def _discover(self) -> None:
        for topic, types in self.get_topic_names_and_types():
            if topic in self._recorded or topic in self._skipped or not self._wanted(topic):
                continue
            publishers = self.get_publishers_info_by_topic(topic)
            if not publishers:
                continue  # only subscribers so far: its QoS is not known yet
            msgtype = types[0]
            try:
                self._writer.add_topic(topic, msgtype, [offered_qos(p) for p in publishers])
                cls = message_class(msgtype)
            except (BagError, ImportError, AttributeError, ValueError) as error:
                self.get_logger().warning(f"not recording {topic}: {error}")
                self._skipped.add(topic)
                continue
            self._recorded[topic] = self.create_subscription(
                cls, topic, lambda data, topic=topic: self._record(topic, data), subscription_qos(publishers), raw=True
            )
            self.get_logger().info(f"recording {topic} ({msgtype})")
        self._writer.rotate_if_due()

    def _record(self, topic: str, data: bytes) -> None:
        self._writer.write(topic, self.get_clock().now().nanoseconds, data)


def record(writer: SegmentedBagWriter, wanted: Callable[[str], bool], duration: float | None = None) -> int:
    """Record into ``writer`` (made before rclpy loads, so the bag exists at once) until SIGINT/SIGTERM or
    ``duration`` [s]; returns the number of messages written."""
    stop: list[str] = []
    previous = {sig: signal.signal(sig, lambda *_: stop.append("signal")) for sig in (signal.SIGINT, signal.SIGTERM)}
    rclpy.init(args=[sys.argv[0]], signal_handler_options=SignalHandlerOptions.NO)
    try:
        node = BagRecorderNode(writer, wanted)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        deadline = None if duration is None else time.monotonic() + duration
        print(f"[presstrack] recording into {writer.path}", file=sys.stderr, flush=True)
        while not stop and (deadline is None or time.monotonic() < deadline):
            executor.spin_once(timeout_sec=0.1)
        executor.remove_node(node)
        node.destroy_node()
    finally:
        writer.close()
        rclpy.try_shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"[presstrack] wrote {writer.message_count} messages on {len(writer.topics)} topics to {writer.path}",
          file=sys.stderr, flush=True)
    return writer.message_count
