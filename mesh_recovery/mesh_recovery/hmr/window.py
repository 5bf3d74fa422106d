"""Per-track sliding windows with a per-frame feature cache.

The authors re-encode all 16 crops of a window for every output
(``reencode_window``), so each person-frame goes through the ResNet 16 times.
``TrackWindow`` encodes each new frame once (``HMRNet.encode`` is per-frame),
keeps the last ``window`` features and runs only the temporal head per output;
the result is the same up to float rounding.

Start of a track: the window is padded in front, either by repeating the
first frame's feature (``padding='edge'``, the default; equal to re-encoding a
window whose missing frames repeat the first crop) or with zero features
(``'zero'``).  An output describes the frame ``config.lag`` frames before the
newest one, so the first output comes with the ``lag + 1``-th frame
(centred mode: the 9th of a 16-frame window; online mode: the first).
``flush`` emits the last ``lag`` frames at the end of a track by repeating the
last feature (the authors pad window ends the same way).

All inference runs under ``torch.inference_mode`` with the network in eval mode. ``net`` is an ``HMRNet``
or any inference path of ``inference.py`` (same ``config``, ``encode``, ``head``).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from .network import HMRNet, SMPLOutput

PADDING_MODES = ("edge", "zero")


def network_device(net) -> torch.device:
    """Where ``net`` runs: an inference path says it, an ``HMRNet`` is where its weights are."""
    return net.device if hasattr(net, "device") else next(net.parameters()).device


def _as_batch(crops: list[np.ndarray | torch.Tensor], numbers: list[np.ndarray | torch.Tensor], device: torch.device):
    """Stack per-person crops (S, S) and numbers (10,) into (N, 1, 1, S, S) and (N, 1, 10)."""
    crop_batch = torch.stack([torch.as_tensor(c, dtype=torch.float32) for c in crops]).to(device)
    number_batch = torch.stack([torch.as_tensor(n, dtype=torch.float32) for n in numbers]).to(device)
    return crop_batch[:, None, None], number_batch[:, None]


def reencode_window(net: HMRNet, crops: np.ndarray | torch.Tensor, numbers: np.ndarray | torch.Tensor) -> SMPLOutput:
    """The authors' path: encode all frames of one window and regress (one person).

    Args:
        crops: (T, S, S) the window's crops, oldest first; numbers: (T, 10).
    Returns:
        SMPLOutput with batch size 1.
    """
    device = network_device(net)
    with torch.inference_mode():
        crop_batch = torch.as_tensor(crops, dtype=torch.float32, device=device)[None, :, None]
        number_batch = torch.as_tensor(numbers, dtype=torch.float32, device=device)[None]
        return net.head(net.encode(crop_batch, number_batch))


@dataclass
class WindowCounters:
    """frames: frames stepped; encoder_frames: crops passed through the ResNet; head_passes: windows regressed."""

    frames: int = 0
    encoder_frames: int = 0
    head_passes: int = 0


class TrackWindow:
    """One track's feature window.  ``step`` per new frame of the track."""

    def __init__(self, net: HMRNet, padding: str = "edge") -> None:
        if padding not in PADDING_MODES:
            raise ValueError(f"padding must be one of {PADDING_MODES}, got {padding!r}")
        self.net = net.eval()
        self.config = net.config
        self.padding = padding
        self.device = network_device(net)
        self._slots: deque[torch.Tensor] = deque(maxlen=self.config.window)
        self._tail_frames = 0  # features appended by flush
        self.counters = WindowCounters()

    @property
    def output_frame_index(self) -> int:
        """Track-frame index (0 = the track's first frame) described by the latest window."""
        return self.counters.frames - 1 - self.config.lag + self._tail_frames

    @property
    def ready(self) -> bool:
        """Whether the current window's target slot holds a real frame."""
        return 0 <= self.output_frame_index < self.counters.frames

    def push_feature(self, feature: torch.Tensor) -> None:
        """Append one encoded frame (width,) (used by ``WindowBank`` after a batched encode)."""
        if self._tail_frames:
            raise ValueError("track was flushed; start a new TrackWindow for new frames")
        if not self._slots:
            pad = feature if self.padding == "edge" else torch.zeros_like(feature)
            self._slots.extend([pad] * self.config.window)
        self._slots.append(feature)
        self.counters.frames += 1
        self.counters.encoder_frames += 1

    def window_features(self) -> torch.Tensor:
        """(window, width) features, oldest first."""
        return torch.stack(list(self._slots))

    def step(self, crop: np.ndarray | torch.Tensor, numbers: np.ndarray | torch.Tensor) -> SMPLOutput | None:
        """Add the track's next frame; crop (S, S), numbers (10,).

        Returns the SMPL estimate (batch size 1) of frame ``output_frame_index``,
        or None while the window has not reached its first target frame.
        """
        with torch.inference_mode():
            crop_batch, number_batch = _as_batch([crop], [numbers], self.device)
            self.push_feature(self.net.encode(crop_batch, number_batch)[0, 0])
            return self._regress() if self.ready else None

    def flush(self) -> list[SMPLOutput]:
        """End of track: outputs for the last ``lag`` frames not yet described (edge padding at the end)."""
        outputs: list[SMPLOutput] = []
        if not self._slots:
            return outputs
        with torch.inference_mode():
            while self.output_frame_index < self.counters.frames - 1:
                last = self._slots[-1] if self.padding == "edge" else torch.zeros_like(self._slots[-1])
                self._slots.append(last)
                self._tail_frames += 1
                if self.ready:
                    outputs.append(self._regress())
        return outputs

    def _regress(self) -> SMPLOutput:
        self.counters.head_passes += 1
        return self.net.head(self.window_features()[None])


