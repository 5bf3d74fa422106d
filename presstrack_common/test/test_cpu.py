"""The CPU description every speed report carries: generation and the vector units, AMX's absence said."""
from __future__ import annotations

from presstrack_common.cpu import describe_cpu

EPYC_VM = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu sse2 avx fma avx2 avx512f avx512bw avx_vnni avx512_bf16 avx512_vnni

processor\t: 1
model name\t: another
"""

XEON_AMX = """processor\t: 0
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8480+
stepping\t: 8
flags\t\t: avx2 fma avx512f avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8
"""


def test_a_vague_model_name_comes_with_family_model_stepping_and_the_speed_flags():
    cpu = describe_cpu(EPYC_VM)
    assert str(cpu) == "AMD EPYC (family 26 model 2 stepping 1; avx2 fma avx512f avx512_vnni avx_vnni avx512_bf16; no AMX)"
    assert not cpu.amx


def test_amx_units_are_listed_when_present():
    cpu = describe_cpu(XEON_AMX)
    assert cpu.amx and cpu.flags_text().endswith("amx_bf16 amx_int8 amx_tile")
    assert cpu.family_model() == "family 6 model 143 stepping 8"


def test_this_machine_is_described():
    assert describe_cpu().model_name
