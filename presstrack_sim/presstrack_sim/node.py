"""ROS 2 node that publishes the simulated mat: what mat_driver publishes for a real one, plus ground truth.

It is the driver node with the simulator as its source (the driver/simulation split of robot stacks:
same topics, same parameter block, same node name, so the graph and its consumers cannot tell them
apart), and two topics only a simulator can fill:
  mat/sim/persons   ground-truth ids and boxes, as PersonPressureArray
  mat/sim/bodies    ground-truth SMPL bodies in the world frame, as SmplBodyArray
"""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np
from geometry_msgs.msg import Point, Vector3
from sensor_msgs.msg import RegionOfInterest
from std_msgs.msg import Header

from mat_driver.feeds import FeedFrame, PacedFeed
from mat_driver.node import PARAMETERS, MatDriverNode
from presstrack_common.node_main import run_node
from presstrack_common.parameters import ParameterSpec
from presstrack_msgs.msg import PersonPressure, PersonPressureArray, SmplBody, SmplBodyArray
from presstrack_sim.randomize import FEET, with_realism
from presstrack_sim.scenario import MAX_PEOPLE, SCENARIOS
from presstrack_sim.sensor import SENSOR_PROFILES
from presstrack_sim.simulator import SimConfig, SimFrame, Simulator

SIM_PARAMETERS = {
    "people": ParameterSpec(3, "simulated people (scenarios with a fixed cast need theirs)", limits=(1, MAX_PEOPLE),
                            read_only=True),
    "seed": ParameterSpec(1, "random seed of the simulated scene", limits=(0, 2**31 - 1), read_only=True),
    "scenario": ParameterSpec("random", "simulated scene", choices=SCENARIOS, read_only=True),
    "episode_s": ParameterSpec(60.0, "[s] length of a scene; the next is a new crowd (new people, new ids, new seed)",
                               limits=(1.0, 86400.0), read_only=True),
    "publish_ground_truth": ParameterSpec(True, "publish mat/sim/persons and mat/sim/bodies (ground truth)",
                                          read_only=True),
    # The realism options of presstrack-sim (README, "Bodies, the simulator and its data").
    "sensor": ParameterSpec("legacy", "sensor profile of the simulated mat (presstrack_sim/sensor.py)",
                            choices=tuple(SENSOR_PROFILES), read_only=True),
    "feet": ParameterSpec("even", "plantar load: even over the sole, or anatomical (heel, metatarsal heads, toes, "
                          "arch per person; presstrack_sim/plantar.py)", choices=FEET, read_only=True),
    "shoes": ParameterSpec(0.0, "share of people wearing shoes (needs feet anatomical)", limits=(0.0, 1.0),
                           read_only=True),
    "objects": ParameterSpec(False, "a piece of furniture, a dropped object and a trotting dog on the mat (no one's "
                             "contacts)", read_only=True),
    "carrying": ParameterSpec(0.0, "share of people carrying a load of 2-20 kg", limits=(0.0, 1.0), read_only=True),
    "jump_rate": ParameterSpec(0.0, "jumps on the spot per minute of standing (1/min)", limits=(0.0, 60.0),
                               read_only=True),
    "randomize": ParameterSpec(False, "draw the sensor, feet, bodies, loads, jumps and objects per scene from the "
                               "ranges of presstrack_sim/randomize.py (overrides the options above)", read_only=True),
    "randomize_seed": ParameterSpec(0, "seed of the randomised draws (with randomize)", limits=(0, 2**31 - 1),
                                    read_only=True),
}


def sim_feed(simulator: Simulator, rate_hz: float) -> PacedFeed:
    """The live simulator, one step per 1/rate_hz seconds, with its ground truth."""
    def frames():
        for index in itertools.count():
            sim_frame = simulator.step()
            yield index / rate_hz, FeedFrame(sim_frame.pressure, None, ground_truth=sim_frame)
    return PacedFeed(frames(), 1.0 / rate_hz)


class SimMatNode(MatDriverNode):
    SOURCES = ("sim",)
    PARAMETERS = PARAMETERS | {"source": dataclasses.replace(PARAMETERS["source"], default="sim", choices=SOURCES,
                                                             description="the simulator")} | SIM_PARAMETERS

    def create_extra_publishers(self, values: dict) -> None:
        self.gt_persons_pub = self.gt_bodies_pub = None
        if values["publish_ground_truth"]:
            self.gt_persons_pub = self.create_publisher(PersonPressureArray, "mat/sim/persons", 10)
            self.gt_bodies_pub = self.create_publisher(SmplBodyArray, "mat/sim/bodies", 10)

    def make_feed(self, values: dict) -> PacedFeed:
        config = with_realism(
            SimConfig(scenario=values["scenario"], people=int(values["people"]), seed=int(values["seed"]),
                      seconds=float(values["episode_s"]), fps=float(values["rate"]), mat=self.geometry),
            sensor=values["sensor"], feet=values["feet"], shoes=float(values["shoes"]), objects=bool(values["objects"]),
            carrying=float(values["carrying"]), jump_rate=float(values["jump_rate"]),
            randomize_seed=int(values["randomize_seed"]) if values["randomize"] else None)
        return sim_feed(Simulator(config), float(values["rate"]))

    def publish_extras(self, header: Header, frame: FeedFrame) -> None:
        if self.gt_persons_pub is None or frame.ground_truth is None:
            return
        sim_frame: SimFrame = frame.ground_truth
        persons = PersonPressureArray(header=header)
        bodies = SmplBodyArray(header=Header(stamp=header.stamp, frame_id=self.get_parameter("world_frame").value))
        for person in sim_frame.persons:
            x1, y1, x2, y2 = (int(v) for v in person.box)
            persons.persons.append(PersonPressure(
                track_id=int(person.id), state=PersonPressure.STATE_CONFIRMED, confidence=1.0,
                box=RegionOfInterest(x_offset=x1, y_offset=y1, width=x2 - x1, height=y2 - y1)))
            bodies.bodies.append(SmplBody(
                track_id=int(person.id), betas=np.asarray(person.betas, dtype=np.float32),
                pose=np.asarray(person.pose, dtype=np.float32),
                transl=Vector3(x=float(person.trans[0]), y=float(person.trans[1]), z=float(person.trans[2])),
                joints=[Point(x=float(j[0]), y=float(j[1]), z=float(j[2])) for j in person.joints[:24]],
                confidence=1.0, body_model="simulator", backend="ground_truth"))
        self.gt_persons_pub.publish(persons)
        self.gt_bodies_pub.publish(bodies)


def main(args=None) -> None:
    run_node(SimMatNode, "mat_driver", args)


if __name__ == "__main__":
    main()
