"""ROS 2 node around the tracker core: /mat/pressure in, tracked people out.

Publishes
  presstrack/persons                 presstrack_msgs/PersonPressureArray, every live track each frame
  presstrack/persons/tracked         presstrack_msgs/TrackedIds, the confirmed ids
  presstrack/persons/person_<id>/pressure  sensor_msgs/Image 32FC1, that person's crop, while the id is tracked
                                      (a topic name token may not start with a digit, hence person_<id>)
  presstrack/debug_image             sensor_msgs/Image rgb8, pressure with coloured boxes and ids
  /diagnostics                        diagnostic_msgs/DiagnosticArray, "pressure_tracker: tracking": STALE
                                      when no frame comes, ERROR when the mat is pressed (contact_force) but no
                                      one is tracked for CONTACT_WITHOUT_PERSONS_S, WARN when persons go out
                                      slower than the frames' stamps advance; counters of frames, bursts (frames
                                      arriving back to back: a loaded host, not bad input) and bad input

Bad input (wrong encoding, empty or malformed images, a size other than the frames' so far (or, before
the first frame, /mat/info's), stamps going back or jumping, NaN/Inf, negative cells or cells
above full scale, more people than max_people, a malformed /mat/info or one the frames contradict) is
counted per kind in /diagnostics as bad_input_<kind>, warned about (throttled per kind), and the frame
dropped or sanitised; tracking goes on, and no single message resets it. The frames decide the mat's size:
tracking moves to a new size when its frames arrive and /mat/info announced it.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import Image, RegionOfInterest
from std_msgs.msg import Header

from presstrack_common.conversions import array_to_image, image_to_array, status_from_report
from presstrack_common.health import OK, STALE, WARN, FrequencyBounds, FrequencyStatus, Staleness, merge
from presstrack_common.input_checks import (MAX_CROP_SIDE, MAX_MAT_SIDE, MAX_TRACK_ID, SANITISED_AS, BadInputCounter, StampGaps,
                                          StreamTiming, check_mat_info, sanitise_pressure)
from presstrack_msgs.msg import MatInfo, PersonPressure, PersonPressureArray, TrackedIds
from presstrack_common.mat_geometry import DataDecideTheMat
from presstrack_common.node_main import run_node
from presstrack_common.parameters import ParameterSpec, declare_parameters
from pressure_tracker.debug_view import render_debug_image
from pressure_tracker.tracker import PressureTracker, TooManyPeople, TrackerConfig, TrackState

STATE_TO_MSG = {
    TrackState.TENTATIVE: PersonPressure.STATE_TENTATIVE,
    TrackState.CONFIRMED: PersonPressure.STATE_CONFIRMED,
    TrackState.LOST: PersonPressure.STATE_LOST,
}

# Parameters the node accepts, with their defaults (the tracker's own, which the benchmark suite scores;
# their meaning: pressure_tracker.config.TrackerConfig); ranges enforced by their descriptors, the rest
# validated by TrackerConfig on start and on change.
PARAMETERS = {
    "crop_size": ParameterSpec(TrackerConfig.crop_size, "[cells] side of the person-centred crop",
                               limits=(16, MAX_CROP_SIDE)),
    "cell_pitch": ParameterSpec(TrackerConfig.cell_pitch, "[m] side of one cell; mat/info sets it",
                                limits=(0.001, 0.1)),
    "min_contact_kpa": ParameterSpec(TrackerConfig.min_contact_kpa, "[kPa] floor of the contact threshold, "
                                     "which otherwise comes from the frames' own noise (0: the data alone)",
                                     limits=(0.0, 1000.0)),
    "foot_gap": ParameterSpec(TrackerConfig.foot_gap, "[m] contact pieces closer than this are one foot",
                              limits=(0.0, 0.3)),
    "step_reach": ParameterSpec(TrackerConfig.step_reach, "[m] a foot belongs to a person only within this of "
                                "where their next step can land", limits=(0.05, 2.0)),
    "lateral_reach": ParameterSpec(TrackerConfig.lateral_reach, "[m] while a person walks in a line, a foot belongs "
                                   "to them only within this beside their path (a step width; people side by "
                                   "side are farther apart)", limits=(0.05, 2.0)),
    "min_hits": ParameterSpec(TrackerConfig.min_hits, "[frames] a new person is confirmed after this many",
                              limits=(1, 1000)),
    "lost_time": ParameterSpec(TrackerConfig.lost_time, "[s] a person without feet is kept (lost) this long",
                               limits=(0.0, 3600.0)),
    "reid_memory": ParameterSpec(TrackerConfig.reid_memory, "[s] a person who left gets their id back when they "
                                 "return within this long and their weight and foot length match",
                                 limits=(0.0, 86400.0)),
    "publish_debug_image": ParameterSpec(True, "publish presstrack/debug_image (only while someone subscribes)"),
    "max_people": ParameterSpec(10, "more people in one frame is taken for a noise storm: frame skipped, "
                                "tracks kept", limits=(1, 1000)),
    "contact_force": ParameterSpec(250.0, "[N] a frame pressing the mat with more than this in all is taken "
                                   "for someone on it: no one tracked for a few seconds while so is an ERROR in "
                                   "/diagnostics", limits=(1.0, 100_000.0)),
}
_CONFIG_PARAMETERS = ("crop_size", "cell_pitch", "min_contact_kpa", "foot_gap", "step_reach", "lateral_reach",
                      "min_hits", "lost_time", "reid_memory")
# Frames further apart than this are not a pause but a stamp that jumped.
MAX_STAMP_GAP_S = 5.0
# Without a frame for SILENT_PERIODS of the frames' periods (and at least SILENT_AFTER_S [s]) the input is STALE.
SILENT_PERIODS, SILENT_AFTER_S = 5, 1.0
# [s] the mat pressed with no one tracked this long is an ERROR (confirming a track takes min_hits frames).
CONTACT_WITHOUT_PERSONS_S = 3.0
# Persons go out once per accepted frame: their rate may fall this far below the rate of the frames' stamps
# (frames lost on the way or skipped as storms) before it is a WARN.
RATE_TOLERANCE = 0.2


def last_id_path() -> Path:
    """Where the highest track id handed out is kept: $ROS_HOME/presstrack (ROS_HOME defaults to ~/.ros)."""
    return Path(os.environ.get("ROS_HOME", Path.home() / ".ros")) / "presstrack" / "pressure_tracker_last_id"


def read_last_id(warn=None) -> int:
    """The highest id handed out by an earlier run; 0 if none. A file that holds no id in [0, MAX_TRACK_ID)
    (corrupt, or near the end of the id range) is reported through ``warn`` with its path, and ids start over."""
    path = last_id_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return 0
    except OSError as error:
        if warn:
            warn(f"cannot read the last track id from {path} ({error.strerror}); ids start at 1")
        return 0
    try:
        value = int(text.strip())
    except ValueError:
        value = -1
    if not 0 <= value < MAX_TRACK_ID - 1_000_000:
        if warn:
            warn(f"{path} holds {text.strip()[:40]!r}, not a track id below {MAX_TRACK_ID - 1_000_000}; ids start at 1 "
                 "(delete the file to silence this)")
        return 0
    return value


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
        declare_parameters(self, PARAMETERS)
        # A restarted tracker continues above the ids its predecessor handed out, so no id is ever reused
        # while the rest of the graph (and anyone recording it) may still know the old ones.
        self.last_id = read_last_id(self.get_logger().error)
        values = self._parameter_values()
        self.config = self._config_from(values, first_id=self.last_id + 1)
        self.first_id = self.config.first_id
        self.tracker = PressureTracker(self.config)
        self.bad_input = BadInputCounter(self.get_logger().warning)
        self.timing = StreamTiming(self.bad_input, "frame", MAX_STAMP_GAP_S)
        self.last_id_not_saved = 0
        self.frames = 0
        self.mat: DataDecideTheMat[tuple[int, int]] = DataDecideTheMat()  # (rows, cols) the tracker core follows
        self.full_scale = float("inf")                    # [kPa] from /mat/info
        self.frames_received = 0
        self.gaps = StampGaps()
        # Health: frames coming, persons going out at the frames' rate, someone tracked while the mat is pressed.
        self.frames_seen = Staleness("frames", SILENT_AFTER_S, STALE, "no frames")
        self.frames_seen.expect(True)
        self.persons_rate = FrequencyStatus("persons", FrequencyBounds(0.0, tolerance=RATE_TOLERANCE))
        self.tracked_on_contact = Staleness("person while pressed", CONTACT_WITHOUT_PERSONS_S,
                                            message="the mat is pressed but no one is tracked")

        self.persons_pub = self.create_publisher(PersonPressureArray, "presstrack/persons", 10)
        self.tracked_pub = self.create_publisher(TrackedIds, "presstrack/persons/tracked", 10)
        self.debug_pub = self.create_publisher(Image, "presstrack/debug_image", qos_profile_sensor_data)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.crop_pubs: dict[int, rclpy.publisher.Publisher] = {}

        self.create_subscription(Image, "mat/pressure", self.on_pressure, qos_profile_sensor_data)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.create_subscription(MatInfo, "mat/info", self.on_mat_info, latched)
        self.add_on_set_parameters_callback(self.on_set_parameters)
        self.create_timer(1.0, self.publish_diagnostics)

    # --- parameters -------------------------------------------------------------------------------
    def _parameter_values(self) -> dict:
        return {name: self.get_parameter(name).value for name in PARAMETERS}

    @staticmethod
    def _config_from(values: dict, first_id: int = 1) -> TrackerConfig:
        return TrackerConfig(first_id=first_id, **{name: values[name] for name in _CONFIG_PARAMETERS})

    def on_set_parameters(self, parameters) -> SetParametersResult:
        # Out-of-range values never get here: rclpy refuses them by their descriptors.
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
    def on_mat_info(self, info: MatInfo) -> None:
        try:
            check_mat_info(info)
        except ValueError as error:
            self.bad_input("bad_mat_info", f"/mat/info ignored: {error}")
            return
        if info.cell_pitch != self.config.cell_pitch:
            self.set_parameters([rclpy.parameter.Parameter("cell_pitch", value=float(info.cell_pitch))])
        self.full_scale = float(info.full_scale)
        if self.mat.announce((int(info.rows), int(info.cols))):
            # The frames decide: a mat that really changed sends frames of the new size, and tracking moves
            # to them when they come (on_pressure); a wrong /mat/info alone must not stop the stream.
            rows, cols = self.mat.current
            self.bad_input("mat_info_contradicts_frames",
                           f"/mat/info says {info.rows} x {info.cols} cells, the frames have {rows} x {cols}; "
                           "following the frames until frames of the new size arrive")

    def restart_tracking(self) -> None:
        """A fresh tracker core, for frames the old tracks cannot continue; its ids start above every id issued."""
        self.config = dataclasses.replace(self.config, first_id=self.tracker.tracker.next_id)
        self.tracker = PressureTracker(self.config)
        self.release_crop_publishers(set())

    def on_pressure(self, msg: Image) -> None:
        stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        self.frames_received += 1
        self.frames_seen.mark()
        missing = self.gaps(stamp_ns)  # every arrival, before any check drops it
        if missing:
            self.bad_input("frames_missing", f"{missing} frame(s) missing before stamp {stamp_ns * 1e-9:.3f} s "
                                             "(a full subscription queue or a lost message)", missing)
        if msg.height > MAX_MAT_SIDE or msg.width > MAX_MAT_SIDE:
            self.bad_input("oversize_frame", f"{msg.height} x {msg.width} cells, no mat has over {MAX_MAT_SIDE} "
                                             "a side; frame dropped")
            return
        if msg.encoding != "32FC1":
            self.bad_input("wrong_encoding", f"encoding {msg.encoding!r}, expected 32FC1 (kPa); frame dropped")
            return
        if msg.height == 0 or msg.width == 0:
            self.bad_input("empty_frame", f"{msg.height} x {msg.width} cells; frame dropped")
            return
        try:
            frame = image_to_array(msg)
        except ValueError as error:
            self.bad_input("malformed_image", f"{error}; frame dropped")
            return
        verdict = self.mat.judge(lambda shape: frame.shape == shape)
        if verdict == DataDecideTheMat.ADOPTED:
            self.get_logger().warning(f"the mat is now {frame.shape[0]} x {frame.shape[1]} cells, as /mat/info "
                                      "said; tracking restarts")
            self.restart_tracking()
        elif verdict == DataDecideTheMat.NEITHER:
            rows, cols = self.mat.current
            self.bad_input("wrong_size", f"{frame.shape[0]} x {frame.shape[1]} cells, expected {rows} x {cols}; "
                                         "frame dropped")
            return
        if not self.timing.accept(stamp_ns):
            return

        frame = self.sanitised(frame)
        try:
            people = self.tracker.update(frame, stamp_ns * 1e-9, max_people=self.get_parameter("max_people").value)
        except TooManyPeople as storm:
            self.bad_input("too_many_people", f"{storm} (a storm of noise blobs?); frame skipped, tracks kept")
            return
        self.mat.confirm(frame.shape)
        # A newcomer whose id is provisional is published as tentative; from this frame on it is published as who
        # they were recognised as.
        renamed_from = {now: before for before, now in self.tracker.renamed.items()}   # this frame's renames
        for now, before in renamed_from.items():
            self.get_logger().info(f"track {before} is {now} from now on (recognised on return, or a new person)")
        self.keep_last_id(max((p.track_id for p in people), default=0))
        self.frames += 1
        self.judge_contact(frame, people)
        self.publish(msg, frame, people, renamed_from)
        self.persons_rate.tick()

    def judge_contact(self, frame: np.ndarray, people) -> None:
        """Someone must be tracked while the frame presses the mat with more than contact_force."""
        force_n = float(frame.sum(dtype=np.float64)) * self.config.cell_pitch ** 2 * 1e3  # kPa * m^2 = kN
        self.tracked_on_contact.expect(force_n > self.get_parameter("contact_force").value)
        if any(person.state is not TrackState.TENTATIVE for person in people):
            self.tracked_on_contact.mark()

    def sanitised(self, frame: np.ndarray) -> np.ndarray:
        clean, changed = sanitise_pressure(frame, self.full_scale)
        for kind, count in changed.items():
            if count:
                self.bad_input(kind, f"{count} cells {SANITISED_AS[kind]}")
        return clean

    def keep_last_id(self, newest: int) -> None:
        if newest <= self.last_id:
            return
        self.last_id = newest
        problem = write_last_id(newest)
        if problem:  # tracking goes on; only ids after a restart could repeat
            self.last_id_not_saved += 1
            self.get_logger().warning(f"cannot keep the last track id ({problem})", throttle_duration_sec=60.0)

    # --- output -----------------------------------------------------------------------------------
    def publish(self, source: Image, frame: np.ndarray, people, renamed_from: dict[int, int]) -> None:
        """`renamed_from`: the id each person renamed in this frame was published under until now."""
        header = source.header
        persons = PersonPressureArray(header=header)
        confirmed = []
        for person in people:
            crop = array_to_image(person.crop, header)
            persons.persons.append(PersonPressure(
                track_id=person.track_id,
                state=STATE_TO_MSG[person.published_state],
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
                renamed_from=renamed_from.get(person.track_id, 0),
            ))
            if person.published_state is not TrackState.TENTATIVE:
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
                Image, f"presstrack/persons/person_{track_id}/pressure", qos_profile_sensor_data)
        return self.crop_pubs[track_id]

    def release_crop_publishers(self, live_ids: set[int]) -> None:
        """Per-person topics disappear with their track (ROS4HRI style)."""
        for track_id in set(self.crop_pubs) - live_ids:
            self.destroy_publisher(self.crop_pubs.pop(track_id))

    def publish_diagnostics(self) -> None:
        # Stamped before the counters are read: what happened before the stamp is in them.
        stamp = self.get_clock().now().to_msg()
        counters = {"frames": self.frames, "frames_received": self.frames_received, "bursts": self.timing.bursts_seen,
                    "tracks_live": len(self.crop_pubs),
                    "ids_issued": self.tracker.tracker.next_id - self.first_id,
                    "last_id_not_saved": self.last_id_not_saved, **self.bad_input.diagnostic_values()}
        period = self.gaps.period_s
        self.frames_seen.max_silence_s = max(SILENT_AFTER_S, SILENT_PERIODS * (period or 0.0))
        # The bounds of the persons' rate follow the mat's rate, as the frames' stamps give it.
        self.persons_rate.bounds.min_hz = self.persons_rate.bounds.max_hz = 1.0 / period if period else 0.0
        stale = self.frames_seen.report()
        if stale.level:  # no frames: nothing to track and nothing pressed that we know of
            self.tracked_on_contact.expect(False)
        persons, contact = self.persons_rate.report(), self.tracked_on_contact.report()
        if period is None or stale.level:
            persons.level, persons.message = OK, "OK"  # no bounds without frames and their rate
        report = merge([stale, persons, contact])
        report.values = {**counters, "mat_rate_hz": 1.0 / period if period else 0.0, **report.values}
        if not report.level and (self.bad_input.any_counted or self.last_id_not_saved):
            report.level, report.message = WARN, "bad input dropped or sanitised, or last id not saved"
        self.diagnostics_pub.publish(DiagnosticArray(header=Header(stamp=stamp),
                                                     status=[status_from_report("pressure_tracker: tracking", "mat",
                                                                                report)]))


def main(args=None) -> None:
    run_node(PressureTrackerNode, "pressure_tracker", args)


if __name__ == "__main__":
    main()
