"""Checkpoint files of the HMR network.

A checkpoint is a ``torch.save`` dict:
  format            "presstrack-hmr/1"
  config            HMRConfig.to_dict()
  state_dict        network weights (float32, or float16 when saved with ``half=True``)
  args              training arguments (dict)
  epoch             epochs completed
  best_val_world_mpjpe  best validation world MPJPE so far, metres (inf if no validation)
  optimizer, scheduler_step   only in the resumable ``last.pt``
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from .network import HMRConfig, HMRNet

CHECKPOINT_FORMAT = "presstrack-hmr/1"


def shipped_checkpoint(mode: str) -> Path:
    """The checkpoint trained on simulated data that this package installs, for output mode ``mode``."""
    return Path(sys.prefix) / "share" / "mesh_recovery" / "checkpoints" / f"hmr_sim_{mode}.pt"


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; anything else as torch reads it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def save_checkpoint(path: str | Path, net: HMRNet, half: bool = False, **fields: Any) -> None:
    """Write ``net`` and ``fields`` atomically (temporary file + rename)."""
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu() for k, v in net.state_dict().items()}
    path = Path(path)
    temporary = path.with_suffix(path.suffix + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, "config": net.config.to_dict(), "state_dict": state, **fields}, temporary)
    temporary.replace(path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load the dict; ValueError naming the file if it is not an HMR checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such checkpoint file")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt files
        raise ValueError(f"{path}: not a readable checkpoint ({type(error).__name__})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint")
    return checkpoint


def load_network(path: str | Path, device: str | torch.device = "cpu") -> tuple[HMRNet, dict[str, Any]]:
    """Network (float32, eval mode, on ``device``) and the checkpoint dict."""
    checkpoint = read_checkpoint(path)
    try:
        net = HMRNet(HMRConfig.from_dict(checkpoint["config"]))
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in checkpoint["state_dict"].items()})
    except (KeyError, TypeError, RuntimeError, ValueError) as error:
        raise ValueError(f"{path}: checkpoint does not match the network ({str(error).splitlines()[0]})") from None
    return net.to(device).eval(), checkpoint
