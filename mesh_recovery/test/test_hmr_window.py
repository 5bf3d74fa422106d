from __future__ import annotations

import pytest
import torch

from mesh_recovery.hmr.network import HMRConfig, HMRNet
from mesh_recovery.hmr.window import ReencodingTrackWindow, TrackWindow, WindowBank, predict_track
from hmr_fakes import TINY

FRAMES = 7


def make_net(mode: str = "centred") -> HMRNet:
    torch.manual_seed(0)
    return HMRNet(HMRConfig(**{**TINY.to_dict(), "mode": mode})).eval()


def track_inputs(seed: int = 0, frames: int = FRAMES):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(frames, 32, 32, generator=generator), torch.rand(frames, 10, generator=generator)


@pytest.mark.parametrize("mode", ["centred", "online"])
def test_cached_window_equals_reencoding(mode):
    net = make_net(mode)
    cached, reference = TrackWindow(net), ReencodingTrackWindow(net)
    crops, numbers = track_inputs()
    produced = 0
    for crop, number in zip(crops, numbers):
        a, b = cached.step(crop, number), reference.step(crop, number)
        assert (a is None) == (b is None)
        if a is not None:
            produced += 1
            assert torch.allclose(a.rotmats, b.rotmats, atol=1e-5)
            assert torch.allclose(a.transl, b.transl, atol=1e-5)
            assert torch.allclose(a.betas, b.betas, atol=1e-5)
    lag = net.config.lag
    assert produced == FRAMES - lag
    assert cached.counters.encoder_frames == FRAMES
    assert reference.counters.encoder_frames == produced * net.config.window


def test_first_output_and_frame_index_follow_the_lag():
    centred = TrackWindow(make_net("centred"))  # window 4: target index 1, lag 2
    crops, numbers = track_inputs()
    results = [centred.step(c, n) for c, n in zip(crops[:3], numbers[:3])]
    assert results[0] is None and results[1] is None and results[2] is not None
    assert centred.output_frame_index == 0
    online = TrackWindow(make_net("online"))
    assert online.step(crops[0], numbers[0]) is not None and online.output_frame_index == 0


def test_flush_emits_the_pending_frames_and_matches_offline_prediction():
    net = make_net()
    window = TrackWindow(net)
    crops, numbers = track_inputs()
    outputs = [o for o in (window.step(c, n) for c, n in zip(crops, numbers)) if o is not None]
    outputs += window.flush()
    assert len(outputs) == FRAMES and window.counters.encoder_frames == FRAMES
    offline = predict_track(net, crops, numbers, batch_size=4)
    for i, out in enumerate(outputs):
        assert torch.allclose(out.transl[0], offline.transl[i], atol=1e-5)
    with pytest.raises(ValueError, match="flushed"):
        window.step(crops[0], numbers[0])


def test_zero_padding_differs_from_edge_padding_only_at_the_start():
    net = make_net("online")
    edge, zero = TrackWindow(net, "edge"), TrackWindow(net, "zero")
    crops, numbers = track_inputs()
    first_edge, first_zero = edge.step(crops[0], numbers[0]), zero.step(crops[0], numbers[0])
    assert not torch.allclose(first_edge.transl, first_zero.transl)
    for c, n in zip(crops[1:], numbers[1:]):
        last_edge, last_zero = edge.step(c, n), zero.step(c, n)
    assert torch.allclose(last_edge.transl, last_zero.transl, atol=1e-5)
    with pytest.raises(ValueError, match="padding"):
        TrackWindow(net, "mirror")


def test_bank_batches_tracks_like_separate_windows():
    net = make_net()
    bank = WindowBank(net)
    a_crops, a_numbers = track_inputs(1)
    b_crops, b_numbers = track_inputs(2)
    alone_a, alone_b = TrackWindow(net), TrackWindow(net)
    for t in range(FRAMES):
        inputs = {"a": (a_crops[t], a_numbers[t])}
        if t >= 2:  # track b starts later
            inputs["b"] = (b_crops[t], b_numbers[t])
        results = bank.step_many(inputs)
        expected_a = alone_a.step(a_crops[t], a_numbers[t])
        expected_b = alone_b.step(b_crops[t], b_numbers[t]) if t >= 2 else None
        for got, expected in ((results["a"], expected_a), (results.get("b"), expected_b)):
            assert (got is None) == (expected is None)
            if got is not None:
                assert torch.allclose(got.rotmats, expected.rotmats, atol=1e-5)
    assert bank.counters.encoder_frames == FRAMES + FRAMES - 2
    assert len(bank.remove("b", flush=True)) == net.config.lag
    assert set(bank.windows) == {"a"} and bank.step_many({}) == {}


def test_a_renamed_track_keeps_its_window():
    """A track renamed mid-way (the tracker recognised a newcomer: provisional id -> known id) gives the outputs it
    would have given under one id; under a new id without the rename its window would start over."""
    net = make_net()
    crops, numbers = track_inputs(3)
    one_id, renamed = WindowBank(net), WindowBank(net)
    for t in range(FRAMES):
        expected = one_id.step_many({"a": (crops[t], numbers[t])})["a"]
        if t == 3:
            renamed.rename("provisional", "known")
        name = "provisional" if t < 3 else "known"
        got = renamed.step_many({name: (crops[t], numbers[t])})[name]
        assert (got is None) == (expected is None)
        if got is not None:
            assert torch.allclose(got.rotmats, expected.rotmats, atol=1e-6)
    assert set(renamed.windows) == {"known"}
    assert renamed.windows["known"].counters.frames == FRAMES
