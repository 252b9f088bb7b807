"""`lecture-rl play`: play an env yourself from the keyboard

Play an env from the keyboard, one action per key press (arrows on grids, 0/1 on Parity,
digits on Copy); the window shows the keys and when a move is blocked. Escape or closing the
window quits.

examples:
  lecture-rl play --env LectureRL/GridWorld-v0 --env-set map_name=maze
  lecture-rl play --env LectureRL/Parity-v0 --env-set length=8
"""

from __future__ import annotations

import argparse

from lecture_rl.runners.commands import options
from lecture_rl.runners.commands.options import add_env_options

NAME = "play"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = options.command_parser(subparsers, NAME, __doc__)
    add_env_options(parser)
    parser.add_argument("--fps", type=int, default=None, help="frames per second")
    parser.add_argument("--zoom", type=float, default=None, help="scale the window")
    parser.add_argument("--seed", type=int, default=None, help="seed of the first episode")
    parser.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    return parser


def run(args: argparse.Namespace, out) -> int:
    from lecture_rl.runners.play import run_play

    return run_play(args, out)
