"""reid_signatures' ideal-gallery bound: people whose signatures lie apart are all decided, people of one body are
not, and visits matched to nobody are counted apart."""
from __future__ import annotations

import numpy as np

from presstrack_eval.reid_signatures import report


def _visits(rng: np.random.Generator, people: list[tuple[float, float]], per_person: int) -> list[dict]:
    return [{"truth": p, "weight": weight * float(np.exp(rng.normal(0.0, 0.01))),
             "foot": foot + float(rng.normal(0.0, 0.002))}
            for p, (weight, foot) in enumerate(people) for _ in range(per_person)]


def test_people_apart_are_all_decided_and_people_alike_are_not():
    rng = np.random.default_rng(0)
    apart = [(600.0, 0.25), (700.0, 0.27), (800.0, 0.29)]
    figures = report(apart, _visits(rng, apart, 10) + [{"truth": -1, "weight": 650.0, "foot": 0.26}],
                     log=lambda *_: None)
    assert (figures["decided"], figures["total"], figures["unassigned"]) == (30, 30, 1)
    assert 0.005 < figures["sd_weight"] < 0.02 and 0.001 < figures["sd_foot"] < 0.004
    alike = [(600.0, 0.25), (600.0, 0.25)]
    figures = report(alike, _visits(rng, alike, 20), log=lambda *_: None)
    assert figures["decided"] < 0.8 * figures["total"]
