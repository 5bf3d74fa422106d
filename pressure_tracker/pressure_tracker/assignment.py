"""Which feet belong to whom in one frame (`FramePlanner.plan`), decided without touching any state:
0. a contact whose cells two people's whole feet held in the previous frame is cut into one foot per person by
   those cells (`_split_by_history`): two people's feet pressed together show no gap and no excess length, but a
   foot in stance does not move; nor does it widen: cells nobody held, more than half a foot gap beside one
   person's whole foot across its axis, are another foot landing next to it (somebody else's if somebody else
   takes it in step 2, else still that person's);
1. every person's centre of pressure (CoP) is predicted by a constant-velocity Kalman filter; where their
   next foot can land is the segment from that prediction to one step ahead of it (their walking velocity,
   the CoP's displacement over the last stride, times step_time);
2. feet are assigned to people by one global assignment (Hungarian) on a cost in metres: the distance from
   the foot to that segment, minus, for a foot on cells the person's feet held in the previous frame, up
   to step_reach (a foot in stance does not move: continuity wins over any prediction, which keeps two
   people apart when they pass close; a foot just landed counts less, as it may be someone else's). A foot
   is within a person's reach up to step_reach from the segment along their walking direction but only
   lateral_reach across it (a step goes far forward, never far sideways: two people walking abreast stay
   two), while they walk in a line along their feet; standing, starting or turning, step_reach every way.
   People present are served first (_FOOT_SLOTS contact regions each), then people who lost their feet
   within a stride's time (reach growing at walk_speed), then a foot left clear of the border goes to a person
   present on one foot within max_step of it who shifts weight off that foot (a far step, `_far_steps`), a part of
   a shoe cut for its length to whoever took its other part (`_rejoin_cut_feet`), then the feet left start new
   people (two feet within a step of each other, in the frame of their axis, are one person);
3. a local search moves single feet between people (or to a new person) where that lowers the cost plus
   the people's weight misfit: the mat carries a person's whole weight at every instant, so a person
   holding far more force than their weight holds someone else's foot (less than their weight says nothing
   of a person with a foot at the mat's border, who may stand partly beyond it); then a person walking forward
   (from heading_min_speed) whose feet lie farther apart across the walk than lateral_reach holds somebody
   else's: their feet are parted at the widest sideways gap, the far side starting a new person
   (`_part_wide_people`), unless that side landed within step_time while the other side unloads (a side step).

A frame that proves to hold too many people (a noise storm) can be dropped for free. `PeopleTracker` (tracking.py)
applies the plan and holds the state read here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .config import TrackerConfig
from .detection import Foot, PersonDetection, person_detection, split_by_owner
from .heading import shows_axis
from .motion import Track, _across, _feet_axis, _walking_axis

_NEVER = 1e6            # cost of a pair outside the gate
_FOOT_SLOTS = 3          # contact regions one person may have: two feet, one of them in two parts (a foot longer than
                         # foot_length_max is split; a heel landing at the other foot's toes)
_MAX_MISFIT = 2.0        # weight misfit (in load_tolerance) of a person without feet, and of any underloaded one at most


@dataclass
class FramePlan:
    """What one frame decides: the person detection of each existing track with feet (index into tracks ->
    detection) and of each new person; `detections`: all of them, before identities."""

    dt: float
    matched: dict[int, PersonDetection]
    new_people: list[PersonDetection]
    foot_ages: dict[int, float]   # id(foot) -> its age [s] this frame
    held_before: dict[int, list[int]]   # id(foot) -> the last frame's feet (indices into _held) whose cells it holds

    @property
    def detections(self) -> list[PersonDetection]:
        return list(self.matched.values()) + self.new_people


class FramePlanner:
    """The decision half of `PeopleTracker` (tracking.py), which holds what it reads: config, tracks, and the
    feet of the previous frame (_owner: flat, 1 + index into _held of the foot that held each cell; _held)."""

    config: TrackerConfig
    tracks: list[Track]
    _owner: np.ndarray | None
    _held: list[tuple[int, float, bool, float]]

    # --- one frame: decide ------------------------------------------------------------------------
    def plan(self, feet: list[Foot], frame: np.ndarray, dt: float) -> FramePlan:
        """Decide which feet of `frame` belong to whom, without changing any state."""
        cfg = self.config
        frame_shape = frame.shape
        feet, landed_beside = self._split_by_history(feet, frame)
        owner = np.full(len(feet), -1)   # track index of each foot, -1: a new person's
        share, ages, held_before = self._continuity(feet)
        if self.tracks and feet:
            cost = self._costs(feet, dt, share, ages)
            # Feet go to the people present first (a few slots each, or a new person at new_person_cost), then
            # those left to people who lost their feet recently (they may have stepped off and back on).
            lost = np.array([track.frames_since_update > 0 for track in self.tracks])
            new = np.full((len(feet), len(feet)), _NEVER)
            np.fill_diagonal(new, cfg.new_person_cost * cfg.step_reach)
            present = np.where(lost[None, :], _NEVER, cost)
            slots = np.concatenate([present] * _FOOT_SLOTS + [new], axis=1)
            for f, s in zip(*linear_sum_assignment(slots)):
                owner[f] = s % len(self.tracks) if s < _FOOT_SLOTS * len(self.tracks) else -1
            free = np.flatnonzero(owner < 0)
            if lost.any() and free.size:
                returning = np.where(lost[None, :], cost[free], _NEVER)
                for f, t in zip(*linear_sum_assignment(returning)):
                    if returning[f, t] < _NEVER:
                        owner[free[f]] = t
            _rejoin_cut_feet(feet, cost, owner)
            self._far_steps(feet, owner)
            self._balance_weights(feet, cost, owner)
            for f, holder in landed_beside.items():
                if owner[f] < 0:   # nobody else present took it: the holder's own other foot (a narrow step, a turn)
                    owner[f] = holder
            self._part_wide_people(feet, cost, share, ages, owner)
        matched: dict[int, list[Foot]] = {}
        for foot, t in zip(feet, owner):
            if t >= 0:
                matched.setdefault(int(t), []).append(foot)
        free = [foot for foot, t in zip(feet, owner) if t < 0]
        continued = share.any(axis=1)
        return FramePlan(dt, {t: person_detection(group, frame_shape, cfg.cell_pitch) for t, group in matched.items()},
                         [person_detection(group, frame_shape, cfg.cell_pitch)
                          for group in _pair_new_feet(free, cfg)],
                         {id(foot): age + dt if continued[f] else 0.0 for f, (foot, age) in enumerate(zip(feet, ages))},
                         {id(foot): held for foot, held in zip(feet, held_before)})

    def _far_steps(self, feet: list[Foot], owner: np.ndarray) -> None:
        """Give (in `owner`, in place) a foot nobody took to a person present who stands on one foot within max_step
        of it and shifts weight off that foot this frame: a long step (a dancer's side step, a stride from one foot
        at the mat's border) lands beyond step_reach of the centre of pressure, and its weight comes from the foot
        left behind. A newcomer's first foot adds weight to the mat; nobody present lifts it. The nearest such
        person takes the foot, each at most one; no more than their body weight (load_tolerance) may land on them."""
        cfg = self.config
        free = [f for f in np.flatnonzero(owner < 0).tolist() if not feet[f].touches_edge]   # at the border: arriving
        if not free:
            return
        # People present on one foot that carries less than their feet did in the last frame: (track, that foot,
        # the most that may land on them).
        shifting = []
        for t, track in enumerate(self.tracks):
            mine = np.flatnonzero(owner == t)
            if track.frames_since_update or mine.size != 1:
                continue
            before = sum(foot.force for foot in track.detection.feet)
            if feet[mine[0]].force < before:
                heaviest = track.weight_n * math.exp(cfg.load_tolerance) if track.weight_n > 0 else math.inf
                shifting.append((t, feet[mine[0]], heaviest))
        pairs = []
        for f in free:
            for t, standing, heaviest in shifting:
                reach = float(np.linalg.norm(feet[f].centroid_m - standing.centroid_m))
                if reach <= cfg.max_step and standing.force + feet[f].force <= heaviest:
                    pairs.append((reach, f, t))
        taken: set[int] = set()
        for _, f, t in sorted(pairs):
            if owner[f] < 0 and t not in taken:
                owner[f] = t
                taken.add(t)

    def _balance_weights(self, feet: list[Foot], cost: np.ndarray, owner: np.ndarray) -> None:
        """Improve the assignment `owner` (in place) by moving single feet between people (or to a new
        person) while that lowers the total cost: the feet's costs plus, per person of known weight, step_reach
        times the misfit log(force of their feet / body weight) / load_tolerance (below their weight capped
        at _MAX_MISFIT, that of a person without feet; none for a person with a foot at the mat's border, who may
        stand partly off it). The mat carries a person's whole weight at every instant: two people whose feet came
        close get theirs back by it, which position alone cannot tell."""
        cfg = self.config
        weights = np.array([track.weight_n for track in self.tracks])
        if not (weights > 0).any():
            return
        forces = np.array([foot.force for foot in feet])
        move_cost = np.concatenate([cost, np.full((len(feet), 1), cfg.new_person_cost * cfg.step_reach)], axis=1)  # last column: new

        at_edge = np.array([foot.touches_edge for foot in feet])

        def misfit(t: int, load: float, edge: int) -> float:
            # Less load than weight is common (a foot off the mat, a light touch): it counts up to a cap, the
            # misfit of a person without feet, and not at all while a foot of theirs reaches the mat's border (the
            # rest of them may stand beyond it). More is not (walking loads the feet by at most ~1.2 x weight).
            weight = weights[t]
            if weight <= 0:
                return 0.0
            if load >= weight:
                return math.log(load / weight) / cfg.load_tolerance
            if edge:
                return 0.0
            return min(_MAX_MISFIT, math.log(weight / load) / cfg.load_tolerance) if load > 0 else _MAX_MISFIT

        loads = np.zeros(len(self.tracks))
        counts = np.zeros(len(self.tracks), dtype=int)
        edge_feet = np.zeros(len(self.tracks), dtype=int)
        for f, t in enumerate(owner):
            if t >= 0:
                loads[t] += forces[f]
                counts[t] += 1
                edge_feet[t] += at_edge[f]
        for _ in range(2 * len(feet)):
            best_gain, best_move = 1e-9, None
            for f, source in enumerate(owner):
                here = move_cost[f, source] if source >= 0 else move_cost[f, -1]
                leave = (cfg.step_reach * (misfit(source, loads[source] - forces[f], edge_feet[source] - at_edge[f])
                                           - misfit(source, loads[source], edge_feet[source])) if source >= 0 else 0.0)
                for target in range(-1, len(self.tracks)):
                    if target == source or (target >= 0 and (counts[target] >= _FOOT_SLOTS or cost[f, target] >= _NEVER)):
                        continue
                    there = move_cost[f, target] if target >= 0 else move_cost[f, -1]
                    join = (cfg.step_reach * (misfit(target, loads[target] + forces[f], edge_feet[target] + at_edge[f])
                                              - misfit(target, loads[target], edge_feet[target])) if target >= 0 else 0.0)
                    gain = here - there - leave - join
                    if leave + join < 0 and gain > best_gain and \
                            not (target >= 0 and self._too_wide(feet, np.append(np.flatnonzero(owner == target), f), target)):
                        best_gain, best_move = gain, (f, source, target)   # moved for weight, not for position alone
            if best_move is None:
                return
            f, source, target = best_move
            owner[f] = target
            if source >= 0:
                loads[source] -= forces[f]
                counts[source] -= 1
                edge_feet[source] -= at_edge[f]
            if target >= 0:
                loads[target] += forces[f]
                counts[target] += 1
                edge_feet[target] += at_edge[f]

    def _part_wide_people(self, feet: list[Foot], cost: np.ndarray, share: np.ndarray, ages: np.ndarray,
                          owner: np.ndarray) -> None:
        """Release to new people (in `owner`, in place) the feet that make a person walking forward wider than one
        person: one person's feet lie within lateral_reach of each other across the line they walk (`_across`); two
        people walking side by side taken for one are wider (a merged birth, a foot given to the wrong one). Such a
        person's feet are cut at the widest sideways gap between them, when each side holds a whole foot
        (`shows_axis`); the person keeps the side holding more of the cells their feet held in the last frame (a
        foot in stance does not move), else the side nearer where they were predicted. Not while the released side
        landed less than step_time ago and the kept side unloads (`_unloading`): a side step (a dancer's), whose weight
        moves onto the landing foot; a second person's foot landing adds weight and takes none from the first."""
        for t in sorted(set(owner[owner >= 0].tolist())):   # np.unique's sort costs more on a few feet
            mine = np.flatnonzero(owner == t)
            while mine.size >= 2:
                across = _across(feet, mine, self.tracks[t], self.config)
                if across is None or across.max() - across.min() <= self.config.lateral_reach:
                    break
                order = np.argsort(across)
                cut = int(np.argmax(np.diff(across[order]))) + 1
                sides = (mine[order[:cut]], mine[order[cut:]])
                if not all(any(shows_axis(feet[f], self.config) for f in side) for side in sides):
                    break   # the pieces of a foot landing or lifting may lie anywhere about it
                held = [(sum(share[f, t] * feet[f].area for f in side), -cost[side, t].min()) for side in sides]
                kept, released = sides if held[0] >= held[1] else sides[::-1]
                if (ages[released] < self.config.step_time).all() and self._unloading(feet, kept, self.tracks[t]):
                    break   # a side step: feet landing aside as the weight leaves the feet they landed beside
                owner[released] = -1
                mine = kept

    def _unloading(self, feet: list[Foot], side: np.ndarray, track: Track) -> bool:
        """Whether `feet[side]` carry less than the feet of `track`'s last frame whose cells they hold did, by more
        than load_tolerance: the weight moves off them (onto a foot landing elsewhere)."""
        cells = np.concatenate([feet[f].cells for f in side])
        before = sum(foot.force for foot in track.detection.feet if np.isin(foot.cells, cells).any())
        now = sum(feet[f].force for f in side)
        return now < before * math.exp(-self.config.load_tolerance)

    def _too_wide(self, feet: list[Foot], mine: np.ndarray, t: int) -> bool:
        """Whether `feet[mine]` are wider than person `t` can stand (`_part_wide_people`)."""
        across = _across(feet, mine, self.tracks[t], self.config)
        return across is not None and across.max() - across.min() > self.config.lateral_reach

    def _costs(self, feet: list[Foot], dt: float, share: np.ndarray, ages: np.ndarray) -> np.ndarray:
        """(feet, tracks) cost [m] of each foot joining each person; _NEVER outside the gate. share, ages: see
        `_continuity`.

        In the person's walking frame (`_walking_axis`), a foot beyond the segment from their predicted centre
        of pressure to one step ahead by `beyond` and beside it by `across` is within reach when |beyond| <=
        step_reach and |across| <= lateral_reach (a step reaches far forward, never far sideways); it costs its
        distance from the segment, hypot(beyond, across). Without a walking frame, step_reach holds every way."""
        cfg = self.config
        centres = np.array([foot.centroid_m for foot in feet])
        cost = np.full((len(feet), len(self.tracks)), _NEVER)
        # A foot in stance does not move: holding cells a person's foot held is worth up to a full step_reach,
        # reached as the foot settles over a step (a foot just landed may still be someone else's).
        continuity = share * cfg.step_reach * np.minimum(1.0, (ages + dt) / cfg.step_time)[:, None]
        for t, track in enumerate(self.tracks):
            # A person without feet for a moment (a jump) can be anywhere within walk_speed times that of where
            # they were; after a stride's time, or at once if they may have walked off the mat (the next person
            # there may be somebody else), they come back through re-identification. A newcomer whose id is
            # still provisional has no identity to lose: its flickering first touches at the edge are continued.
            if track.seconds_lost > 2.0 * cfg.step_time or \
                    (track.seconds_lost > 0 and track.identified and track.left_over_edge(cfg)):
                continue
            grown = cfg.walk_speed * track.seconds_lost
            forward_reach = cfg.step_reach + grown
            start = track.kalman.predicted(dt)[:2]
            ahead = track.walking_velocity() * cfg.step_time
            axis = _walking_axis(track, cfg)
            walking = axis is not None
            if not walking:   # a step may go any way: distances from the segment itself
                length = math.hypot(*ahead)
                axis = ahead / length if length > 0 else np.array([1.0, 0.0])
            offset = centres - start
            along = offset @ axis
            across = offset @ np.array([-axis[1], axis[0]])
            ahead_along = float(ahead @ axis)
            length = abs(ahead_along)
            # The segment runs forward from the prediction; a walking axis is known modulo pi.
            low, high = (0.0, length) if ahead_along >= 0 else (-length, 0.0)
            beyond = along - np.minimum(np.maximum(along, low), high)
            distance = np.hypot(beyond, across)
            if walking:
                inside = (np.abs(beyond) <= forward_reach) & (np.abs(across) <= cfg.lateral_reach + grown)
            else:
                inside = distance <= forward_reach
            cost[:, t] = np.where(inside | (share[:, t] > 0), distance - continuity[:, t], _NEVER)
        return cost

    def _split_by_history(self, feet: list[Foot], frame: np.ndarray) -> tuple[list[Foot], dict[int, int]]:
        """`feet` with each foot that holds other people's feet as well cut into one foot per person (`split_by_owner`):
        feet of two people pressed together, side by side or toe to heel, read as one contact no wider or longer
        than a foot, but a foot in stance does not move. A contact whose cells two or more people's whole feet
        (`shows_axis`) held in the previous frame (at least min_foot_area each) is cut so that each keeps the cells
        it held; one holding a single person's whole foot and, beside it (`_beside`), at least min_foot_area of
        cells nobody held is that foot and a foot landing next to it (two people's feet closer than a foot gap);
        the second value maps each such landing foot (index into the feet returned) to the track that holds the
        foot it landed beside: it is somebody else's only if somebody else present takes it (`plan`)."""
        landed_beside: dict[int, int] = {}
        if self._owner is None or not self._held:
            return feet, landed_beside
        cfg = self.config
        # By _owner's value (0: nobody's); only whole feet count: a part of a foot cut from another contact may be
        # a mix of two people's feet, which history must not carry on.
        held_track = np.array([-1] + [t if whole else -1 for t, _, whole, _ in self._held])
        min_cells = cfg.min_foot_area / (cfg.cell_pitch * cfg.cell_pitch)
        out = []
        for foot in feet:
            held = self._owner[foot.cells]
            owner = held_track[held]
            counts = np.bincount(owner + 1, minlength=len(self.tracks) + 1)[1:]
            holders = np.flatnonzero(counts >= min_cells)
            # Most feet are one person's foot in stance, with fewer than min_cells cells they did not hold.
            if holders.size == 0 or (holders.size == 1 and foot.cells.size - counts[holders[0]] < min_cells):
                out.append(foot)
                continue
            owner = np.where((owner >= 0) & (counts[owner] >= min_cells), owner, -1)   # a few cells of somebody are nobody's
            if holders.size == 1:
                beside = self._beside(foot, held, owner, frame.shape)
                if np.count_nonzero(beside) < min_cells:
                    out.append(foot)
                    continue
                owner[beside] = len(self.tracks)   # somebody else's foot
            for part in split_by_owner(foot, owner, frame, cfg.cell_pitch, cfg.foot_gap, cfg.foot_length_max):
                if holders.size == 1 and not np.any(held_track[self._owner[part.cells]] == holders[0]):
                    landed_beside[len(out)] = int(holders[0])
                out.append(part)
        return out, landed_beside

    def _beside(self, foot: Foot, held: np.ndarray, owner: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Which cells of `foot` nobody held (`owner` -1) lie beside the whole foot that held most of the others
        (`held`: 1 + index into _held per cell) by more than half a foot gap across its axis: a foot in stance does
        not move or widen, so they are a foot landing next to it."""
        index = int(np.bincount(held, weights=owner >= 0).argmax())
        axis = self._held[index - 1][3]
        rows, cols = np.divmod(foot.cells, shape[1])
        across = (rows * math.cos(axis) - cols * math.sin(axis)) * self.config.cell_pitch
        own = across[held == index]
        margin = 0.5 * self.config.foot_gap
        return (owner < 0) & ((across < own.min() - margin) | (across > own.max() + margin))

    def _continuity(self, feet: list[Foot]) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
        """(feet, tracks) share of each foot's cells that the track's feet held in the previous frame,
        (feet,) each foot's age [s] then: of the oldest foot whose cells it holds, 0 for a foot just landed, and per
        foot the previous frame's feet (indices into _held, ascending) whose cells it holds."""
        share = np.zeros((len(feet), len(self.tracks)))
        ages = np.zeros(len(feet))
        held_before: list[list[int]] = [[] for _ in feet]
        if self._owner is None or not self._held:
            return share, ages, held_before
        held_track = np.array([t for t, _, _, _ in self._held])
        held_age = np.array([age for _, age, _, _ in self._held])
        for f, foot in enumerate(feet):
            counts = np.bincount(self._owner[foot.cells], minlength=len(self._held) + 1)[1:]
            overlapped = counts > 0
            if overlapped.any():
                share[f] = np.bincount(held_track[overlapped], counts[overlapped], len(self.tracks)) / foot.cells.size
                ages[f] = held_age[overlapped].max()
                held_before[f] = overlapped.nonzero()[0].tolist()
        return share, ages, held_before


def _rejoin_cut_feet(feet: list[Foot], cost: np.ndarray, owner: np.ndarray) -> None:
    """Give (in `owner`, in place) a part of a contact cut in two for its length (`Foot.cut_from`) that nobody took
    to the person who took the other part, if within their reach: a shoe longer than foot_length_max is one foot,
    and both shoes of a person standing may be cut, more parts than _FOOT_SLOTS. Contact cut in more parts is not
    one foot (two people's feet pressed together, toe to heel)."""
    for f in np.flatnonzero(owner < 0).tolist():
        if feet[f].cut_from is None:
            continue
        others = [g for g, foot in enumerate(feet) if g != f and foot.cut_from == feet[f].cut_from]
        if len(others) == 1 and owner[others[0]] >= 0 and cost[f, owner[others[0]]] < _NEVER:
            owner[f] = owner[others[0]]


def _pair_new_feet(feet: list[Foot], config: TrackerConfig) -> list[list[Foot]]:
    """Feet nobody claims, as new people: the closest pairs within reach of each other are one person each.
    Along the pair's feet axis (`_feet_axis`) one foot reaches step_reach from the other, across it
    lateral_reach (step width); without an axis (heels or toes alone), lateral_reach every way: two people side
    by side merged into one would keep each other's feet, while one person's two feet taken for two people part
    as soon as one of them lifts. Closeness is hypot(along / step_reach, across / lateral_reach). The parts of one
    contact cut for its length (`Foot.cut_from`: a long shoe, pressed into the mat by a heavy person) pair as one
    foot: paired with each other, a person standing still would be one person per shoe."""
    units: dict[object, list[Foot]] = {}
    for f, foot in enumerate(feet):
        units.setdefault(("cut", foot.cut_from) if foot.cut_from is not None else f, []).append(foot)
    units = list(units.values())
    if len(units) < 2:
        return units
    centres = np.array([np.average([foot.centroid_m for foot in unit], axis=0, weights=[foot.force for foot in unit])
                        for unit in units])
    distance = np.full((len(units), len(units)), np.inf)
    for a in range(len(units)):
        for b in range(a + 1, len(units)):
            offset = centres[b] - centres[a]
            angle = _feet_axis(units[a] + units[b], config)
            if angle is None:   # which way is sideways is unknown: feet beside each other only
                along, across = 0.0, math.hypot(*offset)
            else:
                c, s = math.cos(angle), math.sin(angle)
                along, across = c * offset[0] + s * offset[1], c * offset[1] - s * offset[0]
            if abs(along) <= config.step_reach and abs(across) <= config.lateral_reach:
                distance[a, b] = distance[b, a] = math.hypot(along / config.step_reach, across / config.lateral_reach)
    people, used = [], set()
    for flat in np.argsort(distance, axis=None):
        a, b = divmod(int(flat), len(units))
        if not np.isfinite(distance[a, b]):
            break
        if a in used or b in used:
            continue
        used.update((a, b))
        people.append(units[a] + units[b])
    return people + [unit for u, unit in enumerate(units) if u not in used]
