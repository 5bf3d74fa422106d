"""Footprint detection and grouping of footprints into people, from one pressure frame.

Conventions (shared by the whole package):
- A frame is a float32 array (rows, cols) in kPa; cell (r, c) is row r, column c.
- Boxes are (x1, y1, x2, y2) in cells with x = column and y = row as in MIP; x1, y1 inclusive and
  x2, y2 exclusive, so width = x2 - x1 and the box covers columns x1..x2-1.
- Mat frame (presstrack_msgs/MatInfo, REP-103): metres, x along increasing column, y along increasing
  row, the centre of cell (r, c) at ((c + 0.5) * pitch, (r + 0.5) * pitch).
- Angles are radians about +z from +x (towards +y). A foot axis is an undirected line, in (-pi/2, pi/2].

Pipeline: `NoiseFloor` gives a contact threshold -> `detect_footprints` labels contact blobs and merges
the separate pads of one foot (heel, ball, toes) into a `Footprint` -> `group_footprints` pairs feet
into `PersonDetection`s (at most two feet per person), keeping feet with the tracks they belonged to in
the previous frame (`GroupingPrior`), so two people close together are not merged -> `attach_traces`
adds contact too small to be a foot to the box and cells of the nearest person.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

# 8-connectivity: diagonal neighbours belong to the same blob (thin toe and arch lines are often diagonal).
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)
# Rows of the per-blob moment table: sums over a blob's cells (the third-order ones give the shape's skew).
_N, _W, _WR, _WC, _R, _C, _RR, _CC, _RC, _RRR, _RRC, _RCC, _CCC = range(13)
# Quantile one standard deviation above the median of a Gaussian, Phi(1).
_ONE_SIGMA_QUANTILE = 0.5 * (1.0 + math.erf(1.0 / math.sqrt(2.0)))


@dataclass(frozen=True)
class DetectionConfig:
    """Parameters of footprint detection and grouping (distances in metres, pressures in kPa)."""

    cell_pitch: float = 0.01
    min_threshold_kpa: float = 1.5        # contact threshold never goes below this (low: toe-off and heel strike count)
    noise_sigmas: float = 5.0             # contact threshold = background level + this many noise sigmas
    noise_smoothing: float = 0.05         # per-frame EMA rate of the background estimate
    noise_sample_stride: int = 3          # background is estimated on every n-th row and column ...
    noise_update_interval: int = 4        # ... of every n-th frame (it drifts slowly; saves time)
    min_blob_cells: int = 4               # smaller blobs are noise
    min_foot_force_n: float = 3.0         # new feet carrying less are noise / dust (a tracked foot fades below it)
    pad_max_gap: float = 0.08             # heel, ball and toe pads of one foot are at most this far apart
    foot_max_length: float = 0.32         # merged pads must fit a foot: extent along its axis ...
    foot_max_width: float = 0.14          # ... and across it
    blob_max_length: float = 0.36         # a contact blob longer than this holds more than one foot
    stride_max: float = 0.90              # both feet of one person are within a stride of each other ...
    round_feet_max_distance: float = 0.65  # ... and closer when neither foot shows its axis (heel strike, push-off)
    feet_max_lateral: float = 0.32        # ... and at most this far apart across their common axis
    feet_lateral_scale: float = 0.30      # lateral offset that costs as much as a full stride
    feet_angle_scale: float = math.radians(45.0)  # axis difference that costs as much (no limit: people turn)
    track_lateral_scale: float = 0.20     # a new foot lands within about this of its track's path line
    track_backward_scale: float = 0.30    # landing this far behind the other foot costs as much
    new_pair_penalty: float = 2.0         # pairing two unknown feet costs more than joining a known track
    min_anchor_fraction: float = 0.25     # share of a foot's cells that must overlap a previous foot's cells, ...
    min_kept_fraction: float = 0.5        # ... or share of the previous foot's cells the foot must hold
    split_reach: float = 0.03             # in a blob holding feet of several tracks, new cells farther than this
                                          # from all of their previous cells form a new pad
    lifting_force_fraction: float = 0.7   # a foot pressing less than this share of its previous force is lifting off
    min_shape_skew: float = 0.1           # a foot shape less skewed along its axis shows no heel -> toe direction
    max_toe_turn_cost: float = 6.0        # the angle cost of two feet that both show heel -> toe is at most this
                                          # (a direction from shape is sometimes wrong; the axis cost is at most 1)
    min_roll: float = 0.02                # a foot whose pressure centre moved less since touch-down has no roll direction
    foot_flat_frames: int = 4             # a foot down for more frames than this lies flat: its contact no longer grows
    young_foot_frames: int = 8            # a foot down for at most this many frames may move to a track that lost its feet
    hand_over_backward_max: float = 0.40  # ... unless it lies farther than this behind that track's last foot
                                          # along its heading
    weight_tolerance: float = 0.15        # a person's total foot force stays within about this fraction of their body weight
    min_second_foot_fraction: float = 0.5  # of a track's two flat feet, a smaller one with fewer cells than this share
                                           # of the larger's is a fragment of touching feet, merged into it
    shed_misfit_gain: float = 4.0         # a young foot whose track's weight misfit drops by more than this
                                          # without it is not its own
    join_weight_factor: float = 1.0       # share of the weight misfit change in the cost of a foot joining a track
    trace_reach: float = 0.40             # [m] contact too small or light to be a foot (a heel's first touch, the
                                          # last of a toe-off) within this of a person's box is in their box and mask
    poor_pair_cost: float = 3.0           # a young foot pairing worse with its track's other foot may go by weight
                                          # to a track it cannot pair with (`_may_take`)
    edge_join_pair_cost_max: float = 3.0  # a free foot on the mat's border joins a track's stance foot only below this
                                          # feet_pair_cost, ...
    edge_join_weight_gain: float = 1.0    # ... or when it lowers the track's weight cost by more than this
    round_foot_elongation: float = 1.8    # below this a blob (heel or forefoot pad alone) has no reliable axis, ...
    axis_min_length: float = 0.12         # ... nor when shorter than this (a toe pad is long across the foot)
    force_confidence_scale_n: float = 150.0  # detection confidence = 1 - exp(-force / this)

    @property
    def cell_area(self) -> float:
        """[m^2] area of one cell."""
        return self.cell_pitch * self.cell_pitch

    def force_n(self, pressure_sum_kpa):
        """[N] force of cells whose pressures [kPa] sum to `pressure_sum_kpa` (a number or an array)."""
        return pressure_sum_kpa * self.cell_area * 1000.0


class NoiseFloor:
    """Running robust estimate of the unloaded-mat background, giving the contact threshold.

    Each frame, the cells of a sparse grid that are below the current threshold are taken as
    background; their median (level) and the distance from the median to the 84.13 % quantile (sigma, one
    standard deviation for Gaussian noise) are blended into running estimates with an exponential moving
    average. The threshold is level + noise_sigmas * sigma, never below min_threshold_kpa. Quantiles
    ignore the few loaded cells that slip under the threshold, and the upper one stays right when the
    mat clips negative readings to 0 (then half the background cells are exactly 0 and a MAD would be 0).
    """

    def __init__(self, config: DetectionConfig = DetectionConfig()) -> None:
        self.config = config
        self.level_kpa = 0.0
        self.sigma_kpa = 0.0
        self._initialised = False
        self._frames = 0

    @property
    def threshold_kpa(self) -> float:
        return max(self.config.min_threshold_kpa, self.level_kpa + self.config.noise_sigmas * self.sigma_kpa)

    def update(self, frame: np.ndarray) -> float:
        """Update the background estimate with `frame` (rows, cols) [kPa] (every noise_update_interval-th
        frame); return the threshold [kPa]."""
        self._frames += 1
        if self._initialised and (self._frames - 1) % self.config.noise_update_interval:
            return self.threshold_kpa
        stride = self.config.noise_sample_stride
        sample = frame[::stride, ::stride].ravel()
        if self._initialised:
            sample = sample[sample < self.threshold_kpa]
        if sample.size >= 16:
            level, one_sigma_up = np.quantile(sample, [0.5, _ONE_SIGMA_QUANTILE])
            sigma = float(one_sigma_up - level)
            level = float(level)
            rate = min(1.0, self.config.noise_smoothing * self.config.noise_update_interval) if self._initialised else 1.0
            self.level_kpa += rate * (level - self.level_kpa)
            self.sigma_kpa += rate * (sigma - self.sigma_kpa)
            self._initialised = True
        return self.threshold_kpa


@dataclass(frozen=True, eq=False)
class Footprint:
    """One foot's contact region (its pads merged).

    cells: flat indices (row * cols + col) of its cells; box: x1,y1,x2,y2 [cells], exclusive ends;
    centroid_rc: pressure-weighted centre (row, col) [cell index units]; axis: direction of the
    foot's long axis [rad] in (-pi/2, pi/2] from the cell shape; elongation: sqrt of the ratio of the
    shape's principal variances (>= 1); length [m]: extent along the axis of a uniform shape with the
    same variance; force [N]; area [m^2]; origin_rc: pressure centre (row, col)
    when the foot touched down (it rolls heel to toe from there); anchor_track_id: the track whose
    previous-frame foot this one continues; age: frames since it touched down (0 = new this frame).
    """

    cells: np.ndarray
    box: tuple[int, int, int, int]
    centroid_rc: tuple[float, float]
    axis: float
    elongation: float
    length: float
    force: float
    area: float
    moments: np.ndarray = field(repr=False)   # (13,) sums used to merge pads and feet
    origin_rc: tuple[float, float] = (math.nan, math.nan)
    anchor_track_id: int | None = None
    age: int = 0
    toe_direction: float | None = None

    def centroid_m(self, pitch: float) -> np.ndarray:
        """Pressure centre in the mat frame (x, y) [m]."""
        return np.array([(self.centroid_rc[1] + 0.5) * pitch, (self.centroid_rc[0] + 0.5) * pitch])


@dataclass(frozen=True, eq=False)
class PersonDetection:
    """One person's footprints in one frame (one or two feet).

    box: x1,y1,x2,y2 [cells] around all their cells, exclusive ends; cells: flat indices of their cells
    in a frame of shape `frame_shape`; centroid_rc (row, col) [cells] and centroid_m (x, y) [m]: centre
    of pressure; foot_axis: mean axis of the feet [rad, mod pi] or None when no foot is elongated
    enough; force [N]; contact_area [m^2]; confidence in [0, 1]; feet_centroids_m (n_feet, 2) [m]: each
    foot's pressure centre; prior_track_id: the track the feet belonged to in the previous frame, if any.
    """

    feet: tuple[Footprint, ...]
    box: tuple[int, int, int, int]
    cells: np.ndarray
    frame_shape: tuple[int, int]
    centroid_rc: tuple[float, float]
    centroid_m: tuple[float, float]
    foot_axis: float | None
    force: float
    contact_area: float
    confidence: float
    feet_centroids_m: np.ndarray = field(repr=False)
    prior_track_id: int | None = None

    @property
    def mask(self) -> np.ndarray:
        """(rows, cols) bool, True on this person's own cells."""
        mask = np.zeros(self.frame_shape, dtype=bool)
        mask.ravel()[self.cells] = True
        return mask

    @property
    def touches_edge(self) -> bool:
        """True when the box reaches the mat's border: part of the person may stand off the mat."""
        return _box_reaches_border(self.box, self.frame_shape)

    @property
    def toe_direction(self) -> float | None:
        """Mean heel -> toe direction [rad] of the feet that show one (`_toe_direction`), None if none does."""
        directions = [foot.toe_direction for foot in self.feet if foot.toe_direction is not None]
        if not directions:
            return None
        return math.atan2(sum(math.sin(d) for d in directions), sum(math.cos(d) for d in directions))

    @property
    def feet_midpoint_m(self) -> np.ndarray:
        """Mean of the feet's pressure centres (x, y) [m]: on the walking path when both feet are down."""
        return self.feet_centroids_m.mean(axis=0)


