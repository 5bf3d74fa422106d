"""PressTrack-HMR single-person temporal network (AAAI 2026), sizes as config.

Per frame:   crop (1, S, S) -> ResNet-18 (1 input channel, first conv 5x5 stride 2)
             -> ``encoder_features`` (768); concatenated with the 10 frame numbers
             -> Linear + ReLU -> ``width`` (1024).          [``HMRNet.encode``]
Per window:  + learned positional embedding -> ``depth`` pre-norm transformer
             blocks -> LayerNorm -> mean over time -> iterative SPIN-style
             regressor -> 24 x 6-D rotations, 10 betas, world ``transl``.  [``HMRNet.head``]

``encode`` works frame by frame, so a live system can cache each frame's
feature once (see ``window.py``) and run only ``head`` per output.

Output modes (``HMRConfig.mode``), same architecture, different training target:
  * ``'centred'`` (the paper): the window's output is supervised with the
    middle frame, index ``(window - 1) // 2`` (7 for 16 frames), so a live
    output lags ``window - 1 - 7`` = 8 frames.
  * ``'online'``: supervised with the newest frame (index ``window - 1``), so
    a live output describes the current frame, without delay, from past
    context only.  A checkpoint trained in one mode must be used in that mode.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .rotations import matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix

NUM_FRAME_NUMBERS = 10  # box centre (col, row) + 4 mat corners (x, y)
NUM_JOINTS = 24
NUM_BETAS = 10
OUTPUT_MODES = ("centred", "online")


@dataclass(frozen=True)
class HMRConfig:
    """Network sizes; the defaults are the paper's."""

    crop_size: int = 128  # side of the square per-person crop, cells
    encoder_width: int = 64  # ResNet-18 channels of the first stage (64 in ResNet-18)
    encoder_features: int = 768  # ResNet output feature length
    width: int = 1024  # per-frame feature / transformer width
    depth: int = 2  # transformer blocks
    heads: int = 8
    mlp_hidden: int = 512  # transformer MLP hidden size
    dropout: float = 0.1
    attention_dropout: float = 0.2  # the authors' code uses the drop-path rate here
    drop_path: float = 0.2  # stochastic depth, linearly increasing over blocks up to this
    window: int = 16  # frames per window
    regressor_hidden: int = 1024
    regressor_iterations: int = 3
    regressor_dropout: float = 0.5
    mode: str = "centred"  # 'centred' | 'online', see module docstring

    def __post_init__(self) -> None:
        if self.mode not in OUTPUT_MODES:
            raise ValueError(f"HMRConfig.mode must be one of {OUTPUT_MODES}, got {self.mode!r}")
        if self.width % self.heads != 0:
            raise ValueError(f"HMRConfig.width ({self.width}) must be divisible by heads ({self.heads})")
        for name in ("crop_size", "encoder_width", "encoder_features", "width", "depth", "heads", "mlp_hidden",
                     "window", "regressor_hidden", "regressor_iterations"):
            if getattr(self, name) < 1:
                raise ValueError(f"HMRConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.crop_size < 8:
            raise ValueError(f"HMRConfig.crop_size must be >= 8, got {self.crop_size}")

    @property
    def target_index(self) -> int:
        """Index in the window of the frame the output describes."""
        return (self.window - 1) // 2 if self.mode == "centred" else self.window - 1

    @property
    def lag(self) -> int:
        """Frames between the newest input frame and the frame the output describes."""
        return self.window - 1 - self.target_index

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> HMRConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown HMRConfig fields: {sorted(unknown)}")
        return cls(**values)


@dataclass
class SMPLOutput:
    """Per-window SMPL estimate for the window's target frame.

    rotmats (B, 24, 3, 3) local joint rotations (joint 0 = global orientation, world frame);
    pose (B, 72) the same as axis-angle, radians; betas (B, 10); transl (B, 3) world, metres.
    """

    rotmats: torch.Tensor
    pose: torch.Tensor
    betas: torch.Tensor
    transl: torch.Tensor

    def __getitem__(self, index: int | slice) -> SMPLOutput:
        return SMPLOutput(self.rotmats[index], self.pose[index], self.betas[index], self.transl[index])


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convs with batch norm and a (projected) skip."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


class ResNet18Encoder(nn.Module):
    """ResNet-18 (2-2-2-2 basic blocks) on one-channel pressure crops, not pretrained.

    (N, 1, S, S) -> (N, out_features).
    """

    def __init__(self, base_width: int, out_features: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, base_width, kernel_size=5, stride=2, padding=2, bias=False),
            nn.BatchNorm2d(base_width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        stages: list[nn.Module] = []
        in_channels = base_width
        for stage, stride in enumerate((1, 2, 2, 2)):
            out_channels = base_width * 2**stage
            stages += [BasicBlock(in_channels, out_channels, stride), BasicBlock(out_channels, out_channels, 1)]
            in_channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, out_features)
        # Channels-last (NHWC) convolutions: about a quarter faster on CPU here, and what GPU tensor cores take.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Crops in any float type -> float32 features; runs in the dtype of its weights (see
        ``encoder_in_bfloat16``)."""
        x = x.to(self.fc.weight.dtype).contiguous(memory_format=torch.channels_last)
        return self.fc(self.pool(self.stages(self.stem(x))).flatten(1)).float()


class DropPath(nn.Module):
    """Stochastic depth: drops a whole residual branch per sample while training."""

    def __init__(self, probability: float) -> None:
        super().__init__()
        self.probability = probability

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.probability == 0.0:
            return x
        keep = 1.0 - self.probability
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, attention_dropout: float, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.attention_dropout = attention_dropout
        self.proj = nn.Linear(width, width)
        self.proj_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, time, width = x.shape
        qkv = self.qkv(x).reshape(batch, time, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        attended = nn.functional.scaled_dot_product_attention(
            qkv[0], qkv[1], qkv[2], dropout_p=self.attention_dropout if self.training else 0.0
        )
        return self.proj_drop(self.proj(attended.transpose(1, 2).reshape(batch, time, width)))


class TransformerBlock(nn.Module):
    """Pre-norm ViT block: x + DropPath(Attn(LN x)); x + DropPath(MLP(LN x)), GELU MLP."""

    def __init__(self, config: HMRConfig, drop_path: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.width, eps=1e-6)
        self.attention = SelfAttention(config.width, config.heads, config.attention_dropout, config.dropout)
        self.norm2 = nn.LayerNorm(config.width, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(config.width, config.mlp_hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.mlp_hidden, config.width),
            nn.Dropout(config.dropout),
        )
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attention(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


def standing_root_rotation() -> torch.Tensor:
    """+90 deg about x: maps SMPL's +y (up) to world +z, i.e. an upright body in the world."""
    return torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


