"""Two mats in one ROS graph: two namespaced PressTrack graphs side by side, without cross-talk."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graph_testing import Listener
from presstrack_bringup.graph import RELATIVE_TOPICS, suite_topics
from presstrack_msgs.msg import PersonPressure, PersonPressureArray, SmplBodyArray

PRESSTRACK = str(Path(sys.executable).parent / "presstrack")
# Graph a as separate processes, graph b composed in one: both ways of running take the namespace.
GRAPHS = {"mat_a": (1, []), "mat_b": (2, ["--composed"])}
SESSION_S = 60.0  # at most; the graphs are stopped once both have published enough


@pytest.fixture(scope="module")
def two_graphs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("namespaces")
    listener = Listener("namespace_test_listener")
    for namespace in GRAPHS:
        listener.listen(f"/{namespace}/presstrack/persons", PersonPressureArray, 100)
        listener.listen(f"/{namespace}/mat/sim/persons", PersonPressureArray, 100)
        listener.listen(f"/{namespace}/presstrack/bodies", SmplBodyArray, 100)
    graphs = {namespace: subprocess.Popen(
        [PRESSTRACK, "up", *options, "--duration", str(SESSION_S), f"namespace:={namespace}", "source:=sim",
         f"people:={people}", "seed:=4", "--set", "mat_driver.scenario=wander", "--set", "mesh_recovery.publish_meshes=false"],
        stdout=open(folder / f"{namespace}.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
        for namespace, (people, options) in GRAPHS.items()}
    endpoints, qos = {}, {}
    try:
        # Once both graphs publish bodies, look at who is on each topic.
        listener.spin_until(lambda: all(len(listener.messages[f"/{n}/presstrack/bodies"]) > 45 for n in GRAPHS),
                            SESSION_S + 60)
        for namespace in ("", *GRAPHS):
            for topic in suite_topics(namespace)[:len(RELATIVE_TOPICS)]:
                endpoints[topic] = ([i.node_namespace for i in listener.node.get_publishers_info_by_topic(topic)],
                                    [i.node_namespace for i in listener.node.get_subscriptions_info_by_topic(topic)
                                     if i.node_name != listener.node.get_name()])
            pressure = f"/{namespace}/mat/pressure" if namespace else "/mat/pressure"
            qos[pressure] = ([i.qos_profile.reliability for i in listener.node.get_publishers_info_by_topic(pressure)],
                             [i.qos_profile.reliability for i in listener.node.get_subscriptions_info_by_topic(pressure)
                              if i.node_name != listener.node.get_name()])
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
    return messages, endpoints, qos


def stamp_of(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def centre(person) -> np.ndarray:
    return np.array([person.box.x_offset + person.box.width / 2, person.box.y_offset + person.box.height / 2])


def test_each_graph_tracks_only_its_own_mat(two_graphs):
    messages, _, _ = two_graphs
    for namespace, (people, _) in GRAPHS.items():
        truth = {stamp_of(m): [centre(p) for p in m.persons] for m in messages[f"/{namespace}/mat/sim/persons"]}
        assert len({p.track_id for m in messages[f"/{namespace}/mat/sim/persons"] for p in m.persons}) == people
        # Every confirmed person stands where one of this mat's true people stands at that very stamp: frames
        # of the other mat would put people elsewhere, at stamps this mat never had.
        # From the first true frame heard on: on a busy host this listener may discover the simulator's topics
        # a moment after the tracker's (the other mat's stamps would still interleave after that).
        first_truth = min(truth)
        distances = [min((np.linalg.norm(centre(p) - c) for c in truth.get(stamp_of(m), ())), default=np.inf)
                     for m in messages[f"/{namespace}/presstrack/persons"] for p in m.persons
                     if p.state == PersonPressure.STATE_CONFIRMED and stamp_of(m) >= first_truth]
        assert len(distances) > 30
        assert np.mean(np.array(distances) < 30) > 0.95, f"{namespace}: people not on this mat"
        # Every body belongs to a person this graph's tracker reported at that stamp (its confirmed and lost
        # tracks: a lost track keeps its body for a while, so a body count says little about cross-talk).
        tracked = {stamp_of(m): {p.track_id for p in m.persons if p.state != PersonPressure.STATE_TENTATIVE}
                   for m in messages[f"/{namespace}/presstrack/persons"]}
        bodies = [(stamp_of(m), {b.track_id for b in m.bodies}) for m in messages[f"/{namespace}/presstrack/bodies"]]
        matched = [ids <= tracked[stamp] for stamp, ids in bodies if stamp in tracked]
        assert len(matched) > 0.9 * len(bodies) and all(matched), f"{namespace}: bodies of people not tracked here"
        assert max(len(ids) for _, ids in bodies) >= people


def test_every_publisher_and_subscriber_of_a_graph_topic_is_in_its_namespace(two_graphs):
    _, endpoints, _ = two_graphs
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

    _, _, qos = two_graphs
    for namespace in GRAPHS:
        publishers, subscribers = qos[f"/{namespace}/mat/pressure"]
        assert publishers == [ReliabilityPolicy.RELIABLE]
        assert subscribers and set(subscribers) == {ReliabilityPolicy.BEST_EFFORT}
