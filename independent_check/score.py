#!/usr/bin/env python3
"""Score presstrack-track (ours and --baseline) on the independent scenes.

Usage: score.py VENV_BIN SCENE_DIR OUT_DIR [--jobs 2]
Writes OUT_DIR/tracks/<scene>.<mode>.txt, OUT_DIR/results.json and OUT_DIR/results.md.
Matching: IoU >= 0.5 (motmetrics), boxes in cells, x2/y2 exclusive (width = x2 - x1).
"""
import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import motmetrics as mm


def run_tracker(venv_bin, scene, out, baseline):
    cmd = ["nice", "-n", "10", os.path.join(venv_bin, "presstrack-track"), scene, "--out", out]
    if baseline:
        cmd.append("--baseline")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        rc, err = p.returncode, p.stderr.strip()
    except subprocess.TimeoutExpired:
        rc, err = -9, "timeout 600 s"
    return rc, err, time.time() - t0


def read_tracks(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                v = line.split(",")
                rows.append((int(float(v[0])), int(float(v[1])), float(v[2]), float(v[3]), float(v[4]), float(v[5])))
    return rows


def iou_dist(a, b, max_d=0.5):
    """1 - IoU for xywh boxes, NaN where IoU < 0.5 (as motmetrics.distances.iou_matrix, which needs
    np.asfarray, gone in NumPy 2)."""
    if len(a) == 0 or len(b) == 0:
        return np.empty((len(a), len(b)))
    a = np.asarray(a, float)[:, None, :]
    b = np.asarray(b, float)[None, :, :]
    iw = np.clip(np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    d = 1 - inter / np.maximum(union, 1e-9)
    d[d > max_d] = np.nan
    return d


def visits_of(present, gap_frames):
    """Runs of presence; gaps of at most gap_frames frames are merged into one visit."""
    idx = np.flatnonzero(present)
    if len(idx) == 0:
        return []
    runs = []
    start = prev = idx[0]
    for i in idx[1:]:
        if i - prev > gap_frames + 1:
            runs.append((start, prev))
            start = i
        prev = i
    runs.append((start, prev))
    return runs


def score(scene_path, tracks_path, fps, names):
    box = np.load(scene_path)["box"]
    T, N = box.shape[:2]
    present = np.abs(box).sum(-1) > 0
    by_frame = {}
    for fr, tid, l, t, w, h in read_tracks(tracks_path):
        by_frame.setdefault(fr, []).append((tid, l, t, w, h))
    acc = mm.MOTAccumulator(auto_id=False)
    for k in range(T):
        gids = [j for j in range(N) if present[k, j]]
        g = np.array([[box[k, j, 0], box[k, j, 1], box[k, j, 2] - box[k, j, 0], box[k, j, 3] - box[k, j, 1]]
                      for j in gids]).reshape(-1, 4)
        hs = by_frame.get(k + 1, [])
        hids = [h[0] for h in hs]
        hb = np.array([h[1:] for h in hs]).reshape(-1, 4)
        d = iou_dist(g, hb)
        acc.update(gids, hids, d, frameid=k + 1)
    mh = mm.metrics.create()
    s = mh.compute(acc, metrics=["mota", "motp", "idf1", "num_switches", "num_false_positives", "num_misses",
                                 "precision", "recall", "num_objects"], name="x")
    ev = acc.mot_events
    matched = ev[ev.Type.isin(["MATCH", "SWITCH", "TRANSFER", "ASCEND", "MIGRATE"])]
    # identity on return: the id used for most of each visit, compared with the ids used before
    majors = []     # (start frame, person, majority id or None)
    vis_of = {}
    for j in range(N):
        vis_of[j] = visits_of(present[:, j], int(round(fps)))
        m = matched[matched.OId == j]
        frames = m.index.get_level_values(0).to_numpy()
        hid = m.HId.to_numpy()
        for a, b in vis_of[j]:
            sel = (frames >= a + 1) & (frames <= b + 1)
            vals, cnt = np.unique(hid[sel], return_counts=True) if sel.any() else ([], [])
            majors.append((a, j, int(vals[np.argmax(cnt)]) if len(vals) else None))
    majors.sort()
    returns = {j: dict(same=0, other=0, new=0, none=0) for j in range(N)}
    owner = {}      # track id -> the person whose visit first used it (as its majority id)
    seen = set()
    for a, j, h in majors:
        if j in seen:                      # a return (not the person's first visit)
            if h is None:
                returns[j]["none"] += 1
            elif h not in owner:
                returns[j]["new"] += 1
            elif owner[h] == j:
                returns[j]["same"] += 1
            else:
                returns[j]["other"] += 1
        seen.add(j)
        if h is not None and h not in owner:
            owner[h] = j
    per_person = []
    for j in range(N):
        vis = visits_of(present[:, j], int(round(fps)))
        m = matched[matched.OId == j]
        frames = m.index.get_level_values(0).to_numpy()
        hid = m.HId.to_numpy()
        ids = sorted(set(int(h) for h in hid))
        per_visit = []
        for a, b in vis:
            sel = (frames >= a + 1) & (frames <= b + 1)
            per_visit.append(len(set(hid[sel].tolist())))
        # does any track id cover two or more visits of this person?
        carried = 0
        for i in ids:
            n = sum(1 for a, b in vis if np.any((frames >= a + 1) & (frames <= b + 1) & (hid == i)))
            carried = max(carried, n)
        per_person.append(dict(name=names[j] if j < len(names) else str(j), visits=len(vis), ids=len(ids),
                               max_ids_in_a_visit=max(per_visit) if per_visit else 0,
                               most_visits_one_id=carried,
                               matched_frac=round(len(m) / max(1, int(present[:, j].sum())), 3),
                               returns=returns[j]))
    all_ids = {h[0] for v in by_frame.values() for h in v}
    # frames where one track id is written for two or more boxes (an output defect; scored as is)
    dup_frames = sum(1 for v in by_frame.values() if len({h[0] for h in v}) < len(v))
    return dict(mota=float(s["mota"].iloc[0]), motp_iou=float(1 - s["motp"].iloc[0]) if not np.isnan(s["motp"].iloc[0]) else None,
                idf1=float(s["idf1"].iloc[0]), switches=int(s["num_switches"].iloc[0]),
                fp=int(s["num_false_positives"].iloc[0]), fn=int(s["num_misses"].iloc[0]),
                gt_boxes=int(s["num_objects"].iloc[0]), track_ids=len(all_ids), dup_id_frames=dup_frames, people=per_person)


def lowest_free_reference(box, fps):
    """Chance reference for the 'returns' column: every visit takes the lowest id not in use at its start
    (perfect boxes, no re-identification). Returns (same, other's, new, returns)."""
    present = np.abs(box).sum(-1) > 0
    vis = sorted((a, b, j) for j in range(box.shape[1]) for a, b in visits_of(present[:, j], int(round(fps))))
    live, owner, seen, out = {}, {}, set(), [0, 0, 0, 0]
    for a, b, j in vis:
        live = {i: e for i, e in live.items() if e >= a}
        i = 0
        while i in live:
            i += 1
        live[i] = b
        if j in seen:
            out[3] += 1
            out[2 if i not in owner else 0 if owner[i] == j else 1] += 1
        seen.add(j)
        owner.setdefault(i, j)
    return tuple(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("venv_bin")
    ap.add_argument("scene_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    metas = json.load(open(os.path.join(args.scene_dir, "scenes.json")))
    os.makedirs(os.path.join(args.out_dir, "tracks"), exist_ok=True)
    jobs = [(m, mode) for m in metas for mode in ("ours", "baseline")]
    # longest scenes first so that two workers finish together
    jobs.sort(key=lambda j: -j[0]["frames"] * j[0]["rows"] * j[0]["cols"])

    def work(job):
        m, mode = job
        scene = os.path.join(args.scene_dir, m["name"] + ".npz")
        out = os.path.join(args.out_dir, "tracks", f"{m['name']}.{mode}.txt")
        rc, err, wall = run_tracker(args.venv_bin, scene, out, mode == "baseline")
        res = dict(scene=m["name"], mode=mode, rc=rc, stderr=err[-300:], wall_s=round(wall, 1))
        if rc == 0:
            res.update(score(scene, out, m["fps"], [p["name"] for p in m["people"]]))
        print(f"{m['name']:22s} {mode:8s} rc={rc} {wall:6.1f}s "
              + (f"MOTA {res['mota']:.3f} IDF1 {res['idf1']:.3f} sw {res['switches']} ids {res['track_ids']}"
                 if rc == 0 else err[-200:]), file=sys.stderr, flush=True)
        return res

    with ThreadPoolExecutor(args.jobs) as ex:
        results = list(ex.map(work, jobs))
    order = {m["name"]: i for i, m in enumerate(metas)}
    results.sort(key=lambda r: (order[r["scene"]], r["mode"] != "ours"))
    json.dump(dict(venv_bin=args.venv_bin, scenes=metas, results=results),
              open(os.path.join(args.out_dir, "results.json"), "w"), indent=1)

    lines = ["| scene | tracker | MOTA | IDF1 | id sw | track ids | FP / FN (GT boxes) | dup-id frames | ids per person / visits | returns: same / other's / new id | s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r["rc"] != 0:
            lines.append(f"| {r['scene']} | {r['mode']} | failed rc={r['rc']}: {r['stderr'][:80]} | | | | | | | | {r['wall_s']} |")
            continue
        pp = ", ".join(f"{p['name']} {p['ids']}/{p['visits']}" for p in r["people"])
        rt = [p["returns"] for p in r["people"]]
        nret = sum(sum(x.values()) for x in rt)
        ret = (f"{sum(x['same'] for x in rt)} / {sum(x['other'] for x in rt)} / {sum(x['new'] for x in rt)} of {nret}"
               if nret else "-")
        lines.append(f"| {r['scene']} | {r['mode']} | {100 * r['mota']:.1f} | {100 * r['idf1']:.1f} | {r['switches']} | "
                     f"{r['track_ids']} | {r['fp']} / {r['fn']} ({r['gt_boxes']}) | {r['dup_id_frames']} | {pp} | {ret} | {r['wall_s']} |")
    lines.append("")
    lines.append("MOTA / IDF1 in %, IoU >= 0.5. 'ids per person / visits': distinct track ids matched to that person over "
                 "the scene / their visits to the mat (presence runs, gaps up to 1 s merged); 1/N = one id kept over all "
                 "N visits. 'dup-id frames': frames where the tracker wrote one id on two or more boxes. 'returns': for every visit after "
                 "a person's first, the id used for most of the visit is owned by that person (its first use was for one of "
                 "their visits) / owned by another person / never used before (unmatched visits not counted as any). s = tracker wall time.")
    lines.append("")
    lines.append("Chance reference for 'returns' (perfect boxes, every visit takes the lowest id not in use, no "
                 "re-identification): " + "; ".join(
                     f"{m['name']} {r[0]} / {r[1]} / {r[2]} of {r[3]}" for m in metas
                     for r in [lowest_free_reference(np.load(os.path.join(args.scene_dir, m['name'] + '.npz'))['box'], m['fps'])]
                     if r[3]) + ".")
    lines.append("")
    lines.append("Scenes:")
    for m in metas:
        unit = ("kPa + unit key" if m["store"] == "kpa" else
                f"raw units (kPa/{m['raw_scale']:g}), no unit key" if m["store"] == "raw" else
                f"counts, pressure_scale_kpa={m['raw_scale']:g}")
        lines.append(f"- `{m['name']}`: {m['desc']}. {m['rows']}x{m['cols']} cells at {100 * m['pitch']:g} cm, "
                     f"{m['fps']:g} Hz, {m['frames']} frames, noise {m['noise']} kPa, threshold {m['threshold']} kPa, {unit}.")
    open(os.path.join(args.out_dir, "results.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
