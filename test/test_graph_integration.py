"""The whole graph as separate processes (`presstrack up`), heard by an independent rclpy client.

A simulated session where people walk on and off the mat is recorded; the bag is read back with
rosbags and replayed through a fresh graph, which must reproduce the recorded tracks.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from graph_testing import Listener
from presstrack_msgs.msg import PersonPressure, PersonPressureArray, SmplBodyArray

PRESSTRACK = str(Path(sys.executable).parent / "presstrack")
SESSION_S = 30.0
REID_WAIT_NS = 1_500_000_000  # a returning person's weight is trusted (re-identified) within this of stepping on


def run_presstrack(args: list[str], log: Path, timeout: float) -> subprocess.Popen:
    process = subprocess.Popen([PRESSTRACK, *args], stdout=open(log, "w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    process.deadline = time.monotonic() + timeout
    return process


def finish(process: subprocess.Popen) -> int:
    try:
        return process.wait(timeout=max(process.deadline - time.monotonic(), 1.0))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)
        return process.wait(timeout=30)


def stamp_of(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def confirmed_tracks(messages) -> dict[int, set[tuple]]:
    return {stamp_of(m): {(p.track_id, p.box.x_offset, p.box.y_offset, p.box.width, p.box.height)
                          for p in m.persons if p.state == PersonPressure.STATE_CONFIRMED} for m in messages}


def truth_matches(messages) -> list[tuple[int, int, int | None]]:
    """(stamp, true person, confirmed track id whose box centre lies within 30 cells of theirs, or None) for
    every true person in every simulator frame."""
    tracked = confirmed_tracks(messages["/presstrack/persons"])
    matches = []
    for msg in messages["/mat/sim/persons"]:
        stamp = stamp_of(msg)
        for truth in msg.persons:
            centre = np.array([truth.box.x_offset + truth.box.width / 2, truth.box.y_offset + truth.box.height / 2])
            best = min(tracked.get(stamp, ()), default=None,
                       key=lambda t: np.linalg.norm(centre - (t[1] + t[3] / 2, t[2] + t[4] / 2)))
            near = best is not None and np.linalg.norm(centre - (best[1] + best[3] / 2, best[2] + best[4] / 2)) < 30
            matches.append((stamp, truth.track_id, best[0] if near else None))
    return matches


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A recorded live session: what the listener heard, and the bag."""
    folder = tmp_path_factory.mktemp("graph")
    bag = folder / "session"
    listener = Listener("graph_test_listener")
    for topic, msg_type in (("/presstrack/bodies", SmplBodyArray), ("/tf", TFMessage),
                            ("/presstrack/persons", PersonPressureArray), ("/mat/sim/persons", PersonPressureArray)):
        listener.listen(topic, msg_type, 100)
    # Meshes are published best effort: a reliable subscription would not match.
    listener.listen("/presstrack/meshes", MarkerArray, QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT))
    graph = run_presstrack(["up", "--duration", str(SESSION_S), "--record", str(bag), "source:=sim", "people:=2",
                            "seed:=3", "--set", "mat_driver.scenario=enter_leave",
                            # Small meshes: deserialising full meshes in this Python listener would make
                            # the listener, not the graph, the bottleneck.
                            "--set", "mesh_recovery.mesh_decimation=40",
                            "--set", "mesh_recovery.publish_joint_frames=true"], folder / "up.log", SESSION_S + 120)
    try:
        listener.spin_until(lambda: graph.poll() is not None, SESSION_S + 120)
    finally:
        status = finish(graph)
        messages, arrival = dict(listener.messages), dict(listener.arrival)
        listener.close()
    assert status == 0, (folder / "up.log").read_text()[-3000:]
    return messages, arrival, bag, folder


