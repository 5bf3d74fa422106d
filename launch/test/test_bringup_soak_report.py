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


def test_a_respawned_node_is_judged_on_its_last_process_and_its_counters_are_summed():
    from presstrack_bringup.live_probe import ProcessSample, ProcessSampler, counter_increase
    from presstrack_bringup.soak import FAULT_SETTLE_S, memory_growth

    mib = 2**20
    # The driver: 400 MiB and flat for 100 s, killed, respawned: 60 MiB at its start, 300 MiB and flat after.
    old = [ProcessSample(t, 0.1 * t, 400 * mib, pid=11) for t in range(0, 100, 5)]
    new = [ProcessSample(t, 0.1 * (t - 100), (60 if t == 100 else 300) * mib, pid=12) for t in range(100, 300, 5)]
    sampler = ProcessSampler(processes={}, samples={"mat_driver": old + new})
    growth = memory_growth(sampler, "mat_driver", 0.0, 300.0, window_s=60.0)
    assert growth["restarts"] == 1 and growth["growth_mib"] == 0.0  # not -100 (old vs new), nor the start-up
    assert growth["judged_s"] == 300 - 5 - 100 - FAULT_SETTLE_S
    assert abs(growth["cpu_percent"] - 10.0) < 0.5  # 0.1 CPU s per s in each process, not a negative jump
    # The restarted simulated driver plans its scene first (300 MiB), then plays it (340 MiB from 150 s on, its
    # first frame at 150 s): judged from FAULT_SETTLE_S after that first frame, it did not grow.
    planning = [ProcessSample(t, 0.1 * (t - 100), (60 if t == 100 else 300 if t < 150 else 340) * mib, pid=12)
                for t in range(100, 300, 5)]
    sampler = ProcessSampler(processes={}, samples={"mat_driver": old + planning})
    assert memory_growth(sampler, "mat_driver", 0.0, 300.0, 60.0)["growth_mib"] > 20.0    # its first frame unknown
    growth = memory_growth(sampler, "mat_driver", 0.0, 300.0, 60.0, respawn_settled=150 + FAULT_SETTLE_S)
    assert growth["growth_mib"] == 0.0 and abs(growth["slope_mib_per_min"]) < 1e-9
    assert growth["judged_s"] == 295 - 150 - FAULT_SETTLE_S
    # frames_published of two driver processes: 0..900, then from 0 again to 600.
    assert counter_increase([0, 450, 900, 30, 600]) == 900 + 600


def test_identities_across_a_noise_burst_are_judged_per_simulated_person():
    import numpy as np

    from presstrack_bringup.soak import FaultInjector, matched_track_ids

    box = lambda x: np.array([x, 10.0, x + 20.0, 40.0])  # noqa: E731
    assert matched_track_ids({7: box(0), 8: box(50)}, {1: box(52), 2: box(1)}) == {1: 8, 2: 7}
    assert matched_track_ids({7: box(0)}, {1: box(100)}) == {}  # no overlap: no one matched

    faults = FaultInjector.__new__(FaultInjector)  # the bookkeeping alone, without a graph
    faults.noise_stamps = {5_000_000_000}
    faults.injected = [{"kind": "noise_burst", "start_ns": 4_000_000_000, "stop_ns": 5_500_000_000}]
    s = 1_000_000_000
    truth = {3 * s: {1: box(0), 2: box(50)}, 8 * s: {1: box(2), 2: box(90)}}
    # Person 1 keeps track 7; person 2 walked on and is tracked as 9 (their old track 8 was lost with them).
    tracked = {3 * s: {7: box(0), 8: box(50)}, 5 * s: {}, 8 * s: {7: box(2), 9: box(90)}}
    outcome = faults.identities_across_bursts(tracked, truth)
    assert outcome == [{"ids_before": [7, 8], "ids_after": [7, 9], "people_before": 2, "people_after": 2,
                        "person_ids": {1: [7, 7], 2: [8, 9]}, "kept": False}]
    tracked[8 * s] = {7: box(2), 8: box(90)}
    assert faults.identities_across_bursts(tracked, truth)[0]["kept"] is True
    truth[8 * s], tracked[8 * s] = {}, {}  # everyone left the mat: nothing to judge
    assert faults.identities_across_bursts(tracked, truth)[0]["kept"] is None


def test_the_nodes_counters_that_grew_are_reported_across_a_respawn():
    from presstrack_bringup.live_probe import TopicProbe

    probe = TopicProbe.__new__(TopicProbe)  # the bookkeeping alone, without a node
    probe.diagnostics = {"mesh_recovery": [
        (1.0, {"frames": "10", "frames_skipped": "0", "tracks_live": "3", "latency_p50_ms": "12.5"}),
        (2.0, {"frames": "25", "frames_skipped": "2", "tracks_live": "1", "bad_input_burst": "4", "bursts": "3",
               "frames_rate_hz": "15", "frames_in_window": "75"}),
        (3.0, {"frames": "5", "frames_skipped": "0", "tracks_live": "2", "bad_input_burst": "0"}),  # respawned
        (9.0, {"frames": "900", "frames_skipped": "0", "tracks_live": "2"})]}
    # Gauges (tracks_live, the rate check's frames_rate_hz and frames_in_window) are not counters.
    assert probe.counter_increases("mesh_recovery", 0.0, 4.0) == {"frames": 20, "frames_skipped": 2, "bad_input_burst": 4,
                                                                   "bursts": 3}


