"""``lecture-rl evaluate``: the parser; the work is in :mod:`lecture_rl.runners.evaluate`."""

from __future__ import annotations

import argparse

from lecture_rl.runners.commands.options import (
    add_device,
    add_env_options,
    add_threads,
    formatter,
    wrap,
)

NAME = "evaluate"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        NAME,
        help="greedy evaluation of a checkpoint",
        description=wrap(
            "Load a checkpoint written by 'train' and evaluate its greedy policy, on "
            "the env recorded in it or on a compatible --env / --env-set."
        ),
        epilog="examples:\n"
        "  lecture-rl evaluate --checkpoint runs/q --episodes 200\n"
        "  lecture-rl evaluate --checkpoint runs/parity --env-set length=32 --json",
        formatter_class=formatter,
    )
    parser.add_argument(
        "--checkpoint", required=True, metavar="PATH", help="a folder written by 'train'"
    )
    add_env_options(parser, required=False)
    parser.add_argument(
        "--episodes", type=int, default=100, metavar="N", help="greedy episodes (100)"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="first evaluation seed (default 1000000)"
    )
    add_threads(parser, "the policy")
    add_device(parser, "a deep agent runs (default: its recorded device; cpu without CUDA)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run(args: argparse.Namespace, out) -> int:
    from lecture_rl.runners.evaluate import run_evaluate

    return run_evaluate(args, out)
