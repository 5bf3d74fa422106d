"""Run a set of processes as one unit, the way ``ros2 launch`` would: respawn what may be respawned,
stop everything when one dies for good, and shut down cleanly on Ctrl-C or SIGTERM. No rclpy here.

Each child runs in its own process group, so the terminal's Ctrl-C reaches it only through us, once,
and whatever the child itself started is stopped with it (no orphans).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessSpec:
    """One command to keep running. ``respawn_delay`` [s]; ``max_respawns`` restarts before giving up."""

    name: str
    argv: tuple[str, ...]
    respawn: bool = False
    respawn_delay: float = 2.0
    max_respawns: int = 0


@dataclass
class _Child:
    spec: ProcessSpec
    process: subprocess.Popen | None
    respawns: int = 0
    restart_at: float | None = None  # monotonic time of a pending respawn


def _log(line: str) -> None:
    print(f"[presstrack] {line}", file=sys.stderr, flush=True)


class Supervisor:
    """Starts the processes, watches them and stops them.

    Exit status of ``run``: 0 when stopped by a signal, by the duration running out, or because a child
    finished with status 0 (e.g. a replay that reached the end); 1 when a child died (non-zero status
    or killed by a signal) and could not be respawned.
    """

    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        *,
        sigint_timeout: float = 10.0,
        sigterm_timeout: float = 5.0,
        env: dict[str, str] | None = None,
        log: Callable[[str], None] = _log,
    ) -> None:
        self._children = [_Child(spec, None) for spec in specs]
        self._sigint_timeout = sigint_timeout
        self._sigterm_timeout = sigterm_timeout
        self._env = env
        self._log = log
        self._stop_requested: str | None = None

    def request_stop(self, reason: str) -> None:
        """Ask ``run`` to shut everything down (safe to call from a signal handler)."""
        self._stop_requested = self._stop_requested or reason

    def _start(self, child: _Child) -> None:
        # process_group=0: a group of its own, so the terminal's SIGINT does not reach the child directly.
        child.process = subprocess.Popen(child.spec.argv, env=self._env, process_group=0)
        child.restart_at = None
        self._log(f"started {child.spec.name} (pid {child.process.pid})")

    def run(self, duration: float | None = None, poll_interval: float = 0.1) -> int:
        """Start every process and supervise until stopped; returns the exit status (see the class)."""
        handlers = {sig: signal.signal(sig, lambda *_: self.request_stop("signal")) for sig in (signal.SIGINT, signal.SIGTERM)}
        status = 0
        try:
            for child in self._children:
                self._start(child)
            deadline = None if duration is None else time.monotonic() + duration
            while self._stop_requested is None:
                if deadline is not None and time.monotonic() >= deadline:
                    self.request_stop("duration")
                    break
                status = self._check_children()
                if status is not None:
                    break
                time.sleep(poll_interval)
            status = status or 0
        finally:
            self._stop_all()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        return status

    def _check_children(self) -> int | None:
        """None while the graph runs; the exit status once it must stop."""
        now = time.monotonic()
        for child in self._children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._start(child)
                continue
            assert child.process is not None
            code = child.process.poll()
            if code is None:
                continue
            how = f"status {code}" if code >= 0 else f"signal {signal.Signals(-code).name}"
            _signal_group(child.process, signal.SIGKILL)  # whatever it started must not outlive it
            if code == 0:
                self._log(f"{child.spec.name} finished; stopping the graph")
                self.request_stop("finished")
                return 0
            if child.spec.respawn and child.respawns < child.spec.max_respawns:
                child.respawns += 1
                child.restart_at = now + child.spec.respawn_delay
                self._log(
                    f"{child.spec.name} died ({how}); respawn {child.respawns}/{child.spec.max_respawns} "
                    f"in {child.spec.respawn_delay:g} s"
                )
                continue
            given_up = f" after {child.respawns} respawns" if child.spec.respawn else ""
            self._log(f"{child.spec.name} died ({how}){given_up}; stopping the graph")
            self.request_stop("died")
            return 1
        return None

    def _stop_all(self) -> None:
        """SIGINT to every running child's group, then SIGTERM, then SIGKILL for what still runs."""
        processes = [child.process for child in self._children if child.process is not None]
        for signum, timeout in ((signal.SIGINT, self._sigint_timeout), (signal.SIGTERM, self._sigterm_timeout)):
            running = [process for process in processes if process.poll() is None]
            if not running:
                break
            for process in running:
                _signal_group(process, signum)
            if not _wait_all(running, timeout):
                self._log(f"still running {timeout:g} s after {signum.name}; escalating")
        # SIGKILL also takes grandchildren left in a group whose leader has already exited.
        for process in processes:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _wait_all(processes: Sequence[subprocess.Popen], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(process.poll() is None for process in processes):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _signal_group(process: subprocess.Popen, signum: signal.Signals) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass  # group already gone