@dataclass(frozen=True)
class TrackHint:
    """What grouping knows about one track from the previous frame: its id, a point on its walking
    path (x, y) [m] (midpoint of its last two-foot stance), heading [rad] or None if unknown, the
    pressure centres (x, y) [m] of its feet in the previous frame, and its body weight [N] (the median
    total force of its feet over its recent frames; 0 while unknown)."""

    track_id: int
    path_point_m: tuple[float, float]
    heading: float | None
    feet_m: tuple[tuple[float, float], ...] = ()
    weight_n: float = 0.0


@dataclass(frozen=True)
class FootHint:
    """One foot of the previous frame: its track, where it touched down (row, col) [cells], its age
    [frames since touch-down], force [N] (0: unknown) and number of cells (0: unknown)."""

    track_id: int
    origin_rc: tuple[float, float]
    age: int = 0
    force: float = 0.0
    cell_count: int = 0


@dataclass(frozen=True)
class GroupingPrior:
    """The previous frame's tracked feet: owner (rows, cols) int32 with 0 = nobody and k = the cells of
    feet[k - 1]; hints: one per track."""

    owner: np.ndarray
    feet: tuple[FootHint, ...]
    hints: tuple[TrackHint, ...]


def _weighted_positions(frame: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pressure, row and column (float64) of the flat `cells` of `frame`."""
    r, c = np.divmod(cells, frame.shape[1])
    return frame.ravel()[cells].astype(np.float64), r.astype(np.float64), c.astype(np.float64)


def _moment_terms(w: np.ndarray, r: np.ndarray, c: np.ndarray) -> list[np.ndarray]:
    """Per-cell terms of the moment rows _W.._CCC (row _N is the cell count)."""
    rr, cc = r * r, c * c
    return [w, w * r, w * c, r, c, rr, cc, r * c, rr * r, rr * c, r * cc, cc * c]


def _moment_table(frame: np.ndarray, flat: np.ndarray, lab: np.ndarray, n_labels: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-label sums (13, n_labels + 1) of the flat cells `flat` of `frame` with labels `lab` (1..n_labels);
    the flat cell indices sorted by label; where each label's cells start in them (n_labels + 1,); and
    boxes (n_labels, 4) x1,y1,x2,y2."""
    order = np.argsort(lab, kind="stable")
    flat, lab = flat[order], lab[order]
    w, r, c = _weighted_positions(frame, flat)
    size = n_labels + 1
    table = np.stack([np.bincount(lab, minlength=size).astype(np.float64)]
                     + [np.bincount(lab, term, size) for term in _moment_terms(w, r, c)])
    starts = np.concatenate([[0], np.cumsum(table[_N, 1:]).astype(np.int64)])
    first = starts[:-1]
    boxes = np.stack([np.minimum.reduceat(c, first), np.minimum.reduceat(r, first),
                      np.maximum.reduceat(c, first) + 1, np.maximum.reduceat(r, first) + 1], axis=1).astype(np.int64)
    return table, flat, starts, boxes


def _total_moments(parts: list[Footprint] | tuple[Footprint, ...]) -> np.ndarray:
    """The summed (13,) moments of pads or feet (the moments of their cells together)."""
    total = parts[0].moments
    for part in parts[1:]:
        total = total + part.moments
    return total


def _shape_from_moments(m: np.ndarray) -> tuple[float, float, float, float]:
    """(axis [rad], elongation, major variance, minor variance) [cells^2] of the cell shape."""
    m = m.tolist()   # Python floats: scalar arithmetic on numpy scalars is several times slower
    n = m[_N]
    mr, mc = m[_R] / n, m[_C] / n
    var_r = m[_RR] / n - mr * mr
    var_c = m[_CC] / n - mc * mc
    cov = m[_RC] / n - mr * mc
    # x = column, y = row: the angle of the major axis from +x towards +y.
    axis = 0.5 * math.atan2(2.0 * cov, var_c - var_r)
    half_trace = 0.5 * (var_r + var_c)
    spread = math.sqrt(max(0.25 * (var_c - var_r) ** 2 + cov * cov, 0.0))
    major = half_trace + spread
    minor = max(half_trace - spread, 1.0 / 12.0)   # a single row of cells still has width
    return _wrap_axis(axis), math.sqrt(major / minor), major, minor


def _toe_direction(moments: np.ndarray, axis: float, min_skew: float) -> float | None:
    """Direction heel -> toe [rad, (-pi, pi]] of a foot whose long axis is `axis`, from the skewness of its
    cell positions along the axis; None when |skewness| < min_skew.

    The forefoot is about twice as wide as the heel, so a flat foot's cells crowd at the toe end and
    thin out in a tail towards the heel: the skewness is negative towards the toes. Cell positions, not
    pressure: the heel often presses harder. (On simulated scenes, two feet of one person come out
    pointing the same way in about 90 % of frames, feet of two people face to face opposite ways in 95 %.)
    """
    moments = moments.tolist()
    n = moments[_N]
    a, b = math.cos(axis), math.sin(axis)
    mean = (a * moments[_C] + b * moments[_R]) / n
    second = (a * a * moments[_CC] + 2.0 * a * b * moments[_RC] + b * b * moments[_RR]) / n
    third = (a ** 3 * moments[_CCC] + 3.0 * a * a * b * moments[_RCC] + 3.0 * a * b * b * moments[_RRC]
             + b ** 3 * moments[_RRR]) / n
    variance = second - mean * mean
    if variance <= 0.0:
        return None
    skew = (third - 3.0 * mean * second + 2.0 * mean ** 3) / variance ** 1.5
    if abs(skew) < min_skew:
        return None
    return axis if skew < 0.0 else math.remainder(axis + math.pi, 2.0 * math.pi)


def _wrap_axis(angle: float) -> float:
    """Undirected axis angle into (-pi/2, pi/2]."""
    wrapped = (angle + math.pi / 2) % math.pi - math.pi / 2
    return math.pi / 2 if wrapped == -math.pi / 2 else wrapped


def _extents(cells: np.ndarray, cols: int, axis: float) -> tuple[float, float]:
    """Extent of cells [cells] along `axis` and across it (cell centres, +1 for the cell size)."""
    r, c = np.divmod(cells, cols)
    cos_a, sin_a = math.cos(axis), math.sin(axis)
    along = c * cos_a + r * sin_a
    across = -c * sin_a + r * cos_a
    return float(along.max() - along.min()) + 1.0, float(across.max() - across.min()) + 1.0


def _box_gap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Euclidean gap [cells] between two boxes (0 if they touch or overlap)."""
    gap_x = max(0, a[0] - b[2], b[0] - a[2])
    gap_y = max(0, a[1] - b[3], b[1] - a[3])
    return math.hypot(gap_x, gap_y)


def _union_box(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _make_footprint(cells: np.ndarray, moments: np.ndarray, box: tuple[int, int, int, int],
                    config: DetectionConfig, previous: FootHint | None) -> Footprint:
    axis, elongation, major, _ = _shape_from_moments(moments)
    length = math.sqrt(12.0 * major) * config.cell_pitch
    weight = moments[_W]
    centroid = (moments[_WR] / weight, moments[_WC] / weight) if weight > 0 else (moments[_R] / moments[_N], moments[_C] / moments[_N])
    centroid = (float(centroid[0]), float(centroid[1]))
    return Footprint(cells=cells, box=box, centroid_rc=centroid, axis=axis, elongation=elongation,
                     length=length, force=config.force_n(float(weight)),
                     area=float(moments[_N]) * config.cell_area, moments=moments,
                     origin_rc=previous.origin_rc if previous else centroid,
                     anchor_track_id=previous.track_id if previous else None, age=previous.age + 1 if previous else 0,
                     toe_direction=(_toe_direction(moments, axis, config.min_shape_skew)
                                    if _axis_is_reliable(elongation, length, config) else None))


def _previous_cell_counts(cells: np.ndarray, prior: GroupingPrior) -> np.ndarray:
    """(len(prior.feet) + 1,) how many of the flat `cells` each previous-frame foot held (index k for
    prior.feet[k - 1]; index 0: cells nobody held)."""
    return np.bincount(prior.owner.ravel()[cells], minlength=len(prior.feet) + 1)


def _feet_held(counts: np.ndarray, config: DetectionConfig) -> np.ndarray:
    """Indices k (for prior.feet[k - 1]) of the previous-frame feet that held at least min_blob_cells of
    the cells whose `_previous_cell_counts` are `counts`."""
    return np.flatnonzero(counts[1:] >= config.min_blob_cells) + 1


def _previous_foot(cells: np.ndarray, prior: GroupingPrior | None, config: DetectionConfig,
                   counts: np.ndarray | None = None) -> FootHint | None:
    """The previous-frame foot holding the most of `cells`, if they are at least min_anchor_fraction of
    `cells` or min_kept_fraction of that foot's cells (a foot flattening after heel strike covers several
    times its heel's cells); `counts`: their `_previous_cell_counts`, when already known."""
    if prior is None or not prior.feet:
        return None
    if counts is None:
        counts = _previous_cell_counts(cells, prior)
    best = int(np.argmax(counts[1:])) + 1
    foot = prior.feet[best - 1]
    if counts[best] == 0 or (counts[best] < config.min_anchor_fraction * cells.size
                             and counts[best] < config.min_kept_fraction * foot.cell_count):
        return None
    return foot


def _cell_moments(frame: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """The (13,) moment sums (see `_moment_table`) of the flat `cells` of `frame`."""
    return np.array([cells.size] + [term.sum() for term in _moment_terms(*_weighted_positions(frame, cells))], dtype=np.float64)


def _pad_of(frame: np.ndarray, cells: np.ndarray, config: DetectionConfig) -> Footprint:
    """An unmerged `Footprint` of the flat `cells` of `frame`."""
    r, c = np.divmod(cells, frame.shape[1])
    box = (int(c.min()), int(r.min()), int(c.max()) + 1, int(r.max()) + 1)
    return _make_footprint(cells, _cell_moments(frame, cells), box, config, None)


def _split_by_previous_feet(frame: np.ndarray, pad: Footprint, prior: GroupingPrior, config: DetectionConfig,
                            counts: np.ndarray) -> list[tuple[Footprint, FootHint | None]] | None:
    """Split a blob that holds the previous-frame cells of feet of two or more tracks (two people's toes
    touching face to face) into one pad per previous foot plus new pads; None when it does not.

    Feet do not move during stance, so a cell a foot held in the previous frame is still that foot's,
    unless the foot is older than young_foot_frames and lifting off (its previous cells, anywhere in the
    frame, press less than lifting_force_fraction of its previous force) and the cell is within
    split_reach of a foot that is not: then a partner's foot is landing on the cells it vacates. A new
    cell goes to the nearest cells of a previous foot that is not lifting off (Euclidean distance
    transform over the blob's box) when that is within split_reach, otherwise to a new pad (each
    8-connected group of at least min_blob_cells such cells; smaller ones stay with the nearest foot).
    Pad merging then joins the pieces that make one foot, as for pads seen apart, never pieces of two
    tracks. A previous foot counts only with at least min_blob_cells cells in the blob. A blob holding
    one track's feet is left whole (splitting off its new cells too measured worse: they are mostly a
    rolling foot's toes). `counts`: the pad's `_previous_cell_counts`. Returns (pad, the previous foot it
    continues or None) pairs.
    """
    feet = _feet_held(counts, config)
    if len({prior.feet[k - 1].track_id for k in feet}) < 2:
        return None
    owner = prior.owner.ravel()[pad.cells]
    # Over the whole frame: a foot whose previous cells now fall in two blobs is not lifting off.
    force = config.force_n(np.bincount(prior.owner.ravel(), weights=frame.ravel(), minlength=len(prior.feet) + 1))
    lifting = [k for k in feet if prior.feet[k - 1].age > config.young_foot_frames
               and force[k] < config.lifting_force_fraction * prior.feet[k - 1].force]
    # When every foot fades (all stepping off together), none is landing on the others' cells.
    loading = np.setdiff1d(feet, lifting) if len(lifting) < len(feet) else feet
    x1, y1, x2, y2 = pad.box
    r, c = np.divmod(pad.cells, frame.shape[1])
    r, c = r - y1, c - x1
    seed = np.zeros((y2 - y1, x2 - x1), dtype=np.int64)
    kept = np.isin(owner, loading)
    seed[r[kept], c[kept]] = owner[kept]
    distance, (near_r, near_c) = ndimage.distance_transform_edt(seed == 0, return_indices=True)
    part = seed[near_r[r, c], near_c[r, c]]
    reach = config.split_reach / config.cell_pitch
    stays = np.isin(owner, feet) & ~kept & (distance[r, c] > reach)   # a lifting foot's cells away from the others
    part[stays] = owner[stays]
    far = np.zeros(seed.shape, dtype=bool)
    far[r, c] = (distance[r, c] > reach) & ~stays
    labels, n_labels = ndimage.label(far, structure=_EIGHT_CONNECTED)
    new = labels[r, c]
    new_pads = np.flatnonzero(np.bincount(new, minlength=n_labels + 1)[1:] >= config.min_blob_cells) + 1
    part[np.isin(new, new_pads)] = 0
    return ([(_pad_of(frame, pad.cells[part == k], config), prior.feet[k - 1]) for k in feet if np.any(part == k)]
            + [(_pad_of(frame, pad.cells[new == label], config), None) for label in new_pads])


def _pads_with_previous_feet(frame: np.ndarray, pads: list[Footprint], prior: GroupingPrior | None,
                             config: DetectionConfig) -> tuple[list[Footprint], list[FootHint | None]]:
    """The pads, split along the previous frame's feet (`_split_by_previous_feet`), each with the
    previous foot it continues."""
    if prior is None or not prior.feet:
        return pads, [None] * len(pads)
    split_pads: list[Footprint] = []
    previous: list[FootHint | None] = []
    for pad in pads:
        counts = _previous_cell_counts(pad.cells, prior)
        pieces = _split_by_previous_feet(frame, pad, prior, config, counts)
        if pieces is None:
            pieces = [(pad, _previous_foot(pad.cells, prior, config, counts))]
        for piece, hint in pieces:
            split_pads.append(piece)
            previous.append(hint)
    return split_pads, previous


def detect_blobs(frame: np.ndarray, threshold_kpa: float, config: DetectionConfig = DetectionConfig()) -> list[Footprint]:
    """Raw contact blobs of `frame` (rows, cols) [kPa]: 8-connected cells above `threshold_kpa` with at
    least min_blob_cells cells, each as an unmerged `Footprint` (a pad, or a whole foot)."""
    if frame.ndim != 2:
        raise ValueError(f"frame must be 2-D (rows, cols), got shape {frame.shape}")
    contact = frame > threshold_kpa
    flat = np.flatnonzero(contact)
    if flat.size == 0:
        return []
    # Labelling costs in proportion to the area: only the rows from the first to the last contact cell.
    cols = frame.shape[1]
    first_row, last_row = int(flat[0]) // cols, int(flat[-1]) // cols
    labels, n_labels = ndimage.label(contact[first_row:last_row + 1], structure=_EIGHT_CONNECTED)
    table, flat, starts, boxes = _moment_table(frame, flat, labels.ravel()[flat - first_row * cols], n_labels)
    boxes = boxes.tolist()
    return [_make_footprint(flat[starts[k - 1]:starts[k]], table[:, k], tuple(boxes[k - 1]), config, None)
            for k in np.flatnonzero(table[_N, 1:] >= config.min_blob_cells) + 1]


def _carries_one_track(blob: Footprint, prior: GroupingPrior | None, config: DetectionConfig) -> bool:
    """Whether `blob` continues the feet of one track only (of its previous-frame cells, at least
    min_blob_cells per foot) and carries no more than that track's body weight (within
    weight_tolerance): then it is that person alone (a foot pivoting, both feet together)."""
    if prior is None or not prior.feet:
        return False
    tracks = {prior.feet[k - 1].track_id for k in _feet_held(_previous_cell_counts(blob.cells, prior), config)}
    if len(tracks) != 1:
        return False
    track_id = tracks.pop()
    weight = next((hint.weight_n for hint in prior.hints if hint.track_id == track_id), 0.0)
    return 0.0 < weight and blob.force <= (1.0 + config.weight_tolerance) * weight


def _split_oversize(frame: np.ndarray, blob: Footprint, config: DetectionConfig,
                    prior: GroupingPrior | None) -> list[Footprint]:
    """`blob` cut into pieces no longer than blob_max_length: a contact blob longer than any foot holds
    more than one (two people's toes touching face to face, also at the start with no track to tell them
    apart), unless it is one known person alone (`_carries_one_track`). It is cut across its axis at the
    pressure valley: the position along the axis, within the middle third of the blob's extent, where the
    pressure summed across the blob is lowest (feet touch at their edges, where they press least). Two
    feet end to end meet near the middle; the middle third leaves out the arch of either foot, a valley
    too, about 20 % of the way in. Pieces still too long are cut again."""
    x1, y1, x2, y2 = blob.box
    if math.hypot(x2 - x1, y2 - y1) * config.cell_pitch <= config.blob_max_length:
        return [blob]   # the box diagonal bounds the extent along any axis
    cols = frame.shape[1]
    length, _ = _extents(blob.cells, cols, blob.axis)
    if length * config.cell_pitch <= config.blob_max_length or _carries_one_track(blob, prior, config):
        return [blob]
    r, c = np.divmod(blob.cells, cols)
    along = c * math.cos(blob.axis) + r * math.sin(blob.axis)
    bins = np.floor(along - along.min()).astype(np.int64)
    profile = np.bincount(bins, weights=frame.ravel()[blob.cells])
    third = len(profile) // 3
    cut = third + int(np.argmin(profile[third:len(profile) - third]))
    pieces = [blob.cells[bins < cut], blob.cells[bins >= cut]]
    if min(piece.size for piece in pieces) < config.min_blob_cells:
        return [blob]
    return [part for piece in pieces for part in _split_oversize(frame, _pad_of(frame, piece, config), config, prior)]


def _grows_forward(pads: list[Footprint], tracked: list[int], new: list[int], previous: FootHint,
                   config: DetectionConfig) -> bool:
    """Whether new pads may join a tracked foot: a foot in stance rolls down about its heel until it
    lies flat (the first foot_flat_frames after touch-down), then only loses contact (heel rise, toe-off):
    a new pad next to a flat foot is another foot (face to face, a partner's heel at its toes). While it
    rolls down, once its pressure centre has moved from where it touched down, its contact grows only
    ahead: a new pad behind it is the heel of someone stepping where this foot was."""
    if previous.age >= config.foot_flat_frames:
        return False
    min_roll_cells = config.min_roll / config.cell_pitch
    tracked_m = _total_moments([pads[k] for k in tracked])
    new_m = _total_moments([pads[k] for k in new])
    roll_r = tracked_m[_WR] / tracked_m[_W] - previous.origin_rc[0]
    roll_c = tracked_m[_WC] / tracked_m[_W] - previous.origin_rc[1]
    if math.hypot(roll_r, roll_c) < min_roll_cells:
        return True
    ahead = (new_m[_R] / new_m[_N] - tracked_m[_R] / tracked_m[_N]) * roll_r + (new_m[_C] / new_m[_N] - tracked_m[_C] / tracked_m[_N]) * roll_c
    return ahead >= 0.0


def _first(previous: list[FootHint | None], group: list[int]) -> FootHint | None:
    return next((previous[k] for k in group if previous[k] is not None), None)


def _join(group_of: list[int], members: dict[int, list[int]], ga: int, gb: int) -> None:
    """Union-find merge of pad group gb into ga."""
    for k in members[gb]:
        group_of[k] = ga
    members[ga] += members.pop(gb)


def detect_footprints(frame: np.ndarray, threshold_kpa: float, config: DetectionConfig = DetectionConfig(),
                      prior: GroupingPrior | None = None) -> list[Footprint]:
    """Feet in `frame` (rows, cols) [kPa]: `detect_blobs`, blobs longer than a foot cut at pressure valleys
    (`_split_oversize`), blobs holding feet of several tracks of `prior` split along them
    (`_split_by_previous_feet`), then the pads of one foot merged.

    Pads are merged greedily, closest first, while the merged region still fits a foot (pad gap <=
    pad_max_gap, extent <= foot_max_length x foot_max_width along/across its own axis), the pads do
    not continue feet of two different tracks of `prior`, and new pads join a tracked foot only while it
    rolls down and only ahead of it (`_grows_forward`; a pad kept apart this way that belongs to the foot
    after all is merged in the next frame, when it is tracked too). New feet lighter than min_foot_force_n
    are dropped; a foot continuing a tracked one stays however light it gets (rolling off the toes, it is
    still the person's until it lifts, and the box that labels the person still holds it), and so does a
    foot on the mat's border (the toes still on the mat of a person stepping off: most of the force is off
    the mat; too weak to start a track, it continues the lost track of the person who stepped off).
    """
    blobs = [piece for blob in detect_blobs(frame, threshold_kpa, config) for piece in _split_oversize(frame, blob, config, prior)]
    pads, previous = _pads_with_previous_feet(frame, blobs, prior, config)
    cols = frame.shape[1]
    pitch = config.cell_pitch

    # Union-find over pads; a group is a candidate foot.
    group_of = list(range(len(pads)))
    members = {i: [i] for i in range(len(pads))}
    max_gap = config.pad_max_gap / pitch
    candidates = sorted((_box_gap(pads[a].box, pads[b].box), a, b)
                        for a in range(len(pads)) for b in range(a + 1, len(pads)))
    for gap, a, b in candidates:
        if gap > max_gap:
            break
        ga, gb = group_of[a], group_of[b]
        if ga == gb:
            continue
        merged = members[ga] + members[gb]
        tracks_a = {previous[k].track_id for k in members[ga] if previous[k] is not None}
        tracks_b = {previous[k].track_id for k in members[gb] if previous[k] is not None}
        if tracks_a and tracks_b and tracks_a != tracks_b:
            continue   # pads of two different tracks' feet stay apart
        if tracks_a and not tracks_b and not _grows_forward(pads, members[ga], members[gb], _first(previous, members[ga]), config):
            continue
        if tracks_b and not tracks_a and not _grows_forward(pads, members[gb], members[ga], _first(previous, members[gb]), config):
            continue
        axis = _shape_from_moments(_total_moments([pads[k] for k in merged]))[0]
        length, width = _extents(np.concatenate([pads[k].cells for k in merged]), cols, axis)
        if length * pitch > config.foot_max_length or width * pitch > config.foot_max_width:
            continue
        _join(group_of, members, ga, gb)

    feet = []
    for group in members.values():
        if len(group) == 1:
            pad, hint = pads[group[0]], previous[group[0]]
            foot = (dataclasses.replace(pad, origin_rc=hint.origin_rc, anchor_track_id=hint.track_id, age=hint.age + 1)
                    if hint else pad)
        else:
            cells = np.concatenate([pads[k].cells for k in group])
            hint = _first(previous, group) or _previous_foot(cells, prior, config)
            foot = _make_footprint(cells, _total_moments([pads[k] for k in group]),
                                   _union_box([pads[k].box for k in group]), config, hint)
        if (foot.force >= config.min_foot_force_n or foot.anchor_track_id is not None
                or _box_reaches_border(foot.box, frame.shape)):
            feet.append(foot)
    return feet


def _axis_difference(a: float, b: float) -> float:
    """Angle between two undirected axes, in [0, pi/2]."""
    d = abs(a - b) % math.pi
    return min(d, math.pi - d)


def _axis_is_reliable(elongation: float, length: float, config: DetectionConfig) -> bool:
    """Whether a shape this elongated and long [m] has its foot's axis as its shape axis."""
    return elongation >= config.round_foot_elongation and length >= config.axis_min_length


def _has_axis(foot: Footprint, config: DetectionConfig) -> bool:
    """Whether the foot is elongated and long enough for its shape axis to be the foot's axis."""
    return _axis_is_reliable(foot.elongation, foot.length, config)


def _mean_axis(feet: tuple[Footprint, ...] | list[Footprint], config: DetectionConfig) -> float | None:
    """Circular mean of the elongated feet's axes (doubled angles), or None if all are round."""
    sx = sy = 0.0
    for foot in feet:
        if _has_axis(foot, config):
            weight = foot.elongation - 1.0
            sx += weight * math.cos(2.0 * foot.axis)
            sy += weight * math.sin(2.0 * foot.axis)
    if sx == 0.0 and sy == 0.0:
        return None
    return _wrap_axis(0.5 * math.atan2(sy, sx))


def feet_pair_cost(a: Footprint, b: Footprint, config: DetectionConfig = DetectionConfig()) -> float:
    """Cost that feet a and b belong to one person; inf when they cannot.

    cost = (d / stride_max)^2 + (lateral / feet_lateral_scale)^2 + (angle / feet_angle_scale)^2, where d
    is the distance between the feet's pressure centres, lateral its component across their mean axis (a
    person's feet are about a step width apart sideways, people walking side by side more), and angle the
    difference of their heel -> toe directions (`_toe_direction`) when both show one, its square term
    capped at max_toe_turn_cost, else of their undirected axes (at most 90 degrees). A person's feet point
    about the same way, a dancing partner's the other way (180 degrees, where an undirected axis
    differs by 0), and a foot turning into a pivot differs by less; the cap keeps a wrongly read
    direction from ruling a foot out.
    Infeasible when d > stride_max or lateral > feet_max_lateral, and, when neither foot has an axis
    (lateral unknown), when d > round_feet_max_distance. Round feet (heel strike, push-off) have no
    axis; the other foot's axis is used for `lateral`. Axes are not gated: people turn on a small mat.
    """
    pitch = config.cell_pitch
    delta = b.centroid_m(pitch) - a.centroid_m(pitch)
    distance = float(np.hypot(*delta))
    if distance > config.stride_max:
        return math.inf
    cost = (distance / config.stride_max) ** 2
    if a.toe_direction is not None and b.toe_direction is not None:
        turn = abs(math.remainder(a.toe_direction - b.toe_direction, 2.0 * math.pi))
        cost += min((turn / config.feet_angle_scale) ** 2, config.max_toe_turn_cost)
    elif _has_axis(a, config) and _has_axis(b, config):
        cost += (_axis_difference(a.axis, b.axis) / config.feet_angle_scale) ** 2
    axis = _mean_axis([a, b], config)
    if axis is None and distance > config.round_feet_max_distance:
        return math.inf
    if axis is not None:
        lateral = abs(-delta[0] * math.sin(axis) + delta[1] * math.cos(axis))
        if lateral > config.feet_max_lateral:
            return math.inf
        cost += (lateral / config.feet_lateral_scale) ** 2
    return cost


def _path_cost(foot: Footprint, stance: Footprint, hint: TrackHint, config: DetectionConfig) -> float:
    """Extra cost for `foot` joining the track of `hint`, whose one foot on the ground is `stance`:
    (sideways distance from the track's path line / track_lateral_scale)^2, plus
    (distance behind the stance foot along the heading / track_backward_scale)^2 (people step forwards;
    a turn on the spot costs a little)."""
    if hint.heading is None:
        return 0.0
    pitch = config.cell_pitch
    cos_h, sin_h = math.cos(hint.heading), math.sin(hint.heading)
    delta = foot.centroid_m(pitch) - np.asarray(hint.path_point_m)
    lateral = abs(-delta[0] * sin_h + delta[1] * cos_h)
    step = foot.centroid_m(pitch) - stance.centroid_m(pitch)
    behind = max(0.0, -(step[0] * cos_h + step[1] * sin_h))
    return (lateral / config.track_lateral_scale) ** 2 + (behind / config.track_backward_scale) ** 2


def person_from_feet(feet: list[Footprint], frame_shape: tuple[int, int], config: DetectionConfig = DetectionConfig(),
                     prior_track_id: int | None = None) -> PersonDetection:
    """One person made of `feet` (one or two, or any blobs for the baseline tracker)."""
    moments = _total_moments(feet)
    cells = np.concatenate([foot.cells for foot in feet]) if len(feet) > 1 else feet[0].cells
    weight = moments[_W]
    row, col = moments[_WR] / weight, moments[_WC] / weight
    force = config.force_n(float(weight))
    pitch = config.cell_pitch
    return PersonDetection(
        feet=tuple(feet), box=_union_box([foot.box for foot in feet]), cells=cells, frame_shape=frame_shape,
        centroid_rc=(float(row), float(col)), centroid_m=((col + 0.5) * pitch, (row + 0.5) * pitch),
        foot_axis=_mean_axis(feet, config), force=force, contact_area=float(moments[_N]) * config.cell_area,
        confidence=1.0 - math.exp(-force / config.force_confidence_scale_n),
        feet_centroids_m=np.array([foot.centroid_m(pitch) for foot in feet]), prior_track_id=prior_track_id)


def _young_and_old(anchored: list[Footprint], config: DetectionConfig) -> tuple[Footprint, Footprint] | None:
    """(young, old) of a track's two feet when the younger touched down at most young_foot_frames ago and
    after the other (a step just taken, which may be somebody else's); None otherwise."""
    if len(anchored) != 2:
        return None
    young, old = sorted(anchored, key=lambda f: f.age)
    return (young, old) if young.age <= config.young_foot_frames and young.age < old.age else None


def _hand_over_young_feet(by_track: dict[int, list[Footprint]], hints: dict[int, TrackHint],
                          config: DetectionConfig) -> None:
    """A walking person always stands on a foot: when a track of the previous frame has no foot left
    while another track stands on two, the younger of which touched down at most young_foot_frames ago,
    that young foot was most likely the vanished person's next step, given to the wrong neighbour when it
    landed (side by side or face to face, a partner's new foot can be nearer to the other person). It is
    handed over (in place) when it lies within stride_max of one of the vanished track's last feet and
    not more than hand_over_backward_max behind that foot along the vanished track's heading; the nearest
    such foot wins. People step forwards: a track that vanished walking away from the young foot (off the
    mat's edge, its next step landing outside) has not put it down; a turn or a step on the spot leaves
    the foot beside or ahead of the last one."""
    vanished = [hint for track_id, hint in hints.items() if track_id not in by_track and hint.feet_m]
    if not vanished:
        return
    pitch = config.cell_pitch
    for hint in vanished:
        best: tuple[float, int, Footprint] | None = None
        for track_id, anchored in by_track.items():
            feet = _young_and_old(anchored, config)
            if feet is None:
                continue
            young = feet[0]
            centre = young.centroid_m(pitch)
            distance, last_x, last_y = min((math.hypot(centre[0] - x, centre[1] - y), x, y) for x, y in hint.feet_m)
            if distance > config.stride_max or (best is not None and distance >= best[0]):
                continue
            if hint.heading is not None:
                ahead = (centre[0] - last_x) * math.cos(hint.heading) + (centre[1] - last_y) * math.sin(hint.heading)
                if ahead < -config.hand_over_backward_max:
                    continue
            best = (distance, track_id, young)
        if best is not None:
            _, track_id, young = best
            by_track[track_id].remove(young)
            by_track[hint.track_id] = [young]


def _weight_misfit(force: float, weight: float, config: DetectionConfig) -> float:
    """((force - weight) / (weight_tolerance * weight))^2: how far a person's total foot force [N] is
    from their body weight [N], in tolerances squared."""
    return ((force - weight) / (config.weight_tolerance * weight)) ** 2


def _weight_cost(foot: Footprint, stance: Footprint, hint: TrackHint, config: DetectionConfig) -> float:
    """Cost for `foot` joining the track of `hint`, whose one foot on the ground is `stance`: how much it
    worsens the track's weight balance (`_weight_misfit` with the foot minus without), times
    join_weight_factor; 0 while the body weight is unknown. Body weight is conserved: a person whose
    stance foot is unloading is about to land their next foot, which takes up the missing weight, while a
    person standing on their full weight is not (side by side, a partner's step often lands nearer to
    the other person's stance foot and path). Negative when the foot makes up a deficit."""
    if hint.weight_n <= 0.0:
        return 0.0
    return config.join_weight_factor * (_weight_misfit(stance.force + foot.force, hint.weight_n, config)
                                        - _weight_misfit(stance.force, hint.weight_n, config))


def _may_take(young: Footprint, old: Footprint, stance: Footprint, config: DetectionConfig) -> bool:
    """Whether a track standing on `stance` can be the owner of `young`, the new foot of a track standing on
    `young` and `old`: when `young` pairs with `stance` (`feet_pair_cost`), or, out of pairing reach but
    within stride_max, when `stance` was down before `young` landed and `young` pairs poorly with `old`
    (above poor_pair_cost). Face to face, a partner stepping round the other person, or pivoting, lands
    a foot at their toes and at an angle to their own stance foot that no pairing accepts; it points
    away from that person's feet, which a foot of their own does not."""
    if math.isfinite(feet_pair_cost(young, stance, config)):
        return True
    pitch = config.cell_pitch
    reach = float(np.hypot(*(young.centroid_m(pitch) - stance.centroid_m(pitch))))
    return (reach <= config.stride_max and stance.age > young.age
            and feet_pair_cost(young, old, config) > config.poor_pair_cost)


def _rebalance_young_feet(by_track: dict[int, list[Footprint]], hints: dict[int, TrackHint],
                          config: DetectionConfig) -> None:
    """Body weight is conserved: walking, a person's feet together carry about their weight at every
    instant (weight passes from the trailing foot to the new one during double support). A young foot
    (down at most young_foot_frames) of a track standing on two feet moves (in place) to a track
    standing on one when that brings both tracks' total force closer to their body weights by more
    than one tolerance squared (`_weight_misfit`) and the receiver can own the foot
    (`_may_take`). This undoes a partner's new foot given to the wrong person when it landed,
    light and ambiguous: it is the wrong person's excess and the right person's deficit as it takes
    their weight. The largest gain moves first; each track takes part in at most one move a frame."""
    def weight(track_id: int) -> float:
        hint = hints.get(track_id)
        return hint.weight_n if hint is not None else 0.0

    moves: list[tuple[float, int, int, Footprint]] = []
    for giver, anchored in by_track.items():
        feet = _young_and_old(anchored, config)
        if feet is None or weight(giver) <= 0.0:
            continue
        young, old = feet
        giver_force = young.force + old.force
        for receiver, stance in by_track.items():
            if len(stance) != 1 or weight(receiver) <= 0.0 or not _may_take(young, old, stance[0], config):
                continue
            before = (_weight_misfit(giver_force, weight(giver), config)
                      + _weight_misfit(stance[0].force, weight(receiver), config))
            after = (_weight_misfit(old.force, weight(giver), config)
                     + _weight_misfit(stance[0].force + young.force, weight(receiver), config))
            if before - after > 1.0:
                moves.append((before - after, giver, receiver, young))
    moved: set[int] = set()
    for _, giver, receiver, young in sorted(moves, key=lambda m: -m[0]):
        if giver in moved or receiver in moved:
            continue
        by_track[giver].remove(young)
        by_track[receiver].append(young)
        moved.update((giver, receiver))


def _shed_foreign_feet(by_track: dict[int, list[Footprint]], hints: dict[int, TrackHint],
                       config: DetectionConfig) -> list[Footprint]:
    """Take (in place) from each track standing on two feet its young foot (down at most young_foot_frames)
    when that foot lifts the track's total force so far above its body weight that dropping it improves
    the track's `_weight_misfit` by more than shed_misfit_gain; returns the feet taken. A person's feet
    carry their weight, never much more: such a foot is somebody else's, typically a person coming back
    on the mat (their track lost, so no hint) whose first step landed within a stride of a neighbour
    standing on one foot, the only track it could join. A foot within stride_max of another track's feet
    of the previous frame stays: it may be that neighbour's step (face to face, a landing foot can be out
    of its owner's reach by `feet_pair_cost`), which `_hand_over_young_feet` gives back when the
    neighbour's stance foot lifts."""
    shed: list[Footprint] = []
    for track_id, anchored in by_track.items():
        hint = hints.get(track_id)
        feet = _young_and_old(anchored, config)
        if feet is None or hint is None or hint.weight_n <= 0.0:
            continue
        young, old = feet
        gain = (_weight_misfit(young.force + old.force, hint.weight_n, config)
                - _weight_misfit(old.force, hint.weight_n, config))
        centre = young.centroid_m(config.cell_pitch)
        neighbour_near = any(math.hypot(centre[0] - x, centre[1] - y) <= config.stride_max
                             for other in hints.values() if other.track_id != track_id for x, y in other.feet_m)
        if gain > config.shed_misfit_gain and not neighbour_near:
            anchored.remove(young)
            shed.append(young)
    return shed


def _with_piece(foot: Footprint, piece: Footprint, config: DetectionConfig) -> Footprint:
    """`foot` with the cells of `piece` added; still the foot it was (touch-down point, track, age)."""
    merged = _make_footprint(np.concatenate([foot.cells, piece.cells]), _total_moments([foot, piece]),
                             _union_box([foot.box, piece.box]), config, None)
    return dataclasses.replace(merged, origin_rc=foot.origin_rc, anchor_track_id=foot.anchor_track_id, age=foot.age)


def _absorb_into_nearest(feet: list[Footprint], extra: Footprint, config: DetectionConfig) -> None:
    """Merge `extra`, a third piece of a track's previous feet, into the nearer of the first two `feet` (in
    place): the cells a person stood on stay theirs when their contact splits into more pieces than feet
    (a foot rolling off in two pads, two touching feet parting)."""
    pitch = config.cell_pitch
    centre = extra.centroid_m(pitch)
    k = min(range(2), key=lambda i: float(np.hypot(*(feet[i].centroid_m(pitch) - centre))))
    feet[k] = _with_piece(feet[k], extra, config)


def _absorb_fragment(feet: list[Footprint], config: DetectionConfig) -> None:
    """Merge (in place) the smaller of a track's two flat feet into the larger when it holds less than
    min_second_foot_fraction of the larger's cells: it is a fragment (cells of two people's touching feet,
    split off and kept by the track), not a foot. A person's two flat feet are about the same size; kept
    apart, the fragment filled the track's second foot and the person's next step could join nobody."""
    if len(feet) != 2 or min(foot.age for foot in feet) < config.foot_flat_frames:
        return
    large, small = sorted(feet, key=lambda foot: foot.cells.size, reverse=True)
    if small.cells.size < config.min_second_foot_fraction * large.cells.size:
        feet[:] = [_with_piece(large, small, config)]


def _box_reaches_border(box: tuple[int, int, int, int], frame_shape: tuple[int, int]) -> bool:
    """True when `box` (x1, y1, x2, y2) [cells], exclusive ends, reaches the border of the mat `frame_shape`."""
    x1, y1, x2, y2 = box
    return x1 <= 0 or y1 <= 0 or x2 >= frame_shape[1] or y2 >= frame_shape[0]


def _join_tracks(free: list[Footprint], by_track: dict[int, list[Footprint]], hints: dict[int, TrackHint],
                 frame_shape: tuple[int, int], config: DetectionConfig) -> set[int]:
    """Give free feet to the tracks standing on one foot (in place), by the assignment of least total
    cost (feet_pair_cost + `_path_cost` + `_weight_cost`) among those joining as many feet as possible;
    returns the indices of the free feet given. Greedy, nearest first, goes wrong face to face: a
    partner's landing foot is often nearer to the other person's stance foot than to its own (it lands
    at their toes), and taking it leaves its owner's next step to join nobody or the partner.
    A foot on the mat's border may be a person stepping back onto the mat next to a track: it joins a
    weighed track only if it pairs well with the stance foot (feet_pair_cost below
    edge_join_pair_cost_max) or makes up a weight deficit (`_weight_cost` below -edge_join_weight_gain:
    the stance foot is unloading, the track's next step is due); a person still standing on their full
    weight with a foot that does not match it is not landing this one."""
    tracks = [track_id for track_id, anchored in by_track.items() if len(anchored) == 1]
    if not free or not tracks:
        return set()
    cost = np.full((len(free), len(tracks)), math.inf)
    for i, foot in enumerate(free):
        on_border = _box_reaches_border(foot.box, frame_shape)
        for k, track_id in enumerate(tracks):
            stance = by_track[track_id][0]
            hint = hints.get(track_id)
            pair_cost = feet_pair_cost(foot, stance, config)
            cost[i, k] = pair_cost
            if hint is not None:
                weight_cost = _weight_cost(foot, stance, hint, config)
                if (hint.weight_n > 0.0 and on_border
                        and pair_cost > config.edge_join_pair_cost_max and weight_cost > -config.edge_join_weight_gain):
                    cost[i, k] = math.inf
                cost[i, k] += _path_cost(foot, stance, hint, config) + weight_cost
    feasible = np.isfinite(cost)
    if not feasible.any():
        return set()
    # Infeasible pairs cost more than all feasible ones together (some are negative: `_weight_cost`): the
    # fewest of them are chosen, then dropped.
    cost[~feasible] = 1.0 + np.abs(cost[feasible]).sum()
    used = set()
    for i, k in zip(*linear_sum_assignment(cost)):
        if feasible[i, k]:
            by_track[tracks[k]].append(free[i])
            used.add(int(i))
    return used


def group_footprints(feet: list[Footprint], frame_shape: tuple[int, int], config: DetectionConfig = DetectionConfig(),
                     prior: GroupingPrior | None = None) -> list[PersonDetection]:
    """Group feet into people: at most two feet each; a lone foot is a person (the other is swinging).

    1. Feet anchored to a previous track stay with it (its two largest; a smaller extra piece joins the
       nearer of them, `_absorb_into_nearest`, and a flat one far smaller than the other joins it,
       `_absorb_fragment`), except young feet handed to the track they more likely
       belong to (`_hand_over_young_feet`, `_rebalance_young_feet`), and young feet that would make their
       track carry far more than its body weight, which are set free (`_shed_foreign_feet`).
    2. Remaining feet join the tracks that have one foot by the assignment of least total cost
       (`_join_tracks`), joining one costing feet_pair_cost + how far it is off the track's path
       (`_path_cost`) + how much it worsens the track's weight balance (`_weight_cost`). Feet set free
       in 1. join none; a foot on the mat's border joins a fully loaded track only if it pairs well.
    3. Feet still free are paired greedily by ascending feet_pair_cost + new_pair_penalty.
    4. Feet still alone become single-foot people.
    """
    by_track: dict[int, list[Footprint]] = {}
    free: list[Footprint] = []
    for foot in feet:
        if foot.anchor_track_id is None:
            free.append(foot)
        else:
            by_track.setdefault(foot.anchor_track_id, []).append(foot)
    for anchored in by_track.values():
        if len(anchored) > 2:
            anchored.sort(key=lambda f: f.area, reverse=True)
            for extra in anchored[2:]:
                _absorb_into_nearest(anchored, extra, config)
            del anchored[2:]
        _absorb_fragment(anchored, config)

    hints = {hint.track_id: hint for hint in prior.hints} if prior is not None else {}
    _hand_over_young_feet(by_track, hints, config)
    _rebalance_young_feet(by_track, hints, config)
    shed = _shed_foreign_feet(by_track, hints, config)
    used = _join_tracks(free, by_track, hints, frame_shape, config)
    free += shed
    edges = sorted((cost + config.new_pair_penalty, i, j)
                   for i in range(len(free)) if i not in used for j in range(i + 1, len(free)) if j not in used
                   for cost in [feet_pair_cost(free[i], free[j], config)] if math.isfinite(cost))
    new_pairs: list[list[Footprint]] = []
    for _, i, j in edges:
        if i in used or j in used:
            continue
        new_pairs.append([free[i], free[j]])
        used.update((i, j))

    people = [person_from_feet(anchored, frame_shape, config, track_id) for track_id, anchored in by_track.items()]
    people += [person_from_feet(pair, frame_shape, config, None) for pair in new_pairs]
    people += [person_from_feet([foot], frame_shape, config, None) for i, foot in enumerate(free) if i not in used]
    return people


def attach_traces(frame: np.ndarray, threshold_kpa: float, people: list[PersonDetection],
                  config: DetectionConfig = DetectionConfig()) -> list[PersonDetection]:
    """`people` with each contact cell that no foot holds added to the box and cells of the person whose
    box is nearest to it, when within trace_reach; feet, force and centre stay as they were. Such traces
    are too small or light to be feet (min_blob_cells, min_foot_force_n): a heel touching down, the
    last of a toe pushing off. They are the person's contact all the same, and the box that labels a
    person (MIP's: every cell of theirs the mat reads above its threshold) holds them."""
    if not people:
        return people
    contact = frame > threshold_kpa
    for person in people:
        contact.ravel()[person.cells] = False
    cells = np.flatnonzero(contact)
    if cells.size == 0:
        return people
    cols = frame.shape[1]
    rows, columns = cells // cols, cells % cols
    boxes = np.array([person.box for person in people])[:, :, None]   # (people, 4, 1)
    # `_box_gap` of each cell's box (c, r, c + 1, r + 1) to each person's box: (people, cells).
    gap_x = np.maximum(0, np.maximum(boxes[:, 0] - (columns + 1), columns - boxes[:, 2]))
    gap_y = np.maximum(0, np.maximum(boxes[:, 1] - (rows + 1), rows - boxes[:, 3]))
    gap = np.hypot(gap_x, gap_y)
    nearest = gap.argmin(axis=0)
    within = gap[nearest, np.arange(cells.size)] <= config.trace_reach / config.cell_pitch
    attached = list(people)
    for k in np.unique(nearest[within]):
        mine = within & (nearest == k)
        traces_box = (int(columns[mine].min()), int(rows[mine].min()),
                      int(columns[mine].max()) + 1, int(rows[mine].max()) + 1)
        attached[k] = dataclasses.replace(people[k], cells=np.concatenate([people[k].cells, cells[mine]]),
                                          box=_union_box([people[k].box, traces_box]))
    return attached


class FootprintDetector:
    """Frame -> people: noise floor, footprint detection and grouping with an optional track prior."""

    def __init__(self, config: DetectionConfig = DetectionConfig()) -> None:
        self.config = config
        self.noise_floor = NoiseFloor(config)

    def __call__(self, frame: np.ndarray, prior: GroupingPrior | None = None) -> list[PersonDetection]:
        """People in `frame` (rows, cols) [kPa]."""
        threshold = self.noise_floor.update(frame)
        feet = detect_footprints(frame, threshold, self.config, prior)
        return attach_traces(frame, threshold, group_footprints(feet, frame.shape, self.config, prior), self.config)
