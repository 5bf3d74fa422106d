"""Newest-only processing: a slow consumer works on the latest input and never through a backlog."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class NewestOnlyWorker(Generic[Item]):
    """Runs ``process(item)`` on a thread of its own for the newest submitted item only.

    An item replaced by a newer one before the thread took it is skipped and counted (``skipped``), so
    under overload the latency stays bounded by about one processing time instead of growing with a
    queue. ``process`` raising is reported to ``on_error`` and the worker goes on.
    """

    def __init__(self, process: Callable[[Item], None], on_error: Callable[[Exception], None],
                 name: str = "newest_only") -> None:
        self._process = process
        self._on_error = on_error
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._pending: list[Item] = []  # at most one item
        self._stopping = False
        self.skipped = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: Item) -> None:
        with self._lock:
            if self._pending:
                self.skipped += 1
            self._pending[:] = [item]
            self._idle.clear()
        self._wake.set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Whether everything submitted so far was processed or skipped within ``timeout`` seconds."""
        return self._idle.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the pending item (if any) is processed."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                work, self._pending[:] = self._pending[:], []
            for item in work:
                try:
                    self._process(item)
                except Exception as error:  # one bad frame must not end the node's processing
                    self._on_error(error)
            with self._lock:
                if not self._pending:
                    self._idle.set()
                    if self._stopping:
                        return
