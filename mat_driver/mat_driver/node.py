"""ROS 2 node that publishes a real mat, whatever feeds it: serial or UDP hardware, MIP or bag replay.

The simulator (package presstrack_sim) publishes the same topics through a subclass of this node, so a
graph runs the same on a simulated and a real mat; nothing here imports it.

Publishes
  mat/pressure      sensor_msgs/Image 32FC1 [kPa], frame_id = the mat frame, stamp = acquisition time (a
                    replay's and the simulator's: when the frame was due, on their schedule; hardware's: arrival);
                    system default QoS (reliable) per REP-2003
  mat/info          presstrack_msgs/MatInfo, latched, again whenever the calibration changes
  /tf_static         world -> mat from the configured mat pose
  /diagnostics       "mat_driver: mat": ERROR when the source is silent (no frame for SILENT_PERIODS periods, at
                    least SILENT_AFTER_S) or failed, WARN when the frame rate leaves rate +-RATE_TOLERANCE or while a
                    replay waits for a subscriber; frame rate, dead/stuck cells, saturation, source state, bad
                    input per kind (bad_input_<kind>)

Bad input from a feed (frames the frame protocol rejects, frame counters going back or jumping, bursts,
frames of another size, NaN/Inf, negative or saturated cells, unusable bag messages) is counted per kind,
warned about (throttled per kind), and the frame dropped or sanitised; publishing goes on.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, Pose, TransformStamped, Vector3
from rcl_interfaces.msg import SetParametersResult
from rclpy.task import Future
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_system_default
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from mat_driver.calibration import Calibration
from mat_driver.feeds import EndOfFeed, FeedFrame, HardwareFeed, acquisition_stamp_ns, bag_feed, mip_feed
from mat_driver.transports import SerialSource, SourceStats, UdpSource
from presstrack_common.conversions import array_to_image, quaternion_from_rpy, status_from_report
from presstrack_common.health import ERROR, OK, WARN, FrequencyBounds, FrequencyStatus, Report, Staleness, merge
from presstrack_common.input_checks import MAX_MAT_SIDE, BadInputCounter, BurstCheck
from presstrack_common.mat_geometry import MatGeometry, world_from_mat_pose
from presstrack_msgs.msg import MatInfo
from presstrack_common.node_main import EXIT_NO_OUTPUT, run_node
from presstrack_common.parameters import ParameterSpec, declare_parameters, refuse_unknown_choice

SOURCES = ("mip", "bag", "serial", "udp")
WAITING_FOR_SUBSCRIBER = "waiting for a /mat/pressure subscriber"  # the state of a replay no one listens to yet
# Without a frame for SILENT_PERIODS periods of `rate` (and at least SILENT_AFTER_S [s]), the source is reported
# silent (diagnostics ERROR): the mat, its link or the replay stalled, or never started.
SILENT_PERIODS, SILENT_AFTER_S = 5, 1.0
# The frame rate may stray this far from `rate` before it is a WARN (a loaded host's jitter, a device's clock).
RATE_TOLERANCE = 0.2
# Frames the frame protocol rejects, by ParserStats field: bad-input kind rejected_<field without bad_>, and why.
REJECTIONS = {"bad_version": "unknown protocol version", "bad_header_crc": "header CRC mismatch",
              "bad_sample_type": "unknown sample type (encoding)", "bad_dimensions": "rows or cols 0 or too many",
              "bad_length": "payload length does not match the header", "bad_crc": "frame CRC mismatch"}

# Start-only parameters (read-only): what the running feed was built from needs a restart of the node.
PARAMETERS = {
    "source": ParameterSpec("udp", "where frames come from: a replayed MIP file or folder, a rosbag2 bag, "
                            "serial or UDP hardware", choices=SOURCES, read_only=True),
    "frame_id": ParameterSpec("mat", "TF frame of the mat: frame_id of mat/pressure and mat/info", read_only=True),
    "world_frame": ParameterSpec("world", "TF frame the mat is placed in (parent of frame_id on /tf_static)"),
    "rate": ParameterSpec(15.0, "[Hz] publishing rate of sim and MIP replay; hardware and bag replay publish as "
                          "frames arrive, and /diagnostics expects this rate of them too", limits=(0.1, 1000.0),
                          read_only=True),
    "rows": ParameterSpec(238, "mat rows (cells along the mat frame's y)", limits=(1, MAX_MAT_SIDE), read_only=True),
    "cols": ParameterSpec(120, "mat columns (cells along the mat frame's x)", limits=(1, MAX_MAT_SIDE), read_only=True),
    "cell_pitch": ParameterSpec(0.01, "[m] side of one sensing cell", limits=(0.001, 0.1), read_only=True),
    "mat_pose": ParameterSpec([1.17, 1.83, 0.0, 0.0, 0.0, float(np.pi)],
                              "[m, m, m, rad, rad, rad] x, y, z, roll, pitch, yaw of the mat frame in world_frame "
                              "(on the floor: z, roll and pitch 0)"),
    "mip_path": ParameterSpec("", "source mip: one MIP .npz file or a folder of them", read_only=True),
    "loop": ParameterSpec(False, "source mip or bag: start over at the end", read_only=True),
    "bag_path": ParameterSpec("", "source bag: the rosbag2 bag to replay", read_only=True),
    "bag_topic": ParameterSpec("/mat/pressure", "source bag: the recorded pressure topic", read_only=True),
    "restamp": ParameterSpec(True, "source bag: stamp replayed frames with the current time (false: the "
                             "recorded stamps)", read_only=True),
    "bag_rate": ParameterSpec(1.0, "source bag: playback speed factor", limits=(0.01, 100.0), read_only=True),
    "serial_port": ParameterSpec("/dev/ttyUSB0", "source serial: the device", read_only=True),
    "baudrate": ParameterSpec(921600, "[bit/s] source serial: line speed", limits=(9600, 20_000_000), read_only=True),
    "udp_host": ParameterSpec("0.0.0.0", "source udp: address to listen on", read_only=True),
    "udp_port": ParameterSpec(5600, "source udp: port to listen on", limits=(1, 65535), read_only=True),
    "calibration_file": ParameterSpec("", ".npz with per-cell 'offset', 'gain' and optional 'dead_mask' "
                                      "(empty: identity)"),
    "raw_to_kpa": ParameterSpec(1.0, "[kPa per raw unit] after the per-cell offset and gain", limits=(1e-9, 1e9)),
    "noise_floor": ParameterSpec(1.0, "[kPa] values below are published as 0", limits=(0.0, 10000.0)),
    "full_scale": ParameterSpec(600.0, "[kPa] saturation value of a cell", limits=(0.001, 100000.0)),
    "stuck_after_frames": ParameterSpec(0, "[frames] a cell repeating one raw value this long above the floor is "
                                        "reported as stuck (0: off)", limits=(0, 1_000_000)),
}


def calibration_from(values: dict, shape: tuple[int, int]) -> Calibration:
    """Calibration for ``shape`` frames from the node's parameters; ValueError with the reason if invalid."""
    settings = dict(kpa_per_raw=float(values["raw_to_kpa"]), noise_floor_kpa=float(values["noise_floor"]),
                    full_scale_kpa=float(values["full_scale"]), stuck_after_frames=int(values["stuck_after_frames"]))
    if values["calibration_file"]:
        calibration = Calibration.from_npz(values["calibration_file"], **settings)
        if calibration.shape != shape:
            raise ValueError(f"calibration file {values['calibration_file']} is for {calibration.shape} cells, "
                             f"the mat has {shape}")
        return calibration
    return Calibration.identity(*shape, **settings)


