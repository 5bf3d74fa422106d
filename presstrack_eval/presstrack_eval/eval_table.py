"""``presstrack-eval-table``: the README's mesh-recovery tables, both backends and both output modes,
each on ground-truth boxes (the paper's setting) and on the pressure tracker's crops (end to end), each
scored under both protocols of ``presstrack-eval`` (``paper``: the authors' aggregation; ``tracking``:
identities held, what the live graph delivers).  Every backend runs once per row; both protocols score it.

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
from .evaluate import PROTOCOLS, run_protocols
from mesh_recovery.hmr.checkpoint import shipped_checkpoint
from mesh_recovery.metrics import SMPL_VERTEX_COUNT
from presstrack_common.outputs import check_output_folder

COLUMNS = ("MPJPE", "PA-MPJPE", "PVE", "W-MPJPE100", "W-MPJPE100 all starts", "W-MPJPE100 spread", "WA-MPJPE100",
           "WA-MPJPE100 all starts", "AccelErr", "Accel")
TRACKING_COLUMNS = ("missed", "spare person-frames", "identity switches")
HEADINGS = {"W-MPJPE100 all starts": "W100 all starts", "W-MPJPE100 spread": "W100 spread",
            "WA-MPJPE100 all starts": "WA100 all starts", "W-MPJPE100": "W-MPJPE100", "AccelErr": "AccelErr",
            "Accel": "Accel (m/s²)", "missed": "missed %", "spare person-frames": "spare p-frames",
            "identity switches": "id switches"}


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
        check_output_folder(args.out, "--out")
        for backend, people, eval_args in rows(args):
            started = time.perf_counter()
            scored = run_protocols(eval_parser().parse_args(eval_args), PROTOCOLS)
            for protocol, (summary, person_frames) in scored.items():
                results.append(dict(protocol=protocol, backend=backend, people=people, person_frames=person_frames,
                                    metrics={k: summary[k] for k in (*COLUMNS, *TRACKING_COLUMNS, "PVE vertices",
                                                                     "joints") if k in summary}))
                print(f"{protocol}: {backend}, {people}: MPJPE {summary['MPJPE']:.1f} mm, WA-MPJPE100 "
                      f"{summary['WA-MPJPE100']:.1f} mm ({person_frames} person-frames)", file=sys.stderr, flush=True)
            print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    except ValueError as error:
        print(f"presstrack-eval-table: error: {error}", file=sys.stderr)
        return 2
    text = format_tables(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text(text)
    (args.out / "table.json").write_text(json.dumps(dict(data=[str(d) for d in args.data], split=args.split,
                                                         part=args.part, rows=results), indent=1))
    print(text)
    return 0


def format_tables(results: list[dict]) -> str:
    """One markdown table per protocol, rows in the order given."""
    blocks = []
    for protocol in PROTOCOLS:
        rows_of = [r for r in results if r["protocol"] == protocol]
        if not rows_of:
            continue
        columns = COLUMNS + (TRACKING_COLUMNS if protocol == "tracking" else ())
        lines = [f"protocol `{protocol}`", "",
                 "| backend | people from | " + " | ".join(HEADINGS.get(c, c) for c in columns) + " | scored person-frames |",
                 "|---|---|" + "---:|" * (len(columns) + 1)]
        lines += [f"| {r['backend']} | {r['people']} | " + " | ".join(_cell(r["metrics"], c) for c in columns)
                  + f" | {r['person_frames']} |" for r in rows_of]
        blocks.append("\n".join(lines))
    vertices = {r["metrics"].get("PVE vertices") for r in results} - {None, float(SMPL_VERTEX_COUNT)}
    joints = sorted({int(r["metrics"]["joints"]) for r in results if "joints" in r["metrics"]})
    notes = ["mm unless stated; AccelErr mm/frame²; Accel is the authors' smoothness figure (predicted acceleration), "
             "not an error.", f"Joints: {', '.join(map(str, joints))}."]
    if vertices:
        notes.append(f"PVE is on the body's {', '.join(f'{v:.0f}' for v in sorted(vertices))} vertices, not SMPL's "
                     f"{SMPL_VERTEX_COUNT}: not comparable to the paper's PVE.")
    return "\n\n".join(blocks) + "\n\n" + " ".join(notes) + "\n"


def _cell(metrics: dict[str, float], column: str) -> str:
    value = metrics.get(column)
    return "—" if value is None or value != value else (f"{value:.0f}" if column in TRACKING_COLUMNS[1:] else f"{value:.1f}")


if __name__ == "__main__":
    sys.exit(main())
