"""Work done in installments: a generator that yields between bounded units of work and returns its result.

The live simulator interleaves such work with the frames it hands out, so that no single call takes long; batch
callers simply run it to the end.
"""
from __future__ import annotations

from collections.abc import Generator
from typing import TypeVar

T = TypeVar("T")
Work = Generator[None, None, T]


def run_to_end(work: Work[T]) -> T:
    """Do all the installments of `work` and return its result."""
    while True:
        try:
            next(work)
        except StopIteration as finished:
            return finished.value
