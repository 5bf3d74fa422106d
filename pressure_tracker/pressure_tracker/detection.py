"""Contact, feet and person detections from one pressure frame.

Conventions (shared by the whole package):
- A frame is a float32 array (rows, cols), nominally in kPa; cell (r, c) is row r, column c.
- Boxes are (x1, y1, x2, y2) in cells with x = column and y = row as in MIP; x1, y1 inclusive and
  x2, y2 exclusive, so width = x2 - x1 and the box covers columns x1..x2-1.
- Mat frame (presstrack_msgs/MatInfo, REP-103): metres, x along increasing column, y along increasing
  row, the centre of cell (r, c) at ((c + 0.5) * pitch, (r + 0.5) * pitch).
- Angles are radians about +z from +x (towards +y).

Pipeline, three steps and no special cases:
1. `NoiseFloor` (contact.py): a cell is in contact when it reads more than the unloaded cells' median plus
   `contact_sigmas` robust standard deviations, estimated from the frames themselves. The threshold
   scales with the data, so a file in another pressure unit gives the same contact; so does its floor of
   `min_contact_share` of the highest reading (a noise-free mat); an absolute floor (`min_contact_kpa`)
   applies only where the unit is known. A foot touching lightly (landing, lifting) reads above the limit
   of detection (`light_sigmas`, 3) before it reaches contact: a piece of LIGHT_MIN_CELLS connected cells
   above that, fewer than LIGHT_MIN_CELLS of them in contact, is contact too (noise makes no such piece).
2. `detect_feet`: contact cells alone among the light cells (8-connected) are sensor noise (a spike, a hot
   or stuck cell) and are dropped; a cell alone like that for `stuck_time` seconds is defective (`DefectiveCells`) and
   stays out of contact and rims even when a foot lands beside it; the remaining pieces closer than `foot_gap` [m] to each other are one foot by
   construction (heel, arch band, ball and toe pads of a foot are separated by at most a few cm), by
   labelling the pieces dilated by half that gap (a square: gaps along rows and columns). Linked contact
   longer than any foot (`foot_length_max`) is feet of two people, or a person's two feet, touching: it is
   cut at its widest gap (`_parts`). A foot needs `min_foot_area` [m^2] of contact.
3. `person_detection`: a person is the union of the feet the tracker gives them (assignment.py decides
   which feet belong together, from their motion and footprints); `with_rim` then adds to their box,
   cells and force the rim of their contact, connected cells down to a lower threshold.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from .contact import DefectiveCells, force_n

# 8-connectivity: diagonal neighbours belong to the same piece (thin toe and arch lines are often diagonal).
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)
# A light foot (no cell above the contact threshold) needs this many connected cells above the light threshold:
# noise passes 3 sigmas in 0.13 % of cells, so four connected ones (~1e-5 per frame on a whole mat) are a load.
LIGHT_MIN_CELLS = 4


@dataclass(frozen=True, eq=False)
class Foot:
    """One foot's contact in one frame.

    cells: flat indices (row * cols + col) of its cells; box x1,y1,x2,y2 [cells]; centroid_m (x, y) [m]:
    centre of pressure; force [N]; area [m^2]; length_m [m]: extent of its cells along its long axis;
    axis [rad, mod pi]: its long axis (of its cells' second moments); touches_edge: reaches the border;
    cut_from: for a part of linked contact longer than foot_length_max, that contact's first cell (shared by all
    its parts: one long shoe's, or two people's feet), else None.
    """

    cells: np.ndarray = field(repr=False)
    box: tuple[int, int, int, int]
    centroid_m: np.ndarray
    force: float
    area: float
    length_m: float
    axis: float
    touches_edge: bool
    cut_from: int | None = None


def detect_feet(frame: np.ndarray, threshold: float, cell_pitch: float, foot_gap: float, min_foot_area: float,
                foot_length_max: float = math.inf, defects: DefectiveCells | None = None, dt: float = 0.0,
                light_threshold: float | None = None) -> list[Foot]:
    """The feet of `frame` (rows, cols): see the module docstring, steps 2 and 3. `defects`, if given, keeps its
    defective cells out of contact and learns from this frame, taken dt [s] after the last. With
    `light_threshold` (below `threshold`), a piece of at least LIGHT_MIN_CELLS connected cells above it and fewer
    than LIGHT_MIN_CELLS of them above `threshold` is contact too: a foot touching lightly (landing, lifting), near the other people's feet."""
    contact = frame > threshold
    defective = defects.defective if defects is not None else np.zeros(0, dtype=np.int64)
    contact.ravel()[defective] = False
    if not contact.any():
        if defects is not None:
            defects.update(frame, threshold, np.zeros(0, dtype=np.int64), dt)
        return []
    # Work inside the bounding box (plus the dilation margin) of the contact and of the light cells that have a light
    # neighbour: a light foot may lie away from all contact (a dancer's other foot, half a metre off), and every
    # cell of a piece of 2+ cells has a neighbour in it, while the mat's lone noise cells widen nothing.
    # In raster order: the first and the last give the rows (bool reductions along an axis cost more).
    spanned = (contact if light_threshold is None else contact | _paired(frame > light_threshold)).ravel().nonzero()[0]
    reach = int(round(0.5 * foot_gap / cell_pitch))   # 0: every piece is its own foot
    spanned_cols = spanned % frame.shape[1]
    r0, r1 = max(0, spanned[0] // frame.shape[1] - reach), min(frame.shape[0], spanned[-1] // frame.shape[1] + reach + 1)
    c0, c1 = max(0, spanned_cols.min() - reach), min(frame.shape[1], spanned_cols.max() + reach + 1)
    window = contact[r0:r1, c0:c1]
    if light_threshold is None:
        shown = window
    else:
        # One labelling of the light cells serves both: a contact cell alone among them is noise, a piece of
        # light cells without contact is a light foot when it is too large for noise.
        shown = frame[r0:r1, c0:c1] > light_threshold
        if defective.size:
            shown.ravel()[_window_cells(defective, frame.shape, r0, r1, c0, c1)] = False
        shown |= window
    pieces, count = ndimage.label(shown, structure=_EIGHT_CONNECTED)
    # The rest works on the shown cells only (flat indices into the window, in raster order): a few % of it.
    cells = np.flatnonzero(shown)
    piece_of = pieces.ravel()[cells]
    piece_size = np.bincount(piece_of, minlength=count + 1)[piece_of]
    if light_threshold is None:
        in_contact = np.ones(cells.size, dtype=bool)
        kept = piece_size > 1
    else:
        in_contact = window.ravel()[cells]
        # A piece with fewer contact cells than a light foot has cells is judged as a light foot, by its light
        # cells: a foot touching lightly whose peak just passes the contact threshold is no less a foot (its 1-3
        # contact cells alone fall short of min_foot_area). Contact cells beside others are kept either way (a
        # small toe pad, linked to its foot by foot_gap).
        light_foot = np.bincount(piece_of[in_contact], minlength=count + 1)[piece_of] < LIGHT_MIN_CELLS
        kept = (in_contact & (piece_size > 1)) | (light_foot & (piece_size >= LIGHT_MIN_CELLS))
    if defects is not None:
        alone = cells[(piece_size == 1) & in_contact]
        defects.update(frame, threshold, (alone // window.shape[1] + r0) * frame.shape[1] + alone % window.shape[1] + c0,
                       dt)
    local = cells[kept]
    if not local.size:
        return []
    rows, cols = np.divmod(local, window.shape[1])
    if reach:
        # Dilated and labelled around the kept cells only (their box plus the reach, inside the window): the
        # dilation lies within it, so the labels are the same, and stray contact cells (noise) widen nothing.
        k0, k1 = max(0, rows[0] - reach), min(window.shape[0], rows[-1] + reach + 1)   # rows ascend
        j0, j1 = max(0, cols.min() - reach), min(window.shape[1], cols.max() + reach + 1)
        keep = np.zeros((k1 - k0, j1 - j0), dtype=bool)
        keep[rows - k0, cols - j0] = True
        labels, _ = ndimage.label(_grown(keep, reach), structure=_EIGHT_CONNECTED)
        foot_of = labels[rows - k0, cols - j0]
    else:
        foot_of = piece_of[kept]
    rows += r0
    cols += c0
    flat = rows * frame.shape[1] + cols
    values = frame.ravel()[flat].astype(np.float64)
    order = np.argsort(foot_of, kind="stable")
    foot_of, rows, cols, flat, values = foot_of[order], rows[order], cols[order], flat[order], values[order]
    starts = np.concatenate(([0], np.flatnonzero(foot_of[1:] != foot_of[:-1]) + 1, [foot_of.size]))
    feet: list[Foot] = []
    for start, end in zip(starts[:-1], starts[1:]):
        _add_feet(feet, rows[start:end], cols[start:end], values[start:end], flat[start:end], frame.shape,
                  cell_pitch, min_foot_area, foot_length_max, reach)
    return feet


def _paired(mask: np.ndarray) -> np.ndarray:
    """The True cells of `mask` with a True 8-neighbour."""
    rows, cols = mask.shape
    # Neighbours as offsets along a flat copy with one empty column after each row (so no row wraps onto the
    # next): contiguous 1-D operations, about 3 times faster than the same on strided 2-D slices.
    width = cols + 1
    padded = np.zeros((rows, width), dtype=bool)
    padded[:, :cols] = mask
    flat = padded.ravel()
    paired = np.zeros_like(flat)
    for step in (1, width - 1, width, width + 1):   # the neighbour along the row, down-left, down, down-right
        both = flat[:-step] & flat[step:]
        paired[:-step] |= both
        paired[step:] |= both
    return paired.reshape(rows, width)[:, :cols]


def _window_cells(flat: np.ndarray, shape: tuple[int, int], r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """Flat indices inside the window [r0, r1) x [c0, c1) of the cells `flat` (flat indices of a frame of `shape`)
    that lie in it."""
    rows, cols = np.divmod(flat, shape[1])
    inside = (rows >= r0) & (rows < r1) & (cols >= c0) & (cols < c1)
    return (rows[inside] - r0) * (c1 - c0) + cols[inside] - c0


def _add_feet(feet: list[Foot], rows: np.ndarray, cols: np.ndarray, values: np.ndarray, flat: np.ndarray,
              shape: tuple[int, int], cell_pitch: float, min_foot_area: float, foot_length_max: float, reach: int,
              cut_from: int | None = None) -> None:
    """Append the foot made of these cells to `feet`; if they are longer than a foot, the feet of its two
    parts (`_parts`)."""
    n = rows.size
    total = float(values.sum())
    if n * cell_pitch * cell_pitch < min_foot_area or not total > 0:
        return
    # The float64 sums ndarray.mean takes, without its Python layers (called per foot, every frame).
    dr, dc = rows - np.add.reduce(rows, dtype=np.float64) / n, cols - np.add.reduce(cols, dtype=np.float64) / n
    vrr, vcc, vrc = float(dr @ dr) / n, float(dc @ dc) / n, float(dr @ dc) / n
    axis = 0.5 * math.atan2(2.0 * vrc, vcc - vrr)
    along = dc * math.cos(axis) + dr * math.sin(axis)
    length = (float(along.max() - along.min()) + 1.0) * cell_pitch
    if length > foot_length_max:
        for half in _parts(rows, cols, along, reach):
            _add_feet(feet, rows[half], cols[half], values[half], flat[half], shape, cell_pitch, min_foot_area,
                      foot_length_max, reach, int(flat[0]) if cut_from is None else cut_from)
        return
    feet.append(_foot(rows, cols, values, flat, axis, length, shape, cell_pitch, total, cut_from))


def _grown(mask: np.ndarray, radius: int) -> np.ndarray:
    """`mask` dilated by a square of half-side `radius` [cells]: along columns, then along rows, the OR over
    2 * radius + 1 cells, built by doubling (OR with itself shifted by 1, 2, 4, ... cells) on a copy padded with
    radius empty cells each side (several times faster than scipy's 1-D maximum filters on these small bool
    images). The result is C-contiguous (labelling a strided view is slower)."""
    size = 2 * radius + 1
    rows, cols = mask.shape
    wide = np.zeros((rows, cols + 2 * radius), dtype=bool)
    wide[:, radius:radius + cols] = mask
    # Along columns on the flat array (contiguous, ~2x faster than the columns of a transposed view): the `size`
    # cells ORed into each of a row's first `cols` cells (those kept below) lie within that padded row, so what
    # spills into the next row is never read.
    _or_forward(wide.ravel(), size)
    tall = np.zeros((rows + 2 * radius, cols), dtype=bool)
    tall[radius:radius + rows] = wide[:, :cols]
    _or_forward(tall, size)
    return tall[:rows]


def _or_forward(padded: np.ndarray, size: int) -> None:
    """In place along axis 0: row i becomes the OR of rows i .. i + size - 1 (rows past the end count as empty)."""
    covered = 1   # row i holds the OR of rows i .. i + covered - 1
    while covered < size:
        step = min(covered, size - covered)
        padded[:-step] |= padded[step:]
        covered += step


def _parts(rows: np.ndarray, cols: np.ndarray, along: np.ndarray, reach: int) -> list[np.ndarray]:
    """Indices of the parts of linked contact too long for a foot: the cut of its single linkage at the widest
    gap (the pieces linked with the largest dilation below `reach` [cells] that leaves more than one part),
    or, for one piece (feet pressed together), where the positions along its long axis fall in two groups
    (Otsu)."""
    r0, c0 = rows.min() - reach, cols.min() - reach
    image = np.zeros((rows.max() - r0 + reach + 1, cols.max() - c0 + reach + 1), dtype=bool)
    image[rows - r0, cols - c0] = True
    # A larger dilation only joins parts, never splits one: the radii that leave more than one part are 0 up to
    # some radius, found by bisection (two or three labellings instead of up to `reach`).
    found, low, high = None, 0, reach - 1
    while low <= high:
        radius = (low + high) // 2
        labels, count = ndimage.label(_grown(image, radius) if radius else image, structure=_EIGHT_CONNECTED)
        if count >= 2:
            found, low = (labels, count), radius + 1
        else:
            high = radius - 1
    if found is not None:
        labels, count = found
        part_of = labels[rows - r0, cols - c0]
        return [np.flatnonzero(part_of == part) for part in range(1, count + 1)]
    order = np.argsort(along, kind="stable")
    cumulative = np.cumsum(along[order] - along.mean())[:-1]
    k = np.arange(1, along.size)
    # Between-group variance of splitting after the k smallest positions.
    split = int(np.argmax(cumulative * cumulative * along.size / (k * (along.size - k)))) + 1
    return [order[:split], order[split:]]


def _foot(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, flat: np.ndarray, axis: float, length: float,
          shape: tuple[int, int], cell_pitch: float, total: float, cut_from: int | None = None) -> Foot:
    """The foot of these cells; total: the sum of their `values` [kPa]."""
    cr, cc = float(rows @ values) / total, float(cols @ values) / total
    box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
    return Foot(flat, box, np.array([(cc + 0.5) * cell_pitch, (cr + 0.5) * cell_pitch]),
                float(force_n(total, cell_pitch)), rows.size * cell_pitch * cell_pitch, length, axis,
                box_reaches_border(box, shape), cut_from)


def split_by_owner(foot: Foot, owner: np.ndarray, frame: np.ndarray, cell_pitch: float, foot_gap: float,
                   foot_length_max: float) -> list[Foot]:
    """`foot` cut into one foot per owner: `owner` holds, per cell of `foot.cells`, who held it before (an integer;
    -1: nobody, or somebody holding too little of it to count), and each cell nobody held goes to the owner of the
    nearest cell held. The contact of two people's feet pressed together is shaped like one foot (no gap, no
    excess length): what tells the feet apart is that a foot in stance does not move, so each keeps the cells it
    held (assignment.py gives the owners)."""
    rows, cols = np.divmod(foot.cells, frame.shape[1])
    owners = _nearest_owner(rows, cols, owner)
    values = frame.ravel()[foot.cells].astype(np.float64)
    reach = int(round(0.5 * foot_gap / cell_pitch))
    parts: list[Foot] = []
    for part in np.unique(owners):
        cells = owners == part
        _add_feet(parts, rows[cells], cols[cells], values[cells], foot.cells[cells], frame.shape, cell_pitch, 0.0,
                  foot_length_max, reach)
    return parts


def _nearest_owner(rows: np.ndarray, cols: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Per cell (rows, cols), its `owner`, or for a cell nobody held (-1) the owner of the nearest held cell
    (Euclidean, in cells)."""
    held = owner >= 0
    if held.all():
        return owner
    r0, c0 = rows.min(), cols.min()
    known = np.zeros((rows.max() - r0 + 1, cols.max() - c0 + 1), dtype=bool)
    known[rows[held] - r0, cols[held] - c0] = True
    # Index of the nearest held cell of every cell of the foot's box.
    _, (near_r, near_c) = ndimage.distance_transform_edt(~known, return_indices=True)
    owner_at = np.full(known.shape, -1)
    owner_at[rows[held] - r0, cols[held] - c0] = owner[held]
    return owner_at[near_r[rows - r0, cols - c0], near_c[rows - r0, cols - c0]]


def box_reaches_border(box: tuple[int, int, int, int], shape: tuple[int, int]) -> bool:
    return box[0] <= 0 or box[1] <= 0 or box[2] >= shape[1] or box[3] >= shape[0]


@dataclass(frozen=True, eq=False)
class PersonDetection:
    """One person's feet in one frame, before any identity.

    box: x1,y1,x2,y2 [cells] around all their cells, exclusive ends; cells: flat indices of their cells in
    a frame of `frame_shape`; centroid_rc (row, col) [cells] and centroid_m (x, y) [m]: centre of
    pressure; force [N]; contact_area [m^2]; confidence in [0, 1]: contact area over a standing person's
    (two flat feet, `FULL_CONTACT_AREA`), capped at 1 (scale-free, unlike force); foot_axis [rad, mod pi]:
    long axis of the larger foot.
    """

    feet: tuple[Foot, ...]
    box: tuple[int, int, int, int]
    cells: np.ndarray = field(repr=False)
    frame_shape: tuple[int, int]
    centroid_rc: tuple[float, float]
    centroid_m: tuple[float, float]
    force: float
    contact_area: float
    confidence: float
    foot_axis: float

    @property
    def mask(self) -> np.ndarray:
        """(rows, cols) bool, True on this person's own cells."""
        mask = np.zeros(self.frame_shape, dtype=bool)
        mask.ravel()[self.cells] = True
        return mask

    @property
    def touches_edge(self) -> bool:
        """True when a foot reaches the mat's border: part of the person may stand off the mat."""
        return any(foot.touches_edge for foot in self.feet)


def with_rim(people: list[PersonDetection], frame: np.ndarray, rim_threshold: float, cell_pitch: float,
             defective: np.ndarray | None = None) -> list[PersonDetection]:
    """`people` with the rim of their contact in their box, cells, force and area: connected cells above
    `rim_threshold` (below the contact threshold: where a foot's pressure fades into the noise) that touch
    one person's cells. Their feet and centre of pressure, from which people are told apart, stay as they
    were. A rim region touching two people's cells is left out, and so are `defective` cells (flat indices)."""
    if not people:
        return people
    # Only around the people: a rim reaching farther than _RIM_REACH from their contact is cut there.
    margin = int(math.ceil(_RIM_REACH / cell_pitch))
    r0 = max(0, min(p.box[1] for p in people) - margin)
    r1 = min(frame.shape[0], max(p.box[3] for p in people) + margin)
    c0 = max(0, min(p.box[0] for p in people) - margin)
    c1 = min(frame.shape[1], max(p.box[2] for p in people) + margin)
    above = frame[r0:r1, c0:c1] > rim_threshold
    if defective is not None and defective.size:
        above.ravel()[_window_cells(defective, frame.shape, r0, r1, c0, c1)] = False
    window, count = ndimage.label(above, structure=_EIGHT_CONNECTED)
    regions = window.ravel()
    # The rim region of each person's cells, all people at once (the loop per person was most of the cost).
    rows, cols = np.divmod(np.concatenate([person.cells for person in people]), frame.shape[1])
    own = regions[(rows - r0) * window.shape[1] + cols - c0]
    sizes = [person.cells.size for person in people]
    index_of = np.repeat(np.arange(len(people)), sizes)
    ends = list(itertools.accumulate(sizes))
    # Person index of each rim region: the one person touching it; -1: nobody's, -2: shared.
    touched = np.zeros((len(people), count + 1), dtype=bool)
    touched[index_of, own] = True
    owner = np.where(touched.any(axis=0), np.argmax(touched, axis=0), -1)
    owner[touched.sum(axis=0) > 1] = -2
    owner[0] = -1
    local = np.flatnonzero(above)   # the labelled cells: nonzero of the bool mask is several times faster
    rim_rows, rim_cols = np.divmod(local, window.shape[1])
    rim_rows += r0
    rim_cols += c0
    in_rim = rim_rows * frame.shape[1] + rim_cols
    rim_owner = owner[regions[local]]
    grown = []
    for index, person in enumerate(people):
        mine = rim_owner == index
        extra = in_rim[mine]
        if extra.size == 0:
            grown.append(person)
            continue
        # The rim regions hold the person's own cells in them; the rest of their cells lie in shared regions. All
        # their cells are in the new cells: the box is theirs grown by the rim's.
        cells = np.concatenate([extra, person.cells[owner[own[ends[index] - sizes[index]:ends[index]]] != index]])
        rows, cols = rim_rows[mine], rim_cols[mine]   # in raster order: rows ascend
        box = (min(person.box[0], int(cols.min())), min(person.box[1], int(rows[0])),
               max(person.box[2], int(cols.max()) + 1), max(person.box[3], int(rows[-1]) + 1))
        area = cells.size * cell_pitch * cell_pitch
        grown.append(PersonDetection(person.feet, box, cells, person.frame_shape, person.centroid_rc, person.centroid_m,
                                     float(force_n(float(frame.ravel()[cells].sum()), cell_pitch)), area,
                                     person.confidence, person.foot_axis))
    return grown


_RIM_REACH = 0.10  # [m] a rim is looked for this far around people's contact at most
FULL_CONTACT_AREA = 0.025  # [m^2] two flat adult feet


def person_detection(feet: list[Foot] | tuple[Foot, ...], frame_shape: tuple[int, int], cell_pitch: float
                     ) -> PersonDetection:
    """The person standing on `feet` (one or more)."""
    force = sum(foot.force for foot in feet)
    area = sum(foot.area for foot in feet)
    if force > 0:
        x, y = sum(foot.centroid_m * foot.force for foot in feet) / force
    else:
        x, y = np.mean([foot.centroid_m for foot in feet], axis=0)
    box = (min(f.box[0] for f in feet), min(f.box[1] for f in feet), max(f.box[2] for f in feet),
           max(f.box[3] for f in feet))
    cells = feet[0].cells if len(feet) == 1 else np.concatenate([foot.cells for foot in feet])
    largest = max(feet, key=lambda foot: foot.area)
    return PersonDetection(tuple(feet), box, cells, frame_shape, (y / cell_pitch - 0.5, x / cell_pitch - 0.5),
                           (float(x), float(y)), float(force), float(area), min(1.0, area / FULL_CONTACT_AREA),
                           largest.axis)
