"""`lecture-rl lecture-example`: replay the notes' worked Q-learning example (000 §7.f)

Replay notes 000 §7.f on the lecture map (alpha=0.5, gamma=0.7), printing every update and
the Q-table and greedy arrows before and after.

examples:
  lecture-rl lecture-example
  lecture-rl lecture-example --window
"""

from __future__ import annotations

import argparse

from lecture_rl.runners.commands import options
from lecture_rl.runners.settings import UsageError

NAME = "lecture-example"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = options.command_parser(subparsers, NAME, __doc__)
    parser.add_argument(
        "--window", action="store_true", help="also step through it on the grid (→ next, ← back)"
    )
    return parser


def run(args: argparse.Namespace, out) -> int:
    try:
        from lecture_rl.runners.lecture_example import run_lecture_example
    except ImportError as exc:
        raise UsageError(f"the lecture example is not available in this install ({exc})") from exc
    return int(run_lecture_example(window=args.window, out=out) or 0)
