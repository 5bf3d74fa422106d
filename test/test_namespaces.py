"""Two mats in one ROS graph: two namespaced PressTrack graphs side by side, without cross-talk."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hri_msgs.msg import IdsList
from rcl_interfaces.msg import ParameterType
from rcl_interfaces.srv import GetParameters
from sensor_msgs.msg import Image, JointState
from urdf_parser_py.urdf import URDF

from graph_testing import Listener
from presstrack_bringup.graph import RELATIVE_TOPICS, suite_topics
from presstrack_msgs.msg import PersonPressure, PersonPressureArray, SmplBodyArray

PRESSTRACK = str(Path(sys.executable).parent / "presstrack")
# Graph a as separate processes, graph b composed in one: both ways of running take the namespace.
GRAPHS = {"mat_a": (1, []), "mat_b": (2, ["--composed"])}
SESSION_S = 60.0  # at most; the graphs are stopped once both have published enough


def follow_ros4hri(listener: Listener, namespace: str) -> None:
    """What a ROS4HRI consumer (pyhri, libhri) does: hear humans/bodies/tracked and subscribe to each new
    body's topics by its id."""
    bodies = f"/{namespace}/humans/bodies"
    followed: set[str] = set()

    def on_tracked(msg: IdsList) -> None:
        listener.messages[f"{bodies}/tracked"].append(msg)
        for body_id in set(msg.ids) - followed:
            followed.add(body_id)
            listener.listen(f"{bodies}/{body_id}/joint_states", JointState, 100)
            listener.listen(f"{bodies}/{body_id}/cropped", Image, 100)
    listener.node.create_subscription(IdsList, f"{bodies}/tracked", on_tracked, 100)


def tracked_body_description(listener: Listener, namespace: str) -> tuple[str, str] | None:
    """(id, URDF) of a body tracked now, read from the parameter human_description_<id> of the mesh node."""
    client = listener.node.create_client(GetParameters, f"/{namespace}/mesh_recovery/get_parameters")
    for _ in range(5):  # the body asked for may end before the answer comes
        ids = listener.messages[f"/{namespace}/humans/bodies/tracked"][-1].ids
        if not ids or not client.wait_for_service(timeout_sec=5.0):
            listener.spin_for(0.5)
            continue
        future = client.call_async(GetParameters.Request(names=[f"human_description_{ids[0]}"]))
        listener.spin_until(future.done, 10.0)
        values = future.result().values if future.done() else []
        if values and values[0].type == ParameterType.PARAMETER_STRING:
            return ids[0], values[0].string_value
    return None


