"""How a foot's load is spread over its sole: anatomy of the plantar pressure, per person, barefoot or shod.

The contact model (pressure.py) shares a foot's vertical force among its sole vertices near the floor in proportion to
their area; `sole_load_factors` weights each vertex by the load its part of the foot carries per unit area, so
that the pressure shows the anatomy a pressure platform sees:
- the heel pad under the calcaneal tuberosity and the metatarsal heads are the hot spots (the highest walking peaks:
  forefoot above heel; Shorten 1989 reports barefoot walking peaks of roughly 370-520 kPa under the heel and
  630-740 kPa under the forefoot, measured with a 1 cm-class platform);
- the midfoot: its medial side is the arch, which loads a flat foot, leaves a lateral band in a normal foot and a
  gap between rearfoot and forefoot in a high-arched (cavus) foot (Cavanagh & Rodgers 1987, arch index: midfoot
  area / area of the foot without toes, high <= 0.21, normal 0.21-0.26, flat >= 0.26);
- the arch also varies a little from step to step (the foot pronates more on one step than the next): each step's
  arch is the person's plus a normal draw of ARCH_STEP_SD;
- the toe pads press apart from the forefoot: the crease under the metatarsophalangeal joints carries little;
- standing, the rearfoot carries about 55-60 % of the load (Cavanagh, Rodgers & Iiboshi 1987: heel 60 %, forefoot
  28 %, toes 4 %, midfoot 8 % in barefoot standing), at peaks near 100 kPa under the heel.
A stiffer sole (less soft tissue under the bones) sharpens the hot spots, a softer one flattens them. A shoe spreads
the load over its outsole: a larger, smoother print, the arch filled, no toe gap and lower peaks.

Positions on the sole are fractions of its length from the heel (u) and across its width, +1 lateral (w).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .gait import Footsteps

# Standing barefoot on a flat foot, the share of the load of each region (Cavanagh, Rodgers & Iiboshi 1987): rearfoot,
# midfoot (normal arch; flat feet load it more, high arches not at all), forefoot, toes.
STANDING_SHARE = {"rearfoot": 0.60, "midfoot": 0.08, "forefoot": 0.28, "toes": 0.04}
FLAT_MIDFOOT_SHARE = 0.16  # a flat foot's midfoot (arch 0); a high arch (1) carries nothing there
TOE_LESS_EXTRA_U = 0.08  # the toe-less foot (arch index) ends this far (fraction of length) past the toe joint
REGION_EDGE_U = 0.015  # softness of the region borders
# Hot spots within the regions: centres and widths as fractions of foot length (u from the heel) and half-width
# (w, + lateral); each region's floor is the load density of its plain soft tissue relative to its hot spot.
HEEL_CENTRE_U, HEEL_WIDTH_U, HEEL_WIDTH_W = 0.10, 0.12, 0.80
METATARSAL_OFFSET_U, METATARSAL_WIDTH_U = -0.03, 0.045  # relative to the toe joint (the ball)
METATARSAL_CENTRE_W, METATARSAL_WIDTH_W = -0.15, 0.50  # 2nd-3rd metatarsal heads, a little medial
TOE_PAD_OFFSET_U, TOE_PAD_WIDTH_U = 0.13, 0.035
HALLUX_CENTRE_W, HALLUX_WIDTH_W = -0.45, 0.30
CREASE_OFFSET_U, CREASE_WIDTH_U = 0.06, 0.02  # under the metatarsophalangeal joints, behind the toe pads
REGION_FLOOR = 0.10
# Exponent on (floor + hot spot) for a typical sole (stiffness 1): the metatarsal heads press through a thin fat
# pad, the heel through a thick one.
HOT_SPOT_SHARPNESS = {"rearfoot": 1.0, "midfoot": 1.0, "forefoot": 2.0, "toes": 1.0}
SHOE_OUTSOLE_SPREAD_M = 0.012  # a shoe's outsole spreads each point's load over about this much more (Gaussian)
SOFT_TISSUE_SPREAD_M = 0.004  # barefoot: the heel and forefoot fat pads spread a bone's load by about this
HEEL_LOADING_BIAS = 9.0  # at heel strike the load leans this much (per foot length) towards the heel ...
HEEL_LOADING_PHASE = 0.35  # ... fading out by this fraction of stance (the centre of pressure leaves the heel)
MAX_WALKING_STANCE_S = 1.0
# Step-to-step SD of the arch (0 flat ... 1 high). Our assumption, no published norm found: about 1.5 mm of navicular
# height step to step, of the roughly 20 mm that separate a flat from a high-arched foot; about 0.01 of arch index.
ARCH_STEP_SD = 0.07
ARCH_GRID = np.linspace(0.0, 1.0, 11)  # arches a sole's load factors are computed at; a step's are interpolated


@dataclass(frozen=True)
class FootType:
    """One person's feet. arch: 0 flat ... 0.5 normal ... 1 high arch (midfoot gap); stiffness: 1 typical, > 1
    sharper hot spots (thin, stiff soft tissue), < 1 flatter; shoes: shod (the outsole spreads the load)."""

    arch: float = 0.5
    stiffness: float = 1.0
    shoes: bool = False
    arch_step_sd: float = ARCH_STEP_SD  # how much the arch varies from step to step (SD, same scale as `arch`)

    def __post_init__(self) -> None:
        if not 0 <= self.arch <= 1:
            raise ValueError(f"arch must be in [0, 1] (flat ... high), got {self.arch}")
        if not 0 <= self.arch_step_sd <= 0.5:
            raise ValueError(f"arch_step_sd must be in [0, 0.5], got {self.arch_step_sd}")
        if not 0.3 <= self.stiffness <= 3:
            raise ValueError(f"sole stiffness must be in [0.3, 3], got {self.stiffness}")

    @property
    def spread_m(self) -> float:
        """Standard deviation (m) of the extra spread of each point's load by the soft tissue or outsole."""
        return SHOE_OUTSOLE_SPREAD_M if self.shoes else SOFT_TISSUE_SPREAD_M / self.stiffness


