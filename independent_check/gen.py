#!/usr/bin/env python3
"""Independent scene generator for PressTrack (written apart from the project's own simulator).

Physical model, in short:
  * Each person has a body weight (kg), a foot length L, barefoot (heel / midfoot / ball / toe pads,
    arch type normal / flat / high -> no midfoot contact) or shoes (sole outline, smoother pressure).
  * Motion is a list of foot CONTACTS (foot, x, y, heading, t_on, t_off).  Walking: step time
    Ts = 1/cadence, each stance lasts Ts + ds with ds = 0.2 Ts of double support; a contact starts
    with a heel strike (heel only, forefoot rolls down), is flat in the middle, and ends with a
    push-off (heel rises, ball and toes last).  Standing = long flat contacts of both feet with a
    slow weight shift between them.  Turning = shorter steps with a heading change; turning on the
    spot; side steps land flat without a heel strike.
  * Force: at every instant the person's weight W*g (x a small gait oscillation) is shared between
    the person's active contacts by their load weights (ramps over the double-support time and the
    weight shift); each contact's force is spread over its rendered contact area, so kPa = N / m^2 / 1000.
  * Sensor: cell pitch 1 or 2 cm, area-averaged (3x3 sub-samples per cell), per-cell gain +-5 %,
    Gaussian noise, saturation, a sensing threshold (below -> 0), a few dead and hot cells; values
    stored in kPa (pressure_unit='kPa'), or in raw counts with pressure_scale_kpa, or raw counts
    with no unit key at all.
  * Ground truth 'box' (T, people, 4) = x1, y1, x2, y2 (x = column, y = row, x2/y2 exclusive: max
    cell + 1) around the cells where THAT person's own noise-free pressure is above the threshold
    (and the cell is on the mat); all-zero row = person absent.

Usage: gen.py OUTDIR [--only NAME ...] [--seed 20261207]
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

G = 9.81
SEED = 20261207


# ----------------------------------------------------------------------------------------------
# Foot shapes (foot-local coordinates: u from heel (0) to toe (L), v lateral, +v = outer side)
# region: (group, cu, cv, au, av, peak, exponent) all lengths in units of L
def foot_regions(shoe, arch):
    if shoe:
        return [
            ("heel", 0.15, 0.00, 0.17, 0.16, 1.0, 0.35),
            ("mid", 0.42, 0.03, 0.20, 0.12, 0.35 if arch != "high" else 0.15, 0.35),
            ("ball", 0.70, 0.00, 0.21, 0.21, 1.0, 0.35),
            ("toes", 0.93, -0.02, 0.11, 0.16, 0.6, 0.35),
            ("heel", 0.14, 0.00, 0.08, 0.08, 0.5, 1.0),   # smooth bumps under heel and ball
            ("ball", 0.70, -0.03, 0.10, 0.12, 0.4, 1.0),
        ]
    regs = [
        ("heel", 0.12, 0.00, 0.11, 0.12, 1.0, 0.6),
        ("ball", 0.70, 0.00, 0.09, 0.19, 0.9, 0.6),
        ("toes", 0.91, -0.11, 0.055, 0.055, 0.7, 0.6),   # hallux
    ]
    for k in range(4):   # small toes
        regs.append(("toes", 0.88 - 0.025 * k, -0.02 + 0.05 * k, 0.032, 0.028, 0.35, 0.6))
    if arch == "normal":
        regs.append(("mid", 0.42, 0.10, 0.17, 0.055, 0.3, 0.6))
    elif arch == "flat":
        regs.append(("mid", 0.42, 0.04, 0.18, 0.12, 0.45, 0.6))
    return regs


class Person:
    def __init__(self, name, weight, foot_len, shoe=False, arch="normal", step_len=0.65,
                 cadence=1.8, step_width=0.12, shift_amp=0.25, shift_period=4.0):
        self.name, self.weight, self.L, self.shoe, self.arch = name, weight, foot_len, shoe, arch
        self.step_len, self.cadence, self.step_width = step_len, cadence, step_width
        self.shift_amp, self.shift_period = shift_amp, shift_period
        self.regions = foot_regions(shoe, arch)
        self.contacts = []        # dicts
        self.track = []           # (t, x, y) body centre samples
        self.feet = None          # current poses {'L': [x,y,th], 'R': ...}
        self.open = {}            # foot -> open contact
        self.t = 0.0
        self.last_land = -1e9

    # --- timeline building ------------------------------------------------------------------
    @property
    def Ts(self):
        return 1.0 / self.cadence

    def centre(self):
        return (np.array(self.feet["L"][:2]) + np.array(self.feet["R"][:2])) / 2

    def heading(self):
        return self.feet["L"][2]

    def _open(self, foot, pose, t_on, kind):
        c = dict(foot=foot, x=pose[0], y=pose[1], th=pose[2], t_on=t_on, t_off=None, kind=kind,
                 ds=0.2 * self.Ts, id=len(self.contacts))
        self.contacts.append(c)
        self.open[foot] = c

    def appear(self, t, x, y, th):
        """Both feet down at (x, y) heading th, from time t (usually off the mat)."""
        self.t = t
        n = np.array([-math.sin(th), math.cos(th)])
        hw = self.step_width / 2
        self.feet = {"L": [x + n[0] * hw, y + n[1] * hw, th], "R": [x - n[0] * hw, y - n[1] * hw, th]}
        for f in "LR":
            self._open(f, self.feet[f], t, "stand")
        self.last_land = t
        self.next_foot = "L"
        self.track.append((t, x, y))

    def vanish(self):
        for f, c in self.open.items():
            c["t_off"] = self.t
        self.open = {}
        self.track.append((self.t, np.nan, np.nan))

    def step(self, foot, pose, kind="walk", Ts=None):
        Ts = Ts or self.Ts
        ds = 0.2 * Ts
        lift = max(self.t, self.last_land + ds)
        land = lift + (Ts - ds)
        self.open[foot]["t_off"] = lift
        self.feet[foot] = list(pose)
        self._open(foot, pose, land, kind)
        self.open[foot]["ds"] = ds
        self.t = land
        self.last_land = land
        self.next_foot = "R" if foot == "L" else "L"
        c = self.centre()
        self.track.append((land, c[0], c[1]))

    def _foot_pose(self, foot, cx, cy, th):
        n = np.array([-math.sin(th), math.cos(th)])
        s = 1 if foot == "L" else -1
        return [cx + s * n[0] * self.step_width / 2, cy + s * n[1] * self.step_width / 2, th]

    def walk_to(self, tx, ty, step_len=None, max_turn=math.radians(45)):
        step_len = step_len or self.step_len
        c = self.centre()
        th = self.heading()
        for _ in range(200):
            d = np.array([tx, ty]) - c
            dist = np.hypot(*d)
            if dist < 0.25 * step_len:
                break
            want = math.atan2(d[1], d[0])
            diff = (want - th + math.pi) % (2 * math.pi) - math.pi
            turn = float(np.clip(diff, -max_turn, max_turn))
            th += turn
            sl = min(dist, step_len * max(0.3, math.cos(min(abs(diff), math.pi / 2)) ** 0.7))
            # the body (and the moving foot) advance one step length per step
            c = c + sl * np.array([math.cos(th), math.sin(th)]) * (1 if abs(diff) < 1.2 else 0.5)
            foot = self.next_foot
            self.step(foot, self._foot_pose(foot, c[0], c[1], th))
        # bring the trailing foot alongside
        foot = self.next_foot
        self.step(foot, self._foot_pose(foot, c[0], c[1], th))
        self.feet_align = True

    def turn_on_spot(self, angle, per_step=math.radians(50)):
        c = self.centre()
        th = self.heading()
        n = max(2, int(math.ceil(abs(angle) / per_step)))
        for k in range(n):
            th_k = th + angle * (k + 1) / n
            foot = self.next_foot
            self.step(foot, self._foot_pose(foot, c[0], c[1], th_k), kind="walk", Ts=self.Ts * 1.2)
        foot = self.next_foot
        self.step(foot, self._foot_pose(foot, c[0], c[1], th + angle), kind="walk", Ts=self.Ts * 1.2)

    def side_step(self, dist, n_steps=None):
        """Move sideways by dist (m, + = to the person's left) with the heading unchanged."""
        th = self.heading()
        nvec = np.array([-math.sin(th), math.cos(th)])
        n_steps = n_steps or max(1, int(round(abs(dist) / 0.3)))
        lead = "L" if dist > 0 else "R"
        trail = "R" if lead == "L" else "L"
        c = self.centre()
        for k in range(n_steps):
            c = c + nvec * dist / n_steps
            for f in (lead, trail):
                self.step(f, self._foot_pose(f, c[0], c[1], th), kind="side", Ts=self.Ts * 1.3)

    def set_stance(self, width, heading):
        """Two steps that put the feet width apart (centre to centre) facing heading, around the body centre."""
        c = self.centre()
        keep = self.step_width
        self.step_width = width
        for _ in range(2):
            foot = self.next_foot
            self.step(foot, self._foot_pose(foot, c[0], c[1], heading), kind="walk", Ts=self.Ts * 1.2)
        self.step_width = keep

    def stand(self, duration):
        self.t += duration
        c = self.centre()
        self.track.append((self.t, c[0], c[1]))

    def finish(self, t_end):
        for f, c in self.open.items():
            c["t_off"] = max(t_end, self.t) + 1.0
        self.open = {}

    # --- physics at time t ------------------------------------------------------------------
    def active(self, t):
        out = []
        for c in self.contacts:
            if c["t_on"] <= t < (c["t_off"] if c["t_off"] is not None else 1e9):
                out.append(c)
        return out

    def loads(self, t, acts):
        """Force (N) per active contact and the region activations."""
        ws, actv = [], []
        for c in acts:
            t1, t2 = t - c["t_on"], c["t_off"] - t
            dur = c["t_off"] - c["t_on"]
            ds = c["ds"]
            w = _smooth(t1 / ds) * _smooth(t2 / ds)
            w = max(w, 0.02)
            if c["kind"] == "stand" or dur > 2.5 * self.Ts:
                sgn = 1 if c["foot"] == "L" else -1
                w *= 1 + sgn * self.shift_amp * math.sin(2 * math.pi * t / self.shift_period + self._phase)
            ws.append(w)
            # region activation
            a = {"heel": 1.0, "mid": 1.0, "ball": 1.0, "toes": 1.0}
            if c["kind"] == "walk":
                hs = min(0.12, 0.15 * dur)
                if t1 < hs:      # heel strike: forefoot still in the air
                    r = t1 / hs
                    a["mid"] = r * r
                    a["ball"] = r * r
                    a["toes"] = r ** 3
                po = min(0.25, 0.35 * dur)
                if t2 < po:      # push-off: heel rises, load on ball and toes
                    r = t2 / po
                    a["heel"] *= r * r
                    a["mid"] *= r
                    a["ball"] *= min(1.0, 3 * r) * (1.0 + 0.3 * (1 - r))
                    a["toes"] *= 1.0 + 0.8 * (1 - r)
            elif c["kind"] == "side":
                hs = min(0.1, 0.15 * dur)
                if t1 < hs:
                    r = t1 / hs
                    a = {k: max(0.05, r) for k in a}
            actv.append(a)
        ws = np.array(ws)
        total = self.weight * G * (1 + 0.08 * math.sin(2 * math.pi * self.cadence * t))
        return total * ws / ws.sum(), actv

    _phase = 0.0


def _smooth(x):
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


# ----------------------------------------------------------------------------------------------
class Renderer:
    """Area-averaged contact intensity of one foot on the cell grid, then scaled to force."""

    def __init__(self, pitch, ss=3):
        self.p, self.ss = pitch, ss
        self.cache = {}

    def intensity(self, person, c, act):
        key = (id(person), c["id"], tuple(round(act[k], 1) for k in ("heel", "mid", "ball", "toes")))
        if key in self.cache:
            return self.cache[key]
        p, ss, L = self.p, self.ss, person.L
        rad = 0.62 * L * (1.08 if person.shoe else 1.0)
        c0 = int(math.floor((c["x"] - rad) / p)) - 1
        c1 = int(math.ceil((c["x"] + rad) / p)) + 1
        r0 = int(math.floor((c["y"] - rad) / p)) - 1
        r1 = int(math.ceil((c["y"] + rad) / p)) + 1
        sub = (np.arange(ss) + 0.5) / ss
        xs = (np.arange(c0, c1)[:, None] + sub[None, :]).ravel() * p
        ys = (np.arange(r0, r1)[:, None] + sub[None, :]).ravel() * p
        X, Y = np.meshgrid(xs, ys)          # (rows*ss, cols*ss)
        dx, dy = X - c["x"], Y - c["y"]
        th = c["th"]
        h = (math.cos(th), math.sin(th))
        n = (-math.sin(th), math.cos(th))
        scale = L * (1.06 if person.shoe else 1.0)
        u = (dx * h[0] + dy * h[1]) / scale + 0.5
        v = (dx * n[0] + dy * n[1]) / scale
        if c["foot"] == "L":
            v = -v                           # +v = lateral side on both feet
        I = np.zeros_like(u)
        for grp, cu, cv, au, av, peak, ex in person.regions:
            a = act[grp]
            if a <= 0.01:
                continue
            q = 1 - ((u - cu) / au) ** 2 - ((v - cv) / av) ** 2
            m = q > 0
            if m.any():
                I[m] += a * peak * q[m] ** ex
        I = I.reshape(r1 - r0, ss, c1 - c0, ss).mean(axis=(1, 3))
        out = (r0, c0, I, I.sum())
        if len(self.cache) > 20000:
            self.cache.clear()
        self.cache[key] = out
        return out


def build_scene(name, spec, people, rng, outdir):
    """Render people's contact timelines into a sensor recording and write OUTDIR/name.npz."""
    pitch, fps, dur = spec["pitch"], spec["fps"], spec["duration"]
    rows, cols = int(round(spec["mat"][0] / pitch)), int(round(spec["mat"][1] / pitch))
    T = int(round(dur * fps))
    thr, sigma = spec["threshold"], spec["noise"]
    sat = spec.get("saturation", 450.0)
    rend = Renderer(pitch)
    area = pitch * pitch
    P = np.zeros((T, rows, cols), np.float32)
    boxes = np.zeros((T, len(people), 4), np.float32)
    gain = (1 + 0.05 * rng.standard_normal((rows, cols))).astype(np.float32)
    cells = rng.choice(rows * cols, spec.get("dead", 3) + spec.get("hot", 2), replace=False)
    dead = cells[: spec.get("dead", 3)]
    hot = cells[spec.get("dead", 3):]
    hot_val = rng.uniform(15, 60, len(hot))
    for pi, per in enumerate(people):
        per._phase = rng.uniform(0, 2 * math.pi)
    for k in range(T):
        t = k / fps
        frame = np.zeros((rows, cols), np.float32)
        for pi, per in enumerate(people):
            acts = per.active(t)
            if not acts:
                continue
            forces, actv = per.loads(t, acts)
            mine = np.zeros((rows, cols), np.float32)
            for c, F, a in zip(acts, forces, actv):
                r0, c0, I, S = rend.intensity(per, c, a)
                if S <= 0:
                    continue
                kpa = I * (F / (S * area) / 1000.0)
                # clip the window to the mat
                rr0, cc0 = max(r0, 0), max(c0, 0)
                rr1, cc1 = min(r0 + I.shape[0], rows), min(c0 + I.shape[1], cols)
                if rr0 >= rr1 or cc0 >= cc1:
                    continue
                mine[rr0:rr1, cc0:cc1] += kpa[rr0 - r0:rr1 - r0, cc0 - c0:cc1 - c0]
            on = np.argwhere(mine > thr)
            if len(on):
                (ra, ca), (rb, cb) = on.min(0), on.max(0)
                boxes[k, pi] = (ca, ra, cb + 1, rb + 1)
            frame += mine
        meas = frame * gain + sigma * rng.standard_normal((rows, cols)).astype(np.float32)
        meas = np.clip(meas, 0, sat)
        meas[meas < thr] = 0
        meas.flat[dead] = 0
        meas.flat[hot] = hot_val * (1 + 0.1 * rng.standard_normal(len(hot)))
        P[k] = meas
    out = dict(box=boxes, fps=np.float32(fps), cell_pitch=np.float32(pitch))
    store = spec.get("store", "kpa")
    if store == "kpa":
        out["pressure"] = P
        out["pressure_unit"] = np.array("kPa")
    else:
        scale = spec["raw_scale"]    # kPa per count
        if store == "raw_scale":      # integer ADC counts with their scale key
            counts = np.round(P / scale)
            out["pressure"] = counts.astype(np.uint16 if counts.max() < 65535 else np.int32)
            out["pressure_scale_kpa"] = np.float32(scale)
        else:                         # raw units (float), no unit key at all
            out["pressure"] = (P / scale).astype(np.float32)
    np.savez_compressed(os.path.join(outdir, name + ".npz"), **out)
    meta = dict(name=name, rows=rows, cols=cols, frames=T, fps=fps, pitch=pitch, threshold=thr,
                noise=sigma, store=store, raw_scale=spec.get("raw_scale"),
                people=[dict(name=p.name, weight=p.weight, foot_len=p.L, shoe=p.shoe, arch=p.arch)
                        for p in people],
                peak_kpa=float(P.max()), desc=spec.get("desc", ""))
    return meta


# ----------------------------------------------------------------------------------------------
# Scene scripts
def back_and_forth(per, mat, y_lines, t0, t_end, margin=0.25):
    """Walk along the long axis (rows = y) between the ends, turning near the edge."""
    H = mat[0]
    x = y_lines
    per.appear(t0, x, margin, math.pi / 2)
    go_far = True
    while per.t < t_end:
        ty = H - margin if go_far else margin
        per.walk_to(x, ty)
        per.turn_on_spot(math.pi if go_far else -math.pi)
        go_far = not go_far
    per.finish(t_end)


def scene_single(rng):
    mat = (2.4, 1.2)
    p = Person("walker", 72, 0.26, shoe=False, arch="normal", step_len=0.65, cadence=1.8)
    back_and_forth(p, mat, 0.6, 0.0, 30)
    spec = dict(mat=mat, pitch=0.01, fps=15, duration=30, threshold=2.1, noise=0.6, store="kpa",
                desc="one barefoot walker (72 kg) back and forth along a 2.4 x 1.2 m mat, turning on the spot near each end")
    return spec, [p]


def scene_cross(rng):
    mat = (2.4, 1.2)
    a = Person("A", 80, 0.27, shoe=True, step_len=0.7, cadence=1.8)
    b = Person("B", 58, 0.24, shoe=False, arch="high", step_len=0.6, cadence=1.9)
    # opposite directions on lines 0.3 m apart; they meet in the middle
    a.appear(0.0, 0.45, -0.35, math.pi / 2)
    b.appear(0.3, 0.75, 2.75, -math.pi / 2)
    for k in range(5):
        a.walk_to(0.45, 2.75 if k % 2 == 0 else -0.35)
        a.turn_on_spot(math.pi)
        a.stand(0.8)
        b.walk_to(0.75, -0.35 if k % 2 == 0 else 2.75)
        b.turn_on_spot(-math.pi)
        b.stand(0.8 + 0.3 * (k % 2))
        # resync so that they cross again in the middle
        t = max(a.t, b.t)
        a.stand(t - a.t)
        b.stand(t - b.t)
    a.finish(30)
    b.finish(30)
    spec = dict(mat=mat, pitch=0.01, fps=20, duration=30, threshold=2.8, noise=0.8, store="kpa",
                desc="two people (80 kg shoes, 58 kg barefoot high arch) crossing head-on on lines 0.3 m apart, from beyond the ends")
    return spec, [a, b]


def scene_side_by_side(rng):
    mat = (2.4, 1.2)
    a = Person("A", 66, 0.25, shoe=False, arch="normal", step_len=0.62, cadence=1.75)
    b = Person("B", 90, 0.28, shoe=True, step_len=0.64, cadence=1.72)
    a.appear(0.0, 0.4, -0.3, math.pi / 2)
    b.appear(0.0, 0.8, -0.3, math.pi / 2)
    for k in range(4):
        ty = 2.75 if k % 2 == 0 else -0.35
        a.walk_to(0.4, ty)
        b.walk_to(0.8, ty)
        t = max(a.t, b.t) + 0.5
        a.stand(t - a.t)
        b.stand(t - b.t)
        ang = math.pi
        a.turn_on_spot(ang)
        b.turn_on_spot(ang)
        t = max(a.t, b.t)
        a.stand(t - a.t)
        b.stand(t - b.t)
    a.finish(30)
    b.finish(30)
    spec = dict(mat=mat, pitch=0.01, fps=25, duration=30, threshold=2.0, noise=0.5, store="kpa",
                desc="two people walking side by side 0.4 m apart across the mat and back (turning off the mat)")
    return spec, [a, b]


def scene_stand_pass(rng):
    mat = (2.4, 1.2)
    s = Person("stander", 64, 0.245, shoe=True, shift_amp=0.35, shift_period=5.0)
    s.appear(0.0, 0.25, 1.2, 0.0)
    s.stand(35)
    s.finish(35)
    a = Person("passer1", 85, 0.28, shoe=True, step_len=0.72, cadence=1.85)
    b = Person("passer2", 52, 0.235, shoe=False, arch="flat", step_len=0.58, cadence=1.95)
    a.appear(1.0, 0.68, -0.4, math.pi / 2)
    b.appear(4.0, 1.0, 2.8, -math.pi / 2)
    for k in range(3):
        a.walk_to(0.68, 2.8 if k % 2 == 0 else -0.4)
        a.stand(rng.uniform(2, 5))
        a.turn_on_spot(math.pi)
        b.walk_to(1.0, -0.4 if k % 2 == 0 else 2.8)
        b.stand(rng.uniform(1, 4))
        b.turn_on_spot(math.pi)
    a.finish(35)
    b.finish(35)
    spec = dict(mat=mat, pitch=0.01, fps=30, duration=35, threshold=2.5, noise=0.7, store="kpa",
                desc="one person standing still (weight shifting) for the whole scene while two others walk past (0.43 and 0.75 m from them, 0.32 m from each other, opposite directions)")
    return spec, [s, a, b]


def scene_four(rng):
    mat = (3.0, 2.0)
    specs = [("P1", 55, 0.24, False, "normal"), ("P2", 75, 0.265, True, "normal"),
             ("P3", 98, 0.285, True, "flat"), ("P4", 62, 0.25, False, "high")]
    people = []
    starts = [(0.5, -0.3, math.pi / 2), (1.5, 3.3, -math.pi / 2), (-0.3, 1.5, 0.0), (2.3, 0.8, math.pi)]
    # lanes: each person works within one quadrant-ish region so that they do not collide
    regions = [((0.25, 0.9), (0.3, 1.4)), ((1.1, 1.75), (1.6, 2.7)), ((0.25, 0.9), (1.7, 2.7)),
               ((1.1, 1.75), (0.3, 1.4))]
    for (nm, w, L, sh, ar), st, reg in zip(specs, starts, regions):
        p = Person(nm, w, L, shoe=sh, arch=ar, step_len=rng.uniform(0.55, 0.75), cadence=rng.uniform(1.6, 2.0))
        p.appear(rng.uniform(0, 2), *st)
        while p.t < 32:
            tx, ty = rng.uniform(*reg[0]), rng.uniform(*reg[1])
            p.walk_to(tx, ty)
            if rng.random() < 0.35:
                p.stand(rng.uniform(1, 4))
        p.finish(32)
        people.append(p)
    spec = dict(mat=mat, pitch=0.01, fps=15, duration=32, threshold=3.5, noise=1.0, store="kpa",
                dead=6, hot=3,
                desc="four people (55-98 kg) on a 3 x 2 m mat, each wandering between random points of one quarter, some pauses")
    return spec, people


def scene_2cm(rng):
    mat = (2.4, 1.2)
    a = Person("A", 77, 0.27, shoe=True, step_len=0.7, cadence=1.7)
    b = Person("B", 61, 0.245, shoe=False, arch="normal", step_len=0.6, cadence=1.9)
    a.appear(0.0, 0.4, -0.35, math.pi / 2)
    b.appear(1.0, 0.85, 2.75, -math.pi / 2)
    for k in range(4):
        a.walk_to(0.4 + 0.05 * k, 2.75 if k % 2 == 0 else -0.35)
        a.stand(rng.uniform(1, 3))
        a.turn_on_spot(math.pi)
        b.walk_to(0.85, -0.35 if k % 2 == 0 else 2.75)
        b.stand(rng.uniform(0.5, 2))
        b.turn_on_spot(math.pi)
    a.finish(30)
    b.finish(30)
    spec = dict(mat=mat, pitch=0.02, fps=10, duration=30, threshold=4.2, noise=1.2, store="kpa",
                desc="two people passing each other (0.45 m apart) on a 2 cm pitch mat at 10 Hz")
    return spec, [a, b]


def scene_raw30(rng):
    mat = (2.4, 1.2)
    a = Person("A", 68, 0.255, shoe=False, arch="normal", step_len=0.66, cadence=1.8)
    b = Person("B", 95, 0.28, shoe=True, step_len=0.7, cadence=1.7)
    a.appear(0.0, 0.35, -0.35, math.pi / 2)
    b.appear(2.0, 0.85, -0.35, math.pi / 2)
    for k in range(3):
        a.walk_to(0.35, 2.75 if k % 2 == 0 else -0.35)
        a.turn_on_spot(math.pi)
        a.stand(rng.uniform(1, 3))
        b.walk_to(0.85, 2.75 if k % 2 == 0 else -0.35)
        b.stand(rng.uniform(0.5, 2))
        b.turn_on_spot(math.pi)
    a.finish(28)
    b.finish(28)
    spec = dict(mat=mat, pitch=0.01, fps=15, duration=28, threshold=1.5, noise=0.4, store="raw",
                raw_scale=30.0,
                desc="two walkers in the same direction; stored in raw units = kPa / 30 (float) with NO unit key")
    return spec, [a, b]


def scene_sidestep(rng):
    mat = (2.0, 2.0)
    a = Person("A", 83, 0.27, shoe=False, arch="flat", step_len=0.6, cadence=1.7)
    a.appear(0.0, 1.0, -0.35, math.pi / 2)
    a.walk_to(1.0, 0.7)
    a.side_step(0.6)
    a.stand(1.5)
    a.turn_on_spot(math.pi / 2)
    a.walk_to(1.6, 1.3)
    a.side_step(-0.9)
    a.turn_on_spot(-math.pi)
    a.stand(2)
    a.walk_to(0.5, 1.5)
    a.side_step(0.6)
    a.turn_on_spot(math.pi * 0.75)
    a.walk_to(1.0, 0.5)
    a.stand(30)
    a.finish(25)
    b = Person("B", 47, 0.23, shoe=True, step_len=0.55, cadence=2.0)
    b.appear(2.0, -0.35, 1.7, 0.0)
    for k in range(6):
        b.walk_to(2.35 if k % 2 == 0 else -0.35, 1.75)
        b.stand(rng.uniform(1, 3))
    b.finish(25)
    spec = dict(mat=mat, pitch=0.01, fps=60, duration=25, threshold=6.0, noise=2.0, store="raw_scale",
                raw_scale=0.25, dead=8, hot=5,
                desc="side steps and on-the-spot turns (83 kg, flat feet) while a light person (47 kg) crosses; 60 Hz, noise 2 kPa, counts with pressure_scale_kpa")
    return spec, [a, b]


def scene_stance_probe(rng):
    """One person at a time standing in stances 12 / 25 cm wide at 90 / 45 / 0 degrees to the mat's long axis."""
    mat = (2.4, 1.2)
    ppl = [Person("bare65", 65, 0.25, shoe=False, arch="normal", step_len=0.6, cadence=1.8),
           Person("shod65", 65, 0.25, shoe=True, step_len=0.6, cadence=1.8),
           Person("bare115", 115, 0.29, shoe=False, arch="normal", step_len=0.66, cadence=1.7),
           Person("shod115", 115, 0.29, shoe=True, step_len=0.66, cadence=1.7)]
    spots = [(0.6, 0.5), (0.6, 1.2), (0.6, 1.9)]
    t = 0.0
    for per in ppl:
        per.appear(t, 0.6, -0.4, math.pi / 2)
        k = 0
        for width in (0.12, 0.25):
            for ang in (90, 45, 0):
                x, y = spots[k % 3]
                per.walk_to(x, y)
                per.set_stance(width, math.radians(ang))
                per.stand(4.0)
                k += 1
        per.walk_to(0.6, 2.85)
        per.vanish()
        t = per.t + 3.0
    dur = math.ceil(t)
    for per in ppl:
        per.finish(dur)
    spec = dict(mat=mat, pitch=0.01, fps=15, duration=dur, threshold=2.1, noise=0.6, store="kpa",
                desc="probe, one person at a time: 65 kg barefoot, 65 kg shoes, 115 kg barefoot, 115 kg shoes, each "
                     "standing 4 s in six stances (feet 12 or 25 cm apart centre to centre, facing 90 / 45 / 0 degrees "
                     "to the mat's long axis)")
    return spec, ppl


# ---- identity scenes: visits ----------------------------------------------------------------
def _track_pos(per, t):
    tr = per.track
    ts = np.array([q[0] for q in tr])
    i = np.searchsorted(ts, t, side="right") - 1
    if i < 0:
        return None
    if i + 1 < len(tr):
        t0, x0, y0 = tr[i]
        t1, x1, y1 = tr[i + 1]
        if np.isnan(x0) or np.isnan(x1):
            return None if np.isnan(x0) else (x0, y0)
        f = (t - t0) / max(t1 - t0, 1e-6)
        return (x0 + f * (x1 - x0), y0 + f * (y1 - y0))
    x0, y0 = tr[i][1], tr[i][2]
    return None if np.isnan(x0) else (x0, y0)


def _edge_point(rng, mat, out=0.45):
    H, W = mat
    e = rng.integers(4)
    if e == 0:
        return (rng.uniform(0.25, W - 0.25), -out, math.pi / 2)
    if e == 1:
        return (rng.uniform(0.25, W - 0.25), H + out, -math.pi / 2)
    if e == 2:
        return (-out, rng.uniform(0.3, H - 0.3), 0.0)
    return (W + out, rng.uniform(0.3, H - 0.3), math.pi)


def _plan_visit(per, rng, mat, t0):
    H, W = mat
    x, y, th = _edge_point(rng, mat)
    per.appear(t0, x, y, th)
    standing = rng.random() < 0.45
    if standing:
        per.walk_to(rng.uniform(0.3, W - 0.3), rng.uniform(0.35, H - 0.35))
        per.stand(rng.uniform(3, 10))
        if rng.random() < 0.5:
            per.turn_on_spot(rng.choice([-1, 1]) * rng.uniform(0.5, 1.5) * math.pi / 2)
            per.stand(rng.uniform(1, 4))
    else:
        for _ in range(rng.integers(1, 4)):
            per.walk_to(rng.uniform(0.3, W - 0.3), rng.uniform(0.35, H - 0.35))
            if rng.random() < 0.3:
                per.stand(rng.uniform(0.5, 2))
    ex, ey, _ = _edge_point(rng, mat, out=0.6)
    per.walk_to(ex, ey)
    per.vanish()


def _conflict(per, others, t0, t1, min_d=0.5):
    for t in np.arange(t0, t1, 0.1):
        p = _track_pos(per, t)
        if p is None:
            continue
        for o in others:
            q = _track_pos(o, t)
            if q is not None and math.hypot(p[0] - q[0], p[1] - q[1]) < min_d:
                return True
    return False


def identity_scene(rng, mat, people, duration, n_visits=(8, 12)):
    planned = []
    for per in people:
        want = int(rng.integers(n_visits[0], n_visits[1] + 1))
        t = rng.uniform(0, 6)
        got = 0
        while got < want and t < duration - 12:
            ok = False
            for attempt in range(25):
                state = (len(per.contacts), len(per.track))
                _plan_visit(per, rng, mat, t)
                if not _conflict(per, planned, t, per.t + 0.5):
                    ok = True
                    break
                del per.contacts[state[0]:]
                del per.track[state[1]:]
                per.open = {}
            if ok:
                got += 1
                t = per.t + rng.uniform(2, 20)
            else:
                t += 3.0
        per.visits_planned = got
        planned.append(per)
    return people


def scene_id_weights(rng):
    mat = (2.4, 1.2)
    ppl = [Person("light48", 48, 0.235, shoe=False, arch="normal", step_len=0.58, cadence=1.95),
           Person("mid82", 82, 0.27, shoe=True, step_len=0.7, cadence=1.75),
           Person("heavy125", 125, 0.295, shoe=True, arch="flat", step_len=0.66, cadence=1.65)]
    identity_scene(rng, mat, ppl, 210)
    for p in ppl:
        p.finish(210)
    spec = dict(mat=mat, pitch=0.01, fps=15, duration=210, threshold=2.1, noise=0.6, store="kpa",
                desc="IDENTITY: 3 people of 48 / 82 / 125 kg each visiting 8-12 times (enter from beyond an edge, stand or walk, leave, wait 2-20 s)")
    return spec, ppl


def scene_id_similar(rng):
    mat = (3.0, 2.0)
    ppl = [Person("simA70", 70, 0.26, shoe=True, step_len=0.66, cadence=1.8),
           Person("simB73", 73, 0.265, shoe=True, step_len=0.68, cadence=1.78),
           Person("simC76", 76, 0.27, shoe=True, step_len=0.67, cadence=1.82)]
    identity_scene(rng, mat, ppl, 190)
    for p in ppl:
        p.finish(190)
    spec = dict(mat=mat, pitch=0.02, fps=20, duration=190, threshold=2.8, noise=0.8, store="raw_scale",
                raw_scale=0.5,
                desc="IDENTITY: 3 people of similar build (70/73/76 kg, shoes, foot 26-27 cm) visiting 8-12 times a 3 x 2 m mat at 2 cm pitch; counts with pressure_scale_kpa")
    return spec, ppl


def scene_id_four(rng):
    mat = (2.4, 1.6)
    ppl = [Person("q55", 55, 0.24, shoe=False, arch="high", step_len=0.6, cadence=1.9),
           Person("q64", 64, 0.25, shoe=True, step_len=0.63, cadence=1.85),
           Person("q92", 92, 0.28, shoe=True, step_len=0.7, cadence=1.7),
           Person("q108", 108, 0.29, shoe=False, arch="flat", step_len=0.66, cadence=1.65)]
    identity_scene(rng, mat, ppl, 200, n_visits=(8, 10))
    for p in ppl:
        p.finish(200)
    spec = dict(mat=mat, pitch=0.01, fps=10, duration=200, threshold=2.0, noise=0.5, store="kpa",
                desc="IDENTITY: 4 people (55/64/92/108 kg, mixed barefoot and shoes) visiting 8-10 times a 2.4 x 1.6 m mat at 10 Hz")
    return spec, ppl


SCENES = [
    ("s01_single_turns", scene_single),
    ("s02_cross_0p3", scene_cross),
    ("s03_side_by_side_0p4", scene_side_by_side),
    ("s04_stand_two_pass", scene_stand_pass),
    ("s05_four_3x2", scene_four),
    ("s06_pass_2cm", scene_2cm),
    ("s07_raw30_nounit", scene_raw30),
    ("s08_sidestep_60hz", scene_sidestep),
    ("id1_weights", scene_id_weights),
    ("id2_similar", scene_id_similar),
    ("id3_four_mixed", scene_id_four),
    ("s09_stance_probe", scene_stance_probe),   # added last so that the other scenes keep their rng streams
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    metas = []
    for i, (name, fn) in enumerate(SCENES):
        if args.only and name not in args.only:
            continue
        t0 = time.time()
        rng = np.random.default_rng([args.seed, i])
        spec, people = fn(rng)
        meta = build_scene(name, spec, people, rng, args.outdir)
        meta["gen_s"] = round(time.time() - t0, 1)
        print(f"{name}: {meta['frames']} frames {meta['rows']}x{meta['cols']} peak {meta['peak_kpa']:.0f} kPa "
              f"({meta['gen_s']} s)", file=sys.stderr)
        metas.append(meta)
    path = os.path.join(args.outdir, "scenes.json")
    if args.only and os.path.exists(path):      # keep the other scenes' entries
        old = {m["name"]: m for m in json.load(open(path))}
        old.update({m["name"]: m for m in metas})
        metas = [old[n] for n, _ in SCENES if n in old]
    with open(path, "w") as f:
        json.dump(metas, f, indent=1)


if __name__ == "__main__":
    main()