@pytest.fixture(scope="module")
def two_graphs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("namespaces")
    listener = Listener("namespace_test_listener")
    for namespace in GRAPHS:
        listener.listen(f"/{namespace}/presstrack/persons", PersonPressureArray, 100)
        listener.listen(f"/{namespace}/mat/sim/persons", PersonPressureArray, 100)
        listener.listen(f"/{namespace}/presstrack/bodies", SmplBodyArray, 100)
        follow_ros4hri(listener, namespace)
    graphs = {namespace: subprocess.Popen(
        [PRESSTRACK, "up", *options, "--duration", str(SESSION_S), f"namespace:={namespace}", "source:=sim",
         f"people:={people}", "seed:=4", "--set", "mat_driver.scenario=wander", "--set", "mesh_recovery.publish_meshes=false"],
        stdout=open(folder / f"{namespace}.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
        for namespace, (people, options) in GRAPHS.items()}
    endpoints, qos, descriptions = {}, {}, {}
    try:
        # Once both graphs publish bodies and confirmed people heard beside their mat's truth, look at who is on
        # each topic (on a busy host the listener may discover the simulator's topics late: wait for the
        # measure, not for a time).
        def enough() -> bool:
            return all(len(listener.messages[f"/{n}/presstrack/bodies"]) > 45
                       and len(confirmed_distances(listener.messages, n)) > 45 for n in GRAPHS)
        while not enough() and graphs_running(graphs):
            listener.spin_for(1.0)
        for namespace in ("", *GRAPHS):
            for topic in suite_topics(namespace)[:len(RELATIVE_TOPICS)]:
                endpoints[topic] = ([i.node_namespace for i in listener.node.get_publishers_info_by_topic(topic)],
                                    [i.node_namespace for i in listener.node.get_subscriptions_info_by_topic(topic)
                                     if i.node_name != listener.node.get_name()])
            pressure = f"/{namespace}/mat/pressure" if namespace else "/mat/pressure"
            qos[pressure] = ([i.qos_profile.reliability for i in listener.node.get_publishers_info_by_topic(pressure)],
                             [i.qos_profile.reliability for i in listener.node.get_subscriptions_info_by_topic(pressure)
                              if i.node_name != listener.node.get_name()])
        descriptions = {namespace: tracked_body_description(listener, namespace) for namespace in GRAPHS}
    finally:
        for graph in graphs.values():  # Ctrl-C: presstrack stops its graph and exits 0
            if graph.poll() is None:
                os.killpg(graph.pid, signal.SIGINT)
        for graph in graphs.values():
            graph.wait(timeout=30)
        messages = dict(listener.messages)
        listener.close()
    for namespace, graph in graphs.items():
        assert graph.returncode == 0, (folder / f"{namespace}.log").read_text()[-3000:]
    return messages, endpoints, qos, descriptions


def graphs_running(graphs: dict[str, subprocess.Popen]) -> bool:
    return all(graph.poll() is None for graph in graphs.values())


def stamp_of(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def centre(person) -> np.ndarray:
    return np.array([person.box.x_offset + person.box.width / 2, person.box.y_offset + person.box.height / 2])


def distance_to_box(point: np.ndarray, person) -> float:
    """Cells from `point` to the person's box (0 inside it)."""
    low = np.array([person.box.x_offset, person.box.y_offset])
    high = low + np.array([person.box.width, person.box.height])
    return float(np.linalg.norm(np.maximum(np.maximum(low - point, point - high), 0.0)))


def confirmed_distances(messages, namespace: str) -> list[float]:
    """For every confirmed person of this graph's tracker, the distance (cells) from its centre to the nearest
    true person's box of this mat at the same stamp (inf where this mat had no frame at that stamp). Frames of
    the other mat would put people elsewhere, at stamps this mat never had. To the true box, not its centre: in
    a long stride the true box holds both feet while the tracker's may hold one, its centre up to half a step
    (about 40 cells at 1.4 m/s) from the true centre. From the first true frame heard on: on a busy host the
    listener may discover the simulator's topics a moment after the tracker's (the other mat's stamps would
    still interleave after that)."""
    truth = {stamp_of(m): list(m.persons) for m in list(messages[f"/{namespace}/mat/sim/persons"])}
    if not truth:
        return []
    first_truth = min(truth)
    return [min((distance_to_box(centre(p), t) for t in truth.get(stamp_of(m), ())), default=np.inf)
            for m in list(messages[f"/{namespace}/presstrack/persons"]) for p in m.persons
            if p.state == PersonPressure.STATE_CONFIRMED and stamp_of(m) >= first_truth]


def test_each_graph_tracks_only_its_own_mat(two_graphs):
    messages, _, _, _ = two_graphs
    for namespace, (people, _) in GRAPHS.items():
        assert len({p.track_id for m in messages[f"/{namespace}/mat/sim/persons"] for p in m.persons}) == people
        # Every confirmed person stands where one of this mat's true people stands at that very stamp.
        distances = confirmed_distances(messages, namespace)
        assert len(distances) > 30
        assert np.mean(np.array(distances) < 10) > 0.95, f"{namespace}: people not on this mat"
        # Every body belongs to a person this graph's tracker reported at that stamp (its confirmed and lost
        # tracks: a lost track keeps its body for a while, so a body count says little about cross-talk).
        tracked = {stamp_of(m): {p.track_id for p in m.persons if p.state != PersonPressure.STATE_TENTATIVE}
                   for m in messages[f"/{namespace}/presstrack/persons"]}
        bodies = [(stamp_of(m), {b.track_id for b in m.bodies}) for m in messages[f"/{namespace}/presstrack/bodies"]]
        matched = [ids <= tracked[stamp] for stamp, ids in bodies if stamp in tracked]
        assert len(matched) > 0.9 * len(bodies) and all(matched), f"{namespace}: bodies of people not tracked here"
        assert max(len(ids) for _, ids in bodies) >= people


def test_every_publisher_and_subscriber_of_a_graph_topic_is_in_its_namespace(two_graphs):
    _, endpoints, _, _ = two_graphs
    for topic in suite_topics()[:len(RELATIVE_TOPICS)]:  # the root namespace's names: none of ours there
        publishers, subscribers = endpoints[topic]
        assert not {f"/{n}" for n in GRAPHS} & set(publishers + subscribers), (topic, publishers, subscribers)
    for namespace in GRAPHS:
        for relative in ("mat/pressure", "mat/info", "presstrack/persons"):
            publishers, subscribers = endpoints[f"/{namespace}/{relative}"]
            assert publishers == [f"/{namespace}"], (relative, publishers)
            assert subscribers and set(subscribers) == {f"/{namespace}"}, (relative, subscribers)


def test_pressure_qos_follows_rep_2003(two_graphs):
    """The driver publishes reliable (system default), the tracker subscribes best effort (sensor data)."""
    from rclpy.qos import ReliabilityPolicy

    _, _, qos, _ = two_graphs
    for namespace in GRAPHS:
        publishers, subscribers = qos[f"/{namespace}/mat/pressure"]
        assert publishers == [ReliabilityPolicy.RELIABLE]
        assert subscribers and set(subscribers) == {ReliabilityPolicy.BEST_EFFORT}


def test_a_ros4hri_consumer_hears_every_tracked_body_in_its_namespace(two_graphs):
    """/<ns>/humans/bodies/tracked names the bodies of /<ns>/presstrack/bodies (ids b<track id>), each tracked
    body's joint_states and cropped arrive, and its URDF parameter parses with its 24 SMPL joints."""
    messages, _, _, descriptions = two_graphs
    for namespace in GRAPHS:
        hri = f"/{namespace}/humans/bodies"
        tracked = {stamp_of(m): set(m.ids) for m in messages[f"{hri}/tracked"]}
        bodies = {stamp_of(m): {f"b{b.track_id}" for b in m.bodies}
                  for m in messages[f"/{namespace}/presstrack/bodies"]}
        common = sorted(set(tracked) & set(bodies))
        assert len(common) > 30, namespace
        assert all(tracked[stamp] == bodies[stamp] for stamp in common), namespace
        ids = [body_id for stamp in sorted(tracked) for body_id in tracked[stamp]]
        assert ids, namespace
        # Bodies tracked for three seconds or more (a consumer subscribes once it hears an id, so a body that
        # lives a short while may end before its subscription matches: discovery takes over a second on a
        # loaded host).
        lasting = {body_id for body_id in set(ids) if ids.count(body_id) >= 45}
        assert lasting, namespace
        for body_id in lasting:
            states = messages[f"{hri}/{body_id}/joint_states"]
            assert states, f"{namespace}: no joint states of {body_id}"
            assert all(len(s.name) == 72 == len(s.position) and all(n.endswith(f"_{body_id}") for n in s.name)
                       and np.isfinite(s.position).all() for s in states)
            # (of frames heard on either topic: on a loaded host this listener may miss one message of one)
            assert {stamp_of(s) for s in states} <= set(tracked) | set(bodies), \
                "joint states of frames the body was tracked in"
            crops = messages[f"{hri}/{body_id}/cropped"]
            mat_frame = messages[f"/{namespace}/presstrack/persons"][-1].header.frame_id
            assert crops and all(c.encoding == "32FC1" and c.header.frame_id == mat_frame for c in crops)
        assert descriptions[namespace] is not None, f"{namespace}: no human_description_<id> of a tracked body"
        body_id, urdf = descriptions[namespace]
        robot = URDF.from_xml_string(urdf)
        assert robot.get_root() == f"body_{body_id}"
        assert len([j for j in robot.joints if j.type == "revolute"]) == 3 * 24
