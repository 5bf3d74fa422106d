"""Peak memory of loading a MIP-sized data set for training: a benchmark, not a test.

  python -m presstrack_eval.mip_memory --dir /tmp/mip_synthetic            # 52 files, 138,000 frames

Writes a synthetic set in MIP's layout and size (52 ``data_N.npz``, 238 x 120 float32 raw pressure per
frame, three person slots, SMPL-format labels, 25 keypoints), then, in a fresh process, loads it as
``presstrack-train --split unseen_sequence`` does (``load_split``, the training and validation
``WindowSet`` at the paper's strides on the CPU) and draws a few batches; prints that process's peak
resident memory (``ru_maxrss``) and deletes the set unless ``--keep``.  Needs about 16 GB of disk
(``--compressed``: about 16 GB more for the decompressed cache, in ``PRESSTRACK_CACHE``).
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from presstrack_common.mip_format import MIP_COLS, MIP_ROWS

SLOTS = 3


def write_synthetic_set(folder: Path, frames: int, files: int, compressed: bool, seed: int = 0) -> None:
    """``files`` MIP-layout files of ``frames`` frames in all; people stand in place (pelvis 0.9 m above the feet)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for index, count in enumerate(np.diff(np.linspace(0, frames, files + 1).astype(int)), start=1):
        pressure = np.zeros((count, MIP_ROWS, MIP_COLS), dtype=np.float32)
        people = 1 if index <= 20 else (2 if index <= 48 else 3)
        box = np.zeros((count, SLOTS, 4))
        joints = np.zeros((count, SLOTS, 25, 3), dtype=np.float32)
        for slot in range(people):
            row, col = 20 + 70 * slot, 30 + 20 * slot
            pressure[:, row : row + 25, col : col + 10] = rng.uniform(1e6, 1.5e7, (count, 25, 10))
            box[:, slot] = [col, row, col + 10, row + 25]
            joints[:, slot, :, 2] = 0.5
            joints[:, slot, 0, 2], joints[:, slot, [7, 8, 10, 11], 2] = 0.9, 0.05
        data = dict(name=np.array(f"synthetic/{index}"), pressure=pressure, box=box,
                    pose=np.zeros((count, SLOTS, 72), dtype=np.float32), betas=np.zeros((count, SLOTS, 10), dtype=np.float32),
                    trans=joints[:, :, 0].copy(), keypoints_3d=joints, segments=np.array([[0, count]]))
        (np.savez_compressed if compressed else np.savez)(folder / f"data_{index}.npz", **data)


def measure_loading(folder: Path, batches: int) -> dict:
    """In this process: load as training does, draw ``batches`` batches; peak RSS and times."""
    import torch

    from presstrack_eval.dataset import WindowSet, load_split

    started = time.perf_counter()
    recordings, ranges = load_split(folder, "unseen_sequence")
    loaded = time.perf_counter()
    train = WindowSet(recordings, ranges["train"], 16, 7, 128, stride=2)
    val = WindowSet(recordings, ranges["val"], 16, 7, 128, stride=4)
    built = time.perf_counter()
    for i in range(batches):
        train.batch(torch.randint(len(train), (16,), generator=torch.Generator().manual_seed(i)))
    return dict(frames=int(sum(r.num_frames for r in recordings)), files=len(recordings),
                train_windows=len(train), val_windows=len(val), streamed=bool(train.streamed),
                load_s=round(loaded - started, 1), window_sets_s=round(built - loaded, 1),
                batch_s=round((time.perf_counter() - built) / max(batches, 1), 3),
                peak_rss_gib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m presstrack_eval.mip_memory", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", type=Path, required=True, help="folder for the synthetic set (created, then deleted)")
    p.add_argument("--frames", type=int, default=138_000)
    p.add_argument("--files", type=int, default=52)
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--compressed", action="store_true", help="write the files with np.savez_compressed")
    p.add_argument("--keep", action="store_true", help="keep the synthetic set")
    p.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)  # the measuring child process
    args = p.parse_args(argv)
    if args.measure_only:
        print(json.dumps(measure_loading(args.dir, args.batches)))
        return 0
    started = time.perf_counter()
    write_synthetic_set(args.dir, args.frames, args.files, args.compressed)
    print(f"wrote {args.files} files, {args.frames} frames in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    try:
        child = subprocess.run([sys.executable, "-m", "presstrack_eval.mip_memory", "--dir", str(args.dir),
                                "--batches", str(args.batches), "--measure-only"], capture_output=True, text=True)
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return child.returncode
        result = json.loads(child.stdout.strip().splitlines()[-1])
        result["stored"] = "np.savez_compressed" if args.compressed else "np.savez"
        print(json.dumps(result, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
