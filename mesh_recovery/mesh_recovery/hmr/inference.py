"""Inference paths of the HMR network: one network, several ways to run it live.

  torch-float32   torch on the CPU, float32: the reference every other path is scored against
  torch-bfloat16  torch, crop encoder in bfloat16 (fast only where the CPU has bf16 units: AVX512-BF16, AMX)
  onnx-float32    ONNX Runtime on the CPU, float32 (encoder and temporal head exported from the network)
  onnx-int8       ONNX Runtime, temporal head with int8 dynamically quantised matrix products, encoder float32
  cuda-float32    torch on a CUDA GPU, float32, all people of a frame in one batch

Every path offers what the per-track windows (``window.py``) use: ``config``, ``device``, ``encode``
(crops (B, T, 1, S, S), numbers (B, T, 10) -> features (B, T, width)) and ``head`` (features -> SMPLOutput),
so the feature cache works the same on all of them. ``prepare_inference`` builds the asked path, or with
'auto' times the paths of the device on one frame of a few people and keeps the fastest.
"""
from __future__ import annotations

import copy
import io
import logging
import tempfile
import time
import warnings
from pathlib import Path

import torch

from .network import HMRNet, SMPLOutput, encoder_in_bfloat16, fold_batch_norms, smpl_output

INFERENCE_PATHS = ("torch-float32", "torch-bfloat16", "onnx-float32", "onnx-int8", "cuda-float32")
DEVICES = ("cpu", "cuda")
# What 'auto' chooses from, per device.
AUTO_CANDIDATES = {"cpu": ("torch-float32", "torch-bfloat16", "onnx-float32", "onnx-int8"), "cuda": ("cuda-float32",)}
# ONNX opset of the exported graphs (scaled_dot_product_attention needs 14; 17 has LayerNormalization).
ONNX_OPSET = 17


