"""``presstrack-train``: train the PressTrack-HMR network on MIP-format recordings.

Paper recipe (the defaults): AdamW lr 1e-5, weight decay 0.02, cosine schedule
with 5 warm-up epochs, 100 epochs, batch 16, windows of 16 frames taken every
2 frames (the authors' 90 % overlap); the checkpoint with the lowest
validation world MPJPE is kept.  Writes to ``--out``:
  last.pt   resumable (weights, optimizer, epoch, schedule position)
  best.pt   weights of the best validation epoch (``--half-weights``: float16 on disk);
            without validation windows, the weights of the final epoch

``--people tracker`` trains on the crops the live graph makes: the pressure tracker runs on the
training and validation frames and each of its tracks is taught the body of the ground-truth person
its box overlaps (``evaluate.tracked_recording``).  With ``--init`` a trained checkpoint is fine-tuned
on them.

Example:
  presstrack-train --data corpus/ --split unseen_sequence --out runs/hmr --epochs 10 --lr 1e-4
  presstrack-train --data corpus/ --split corpus --people tracker --init runs/hmr/best.pt --out runs/tuned
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from .dataset import Recording, WindowSet, load_split, require_body_model_for_smpl_labels
from .evaluate import PEOPLE_SOURCES, tracked_recording
from mesh_recovery.hmr.body_layer import BodyLayer, SMPLBodyLayer
from mesh_recovery.hmr.checkpoint import load_network, read_checkpoint, resolve_device, save_checkpoint
from mesh_recovery.hmr.losses import HMRLoss, HMRTargets
from mesh_recovery.hmr.network import OUTPUT_MODES, HMRConfig, HMRNet, SMPLOutput
from presstrack_common.outputs import check_output_folder


def build_parser() -> argparse.ArgumentParser:
    defaults = HMRConfig()
    p = argparse.ArgumentParser(prog="presstrack-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", required=True, help="directory of .npz recordings, or .npz files")
    p.add_argument("--split", default="unseen_sequence", help="unseen_sequence | subject_fold:K | corpus (corpus.json splits) | split JSON file")
    p.add_argument("--out", required=True, type=Path, help="output directory for checkpoints")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--min-lr", type=float, default=0.0, help="cosine schedule floor")
    p.add_argument("--weight-decay", type=float, default=0.02)
    p.add_argument("--warmup-epochs", type=float, default=5.0)
    p.add_argument("--stride", type=int, default=2, help="frames between training window starts")
    p.add_argument("--val-stride", type=int, default=4, help="frames between validation window starts")
    p.add_argument("--steps-per-epoch", type=int, default=0, help="cap on batches per epoch (0: all)")
    p.add_argument("--mode", choices=OUTPUT_MODES, default=defaults.mode)
    p.add_argument("--window", type=int, default=defaults.window)
    p.add_argument("--crop-size", type=int, default=defaults.crop_size)
    p.add_argument("--encoder-width", type=int, default=defaults.encoder_width)
    p.add_argument("--encoder-features", type=int, default=defaults.encoder_features)
    p.add_argument("--width", type=int, default=defaults.width)
    p.add_argument("--depth", type=int, default=defaults.depth)
    p.add_argument("--heads", type=int, default=defaults.heads)
    p.add_argument("--mlp-hidden", type=int, default=defaults.mlp_hidden)
    p.add_argument("--regressor-hidden", type=int, default=defaults.regressor_hidden)
    p.add_argument("--people", choices=sorted(PEOPLE_SOURCES), default="ground-truth",
                   help="crops cut by the ground-truth boxes, or the pressure tracker's crops (as live)")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--resume", type=Path, help="a last.pt to continue from (its network config is used)")
    start.add_argument("--init", type=Path, help="a checkpoint whose weights to start from, with a new optimizer "
                                                 "and schedule (fine-tuning; its network config is used)")
    p.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:N")
    p.add_argument("--body-model", type=Path, help="SMPL model file/folder (default: the embedded body; "
                                                   "required for MIP's SMPL labels)")
    p.add_argument("--half-weights", action="store_true", help="store best.pt weights as float16 (half the size)")
    p.add_argument("--amp", action="store_true", help="run the crop encoder in bfloat16 (the head stays float32): "
                                                      "on CUDA, or on a CPU with bfloat16 units (1.6x faster steps here)")
    p.add_argument("--time-budget", type=float, default=0.0,
                   help="minutes for the whole run, loading included: after the first epoch the number of "
                        "epochs (at most --epochs) is cut to what fits, and the schedule is fitted to it (0: no limit)")
    p.add_argument("--seed", type=int, default=0)
    return p


def config_from_args(args: argparse.Namespace) -> HMRConfig:
    return HMRConfig(
        crop_size=args.crop_size, encoder_width=args.encoder_width, encoder_features=args.encoder_features,
        width=args.width, depth=args.depth, heads=args.heads, mlp_hidden=args.mlp_hidden, window=args.window,
        regressor_hidden=args.regressor_hidden, mode=args.mode,
    )


def cosine_lr(step: int, total_steps: int, warmup_steps: int, base_lr: float, min_lr: float) -> float:
    """Linear warm-up to ``base_lr`` over ``warmup_steps``, then half-cosine decay to ``min_lr``."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def forward(net: HMRNet, crops: torch.Tensor, numbers: torch.Tensor, amp: bool) -> SMPLOutput:
    """The network's output; with ``amp`` the encoder (nearly all the arithmetic) runs in bfloat16,
    while the transformer, the regressor and the 6-D -> rotation step keep float32."""
    with torch.autocast(crops.device.type, dtype=torch.bfloat16, enabled=amp):
        features = net.encode(crops, numbers)
    return net.head(features.float())


