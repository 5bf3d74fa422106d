"""Measure a running PressTrack graph from outside: start it as ``presstrack up`` would, find its node
processes, sample their CPU and memory, and listen to its topics with an independent rclpy node.

Shared by ``presstrack-bench`` (end-to-end part) and ``presstrack-soak``. Latency is the arrival of
/presstrack/bodies on this host's clock minus its header stamp, which is the acquisition stamp of the
/mat/pressure frame it came from (the driver stamps with the same host clock).
"""
from __future__ import annotations

import os
import platform
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from presstrack_common.cpu import describe_cpu

NODE_NAMES = ("mat_driver", "pressure_tracker", "mesh_recovery")


def isolate_ros() -> None:
    """A domain of our own and localhost-only discovery, unless the caller chose a domain: a benchmark must
    neither hear nor disturb other graphs (or test runs) on the same machine. Call before rclpy.init."""
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(1, 101)))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_LOG_DIR", str(Path.cwd() / "log" / "ros"))


def machine_description() -> dict:
    """CPU model, cores, RAM, Python, torch threads, load and date of this run (for every report)."""
    import torch

    cpu = describe_cpu()
    return {
        "cpu_model": f"{cpu.model_name} ({cpu.family_model()})" if cpu.family_model() else cpu.model_name,
        # what decides the network's speed: vector width, int8 dot products (VNNI), bf16 and AMX units
        "cpu_flags": cpu.flags_text(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "load_average_1_5_15": [round(v, 2) for v in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def presstrack_command() -> list[str]:
    """The ``presstrack`` console script next to this Python, else ``python -m presstrack_bringup.cli``."""
    script = Path(sys.executable).parent / "presstrack"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "presstrack_bringup.cli"]


class Graph:
    """The simulated graph in process groups of its own; a context manager.

    By default ``presstrack up source:=sim people:=N --set mat_driver.rate=R ...`` (the supervisor starts the
    nodes). With ``profile_dir`` each node runs directly under ``python -m cProfile -o DIR/<node>.prof``
    with the same parameters, and writes its profile when stopped with Ctrl-C.
    """

    def __init__(self, people: int, rate_hz: float, extra_sets: Sequence[str] = (), log_path: Path | None = None,
                 seed: int = 1, profile_dir: Path | None = None) -> None:
        self.arguments = {"source": "sim", "people": str(people), "seed": str(seed)}
        self.sets = [f"mat_driver.rate={rate_hz:g}", *extra_sets]
        self.log_path = log_path
        self.profile_dir = profile_dir
        self.processes: list[subprocess.Popen] = []

    def commands(self) -> list[list[str]]:
        if self.profile_dir is None:
            launch = [f"{name}:={value}" for name, value in self.arguments.items()]
            return [[*presstrack_command(), "up", *launch, *[a for s in self.sets for a in ("--set", s)]]]
        from presstrack_bringup.cli import process_specs
        from presstrack_bringup.graph import plan_graph

        plan = plan_graph(self.arguments, self.sets)
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        return [[sys.executable, "-m", "cProfile", "-o", str(self.profile_dir / f"{spec.name}.prof"), *spec.argv]
                for spec in process_specs(plan, composed=False, record_out=None)]

    def __enter__(self) -> Graph:
        log = open(self.log_path, "w") if self.log_path is not None else subprocess.DEVNULL
        for command in self.commands():
            self.processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        return self

    def node_processes(self, timeout: float = 30.0) -> dict[str, psutil.Process]:
        """name -> process of each of the graph's nodes, once all have started (RuntimeError if not in time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found: dict[str, psutil.Process] = {}
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{' '.join(process.args[:4])} exited with status {process.returncode} "
                                       f"({self.log_path})")
                parent = psutil.Process(process.pid)
                for candidate in (parent, *parent.children(recursive=True)):
                    try:
                        command = " ".join(candidate.cmdline())
                    except psutil.Error:
                        continue
                    for name in NODE_NAMES:
                        if f"__node:={name}" in command:
                            found[name] = candidate
            if len(found) == len(NODE_NAMES):
                return found
            time.sleep(0.2)
        raise RuntimeError(f"graph nodes did not all start within {timeout:g} s ({self.log_path})")

    def __exit__(self, *_) -> None:
        """Ctrl-C to each group (the supervisor, or each profiled node, stops cleanly), SIGKILL if it hangs."""
        running = [p for p in self.processes if p.poll() is None]
        for process in running:
            os.killpg(process.pid, signal.SIGINT)
        for process in running:
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@dataclass
class ProcessSample:
    t: float            # [s] monotonic
    cpu_s: float        # user + system CPU seconds so far (of this pid)
    rss_bytes: int
    pid: int = 0        # a respawned node is a new pid: its CPU seconds start again from 0


@dataclass
class ProcessSampler:
    """Periodic CPU time and RSS of each node process (``sample`` is called by the listening loop)."""

    processes: dict[str, psutil.Process]
    samples: dict[str, list[ProcessSample]] = field(default_factory=dict)

    def sample(self) -> None:
        now = time.monotonic()
        for name, process in self.processes.items():
            try:
                with process.oneshot():
                    times, rss = process.cpu_times(), process.memory_info().rss
            except psutil.Error:
                continue
            self.samples.setdefault(name, []).append(ProcessSample(now, times.user + times.system, rss, process.pid))

    def between(self, name: str, start: float, stop: float) -> list[ProcessSample]:
        return [s for s in self.samples.get(name, []) if start <= s.t <= stop]

    def cpu_percent(self, name: str, start: float, stop: float) -> float:
        """Mean CPU use over [start, stop] in % of one core (200 % = two cores busy), summed over the node's
        processes if it was respawned (each one's CPU seconds between its first and last sample)."""
        window = self.between(name, start, stop)
        if len(window) < 2 or window[-1].t <= window[0].t:
            return float("nan")
        per_pid: dict[int, list[ProcessSample]] = {}
        for sample in window:
            per_pid.setdefault(sample.pid, []).append(sample)
        cpu_s = sum(samples[-1].cpu_s - samples[0].cpu_s for samples in per_pid.values())
        return 100.0 * cpu_s / (window[-1].t - window[0].t)

    def peak_rss_mib(self, name: str, start: float = -float("inf"), stop: float = float("inf")) -> float:
        window = self.between(name, start, stop)
        return max(s.rss_bytes for s in window) / 2**20 if window else float("nan")


def stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def diagnostic_values(msg, name_prefix: str) -> dict[str, str] | None:
    """key -> value of the first DiagnosticStatus in ``msg`` whose name starts with ``name_prefix``."""
    for status in msg.status:
        if status.name.startswith(name_prefix):
            return {kv.key: kv.value for kv in status.values}
    return None


# The counters (never gauges such as a rate check's frames_rate_hz) among the nodes' diagnostics values: frames
# in and out, drops and skips per kind, bursts, worker restarts, latency samples whose stamps were on another clock.
COUNTERS = ("frames", "frames_published", "frames_late", "frames_lost", "frames_rejected", "frames_received",
            "frames_skipped", "bursts", "mesh_worker_restarts", "latency_stamps_off_clock")
COUNTER_PREFIXES = ("bad_input_",)


class TopicProbe:
    """Records per-stamp arrivals of /mat/pressure and /presstrack/bodies and the nodes' diagnostics.

    ``node`` is any rclpy node (the probe adds subscriptions to it); callbacks run in its executor.
    """

    def __init__(self, node) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import Image

        from presstrack_msgs.msg import SmplBodyArray

        self.pressure: dict[int, float] = {}     # stamp [ns] -> arrival [s, wall clock]
        self.bodies: dict[int, float] = {}       # stamp [ns] -> arrival [s, wall clock]
        self.bodies_people: dict[int, int] = {}  # stamp [ns] -> bodies in the message
        # node name -> (monotonic s, values) of its diagnostics, in arrival order
        self.diagnostics: dict[str, list[tuple[float, dict[str, str]]]] = {name: [] for name in NODE_NAMES}
        node.create_subscription(Image, "/mat/pressure", self._on_pressure, qos_profile_sensor_data)
        node.create_subscription(SmplBodyArray, "/presstrack/bodies", self._on_bodies, 50)
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 50)

    def _on_pressure(self, msg) -> None:
        self.pressure[stamp_ns(msg)] = time.time()

    def _on_bodies(self, msg) -> None:
        stamp = stamp_ns(msg)
        self.bodies[stamp] = time.time()
        self.bodies_people[stamp] = len(msg.bodies)

    def _on_diagnostics(self, msg) -> None:
        for name, received in self.diagnostics.items():
            values = diagnostic_values(msg, name)
            if values is not None:
                received.append((time.monotonic(), values))

    def driver_counter(self, key: str, start: float, stop: float) -> tuple[int, float] | None:
        """(increase, seconds) of the driver's counter ``key``: see ``counter``."""
        return self.counter("mat_driver", key, start, stop)

    def counter(self, node: str, key: str, start: float, stop: float) -> tuple[int, float] | None:
        """(increase, seconds) of ``node``'s counter ``key`` between its first and last diagnostics received in
        [start, stop] (monotonic s); None with fewer than two. A counter that goes down is a respawned node
        counting from 0 again: what it counted since is added. A counter first seen meanwhile started at 0."""
        inside = [(t, int(float(v.get(key, 0)))) for t, v in self.diagnostics[node] if start <= t <= stop]
        if len(inside) < 2 or not any(key in v for t, v in self.diagnostics[node] if start <= t <= stop):
            return None
        return counter_increase([value for _, value in inside]), inside[-1][0] - inside[0][0]

    def counter_increases(self, node: str, start: float, stop: float) -> dict[str, int]:
        """How much each counter of ``node``'s diagnostics (COUNTERS, and keys starting with COUNTER_PREFIXES)
        grew in [start, stop]; those that did not grow are left out."""
        keys = {k for t, v in self.diagnostics[node] if start <= t <= stop for k, value in v.items()
                if (k in COUNTERS or k.startswith(COUNTER_PREFIXES)) and value.isdigit()}
        increases = {key: self.counter(node, key, start, stop) for key in sorted(keys)}
        return {key: grew[0] for key, grew in increases.items() if grew and grew[0]}

    def frame_accounting(self, start_ns: int, stop_ns: int) -> dict:
        """Frames stamped in [start_ns, stop_ns): heard on /mat/pressure, with and without a body message,
        and latency percentiles of those bodies."""
        import numpy as np

        pressure = [s for s in self.pressure if start_ns <= s < stop_ns]
        bodies = [s for s in self.bodies if start_ns <= s < stop_ns]
        matched = set(pressure) & set(bodies)
        latency_ms = np.array([(self.bodies[s] - s * 1e-9) * 1e3 for s in bodies])
        return {
            "pressure_frames_heard": len(pressure),
            "bodies_received": len(bodies),
            "frames_without_bodies": len(set(pressure) - set(bodies)),
            "bodies_without_heard_frame": len(set(bodies) - set(pressure)),
            "matched": len(matched),
            "mean_people_per_frame": float(np.mean([self.bodies_people[s] for s in bodies])) if bodies else float("nan"),
            "latency_p50_ms": float(np.percentile(latency_ms, 50)) if len(latency_ms) else float("nan"),
            "latency_p99_ms": float(np.percentile(latency_ms, 99)) if len(latency_ms) else float("nan"),
            "latency_max_ms": float(latency_ms.max()) if len(latency_ms) else float("nan"),
        }


def counter_increase(values: Sequence[int]) -> int:
    """How much a counter read in turn as ``values`` grew; where it went down its process restarted from 0."""
    return sum(now - before if now >= before else now for before, now in zip(values, values[1:]))


def spin_for(node, seconds: float, sampler: ProcessSampler | None = None, sample_every: float = 1.0,
             until=None) -> bool:
    """Spin ``node`` for ``seconds`` (or until ``until()``), sampling processes every ``sample_every`` s."""
    import rclpy

    deadline = time.monotonic() + seconds
    next_sample = time.monotonic()
    while time.monotonic() < deadline:
        if until is not None and until():
            return True
        if sampler is not None and time.monotonic() >= next_sample:
            sampler.sample()
            next_sample += sample_every
        rclpy.spin_once(node, timeout_sec=0.02)
    return until() if until is not None else False


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def text(value: object) -> str:
        if isinstance(value, float):
            return "n/a" if value != value else f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        return str(value)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(text(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_markdown(machine: dict) -> str:
    return markdown_table(["machine", ""], [[k, v] for k, v in machine.items()])
