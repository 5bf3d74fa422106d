"""``presstrack-eval-table``: the README's mesh-recovery table, both backends and both output modes,
each on ground-truth boxes (the paper's setting) and on the pressure tracker's crops (end to end).

  presstrack-eval-table --data out/hmr_test_corpus --out out/hmr_eval       # `make hmr-eval`

Writes ``table.md`` and ``table.json`` under ``--out``; the checkpoints default to the shipped ones.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .evaluate import build_parser as eval_parser
from .evaluate import run_evaluation
from mesh_recovery.hmr.checkpoint import shipped_checkpoint

COLUMNS = ("MPJPE", "PA-MPJPE", "PVE", "W-MPJPE100", "WA-MPJPE100", "AccelErr")


def rows(args: argparse.Namespace) -> list[tuple[str, str, list[str]]]:
    """(backend label, people source, presstrack-eval arguments) for every row of the table."""
    common = ["--data", *map(str, args.data), "--split", args.split, "--part", args.part, "--device", args.device]
    table = []
    for people in ("ground-truth", "tracker"):
        table.append(("footprint (training-free)", people, ["--backend", "footprint", "--people", people, *common]))
        for mode, checkpoint in (("centred", args.centred), ("online", args.online)):
            table.append((f"learned, {mode}", people, ["--checkpoint", str(checkpoint), "--people", people, *common]))
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="presstrack-eval-table", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", required=True, help="held-out recordings (a corpus folder)")
    p.add_argument("--split", default="corpus")
    p.add_argument("--part", default="test")
    p.add_argument("--centred", type=Path, default=shipped_checkpoint("centred"))
    p.add_argument("--online", type=Path, default=shipped_checkpoint("online"))
    p.add_argument("--device", default="auto")
    p.add_argument("--out", type=Path, required=True, help="folder for table.md and table.json")
    args = p.parse_args(argv)
    results = []
    try:
        for backend, people, eval_args in rows(args):
            started = time.perf_counter()
            summary, person_frames = run_evaluation(eval_parser().parse_args(eval_args))
            results.append(dict(backend=backend, people=people, person_frames=person_frames,
                                metrics={k: summary[k] for k in COLUMNS}))
            print(f"{backend}, {people}: MPJPE {summary['MPJPE']:.1f} mm, WA-MPJPE100 {summary['WA-MPJPE100']:.1f} mm "
                  f"({person_frames} person-frames, {time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    except ValueError as error:
        print(f"presstrack-eval-table: error: {error}", file=sys.stderr)
        return 2
    lines = ["| backend | people from | " + " | ".join(COLUMNS) + " | person-frames |",
             "|---|---|" + "---:|" * (len(COLUMNS) + 1)]
    lines += [f"| {r['backend']} | {r['people']} | " + " | ".join(f"{r['metrics'][k]:.1f}" for k in COLUMNS)
              + f" | {r['person_frames']} |" for r in results]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text("\n".join(lines) + "\n\nmm; AccelErr in mm/frame².\n")
    (args.out / "table.json").write_text(json.dumps(dict(data=[str(d) for d in args.data], split=args.split,
                                                         part=args.part, rows=results), indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
