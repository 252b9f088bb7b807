r"""`lecture-rl watch`: watch an agent learn live in a window (or load one and watch it play)

Train an agent (--agent, or two side by side with --agents A,B) live in a pygame window:
every step is drawn after the agent learned from it. On a grid: Q triangles, the update in the
notes' notation and the return per episode. On any other env: the env's own picture (or its
text) beside what the agent thinks in the state shown (Q(s, a) of a table, π(a|s) and V(s) or
Q(s, a) of a network, by the env's action names). Then greedy episodes. One deep agent on a
tape task (Parity, Copy) shows its network's insides. Keys: Space pause, → step, +/− speed,
g greedy, r restart, h help, Esc quit. --no-live trains first and replays; --checkpoint loads
an agent.

examples:
  lecture-rl watch --env LectureRL/GridWorld-v0 --agent q_learning --train-episodes 60
  lecture-rl watch --env CliffWalking-v1 --agents sarsa,q_learning --set epsilon=0.1 \
      --set alpha=0.5 --set gamma=1
  lecture-rl watch --env CliffWalking-v1 --agent q_learning --record cliff.gif --max-frames 300
  lecture-rl watch --env FrozenLake-v1 --env-set map_name=8x8 --agent q_learning \
      --train-episodes 3000 --record-every 500 --record frozen.gif
  lecture-rl watch --env Taxi-v4 --agent q_learning --train-episodes 2000 --record taxi.gif
  lecture-rl watch --env CartPole-v1 --agent ppo --set num_envs=8 --train-episodes 400
  lecture-rl watch --checkpoint runs/q --fps 2
"""

from __future__ import annotations

import argparse

from lecture_rl.runners.commands import options
from lecture_rl.runners.viewer.recorder import RECORDED_EPISODES

NAME = "watch"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = options.command_parser(subparsers, NAME, __doc__)
    options.add_env_options(parser, required=False)
    parser.add_argument("--agent", metavar="NAME", help="train this agent first (see 'agents')")
    parser.add_argument("--checkpoint", metavar="PATH", help="or load a folder written by 'train'")
    parser.add_argument("--train-episodes", type=int, metavar="N", help="default: agent's budget")
    parser.add_argument("--seed", type=int, default=0, help="training and episode seed (0)")
    options.add_agent_options(parser)
    options.add_threads(parser)
    parser.add_argument("--fps", type=float, default=None, help="frames per second")
    parser.add_argument("--episodes", type=int, default=5, help="episodes to show (5)")
    parser.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    parser.add_argument(
        "--agents", metavar="A,B", help="two agents learning side by side (same env and seeds)"
    )
    parser.add_argument(
        "--no-live", action="store_true", help="train off-screen first, then replay greedily"
    )
    parser.add_argument("--record", metavar="FILE", help="write the frames shown to .gif or .mp4")
    parser.add_argument(
        "--record-every",
        type=int,
        metavar="N",
        help="draw (and record) only every N-th training episode, the first and the last; the "
        "others run unseen at full speed (default with --record: the training's episodes / "
        f"{RECORDED_EPISODES}, so a recording spans the whole training; otherwise 1)",
    )
    parser.add_argument("--zoom", type=float, default=None, help="scale the window (e.g. 1.5)")
    return parser


def run(args: argparse.Namespace, out) -> int:
    from lecture_rl.runners.watch import run_watch

    return run_watch(args, out)
