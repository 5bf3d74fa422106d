"""Node parameters declared with ROS descriptors: a description, a range, read-only for start-only ones.

rclpy refuses a value outside a descriptor's range, or any change of a read-only parameter, on its own
(at start as a ParameterException, at run time as an unsuccessful set with the reason). What a range
cannot say (one of a few words) is refused by ``refuse_unknown_choice`` from the node's callback.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor


@dataclass(frozen=True)
class ParameterSpec:
    """A parameter's default, what it means (with its unit), inclusive [low, high] limits for a number,
    the words it may be for a text, and whether it can only be set at start."""

    default: Any
    description: str
    limits: tuple[float, float] | None = None
    choices: tuple[str, ...] = ()
    read_only: bool = False

    def descriptor(self) -> ParameterDescriptor:
        descriptor = ParameterDescriptor(description=self.description, read_only=self.read_only)
        if self.choices:
            descriptor.additional_constraints = "one of: " + ", ".join(self.choices)
        if self.limits is not None:
            low, high = self.limits
            if isinstance(self.default, bool) or not isinstance(self.default, (int, float)):
                raise TypeError(f"limits need a numeric default, got {self.default!r}")
            if isinstance(self.default, int):
                descriptor.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=1)]
            else:
                descriptor.floating_point_range = [FloatingPointRange(from_value=float(low), to_value=float(high),
                                                                      step=0.0)]
        return descriptor


def declare_parameters(node, specs: Mapping[str, ParameterSpec]) -> None:
    """Declare every parameter of ``specs`` on ``node`` with its descriptor (ParameterException if a start
    value is out of range)."""
    node.declare_parameters("", [(name, spec.default, spec.descriptor()) for name, spec in specs.items()])


def refuse_unknown_choice(specs: Mapping[str, ParameterSpec], values: Iterable[tuple[str, Any]]) -> str | None:
    """The reason the first value that is not one of its parameter's choices is refused, else None."""
    for name, value in values:
        spec = specs.get(name)
        if spec is not None and spec.choices and value not in spec.choices:
            return f"{name} must be one of {', '.join(spec.choices)}, got {value!r}"
    return None
