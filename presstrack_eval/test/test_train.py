from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from presstrack_eval import eval_table, evaluate, train
from presstrack_eval.dataset import WindowSet, load_split
from mesh_recovery.hmr.checkpoint import load_network, read_checkpoint, save_checkpoint
from mesh_recovery.hmr.inputs import crop_person
from mesh_recovery.hmr.losses import HMRLoss
from mesh_recovery.hmr.network import HMRNet
from presstrack_common.mip_format import MIP_FULL_SCALE_KPA
from hmr_fakes import TINY, TINY_FLAGS, FakeBody, write_recording


@pytest.fixture()
def corpus(tmp_path):
    body = FakeBody()
    (tmp_path / "data").mkdir()
    write_recording(tmp_path / "data" / "a.npz", frames=40, body=body)
    write_recording(tmp_path / "data" / "b.npz", frames=30, slots=1, seed=1, body=body)
    return tmp_path / "data", body


def test_loss_decreases_on_a_fixed_batch(corpus):
    data, body = corpus
    recordings, ranges = load_split(data, "unseen_sequence")
    windows = WindowSet(recordings, ranges["train"], TINY.window, TINY.target_index, TINY.crop_size)
    batch = windows.batch(torch.arange(8))
    torch.manual_seed(0)
    net, loss_fn = HMRNet(TINY), HMRLoss(body)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)

    def eval_loss() -> float:
        net.eval()
        with torch.no_grad():
            return float(loss_fn(net(batch[0], batch[1]), batch[2])[0])

    before = eval_loss()
    for _ in range(6):
        report = train.train_step(net, loss_fn, optimizer, batch)
    assert set(report) >= {"loss", "joints_3d", "body_rotations", "root_orientation", "betas", "transl", "world_mpjpe"}
    assert eval_loss() < 0.9 * before


def test_two_step_run_writes_and_resumes_checkpoints(corpus, tmp_path):
    data, body = corpus
    out = tmp_path / "run"
    argv = ["--data", str(data), "--out", str(out), "--epochs", "1", "--batch-size", "4", "--steps-per-epoch", "2",
            "--lr", "1e-4", "--warmup-epochs", "0.5", *TINY_FLAGS]
    result = train.run_training(train.build_parser().parse_args(argv), body=body)
    last, best = read_checkpoint(out / "last.pt"), read_checkpoint(out / "best.pt")
    assert last["epoch"] == 1 and last["scheduler_step"] == 2 and "optimizer" in last
    assert "optimizer" not in best and best["config"]["width"] == 64 and best["args"]["batch_size"] == 4
    assert best["best_val_world_mpjpe"] == result["best_val_world_mpjpe"] < float("inf")
    argv_resumed = [a if a != "1" else "2" for a in argv] + ["--resume", str(out / "last.pt")]
    resumed = train.run_training(train.build_parser().parse_args(argv_resumed), body=body)
    assert [h["epoch"] for h in resumed["history"]] == [2]
    assert read_checkpoint(out / "last.pt")["scheduler_step"] == 4
    net, _ = load_network(out / "best.pt")
    assert net.config == TINY


def test_half_weight_checkpoint_loads_as_float32(corpus, tmp_path):
    data, body = corpus
    argv = ["--data", str(data), "--out", str(tmp_path / "h"), "--epochs", "1", "--steps-per-epoch", "1",
            "--half-weights", *TINY_FLAGS]
    train.run_training(train.build_parser().parse_args(argv), body=body)
    stored = read_checkpoint(tmp_path / "h" / "best.pt")["state_dict"]
    assert all(v.dtype == torch.float16 for v in stored.values() if v.is_floating_point())
    net, _ = load_network(tmp_path / "h" / "best.pt")
    assert next(net.parameters()).dtype == torch.float32


