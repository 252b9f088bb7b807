"""Generate the README's pictures of the agents' insides (docs/insides_*.png).

Trains ``ppo`` + ``lstm`` on Parity (length 16) and ``ppo`` + ``transformer`` on Copy (length
5, 4 symbols) with their defaults until greedy accuracy >= 0.99 (or the step cap), then draws
one greedy episode of each with :func:`lecture_rl.runners.insides_figure.draw_insides`, the
picture ``lecture-rl inspect`` writes. About a minute on one CPU core.

    python docs/make_insides_figures.py [--out docs] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import torch  # noqa: E402

import lecture_rl.envs  # noqa: E402,F401
from lecture_rl import agents  # noqa: E402
from lecture_rl.runners.insides import record_insides  # noqa: E402
from lecture_rl.runners.insides_figure import draw_insides, save_figure  # noqa: E402

CASES = [  # file, net, env id, env kwargs, step cap, episodes drawn, title
    ("insides_lstm_parity.png", "lstm", "LectureRL/Parity-v0", {"length": 16}, 300_000, 1,
     "ppo + lstm on Parity-16: the cell state of the unit most correlated with the parity"),
    ("insides_transformer_copy.png", "transformer", "LectureRL/Copy-v0",
     {"length": 5, "symbols": 4}, 300_000, 1,
     "ppo + transformer on Copy-5: each recall step (row) attends to its symbol's tape cell"),
]  # fmt: skip


def train_until(agent, env, cap: int) -> float:
    accuracy = 0.0
    while agent.env_steps < cap:
        agent.train(env, steps=20_480)
        accuracy = agent.evaluate(env, episodes=200, seed=10_000)["accuracy"]
        if accuracy >= 0.99:
            break
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).parent))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name, net, env_id, kwargs, cap, episodes, title in CASES:
        env = gym.make(env_id, **kwargs)
        agent = agents.make("ppo", env, net=net, seed=args.seed)
        accuracy = train_until(agent, env, cap)
        insides = record_insides(agent, env, episodes=episodes, seed=123)
        fig = draw_insides(insides, f"{title}  (greedy accuracy {accuracy:.3f})")
        save_figure(fig, str(Path(args.out) / name))
        print(f"{name}: {agent.env_steps:,} env steps, accuracy {accuracy:.3f}", flush=True)


if __name__ == "__main__":
    main()
