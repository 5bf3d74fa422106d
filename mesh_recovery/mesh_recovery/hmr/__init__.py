"""PressTrack-HMR learned mesh recovery: network, per-track windows, inputs, losses, checkpoints.

Pure torch/numpy (no ROS).  Entry points: ``HMRNet`` / ``HMRConfig`` (network.py),
``TrackWindow`` / ``WindowBank`` (window.py), ``crop_person`` / ``frame_numbers``
(inputs.py), ``load_network`` (checkpoint.py).
"""
from .checkpoint import load_network, save_checkpoint
from .inputs import crop_person, frame_numbers
from .network import HMRConfig, HMRNet, SMPLOutput
from .window import TrackWindow, WindowBank, predict_track, reencode_window

__all__ = [
    "HMRConfig", "HMRNet", "SMPLOutput", "TrackWindow", "WindowBank", "crop_person", "frame_numbers",
    "load_network", "predict_track", "reencode_window", "save_checkpoint",
]