def test_evaluation_of_a_checkpoint(corpus, tmp_path):
    data, body = corpus
    argv = ["--data", str(data), "--out", str(tmp_path / "e"), "--epochs", "1", "--steps-per-epoch", "1", *TINY_FLAGS]
    train.run_training(train.build_parser().parse_args(argv), body=body)
    args = evaluate.build_parser().parse_args(["--checkpoint", str(tmp_path / "e" / "best.pt"), "--data", str(data)])
    scored = evaluate.run_protocols(args, evaluate.PROTOCOLS, body=body)
    # Test parts: a.npz frames 36-39 x 2 people, b.npz frames 27-29 x 1.  The paper protocol scores only frames
    # with a full window (4 frames, target index 1: frame 37 of a.npz); the tracking protocol every output.
    assert scored["paper"][1] == 2 and scored["tracking"][1] == 4 * 2 + 3
    assert scored["tracking"][0]["missed person-frames"] == 0 and scored["tracking"][0]["identity switches"] == 0
    for summary, _ in scored.values():
        assert all(summary[k] > 0 for k in ("MPJPE", "PA-MPJPE", "PVE", "W-MPJPE100", "WA-MPJPE100"))
        assert summary["PA-MPJPE"] <= summary["MPJPE"] + 1e-6
    default_summary, default_frames = evaluate.run_evaluation(args, body=body)  # the default protocol: paper
    assert default_frames == 2 and default_summary["MPJPE"] == scored["paper"][0]["MPJPE"]
    # The int8 ONNX path of the live node scores as the float32 torch reference does (to rounding).
    args.inference_path = "onnx-int8"
    int8, _ = evaluate.run_evaluation(args, body=body)
    assert abs(int8["MPJPE"] - default_summary["MPJPE"]) < 1.0
    assert abs(int8["WA-MPJPE100"] - default_summary["WA-MPJPE100"]) < 1.0


def test_evaluation_end_to_end_from_the_trackers_crops(corpus, tmp_path):
    """--people tracker: the pressure tracker finds the people (no ground-truth boxes) and both backends run on
    its crops; every estimate is matched to a ground-truth person."""
    data, body = corpus
    argv = ["--data", str(data), "--out", str(tmp_path / "e"), "--epochs", "1", "--steps-per-epoch", "1", *TINY_FLAGS]
    train.run_training(train.build_parser().parse_args(argv), body=body)
    checkpoint = str(tmp_path / "e" / "best.pt")
    tracks = evaluate.tracker_tracks(load_split(data, "unseen_sequence")[0][0], 0, 40)
    assert tracks and all(len(t.frames) == len(t.crops) == len(t.boxes) and (np.diff(t.frames) == 1).all() for t in tracks)
    assert all(t.crops.shape[1:] == (evaluate.CROP_SIZE, evaluate.CROP_SIZE) for t in tracks)
    for source in (["--checkpoint", checkpoint], ["--backend", "footprint"]):
        args = evaluate.build_parser().parse_args([*source, "--data", str(data), "--split", "unseen_sequence",
                                                   "--part", "train", "--people", "tracker"])
        summary, person_frames = evaluate.run_evaluation(args, body=body)
        assert person_frames > 0 and summary["MPJPE"] > 0


def test_time_budget_fits_the_epochs_left():
    args = train.build_parser().parse_args(["--data", "x", "--out", "y", "--epochs", "10", "--time-budget", "2"])
    assert train.fit_epochs(args, epochs_done=1, elapsed=30.0, epoch_seconds=20.0) == 1 + 4  # 90 s left
    assert train.fit_epochs(args, epochs_done=1, elapsed=130.0, epoch_seconds=20.0) == 1  # over budget: stop
    assert train.fit_epochs(args, epochs_done=1, elapsed=1.0, epoch_seconds=1.0) == 10  # capped by --epochs


