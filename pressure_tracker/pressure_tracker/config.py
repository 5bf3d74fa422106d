"""Every parameter of the pressure tracker, in one place (the ROS node's parameters map onto these)."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class TrackerConfig:
    """Settings of `PressureTracker`. Units: metres, seconds, kPa; counts are counts.

    Output
      crop_size: side of the square person crop [cells].
      first_id: first track id handed out (a restarted node passes a value above the ids it used).
      report_lost / report_tentative: whether update() returns lost / tentative tracks.
    Mat
      cell_pitch [m]: side of one cell.
    Contact (detection.py)
      contact_sigmas: a cell is in contact above the unloaded cells' median plus this many robust standard
        deviations of their noise (from the frames themselves: scale-free).
      light_sigmas: a piece of at least 4 connected cells above the median plus this many sigmas, fewer than 4 of
        them above contact_sigmas, is contact too: a foot landing or lifting, lightly loaded (3 sigmas: the limit
        of detection, where the simulator's labeller counts a cell as shown; noise makes no such piece).
      rim_sigmas: a person's box and mask also cover the cells connected to their contact above the median
        plus this many sigmas (a foot's rim, where its pressure fades into the noise, down to the limit of
        detection, 3 sigmas, where a labeller stops too); tracking does not use them.
      min_contact_share: nor below this share (0.3 %) of the frame's highest reading (a foot's pressure falls
        smoothly from a peak of hundreds of kPa: a noise-free mat shows its faint tail far beyond the foot).
      min_contact_kpa [kPa]: absolute floor of the contact threshold, for a mat whose unit is known;
        0 lets the data alone decide (a file in an unknown unit).
      stuck_time [s]: a cell alone above the contact threshold (none of its neighbours in contact) for this
        long in all is hot or stuck: no foot is one cell; it then makes and grows no foot until it reads below.
      foot_gap [m]: contact pieces closer than this are one foot (heel, arch band, ball and toe pads are
        separated by at most a few cm, a high arch's midfoot gap included).
      min_foot_area [m^2]: less contact is not a foot (a heel's first touch already covers more).
      foot_length_max [m]: no foot is longer: longer linked contact is the feet of two people (face to face,
        passing close) and is split in two along its long axis.
    People (assignment.py, tracking.py)
      step_reach [m]: along their walking direction, a foot belongs to a person only within this of the path
        their centre of pressure is predicted to take over the next step (one step forward reaches ~0.55 m);
      lateral_reach [m]: across it, only within this (a foot lands at most a step width, at most hip width,
        beside the other: 0.1-0.3 m while walking; two people side by side are ~0.4 m apart), while they
        walk at least steady_walk_speed [m/s] along the long axis of their feet (within 30 degrees: slower,
        starting, turning or shuffling, a step may go any way, step_reach every way). New feet without a
        long axis (heels, toes) make one person only within lateral_reach of each other. A person walking forward
        along their feet (from heading_min_speed) whose feet lie farther apart across the walk than lateral_reach
        holds somebody else's (two people side by side taken for one): their feet are parted, unless the far side
        landed less than step_time ago while the near side's force fell by more than load_tolerance this frame (a
        side step moves the weight onto the landing foot; a second person's foot takes none off the first's).
      max_step [m]: the farthest one foot lands from the other (a long stride, a dancer's side step: on tuning face
        to face scenes up to 0.78 m from the foot left behind, 99 % within 0.73 m). A foot nobody within reach takes goes to a person present standing on one foot
        within this of it who shifts weight off that foot the same frame (the weight moves onto the far foot; a
        newcomer's first foot unloads nobody), within their body weight.
      step_time [s]: duration of one step: a new foot lands about velocity * step_time ahead; a foot
        holds its cells against other claims fully once it has been down this long.
      new_person_cost: a foot no present person can take starts a new person at this many step_reach
        (above the gate: a far step of someone present, or of someone just lost, is likelier).
      load_tolerance: the force on a person's feet stays within about this share of their body weight
        (log ratio; walking loads the feet by up to ~1.2 x weight); a misfit of this much costs a step_reach.
      walk_speed [m/s]: fastest walk; a lost person's search radius grows at this speed.
      min_hits: consecutive frames with feet before a new person is confirmed.
      lost_time [s]: a person without feet is kept (lost) this long, then departs.
      motion_noise [m/s^2]: acceleration noise of the constant-velocity model of the centre of pressure;
      cop_noise [m]: its measurement noise (the centre of pressure jumps heel to toe, foot to foot).
      heading_min_speed [m/s]: slower than this, motion does not decide the heading (heading_path_time), nor is
        a person walking forward (lateral_reach between their feet).
    Heading (heading.py)
      heading_path_time [s]: from heading_min_speed along their path over this long, up to now, a person faces
        between where their feet point and that path (or straight away from it, walking backwards): a planted
        foot points where it landed while the body turns on over it. Short, as the path lags a turn by half of
        it (0.13-0.34 s within 1 point on the tuning scenes, 0.5 s 1.2 points worse: `presstrack-heading`);
        at most 2 x step_time, the path a track keeps.
      side_step_angle [deg]: feet pointing more than this across that path: the person steps sideways (or
        turns on the spot while their centre of pressure sways), and faces where their feet point. Walking
        forward, feet point within 30 degrees of the path over 0.2 s in 87 % of frames (median 12); stepping
        sideways, more than 30 degrees off it in 83 % (tuning scenes).
    Identity (identity.py)
      signature_time [s]: contact time clear of the mat's edge before a person's body signature (weight
        from the mat's force, foot length) is formed. A newcomer is confirmed at min_hits; while somebody is
        absent who they may be, their id is provisional and they are withheld (a live consumer sees them as
        tentative, identity.py; no parameter) until it is settled. One who clearly matches one absent person
        (within half of reid_gate, nobody else absent within it) is recognised as them then, and takes their id.
      settle_time [s]: contact time clear of the mat's edge by which a newcomer's provisional id is settled: the
        absent person they are assigned to within reid_gate, or nobody (the provisional id is theirs). A first
        signature can be off (a foot another person took, a light touch): a weak match waits for more steps. One
        who leaves before that is settled as the departed person they match best, if any.
      reid_memory [s]: a departed person's signature is kept this long. Their gallery entry is the median of
        the signatures of their last visits that fitted it (within reid_gate; identity.py, no parameter): kept
        while they are back on the mat, never rewritten by a visit that does not fit it; two entries whose
        medians lie within reid_gate are one person under two ids and become one.
      weight_tolerance: relative error of a body weight weighed over signature_time of contact (log ratio).
      foot_length_tolerance [m]: error of a foot length measured over signature_time. Both shrink as
        sqrt(signature_time / T) for a signature measured over T seconds (a gallery entry: its visits' total), as
        a walk's swings average out step by step; two signatures' errors add in quadrature (identity.py).
      reid_gate: a newcomer farther than this from every absent person's signature (in the tolerances above,
        combined as a Euclidean distance) is a new person. A recognised person's track whose weight over the
        last settle_time is farther than this from their gallery entry is somebody else on their feet (a
        hand-over): it becomes a newcomer (tracking.py, `_hand_overs`).
    """

    crop_size: int = 128
    first_id: int = 1
    report_lost: bool = True
    report_tentative: bool = True
    cell_pitch: float = 0.01
    contact_sigmas: float = 5.0
    light_sigmas: float = 3.0
    rim_sigmas: float = 3.0
    min_contact_kpa: float = 0.0
    min_contact_share: float = 0.003
    stuck_time: float = 1.0
    foot_gap: float = 0.08
    min_foot_area: float = 4e-4
    foot_length_max: float = 0.32
    step_reach: float = 0.55
    max_step: float = 0.8
    lateral_reach: float = 0.3
    steady_walk_speed: float = 0.5
    step_time: float = 0.5
    load_tolerance: float = 0.25
    new_person_cost: float = 2.0
    walk_speed: float = 1.5
    min_hits: int = 3
    lost_time: float = 3.0
    motion_noise: float = 4.0
    cop_noise: float = 0.05
    heading_min_speed: float = 0.15
    heading_path_time: float = 0.2
    side_step_angle: float = 30.0
    signature_time: float = 1.0
    reid_memory: float = 600.0
    weight_tolerance: float = 0.06
    foot_length_tolerance: float = 0.015
    reid_gate: float = 1.0
    settle_time: float = 2.0

    def __post_init__(self) -> None:
        for name in ("crop_size", "min_hits", "first_id"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for item in fields(self):
            value = getattr(self, item.name)
            if item.type == "float" and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                             and math.isfinite(value) and value >= 0):
                raise ValueError(f"{item.name} must be a finite number >= 0, got {value!r}")
        for name in ("cell_pitch", "foot_gap", "step_reach", "lateral_reach", "step_time", "cop_noise", "weight_tolerance",
                     "foot_length_tolerance", "heading_path_time"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.heading_path_time > 2.0 * self.step_time:
            raise ValueError(f"heading_path_time must be at most 2 x step_time (the path kept), got "
                             f"{self.heading_path_time!r}")
        if self.side_step_angle > 90.0:
            raise ValueError(f"side_step_angle must be at most 90 degrees, got {self.side_step_angle!r}")