def mat_geometry_from(values: dict) -> MatGeometry:
    if len(values["mat_pose"]) != 6:
        raise ValueError(f"mat_pose must be [x, y, z, roll, pitch, yaw], got {values['mat_pose']}")
    x, y, z, roll, pitch, yaw = (float(v) for v in values["mat_pose"])
    if abs(roll) > 1e-9 or abs(pitch) > 1e-9 or abs(z) > 1e-9:
        raise ValueError("mat_pose: the mat lies on the floor, so z, roll and pitch must be 0")
    return MatGeometry(int(values["rows"]), int(values["cols"]), float(values["cell_pitch"]),
                       world_from_mat_pose(x, y, yaw))


class MatDriverNode(Node):
    """Publishes the frames of ``make_feed``'s source; a subclass may add sources, parameters and topics."""

    SOURCES: tuple[str, ...] = SOURCES
    PARAMETERS: dict[str, ParameterSpec] = PARAMETERS

    def __init__(self, **kwargs) -> None:
        super().__init__("mat_driver", **kwargs)
        # destroy_node must work even when the constructor stops half-way (rclpy shutdown calls it).
        self.running, self.thread, self.feed = False, None, None
        declare_parameters(self, self.PARAMETERS)
        values = self.parameter_values()
        if values["source"] == "sim" and "sim" not in self.SOURCES:
            raise ValueError("source 'sim' is the simulator, which the presstrack_sim package publishes "
                             "(ros2 run presstrack_sim mat_sim; presstrack up source:=sim starts it)")
        problem = refuse_unknown_choice(self.PARAMETERS, values.items())
        if problem:
            raise ValueError(problem)
        self.geometry = mat_geometry_from(values)
        self.calibration = calibration_from(values, (self.geometry.rows, self.geometry.cols))
        self.calibration_lock = threading.Lock()
        self.frames_published = 0
        self.bad_input = BadInputCounter(self.get_logger().warning)
        self.bursts = BurstCheck()  # on the device clock of hardware frames
        self.link_seen = SourceStats()  # the hardware link's totals at the last look
        self.source_state = "starting"
        self.started = time.monotonic()
        self.source, self.node_name = values["source"], self.get_name()  # for exit_status, once destroyed
        rate = float(values["rate"])
        self.frame_rate = FrequencyStatus("frames", FrequencyBounds(rate, rate, RATE_TOLERANCE))
        self.silence = Staleness("frame", max(SILENT_AFTER_S, SILENT_PERIODS / rate), message="silent")

        # REP-2003: a sensor driver publishes with the system default QoS (reliable), so that reliable and
        # sensor-data (best-effort) subscribers both match; our consumers subscribe with sensor-data QoS.
        self.pressure_pub = self.create_publisher(Image, "mat/pressure", qos_profile_system_default)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.info_pub = self.create_publisher(MatInfo, "mat/info", latched)
        self.tf_static_pub = self.create_publisher(TFMessage, "/tf_static", latched)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_extra_publishers(values)

        self.feed = self.make_feed(values)
        self.publish_mat_info(values)
        self.publish_static_transform(values)
        self.add_on_set_parameters_callback(self.on_set_parameters)
        self.create_timer(1.0, self.publish_diagnostics)
        self.finished = Future()  # done when a replay has no more frames: main() then exits 0
        self.running = True
        self.thread = threading.Thread(target=self.publish_loop, name="mat_driver_feed", daemon=True)
        self.thread.start()

    # --- set-up -----------------------------------------------------------------------------------
    def parameter_values(self) -> dict:
        return {name: self.get_parameter(name).value for name in self.PARAMETERS}

    def create_extra_publishers(self, values: dict) -> None:
        """Publishers of a subclass's own topics, made before the feed starts."""

    def publish_extras(self, header: Header, frame: FeedFrame) -> None:
        """Publish what a subclass adds to each frame (the simulator: its ground truth)."""

    def make_feed(self, values: dict):
        source = values["source"]
        if source == "mip":
            return mip_feed(values["mip_path"], bool(values["loop"]), report=self.get_logger().warning)
        if source == "bag":
            if values["loop"] and not values["restamp"]:
                raise ValueError("loop with restamp false would send stamps back in time; set restamp true")
            if not float(values["bag_rate"]) > 0:
                raise ValueError(f"bag_rate must be > 0, got {values['bag_rate']}")
            return bag_feed(values["bag_path"], values["bag_topic"], bool(values["loop"]),
                            keep_stamps=not values["restamp"], rate=float(values["bag_rate"]), report=self.bad_input)
        # The parser takes no frame larger than this mat: a header claiming more is rejected at once instead
        # of swallowing the good frames behind it while its payload is awaited.
        size = {"max_rows": self.geometry.rows, "max_cols": self.geometry.cols}
        if source == "serial":
            return HardwareFeed(SerialSource(values["serial_port"], int(values["baudrate"]), **size))
        return HardwareFeed(UdpSource(values["udp_host"], int(values["udp_port"]), **size))

    def on_set_parameters(self, parameters) -> SetParametersResult:
        # Read-only and out-of-range values never get here: rclpy refuses them by their descriptors.
        changed = {p.name: p.value for p in parameters}
        values = self.parameter_values() | changed
        try:
            geometry = mat_geometry_from(values)
            calibration = calibration_from(values, (self.geometry.rows, self.geometry.cols))
        except (OSError, TypeError, ValueError) as error:
            return SetParametersResult(successful=False, reason=str(error))
        with self.calibration_lock:
            self.geometry, self.calibration = geometry, calibration
        self.publish_mat_info(values)
        self.publish_static_transform(values)
        return SetParametersResult(successful=True)

    # --- publishing -------------------------------------------------------------------------------
    def publish_mat_info(self, values: dict) -> None:
        x, y, _, roll, pitch, yaw = (float(v) for v in values["mat_pose"])
        with self.calibration_lock:
            calibration = self.calibration
        dead = 0 if calibration.dead_mask is None else int(calibration.dead_mask.sum())
        self.info_pub.publish(MatInfo(
            header=Header(stamp=self.get_clock().now().to_msg(), frame_id=values["frame_id"]),
            rows=self.geometry.rows, cols=self.geometry.cols, cell_pitch=self.geometry.pitch,
            pressure_unit="kPa", full_scale=calibration.full_scale_kpa, noise_floor=calibration.noise_floor_kpa,
            world_frame=values["world_frame"],
            mat_pose=Pose(position=Point(x=x, y=y, z=0.0), orientation=quaternion_from_rpy(roll, pitch, yaw)),
            dead_cells=dead,
        ))

    def publish_static_transform(self, values: dict) -> None:
        x, y, z, roll, pitch, yaw = (float(v) for v in values["mat_pose"])
        transform = TransformStamped()
        transform.header = Header(stamp=self.get_clock().now().to_msg(), frame_id=values["world_frame"])
        transform.child_frame_id = values["frame_id"]
        transform.transform.translation = Vector3(x=x, y=y, z=z)
        transform.transform.rotation = quaternion_from_rpy(roll, pitch, yaw)
        self.tf_static_pub.publish(TFMessage(transforms=[transform]))

    def publish_loop(self) -> None:
        """Runs in its own thread: waits for the feed's next frame and publishes it."""
        frame_id = self.get_parameter("frame_id").value
        if self.get_parameter("source").value in ("mip", "bag"):
            # A recording has no second chance: start it once someone listens, as `ros2 bag play` users expect.
            self.source_state = WAITING_FOR_SUBSCRIBER
            while self.running and rclpy.ok(context=self.context):
                try:
                    if self.pressure_pub.get_subscription_count() > 0:
                        break
                except Exception:  # noqa: BLE001 - Ctrl-C can invalidate the context while we wait
                    if rclpy.ok(context=self.context):
                        raise
                    return
                time.sleep(0.05)
        while self.running and rclpy.ok(context=self.context):
            try:
                frame = self.feed.read(timeout=0.1)
            except EndOfFeed:
                self.source_state = "finished"
                self.get_logger().info("replay finished; no more frames")
                self.finished.set_result(True)
                return
            except (OSError, ValueError) as error:
                self.source_state = f"failed: {error}"
                self.get_logger().error(f"source failed: {error}")
                return
            if isinstance(self.feed, HardwareFeed):
                self.check_link(self.feed.stats)
            if frame is None:
                continue
            self.source_state = "streaming"
            pressure = self.calibrated(frame)
            if pressure is None:
                continue
            stamp_ns = acquisition_stamp_ns(frame, self.get_clock().now().nanoseconds, time.monotonic())
            header = Header(stamp=rclpy.time.Time(nanoseconds=stamp_ns).to_msg(), frame_id=frame_id)
            try:
                self.pressure_pub.publish(array_to_image(pressure, header))
                self.publish_extras(header, frame)
            except Exception:  # noqa: BLE001 - Ctrl-C can invalidate the context between two publishes
                if rclpy.ok(context=self.context):
                    raise
                return
            self.frames_published += 1
            self.frame_rate.tick()
            self.silence.mark()

    def check_link(self, link: SourceStats) -> None:
        """Report what the hardware link rejected or found missing since the last look."""
        seen, self.link_seen = self.link_seen, link
        for field, why in REJECTIONS.items():
            rejected = getattr(link.parser, field) - getattr(seen.parser, field)
            if rejected:
                kind = f"rejected_{field.removeprefix('bad_')}"
                self.bad_input(kind, f"{rejected} frame(s) rejected: {why}", rejected)
        lost = link.counters.frames_lost - seen.counters.frames_lost
        if link.counters.device_resets > seen.counters.device_resets:
            self.bad_input("counter_backwards", f"the frame counter went back (device reset); {lost} frames lost")
        elif lost:
            self.bad_input("counter_jump", f"the frame counter jumped: {lost} frames lost")
        if link.counters.duplicates > seen.counters.duplicates:
            self.bad_input("counter_repeated", "a frame counter repeated; the frame is published again")

    def calibrated(self, frame: FeedFrame) -> np.ndarray | None:
        """The frame in kPa, its bad cells counted; None (counted) if it cannot be used."""
        raw = np.asarray(frame.raw)
        if frame.device_time_us is not None and self.bursts(frame.device_time_us * 1000):
            self.bad_input("burst", "frames arrive much faster than the device clock advances; each is published")
        if raw.dtype.kind == "f":
            with np.errstate(invalid="ignore"):
                negative = int(np.count_nonzero(raw < 0))
            if negative:
                self.bad_input("negative_cells", f"{negative} raw samples below zero treated as no pressure")
        with self.calibration_lock:
            try:
                pressure = self.calibration.apply(raw)
            except ValueError as error:
                self.bad_input("wrong_size", f"{error}; frame dropped")
                return None
            stats = self.calibration.last_stats
            full_scale = self.calibration.full_scale_kpa
        if stats.nonfinite_cells:
            self.bad_input("nonfinite_cells", f"{stats.nonfinite_cells} NaN/Inf cells treated as no pressure")
        if stats.saturated_cells:
            self.bad_input("saturated_cells", f"{stats.saturated_cells} cells at or above the full scale, "
                                              f"clipped to {full_scale:g} kPa")
        self.last_stats = stats
        return pressure

    def publish_diagnostics(self) -> None:
        # Stamped before the counters are read: what happened before the stamp is in them.
        stamp = self.get_clock().now().to_msg()
        state = self.source_state
        # Frames are due from a source that streams or should (hardware from the start, a replay once someone
        # listens); a replay waiting for a subscriber, finished or failed says so instead.
        self.silence.expect(state in ("starting", "streaming", "silent"))
        silence, rate = self.silence.report(), self.frame_rate.report()
        if state in ("starting", "streaming", "silent"):
            report = merge([silence, rate])
            if state != "starting":
                self.source_state = "silent" if silence.level else "streaming"
        else:
            report = Report(ERROR if state.startswith("failed") else OK if state == "finished" else WARN, state,
                            silence.values | rate.values)
        stats = getattr(self, "last_stats", None)
        values = {
            "source": self.get_parameter("source").value, "source_state": self.source_state,
            "frames_published": self.frames_published, "frames_late": self.feed.late_frames,
            "dead_cells": 0 if stats is None else stats.dead_cells,
            "stuck_cells": 0 if stats is None else stats.stuck_cells,
            "saturation_ratio": 0.0 if stats is None else stats.saturation_ratio,
            **report.values, **self.bad_input.diagnostic_values(),
        }
        if isinstance(self.feed, HardwareFeed):
            link = self.feed.stats
            values |= {"link_state": link.state.value, "connects": link.connects,
                       "disconnects": link.disconnects, "frames_rejected": link.parser.frames_rejected,
                       "frames_lost": link.counters.frames_lost, "device_resets": link.counters.device_resets}
        report.values = values
        self.diagnostics_pub.publish(DiagnosticArray(
            header=Header(stamp=stamp),
            status=[status_from_report(f"{self.get_name()}: mat", self.get_parameter("frame_id").value, report)]))

    def exit_status(self) -> int:
        """0, or EXIT_NO_OUTPUT (said in the log) when not one frame was published while the node ran (a replay
        that no one subscribed to was not asked for any)."""
        if self.frames_published or self.source_state == WAITING_FOR_SUBSCRIBER:
            return 0
        rclpy.logging.get_logger(self.node_name).error(
            f"no frame published in {time.monotonic() - self.started:.0f} s (source {self.source}: {self.source_state})")
        return EXIT_NO_OUTPUT

    def destroy_node(self) -> None:
        self.running = False
        if self.thread is not None and self.thread.is_alive():
            self.thread.join(timeout=2.0)
        if self.feed is not None:
            self.feed.stop()
        super().destroy_node()


def main(args=None) -> None:
    run_node(MatDriverNode, "mat_driver", args)


if __name__ == "__main__":
    main()
