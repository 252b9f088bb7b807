"""`lecture-rl evaluate`: greedy evaluation of a checkpoint

Load a checkpoint written by 'train' and evaluate its greedy policy, on the env recorded in
it or on a compatible --env / --env-set.

examples:
  lecture-rl evaluate --checkpoint runs/q --episodes 200
  lecture-rl evaluate --checkpoint runs/parity --env-set length=32 --json
"""

from __future__ import annotations

import argparse

from lecture_rl.runners.commands import options
from lecture_rl.runners.commands.options import (
    add_env_options,
    add_load_device,
    add_threads,
)

NAME = "evaluate"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = options.command_parser(subparsers, NAME, __doc__)
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
    add_load_device(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run(args: argparse.Namespace, out) -> int:
    from lecture_rl.runners.evaluate import run_evaluate

    return run_evaluate(args, out)
