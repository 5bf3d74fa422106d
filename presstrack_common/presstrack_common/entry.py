"""The console entry point of every node: Ctrl-C while the node's modules still import stops it quietly.

A node module imports rclpy, numpy and, for the simulated driver and the mesh node, torch: seconds on a loaded
host, during which Ctrl-C (a launch stopped right after it started) would print a KeyboardInterrupt traceback
from the import. This module imports nothing heavy, so the entry point it makes can catch that.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable


def quiet_main(module: str) -> Callable[[list[str] | None], None]:
    """The ``main(args)`` of ``module``, imported only when called, Ctrl-C during the import a quiet exit 0."""

    def main(args: list[str] | None = None) -> None:
        try:
            node_main = importlib.import_module(module).main
        except KeyboardInterrupt:
            return
        node_main(args)

    return main
