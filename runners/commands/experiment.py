"""`lecture-rl experiment`: run one of the lecture's claims and write a report with its verdict

Each experiment tests one claim of the lecture notes, trains on compare's engine (workers,
seeds, the same files, resume) where it trains agents, and writes a report folder:
report.md, a self-contained report.html, numbers.json and the plots, with a verdict line
that says with numbers whether the claim held.

examples:
  lecture-rl experiment list                  (the experiments and their claims)
  lecture-rl experiment cliff --quick         (class-sized: about a minute)
  lecture-rl experiment parity-memory --seeds 5 --out runs/parity-memory
  lecture-rl experiment all --quick --out runs/experiments   (and an index)
  lecture-rl experiment all --quick --first-seed 100 --check
      (other seeds; exit 1 if a claim did not hold: the claims as regression tests)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lecture_rl.runners.commands import options
from lecture_rl.runners.settings import UsageError

NAME = "experiment"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = options.command_parser(subparsers, NAME, __doc__)
    parser.add_argument("name", metavar="NAME", help="an experiment, 'list' or 'all'")
    parser.add_argument("--quick", action="store_true", help="class-sized: fewer seeds, shorter")
    parser.add_argument("--out", metavar="DIR", help="report folder (default runs/experiments)")
    parser.add_argument("--seeds", type=int, metavar="N", help="seeds (default: per experiment)")
    parser.add_argument(
        "--first-seed", type=int, default=0, metavar="S", help="seeds are S, S+1, ... (default 0)"
    )
    parser.add_argument("--workers", type=int, metavar="K", help="worker processes (CPU count)")
    parser.add_argument(
        "--fresh", action="store_true", help="start over in --out (default: resume)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a verdict is NOT HELD (CI: the claims as regression tests)",
    )
    return parser


def run(args: argparse.Namespace, out) -> int:
    from lecture_rl.runners import experiments
    from lecture_rl.runners.experiments.engine import Context
    from lecture_rl.runners.experiments.report import INDEX_FILES, REPORT_FILES, write_index
    from lecture_rl.runners.out_paths import check_out_dir

    if args.name == "list":
        for name in experiments.names():
            out.write(f"{name:<20}{experiments.load(name).CLAIM}\n")
        return 0
    if args.name != "all" and args.name not in experiments.names():
        raise UsageError(
            f"unknown experiment '{args.name}'; choose one of: {', '.join(experiments.names())}"
            ", list, all"
        )
    for flag, value in (("--seeds", args.seeds), ("--workers", args.workers)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}")
    if args.first_seed < 0:
        raise UsageError(f"--first-seed must be at least 0, got {args.first_seed}")
    base = Path(args.out or "runs/experiments")
    names = experiments.names() if args.name == "all" else [args.name]
    folders = {name: base / name if args.name == "all" or not args.out else base for name in names}
    if args.name == "all":  # what is in the way of a report is found before any experiment runs
        check_out_dir(base, command="experiment all", folders=names, files=INDEX_FILES)
    for folder in folders.values():
        check_out_dir(folder, command="experiment", files=REPORT_FILES)
    entries, start = [], time.perf_counter()
    for name in names:
        module = experiments.load(name)
        folder = folders[name]
        ctx = Context(folder, args.quick, args.seeds, args.workers, args.fresh, args.first_seed)
        out.write(f"{name}: {module.CLAIM}\n")
        began = time.perf_counter()
        verdict = module.run(ctx)
        seconds = time.perf_counter() - began
        out.write(f"  {verdict.line}\n  {folder / 'report.html'} ({seconds:.0f} s)\n")
        entries.append({"name": name, "claim": module.CLAIM, "held": verdict.held,
                        "verdict": verdict.line, "seconds": seconds})  # fmt: skip
    if args.name == "all":
        wall = time.perf_counter() - start
        write_index(base, entries, wall)
        out.write(f"index: {base / 'index.html'} ({wall:.0f} s in all)\n")
    failed = [entry["name"] for entry in entries if not entry["held"]]
    if args.check and failed:
        print(f"lecture-rl experiment: NOT HELD: {', '.join(failed)} (--check)", file=sys.stderr)
        return 1
    return 0