def train_step(net: HMRNet, loss_fn: HMRLoss, optimizer: torch.optim.Optimizer,
               batch: tuple[torch.Tensor, torch.Tensor, HMRTargets], amp: bool = False) -> dict[str, float]:
    net.train()
    crops, numbers, targets = batch
    total, report = loss_fn(forward(net, crops, numbers, amp), targets)
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    return {"loss": float(total.detach()), **report}


def validate(net: HMRNet, loss_fn: HMRLoss, windows: WindowSet, batch_size: int, amp: bool = False) -> dict[str, float]:
    """Mean loss and world MPJPE (metres) over all ``windows``; {} when there are none."""
    if len(windows) == 0:
        return {}
    net.eval()
    sums: dict[str, float] = {}
    count = 0
    with torch.inference_mode():
        for indices in torch.arange(len(windows)).split(batch_size):
            crops, numbers, targets = windows.batch(indices)
            total, report = loss_fn(forward(net, crops, numbers, amp), targets)
            size = crops.shape[0]
            for key, value in {"loss": float(total), **report}.items():
                sums[key] = sums.get(key, 0.0) + value * size
            count += size
    return {key: value / count for key, value in sums.items()}


def run_training(args: argparse.Namespace, body: BodyLayer | None = None) -> dict[str, Any]:
    """Train as ``args`` say; returns {'epoch', 'best_val_world_mpjpe', 'history'}.  ``body`` overrides --body-model."""
    started = time.monotonic()
    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    resume = read_checkpoint(args.resume) if args.resume else None
    if args.resume or args.init:
        net, _ = load_network(args.resume or args.init, device)
        config = net.config
    else:
        config = config_from_args(args)
        net = HMRNet(config).to(device)
    recordings, ranges = load_split(args.data, args.split)
    if body is None:
        require_body_model_for_smpl_labels(recordings, args.body_model)
        body = SMPLBodyLayer(args.body_model, device)
    if args.people == "tracker":
        recordings = as_tracked(recordings, ranges)
    loss_fn = HMRLoss(body)
    make = lambda part, stride: WindowSet(recordings, ranges[part], config.window, config.target_index,  # noqa: E731
                                          config.crop_size, stride, device)
    train_set, val_set = make("train", args.stride), make("val", args.val_stride)
    if len(train_set) == 0:
        raise ValueError(f"split {args.split!r} gives no training windows of {config.window} frames")
    full_batches = max(len(train_set) // args.batch_size, 1)  # a last partial batch is dropped
    steps_per_epoch = full_batches if args.steps_per_epoch <= 0 else min(args.steps_per_epoch, full_batches)
    total_steps, warmup_steps = steps_per_epoch * args.epochs, round(steps_per_epoch * args.warmup_epochs)
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    start_epoch, step, best = 0, 0, math.inf
    if resume is not None:
        optimizer.load_state_dict(resume["optimizer"])
        start_epoch, step, best = resume["epoch"], resume["scheduler_step"], resume["best_val_world_mpjpe"]
    args.out.mkdir(parents=True, exist_ok=True)
    saved_args = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    saved_args["data"] = [str(d) for d in args.data]
    # With --resume/--init the network flags were not used: record the network that was trained.
    saved_args.update({k: v for k, v in dataclasses.asdict(config).items() if k in saved_args})
    history = []
    epochs = args.epochs
    print(f"train windows {len(train_set)}, val windows {len(val_set)}, device {device}, "
          f"{sum(p.numel() for p in net.parameters()) / 1e6:.1f} M parameters", file=sys.stderr)
    epoch = start_epoch
    while epoch < epochs:
        epoch_started = time.monotonic()
        # Each epoch's order depends on the seed and the epoch alone, so a resumed run goes on as the first would.
        order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(args.seed * 100_003 + epoch))
        bar = tqdm(order.split(args.batch_size)[:steps_per_epoch], desc=f"epoch {epoch + 1}/{epochs}", leave=False)
        train_loss = 0.0
        for indices in bar:
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(step, total_steps, warmup_steps, args.lr, args.min_lr)
            report = train_step(net, loss_fn, optimizer, train_set.batch(indices), args.amp)
            step += 1
            train_loss += report["loss"] / steps_per_epoch
            bar.set_postfix(loss=f"{report['loss']:.3f}", mpjpe_mm=f"{report['world_mpjpe'] * 1000:.0f}")
        val = validate(net, loss_fn, val_set, args.batch_size, args.amp)
        val_mpjpe = val.get("world_mpjpe", math.inf)
        history.append({"epoch": epoch + 1, "train_loss": train_loss, "val_world_mpjpe": val_mpjpe})
        if args.time_budget > 0 and epoch == start_epoch:
            epochs = fit_epochs(args, epoch + 1, time.monotonic() - started, time.monotonic() - epoch_started)
            total_steps = steps_per_epoch * epochs
        improved = val_mpjpe < best or (not val and epoch == epochs - 1)
        best = min(best, val_mpjpe)
        common = dict(args=saved_args, epoch=epoch + 1, best_val_world_mpjpe=best, val_world_mpjpe=val_mpjpe)
        if improved:
            save_checkpoint(args.out / "best.pt", net, half=args.half_weights, **common)
        save_checkpoint(args.out / "last.pt", net, optimizer=optimizer.state_dict(), scheduler_step=step, **common)
        print(f"epoch {epoch + 1}/{epochs}: train loss {train_loss:.4f}, val world MPJPE {val_mpjpe * 1000:.1f} mm"
              + (" (best)" if improved else ""), file=sys.stderr, flush=True)
        epoch += 1
    return {"epoch": epochs, "best_val_world_mpjpe": best, "history": history}


def as_tracked(recordings: list[Recording], ranges: dict[str, list[list[tuple[int, int]]]]) -> list[Recording]:
    """Each recording with training or validation frames as the tracker sees them (``tracked_recording``,
    run over those ranges); the others are not used and stay as they are."""
    tracked = []
    for recording, train, val in tqdm(list(zip(recordings, ranges["train"], ranges["val"])), desc="tracking", leave=False):
        tracked.append(tracked_recording(recording, train + val) if train or val else recording)
    return tracked


def fit_epochs(args: argparse.Namespace, epochs_done: int, elapsed: float, epoch_seconds: float) -> int:
    """Epochs (at most --epochs, at least those done) that end within --time-budget, from the first epoch's time."""
    left = args.time_budget * 60.0 - elapsed
    return max(epochs_done, min(args.epochs, epochs_done + int(left // max(epoch_seconds, 1e-6))))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_output_folder(args.out, "--out (checkpoints)")
        run_training(args)
    except ValueError as error:
        print(f"presstrack-train: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
