#!/usr/bin/env python3
"""Classify the tracker's box errors per scene and person (a measurement aid, not a tuning aid).

Usage: diag.py OUT [--mode ours]   (OUT = the folder score.sh wrote)
For every ground-truth box that no output box matches at IoU >= 0.5 (Hungarian per frame):
  missed  - no output box overlaps it at all
  split   - two or more output boxes overlap it (e.g. one box per foot)
  merged  - the overlapping output box also overlaps another person's box
  size    - one output box overlaps it only, but IoU < 0.5 (box too big / too small / shifted)
Also prints the frames where one id labels two boxes, and how often the tracker's box count differs
from the number of people present.
"""
import argparse
import json
import os
import sys
from collections import defaultdict

import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from score import iou_dist, lowest_free_reference, read_tracks  # noqa: E402


def overlap(a, b):
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mode", default="ours")
    args = ap.parse_args()
    metas = json.load(open(os.path.join(args.out, "scenes", "scenes.json")))
    for m in metas:
        B = np.load(os.path.join(args.out, "scenes", m["name"] + ".npz"))["box"]
        T, N = B.shape[:2]
        H = defaultdict(list)
        for fr, i, l, t, w, h in read_tracks(os.path.join(args.out, "tracks", f"{m['name']}.{args.mode}.txt")):
            H[fr - 1].append((i, l, t, l + w, t + h))
        kinds = np.zeros((N, 4), int)
        count_diff = 0
        dup = []
        for k in range(T):
            g = [j for j in range(N) if B[k, j].any()]
            hs = H[k]
            if len(hs) != len(g):
                count_diff += 1
            if len({h[0] for h in hs}) < len(hs):
                dup.append(k + 1)
            gb = np.array([[B[k, j, 0], B[k, j, 1], B[k, j, 2] - B[k, j, 0], B[k, j, 3] - B[k, j, 1]] for j in g]).reshape(-1, 4)
            hb = np.array([[h[1], h[2], h[3] - h[1], h[4] - h[2]] for h in hs]).reshape(-1, 4)
            D = iou_dist(gb, hb)
            matched = set()
            if D.size:
                Dm = np.where(np.isnan(D), 9.0, D)
                r, c = linear_sum_assignment(Dm)
                matched = {a for a, b in zip(r, c) if Dm[a, b] <= 0.5}
            for a, j in enumerate(g):
                if a in matched:
                    continue
                ov = [h for h in hs if overlap(B[k, j], h[1:]) > 0]
                if not ov:
                    kinds[j, 0] += 1
                elif len(ov) >= 2:
                    kinds[j, 1] += 1
                elif any(overlap(B[k, o], ov[0][1:]) > 0 for o in g if o != j):
                    kinds[j, 2] += 1
                else:
                    kinds[j, 3] += 1
        print(f"{m['name']} ({args.mode}): frames where the box count != people present: {count_diff}/{T}; "
              f"dup-id frames: {len(dup)}" + (f" (first {dup[:5]})" if dup else ""))
        for j, p in enumerate(m["people"]):
            if kinds[j].sum():
                print(f"   {p['name']:10s} {p['weight']:5.0f} kg {'shoes' if p['shoe'] else p['arch'] + ' arch':12s} "
                      f"unmatched GT boxes: missed {kinds[j, 0]}, split {kinds[j, 1]}, merged {kinds[j, 2]}, size {kinds[j, 3]}")
        ref = lowest_free_reference(B, m["fps"])
        if ref[3]:
            print(f"   chance reference (lowest free id, perfect boxes): returns same {ref[0]} / other's {ref[1]} / new {ref[2]} of {ref[3]}")




if __name__ == "__main__":
    main()