class TorchInference:
    """The network as torch runs it (CPU float32, CPU with a bfloat16 encoder, or CUDA)."""

    def __init__(self, net: HMRNet, name: str) -> None:
        self.net = net.eval()
        self.name = name
        self.config = net.config
        self.device = next(net.parameters()).device

    def eval(self) -> TorchInference:
        return self

    def encode(self, crops: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        return self.net.encode(crops, numbers)

    def head(self, features: torch.Tensor) -> SMPLOutput:
        return self.net.head(features)


class _EncodeFrames(torch.nn.Module):
    def __init__(self, net: HMRNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, crops: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        return self.net.encode_frames(crops, numbers)


class _HeadParameters(torch.nn.Module):
    def __init__(self, net: HMRNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.net.head_parameters(features)


def _onnx_bytes(module: torch.nn.Module, example: tuple[torch.Tensor, ...], names: list[str]) -> bytes:
    """``module`` as an ONNX graph, batch axis 0 of every input and output dynamic."""
    buffer = io.BytesIO()
    outputs = ["out0", "out1", "out2"][:3 if isinstance(module, _HeadParameters) else 1]
    with warnings.catch_warnings():  # the tracer's notes on shape checks, which hold for every batch size
        warnings.simplefilter("ignore")
        torch.onnx.export(module, example, buffer, dynamo=False, opset_version=ONNX_OPSET, input_names=names,
                          output_names=outputs, dynamic_axes={name: {0: "batch"} for name in names + outputs})
    return buffer.getvalue()


def _int8_matmuls(model: bytes) -> bytes:
    """The graph with its float32 matrix products replaced by int8 ones, weights quantised per channel
    once, activations per call (dynamic quantisation: no calibration data needed)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "float32.onnx", Path(folder) / "int8.onnx"
        source.write_bytes(model)
        logging.disable(logging.WARNING)  # its advice to pre-process applies to convolutions, not to these
        try:
            quantize_dynamic(source, target, weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul", "Gemm"])
        finally:
            logging.disable(logging.NOTSET)
        return target.read_bytes()


class OnnxInference:
    """The network exported to ONNX and run by ONNX Runtime on the CPU, with as many intra-op threads as
    torch has (the node sets one: the graph's processes share the cores)."""

    def __init__(self, net: HMRNet, name: str, int8_head: bool) -> None:
        import onnxruntime

        self.name = name
        self.config = net.config
        self.device = torch.device("cpu")
        size = net.config.crop_size
        reference = copy.deepcopy(net).float().cpu().eval()
        encoder = _onnx_bytes(_EncodeFrames(reference), (torch.rand(2, 1, size, size), torch.rand(2, 10)),
                              ["crops", "numbers"])
        head = _onnx_bytes(_HeadParameters(reference), (torch.rand(2, net.config.window, net.config.width),),
                           ["features"])
        if int8_head:
            head = _int8_matmuls(head)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        # Threads that wait instead of spinning: the cores are shared with the other nodes.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = ["CPUExecutionProvider"]
        self._encoder = onnxruntime.InferenceSession(encoder, options, providers=providers)
        self._head = onnxruntime.InferenceSession(head, options, providers=providers)

    def eval(self) -> OnnxInference:
        return self

    def encode(self, crops: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        batch, frames = crops.shape[:2]
        size = self.config.crop_size
        flat_crops = crops.reshape(batch * frames, 1, size, size).float().contiguous().numpy()
        flat_numbers = numbers.reshape(batch * frames, -1).float().contiguous().numpy()
        (features,) = self._encoder.run(None, {"crops": flat_crops, "numbers": flat_numbers})
        return torch.from_numpy(features).reshape(batch, frames, -1)

    def head(self, features: torch.Tensor) -> SMPLOutput:
        if features.dim() != 3 or features.shape[1:] != (self.config.window, self.config.width):
            raise ValueError(f"features must be (B, {self.config.window}, {self.config.width}), "
                             f"got {tuple(features.shape)}")
        pose6d, betas, transl = self._head.run(None, {"features": features.float().contiguous().numpy()})
        return smpl_output(torch.from_numpy(pose6d), torch.from_numpy(betas), torch.from_numpy(transl))


def build_inference(net: HMRNet, name: str) -> TorchInference | OnnxInference:
    """``net`` (float32, any device; not modified) prepared for inference path ``name``: batch norms folded.
    ValueError for an unknown path, RuntimeError where the path cannot run here (no CUDA, no onnxruntime)."""
    if name not in INFERENCE_PATHS:
        raise ValueError(f"inference path must be one of {INFERENCE_PATHS}, got {name!r}")
    net = fold_batch_norms(copy.deepcopy(net))
    if name == "cuda-float32":
        if not torch.cuda.is_available():
            raise RuntimeError("inference path cuda-float32 needs a CUDA GPU; torch sees none")
        return TorchInference(net.to("cuda"), name)
    net = net.cpu()
    if name == "torch-float32":
        return TorchInference(net, name)
    if name == "torch-bfloat16":
        return TorchInference(encoder_in_bfloat16(net), name)
    try:
        import onnxruntime  # noqa: F401  (only to say clearly what is missing)
    except ImportError as error:
        raise RuntimeError(f"inference path {name} needs onnxruntime ({error})") from None
    return OnnxInference(net, name, int8_head=name == "onnx-int8")


def frame_seconds(path: TorchInference | OnnxInference, people: int = 3, repeats: int = 10,
                  warmup: int = 2) -> list[float]:
    """Wall seconds of one live frame of ``people`` people on ``path`` (encode their new crops, regress
    their windows), ``repeats`` times after ``warmup`` untimed calls; random inputs (the cost does not
    depend on the values)."""
    config = path.config
    generator = torch.Generator().manual_seed(0)
    crops = torch.rand(people, 1, 1, config.crop_size, config.crop_size, generator=generator).to(path.device)
    numbers = torch.rand(people, 1, 10, generator=generator).to(path.device)
    windows = torch.rand(people, config.window, config.width, generator=generator).to(path.device)

    def frame() -> None:
        path.encode(crops, numbers)
        path.head(windows).transl.cpu()  # .cpu(): wait for a GPU to finish

    seconds = []
    with torch.inference_mode():
        for index in range(warmup + repeats):
            start = time.perf_counter()
            frame()
            if index >= warmup:
                seconds.append(time.perf_counter() - start)
    return seconds


def prepare_inference(net: HMRNet, path: str = "auto", device: str = "cpu", people: int = 3,
                      repeats: int = 10) -> tuple[TorchInference | OnnxInference, dict[str, float]]:
    """The inference path to run live, and the best ms per frame of ``people`` people of every path timed.

    ``path`` 'auto': every candidate of ``device`` that can run here is built and timed ``repeats`` times
    (interleaved, so that other load on the machine affects all alike) and the fastest kept; a named path
    is built as asked (nothing is timed). ``device`` 'cuda' has one path, cuda-float32.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if path != "auto":
        if (path == "cuda-float32") != (device == "cuda"):
            raise ValueError(f"inference path {path} does not run on device {device}")
        return build_inference(net, path), {}
    candidates = {}
    for name in AUTO_CANDIDATES[device]:
        try:
            candidates[name] = build_inference(net, name)
        except RuntimeError:
            if device == "cuda":
                raise
    seconds: dict[str, list[float]] = {name: [] for name in candidates}
    for name, candidate in candidates.items():  # first calls pick and cache kernels
        frame_seconds(candidate, people, repeats=0)
    for _ in range(repeats):
        for name, candidate in candidates.items():
            seconds[name] += frame_seconds(candidate, people, repeats=1, warmup=0)
    # The best of the interleaved runs: the least disturbed by other processes on the cores (a median moved
    # with a load spike and once picked the slower of two paths).
    milliseconds = {name: 1e3 * min(values) for name, values in seconds.items()}
    fastest = min(milliseconds, key=milliseconds.get)
    return candidates[fastest], milliseconds
