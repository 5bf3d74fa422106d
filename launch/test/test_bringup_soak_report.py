"""presstrack-soak's report: IDF1 and the id switches per person per 5 minutes of the live graph are in it."""
from __future__ import annotations

import json

from presstrack_bringup.soak import switches_per_person_window, write_report


def test_soak_report_holds_idf1_and_switches_per_person_per_five_minutes(tmp_path):
    soak = {"people": 3, "rate_hz": 15.0, "warmup_s": 10.0, "duration_s": 600.0, "sample_every_s": 2.0,
            "memory_window_s": 60.0, "processes": {}, "pressure_frames_heard": 9000, "bodies_received": 8990,
            "frames_without_bodies": 10, "driver_frames_late": 0, "published_rate_hz": 15.0, "latency_p50_ms": 40.0,
            "latency_p99_ms": 90.0, "faults_every_s": None,
            "score": {"id_switches": 12, "tracked_ids": 9, "mota": 0.95, "idf1": 0.912, "hota": 0.9, "mpjpe_mm": 40.0}}
    write_report(tmp_path, {"machine": {"cpu": "test"}, "soak": soak})
    markdown = (tmp_path / "soak.md").read_text()
    assert "id switches / person / 5 min" in markdown and "MOTA / IDF1 / HOTA" in markdown
    assert "| 2.00 |" in markdown and "0.950 / 0.912 / 0.900" in markdown  # 12 switches / 3 people / 2 windows
    assert json.loads((tmp_path / "soak.json").read_text())["soak"]["score"]["idf1"] == 0.912
    assert switches_per_person_window(1, 4, 1800.0) == 1 / 4 / 6
