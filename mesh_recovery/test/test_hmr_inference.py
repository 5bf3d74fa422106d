"""The inference paths of the HMR network against the float32 torch reference (no ROS)."""
from __future__ import annotations

import pytest
import torch

from mesh_recovery.hmr.inference import AUTO_CANDIDATES, build_inference, prepare_inference
from mesh_recovery.hmr.network import HMRConfig, HMRNet
from mesh_recovery.hmr.window import WindowBank
from hmr_fakes import TINY

CPU_PATHS = AUTO_CANDIDATES["cpu"]
# Largest allowed difference to the reference on the tiny random network: float32 paths differ by rounding
# only; a bfloat16 encoder and an int8 head by their quantisation.
TOLERANCE = {"torch-float32": 1e-4, "onnx-float32": 1e-4, "torch-bfloat16": 5e-2, "onnx-int8": 5e-2,
             "cuda-float32": 1e-3}


def tiny_net() -> HMRNet:
    torch.manual_seed(0)
    net = HMRNet(HMRConfig(**TINY.to_dict()))
    for module in net.modules():  # batch norms that are not the identity, so that folding them matters
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return net.eval()


def window_inputs(batch: int = 3):
    generator = torch.Generator().manual_seed(1)
    crops = torch.rand(batch, TINY.window, 1, TINY.crop_size, TINY.crop_size, generator=generator)
    return crops, torch.rand(batch, TINY.window, 10, generator=generator)


def assert_close_to_reference(path, net, tolerance: float) -> None:
    crops, numbers = window_inputs()
    with torch.inference_mode():
        expected = net.head(net.encode(crops, numbers))
        features = path.encode(crops.to(path.device), numbers.to(path.device))
        assert features.shape == (3, TINY.window, TINY.width) and features.dtype == torch.float32
        out = path.head(features)
    for name in ("rotmats", "pose", "betas", "transl"):
        value = getattr(out, name).cpu()
        assert value.shape == getattr(expected, name).shape
        assert float((value - getattr(expected, name)).abs().max()) < tolerance, name


@pytest.fixture(scope="module")
def cpu_paths() -> dict:
    """Every CPU path of ``tiny_net()``, built once for this module (an ONNX export takes seconds)."""
    net = tiny_net()
    paths = {name: build_inference(net, name) for name in CPU_PATHS}
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()), "the caller's network was modified"
    return paths


@pytest.mark.parametrize("name", CPU_PATHS)
def test_every_cpu_path_gives_the_reference_output(cpu_paths, name):
    path = cpu_paths[name]
    assert path.name == name and path.device == torch.device("cpu")
    assert_close_to_reference(path, tiny_net(), TOLERANCE[name])


def test_the_feature_cache_runs_on_an_onnx_path(cpu_paths):
    """WindowBank (one encoder pass per new person-frame, one batched head pass per frame) on the int8 ONNX
    path matches the same bank on the torch reference."""
    name = "onnx-int8"
    reference, candidate = WindowBank(cpu_paths["torch-float32"]), WindowBank(cpu_paths[name])
    crops, numbers = window_inputs(batch=2)
    for t in range(TINY.window + 2):
        frame = {track: (crops[track, t % TINY.window, 0], numbers[track, t % TINY.window]) for track in range(2)}
        expected, got = reference.step_many(frame), candidate.step_many(frame)
        for track in range(2):
            assert (got[track] is None) == (expected[track] is None)
            if got[track] is not None:
                assert float((got[track].transl - expected[track].transl).abs().max()) < TOLERANCE[name]
    assert candidate.counters.encoder_frames == 2 * (TINY.window + 2)
    assert candidate.counters.head_passes == reference.counters.head_passes > 0


def test_auto_times_every_cpu_path_and_keeps_the_fastest():
    path, milliseconds = prepare_inference(tiny_net(), "auto", "cpu", people=2, repeats=3)
    assert set(milliseconds) == set(CPU_PATHS)
    assert all(ms > 0 for ms in milliseconds.values())
    assert path.name == min(milliseconds, key=milliseconds.get)


def test_a_named_path_is_built_without_timing():
    path, milliseconds = prepare_inference(tiny_net(), "onnx-float32", "cpu")
    assert path.name == "onnx-float32" and milliseconds == {}


@pytest.mark.parametrize("path, device, message", [("fp8", "cpu", "inference path"), ("auto", "tpu", "device"),
                                                   ("cuda-float32", "cpu", "does not run"),
                                                   ("onnx-int8", "cuda", "does not run")])
def test_unknown_or_mismatched_paths_are_refused(path, device, message):
    with pytest.raises(ValueError, match=message):
        prepare_inference(tiny_net(), path, device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where no GPU is present")
def test_the_cuda_path_says_clearly_that_there_is_no_gpu():
    with pytest.raises(RuntimeError, match="CUDA"):
        prepare_inference(tiny_net(), "auto", "cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_cuda_path_runs_all_people_of_a_frame_on_the_gpu():
    net = tiny_net()
    path, milliseconds = prepare_inference(net, "auto", "cuda", people=3, repeats=3)
    assert path.name == "cuda-float32" and path.device.type == "cuda" and set(milliseconds) == {"cuda-float32"}
    assert_close_to_reference(path, net, TOLERANCE["cuda-float32"])
    bank = WindowBank(path)
    crops, numbers = window_inputs(batch=5)
    outputs = bank.step_many({track: (crops[track, 0, 0], numbers[track, 0]) for track in range(5)})
    assert len(outputs) == 5 and all(out.transl.device.type == "cuda" for out in outputs.values())