def test_clis_report_bad_input_in_one_line(tmp_path, capsys):
    (tmp_path / "junk.npz").write_bytes(b"junk")
    assert train.main(["--data", str(tmp_path / "junk.npz"), "--out", str(tmp_path / "o")]) == 2
    assert evaluate.main(["--checkpoint", str(tmp_path / "missing.pt"), "--data", str(tmp_path / "junk.npz")]) == 2
    assert evaluate.main(["--backend", "footprint", "--data", str(tmp_path / "junk.npz")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("presstrack-") and "Traceback" not in line for line in errors)


def test_registered_backend_is_used(corpus, tmp_path):
    data, body = corpus

    class GroundTruthBackend:
        name = "oracle"

        def predict(self, recording, start, stop):
            return [[evaluate.PersonEstimate(recording.joints[f, s, :24], recording.transl[f, s], recording.pose[f, s], recording.betas[f, s])
                     for s in range(recording.num_slots) if recording.present[f, s]] for f in range(start, stop)]

    evaluate.BACKENDS["oracle"] = lambda args: GroundTruthBackend()
    try:
        args = evaluate.build_parser().parse_args(["--backend", "oracle", "--data", str(data), "--json", str(tmp_path / "m.json")])
        summary, _ = evaluate.run_evaluation(args, body=body)
    finally:
        del evaluate.BACKENDS["oracle"]
    assert summary["MPJPE"] == pytest.approx(0.0, abs=1e-4) and summary["PVE"] == pytest.approx(0.0, abs=1e-4)


def test_box_iou_by_hand():
    a = np.array([[0, 0, 4, 4], [10, 10, 12, 12]], dtype=float)
    b = np.array([[2, 0, 6, 4], [0, 0, 4, 4], [20, 20, 20, 25]], dtype=float)
    expected = [[8 / 24, 1.0, 0.0], [0.0, 0.0, 0.0]]  # a 2x4 overlap of two 16-cell boxes; an empty box overlaps nothing
    assert np.allclose(evaluate.box_iou(a, b), expected)


def test_tracked_recording_holds_the_trackers_crops_and_the_paired_people(corpus):
    """Training on the tracker's crops: each slot of the relabelled recording is one track; on its paired frames
    the crop a WindowSet cuts is the tracker's own crop and the targets are those of the ground-truth person
    whose box it overlaps; frames with no pairing have no cells of the track."""
    data, _ = corpus
    recording = load_split(data, "unseen_sequence")[0][1]  # one walker (the tracker takes a.npz's two blobs for two feet)
    tracked = evaluate.tracked_recording(recording)
    tracker_crops = {(int(f), tuple(box)): crop for track in evaluate.tracker_tracks(recording, 0, recording.num_frames)
                     for f, box, crop in zip(track.frames, track.boxes.astype(int), track.crops)}
    frames, slots = np.nonzero(tracked.present)
    assert len(frames) > 0.5 * recording.present.sum() and tracked.num_slots >= 1
    for f, k in zip(frames, slots):
        truth = [j for j in np.flatnonzero(recording.present[f]) if np.array_equal(recording.pose[f, j], tracked.pose[f, k])]
        assert len(truth) == 1
        assert np.array_equal(tracked.joints[f, k], recording.joints[f, truth[0]])
        assert evaluate.box_iou(tracked.boxes[f, k][None], recording.boxes[f, truth])[0, 0] >= 0.3
        crop = crop_person(recording.pressure[f], tracked.boxes[f, k], evaluate.CROP_SIZE, tracked.person_mask(f, k))
        assert np.allclose(crop * MIP_FULL_SCALE_KPA, tracker_crops[f, tuple(tracked.boxes[f, k].astype(int))], rtol=1e-5)
    for f in range(tracked.num_frames):
        assert set(np.unique(tracked.cell_owner[f])) - {-1} <= set(np.flatnonzero(tracked.present[f]))


def test_fine_tuning_on_the_trackers_crops_starts_from_the_given_weights(corpus, tmp_path):
    data, body = corpus
    base = ["--data", str(data), "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2"]
    train.run_training(train.build_parser().parse_args([*base, *TINY_FLAGS, "--out", str(tmp_path / "a")]), body=body)
    # No network flags: the network is the one --init names, and the checkpoint's args say so.
    argv = [*base, "--out", str(tmp_path / "b"), "--people", "tracker", "--init", str(tmp_path / "a" / "best.pt"),
            "--lr", "0", "--seed", "3", "--amp"]
    train.run_training(train.build_parser().parse_args(argv), body=body)
    before, after = load_network(tmp_path / "a" / "best.pt")[0], load_network(tmp_path / "b" / "best.pt")[0]
    assert after.config == before.config
    saved_args = read_checkpoint(tmp_path / "b" / "best.pt")["args"]
    assert (saved_args["width"], saved_args["window"]) == (before.config.width, before.config.window) == (64, 4)
    for (name, value), other in zip(before.named_parameters(), after.parameters()):
        assert torch.equal(value, other), name  # learning rate 0: the weights it started from


def test_train_and_eval_clis_with_the_default_body(default_body_path, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    write_recording(data / "a.npz", frames=40)
    out = tmp_path / "run"
    common = ["--body-model", str(default_body_path), "--device", "auto"]
    assert train.main(["--data", str(data), "--out", str(out), "--epochs", "1", "--steps-per-epoch", "1", *TINY_FLAGS, *common]) == 0
    assert evaluate.main(["--checkpoint", str(out / "best.pt"), "--data", str(data), "--json", str(tmp_path / "m.json"),
                          "--protocol", "tracking", *common]) == 0
    table = capsys.readouterr().out
    assert "protocol: tracking" in table and "PA-MPJPE" in table and "FootSliding" in table and "identity switches" in table
    assert "not comparable to the paper's PVE" in table  # the default body is not SMPL's topology
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["protocol"] == "tracking" and saved["person_frames"] == 8 and np.isfinite(saved["metrics"]["PVE"])


class OffsetBackend:
    """Hand-made estimates: every present person's true joints moved by a known offset; slot 0 by 1 cm along x
    on every frame, slot 1 by 4 cm along x on even frames and along y on odd ones (not rigid: W/WA see it).
    The first ``padded`` frames are marked as edge-padded."""

    name = "offsets"
    window_margins = (0, 0)

    def __init__(self, padded: int = 3) -> None:
        self.padded = padded

    def predict(self, recording, start, stop):
        offsets = {0: lambda f: [0.01, 0, 0], 1: lambda f: [0.04, 0, 0] if f % 2 == 0 else [0, 0.04, 0]}
        return [[evaluate.PersonEstimate(recording.joints[f, s, :24] + np.float32(offsets[s](f)), recording.transl[f, s],
                                         track_id=s, full_window=f - start >= self.padded)
                 for s in range(recording.num_slots) if recording.present[f, s]] for f in range(start, stop)]


def test_protocols_aggregate_hand_made_estimates_as_defined(corpus):
    """a.npz, frames 0-39: slot 1 is absent on frames 20-22 (write_recording); frames 0-2 are edge-padded."""
    data, _ = corpus
    recordings, _ = load_split(data, "unseen_sequence")
    scored = evaluate.evaluate_protocols(OffsetBackend(), recordings[:1], [[(0, 40)]])
    paper, paper_frames = scored["paper"]
    tracking, tracking_frames = scored["tracking"]
    # paper: frames 3-39 only; per frame the mean over its people, then over frames.
    assert paper_frames == 37 + 34
    both, alone = 34, 3  # frames with both people / with slot 0 alone (20-22)
    assert paper["W-MPJPE (no align)"] == pytest.approx((both * (10 + 40) / 2 + alone * 10) / (both + alone), abs=1e-3)
    # W/WA only for people present on the whole segment: slot 0, whose rigid offset any similarity removes.
    assert paper["W-MPJPE100"] == pytest.approx(0.0, abs=1e-3) and paper["WA-MPJPE100 all starts"] == pytest.approx(0.0, abs=1e-3)
    # tracking: every output, person-frames pooled; slot 1's non-rigid error enters W/WA.
    assert tracking_frames == 40 + 37
    assert tracking["W-MPJPE (no align)"] == pytest.approx((40 * 10 + 37 * 40) / 77, abs=1e-3)
    assert tracking["WA-MPJPE100"] > 1.0
    assert (tracking["missed person-frames"], tracking["spare person-frames"], tracking["identity switches"]) == (0, 0, 0)
    assert tracking["truth person-frames"] == 77 and "missed" not in paper


class SMPLTopologyBody(FakeBody):
    """FakeBody with SMPL's 6,890 'vertices' (vertex i is joint i mod 24, so the nose vertex 332 is joint 20)."""

    def vertices(self, betas, rotmats, transl):
        joints = super().vertices(betas, rotmats, transl)
        return joints[:, torch.arange(6890) % 24]


def test_paper_protocol_scores_25_joints_on_an_smpl_topology_body(tmp_path):
    body = SMPLTopologyBody()
    path = write_recording(tmp_path / "a.npz", frames=20, body=FakeBody())  # the same skeleton
    with np.load(path) as data:
        content = {key: data[key] for key in data.files}
    content["keypoints_3d"] = np.concatenate([content["keypoints_3d"], content["keypoints_3d"][:, :, 20:21]], axis=2)
    np.savez(path, **content)
    recordings, _ = load_split(path, "unseen_sequence")

    class Oracle:
        name, window_margins = "oracle", (0, 0)

        def predict(self, recording, start, stop):
            return [[evaluate.PersonEstimate(recording.joints[f, s, :24], recording.transl[f, s], recording.pose[f, s],
                                             recording.betas[f, s], track_id=s)
                     for s in range(recording.num_slots) if recording.present[f, s]] for f in range(start, stop)]

    summary, _ = evaluate.evaluate_backend(Oracle(), recordings, [[(0, 20)]], body=body)
    assert summary["joints"] == 25 and summary["PVE vertices"] == 6890
    assert summary["MPJPE"] == pytest.approx(0.0, abs=1e-3) and summary["PVE"] == pytest.approx(0.0, abs=1e-3)
    recordings[0].joints[:, :, 24] += np.float32([0.0, 0.0, 0.25])  # the file's nose 25 cm off the body's
    moved, _ = evaluate.evaluate_backend(Oracle(), recordings, [[(0, 20)]], body=body)
    assert moved["W-MPJPE (no align)"] == pytest.approx(250.0 / 25, abs=1e-2)  # one joint of 25


class SwapBackend:
    """a.npz's two people, 1 cm off along x; the first 3 frames edge-padded.  Track 7 follows slot 0 and track 8
    slot 1 until frame 30, then they swap: each follows the other person on frames 30-39."""

    name, window_margins = "swap", (0, 0)

    def predict(self, recording, start, stop):
        def track(f, s):
            return (7 if s == 0 else 8) if f < 30 else (8 if s == 0 else 7)

        return [[evaluate.PersonEstimate(recording.joints[f, s, :24] + np.float32([0.01, 0, 0]), recording.transl[f, s],
                                         track_id=track(f, s), full_window=f >= 3)
                 for s in range(recording.num_slots) if recording.present[f, s]] for f in range(start, stop)]


def test_tracking_protocol_splits_wa_by_where_each_scored_frame_comes_from(corpus):
    """Tracks 7 and 8 are bound to slots 0 and 1 (30 of their frames against 10); after the swap each is scored
    against its own person while following the other: 2 x 10 wrong-person frames; frames 0-2 of both are
    edge-padded; the rest, 40 + 37 - 26, are 'other'.  The class means weighted by their frames are the WA."""
    data, _ = corpus
    recordings, _ = load_split(data, "unseen_sequence")
    tracking, frames = evaluate.evaluate_protocols(SwapBackend(), recordings[:1], [[(0, 40)]], protocols=("tracking",))["tracking"]
    counts = {name: tracking[f"{name} person-frames"] for name in evaluate.WA_CLASSES}
    assert counts == {"wrong-person": 20, "edge-padded": 6, "other": 51} and frames == 77
    weighted = sum(counts[name] * tracking[f"WA-MPJPE100 {name} frames"] for name in evaluate.WA_CLASSES) / frames
    assert weighted == pytest.approx(tracking["WA-MPJPE100"], rel=1e-9)
    # The swapped frames, on the other person, carry the error (which also bends their chunk's fit for the rest).
    assert tracking["WA-MPJPE100 wrong-person frames"] > 3 * tracking["WA-MPJPE100 other frames"]
    table = eval_table.format_decomposition([dict(backend="swap", people="tracker", metrics=tracking)])
    other_mean = tracking["WA-MPJPE100 other frames"]
    adds = [float(cell.split(",")[-1]) for cell in table.splitlines()[-1].split("|")[5:7]]
    assert other_mean + sum(adds) == pytest.approx(tracking["WA-MPJPE100"], abs=0.11)  # the table's rounding


def test_the_table_is_the_same_twice_and_with_another_thread_count(corpus, tmp_path, capsys):
    """Every figure of presstrack-eval-table (both backends, true boxes and the tracker's crops, both protocols)
    comes out identical when it runs again, and moves by float rounding only with two torch threads instead of one."""
    data, body = corpus
    torch.manual_seed(0)
    checkpoint = str(tmp_path / "net.pt")
    save_checkpoint(checkpoint, HMRNet(TINY))
    threads = torch.get_num_threads()
    tables = {}
    try:
        for name, count in (("a", "1"), ("b", "1"), ("c", "2")):
            args = eval_table.build_parser().parse_args(
                ["--data", str(data), "--split", "unseen_sequence", "--part", "train", "--centred", checkpoint,
                 "--online", checkpoint, "--threads", count, "--out", str(tmp_path / name)])
            tables[name] = tmp_path / f"{name}.json"
            tables[name].write_text(json.dumps(dict(rows=eval_table.table_rows(args, body))))
    finally:
        torch.set_num_threads(threads)
    saved = json.loads(tables["a"].read_text())
    assert len(saved["rows"]) == 12 and all(r["person_frames"] > 0 for r in saved["rows"])
    capsys.readouterr()
    assert eval_table.main(["--compare", str(tables["a"]), str(tables["b"]), "--tolerance", "0"]) == 0
    assert "figures within 0.0 (largest difference 0)" in capsys.readouterr().out
    # Another thread count sums in another order: the figures move by float rounding only.
    assert eval_table.main(["--compare", str(tables["a"]), str(tables["c"]), "--tolerance", "1e-5"]) == 0
    capsys.readouterr()
    # A figure moved by more than the tolerance is named.
    row = saved["rows"][3]
    before = row["metrics"]["WA-MPJPE100"]
    row["metrics"]["WA-MPJPE100"] += 0.6
    (tmp_path / "moved.json").write_text(json.dumps(saved))
    assert eval_table.main(["--compare", str(tables["a"]), str(tmp_path / "moved.json"), "--tolerance", "0.5"]) == 1
    assert capsys.readouterr().out.strip().splitlines() == [
        f"{row['protocol']} / {row['backend']} / {row['people']}: WA-MPJPE100 {before} vs {before + 0.6}"]
    text = eval_table.format_tables(saved["rows"], dict(device="cpu", inference_path="torch-float32", torch="x",
                                                        torch_threads=2, cpu="a CPU", seconds=60))
    assert "protocol `tracking`" in text and "where the `tracking` protocol's WA-MPJPE100 comes from" in text
    assert text.rstrip().endswith("inference path torch-float32, torch x with 2 threads; 1 min on a CPU.")