class IterativeRegressor(nn.Module):
    """SPIN-style regressor: refines (6-D pose, betas, transl) from a start estimate.

    The start is an upright body in the rest pose (no SMPL mean-pose file is
    needed), mean shape (zeros) and transl zero; each iteration adds a
    correction predicted from [feature, current estimate].
    """

    def __init__(self, config: HMRConfig) -> None:
        super().__init__()
        pose_size = NUM_JOINTS * 6
        self.iterations = config.regressor_iterations
        self.fc1 = nn.Linear(config.width + pose_size + NUM_BETAS + 3, config.regressor_hidden)
        self.drop1 = nn.Dropout(config.regressor_dropout)
        self.fc2 = nn.Linear(config.regressor_hidden, config.regressor_hidden)
        self.drop2 = nn.Dropout(config.regressor_dropout)
        self.decode_pose = nn.Linear(config.regressor_hidden, pose_size)
        self.decode_betas = nn.Linear(config.regressor_hidden, NUM_BETAS)
        self.decode_transl = nn.Linear(config.regressor_hidden, 3)
        for decoder in (self.decode_pose, self.decode_betas, self.decode_transl):
            nn.init.xavier_uniform_(decoder.weight, gain=0.01)
            nn.init.zeros_(decoder.bias)
        start_rotations = torch.eye(3).repeat(NUM_JOINTS, 1, 1)
        start_rotations[0] = standing_root_rotation()
        self.register_buffer("start_pose", matrix_to_rot6d(start_rotations).reshape(1, pose_size))

    def forward(self, feature: torch.Tensor) -> SMPLOutput:
        return smpl_output(*self.parameters_6d(feature))

    def parameters_6d(self, feature: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(pose6d (B, 144), betas (B, 10), transl (B, 3)) after the last iteration."""
        batch = feature.shape[0]
        pose6d = self.start_pose.expand(batch, -1)
        betas = feature.new_zeros(batch, NUM_BETAS)
        transl = feature.new_zeros(batch, 3)
        for _ in range(self.iterations):
            hidden = self.drop1(self.fc1(torch.cat([feature, pose6d, betas, transl], dim=1)))
            hidden = self.drop2(self.fc2(hidden))
            pose6d = pose6d + self.decode_pose(hidden)
            betas = betas + self.decode_betas(hidden)
            transl = transl + self.decode_transl(hidden)
        return pose6d, betas, transl


def smpl_output(pose6d: torch.Tensor, betas: torch.Tensor, transl: torch.Tensor) -> SMPLOutput:
    """The regressor's 6-D rotations (B, 144), betas and transl as an SMPLOutput (rotation matrices, axis-angle)."""
    batch = pose6d.shape[0]
    rotmats = rot6d_to_matrix(pose6d.reshape(batch, NUM_JOINTS, 6))
    pose = matrix_to_axis_angle(rotmats).reshape(batch, NUM_JOINTS * 3)
    return SMPLOutput(rotmats=rotmats, pose=pose, betas=betas, transl=transl)


class HMRNet(nn.Module):
    """Crops + frame numbers of one person's window -> SMPL parameters of the target frame."""

    def __init__(self, config: HMRConfig | None = None) -> None:
        super().__init__()
        self.config = config or HMRConfig()
        c = self.config
        self.encoder = ResNet18Encoder(c.encoder_width, c.encoder_features)
        self.frame_projection = nn.Sequential(nn.Linear(c.encoder_features + NUM_FRAME_NUMBERS, c.width), nn.ReLU())
        self.position_embedding = nn.Parameter(torch.zeros(1, c.window, c.width))
        rates = [c.drop_path * i / max(c.depth - 1, 1) for i in range(c.depth)]
        self.blocks = nn.ModuleList(TransformerBlock(c, rate) for rate in rates)
        self.norm = nn.LayerNorm(c.width, eps=1e-6)
        self.regressor = IterativeRegressor(c)
        nn.init.trunc_normal_(self.position_embedding, std=0.02)
        for module in (self.frame_projection, self.blocks):
            for layer in module.modules():
                if isinstance(layer, nn.Linear):
                    nn.init.xavier_uniform_(layer.weight)
                    nn.init.zeros_(layer.bias)

    def encode(self, crops: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        """Per-frame features.

        Args:
            crops: (B, T, 1, S, S) normalised pressure crops, S = config.crop_size.
            numbers: (B, T, 10) frame numbers (see ``inputs.frame_numbers``).
        Returns:
            (B, T, width) features; each frame's feature depends only on that frame.
        """
        size = self.config.crop_size
        if crops.dim() != 5 or crops.shape[2:] != (1, size, size):
            raise ValueError(f"crops must be (B, T, 1, {size}, {size}), got {tuple(crops.shape)}")
        if numbers.shape != (*crops.shape[:2], NUM_FRAME_NUMBERS):
            raise ValueError(f"numbers must be (B, T, {NUM_FRAME_NUMBERS}) matching crops, got {tuple(numbers.shape)}")
        batch, time = crops.shape[:2]
        features = self.encode_frames(crops.reshape(batch * time, 1, size, size), numbers.reshape(batch * time, -1))
        return features.reshape(batch, time, -1)

    def encode_frames(self, crops: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        """``encode`` on a flat batch of frames: crops (N, 1, S, S), numbers (N, 10) -> (N, width)."""
        image_features = self.encoder(crops)
        return self.frame_projection(torch.cat([image_features, numbers.to(image_features.dtype)], dim=-1))

    def head(self, features: torch.Tensor) -> SMPLOutput:
        """Window features (B, T, width), T == config.window -> SMPL output for the target frame."""
        return smpl_output(*self.head_parameters(features))

    def head_parameters(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``head`` up to the regressor's raw output (pose6d, betas, transl): the part an exported graph holds."""
        if features.dim() != 3 or features.shape[1:] != (self.config.window, self.config.width):
            raise ValueError(
                f"features must be (B, {self.config.window}, {self.config.width}), got {tuple(features.shape)}"
            )
        x = features + self.position_embedding
        for block in self.blocks:
            x = block(x)
        return self.regressor.parameters_6d(self.norm(x).mean(dim=1))

    def forward(self, crops: torch.Tensor, numbers: torch.Tensor) -> SMPLOutput:
        return self.head(self.encode(crops, numbers))


def fold_batch_norms(net: HMRNet) -> HMRNet:
    """``net`` in eval mode with every batch norm of its crop encoder folded into the convolution before it
    (one operation fewer per layer, 5-10 % faster per crop on a CPU here). Same outputs to float rounding;
    for inference only: the folded encoder no longer learns batch statistics."""
    net.eval()
    encoder = net.encoder
    pairs = [(encoder.stem, 0, 1)]
    for block in encoder.stages:
        if isinstance(block.downsample, nn.Sequential):
            pairs.append((block.downsample, 0, 1))
    for parent, conv, norm in pairs:
        parent[conv], parent[norm] = fuse_conv_bn_eval(parent[conv], parent[norm]), nn.Identity()
    for block in encoder.stages:
        block.conv1, block.bn1 = fuse_conv_bn_eval(block.conv1, block.bn1), nn.Identity()
        block.conv2, block.bn2 = fuse_conv_bn_eval(block.conv2, block.bn2), nn.Identity()
    encoder.to(memory_format=torch.channels_last)
    return net


def encoder_in_bfloat16(net: HMRNet) -> HMRNet:
    """``net`` with its crop encoder's weights in bfloat16, for inference on CPUs with bf16 matrix units
    (AVX512-BF16, AMX): oneDNN's bf16 convolutions run there 2-3x faster than float32. Features differ
    from float32 by about 0.4 % (relative norm); the shipped checkpoints were trained with the encoder
    under bf16 autocast (``presstrack-train --amp``). The head stays float32."""
    net.encoder.to(torch.bfloat16)
    return net


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def weights_megabytes(module: nn.Module, bytes_per_value: int = 4) -> float:
    """Size of all parameters and buffers at the given precision, in MB (1e6 bytes)."""
    values = sum(t.numel() for t in module.state_dict().values() if t.is_floating_point())
    return values * bytes_per_value / 1e6
