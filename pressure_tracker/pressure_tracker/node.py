"""ROS 2 node around the tracker core: /mat/pressure in, tracked people out.

Publishes
  /presstrack/persons                 presstrack_msgs/PersonPressureArray, every live track each frame
  /presstrack/persons/tracked         presstrack_msgs/TrackedIds, the confirmed ids
  /presstrack/persons/person_<id>/pressure  sensor_msgs/Image 32FC1, that person's crop, while the id is tracked
                                      (a topic name token may not start with a digit, hence person_<id>)
  /presstrack/debug_image             sensor_msgs/Image rgb8, pressure with coloured boxes and ids
  /diagnostics                        diagnostic_msgs/DiagnosticArray, counters of frames and drops
"""
from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import Point
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import Image, RegionOfInterest
from std_msgs.msg import Header

from presstrack_msgs.conversions import array_to_image, diagnostic_status, image_to_array
from presstrack_msgs.msg import MatInfo, PersonPressure, PersonPressureArray, TrackedIds
from presstrack_msgs.node_main import run_node
from pressure_tracker.debug_view import render_debug_image
from pressure_tracker.tracker import PressureTracker, TrackerConfig, TrackState

STATE_TO_MSG = {
    TrackState.TENTATIVE: PersonPressure.STATE_TENTATIVE,
    TrackState.CONFIRMED: PersonPressure.STATE_CONFIRMED,
    TrackState.LOST: PersonPressure.STATE_LOST,
}

# Parameters the node accepts, with their defaults; validated by TrackerConfig on start and on change.
PARAMETERS = {
    "crop_size": 128,
    "min_hits": 3,
    "max_age": 15,
    "publish_debug_image": True,
    "cell_pitch": 0.01,
}


def last_id_path() -> Path:
    """Where the highest track id handed out is kept: $ROS_HOME/presstrack (ROS_HOME defaults to ~/.ros)."""
    return Path(os.environ.get("ROS_HOME", Path.home() / ".ros")) / "presstrack" / "pressure_tracker_last_id"


def read_last_id() -> int:
    try:
        return max(int(last_id_path().read_text()), 0)
    except (OSError, ValueError):
        return 0


def write_last_id(track_id: int) -> str | None:
    """Keep ``track_id`` as the highest handed out; the reason if it cannot be written."""
    path = last_id_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(str(track_id))
        partial.replace(path)  # never a half-written id
    except OSError as error:
        return f"{path}: {error.strerror}"
    return None


class PressureTrackerNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("pressure_tracker", **kwargs)
        for name, default in PARAMETERS.items():
            self.declare_parameter(name, default)
        # A restarted tracker continues above the ids its predecessor handed out, so no id is ever reused
        # while the rest of the graph (and anyone recording it) may still know the old ones.
        self.last_id = read_last_id()
        self.config = self._config_from(self._parameter_values(), first_id=self.last_id + 1)
        self.tracker = PressureTracker(self.config)
        self.drops: Counter[str] = Counter()
        self.frames = 0
        self.last_stamp_ns: int | None = None
        self.expected_shape: tuple[int, int] | None = None

        self.persons_pub = self.create_publisher(PersonPressureArray, "/presstrack/persons", 10)
        self.tracked_pub = self.create_publisher(TrackedIds, "/presstrack/persons/tracked", 10)
        self.debug_pub = self.create_publisher(Image, "/presstrack/debug_image", qos_profile_sensor_data)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.crop_pubs: dict[int, rclpy.publisher.Publisher] = {}

        self.create_subscription(Image, "/mat/pressure", self.on_pressure, qos_profile_sensor_data)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.create_subscription(MatInfo, "/mat/info", self.on_mat_info, latched)
        self.add_on_set_parameters_callback(self.on_set_parameters)
        self.create_timer(1.0, self.publish_diagnostics)

    # --- parameters -------------------------------------------------------------------------------
    def _parameter_values(self) -> dict:
        return {name: self.get_parameter(name).value for name in PARAMETERS}

    @staticmethod
    def _config_from(values: dict, first_id: int = 1) -> TrackerConfig:
        return TrackerConfig(crop_size=int(values["crop_size"]), min_hits=int(values["min_hits"]),
                             max_age=int(values["max_age"]), cell_pitch=float(values["cell_pitch"]),
                             first_id=first_id)

    def on_set_parameters(self, parameters) -> SetParametersResult:
        values = self._parameter_values() | {p.name: p.value for p in parameters}
        try:
            config = self._config_from(values, first_id=self.config.first_id)
        except (TypeError, ValueError) as error:
            return SetParametersResult(successful=False, reason=str(error))
        if config != self.config:
            self.config = config
            self.tracker.reconfigure(config)
        return SetParametersResult(successful=True)

    # --- input ------------------------------------------------------------------------------------
    def drop(self, reason: str, detail: str) -> None:
        self.drops[reason] += 1
        self.get_logger().warning(f"dropped a /mat/pressure frame: {detail}", throttle_duration_sec=5.0)

    def on_mat_info(self, info: MatInfo) -> None:
        if info.cell_pitch > 0 and math.isfinite(info.cell_pitch) and info.cell_pitch != self.config.cell_pitch:
            self.set_parameters([rclpy.parameter.Parameter("cell_pitch", value=float(info.cell_pitch))])
        self.expected_shape = (int(info.rows), int(info.cols))

    def on_pressure(self, msg: Image) -> None:
        try:
            frame = image_to_array(msg)
        except ValueError as error:
            self.drop("bad_image", str(error))
            return
        if msg.encoding != "32FC1":
            self.drop("bad_encoding", f"encoding {msg.encoding!r}, expected 32FC1 (kPa)")
            return
        if self.expected_shape is not None and frame.shape != self.expected_shape:
            self.drop("wrong_size", f"{frame.shape[0]} x {frame.shape[1]} cells, /mat/info says "
                                    f"{self.expected_shape[0]} x {self.expected_shape[1]}")
            return
        stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        if self.last_stamp_ns is not None and stamp_ns <= self.last_stamp_ns:
            self.drop("stamp_not_increasing", "stamp not after the previous frame's")
            return
        self.last_stamp_ns = stamp_ns

        finite = np.isfinite(frame)
        if not finite.all():
            self.drops["non_finite_cells_sanitised"] += 1
            self.get_logger().warning("NaN/Inf cells treated as no pressure", throttle_duration_sec=5.0)
        frame = np.where(finite & (frame > 0), frame, 0.0).astype(np.float32, copy=False)

        people = self.tracker.update(frame, stamp_ns * 1e-9)
        newest = max((p.track_id for p in people), default=0)
        if newest > self.last_id:
            self.last_id = newest
            problem = write_last_id(newest)
            if problem:  # tracking goes on; only ids after a restart could repeat
                self.drops["last_id_not_saved"] += 1
                self.get_logger().warning(f"cannot keep the last track id ({problem})", throttle_duration_sec=60.0)
        self.frames += 1
        self.publish(msg, frame, people)

    # --- output -----------------------------------------------------------------------------------
    def publish(self, source: Image, frame: np.ndarray, people) -> None:
        header = source.header
        persons = PersonPressureArray(header=header)
        confirmed = []
        for person in people:
            crop = array_to_image(person.crop, header)
            persons.persons.append(PersonPressure(
                track_id=person.track_id,
                state=STATE_TO_MSG[person.state],
                confidence=float(person.confidence),
                box=RegionOfInterest(x_offset=int(person.box[0]), y_offset=int(person.box[1]),
                                     width=int(person.box[2] - person.box[0]),
                                     height=int(person.box[3] - person.box[1])),
                centroid=Point(x=float(person.centroid_m[0]), y=float(person.centroid_m[1]), z=0.0),
                heading=float(person.heading),
                total_force=float(person.force),
                contact_area=float(person.contact_area),
                crop=crop,
                crop_row0=int(person.crop_origin[0]),
                crop_col0=int(person.crop_origin[1]),
            ))
            if person.state is not TrackState.TENTATIVE:
                confirmed.append(person.track_id)
                self.crop_publisher(person.track_id).publish(crop)
        self.persons_pub.publish(persons)
        self.tracked_pub.publish(TrackedIds(header=header, ids=sorted(confirmed)))
        self.release_crop_publishers(set(confirmed))
        if self.get_parameter("publish_debug_image").value and self.debug_pub.get_subscription_count() > 0:
            self.debug_pub.publish(array_to_image(render_debug_image(frame, people), header, "rgb8"))

    def crop_publisher(self, track_id: int):
        if track_id not in self.crop_pubs:
            self.crop_pubs[track_id] = self.create_publisher(
                Image, f"/presstrack/persons/person_{track_id}/pressure", qos_profile_sensor_data)
        return self.crop_pubs[track_id]

    def release_crop_publishers(self, live_ids: set[int]) -> None:
        """Per-person topics disappear with their track (ROS4HRI style)."""
        for track_id in set(self.crop_pubs) - live_ids:
            self.destroy_publisher(self.crop_pubs.pop(track_id))

    def publish_diagnostics(self) -> None:
        values = {"frames": self.frames, "tracks_live": len(self.crop_pubs),
                  "ids_issued": self.tracker.ids_issued, **{f"dropped_{k}": v for k, v in self.drops.items()}}
        level = DiagnosticStatus.WARN if self.drops else DiagnosticStatus.OK
        status = diagnostic_status("pressure_tracker: tracking", "mat", values, level,
                                   "input frames dropped or sanitised" if self.drops else "OK")
        self.diagnostics_pub.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()),
                                                     status=[status]))


def main(args=None) -> None:
    run_node(PressureTrackerNode, "pressure_tracker", args)


if __name__ == "__main__":
    main()
