"""ROS 2 node around mesh recovery: tracked people in, SMPL bodies and meshes in the world frame out.

Subscribes  presstrack/persons (PersonPressureArray), mat/info (MatInfo, latched)
Publishes   presstrack/bodies  presstrack_msgs/SmplBodyArray, frame = world
            presstrack/meshes  visualization_msgs/MarkerArray, one simplified TRIANGLE_LIST per person (DELETE
                               when it ends), best effort, at most mesh_rate Hz
            /tf                 <mat frame> -> body_<id> (REP-103/155: hip midpoint, x forward, y left, z up), and
                                the SMPL joint tree below it as <joint>_<id> frames when asked (<id>: b<track id>)
            humans/bodies/...   the ROS4HRI (REP-155) interface, unless ros4hri is false (mesh_recovery.hri_interface)
            /diagnostics        "mesh_recovery: bodies": STALE when no persons message comes, ERROR when people
                                are tracked but no bodies come or bodies flow but no meshes, WARN when bodies go
                                out slower than the persons' stamps advance; frames, frames_skipped (behind by
                                more than max_lag: on to the newest message), bursts (messages arriving back
                                to back: a loaded host, not bad input), mesh_worker_restarts,
                                latency_p50_ms (bodies out after their stamps, for stamps on this node's clock;
                                the others counted as latency_stamps_off_clock), bad input ...

Bad input (stamps going back or jumping, duplicate ids, more people than max_people, persons with
non-finite or out-of-range fields, crops that are not 32FC1, empty, malformed or off the mat, NaN/Inf,
negative or above-full-scale cells, crops larger than any person's, a malformed /mat/info, messages missing
between the stamps that arrive) is counted per kind in /diagnostics as
bad_input_<kind>, warned about (throttled per kind), and dropped or sanitised; the node goes on.
"""
from __future__ import annotations

import dataclasses
import math
import threading
import time
import traceback
from collections.abc import Callable

import numpy as np
import rclpy
import torch
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, TransformStamped, Vector3
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from presstrack_body.kinematics import JOINT_NAMES
from presstrack_body.model import BodyModel
from mesh_recovery.body_frames import body_transforms
from mesh_recovery.bounded_lag import BoundedLagWorker
from mesh_recovery.estimators import PendingRenames, PersonInput, make_estimator
from mesh_recovery.hmr.checkpoint import shipped_checkpoint
from mesh_recovery.hmr.inference import DEVICES, INFERENCE_PATHS
from mesh_recovery.hri_interface import HriBodies
from mesh_recovery.markers import delete_markers, label_marker, mesh_marker, serialize_markers
from mesh_recovery.meshes import ClusteredMesh, decimated_faces, id_colour
from presstrack_common.conversions import image_to_array, quaternion_from_matrix, status_from_report
from presstrack_common.health import OK, STALE, WARN, FrequencyBounds, FrequencyStatus, Staleness, StampLatency, merge
from presstrack_common.input_checks import (MAX_CROP_SIDE, MAX_TRACK_ID, SANITISED_AS, BadInputCounter, StampGaps,
                                          StreamTiming, check_mat_info, sanitise_pressure)
from presstrack_common.mat_geometry import DataDecideTheMat, MatGeometry
from presstrack_msgs.msg import MatInfo, PersonPressure, PersonPressureArray, SmplBody, SmplBodyArray
from presstrack_common.node_main import run_node
from presstrack_common.parameters import ParameterSpec, declare_parameters, refuse_unknown_choice