def test_a_noise_burst_starts_at_the_mats_frame_it_could_overtake_and_a_restart_ends_after_frames_flow_again():
    from presstrack_bringup.soak import FAULT_SETTLE_S, FaultInjector

    s = 1_000_000_000
    faults = FaultInjector.__new__(FaultInjector)
    faults.injected = [{"kind": "noise_burst", "start_ns": 100, "overtakable_from_ns": 40, "stop_ns": 200},
                       {"kind": "driver_restart", "start_ns": 300, "stop_ns": 310}]
    faults.noise_stamps = {150}
    # The mat's frames up to the kill, then none while the restarted driver plans its scene (37 s), then again.
    faults._heard = dict.fromkeys([40, 150, 290, 305, 37 * s, 37 * s + s // 15])
    assert faults.burst_windows_ns() == [(40, 200)]
    settled = 37 * s + int(FAULT_SETTLE_S * 1e9)
    assert faults.restart_windows_ns() == [(300, settled)]
    assert faults.restarts_ns() == [(300, 37 * s)]
    assert faults.in_injected_seconds([39, 40, 150, 250, 300, 20 * s, settled, settled + 1]) == [40, 150, 300, 20 * s,
                                                                                                settled]
    faults._heard = dict.fromkeys([40, 150, 290, 305])   # the restarted driver sent nothing before the run's end
    assert faults.restarts_ns() == [(300, None)]
    assert faults.in_injected_seconds([290, 300, 10**6 * s]) == [300, 10**6 * s]


def test_a_killed_driver_is_gone_when_the_restart_fault_returns():
    """The soak looks at the graph's processes right after the fault: a killed driver still there (not yet reaped)
    would be sampled in its successor's place until the next fault."""
    import subprocess

    import psutil

    from presstrack_bringup.soak import FaultInjector

    child = subprocess.Popen(["sleep", "60"])
    driver = psutil.Process(child.pid)

    class OneDriverGraph:
        def node_processes(self):
            return {"mat_driver": driver}

    faults = FaultInjector.__new__(FaultInjector)
    faults._graph = OneDriverGraph()
    faults.injected = [{"kind": "bad_mat_info"}, {"kind": "noise_burst"}]   # the driver restart is next
    try:
        faults.inject(sampler=None)
        assert faults.injected[-1]["kind"] == "driver_restart"
        assert not driver.is_running() and not psutil.pid_exists(child.pid)
    finally:
        child.kill()
        child.wait()


def test_the_soak_report_says_how_long_each_driver_restart_kept_the_frames_away():
    from presstrack_bringup.soak import FAULT_SETTLE_S, restart_outages_sentence

    assert restart_outages_sentence([]) == ""
    sentence = restart_outages_sentence([37.04, None])
    assert "37.0 s, none before the end" in sentence and f"until {FAULT_SETTLE_S:g} s after" in sentence


def test_the_stamps_of_the_id_switches_are_those_the_score_counts():
    import numpy as np

    from presstrack_bringup.live_score import id_switch_stamps, summarise

    box = lambda x: np.array([x, 10.0, x + 20.0, 40.0])  # noqa: E731
    s = 1_000_000_000
    truth = {t * s: {1: box(t), 2: box(60 + t)} for t in range(6)}
    # Person 1 is track 7, then 9 from 3 s on; person 2 is track 8 throughout (a miss at 4 s is no switch).
    tracked = {t * s: {7 if t < 3 else 9: box(t)} | ({8: box(60 + t)} if t != 4 else {}) for t in range(6)}
    assert id_switch_stamps(truth, tracked) == [3 * s]
    assert summarise(truth, truth, tracked, {}, {}, []).id_switches == 1
    assert id_switch_stamps({}, {}) == []


def test_the_soak_plays_one_simulated_scene_for_the_whole_run_unless_told():
    from presstrack_bringup.graph import plan_graph
    from presstrack_bringup.soak import scene_sets

    # The simulator's next episode is a new crowd under new ids: the soak's scene must outlast the run.
    plan = plan_graph({"source": "sim"}, scene_sets(400.0))
    assert plan.parameters["mat_driver"]["episode_s"] == 400.0
    assert plan_graph({"source": "sim"}, scene_sets(400.0, ["mat_driver.episode_s=60.0"])).parameters[
        "mat_driver"]["episode_s"] == 60.0
