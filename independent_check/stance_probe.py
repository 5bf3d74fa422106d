#!/usr/bin/env python3
"""Per-stance split report for s09_stance_probe. Usage: stance_probe.py OUT [--mode ours]"""
import math
import os
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402
from score import read_tracks  # noqa: E402

out = sys.argv[1]
mode = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--mode" else "ours"
names = [n for n, _ in gen.SCENES]
si = names.index("s09_stance_probe")
spec, people = gen.SCENES[si][1](np.random.default_rng([gen.SEED, si]))
B = np.load(os.path.join(out, "scenes", "s09_stance_probe.npz"))["box"]
fps = spec["fps"]
H = defaultdict(list)
for fr, i, l, t, w, h in read_tracks(os.path.join(out, "tracks", f"s09_stance_probe.{mode}.txt")):
    H[fr - 1].append((i, l, t, l + w, t + h))
print("| person | stance width (m) | facing (deg to long axis) | frames with 2+ boxes on the person | ids |")
print("|---|---|---|---|---|")
for j, p in enumerate(people):
    st = sorted((c for c in p.contacts if c["t_off"] - c["t_on"] > 3.5), key=lambda c: c["t_on"])
    for a, b in zip(st[0::2], st[1::2]):
        t0, t1 = max(a["t_on"], b["t_on"]) + 0.3, min(a["t_off"], b["t_off"]) - 0.3
        ks = range(int(t0 * fps), int(t1 * fps))
        n2, ids = 0, set()
        for k in ks:
            g = B[k, j]
            ov = [h for h in H[k] if min(h[3], g[2]) > max(h[1], g[0]) and min(h[4], g[3]) > max(h[2], g[1])]
            ids |= {h[0] for h in ov}
            n2 += len(ov) >= 2
        print(f"| {p.name} | {math.hypot(a['x'] - b['x'], a['y'] - b['y']):.2f} | {round(math.degrees(a['th']))} | "
              f"{n2}/{len(ks)} | {len(ids)} |")