BACKENDS = ("footprint", "learned")
OUTPUT_MODES = ("online", "centred")
# Start-only parameters (read-only) are the ones the estimator is built from.
PARAMETERS = {
    "backend": ParameterSpec("footprint", "footprint (training-free) or learned (the paper's network)",
                             choices=BACKENDS, read_only=True),
    "checkpoint": ParameterSpec("", "learned backend checkpoint (.pt); empty: the shipped one for output_mode",
                                read_only=True),
    "smpl_model_path": ParameterSpec("", "SMPL model file or folder; empty: the embedded default body",
                                     read_only=True),
    "window": ParameterSpec(16, "[frames] temporal window of the learned backend", limits=(1, 256), read_only=True),
    "output_mode": ParameterSpec("online", "online (newest frame) or centred (the paper's, half a window late)",
                                 choices=OUTPUT_MODES, read_only=True),
    "world_frame": ParameterSpec("world", "frame of presstrack/bodies"),
    "reference_frame": ParameterSpec("", "parent of the body_<id> TF frames: empty for the mat frame, or the "
                                     "world frame"),
    "publish_meshes": ParameterSpec(True, "publish presstrack/meshes"),
    "mesh_resolution": ParameterSpec(0.035, "[m] the RViz mesh merges the body's vertices within cubes of this "
                                     "side (0.035: about 3,300 of the default body's 27,420 triangles, 0.25 MB "
                                     "per person)",
                                     limits=(0.005, 0.5)),
    "mesh_decimation": ParameterSpec(1, "keep every n-th face of the RViz mesh", limits=(1, 1000)),
    "mesh_rate": ParameterSpec(5.0, "[Hz] upper bound on presstrack/meshes updates", limits=(0.01, 100.0)),
    "publish_joint_frames": ParameterSpec(False, "TF frames <joint>_<id> of the SMPL tree below body_<id>"),
    "ros4hri": ParameterSpec(True, "the ROS4HRI (REP-155) interface: humans/bodies/tracked, humans/bodies/<id>/"
                             "joint_states and cropped, a URDF per body in human_description_<id>",
                             read_only=True),
    "max_people": ParameterSpec(10, "at most this many bodies per frame (the most confident are kept)",
                                limits=(1, 1000)),
    "max_lag": ParameterSpec(0.1, "[s] frames are processed in order while the oldest waiting one arrived at "
                             "most this long ago; further behind, the node goes on with the newest and counts the "
                             "ones between as frames_skipped", limits=(0.0, 10.0)),
    "inference_path": ParameterSpec("auto", "how the learned backend runs its network: auto (time every path of "
                                    "the device at start, keep the fastest, log which), or one path",
                                    choices=("auto", *INFERENCE_PATHS), read_only=True),
    "device": ParameterSpec("cpu", "where the learned backend runs its network: cpu, or cuda (all people of "
                            "a frame in one batch)", choices=DEVICES, read_only=True),
}
# Messages further apart than this are not a pause but a stamp that jumped.
MAX_STAMP_GAP_S = 5.0
# Without a persons message for SILENT_PERIODS of their periods (and at least SILENT_AFTER_S [s]) the input is STALE;
# people without bodies, or bodies without meshes, for OUTPUT_STOPPED_S [s] (or 3 mesh periods) are an ERROR.
SILENT_PERIODS, SILENT_AFTER_S, OUTPUT_STOPPED_S = 5, 1.0, 2.0
# Bodies may go out this far below the rate of the persons' stamps (skipped under overload) before it is a WARN.
RATE_TOLERANCE = 0.2
# States of the people a body is recovered for (tentative ones are skipped, any other value is malformed).
VALID_STATES = (PersonPressure.STATE_CONFIRMED, PersonPressure.STATE_LOST)


def validate(values: dict) -> None:
    """ValueError with the reason for the first invalid parameter the descriptors cannot judge: a word
    that is not one of its choices, or values that do not fit together."""
    problem = refuse_unknown_choice(PARAMETERS, values.items())
    if problem:
        raise ValueError(problem)
    if values["backend"] == "learned" and not values["checkpoint"]:
        shipped = shipped_checkpoint(values["output_mode"])
        if not shipped.is_file():
            raise ValueError(f"the learned backend needs a checkpoint (none given, none installed at {shipped})")
    if values["reference_frame"] not in ("", values["world_frame"]):
        raise ValueError(f"reference_frame must be empty (the mat frame) or the world frame "
                         f"{values['world_frame']!r}, got {values['reference_frame']!r}")


class MeshRecoveryNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("mesh_recovery", **kwargs)
        self.mesh_worker = self.frame_worker = None  # destroy_node must work when the constructor stops half-way
        declare_parameters(self, PARAMETERS)
        values = self.parameter_values()
        validate(values)
        self.body_model = BodyModel(values["smpl_model_path"] or None)
        # The MIP layout until /mat/info says otherwise; another size once people were seen is only announced,
        # until people confirm or refute it.
        self.mat = DataDecideTheMat(MatGeometry(), size=lambda geometry: (geometry.rows, geometry.cols))
        self.mat_frame = "mat"  # until /mat/info names it
        self.estimator = make_estimator(values, self.body_model, self.geometry)
        if values["backend"] == "learned":
            timed = ", ".join(f"{name} {ms:.1f}" for name, ms in self.estimator.path_timings.items())
            self.get_logger().info(f"learned backend: inference path {self.estimator.inference.name}"
                                   + (f" (the fastest here; best ms per 3-person frame: {timed})" if timed else ""))
        self.rest_vertices = self.body_model(np.zeros((1, self.body_model.num_betas), dtype=np.float32),
                                             np.zeros((1, 72), dtype=np.float32),
                                             np.zeros((1, 3), dtype=np.float32))[0][0].numpy()
        self.set_mesh_detail(float(values["mesh_resolution"]), int(values["mesh_decimation"]))
        self.live_ids: set[int] = set()
        self.renames = PendingRenames()   # a rename rides on the frames after its own until one is processed
        self.last_mesh_time = -math.inf
        self.frames = 0
        self.latency = StampLatency(MAX_STAMP_GAP_S)
        self.bad_input = BadInputCounter(self.get_logger().warning)
        self.timing = StreamTiming(self.bad_input, "message", MAX_STAMP_GAP_S)
        self.full_scale = float("inf")  # [kPa] from /mat/info
        self.gaps = StampGaps()
        # Health: persons coming, bodies going out at their rate, bodies while people are tracked, meshes while
        # bodies flow.
        self.persons_seen = Staleness("persons", SILENT_AFTER_S, STALE, "no persons messages")
        self.persons_seen.expect(True)
        self.bodies_rate = FrequencyStatus("bodies", FrequencyBounds(0.0, tolerance=RATE_TOLERANCE))
        self.bodies_for_people = Staleness("bodies", OUTPUT_STOPPED_S, message="people are tracked but no bodies go out")
        self.meshes_for_bodies = Staleness("meshes", OUTPUT_STOPPED_S, message="bodies flow but no meshes go out")

        self.bodies_pub = self.create_publisher(SmplBodyArray, "presstrack/bodies", 10)
        # Best effort and one deep: a late mesh is worth nothing once the next is built (RViz's display is
        # set to best effort in rviz/presstrack.rviz).
        self.meshes_pub = self.create_publisher(MarkerArray, "presstrack/meshes", qos_profile_sensor_data)
        self.mesh_worker = MeshWorker(self.publish_meshes, self.on_mesh_worker_crash)
        self.tf_pub = self.create_publisher(TFMessage, "/tf", 100)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.hri = HriBodies(self, self.body_model) if values["ros4hri"] else None
        # Every message is checked here; its bodies come from a worker that takes the checked frames in order
        # while it is at most max_lag behind (frames DDS delivers bunched all get bodies) and jumps to the newest
        # when further behind (the ones in between counted as frames_skipped), so the latency stays bounded.
        self.frame_worker = BoundedLagWorker(self.process_frame, self.on_processing_error,
                                             max_lag_s=float(values["max_lag"]), name="mesh_frames")
        self.create_subscription(PersonPressureArray, "presstrack/persons", self.on_persons, 10)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.create_subscription(MatInfo, "mat/info", self.on_mat_info, latched)
        self.add_on_set_parameters_callback(self.on_set_parameters)
        self.create_timer(1.0, self.publish_diagnostics)

    def parameter_values(self) -> dict:
        return {name: self.get_parameter(name).value for name in PARAMETERS}

    def on_set_parameters(self, parameters) -> SetParametersResult:
        # Read-only and out-of-range values never get here: rclpy refuses them by their descriptors.
        changed = {p.name: p.value for p in parameters}
        try:
            validate(self.parameter_values() | changed)
        except (TypeError, ValueError) as error:
            return SetParametersResult(successful=False, reason=str(error))
        if "max_lag" in changed:
            self.frame_worker.max_lag_s = float(changed["max_lag"])
        if {"mesh_resolution", "mesh_decimation"} & set(changed):
            values = self.parameter_values() | changed
            self.set_mesh_detail(float(values["mesh_resolution"]), int(values["mesh_decimation"]))
        return SetParametersResult(successful=True)

    def set_mesh_detail(self, resolution: float, keep_every: int) -> None:
        """The simplified mesh RViz gets (set before the worker reads it: one assignment, so no lock)."""
        mesh = ClusteredMesh.from_rest_mesh(self.rest_vertices, self.body_model.faces, resolution)
        self.rviz_mesh = dataclasses.replace(mesh, faces=decimated_faces(mesh.faces, keep_every))

    def on_mat_info(self, info: MatInfo) -> None:
        try:
            geometry = check_mat_info(info)
        except ValueError as error:
            self.bad_input("bad_mat_info", f"/mat/info ignored: {error}")
            return
        self.full_scale = float(info.full_scale)
        self.mat_frame = info.header.frame_id or self.mat_frame
        # A mat of another size while people are tracked: adopted with the first people it fits (the tracker
        # follows the frames), refused if it leaves out people the current mat holds.
        if not self.mat.announce(geometry):
            self.estimator.set_geometry(geometry)

    @property
    def geometry(self) -> MatGeometry:
        return self.mat.current

    def check_announced_geometry(self, people: list[PersonPressure]) -> None:
        """Adopt the size /mat/info announced unless these people's boxes are off it but on the current mat."""
        if not people:
            return
        announced = self.mat.announced
        verdict = self.mat.judge(lambda geometry: all(
            p.box.x_offset + p.box.width <= geometry.cols and p.box.y_offset + p.box.height <= geometry.rows
            for p in people))
        if verdict == DataDecideTheMat.ADOPTED:
            self.estimator.set_geometry(self.geometry)
        elif verdict == DataDecideTheMat.CURRENT:
            self.bad_input("mat_info_contradicts_persons", f"/mat/info says {announced.rows} x {announced.cols} "
                           f"cells, the people tracked are on the {self.geometry.rows} x {self.geometry.cols} mat; "
                           "kept the mat they are on")
            self.mat.refuse()

    def on_persons(self, msg: PersonPressureArray) -> None:
        stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        self.persons_seen.mark()
        missing = self.gaps(stamp_ns)  # every arrival, before any check drops it
        if missing:
            self.bad_input("messages_missing", f"{missing} persons message(s) missing before stamp "
                                               f"{stamp_ns * 1e-9:.3f} s (a full subscription queue, a lost "
                                               "message, or frames the tracker dropped: see its /diagnostics)",
                           missing)
        if not self.timing.accept(stamp_ns):
            return
        stamp = stamp_ns * 1e-9
        candidates: dict[int, PersonPressure] = {}
        for person in msg.persons:
            if person.state == PersonPressure.STATE_TENTATIVE:
                continue
            if person.track_id in candidates:
                self.bad_input("duplicate_track_id", f"track {person.track_id} twice in one message; the first kept")
                continue
            candidates[person.track_id] = person
        max_people = int(self.get_parameter("max_people").value)
        if len(candidates) > max_people:
            self.bad_input("too_many_people", f"{len(candidates)} people, at most {max_people} expected; "
                                              f"the {max_people} most confident kept")
            kept = sorted(candidates.values(), key=lambda p: p.confidence, reverse=True)[:max_people]
            candidates = {p.track_id: p for p in kept}
        if self.mat.announced is not None:
            self.check_announced_geometry(list(candidates.values()))
        people = [p for p in (self.person_input(person, stamp) for person in candidates.values()) if p is not None]
        self.bodies_for_people.expect(bool(people))
        self.frame_worker.submit((msg.header, stamp, self.renames.carry(people)))

    def process_frame(self, frame: tuple[Header, float, list[PersonInput]]) -> None:
        """A checked frame's bodies (on the BoundedLagWorker's thread)."""
        header, stamp, people = frame
        seen = {p.track_id for p in people}
        estimates = self.estimator.update_frame(people)
        self.renames.applied(people)
        bodies = SmplBodyArray(header=Header(stamp=header.stamp, frame_id=self.get_parameter("world_frame").value),
                               bodies=[self.body_message(track_id, e) for track_id, e in estimates.items()])
        for ended in self.live_ids - seen:
            self.estimator.drop(ended)
        # Counted before they go out, so a /diagnostics published once they arrived includes them.
        self.frames += 1
        self.mat.confirm()
        self.bodies_rate.tick()
        if bodies.bodies:
            self.bodies_for_people.mark()
        self.publish(bodies, estimates, ended_ids=self.live_ids - seen)
        self.live_ids = seen
        if self.hri is not None:
            self.hri.publish(bodies.header, self.mat_frame, estimates, people)
        self.latency.add(self.get_clock().now().nanoseconds * 1e-9, stamp)

    def person_input(self, person: PersonPressure, stamp: float) -> PersonInput | None:
        """The estimator's input for one person, its crop sanitised; None (counted) if the person is unusable."""
        track_id = person.track_id
        centroid = (person.centroid.x, person.centroid.y, person.centroid.z)
        wrong = [name for name, right in (
            ("track_id", 0 < track_id <= MAX_TRACK_ID), ("state", person.state in VALID_STATES), ("confidence", 0.0 <= person.confidence <= 1.0),
            ("centroid", all(math.isfinite(v) for v in centroid)),
            ("total_force", 0.0 <= person.total_force < math.inf),
            ("contact_area", 0.0 <= person.contact_area < math.inf),
            ("renamed_from", person.renamed_from <= MAX_TRACK_ID)) if not right]  # NaN fails every comparison
        if wrong:
            self.bad_input("malformed_person", f"person {track_id}: {', '.join(wrong)} not finite or out of range; "
                                               "dropped")
            return None
        crop = person.crop
        if crop.encoding != "32FC1":
            self.bad_input("crop_wrong_encoding", f"person {track_id}: crop encoding {crop.encoding!r}, expected "
                                                  "32FC1 (kPa); dropped")
            return None
        if crop.height > MAX_CROP_SIDE or crop.width > MAX_CROP_SIDE:
            self.bad_input("crop_oversize", f"person {track_id}: crop of {crop.height} x {crop.width} cells, no "
                                            f"person's crop has over {MAX_CROP_SIDE} a side; dropped")
            return None
        if crop.height == 0 or crop.width == 0:
            self.bad_input("crop_empty", f"person {track_id}: crop of {crop.height} x {crop.width} cells; dropped")
            return None
        try:
            cells = image_to_array(crop)
        except ValueError as error:
            self.bad_input("crop_malformed", f"person {track_id}: crop {error}; dropped")
            return None
        rows, cols = self.geometry.rows, self.geometry.cols
        box = (person.box.x_offset, person.box.y_offset, person.box.x_offset + person.box.width,
               person.box.y_offset + person.box.height)
        crop_on_mat = (person.crop_row0 < rows and person.crop_row0 + crop.height > 0
                       and person.crop_col0 < cols and person.crop_col0 + crop.width > 0)
        if box[2] > cols or box[3] > rows or not crop_on_mat:
            self.bad_input("person_off_mat", f"person {track_id}: box {box} or crop at ({person.crop_row0}, "
                                             f"{person.crop_col0}) off the {rows} x {cols} mat; dropped")
            return None
        cells, changed = sanitise_pressure(cells, self.full_scale)
        for kind, count in changed.items():
            if count:
                self.bad_input(f"crop_{kind}", f"person {track_id}: {count} crop cells {SANITISED_AS[kind]}")
        heading = person.heading + self.geometry.yaw_world_from_mat if math.isfinite(person.heading) else None
        return PersonInput(track_id, cells, (person.crop_row0, person.crop_col0), box, heading, stamp,
                           person.renamed_from)

    def body_message(self, track_id: int, estimate) -> SmplBody:
        return SmplBody(
            track_id=track_id, betas=estimate.betas.astype(np.float32), pose=estimate.pose.astype(np.float32),
            transl=Vector3(x=float(estimate.transl[0]), y=float(estimate.transl[1]), z=float(estimate.transl[2])),
            joints=[Point(x=float(x), y=float(y), z=float(z)) for x, y, z in estimate.joints],
            confidence=float(estimate.confidence), body_model=str(self.body_model.model_path),
            backend=self.get_parameter("backend").value)

    def publish(self, bodies: SmplBodyArray, estimates: dict, ended_ids: set[int]) -> None:
        self.bodies_pub.publish(bodies)
        self.publish_frames(bodies.header, estimates)
        now = time.monotonic()
        due = now - self.last_mesh_time >= 1.0 / self.get_parameter("mesh_rate").value
        publishing = self.get_parameter("publish_meshes").value
        self.meshes_for_bodies.expect(publishing and bool(bodies.bodies))
        if publishing and (due or ended_ids):
            self.last_mesh_time = now if due else self.last_mesh_time
            self.mesh_worker.submit(bodies if due else SmplBodyArray(header=bodies.header), ended_ids)

    def publish_frames(self, header: Header, estimates: dict) -> None:
        """TF body_<id> in the reference frame (the mat frame unless reference_frame names the world), and
        the joint tree below it when publish_joint_frames is set."""
        reference = self.get_parameter("reference_frame").value
        reference_from_world = np.eye(4) if reference else np.linalg.inv(self.geometry.world_from_mat)
        reference = reference or self.mat_frame
        joint_frames = self.get_parameter("publish_joint_frames").value
        transforms = []
        for track_id, estimate in estimates.items():
            for frame in body_transforms(track_id, estimate.joints, estimate.rotations, reference,
                                         reference_from_world, joint_frames):
                transform = TransformStamped()
                transform.header = Header(stamp=header.stamp, frame_id=frame.parent)
                transform.child_frame_id = frame.child
                x, y, z = (float(v) for v in frame.translation)
                transform.transform.translation = Vector3(x=x, y=y, z=z)
                transform.transform.rotation = quaternion_from_matrix(frame.rotation)
                transforms.append(transform)
        if transforms:
            self.tf_pub.publish(TFMessage(transforms=transforms))

    def publish_meshes(self, bodies: SmplBodyArray, ended_ids: set[int]) -> None:
        """Runs on the mesh worker's thread."""
        markers = self.markers(bodies, ended_ids)
        try:
            self.meshes_pub.publish(markers)
        except Exception:  # noqa: BLE001 - Ctrl-C can invalidate the context while the meshes were built
            if rclpy.ok(context=self.context):
                raise
            return
        if bodies.bodies:
            self.meshes_for_bodies.mark()

    def on_mesh_worker_crash(self, error: Exception, restarts: int) -> None:
        """The mesh worker died and was restarted (counted in /diagnostics); the first death is logged with its
        traceback, the next ones once a minute."""
        if restarts == 1:
            self.get_logger().error("the mesh worker died and was restarted: " + "".join(
                traceback.format_exception(error)).rstrip())
        else:
            self.get_logger().error(f"the mesh worker died again ({restarts} restarts): {type(error).__name__}: "
                                    f"{error}", throttle_duration_sec=60.0)

    def markers(self, bodies: SmplBodyArray, ended_ids: set[int]) -> bytes:
        """Serialised MarkerArray: a mesh and an id label per body, DELETEs for ended tracks."""
        header = bodies.header
        markers, meshes = [], {}
        if bodies.bodies:
            betas = np.stack([np.asarray(b.betas, dtype=np.float32) for b in bodies.bodies])
            poses = np.stack([np.asarray(b.pose, dtype=np.float32) for b in bodies.bodies])
            transl = np.array([[b.transl.x, b.transl.y, b.transl.z] for b in bodies.bodies], dtype=np.float32)
            vertices = self.body_model(betas, poses, transl)[0].numpy()
            mesh = self.rviz_mesh
            for body, body_vertices in zip(bodies.bodies, vertices):
                meshes[len(markers)] = mesh.vertices(body_vertices)[mesh.faces]
                markers.append(mesh_marker(header, body.track_id, id_colour(body.track_id)))
                markers.append(label_marker(header, body.track_id, body.joints[JOINT_NAMES.index("head")]))
        for track_id in sorted(ended_ids):
            markers += delete_markers(header, track_id)
        return serialize_markers(markers, meshes)

    def on_processing_error(self, error: Exception) -> None:
        if not rclpy.ok(context=self.context):  # Ctrl-C invalidated the context while the frame was published
            return
        self.bad_input("processing_error", f"a frame's bodies failed: {type(error).__name__}: {error}")

    def destroy_node(self) -> None:
        if self.frame_worker is not None:
            self.frame_worker.close()
        if self.mesh_worker is not None:
            self.mesh_worker.close()
        super().destroy_node()

    def publish_diagnostics(self) -> None:
        # Stamped before the counters are read: what happened before the stamp is in them.
        stamp = self.get_clock().now().to_msg()
        counters = {"frames": self.frames, "frames_skipped": self.frame_worker.skipped, "bursts": self.timing.bursts_seen,
                    "tracks_live": len(self.live_ids), "mesh_worker_restarts": self.mesh_worker.restarts,
                    **self.latency.values(),
                    **self.bad_input.diagnostic_values()}
        period = self.gaps.period_s
        self.persons_seen.max_silence_s = max(SILENT_AFTER_S, SILENT_PERIODS * (period or 0.0))
        self.meshes_for_bodies.max_silence_s = max(OUTPUT_STOPPED_S, 3.0 / self.get_parameter("mesh_rate").value)
        # The bounds of the bodies' rate follow the persons' rate, as their stamps give it.
        self.bodies_rate.bounds.min_hz = self.bodies_rate.bounds.max_hz = 1.0 / period if period else 0.0
        stale = self.persons_seen.report()
        if stale.level:  # no input: no output is due
            self.bodies_for_people.expect(False)
            self.meshes_for_bodies.expect(False)
        bodies = self.bodies_rate.report()
        if period is None or stale.level:
            bodies.level, bodies.message = OK, "OK"  # no bounds without persons messages and their rate
        report = merge([stale, bodies, self.bodies_for_people.report(), self.meshes_for_bodies.report()])
        report.values = {**counters, "persons_rate_hz": 1.0 / period if period else 0.0, **report.values}
        if not report.level and (self.bad_input.any_counted or self.mesh_worker.restarts):
            report.level, report.message = WARN, "bad input dropped or sanitised, or the mesh worker restarted"
        self.diagnostics_pub.publish(DiagnosticArray(header=Header(stamp=stamp), status=[
            status_from_report("mesh_recovery: bodies", self.get_parameter("backend").value, report)]))


