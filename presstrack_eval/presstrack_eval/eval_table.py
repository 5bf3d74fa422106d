"""``presstrack-eval-table``: the README's mesh-recovery tables, both backends and both output modes,
each on ground-truth boxes (the paper's setting) and on the pressure tracker's crops (end to end), each
scored under both protocols of ``presstrack-eval`` (``paper``: the authors' aggregation; ``tracking``:
identities held, what the live graph delivers).  Every backend runs once per row; both protocols score it.

  presstrack-eval-table --data out/hmr_test_corpus --out out/hmr_eval       # `make hmr-eval`
  presstrack-eval-table --compare out/hmr_eval/table.json /tmp/clone/out/hmr_eval/table.json

Writes ``table.md`` (the README's tables, to paste as they are) and ``table.json`` under ``--out``; the
checkpoints default to the shipped ones.  The figures depend only on the data, the code and the checkpoints:
the network runs on the CPU in float32 through torch (``--device cpu``, ``--inference-path torch-float32``, the
reference path; the live node's ``inference_path: auto`` picks a path by speed instead), with a fixed number
of torch threads.  ``--compare A B`` lists every figure of two ``table.json`` files that differs by more
than ``--tolerance`` (exit 1 if any does, 0 if none).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

from .evaluate import build_parser as eval_parser
from .evaluate import PROTOCOLS, WA_CLASSES, run_protocols
from mesh_recovery.hmr.body_layer import BodyLayer
from mesh_recovery.hmr.checkpoint import shipped_checkpoint
from mesh_recovery.hmr.inference import INFERENCE_PATHS
from mesh_recovery.metrics import SMPL_VERTEX_COUNT
from presstrack_common.cpu import describe_cpu
from presstrack_common.outputs import check_output_folder

COLUMNS = ("MPJPE", "PA-MPJPE", "PVE", "W-MPJPE100", "W-MPJPE100 all starts", "W-MPJPE100 spread", "WA-MPJPE100",
           "WA-MPJPE100 all starts", "AccelErr", "Accel")
TRACKING_COLUMNS = ("missed", "spare person-frames", "identity switches")
HEADINGS = {"W-MPJPE100 all starts": "W100 all starts", "W-MPJPE100 spread": "W100 spread",
            "WA-MPJPE100 all starts": "WA100 all starts", "W-MPJPE100": "W-MPJPE100", "AccelErr": "AccelErr",
            "Accel": "Accel (m/s²)", "missed": "missed %", "spare person-frames": "spare p-frames",
            "identity switches": "id switches"}


DECOMPOSITION_KEYS = tuple(key for name in WA_CLASSES for key in (f"{name} person-frames", f"WA-MPJPE100 {name} frames"))
PEOPLE = ("ground-truth", "tracker")


def rows(args: argparse.Namespace) -> list[tuple[str, str, list[str]]]:
    """(backend label, people source, presstrack-eval arguments) for every row of the table."""
    common = ["--data", *map(str, args.data), "--split", args.split, "--part", args.part, "--device", args.device,
              *(["--body-model", str(args.body_model)] if args.body_model else [])]
    table = []
    for people in PEOPLE:
        table.append(("footprint (training-free)", people, ["--backend", "footprint", "--people", people, *common]))
        for mode, checkpoint in (("centred", args.centred), ("online", args.online)):
            table.append((f"learned, {mode}", people, ["--checkpoint", str(checkpoint), "--people", people,
                                                       "--inference-path", args.inference_path, *common]))
    return table


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="presstrack-eval-table", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", nargs="+", help="held-out recordings (a corpus folder)")
    p.add_argument("--split", default="corpus")
    p.add_argument("--part", default="test")
    p.add_argument("--centred", type=Path, default=shipped_checkpoint("centred"))
    p.add_argument("--online", type=Path, default=shipped_checkpoint("online"))
    p.add_argument("--device", default="cpu", help="torch device of the network (cpu: the README's tables)")
    p.add_argument("--body-model", type=Path, help="SMPL model file/folder (default: the embedded body)")
    p.add_argument("--inference-path", choices=INFERENCE_PATHS, default="torch-float32",
                   help="how the learned rows run the network (torch-float32: the reference)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (another count sums in another order: the figures move by float rounding)")
    p.add_argument("--out", type=Path, help="folder for table.md and table.json")
    p.add_argument("--compare", type=Path, nargs=2, metavar=("A", "B"),
                   help="compare the figures of two table.json files instead of evaluating")
    p.add_argument("--tolerance", type=float, default=0.05,
                   help="--compare: largest difference taken as equal (the tables print one decimal)")
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    if args.compare:
        return compare_main(*args.compare, args.tolerance)
    if not args.data or not args.out:
        p.error("--data and --out are required (or --compare A B)")
    if args.threads < 1:
        p.error("--threads must be at least 1")
    started_all = time.perf_counter()
    try:
        check_output_folder(args.out, "--out")
        results = table_rows(args)
    except ValueError as error:
        print(f"presstrack-eval-table: error: {error}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started_all
    run = dict(device=args.device, inference_path=args.inference_path, torch=torch.__version__,
               torch_threads=torch.get_num_threads(), cpu=str(describe_cpu()), seconds=round(seconds))
    text = format_tables(results, run)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text(text)
    (args.out / "table.json").write_text(json.dumps(dict(data=[str(d) for d in args.data], split=args.split,
                                                         part=args.part, run=run, rows=results), indent=1))
    print(text)
    return 0


def table_rows(args: argparse.Namespace, body: BodyLayer | None = None) -> list[dict]:
    """Every row of the table under both protocols: protocol, backend, people, person_frames and metrics
    (``body``: the body layer to score with, default the one ``--body-model`` names)."""
    torch.set_num_threads(args.threads)
    results = []
    for backend, people, eval_args in rows(args):
        started = time.perf_counter()
        scored = run_protocols(eval_parser().parse_args(eval_args), PROTOCOLS, body)
        for protocol, (summary, person_frames) in scored.items():
            results.append(dict(protocol=protocol, backend=backend, people=people, person_frames=person_frames,
                                metrics={k: summary[k] for k in (*COLUMNS, *TRACKING_COLUMNS, *DECOMPOSITION_KEYS,
                                                                 "PVE vertices", "joints") if k in summary}))
            print(f"{protocol}: {backend}, {people}: MPJPE {summary['MPJPE']:.1f} mm, WA-MPJPE100 "
                  f"{summary['WA-MPJPE100']:.1f} mm ({person_frames} person-frames)", file=sys.stderr, flush=True)
        print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    return results


def table_differences(a: dict, b: dict, tolerance: float) -> tuple[list[str], float]:
    """Figures of two ``table.json`` contents that differ by more than ``tolerance`` (one line each; a row or
    figure only one of them has counts too) and the largest difference of those both have."""
    keyed = lambda table: {(r["protocol"], r["backend"], r["people"]): r for r in table["rows"]}  # noqa: E731
    rows_a, rows_b = keyed(a), keyed(b)
    lines = [f"{' / '.join(key)}: only in {'A' if key in rows_a else 'B'}" for key in sorted(set(rows_a) ^ set(rows_b))]
    largest = 0.0
    for key in [k for k in rows_a if k in rows_b]:
        figures_a = {**rows_a[key]["metrics"], "scored person-frames": rows_a[key]["person_frames"]}
        figures_b = {**rows_b[key]["metrics"], "scored person-frames": rows_b[key]["person_frames"]}
        for name in [n for n in figures_a if n not in figures_b] + [n for n in figures_b if n not in figures_a]:
            lines.append(f"{' / '.join(key)}: {name} only in {'A' if name in figures_a else 'B'}")
        for name in [n for n in figures_a if n in figures_b]:
            value_a, value_b = figures_a[name], figures_b[name]
            if _missing(value_a) and _missing(value_b):
                continue
            difference = math.inf if _missing(value_a) or _missing(value_b) else abs(value_a - value_b)
            largest = max(largest, difference)
            if difference > tolerance:
                lines.append(f"{' / '.join(key)}: {name} {value_a} vs {value_b}")
    return lines, largest


def _missing(value: float | None) -> bool:
    return value is None or value != value


def compare_main(path_a: Path, path_b: Path, tolerance: float) -> int:
    try:
        tables = [json.loads(Path(path).read_text()) for path in (path_a, path_b)]
    except (OSError, ValueError) as error:
        print(f"presstrack-eval-table: error: cannot read a table to compare: {error}", file=sys.stderr)
        return 2
    lines, largest = table_differences(*tables, tolerance)
    figures = sum(len(r["metrics"]) + 1 for r in tables[0]["rows"])
    print("\n".join(lines) if lines else f"all {figures} figures within {tolerance} (largest difference {largest:.3g})")
    return 1 if lines else 0


def format_tables(results: list[dict], run: dict | None = None) -> str:
    """One markdown table per protocol, rows in the order given; the tracking protocol's WA decomposition; how
    the figures were made (``run``)."""
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
    decomposition = format_decomposition([r for r in results if r["protocol"] == "tracking"])
    if decomposition:
        blocks.append(decomposition)
    vertices = {r["metrics"].get("PVE vertices") for r in results} - {None, float(SMPL_VERTEX_COUNT)}
    joints = sorted({int(r["metrics"]["joints"]) for r in results if "joints" in r["metrics"]})
    notes = ["mm unless stated; AccelErr mm/frame²; Accel is the authors' smoothness figure (predicted acceleration), "
             "not an error.", f"Joints: {', '.join(map(str, joints))}."]
    if vertices:
        notes.append(f"PVE is on the body's {', '.join(f'{v:.0f}' for v in sorted(vertices))} vertices, not SMPL's "
                     f"{SMPL_VERTEX_COUNT}: not comparable to the paper's PVE.")
    if run:
        notes.append(f"Network on {run['device']}, inference path {run['inference_path']}, torch {run['torch']} with "
                     f"{run['torch_threads']} threads; {run['seconds'] / 60:.0f} min on {run['cpu']}.")
    return "\n\n".join(blocks) + "\n\n" + " ".join(notes) + "\n"


def format_decomposition(tracking_rows: list[dict]) -> str:
    """Where each tracking row's WA-MPJPE100 comes from: per class of scored person-frames (``WA_CLASSES``), its
    share of the person-frames, its mean WA and the mm it adds to the row's WA over the ``other`` frames' mean
    (share x (class mean - other mean)); the row's WA is the ``other`` mean plus what the classes add."""
    rows_with = [r for r in tracking_rows if all(k in r["metrics"] for k in DECOMPOSITION_KEYS)]
    if not rows_with:
        return ""
    lines = ["where the `tracking` protocol's WA-MPJPE100 comes from (scored person-frames by class; "
             "a class adds share × (its WA − the other frames' WA))", "",
             "| backend | people from | WA-MPJPE100 | other frames: share, WA | edge-padded: share, WA, adds "
             "| wrong person: share, WA, adds | missed % | spare p-frames |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows_with:
        m = r["metrics"]
        total = sum(m[f"{name} person-frames"] for name in WA_CLASSES)
        share = {name: m[f"{name} person-frames"] / total if total else float("nan") for name in WA_CLASSES}
        mean = {name: m[f"WA-MPJPE100 {name} frames"] for name in WA_CLASSES}

        def part(name: str) -> str:
            if not m[f"{name} person-frames"]:
                return "0 %"
            adds = share[name] * (mean[name] - mean["other"])
            return f"{100 * share[name]:.1f} %, {mean[name]:.1f}, {adds:+.1f}"

        lines.append(f"| {r['backend']} | {r['people']} | {_cell(m, 'WA-MPJPE100')} | {100 * share['other']:.1f} %, "
                     f"{mean['other']:.1f} | {part('edge-padded')} | {part('wrong-person')} | {_cell(m, 'missed')} "
                     f"| {_cell(m, 'spare person-frames')} |")
    return "\n".join(lines)


def _cell(metrics: dict[str, float], column: str) -> str:
    value = metrics.get(column)
    return "—" if value is None or value != value else (f"{value:.0f}" if column in TRACKING_COLUMNS[1:] else f"{value:.1f}")


if __name__ == "__main__":
    sys.exit(main())
