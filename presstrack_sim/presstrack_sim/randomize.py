"""Domain randomisation: every sensor, foot, body and floor-object parameter drawn per scene from documented ranges.

`randomized(config, rng)` returns the configuration with a sensor drawn around one of the real-mat profiles, feet
drawn from the widest plantar ranges, people from 1.0 to 2.0 m and BMI 16 to 40 (some carrying a load, some
jumping), and some objects that are no one on the floor, so that what trains on the scenes sees every mat and foot a
real floor may have. The mat's size and cell pitch are left as given: the network reads crops at 1 cell = 1 cm, so a
corpus keeps one pitch (`presstrack-sim --pitch 0.02` makes a 2 cm mat).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .objects import ObjectsConfig
from .people import BodyRanges
from .plantar import PlantarModel
from .sensor import SensorModel
from .simulator import SimConfig

BASE_PROFILES = ("commercial", "textile", "mip")  # the real-mat profiles a sensor is drawn around
# parameter -> (low, high), drawn uniformly per scene; the profiles of sensor.py sit inside these ranges.
SENSOR_RANGES: dict[str, tuple[float, float]] = {
    "full_scale_kpa": (250.0, 900.0),  # textile mats saturate early, clinical platforms reach 862-1270 kPa
    "threshold_kpa": (0.0, 10.0),  # firmware noise thresholds, raised to NOISE_SIGMAS x noise_kpa
    "noise_kpa": (0.2, 1.5),
    "noise_fraction": (0.0, 0.05),
    "crosstalk_sigma": (0.2, 1.0),  # cells
    "gain_spread": (0.0, 0.15),  # after (0.03) and without (0.15) per-cell equilibration
    "response_exponent": (0.6, 1.0),  # textile power law ... linear
    "hysteresis_fraction": (0.0, 0.15),  # FSR guides: about 10 %
    "creep_fraction": (0.0, 0.08),  # FSR guides: < 5 % per decade
    "ghost_fraction": (0.0, 0.05),  # passive row/column matrices
    "dead_fraction": (0.0, 0.02),
    "stuck_fraction": (0.0, 5e-4),  # a mat is serviced before a cell in 2000 is stuck or hot
    "hot_fraction": (0.0, 5e-4),
    "hot_offset_kpa": (5.0, 30.0),
}
BITS_CHOICES = (8, 10, 12, 16)
NOISE_SIGMAS = 4.0  # a mat's firmware threshold sits this many noise deviations up, or the empty mat would speckle
TILED_PROBABILITY = 0.3  # share of scenes on a tiled floor of TILE_CELLS tiles with 1-cell seams
TILE_CELLS = (40, 48, 60)
PLANTAR_RANGES = PlantarModel(arch_range=(0.0, 1.0), stiffness_range=(0.8, 1.25), shoe_probability=0.3)
BODY_RANGES = BodyRanges(height_range=(1.0, 2.0), bmi_range=(16.0, 40.0))
CARRYING = 0.2  # share of people carrying a load
JUMP_RATE_PER_MIN = (0.0, 4.0)  # jumps on the spot per minute of standing
OBJECT_COUNTS = {"furniture": (0, 2), "dropped": (0, 1), "pets": (0, 1)}  # inclusive ranges per scene
FEET = ("even", "anatomical")  # the legacy sole that loads every part alike, or plantar.py's anatomy
RANDOMIZE_STREAM = 19  # the stream a randomised scene's draws come from, apart from the simulation's own


def random_sensor(rng: np.random.Generator) -> tuple[str, SensorModel]:
    """A sensor drawn around a random real-mat profile: (profile name, model)."""
    name = str(rng.choice(BASE_PROFILES))
    drawn = {key: float(rng.uniform(low, high)) for key, (low, high) in SENSOR_RANGES.items()}
    drawn["threshold_kpa"] = max(drawn["threshold_kpa"], NOISE_SIGMAS * drawn["noise_kpa"])
    drawn["bits"] = int(rng.choice(BITS_CHOICES))
    tiled = rng.random() < TILED_PROBABILITY
    drawn["tile_cells"] = int(rng.choice(TILE_CELLS)) if tiled else 0
    drawn["seam_cells"] = 1 if tiled else 0
    if name != "textile":  # only the textile matrix has a nonlinear, history-dependent, ghosting response
        drawn |= dict(response_exponent=1.0, hysteresis_fraction=0.0, creep_fraction=0.0, ghost_fraction=0.0)
    return name, SensorModel.profile(name, **drawn)


def randomized(config: SimConfig, rng: np.random.Generator) -> SimConfig:
    """`config` with its sensor, plantar model, body ranges and floor objects drawn from the ranges above (the
    people themselves are drawn by the simulator from BODY_RANGES, unless `config.subjects` names them)."""
    _, sensor = random_sensor(rng)
    objects = ObjectsConfig(**{kind: int(rng.integers(low, high + 1)) for kind, (low, high) in OBJECT_COUNTS.items()})
    return replace(config, sensor=sensor, plantar=PLANTAR_RANGES, objects=objects, bodies=BODY_RANGES,
                   carrying=CARRYING, jump_rate=float(rng.uniform(*JUMP_RATE_PER_MIN)))


def randomize_rng(seed: int) -> np.random.Generator:
    """The generator `randomized` draws from for `seed`, apart from the simulation's own streams."""
    return np.random.default_rng(np.random.SeedSequence([seed, RANDOMIZE_STREAM]))


def with_realism(config: SimConfig, sensor: str = "legacy", feet: str = "even", shoes: float = 0.0,
                 objects: bool = False, carrying: float = 0.0, jump_rate: float = 0.0,
                 randomize_seed: int | None = None) -> SimConfig:
    """`config` with the realism options of presstrack-sim and the mat_sim node: a sensor profile
    (sensor.SENSOR_PROFILES), feet (FEET) with a share of people in shoes, the floor objects of objects.py, a share of
    people carrying a load, jumps per minute of standing; and, given `randomize_seed`, all of it drawn per scene
    from the ranges above (`randomized`) instead."""
    if feet not in FEET:
        raise ValueError(f"feet must be one of {', '.join(FEET)}, got {feet!r}")
    if feet == "even" and shoes:
        raise ValueError("shoes need anatomical feet")
    config = replace(config, sensor=SensorModel.profile(sensor),
                     plantar=None if feet == "even" else PlantarModel(shoe_probability=shoes),
                     objects=ObjectsConfig() if objects else None, carrying=carrying, jump_rate=jump_rate)
    return config if randomize_seed is None else randomized(config, randomize_rng(randomize_seed))