def rotation_of(q) -> np.ndarray:
    w, x, y, z = q.w, q.x, q.y, q.z
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def test_body_frames_stand_up_and_face_the_walk(session):
    """REP-103/155 body frames in the recorded session: z within 10 deg of up, x mostly within 30 deg of the
    walking direction while a person walks a straight course, and the joint frames form the SMPL tree below
    body_<id>.

    The frames are the estimated bodies' (footprint backend): where the tracker's heading of a person is
    reversed for a while, so is their body. The convention itself is checked exactly on the simulator's
    true bodies in test_body_frames.py."""
    from presstrack_body.kinematics import JOINT_NAMES, PARENTS

    messages, _, _, _ = session
    poses: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = defaultdict(list)
    parents: dict[str, str] = {}
    for msg in messages["/tf"]:
        for t in msg.transforms:
            parents[t.child_frame_id] = t.header.frame_id
            if t.child_frame_id.startswith("body_"):
                origin = np.array([t.transform.translation.x, t.transform.translation.y, t.transform.translation.z])
                track_id = int(t.child_frame_id.removeprefix("body_b"))
                poses[track_id].append((stamp_of(t), origin, rotation_of(t.transform.rotation)))
    assert poses
    up_angles, walk_angles = [], []
    for track_id, track in poses.items():
        assert parents[f"body_b{track_id}"] == "mat"
        for index, joint in enumerate(JOINT_NAMES):
            parent = f"body_b{track_id}" if PARENTS[index] < 0 else f"{JOINT_NAMES[PARENTS[index]]}_b{track_id}"
            assert parents[f"{joint}_b{track_id}"] == parent
        track.sort(key=lambda p: p[0])
        for (t0, p0, _), (t, p, rotation), (t1, p1, _) in zip(track, track[7:], track[14:]):
            up_angles.append(np.degrees(np.arccos(np.clip(rotation[2, 2], -1, 1))))  # the mat frame is z up
            velocity = (p1 - p0)[:2] / ((t1 - t0) * 1e-9)
            before, after = (p - p0)[:2], (p1 - p)[:2]
            # A walking direction exists where the course is straight over the second: in a turn about (at the
            # mat's end) the chord of the window points nowhere the body faces.
            straight = before @ after > np.cos(np.radians(30.0)) * np.linalg.norm(before) * np.linalg.norm(after)
            if t1 - t0 < 1.5e9 and np.linalg.norm(velocity) > 0.3 and straight:  # [m/s] walking, not swaying
                direction = velocity / np.linalg.norm(velocity)
                walk_angles.append(np.degrees(np.arccos(np.clip(rotation[:2, 0] @ direction
                                                                / np.linalg.norm(rotation[:2, 0]), -1, 1))))
    assert max(up_angles) < 10.0
    assert len(walk_angles) > 50, "people walk in the session"
    walk_angles = np.array(walk_angles)
    assert np.median(walk_angles) < 20.0 and np.mean(walk_angles < 30.0) > 0.8, np.percentile(walk_angles, [50, 90, 99])


def test_bodies_meshes_and_frames_per_person_with_stable_ids(session):
    messages, _, _, _ = session
    bodies = messages["/presstrack/bodies"]
    assert len(bodies) > 100, "bodies keep coming"
    body_ids = {b.track_id for msg in bodies for b in msg.bodies}
    assert body_ids, "somebody was recovered"
    frames = {t.child_frame_id for msg in messages["/tf"] for t in msg.transforms}
    assert {f"body_b{i}" for i in body_ids} <= frames
    meshes = {m.id for msg in messages["/presstrack/meshes"] for m in msg.markers
              if m.ns == "presstrack_meshes" and m.action == 0}
    assert body_ids <= meshes

    # Stable ids: each stay of a true person on the mat is covered mostly by one track id. Someone who leaves
    # and comes back may get their id back by re-identification, or rightly a new one; re-identification
    # waits for a trusted weight (about a second), tentative meanwhile, so the first REID_WAIT_NS of a stay
    # do not count.
    votes: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    last_seen: dict[int, int] = {}
    stay: dict[int, int] = defaultdict(int)
    stay_start: dict[int, int] = {}
    for stamp, truth_id, track_id in truth_matches(messages):
        if truth_id not in stay_start or stamp - last_seen[truth_id] > 1_000_000_000:
            stay[truth_id] += 1
            stay_start[truth_id] = stamp
        last_seen[truth_id] = stamp
        if track_id is not None and stamp - stay_start[truth_id] >= REID_WAIT_NS:
            votes[truth_id, stay[truth_id]][track_id] += 1
    assert votes, "tracks line up with the true people"
    for (truth_id, visit), counts in votes.items():
        assert max(counts.values()) >= 0.8 * sum(counts.values()), \
            f"person {truth_id} (stay {visit}) split over track ids {dict(counts)}"