class MeshWorker:
    """Builds and publishes the RViz meshes on a thread of its own, so that building them (about 13 ms for
    3 full meshes) never delays the next frame's bodies. Only the newest bodies wait; the DELETEs of ended
    tracks are never dropped.

    A thread that dies (``build_and_publish`` raised) is replaced at once, the work it held lost: the death is
    counted in ``restarts`` and reported to ``on_crash(error, restarts)``; meshes never stop silently.
    """

    def __init__(self, build_and_publish: Callable[[SmplBodyArray, set[int]], None],
                 on_crash: Callable[[Exception, int], None]) -> None:
        self._build_and_publish = build_and_publish
        self._on_crash = on_crash
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: tuple[SmplBodyArray, set[int]] | None = None
        self._stopping = False
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mesh_worker", daemon=True)
        self._thread.start()

    def submit(self, bodies: SmplBodyArray, ended_ids: set[int]) -> None:
        with self._lock:
            earlier_ended = self._pending[1] if self._pending else set()
            keep = bodies if bodies.bodies or self._pending is None else self._pending[0]
            self._pending = (keep, earlier_ended | set(ended_ids))
        self._wake.set()

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=5.0)

    def _run(self) -> None:
        try:
            self._serve()
        except Exception as error:  # noqa: BLE001 - whatever killed this thread, a new one takes over
            self.restarts += 1
            if not self._stopping:
                self._start()
            self._on_crash(error, self.restarts)

    def _serve(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                work, self._pending = self._pending, None
            if work is not None:
                self._build_and_publish(*work)
            with self._lock:
                if self._stopping and self._pending is None:  # what was submitted before close() goes out
                    return


def main(args=None) -> None:
    # One intra-op thread: the graph's processes share the host's cores, and per-person batches are small.
    torch.set_num_threads(1)
    run_node(MeshRecoveryNode, "mesh_recovery", args)


if __name__ == "__main__":
    main()
