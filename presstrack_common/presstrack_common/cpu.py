"""Which CPU ran a measurement, for every report that gives a speed.

/proc/cpuinfo's model name can be as vague as "AMD EPYC" in a virtual machine, so the family, model and
stepping (which tell the generation) and the vector units that decide the network's speed come with it:
vector width, int8 dot products (VNNI), bf16, and AMX tiles, whose absence is said, not left out.
"""
from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16")


@dataclass(frozen=True)
class CpuDescription:
    model_name: str
    family: str        # as /proc/cpuinfo gives them, decimal; "" where unknown
    model: str
    stepping: str
    speed_flags: tuple[str, ...]  # those of SPEED_FLAGS the CPU has, and any amx_* flags
    amx: bool

    def family_model(self) -> str:
        """``family 26 model 2 stepping 1`` (empty when /proc/cpuinfo says nothing)."""
        parts = [f"{name} {value}" for name, value in (("family", self.family), ("model", self.model),
                                                         ("stepping", self.stepping)) if value]
        return " ".join(parts)

    def flags_text(self) -> str:
        """The speed flags, space separated, with ``; no AMX`` where there is none."""
        return " ".join(self.speed_flags) + ("" if self.amx else "; no AMX")

    def __str__(self) -> str:
        details = "; ".join(part for part in (self.family_model(), self.flags_text()) if part)
        return f"{self.model_name} ({details})" if details else self.model_name


def describe_cpu(cpuinfo: str | None = None) -> CpuDescription:
    """The first processor of ``cpuinfo`` (default: this machine's /proc/cpuinfo; elsewhere what platform says)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor is enough: they are alike
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    amx = sorted(f for f in flags if f.startswith("amx"))
    return CpuDescription(
        model_name=fields.get("model name") or platform.processor() or platform.machine(),
        family=fields.get("cpu family", ""), model=fields.get("model", ""), stepping=fields.get("stepping", ""),
        speed_flags=tuple(f for f in SPEED_FLAGS if f in flags) + tuple(amx), amx=bool(amx))
