"""The robustness grid's plumbing on one tiny cell, the scale cells' file round trip, the split seeds, and
the long session fed in chunks equalling one pass over the whole recording."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("presstrack_sim.simulator")

from presstrack_common.mip_format import MIP_KPA_PER_RAW
from pressure_tracker.motchallenge import OfflineFile
from presstrack_eval import track_grid
from presstrack_eval.peers import PEERS
from presstrack_eval.track_grid import (AXES, SPLIT_SEEDS, SPLIT_SIZE, GridCell, SceneData, report, run_cells,
                                       run_grid, stored_and_read)
from presstrack_eval.track_suite import OURS, main, mot_rows, ours

TINY = replace(track_grid.DEFAULT, people=2, seconds=3.0)


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    cache = tmp_path_factory.mktemp("grid")
    cells = [GridCell("tiny", "two people, 3 s", TINY)]
    return run_cells(cells, "heldout", cache=cache, log=lambda *a, **k: None), cache


def test_a_grid_cell_scores_ours_the_baseline_and_every_peer(tiny_results):
    results, cache = tiny_results
    assert len(results) == 1 and results[0].seed == SPLIT_SEEDS["heldout"] and results[0].frames == 45
    assert list(results[0].results) == [OURS, "baseline", *PEERS]
    markdown, payload = report(results, "heldout")
    assert "### tiny" in markdown and "### summary per tracker" in markdown
    header = next(line for line in markdown.splitlines() if line.startswith("| cell |"))
    assert header == "| cell | frames | people | " + " | ".join([OURS, "baseline", *PEERS]) + " |"
    row = next(line for line in markdown.splitlines() if line.startswith("| two people, 3 s |"))
    assert row.count(" / ") == 4 * (2 + len(PEERS)) and row.split(" | ")[1:3] == ["45", "2"]
    cell = payload["axes"]["tiny"]["two people, 3 s"]
    assert cell["frames"] == 45 and set(cell["trackers"]) == {OURS, "baseline", *PEERS}
    for scores in cell["trackers"].values():
        assert {"mota", "idf1", "id_switches", "false_positives", "misses"} <= set(scores)
        assert scores["people"] == 2
    json.dumps(payload)
    assert len(list(cache.glob("grid_*.npz"))) == 1  # simulated once, kept


def test_a_cached_cell_is_reused_unchanged(tiny_results):
    _, cache = tiny_results
    first = track_grid.simulate(TINY, SPLIT_SEEDS["heldout"], cache)
    again = track_grid.simulate(TINY, SPLIT_SEEDS["heldout"], cache)
    np.testing.assert_array_equal(first.pressure, again.pressure)
    assert first.cell_pitch == 0.01 and first.fps == 15.0


def test_a_scale_cell_reads_what_a_file_in_that_scale_gives_the_tracker():
    kpa = np.zeros((2, 6, 5), dtype=np.float32)
    kpa[:, 2, 3] = [120.0, 40.0]
    data = SceneData(kpa, np.zeros((2, 1, 4)), 15.0, 0.01)
    for scale in (0.03, 1.0, 30.0):
        told = stored_and_read(data, scale, with_unit=True)
        np.testing.assert_allclose(told.pressure, kpa, rtol=1e-5)
        assumed = stored_and_read(data, scale, with_unit=False)  # taken as MIP raw units: off by the scale
        np.testing.assert_allclose(assumed.pressure, kpa * scale, rtol=1e-5)
    assert MIP_KPA_PER_RAW < 1e-4


def test_splits_do_not_share_seeds():
    tuning = set(range(SPLIT_SEEDS["tuning"], SPLIT_SEEDS["tuning"] + SPLIT_SIZE))
    heldout = set(range(SPLIT_SEEDS["heldout"], SPLIT_SEEDS["heldout"] + SPLIT_SIZE))
    assert not tuning & heldout and max(tuning) == 999 and min(heldout) == 10000
    with pytest.raises(ValueError, match="split"):
        run_grid(["noise"], "test")


def test_every_axis_the_issue_names_is_in_the_grid():
    labels = {axis: [cell.label for cell in cells] for axis, cells in AXES.items()}
    assert [(c.scene.noise_kpa, c.scene.defects) for c in AXES["noise"]] == [
        (0.5, False), (0.0, True), (0.5, True), (1.0, True), (2.0, True)]
    assert all(c.scene == track_grid.DEFAULT for c in (AXES["noise"][0], AXES["pitch"][0], AXES["fps"][1]))
    assert len(labels["scale"]) == 6 and labels["pitch"] == ["1 cm", "2 cm"]
    assert labels["fps"] == ["10 Hz", "15 Hz", "30 Hz", "60 Hz"] and labels["people"] == ["1", "2", "3", "4", "5"]
    assert [c.scene.lane_gap_m for c in AXES["situations"][:3]] == [0.25, 0.30, 0.35]
    masses = [c.scene.body for c in AXES["mass"] if c.scene.body]
    assert min(h[0] ** 2 * b[0] for h, b in masses) >= 40 and max(h[1] ** 2 * b[1] for h, b in masses) <= 130


def test_grid_and_long_arguments_are_checked(capsys):
    with pytest.raises(SystemExit):
        main(["--grid", "--long"])
    assert main(["--long", "--long-minutes", "-1"]) == 2
    assert "--long-minutes" in capsys.readouterr().err
    assert main(["--long", "--long-minutes", "0.1", "--long-people", "7"]) == 2
    assert "3-5 people" in capsys.readouterr().err


def test_a_recording_fed_in_chunks_tracks_as_one_pass(tiny_results):
    _, cache = tiny_results
    data = track_grid.simulate(TINY, SPLIT_SEEDS["heldout"], cache)
    whole = mot_rows(ours(), data.pressure, data.fps)
    tracker, offline, detections = ours(), OfflineFile(data.fps), []
    for start in range(0, len(data.pressure), 10):
        mot_rows(tracker, data.pressure[start:start + 10], data.fps, start_frame=start, offline=offline,
                 detections_out=detections)
    assert offline.rows() == whole
    assert len(detections) == len(data.pressure)


def test_a_short_long_session_reports_every_tracker_per_person_and_window():
    from presstrack_eval.track_long import LIVE_NAME, report as long_report, run_long

    results, facts = run_long(0.1, 3, log=lambda *a, **k: None)
    assert facts["frames"] == 90 and facts["people"] == 3 and facts["seed"] == SPLIT_SEEDS["heldout"] + 500
    assert list(results) == [OURS, LIVE_NAME, "baseline", *PEERS]   # ours offline (relabelled) and as published
    markdown, payload = long_report(results, facts)
    assert "IDsw / person / 5 min" in markdown and len(payload["trackers"]) == 3 + len(PEERS)
    ours_scores = payload["trackers"][OURS]
    assert ours_scores["id_switches_per_person_per_5_min"] == pytest.approx(ours_scores["id_switches"] / 3 / (0.1 / 5))
    for scores in payload["trackers"].values():  # a 6 s session is one (short) window
        assert scores["id_switches_in_each_5_min"] == [scores["id_switches"]]


def test_switches_are_counted_in_the_window_they_happen():
    from pressure_tracker.motchallenge import MotRow
    from presstrack_eval.track_long import WINDOW_MINUTES, switches_in_windows
    from presstrack_eval.track_suite import score_rows

    box = np.tile(np.array([10.0, 10.0, 30.0, 40.0]), (12, 1, 1))  # one person standing 12 frames
    ids = [1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 1]  # switches at frames 2, 7 and 11 (0-based)
    rows = [MotRow(t + 1, track, 10, 10, 20, 30, 1.0) for t, track in enumerate(ids)]
    result = score_rows(rows, box, "switches", 1.0)
    facts = {"fps": 5 / (60.0 * WINDOW_MINUTES), "frames": 12}  # a window of 5 frames
    assert result.scores.id_switches == 3 and switches_in_windows(result, facts) == [1, 1, 1]


def test_old_labels_are_a_scene_of_their_own(tmp_path):
    """--old-labels asks the simulator for the labels of before (a fixed 1.5 kPa) and never shares a cached
    scene with the labels above the noise."""
    old = replace(track_grid.DEFAULT, noise_kpa=2.0, old_labels=True)
    new = replace(old, old_labels=False)
    assert track_grid.sim_config(old, 0).old_labels and not track_grid.sim_config(new, 0).old_labels
    assert track_grid._cache_path(tmp_path, old, 0) != track_grid._cache_path(tmp_path, new, 0)
