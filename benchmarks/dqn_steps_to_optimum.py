"""DQN at `dqn-target`'s quick settings: env steps until the greedy policy is optimal, per seed.

`LectureRL/GridWorld-v0`, `map_name="maze"`, `obs_mode="onehot"` (the optimum is 0.89, 12
moves), `dqn` with an MLP and every hyperparameter that `experiment dqn-target --quick` sets
or takes from `dqn`'s defaults written out (4 envs, one update of 64 every 2nd vector step,
Adam 1e-3, θ̃ copied every 1,000 env steps, ε 1 -> 0.05 over 8k env steps, Double DQN, Huber).
Every `--every` env steps the greedy policy plays one episode from the start (the experiment's
probe: `agent.evaluate(env, 1, seed=1_000_000)`).

Printed per seed: the env steps of the first optimal greedy episode, the env steps from which
every later one is optimal ("for good"), the greedy return at 20k env steps (the issue's old
`--quick` budget) and after training, and the run's CPU seconds (one torch thread). Then the
medians and how many seeds are optimal at 20k and at the end.

Written out so that the same script measures two versions of the code on the same seeds: run it
once on this checkout and once with `PYTHONPATH` pointing at a folder `lecture_rl/` whose
`agents`, `envs`, `nets` and `runners` link to an older checkout's folders. Where both runs reach
the optimum at the same env step on a seed, the two versions learn the same; where they part
later, the order of additions differs (floating-point rounding grows step by step), which moves
the seed's noise, not what is learned. Hyperparameters the older code lacks are left out and
named.

Run:

```bash
python benchmarks/dqn_steps_to_optimum.py [--seeds 0 1 ... 9] [--steps 30000] [--smoke]
```
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import gymnasium as gym
import torch

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents

OPTIMUM = 0.89
ENV_KW = {"map_name": "maze", "obs_mode": "onehot"}
#: `experiment dqn-target --quick`'s settings, with dqn's defaults written out
HP = {
    "hidden_size": 64,
    "gamma": 0.99,
    "max_grad_norm": 10.0,
    "buffer_size": 20_000,
    "batch_size": 64,
    "learning_starts": 1_000,
    "train_freq": 2,
    "gradient_steps": 1,
    "target_update": 1_000,
    "tau": 1.0,
    "eps_start": 1.0,
    "eps_end": 0.05,
    "eps_decay_steps": 8_000,
    "double": True,
    "loss": "huber",
    "lr": 1e-3,
    "num_envs": 4,
    "device": "cpu",
}
OLD_BUDGET = 20_000  # the issue's `--quick` budget


def run(seed: int, steps: int, every: int) -> dict:
    """Train one seed; the greedy return every `every` env steps and what it says."""
    env = gym.make("LectureRL/GridWorld-v0", **ENV_KW)
    probe = gym.make("LectureRL/GridWorld-v0", **ENV_KW)
    params = agents.make("dqn", env, seed=seed, net="mlp", device="cpu").params
    hp = {k: v for k, v in HP.items() if k in params}
    agent = agents.make("dqn", env, seed=seed, net="mlp", **hp)
    greedy: list[tuple[int, float]] = []
    due = every

    def callback(record: dict) -> None:
        nonlocal due
        if record["env_steps"] >= due:
            due += every
            greedy.append(
                (record["env_steps"], agent.evaluate(probe, 1, seed=1_000_000)["return_mean"])
            )

    cpu = time.process_time()
    agent.train(env, steps=steps, callback=callback)
    greedy.append((steps, agent.evaluate(probe, 1, seed=1_000_000)["return_mean"]))
    cpu = time.process_time() - cpu
    optimal = [g >= OPTIMUM - 1e-6 for _, g in greedy]
    first = next((s for (s, _), ok in zip(greedy, optimal) if ok), None)
    for_good = next((greedy[i][0] for i in range(len(greedy)) if all(optimal[i:])), None)
    return {
        "seed": seed,
        "first_optimal": first,
        "optimal_for_good_from": for_good,
        "greedy_at_20k": [g for s, g in greedy if s <= OLD_BUDGET][-1]
        if steps >= OLD_BUDGET
        else None,
        "greedy_end": greedy[-1][1],
        "cpu_s": round(cpu, 1),
        "left_out": sorted(set(HP) - set(hp)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--steps", type=int, default=30_000, help="training env steps per seed")
    parser.add_argument("--every", type=int, default=500, help="env steps between greedy episodes")
    parser.add_argument("--json", action="store_true", help="one JSON line per seed")
    parser.add_argument("--smoke", action="store_true", help="one seed, 2,000 steps (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.steps = [0], 2_000
    torch.set_num_threads(1)
    rows = []
    for seed in args.seeds:
        row = run(seed, args.steps, args.every)
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(
                f"seed {seed}: first optimal {row['first_optimal']}, optimal for good from "
                f"{row['optimal_for_good_from']}, greedy at 20k {row['greedy_at_20k']}, "
                f"after {args.steps:,} {row['greedy_end']:+.2f}, {row['cpu_s']} CPU s",
                flush=True,
            )
    if rows[0]["left_out"]:
        print("hyperparameters this code lacks (left at its defaults):", rows[0]["left_out"])
    never = args.steps + 1  # a seed that never gets there counts past the budget in the median
    for key in ("first_optimal", "optimal_for_good_from"):
        values = [never if r[key] is None else r[key] for r in rows]
        median = statistics.median(values)
        said = f"{median:,.0f} env steps" if median < never else f"not within {args.steps:,}"
        print(f"median {key}: {said}")
    ends = [r["greedy_end"] >= OPTIMUM - 1e-6 for r in rows]
    at20 = [r["greedy_at_20k"] is not None and r["greedy_at_20k"] >= OPTIMUM - 1e-6 for r in rows]
    print(f"optimal at 20k: {sum(at20)}/{len(rows)} seeds; after training: {sum(ends)}/{len(rows)}")


if __name__ == "__main__":
    main()