@dataclass(frozen=True)
class PlantarModel:
    """Ranges the feet of a scene's people are drawn from (`draw`): arch and stiffness uniform in their ranges,
    shoes with `shoe_probability`, each step's arch varying by `arch_step_sd`. Defaults: arches from flat to high, as
    the arch index spreads in adults."""

    arch_range: tuple[float, float] = (0.0, 1.0)
    stiffness_range: tuple[float, float] = (0.8, 1.25)
    shoe_probability: float = 0.0
    arch_step_sd: float = ARCH_STEP_SD

    def __post_init__(self) -> None:
        FootType(arch=self.arch_range[0], stiffness=self.stiffness_range[0])
        FootType(arch=self.arch_range[1], stiffness=self.stiffness_range[1], arch_step_sd=self.arch_step_sd)
        if not 0 <= self.shoe_probability <= 1:
            raise ValueError(f"shoe_probability must be in [0, 1], got {self.shoe_probability}")

    def draw(self, rng: np.random.Generator) -> FootType:
        return FootType(arch=float(rng.uniform(*self.arch_range)),
                        stiffness=float(rng.uniform(*self.stiffness_range)),
                        shoes=bool(rng.random() < self.shoe_probability), arch_step_sd=self.arch_step_sd)


def _bump(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - centre) / width) ** 2)


def sole_coordinates(sole_points: np.ndarray, toe_mask: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray,
                                                                                       float]:
    """Rest-frame sole vertices (n, 3) (SMPL canonical: x left, y up, z forward) -> (u, w, u_ball): fraction of the
    foot's length from the heel, signed fraction of its half-width (+1 lateral), and u of the ball of the foot (the
    toe joint: the first vertex the toe joint moves)."""
    length_axis = sole_points[:, 2]
    heel, tip = length_axis.min(), length_axis.max()
    u = (length_axis - heel) / (tip - heel)
    across = sole_points[:, 0]
    centre, half_width = 0.5 * (across.max() + across.min()), 0.5 * (across.max() - across.min())
    lateral_sign = 1.0 if side == 0 else -1.0  # the left foot's lateral side is +x (its left)
    w = lateral_sign * (across - centre) / half_width
    u_ball = float(u[toe_mask].min()) if toe_mask.any() else 0.75
    return u, w, u_ball


def _above(u: np.ndarray, edge: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(u - edge) / REGION_EDGE_U))


