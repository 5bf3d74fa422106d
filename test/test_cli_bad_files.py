"""Every command-line tool meets bad files with exit status 2 and one line naming the file, no traceback."""
from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

BIN = Path(sys.executable).parent


def bad_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    garbage = folder / "garbage.npz"
    garbage.write_bytes(b"this is not a zip archive")
    no_pressure = folder / "no_pressure.npz"
    np.savez(no_pressure, box=np.zeros((3, 1, 4)))
    wrong_shape = folder / "wrong_shape.npz"
    np.savez(wrong_shape, pressure=np.zeros((3, 4)), box=np.zeros((3, 1, 4)))
    truncated = folder / "truncated.npz"
    good = folder / "good.npz"
    np.savez(good, pressure=np.random.default_rng(0).random((20, 238, 120)).astype(np.float32),
             box=np.zeros((20, 1, 4)))
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    huge_header = folder / "huge_header.npz"  # a .npy header claiming 10**15 cells over 64 bytes of data
    header = io.BytesIO()
    np.lib.format.write_array_header_2_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**5,) * 3})
    with zipfile.ZipFile(huge_header, "w") as archive:
        archive.writestr("pressure.npy", header.getvalue() + bytes(64))
        archive.writestr("box.npy", np.lib.format.MAGIC_PREFIX)  # never reached
    return {"missing": folder / "missing.npz", "garbage": garbage, "no_pressure": no_pressure,
            "wrong_shape": wrong_shape, "truncated": truncated, "huge_header": huge_header}


COMMANDS = {
    "presstrack-track": lambda f, out: ["presstrack-track", str(f), "--out", str(out / "t.txt")],
    "presstrack-track-eval": lambda f, out: ["presstrack-track-eval", str(f), str(out / "none.txt")],
    "presstrack-eval": lambda f, out: ["presstrack-eval", "--backend", "footprint", "--data", str(f)],
    "presstrack-train": lambda f, out: ["presstrack-train", "--data", str(f), "--out", str(out / "run"),
                                        "--epochs", "1"],
    "presstrack render": lambda f, out: ["presstrack", "render", str(f), "--out", str(out / "x.png")],
    "presstrack replay": lambda f, out: ["presstrack", "replay", str(f), "--duration", "5"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("problem", ["missing", "garbage", "no_pressure", "wrong_shape", "truncated", "huge_header"])
def test_bad_file_gives_status_2_and_one_clear_line(tmp_path, command, problem):
    if command.startswith("presstrack r") and problem in ("no_pressure", "wrong_shape", "huge_header"):
        pytest.skip("bags have no npz keys; covered by the bag cases")
    path = bad_files(tmp_path)[problem]
    argv = COMMANDS[command](path, tmp_path)
    result = subprocess.run([str(BIN / argv[0]), *argv[1:]], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, f"{command} on {problem}: status {result.returncode}\n{result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and path.name in errors[0], result.stderr[-2000:]


UNWRITABLE_OUTPUTS = {
    "presstrack-track": lambda good, out: ["presstrack-track", str(good), "--out", "/proc/x/tracks.txt"],
    "presstrack-track-suite --json": lambda good, out: ["presstrack-track-suite", "--json", "/proc/x.json"],
    "presstrack-track-suite --out": lambda good, out: ["presstrack-track-suite", "--out", "/proc/x.md"],
    "presstrack-eval --json": lambda good, out: ["presstrack-eval", "--backend", "footprint", "--data", str(good),
                                                 "--json", "/proc/x.json"],
    "presstrack-eval-table": lambda good, out: ["presstrack-eval-table", "--data", str(good), "--out", "/proc/x"],
    "presstrack-train": lambda good, out: ["presstrack-train", "--data", str(good), "--out", "/proc/x/run"],
    "presstrack-bench": lambda good, out: ["presstrack-bench", "--quick", "--out", "/proc/x"],
    "presstrack-soak": lambda good, out: ["presstrack-soak", "--duration", "5", "--out", "/proc/x"],
    "presstrack render": lambda good, out: ["presstrack", "render", str(good), "--out", "/proc/x.gif"],
    "presstrack record": lambda good, out: ["presstrack", "record", "/proc/x", "--duration", "1"],
    "presstrack up --record": lambda good, out: ["presstrack", "up", "--record", "/proc/x", "--duration", "1"],
}


@pytest.mark.parametrize("command", sorted(UNWRITABLE_OUTPUTS))
def test_an_unwritable_output_is_refused_before_the_work_in_one_line(tmp_path, command):
    bag = tmp_path / "session"
    bag.mkdir()  # never read: the output is refused first
    good = bad_files(tmp_path)["truncated"].with_name("good.npz") if not command.startswith("presstrack ") else bag
    argv = UNWRITABLE_OUTPUTS[command](good, tmp_path)
    result = subprocess.run([str(BIN / argv[0]), *argv[1:]], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout and "/proc/x" in result.stderr
    assert len([line for line in result.stderr.splitlines() if "error" in line.lower()]) == 1, result.stderr
