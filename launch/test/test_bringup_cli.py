"""`presstrack up / replay` wiring with stand-in node executables, and the composed runner."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from bringup_bags import write_session
from presstrack_bringup import cli, graph
from presstrack_bringup.graph import MAT_SIMULATOR, NODES
from presstrack_bringup.processes import exclusive_graph

SIM_GRAPH = (MAT_SIMULATOR, *NODES[1:])  # what `presstrack up` starts with the default source, sim

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def _stand_in(folder: Path, name: str, body: str = "time.sleep(60)") -> Path:
    """An executable that saves its argv and the params file it was given, then runs ``body``."""
    script = folder / name
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, shutil, sys, time
        argv = sys.argv[1:]
        with open({str(folder / (name + ".log"))!r}, "a") as log:
            log.write(json.dumps(argv) + "\\n")
        shutil.copy(argv[argv.index("--params-file") + 1], {str(folder / (name + ".params.yaml"))!r})
        """) + textwrap.dedent(body) + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.fixture
def stand_ins(tmp_path, monkeypatch):
    scripts = {spec.executable: _stand_in(tmp_path, spec.executable) for spec in (*NODES, MAT_SIMULATOR)}
    monkeypatch.setattr(cli, "find_executable", lambda spec: str(scripts[spec.executable]))
    return tmp_path


def _parameters(stand_ins: Path, spec) -> dict:
    """What a stand-in node was given: its block of the params file, then its ``-p`` arguments."""
    (argv,) = [json.loads(line) for line in (stand_ins / f"{spec.executable}.log").read_text().splitlines()]
    values = yaml.safe_load((stand_ins / f"{spec.executable}.params.yaml").read_text())[f"/**/{spec.name}"]
    values = dict(values["ros__parameters"])
    for flag, setting in zip(argv, argv[1:]):
        if flag == "-p":
            name, _, text = setting.partition(":=")
            values[name] = yaml.safe_load(text)
    return values


def test_up_starts_each_node_with_the_generated_parameters(stand_ins):
    assert cli.main(["up", "--duration", "1.5", "people:=2", "namespace:=mat_a", "use_sim_time:=true",
                     "--set", "pressure_tracker.lost_time=2.5"]) == 0
    for spec in SIM_GRAPH:
        (argv,) = [json.loads(line) for line in (stand_ins / f"{spec.executable}.log").read_text().splitlines()]
        assert argv[0] == "--ros-args" and argv[-4:] == ["-r", "__ns:=/mat_a", "-r", f"__node:={spec.name}"]
        assert _parameters(stand_ins, spec)["use_sim_time"] is True
    assert _parameters(stand_ins, MAT_SIMULATOR)["people"] == 2
    assert _parameters(stand_ins, NODES[1])["lost_time"] == 2.5


def test_up_fails_when_the_driver_keeps_dying(stand_ins, monkeypatch):
    crashing = _stand_in(stand_ins, "mat_driver", "raise SystemExit(4)")
    monkeypatch.setattr(cli, "find_executable", lambda spec: str(crashing if spec.name == "mat_driver"
                                                                  else stand_ins / spec.executable))
    monkeypatch.setattr(graph, "MAT_SIMULATOR", dataclasses.replace(MAT_SIMULATOR, respawn_delay=0.1))
    assert cli.main(["up", "--duration", "60"]) == 1
    starts = (stand_ins / "mat_driver.log").read_text().splitlines()
    assert len(starts) == 1 + NODES[0].max_respawns


def test_replay_drives_the_graph_from_the_bag(stand_ins, tmp_path):
    bag = write_session(tmp_path / "recorded")
    assert cli.main(["replay", str(bag), "--rate", "2", "--loop", "--duration", "1.0"]) == 0
    driver = _parameters(stand_ins, NODES[0])
    assert (driver["source"], driver["bag_path"], driver["loop"], driver["bag_rate"]) == ("bag", str(bag), True, 2.0)


@pytest.mark.parametrize(("argv", "message"), [
    (["replay", "/no/such/bag"], "/no/such/bag: no such bag"),
    (["replay", "{empty}", "--rate", "0"], "--rate must be positive"),
    (["up", "--set", "mat_driver.people"], "expected node.param=value"),
    (["up", "people=2"], "expected a launch argument name:=value"),
    (["up", "rviz:=true"], "rviz2 is not installed"),
])
def test_bad_input_exits_2(stand_ins, capsys, monkeypatch, argv, message):
    monkeypatch.setattr(cli.shutil, "which", lambda name: None)
    argv = [a.replace("{empty}", str(stand_ins)) for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_replay_needs_pressure_in_the_bag(stand_ins, capsys):
    bag = write_session(stand_ins / "no_pressure", pressure=False)
    assert cli.main(["replay", str(bag)]) == 2
    assert f"{bag}: no /mat/pressure messages" in capsys.readouterr().err


STAND_IN_NODES = '''
import pathlib
from rclpy.node import Node

class Driver(Node):
    def __init__(self, **kwargs):
        super().__init__("mat_driver", **kwargs)
        people = self.declare_parameter("people", 0).value
        rate = self.declare_parameter("rate", 0.0).value
        pathlib.Path(__file__).with_name("driver.out").write_text(
            f"{self.get_namespace()} {self.get_name()} {people} {rate}")

class Broken(Node):
    def __init__(self, **kwargs):
        raise RuntimeError("no model file")
'''


def _composed(tmp_path: Path, *classes: str) -> subprocess.Popen:
    (tmp_path / "stand_in_nodes.py").write_text(STAND_IN_NODES)
    params = tmp_path / "params.yaml"
    params.write_text("/**/mat_driver:\n  ros__parameters:\n    people: 4\n    rate: 15.0\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(PACKAGE_ROOT)])}
    return subprocess.Popen([sys.executable, "-m", "presstrack_bringup.composed", "--params-file", str(params),
                             "--namespace", "/mat_a", "--overrides", '{"mat_driver": {"rate": 30.0}}',
                             *classes], env=env, stderr=subprocess.PIPE, text=True)


def test_composed_nodes_get_their_parameters_and_stop_on_sigint(tmp_path):
    process = _composed(tmp_path, "mat_driver=stand_in_nodes:Driver")
    deadline = time.monotonic() + 20
    while not (tmp_path / "driver.out").exists() or not (tmp_path / "driver.out").read_text():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    assert (tmp_path / "driver.out").read_text() == "/mat_a mat_driver 4 30.0"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0


def test_composed_fails_when_a_node_fails(tmp_path):
    process = _composed(tmp_path, "mat_driver=stand_in_nodes:Driver", "broken=stand_in_nodes:Broken")
    assert process.wait(timeout=20) == 1
    assert "no model file" in process.stderr.read()


def test_up_refuses_to_start_beside_a_running_graph(stand_ins, capsys, monkeypatch):
    monkeypatch.setenv("ROS_HOME", str(stand_ins))
    with exclusive_graph():
        assert cli.main(["up", "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a presstrack graph already runs on ROS_DOMAIN_ID" in err
    assert not (stand_ins / "mat_sim.log").exists(), "no node was started"