def test_ids_are_released_when_people_leave(session):
    messages, _, _, _ = session
    # Whom each id stood for: the true person it was matched to most often before and after each release.
    people_of: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for stamp, truth_id, track_id in truth_matches(messages):
        if track_id is not None:
            people_of[track_id].append((stamp, truth_id))

    def person(track_id: int, after: bool, stamp: int) -> int | None:
        votes = Counter(truth for when, truth in people_of[track_id] if (when > stamp) == after)
        return votes.most_common(1)[0][0] if votes else None

    released: dict[int, int] = {}   # id -> stamp of its release, until it comes back
    releases = 0
    for msg in messages["/presstrack/meshes"]:
        for marker in msg.markers:
            if marker.ns != "presstrack_meshes":
                continue
            if marker.action == 2:
                released[marker.id] = stamp_of(marker)
                releases += 1
            elif marker.id in released:
                # Only the person who left may bring their id back (re-identified by body weight and feet).
                release = released.pop(marker.id)
                before, again = person(marker.id, False, release), person(marker.id, True, release)
                assert before == again, f"id {marker.id} of person {before} came back on person {again}"
    assert releases, "a person left the mat and their mesh was deleted"


def test_latency_within_bounds(session):
    messages, arrival, _, _ = session
    stamps = np.array([stamp_of(m) for m in messages["/presstrack/bodies"]]) * 1e-9
    latency = np.array(arrival["/presstrack/bodies"]) - stamps  # both on this host's wall clock
    # Loose bounds for a loaded 2-core CI machine; `make bench` measures the real figures.
    assert np.percentile(latency, 50) < 1.0 and np.percentile(latency, 99) < 3.0, \
        f"latency p50 {np.percentile(latency, 50):.3f} s, p99 {np.percentile(latency, 99):.3f} s"


def test_bag_has_every_topic_and_replay_reproduces_the_tracks(session):
    from rosbags.highlevel import AnyReader

    messages, _, bag, folder = session
    with AnyReader([bag]) as reader:
        topics = {c.topic for c in reader.connections}
        recorded = defaultdict(list)
        for connection, _, raw in reader.messages(connections=[c for c in reader.connections
                                                               if c.topic in ("/presstrack/persons", "/mat/pressure")]):
            recorded[connection.topic].append(reader.deserialize(raw, connection.msgtype))
    expected = {"/mat/pressure", "/mat/info", "/tf_static", "/tf", "/diagnostics", "/mat/sim/persons",
                "/mat/sim/bodies", "/presstrack/persons", "/presstrack/persons/tracked", "/presstrack/bodies",
                "/presstrack/meshes"}
    assert expected <= topics, f"missing {expected - topics}"
    assert any(t.startswith("/presstrack/persons/person_") for t in topics)

    listener = Listener("replay_listener")
    listener.listen("/presstrack/persons", PersonPressureArray, 100)
    replay = run_presstrack(["replay", str(bag), "--set", "mat_driver.restamp=false"], folder / "replay.log",
                            SESSION_S + 90)
    try:
        listener.spin_until(lambda: replay.poll() is not None, SESSION_S + 90)
    finally:
        status = finish(replay)
        replayed = confirmed_tracks(listener.messages["/presstrack/persons"])
        listener.close()
    assert status == 0, (folder / "replay.log").read_text()[-3000:]
    # The replay can only reproduce frames the bag holds: on a busy host the recorder may discover the mat's
    # topics a second or two after the tracker's, so persons recorded before the first pressure frame are left out.
    first_pressure = min(stamp_of(m) for m in recorded["/mat/pressure"])
    original = {stamp: tracks for stamp, tracks in confirmed_tracks(recorded["/presstrack/persons"]).items()
                if stamp >= first_pressure}
    common = sorted(set(original) & set(replayed))
    assert len(common) >= 0.9 * len(original), "the replay covers the session"
    # The same tracks: the same boxes frame by frame, with the same identities. Id numbers may differ
    # between the runs, and so may an id switch that a frame lost live (best-effort sensor QoS on a busy
    # host) caused in one run only; so each recorded id is paired with the replayed id it mostly became,
    # and nearly every box must carry the paired id.
    # A frame the live tracker lost changes its state (and so, for a few frames, its boxes) where the replay,
    # fed every recorded frame, has none lost: on a loaded host 349 of 369 frames (94.6 %) were seen equal.
    same_boxes = [s for s in common if {t[1:] for t in original[s]} == {t[1:] for t in replayed[s]}]
    assert len(same_boxes) >= 0.9 * len(common), f"only {len(same_boxes)} of {len(common)} frames have the same boxes"
    pairs = Counter((a[0], b[0]) for s in same_boxes for a in original[s] for b in replayed[s] if a[1:] == b[1:])
    usual = {}
    for (recorded_id, replayed_id), count in pairs.most_common():
        usual.setdefault(recorded_id, replayed_id)
    consistent = sum(count for (a, b), count in pairs.items() if usual[a] == b)
    assert consistent >= 0.9 * sum(pairs.values()), f"identities differ between the runs: {dict(pairs)}"
