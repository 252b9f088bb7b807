"""`lecture-rl train`: train one agent and save a checkpoint

Train one agent on one env; write the checkpoint, train_log.csv and TensorBoard scalars
(deep agents) to --out, and print a greedy evaluation.

examples:
  lecture-rl train --env LectureRL/GridWorld-v0 --agent q_learning --episodes 300
  lecture-rl train --env CliffWalking-v1 --agent sarsa --set epsilon=0.1 --out runs/s
  lecture-rl train --env LectureRL/Parity-v0 --agent ppo --set net=lstm --steps 200000
  lecture-rl train --resume runs/s   # continue an interrupted run

Ctrl-C saves what was learned so far (marked interrupted, resumable) and exits 130.
An I/O error (a full disk, a read-only file system) is one line and exit 74; the last
checkpoint saved by --save-every is kept: free space, then train --resume DIR.
"""

from __future__ import annotations

import argparse

from lecture_rl.runners.commands import options
from lecture_rl.runners.settings import SaveEvery

NAME = "train"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = options.command_parser(subparsers, NAME, __doc__)
    options.add_env_options(parser, required=False)
    parser.add_argument(
        "--agent", metavar="NAME", help="see 'lecture-rl agents' (required unless --resume)"
    )
    options.add_budget(parser)
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    options.add_agent_options(parser)
    options.add_threads(parser)
    parser.add_argument(
        "--out", metavar="DIR", help="checkpoint folder (default runs/<env>-<agent>-<seed>)"
    )
    parser.add_argument(
        "--eval-episodes", type=int, default=100, metavar="N", help="greedy episodes (100; 0: none)"
    )
    parser.add_argument(
        "--save-every",
        "--checkpoint-every",
        dest="save_every",
        type=SaveEvery.parse,
        default=SaveEvery(60.0),
        metavar="PERIOD",
        help="save a resumable checkpoint (weights, optimizer, random generators, counters, "
        "DQN's replay memory, train_log.csv) to --out this often while training, so a crash "
        "or a full disk loses at most that much: seconds (60, the default; 90s, 10m, 1h), env "
        "steps (20000steps) or episodes (100episodes); 0 = after every episode. A save is "
        "all or nothing: one that fails leaves the last good checkpoint",
    )
    parser.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the interrupted training run in DIR to its original budget (every "
        "other setting comes from DIR)",
    )
    return parser


def run(args: argparse.Namespace, out) -> int:
    from lecture_rl.runners.train import run_train

    return run_train(args, out)
