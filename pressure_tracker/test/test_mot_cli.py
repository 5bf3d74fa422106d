"""presstrack-track / presstrack-track-eval: MOTChallenge format, scoring, and bad input (exit 2)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pressure_tracker.cli import eval_main, track_main
from presstrack_common.mip_format import MIP_FULL_SCALE_KPA, MIP_KPA_PER_RAW
from pressure_tracker.motchallenge import MotRow, load_scene, read_mot, write_mot
from painted_footprints import Walker, walking_scene


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory):
    scene = walking_scene([Walker((0.40, 0.10), math.pi / 2, speed=0.8, step_length=0.5),
                           Walker((0.80, 2.25), -math.pi / 2, speed=0.8, step_length=0.5, start_time=0.1)],
                          n_frames=40, noise_kpa=2.0, seed=5)
    path = tmp_path_factory.mktemp("scene") / "scene.npz"
    scene.save_npz(path)
    return path


def perfect_rows(boxes: np.ndarray) -> list[MotRow]:
    return [MotRow(t + 1, slot + 10, *box[:2], box[2] - box[0], box[3] - box[1], 1.0)
            for t, frame in enumerate(boxes) for slot, box in enumerate(frame) if box.any()]


def test_track_writes_motchallenge_rows(scene_file, tmp_path, capsys):
    out = tmp_path / "tracks.txt"
    assert track_main([str(scene_file), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines
    n_frames = len(np.load(scene_file)["pressure"])
    for line in lines:
        fields = line.split(",")
        assert len(fields) == 10 and fields[7:] == ["-1", "-1", "-1"]
        frame, track_id, left, top, width, height = (int(v) for v in fields[:6])
        assert 1 <= frame <= n_frames and track_id >= 1
        assert 0 <= left and 0 <= top and width > 0 and height > 0 and left + width <= 120 and top + height <= 238
        assert 0.0 <= float(fields[6]) <= 1.0
    assert "rows" in capsys.readouterr().out


def test_tracker_output_scores_well_and_baseline_worse(scene_file, tmp_path, capsys):
    ours, baseline = tmp_path / "ours.txt", tmp_path / "baseline.txt"
    assert track_main([str(scene_file), "--out", str(ours)]) == 0
    assert track_main([str(scene_file), "--out", str(baseline), "--baseline"]) == 0
    capsys.readouterr()
    assert eval_main([str(scene_file), str(ours), str(scene_file), str(baseline)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["sequence", "frames", "MOTA", "MOTP"]
    mota_ours, mota_baseline = float(table[1].split()[2]), float(table[2].split()[2])
    assert mota_ours > 85.0 and mota_baseline < mota_ours
    assert table[3].startswith("OVERALL")


def test_perfect_tracks_score_one(scene_file, tmp_path, capsys):
    boxes = np.load(scene_file)["box"]
    perfect = tmp_path / "perfect.txt"
    write_mot(perfect_rows(boxes), perfect)
    assert eval_main([str(scene_file), str(perfect)]) == 0
    fields = capsys.readouterr().out.splitlines()[1].split()
    mota, motp, idf1, switches, hota = (float(v) for v in fields[2:7])
    assert (mota, motp, idf1, switches, hota) == (100.0, 100.0, 100.0, 0.0, 100.0)


def test_mot_round_trip(tmp_path):
    rows = [MotRow(1, 3, 10, 20, 8, 25, 0.9), MotRow(2, 3, 11, 20, 8, 24, 0.85)]
    path = tmp_path / "t.txt"
    write_mot(rows, path)
    assert path.read_text().splitlines()[0] == "1,3,10,20,8,25,0.9000,-1,-1,-1"
    assert read_mot(path) == rows


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize(("arrays", "message"), [
    ({"box": np.zeros((3, 2, 4))}, "missing key 'pressure'"),
    ({"pressure": np.zeros((238, 120))}, "shape (T, rows, cols)"),
    ({"pressure": np.array([["a"]] * 3)}, "shape"),
    ({"pressure": np.zeros((2, 4, 4), dtype="<U1")}, "numeric"),
    ({"pressure": np.zeros((3, 8, 8)), "box": np.zeros((2, 1, 4))}, "'box' must have shape"),
    ({"pressure": np.zeros((3, 8, 8)), "pressure_scale_kpa": np.float64(-1)}, "pressure_scale_kpa"),
])
def test_bad_scene_exits_2_with_one_line(tmp_path, capsys, arrays, message):
    path = write_npz(tmp_path / "bad.npz", **arrays)
    assert track_main([path, "--out", str(tmp_path / "o.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and path in err[0] and message in err[0]
    assert "Traceback" not in err[0]


def test_unreadable_and_missing_files_exit_2(tmp_path, capsys, scene_file):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    assert track_main([str(garbage), "--out", str(tmp_path / "o.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert track_main([str(tmp_path / "absent.npz"), "--out", str(tmp_path / "o.txt")]) == 2
    assert "absent.npz" in capsys.readouterr().err
    no_boxes = write_npz(tmp_path / "nobox.npz", pressure=np.zeros((3, 8, 8)))
    tracks = tmp_path / "t.txt"
    tracks.write_text("")
    assert eval_main([no_boxes, str(tracks)]) == 2
    assert "missing key 'box'" in capsys.readouterr().err
    tracks.write_text("1,1,0,0,5\n")
    assert eval_main([str(scene_file), str(tracks)]) == 2
    assert f"{tracks}:1:" in capsys.readouterr().err
    tracks.write_text("999,1,0,0,5,5,1,-1,-1,-1\n")
    assert eval_main([str(scene_file), str(tracks)]) == 2
    assert "beyond" in capsys.readouterr().err
    assert eval_main([str(scene_file)]) == 2


def test_nonfinite_cells_are_zeroed_and_reported_once(tmp_path, capsys):
    pressure = np.zeros((4, 238, 120), dtype=np.float32)
    pressure[0, 0, :2] = [np.nan, np.inf]
    pressure[2, 5, 5] = -np.inf
    path = write_npz(tmp_path / "nan.npz", pressure=pressure, pressure_scale_kpa=np.float64(1.0))
    assert track_main([path, "--out", str(tmp_path / "o.txt")]) == 3  # nobody on the mat: exit 3, below
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"{path}: 3 NaN/Inf pressure cells treated as 0" and len(err) == 2


def test_an_all_zero_file_says_nobody_was_tracked_in_one_line(tmp_path, capsys):
    path = write_npz(tmp_path / "zero.npz", pressure=np.zeros((5, 238, 120), dtype=np.float32))
    out = tmp_path / "o.txt"
    assert track_main([path, "--out", str(out)]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"presstrack-track: error: {path}: nobody tracked in 5 frames")
    assert "pressure 0 to 0 kPa" in err[0] and "assumed MIP raw units" in err[0] and "--pressure-scale" in err[0]
    assert not out.exists()


def test_an_empty_file_is_one_line_and_non_zero(tmp_path, capsys):
    path = write_npz(tmp_path / "empty.npz", pressure=np.zeros((0, 238, 120), dtype=np.float32))
    assert track_main([path, "--out", str(tmp_path / "o.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and path in err[0] and "no empty axis" in err[0]


def test_a_file_in_a_weaker_unit_tracks_as_the_calibrated_one(scene_file, tmp_path, capsys):
    # The walkers' kPa stored as if they were MIP raw units: read as 1/30000 of the pressure. Contact comes from
    # the frames' own noise floor, not from an absolute kPa threshold, so the tracks are those of the kPa file.
    original = np.load(scene_file)
    path = write_npz(tmp_path / "weak.npz", pressure=original["pressure"], fps=original["fps"],
                     cell_pitch=original["cell_pitch"])
    assert track_main([path, "--out", str(tmp_path / "weak.txt")]) == 0
    assert "2 ids" in capsys.readouterr().out
    assert track_main([path, "--out", str(tmp_path / "told.txt"), "--pressure-scale", "1"]) == 0
    assert (tmp_path / "weak.txt").read_text() == (tmp_path / "told.txt").read_text()


def test_raw_units_default_and_override(tmp_path):
    path = write_npz(tmp_path / "raw.npz", pressure=np.full((1, 4, 4), 1.5e7))
    assert load_scene(path).pressure.max() == pytest.approx(1.5e7 * MIP_KPA_PER_RAW) == pytest.approx(MIP_FULL_SCALE_KPA)
    assert load_scene(path, pressure_scale_kpa=2.0).pressure.max() == pytest.approx(3e7)