def sole_load_factors(sole_points: np.ndarray, toe_mask: np.ndarray, side: int, foot: FootType,
                      areas: np.ndarray) -> np.ndarray:
    """(n,) relative load per unit area of each sole vertex (module docstring).

    Each region gets its hot spot over a floor, sharpened by the stiffness; the regions are then scaled so that a
    sole flat on the floor puts STANDING_SHARE of the load on each, with the midfoot's share set by the arch.
    `areas` (n,) m^2 per vertex.
    """
    u, w, u_ball = sole_coordinates(sole_points, toe_mask, side)
    toe_less = u_ball + TOE_LESS_EXTRA_U
    rear_end, mid_end = toe_less / 3, 2 * toe_less / 3
    membership = {"rearfoot": 1 - _above(u, rear_end), "midfoot": _above(u, rear_end) * (1 - _above(u, mid_end)),
                  "forefoot": _above(u, mid_end) * (1 - _above(u, toe_less)), "toes": _above(u, toe_less)}
    arch = 0.0 if foot.shoes else foot.arch  # the shoe's shank fills the arch
    lateral = 1.0 / (1.0 + np.exp(-(w - 0.1) / 0.15))
    shape = {
        "rearfoot": _bump(u, HEEL_CENTRE_U, HEEL_WIDTH_U) * _bump(w, 0.0, HEEL_WIDTH_W),
        # The lateral band, and the medial arch while it is low (gone by arch 0.75).
        "midfoot": lateral + (1 - lateral) * float(np.clip(1.5 - 2 * arch, 0, 1)),
        "forefoot": _bump(u, u_ball + METATARSAL_OFFSET_U, METATARSAL_WIDTH_U) *
        _bump(w, METATARSAL_CENTRE_W, METATARSAL_WIDTH_W),
        "toes": _bump(u, u_ball + TOE_PAD_OFFSET_U, TOE_PAD_WIDTH_U) *
        (_bump(w, HALLUX_CENTRE_W, HALLUX_WIDTH_W) + 0.5),
    }
    midfoot_share = FLAT_MIDFOOT_SHARE * float(np.clip(1.0 - arch, 0.0, 1.0)) ** 1.5
    shares = dict(STANDING_SHARE, midfoot=midfoot_share)
    load = np.zeros_like(u)
    for region, member in membership.items():
        density = member * (REGION_FLOOR + shape[region]) ** (HOT_SPOT_SHARPNESS[region] * foot.stiffness)
        if not foot.shoes:
            density *= 1.0 - 0.95 * _bump(u, u_ball + CREASE_OFFSET_U, CREASE_WIDTH_U)  # toe pads stand apart
        carried = float((density * areas).sum())
        if carried > 0:
            load += shares[region] * density / carried
    if foot.shoes:
        load = 0.3 * load / np.average(load, weights=areas) + 0.7  # a stiff outsole evens the load out
    return load / np.average(load, weights=areas)


def arch_load_factors(sole_points: np.ndarray, toe_mask: np.ndarray, side: int, foot: FootType,
                      areas: np.ndarray) -> np.ndarray:
    """(G, n) `sole_load_factors` of `foot` with its arch at each of ARCH_GRID (a step's arch interpolates them)."""
    return np.stack([sole_load_factors(sole_points, toe_mask, side, replace(foot, arch=float(arch)), areas)
                     for arch in ARCH_GRID])


def step_arches(foot: FootType, steps: Footsteps, rng: np.random.Generator) -> np.ndarray:
    """(K,) the arch of each of `steps`: the person's, varied by foot.arch_step_sd, within [0, 1]."""
    return np.clip(foot.arch + rng.normal(0.0, foot.arch_step_sd, len(steps.side)), 0.0, 1.0)


def frame_load_factors(grid_factors: np.ndarray, steps: Footsteps, side: int, arches: np.ndarray,
                       times: np.ndarray) -> np.ndarray:
    """(F, n) load factors of one foot at the frame times (F,): those of the arch of the step it stands on (or last
    stood on), interpolated in ARCH_GRID's factors (G, n); arches (K,) per step (`step_arches`)."""
    own = steps.of_side(side)
    current = own[np.clip(np.searchsorted(steps.strike[own], times, side="right") - 1, 0, len(own) - 1)]
    position = np.interp(arches[current], ARCH_GRID, np.arange(len(ARCH_GRID)))
    lower = np.minimum(np.floor(position).astype(int), len(ARCH_GRID) - 2)
    share = (position - lower)[:, None]
    return (1 - share) * grid_factors[lower] + share * grid_factors[lower + 1]


def heel_loading_bias(steps: Footsteps, side: int, times: np.ndarray) -> np.ndarray:
    """(F,) how much a foot's load leans towards its heel at each time (0 standing, swinging or past the loading
    response): HEEL_LOADING_BIAS at heel strike, fading linearly to 0 at HEEL_LOADING_PHASE of the stance (of at
    most MAX_WALKING_STANCE_S).

    In walking the centre of pressure stays under the heel through the loading response, while the forefoot has
    only begun to touch down; a stationary load split would spread the first force peak over the whole sole.
    """
    bias = np.zeros(len(times))
    for k in steps.of_side(side):
        strike, toe_off = steps.strike[k], steps.toe_off[k]
        if steps.heel_pitch[k] <= 0:  # set down flat (a standing stance): no heel strike
            continue
        during = (times >= strike) & (times < toe_off)
        # A step that ends a walk stands on: its loading response lasts as a walking stance's would.
        fade = HEEL_LOADING_PHASE * min(toe_off - strike, MAX_WALKING_STANCE_S)
        bias[during] = HEEL_LOADING_BIAS * np.clip(1.0 - (times[during] - strike) / fade, 0.0, 1.0)
    return bias


def lean_towards_heel(load_factors: np.ndarray, sole_u: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(V,) or (F, V) load factors, (V,) position along the foot (0 heel, 1 toe tip), (F,) bias -> (F, V) load
    factors leaning towards the heel by exp(bias x (0.5 - u))."""
    return np.asarray(load_factors) * np.exp(np.asarray(bias)[:, None] * (0.5 - sole_u[None, :]))
