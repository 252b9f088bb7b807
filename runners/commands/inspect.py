"""`lecture-rl inspect`: a figure of a deep agent's insides (policy, value, gates, attention,
saliency)

Load a deep agent's checkpoint (weights only, nothing executed), play greedy episodes and
draw what it does inside: the tape, π(a|s) and V(s), and the memory: LSTM cell state and
gates, GRU gates, RNN hidden state (the units most correlated with the task's hidden
variable), or the Transformer's attention per layer and head over the tape. A CNN on a grid
seen as pixels: for a few steps, the saliency of the action taken per grid cell and the
first layer's feature maps.

examples:
  lecture-rl inspect --checkpoint runs/parity --out parity.png
  lecture-rl inspect --checkpoint runs/copy --episodes 2 --out copy.png
  lecture-rl inspect --checkpoint runs/dqn-maze --out maze.png
"""

from __future__ import annotations

import argparse

from lecture_rl.runners.commands import options
from lecture_rl.runners.commands.options import add_env_options, add_load_device

NAME = "inspect"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = options.command_parser(subparsers, NAME, __doc__)
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
    add_load_device(parser)
    return parser


def run(args: argparse.Namespace, out) -> int:
    from lecture_rl.runners.inspect import run_inspect

    return run_inspect(args, out)
