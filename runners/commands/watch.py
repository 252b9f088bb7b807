"""``lecture-rl watch``: the parser; the work is in :mod:`lecture_rl.runners.watch`."""

from __future__ import annotations

import argparse

from lecture_rl.runners.commands.options import (
    add_agent_options,
    add_env_options,
    add_threads,
    formatter,
    wrap,
)

NAME = "watch"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        NAME,
        help="train (or load) an agent and watch it play in a window",
        description=wrap(
            "Train an agent (--agent) or load a checkpoint (--checkpoint), then "
            "watch greedy episodes in a pygame window; tabular agents on the grid world show "
            "their value heat map and greedy arrows."
        ),
        epilog="examples:\n"
        "  lecture-rl watch --env LectureRL/GridWorld-v0 --agent q_learning --train-episodes 300\n"
        "  lecture-rl watch --env LectureRL/GridWorld-v0 --env-set map_name=cliff "
        "--agent sarsa --set epsilon=0.1\n"
        "  lecture-rl watch --checkpoint runs/q --fps 2",
        formatter_class=formatter,
    )
    add_env_options(parser, required=False)
    parser.add_argument("--agent", metavar="NAME", help="train this agent first (see 'agents')")
    parser.add_argument("--checkpoint", metavar="PATH", help="or load a folder written by 'train'")
    parser.add_argument("--train-episodes", type=int, metavar="N", help="default: agent's budget")
    parser.add_argument("--seed", type=int, default=0, help="training and episode seed (0)")
    add_agent_options(parser)
    add_threads(parser)
    parser.add_argument("--fps", type=float, default=None, help="frames per second")
    parser.add_argument("--episodes", type=int, default=5, help="episodes to show (5)")
    parser.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    return parser


def run(args: argparse.Namespace, out) -> int:
    from lecture_rl.runners.watch import run_watch

    return run_watch(args, out)