class ReencodingTrackWindow:
    """Reference for benchmarks: same interface as ``TrackWindow`` (edge padding),
    but keeps raw crops and re-encodes the whole window for every output."""

    def __init__(self, net: HMRNet) -> None:
        self.net = net.eval()
        self.config = net.config
        self._crops: deque[np.ndarray | torch.Tensor] = deque(maxlen=self.config.window)
        self._numbers: deque[np.ndarray | torch.Tensor] = deque(maxlen=self.config.window)
        self.counters = WindowCounters()

    def step(self, crop: np.ndarray | torch.Tensor, numbers: np.ndarray | torch.Tensor) -> SMPLOutput | None:
        if not self._crops:
            self._crops.extend([crop] * self.config.window)
            self._numbers.extend([numbers] * self.config.window)
        self._crops.append(crop)
        self._numbers.append(numbers)
        self.counters.frames += 1
        if self.counters.frames - 1 - self.config.lag < 0:
            return None
        self.counters.encoder_frames += self.config.window
        self.counters.head_passes += 1
        crops = np.stack([np.asarray(c, dtype=np.float32) for c in self._crops])
        return reencode_window(self.net, crops, np.stack([np.asarray(n, dtype=np.float32) for n in self._numbers]))


class WindowBank:
    """Feature windows of all live tracks; encodes and regresses all tracks of a frame in one batch each."""

    def __init__(self, net: HMRNet, padding: str = "edge") -> None:
        self.net = net.eval()
        self.padding = padding
        self.device = network_device(net)
        self.windows: dict[Hashable, TrackWindow] = {}
        self.counters = WindowCounters()  # over all tracks, including removed ones

    def step_many(
        self, frame_inputs: Mapping[Hashable, tuple[np.ndarray | torch.Tensor, np.ndarray | torch.Tensor]]
    ) -> dict[Hashable, SMPLOutput | None]:
        """One mat frame: {track_id: (crop (S, S), numbers (10,))} -> {track_id: SMPLOutput (batch 1) or None}.

        New track ids get a fresh window; tracks absent from this frame are left
        untouched (``remove`` them when the tracker drops them).
        """
        if not frame_inputs:
            return {}
        track_ids = list(frame_inputs)
        results: dict[Hashable, SMPLOutput | None] = dict.fromkeys(track_ids)
        with torch.inference_mode():
            crops, numbers = _as_batch([frame_inputs[t][0] for t in track_ids], [frame_inputs[t][1] for t in track_ids], self.device)
            features = self.net.encode(crops, numbers)[:, 0]
            self.counters.frames += len(track_ids)
            self.counters.encoder_frames += len(track_ids)
            ready: list[Hashable] = []
            for track_id, feature in zip(track_ids, features):
                window = self.windows.get(track_id)
                if window is None:  # not setdefault: a TrackWindow per call would put the net in eval mode each time
                    window = self.windows[track_id] = TrackWindow(self.net, self.padding)
                window.push_feature(feature)
                if window.ready:
                    ready.append(track_id)
            if ready:
                outputs = self.net.head(torch.stack([self.windows[t].window_features() for t in ready]))
                for row, track_id in enumerate(ready):
                    self.windows[track_id].counters.head_passes += 1
                    self.counters.head_passes += 1
                    results[track_id] = outputs[row : row + 1]
        return results

    def rename(self, old_id: Hashable, new_id: Hashable) -> None:
        """The track `old_id` goes on as `new_id` (its window with it); whatever `new_id` had is replaced."""
        if old_id in self.windows:
            self.windows[new_id] = self.windows.pop(old_id)

    def remove(self, track_id: Hashable, flush: bool = False) -> list[SMPLOutput]:
        """Forget a track; with ``flush`` return its outputs for the frames still pending."""
        window = self.windows.pop(track_id, None)
        return window.flush() if (window is not None and flush) else []


def predict_track(net: HMRNet, crops: torch.Tensor, numbers: torch.Tensor, batch_size: int = 64) -> SMPLOutput:
    """Offline, batched equivalent of stepping a ``TrackWindow`` (edge padding) through a whole
    track and flushing it: one output per frame.

    Args:
        crops: (N, S, S) the track's crops; numbers: (N, 10).
    Returns:
        SMPLOutput with batch size N, row i describing frame i.
    """
    net.eval()
    device = network_device(net)
    config = net.config
    frames = crops.shape[0]
    with torch.inference_mode():
        crops = torch.as_tensor(crops, dtype=torch.float32)
        numbers = torch.as_tensor(numbers, dtype=torch.float32)
        features = torch.cat([
            net.encode(crops[i : i + batch_size, None, None].to(device), numbers[i : i + batch_size, None].to(device))[:, 0]
            for i in range(0, frames, batch_size)
        ])
        offsets = torch.arange(config.window, device=device) - config.target_index
        outputs = []
        for i in range(0, frames, batch_size):
            centre = torch.arange(i, min(i + batch_size, frames), device=device)
            index = (centre[:, None] + offsets[None]).clamp(0, frames - 1)
            outputs.append(net.head(features[index]))
    return SMPLOutput(*(torch.cat([getattr(o, f) for o in outputs]) for f in ("rotmats", "pose", "betas", "transl")))
