"""``lecture-rl inspect``: the parser; the work is in :mod:`lecture_rl.runners.inspect`."""

from __future__ import annotations

import argparse

from lecture_rl.runners.commands.options import add_device, add_env_options, formatter, wrap

NAME = "inspect"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        NAME,
        help="a figure of a deep agent's insides (policy, value, gates, attention, saliency)",
        description=wrap(
            "Load a deep agent's checkpoint (weights only, nothing executed), play greedy "
            "episodes and draw what it does inside: the tape, π(a|s) and V(s), and the "
            "memory: LSTM cell state and gates, GRU gates, RNN hidden state (the units most "
            "correlated with the task's hidden variable), or the Transformer's attention per "
            "layer and head over the tape. A CNN on a grid seen as pixels: for a few steps, the "
            "saliency of the action taken per grid cell and the first layer's feature maps."
        ),
        epilog="examples:\n"
        "  lecture-rl inspect --checkpoint runs/parity --out parity.png\n"
        "  lecture-rl inspect --checkpoint runs/copy --episodes 2 --out copy.png\n"
        "  lecture-rl inspect --checkpoint runs/dqn-maze --out maze.png",
        formatter_class=formatter,
    )
    parser.add_argument(
        "--checkpoint", required=True, metavar="DIR", help="a deep agent's folder from 'train'"
    )
    parser.add_argument("--out", required=True, metavar="FIG.png", help="the PNG to write")
    parser.add_argument("--episodes", type=int, default=1, metavar="N", help="episodes (1)")
    parser.add_argument(
        "--units", type=int, default=3, metavar="K", help="units (CNN: feature maps) drawn (3)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode (0)")
    add_env_options(parser, required=False)
    add_device(parser, "a deep agent runs (default: its recorded device; cpu without CUDA)")
    return parser


def run(args: argparse.Namespace, out) -> int:
    from lecture_rl.runners.inspect import run_inspect

    return run_inspect(args, out)
