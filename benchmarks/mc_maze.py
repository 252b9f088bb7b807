"""Monte Carlo control on the maze: greedy return per seed, with and without exploring starts.

`LectureRL/GridWorld-v0` with `map_name=maze` (step −0.01, goal +1, pit −1, 100-step limit;
the optimum is 0.89, 12 moves). For each setting and seed the agent trains in stages and its
greedy return (3 evaluation episodes) is measured after each stage; the same table holds
Q-learning with the same γ and seeds, the method MC is measured against (issue 22). Printed:
greedy returns per seed and stage, how many seeds are at the optimum after the last stage, and
training seconds per setting (the machine may be shared: compare rows of one run).

Run:

```text
python benchmarks/mc_maze.py [--seeds 5] [--stages 1000,2000,3000,5000] [--smoke]
```
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents

OPTIMUM = 0.89
SETTINGS = {
    "mc defaults (γ 0.99, ε 0.1)": ("mc", {}),
    "mc γ 0.95, ε 0.1": ("mc", {"gamma": 0.95}),
    "mc γ 0.95, exploring starts, ε 0": ("mc", {"gamma": 0.95, "exploring_starts": True,
                                                 "epsilon": 0.0}),
    "mc γ 0.99, exploring starts, ε 0": ("mc", {"exploring_starts": True, "epsilon": 0.0}),
    "q_learning γ 0.95, ε 0.1 (peer)": ("q_learning", {"gamma": 0.95}),
}  # fmt: skip


def maze() -> gym.Env:
    return gym.make("LectureRL/GridWorld-v0", map_name="maze")


def greedy_returns(name: str, hp: dict, seed: int, stages: list[int]) -> tuple[list[float], float]:
    """Greedy return after each stage (cumulative episodes) and the training seconds."""
    env = maze()
    agent = agents.make(name, env, seed=seed, **hp)
    returns, done, seconds = [], 0, 0.0
    for upto in stages:
        start = time.perf_counter()
        agent.train(env, episodes=upto - done)
        seconds += time.perf_counter() - start
        done = upto
        result = agent.evaluate(maze(), 3, seed=1000)
        returns.append(round(float(result["return_mean"]), 3))
    return returns, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--stages", default="1000,2000,3000,5000")
    parser.add_argument("--smoke", action="store_true", help="1 seed, 2 short stages")
    args = parser.parse_args()
    seeds = 1 if args.smoke else args.seeds
    stages = [50, 100] if args.smoke else [int(x) for x in args.stages.split(",")]
    print(f"greedy return on the maze after {'/'.join(map(str, stages))} episodes "
          f"(optimum {OPTIMUM})")  # fmt: skip
    for label, (name, hp) in SETTINGS.items():
        at_optimum, seconds = 0, 0.0
        print(f"\n{label}")
        for seed in range(seeds):
            returns, took = greedy_returns(name, hp, seed, stages)
            seconds += took
            at_optimum += abs(returns[-1] - OPTIMUM) < 1e-6
            print(f"  seed {seed}: " + "  ".join(f"{r:+.2f}" for r in returns))
        print(
            f"  at the optimum after {stages[-1]}: {at_optimum}/{seeds} seeds; "
            f"training {seconds:.1f} s"
        )


if __name__ == "__main__":
    main()
