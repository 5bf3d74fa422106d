"""Smoke test of presstrack-bench: the per-stage part in quick mode writes complete JSON and Markdown (no timing asserts)."""
from __future__ import annotations

import json

from mesh_recovery.hmr.inference import AUTO_CANDIDATES
from presstrack_bringup.bench import main

STAGES = {"driver publish", "simulator step", "tracker core", "HMR learned", "footprint baseline", "body model forward",
          "markers (serialize_markers)"}


def test_quick_stages_write_json_and_markdown(tmp_path):
    assert main(["--quick", "--stages-only", "--out", str(tmp_path)]) == 0

    report = json.loads((tmp_path / "bench.json").read_text())
    assert {"cpu_model", "cpu_flags", "gpu", "logical_cores", "ram_gib", "python", "torch_threads", "date"} <= set(report["machine"])
    assert report["end_to_end"] is None
    assert {row["stage"] for row in report["stages"]} == STAGES
    for row in report["stages"]:
        assert {"variant", "unit", "ms_per_item_median", "items_per_s_median"} <= set(row)
    hmr = {(row["variant"].split(",")[0], row["inference_path"]): row
           for row in report["stages"] if row["stage"] == "HMR learned"}
    # Every CPU inference path side by side, each with and without the feature cache.
    assert {path for _, path in hmr} == set(AUTO_CANDIDATES["cpu"])
    for path in AUTO_CANDIDATES["cpu"]:
        cached, reencoding = hmr["WindowBank cache", path], hmr["re-encode 16-frame window (authors)", path]
        # One encoder pass per person-frame with the cache, a whole window's worth per output without it.
        assert cached["encoder_frames"] == cached["frames"]
        assert reencoding["encoder_frames"] == 16 * reencoding["frames"]
        assert "speedup_vs_reencoding" in cached

    markdown = (tmp_path / "bench.md").read_text()
    assert "cpu_model" in markdown and "## Per stage" in markdown
    for stage in STAGES:
        assert stage in markdown
