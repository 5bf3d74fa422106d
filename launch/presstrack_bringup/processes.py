"""Run a set of processes as one unit, the way ``ros2 launch`` would: respawn what may be respawned,
stop everything when one dies for good, and shut down cleanly on Ctrl-C or SIGTERM. No rclpy here.

Each child runs in its own process group, so the terminal's Ctrl-C reaches it only through us, once,
and whatever the child itself started is stopped with it (no orphans). Each child also asks the kernel
for SIGTERM when the supervisor dies (Linux ``PR_SET_PDEATHSIG``), so even a supervisor killed with
SIGKILL leaves no node running, recording or publishing behind it.

A child that exits with status 3 when stopped ran without output (the driver published no frame): the graph
ran for nothing, and ``run`` says so with status 3.
A child that exits with status 2 could not start (a configuration error: ``EXIT_CANNOT_START`` of the
nodes' runner, a CLI's usage error): retrying cannot help, so the graph stops at once with status 2.
Respawns are budgeted per time window, so a transient crash an hour after the last one is retried too.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

EXIT_CANNOT_START = 2  # what a node or CLI exits with when its configuration is wrong (presstrack_common.node_main)
EXIT_NO_OUTPUT = 3     # what a node exits with when it ran but produced nothing (the driver: no frame flowed)
PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True) if sys.platform == "linux" else None


@dataclass(frozen=True)
class ProcessSpec:
    """One command to keep running.

    ``respawn_delay`` [s]; ``max_respawns`` restarts within any ``respawn_window`` [s] before giving up.
    A child that is not ``essential`` (the recorder) may die without ending the graph: it is reported.
    """

    name: str
    argv: tuple[str, ...]
    respawn: bool = False
    respawn_delay: float = 2.0
    max_respawns: int = 0
    respawn_window: float = 60.0
    essential: bool = True


@dataclass
class _Child:
    spec: ProcessSpec
    process: subprocess.Popen | None
    respawns: deque[float] = field(default_factory=deque)  # monotonic times of the respawns in the window
    restart_at: float | None = None  # monotonic time of a pending respawn
    ended: bool = False               # a non-essential child that died and is not restarted


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn``: SIGTERM to the child when the process that started it dies."""
    def preexec() -> None:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the request was in place
            os._exit(1)
    return preexec


def _log(line: str) -> None:
    print(f"[presstrack] {line}", file=sys.stderr, flush=True)


class Supervisor:
    """Starts the processes, watches them and stops them.

    Exit status of ``run``: 0 when stopped by a signal, by the duration running out, or because a child
    finished with status 0 (e.g. a replay that reached the end); 2 when a child could not start (its
    configuration is wrong); 1 when an essential child died (non-zero status or killed by a signal) and
    could not be respawned; 3 when, stopped, an essential child said it produced nothing (EXIT_NO_OUTPUT).
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
        child.process = subprocess.Popen(child.spec.argv, env=self._env, process_group=0,
                                         preexec_fn=_die_with_parent(os.getpid()))
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
        for child in self._children:
            if status == 0 and child.spec.essential and child.process is not None \
                    and child.process.returncode == EXIT_NO_OUTPUT:
                self._log(f"{child.spec.name} produced no output while the graph ran (status {EXIT_NO_OUTPUT}, see "
                          "its message above)")
                status = EXIT_NO_OUTPUT
        return status

    def _check_children(self) -> int | None:
        """None while the graph runs; the exit status once it must stop."""
        now = time.monotonic()
        for child in self._children:
            if child.ended:
                continue
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
            if code == 0 and child.spec.essential:
                self._log(f"{child.spec.name} finished; stopping the graph")
                self.request_stop("finished")
                return 0
            if code == EXIT_CANNOT_START:
                self._log(f"{child.spec.name} could not start (status {code}: its configuration is wrong, "
                          "see its message above); stopping the graph")
                self.request_stop("cannot start")
                return EXIT_CANNOT_START
            while child.respawns and now - child.respawns[0] > child.spec.respawn_window:
                child.respawns.popleft()
            if child.spec.respawn and len(child.respawns) < child.spec.max_respawns:
                child.respawns.append(now)
                child.restart_at = now + child.spec.respawn_delay
                self._log(
                    f"{child.spec.name} died ({how}); respawn {len(child.respawns)}/{child.spec.max_respawns} "
                    f"within {child.spec.respawn_window:g} s, in {child.spec.respawn_delay:g} s"
                )
                continue
            given_up = f" after {len(child.respawns)} respawns in {child.spec.respawn_window:g} s" \
                if child.spec.respawn else ""
            if not child.spec.essential:
                self._log(f"{child.spec.name} died ({how}){given_up}; the graph goes on without it")
                child.ended = True
                continue
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


class GraphAlreadyRunning(RuntimeError):
    """Another launcher holds the graph lock of this ROS domain; the message says which."""


def graph_lock_path(domain_id: str | None = None, namespace: str = "") -> Path:
    """The lock a launcher holds while its graph runs: $ROS_HOME/presstrack/graph_domain_<id>[_<ns>].lock."""
    domain = os.environ.get("ROS_DOMAIN_ID", "0") if domain_id is None else domain_id
    home = Path(os.environ.get("ROS_HOME", Path.home() / ".ros"))
    tokens = "_".join(t for t in namespace.split("/") if t)
    return home / "presstrack" / f"graph_domain_{domain or '0'}{'_' + tokens if tokens else ''}.lock"


@contextlib.contextmanager
def exclusive_graph(domain_id: str | None = None, namespace: str = "") -> Iterator[Path]:
    """Hold the graph lock of this domain and namespace while the body runs; GraphAlreadyRunning if another
    launcher holds it.

    A second graph in the same namespace of a domain would publish every topic twice (two drivers, two
    trackers); graphs in different namespaces (two mats) do not meet. The kernel drops the lock with its
    holder, however that dies, so a stale lock cannot block a start.
    """
    path = graph_lock_path(domain_id, namespace)
    where = f"ROS_DOMAIN_ID {domain_id or os.environ.get('ROS_DOMAIN_ID', '0') or '0'}" + \
        (f", namespace {namespace}" if namespace.strip("/") else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            raise GraphAlreadyRunning(
                f"a presstrack graph already runs on {where} (launcher pid {holder}); stop it first or use "
                f"another ROS_DOMAIN_ID or namespace:= (lock {path})") from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield path
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
