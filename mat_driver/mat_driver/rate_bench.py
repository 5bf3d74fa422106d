"""`presstrack-driver-rate`: does the driver node hold its publishing rate? (a benchmark, not a test)

Replays a looping MIP-format file at 15, 30 and 60 Hz for a 238 x 120 mat and one with 4x the cells,
listens to /mat/pressure over DDS and prints the received rate, the stamp period (median, p99) and the
driver process's peak resident memory (VmHWM, Linux).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rclpy
import yaml
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image


def peak_rss_mib(pid: int) -> float:
    """Peak resident set size of a live process [MiB] (VmHWM of /proc/<pid>/status); NaN where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def measure(rows: int, cols: int, rate: float, seconds: float, folder: Path) -> dict:
    """Received rate [Hz], stamp period median / p99 [ms] and the driver's peak RSS [MiB] for one configuration."""
    scene = folder / f"mat_{rows}x{cols}_{rate:g}.npz"
    np.savez(scene, pressure=np.random.default_rng(0).uniform(0, 50, (30, rows, cols)).astype(np.float32),
             pressure_unit="kPa", fps=float(rate))
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump({"mat_driver": {"ros__parameters": {
        "source": "mip", "mip_path": str(scene), "loop": True, "rows": rows, "cols": cols}}}))
    driver = subprocess.Popen([str(Path(sys.executable).parent / "mat_driver"), "--ros-args", "--params-file",
                               str(params)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    node = rclpy.create_node(f"rate_bench_{rows}_{int(rate)}")
    stamps: list[float] = []
    node.create_subscription(Image, "/mat/pressure",
                             lambda m: stamps.append(m.header.stamp.sec + m.header.stamp.nanosec * 1e-9),
                             qos_profile_sensor_data)
    try:
        while len(stamps) < 5:  # started and matched
            rclpy.spin_once(node, timeout_sec=0.1)
        first, start = len(stamps), time.monotonic()
        while time.monotonic() - start < seconds:
            rclpy.spin_once(node, timeout_sec=0.1)
        received = (len(stamps) - first) / (time.monotonic() - start)
        rss = peak_rss_mib(driver.pid)
    finally:
        os.killpg(driver.pid, signal.SIGINT)
        driver.wait()
        node.destroy_node()
    period = np.diff(stamps[first:]) * 1e3
    return {"rows": rows, "cols": cols, "rate_hz": rate, "received_hz": received,
            "period_median_ms": float(np.median(period)), "period_p99_ms": float(np.percentile(period, 99)),
            "peak_rss_mib": rss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="presstrack-driver-rate", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per configuration")
    args = parser.parse_args(argv)
    rclpy.init()
    print("| mat | rate Hz | received Hz | stamp period median ms | p99 ms | driver peak RSS MiB |\n"
          "|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for rows, cols in ((238, 120), (476, 240)):
            for rate in (15.0, 30.0, 60.0):
                r = measure(rows, cols, rate, args.seconds, Path(folder))
                print(f"| {rows}x{cols} | {rate:g} | {r['received_hz']:.2f} | {r['period_median_ms']:.2f} | "
                      f"{r['period_p99_ms']:.2f} | {r['peak_rss_mib']:.0f} |", flush=True)
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
