"""presstrack-heading on one short simulated walk: walking frames are found, the heading, the true stance foot and
the true feet down are scored on the same frames, whole feet on their shape, each activity against where the body
faces, headings with hindsight of the path (a body frame published late) and without the side-step rule, or at
best with it, are scored on the same frames, and the report names every scene and the pooled figures."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("presstrack_sim.simulator")

from presstrack_eval.heading_turns import ACTIVITIES, HINDSIGHT, HeadingScene, report, scene_angles

SCENE = HeadingScene("crossing2", 1, 6.0)


def test_a_short_crossing_is_scored_and_reported(tmp_path):
    angles = scene_angles(SCENE, tmp_path)
    assert len(angles["heading"]) > 30, "two people cross the mat walking"
    assert len(angles["stance_foot"]) == len(angles["heading"]) == len(angles["feet_down"])
    # Whole feet are scored on their shape, each right, wrong or untold, on 1 cm and on 2 cm cells.
    assert len(angles["shape"]) == len(angles["shape_2cm"]) == len(angles["shape_area"]) > 30
    told = angles["shape"][np.isfinite(angles["shape"])]
    assert set(np.unique(told)) <= {0.0, 1.0} and np.mean(told) > 0.9
    assert ((angles["heading"] >= 0) & (angles["heading"] <= 180)).all()
    # People walking straight across face their walk, and so do their planted feet, within a few degrees.
    assert np.median(angles["heading"]) < 15.0 and np.median(angles["stance_foot"]) < 15.0
    # Walking straight, the true hips' past path points along the walk too; every activity is scored against
    # where the true body faces (angles in [0, 180]).
    assert 0 < len(angles["past_path"]) <= len(angles["heading"]) and np.median(angles["past_path"]) < 10.0
    assert all(((angles[a] >= 0) & (angles[a] <= 180)).all() for a in ACTIVITIES)
    # With the path over a centred window, on the same walking frames and sideways ones: people walking straight
    # face along it as closely as the live heading does.
    for delay in HINDSIGHT:
        hindsight = angles[f"hindsight_{delay:.2f}"]
        assert len(hindsight) == len(angles["heading"]) and np.median(hindsight) < 15.0
        assert len(angles[f"hindsight_sideways_{delay:.2f}"]) == len(angles["sideways"])
    assert len(angles["hindsight_path"]) == len(angles["heading"]) and np.median(angles["hindsight_path"]) < 15.0
    # Without the side-step rule, and at best with it (per frame the live heading or that one), on the same frames:
    # the best of two is neither worse than the live heading nor than the one without the rule, nor is the best
    # of the feet, the path and their mean.
    assert len(angles["no_side_step"]) == len(angles["heading"]) and np.median(angles["no_side_step"]) < 15.0
    assert len(angles["no_side_step_sideways"]) == len(angles["sideways"])
    at_best = angles["side_step_at_best"]
    assert (at_best == np.minimum(angles["heading"], angles["no_side_step"])).all()
    assert (angles["feet_path_at_best"] <= angles["no_side_step"]).all()
    lines = report([SCENE], "tuning", tmp_path)   # from the cache this time
    assert lines[0] == "## tuning" and lines[1].startswith("crossing2/seed1: heading ")
    assert lines[-1].startswith("pooled: heading ") and len(list(tmp_path.glob("*.npz"))) == 1
    assert all(f"; {activity} " in lines[-1] for activity in ACTIVITIES) and "true past path" in lines[-1]
    assert all(f"hindsight ±{delay:.2f} s " in lines[-1] for delay in HINDSIGHT) and "its path alone" in lines[-1]
    assert "side-step rule dropped " in lines[-1] and "side-step rule at best " in lines[-1]
    assert "the feet, the path or that mean at best " in lines[-1]
