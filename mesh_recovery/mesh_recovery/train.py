"""``presstrack-train``: train the PressTrack-HMR network on MIP-format recordings.

Paper recipe (the defaults): AdamW lr 1e-5, weight decay 0.02, cosine schedule
with 5 warm-up epochs, 100 epochs, batch 16, windows of 16 frames taken every
2 frames (the authors' 90 % overlap); the checkpoint with the lowest
validation world MPJPE is kept.  Writes to ``--out``:
  last.pt   resumable (weights, optimizer, epoch, schedule position)
  best.pt   weights of the best validation epoch (``--half-weights``: float16 on disk);
            without validation windows, the weights of the final epoch

Example:
  presstrack-train --data corpus/ --split unseen_sequence --out runs/hmr --epochs 10 --lr 1e-4
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from .dataset import WindowDataset, batch_targets, load_split
from .hmr.body_layer import BodyLayer, SMPLBodyLayer
from .hmr.checkpoint import load_network, read_checkpoint, resolve_device, save_checkpoint
from .hmr.losses import HMRLoss
from .hmr.network import OUTPUT_MODES, HMRConfig, HMRNet


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
    p.add_argument("--resume", type=Path, help="a last.pt to continue from (its network config is used)")
    p.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:N")
    p.add_argument("--body-model", type=Path, help="SMPL model file/folder (default: the embedded body)")
    p.add_argument("--workers", type=int, default=0, help="data-loader worker processes")
    p.add_argument("--half-weights", action="store_true", help="store best.pt weights as float16 (half the size)")
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


def _batch_to(batch: dict, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return batch["crops"].to(device, non_blocking=True), batch["numbers"].to(device, non_blocking=True)


def train_step(net: HMRNet, loss_fn: HMRLoss, optimizer: torch.optim.Optimizer, batch: dict, device: torch.device) -> dict[str, float]:
    net.train()
    crops, numbers = _batch_to(batch, device)
    total, report = loss_fn(net(crops, numbers), batch_targets(batch).to(device))
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    return {"loss": float(total.detach()), **report}


def validate(net: HMRNet, loss_fn: HMRLoss, loader: DataLoader, device: torch.device) -> dict[str, float]:
    """Mean loss and world MPJPE (metres) over all windows of ``loader``."""
    net.eval()
    sums: dict[str, float] = {}
    count = 0
    with torch.inference_mode():
        for batch in loader:
            crops, numbers = _batch_to(batch, device)
            total, report = loss_fn(net(crops, numbers), batch_targets(batch).to(device))
            size = crops.shape[0]
            for key, value in {"loss": float(total), **report}.items():
                sums[key] = sums.get(key, 0.0) + value * size
            count += size
    return {key: value / count for key, value in sums.items()} if count else {}


def run_training(args: argparse.Namespace, body: BodyLayer | None = None) -> dict[str, Any]:
    """Train as ``args`` say; returns {'epoch', 'best_val_world_mpjpe', 'history'}.  ``body`` overrides --body-model."""
    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    resume = read_checkpoint(args.resume) if args.resume else None
    if resume is not None:
        net, _ = load_network(args.resume, device)
        config = net.config
    else:
        config = config_from_args(args)
        net = HMRNet(config).to(device)
    recordings, ranges = load_split(args.data, args.split)
    body = body if body is not None else SMPLBodyLayer(args.body_model, device)
    loss_fn = HMRLoss(body)
    make = lambda part, stride: WindowDataset(recordings, ranges[part], config.window, config.target_index, config.crop_size, stride)  # noqa: E731
    train_set, val_set = make("train", args.stride), make("val", args.stride)
    if len(train_set) == 0:
        raise ValueError(f"split {args.split!r} gives no training windows of {config.window} frames")
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.workers, drop_last=len(train_set) > args.batch_size)
    val_loader = DataLoader(val_set, batch_size=args.batch_size, num_workers=args.workers)
    steps_per_epoch = len(train_loader) if args.steps_per_epoch <= 0 else min(args.steps_per_epoch, len(train_loader))
    total_steps, warmup_steps = steps_per_epoch * args.epochs, round(steps_per_epoch * args.warmup_epochs)
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    start_epoch, step, best = 0, 0, math.inf
    if resume is not None:
        optimizer.load_state_dict(resume["optimizer"])
        start_epoch, step, best = resume["epoch"], resume["scheduler_step"], resume["best_val_world_mpjpe"]
    args.out.mkdir(parents=True, exist_ok=True)
    saved_args = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    saved_args["data"] = [str(d) for d in args.data]
    history = []
    print(f"train windows {len(train_set)}, val windows {len(val_set)}, device {device}, "
          f"{sum(p.numel() for p in net.parameters()) / 1e6:.1f} M parameters", file=sys.stderr)
    for epoch in range(start_epoch, args.epochs):
        bar = tqdm(train_loader, total=steps_per_epoch, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False)
        train_loss = 0.0
        for index, batch in enumerate(bar):
            if index >= steps_per_epoch:
                break
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(step, total_steps, warmup_steps, args.lr, args.min_lr)
            report = train_step(net, loss_fn, optimizer, batch, device)
            step += 1
            train_loss += report["loss"] / steps_per_epoch
            bar.set_postfix(loss=f"{report['loss']:.3f}", mpjpe_mm=f"{report['world_mpjpe'] * 1000:.0f}")
        val = validate(net, loss_fn, val_loader, device)
        val_mpjpe = val.get("world_mpjpe", math.inf)
        history.append({"epoch": epoch + 1, "train_loss": train_loss, "val_world_mpjpe": val_mpjpe})
        improved = val_mpjpe < best or (not val and epoch == args.epochs - 1)
        best = min(best, val_mpjpe)
        common = dict(args=saved_args, epoch=epoch + 1, best_val_world_mpjpe=best, val_world_mpjpe=val_mpjpe)
        if improved:
            save_checkpoint(args.out / "best.pt", net, half=args.half_weights, **common)
        save_checkpoint(args.out / "last.pt", net, optimizer=optimizer.state_dict(), scheduler_step=step, **common)
        print(f"epoch {epoch + 1}: train loss {train_loss:.4f}, val world MPJPE {val_mpjpe * 1000:.1f} mm"
              + (" (best)" if improved else ""), file=sys.stderr)
    return {"epoch": args.epochs, "best_val_world_mpjpe": best, "history": history}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run_training(args)
    except ValueError as error:
        print(f"presstrack-train: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
