"""Speed of per-track inference: cached ``TrackWindow`` vs the authors' re-encoding.

  python -m mesh_recovery.hmr.benchmark --threads 2 --frames 40 --tracks 1

Prints person-frames per second (median and best step) for both paths (random weights and crops; the
speed does not depend on their values), the parameter count and the weight size.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from .network import HMRConfig, HMRNet, parameter_count, weights_megabytes
from .window import ReencodingTrackWindow, TrackWindow, WindowBank


def step_seconds(step, inputs: list, warmup: int) -> np.ndarray:
    """Wall time of each call ``step(inputs[t])`` after ``warmup`` untimed calls."""
    for t in range(warmup):
        step(inputs[t])
    times = []
    for t in range(warmup, len(inputs)):
        start = time.perf_counter()
        step(inputs[t])
        times.append(time.perf_counter() - start)
    return np.array(times)


def rates(seconds: np.ndarray, person_frames_per_step: int) -> str:
    """Median and best per-step rate; the best is the least disturbed by other load on the CPU."""
    return (f"median {person_frames_per_step / np.median(seconds):.1f}, "
            f"best {person_frames_per_step / seconds.min():.1f} person-frames/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=40, help="frames per measurement (after the warm-up)")
    parser.add_argument("--tracks", type=int, default=3, help="tracks stepped together in the WindowBank measurement")
    parser.add_argument("--width", type=int, default=HMRConfig.width)
    parser.add_argument("--encoder-width", type=int, default=HMRConfig.encoder_width)
    parser.add_argument("--regressor-hidden", type=int, default=HMRConfig.regressor_hidden)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = HMRConfig(width=args.width, encoder_width=args.encoder_width, regressor_hidden=args.regressor_hidden)
    net = HMRNet(config).eval()
    warmup = config.window
    crops = torch.rand(warmup + args.frames, config.crop_size, config.crop_size)
    numbers = torch.rand(warmup + args.frames, 10)
    single = [(crops[t], numbers[t]) for t in range(len(crops))]
    cached_window, reencoding_window, bank = TrackWindow(net), ReencodingTrackWindow(net), WindowBank(net)
    cached = step_seconds(lambda x: cached_window.step(*x), single, warmup)
    reencode = step_seconds(lambda x: reencoding_window.step(*x), single, warmup)
    banked = step_seconds(lambda x: bank.step_many({k: x for k in range(args.tracks)}), single, warmup)
    print(f"config {config}")
    print(f"parameters {parameter_count(net) / 1e6:.2f} M, weights {weights_megabytes(net):.1f} MB float32 / "
          f"{weights_megabytes(net, 2):.1f} MB float16")
    print(f"threads {args.threads}, {len(cached)} timed steps each")
    for label, seconds, counters in (("TrackWindow (cached)", cached, cached_window.counters),
                                     ("re-encoding (authors')", reencode, reencoding_window.counters)):
        print(f"  {label:<26}{rates(seconds, 1)}; {counters.encoder_frames} crops encoded for "
              f"{counters.frames} frames, {counters.head_passes} outputs")
    print(f"  {f'WindowBank, {args.tracks} tracks':<26}{rates(banked, args.tracks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
