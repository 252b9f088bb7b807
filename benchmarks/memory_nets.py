"""Benchmark: does every memory network solve the memory tasks with `ppo`'s own settings?

Each named net (`lstm`, `gru`, `transformer`; `rnn` and `mlp` on request) trains with
the env's preset and nothing else set, as `lecture-rl train --agent ppo --set net=NET` does
(`presets.settings_for`: Parity's and Copy's entries of `lecture_rl/assets/presets/ppo.yml`;
the nets' own defaults over them come from `PPOAgent.net_defaults`: the Transformer's lr 1e-3
and d_model 64; for LSTM and GRU 8 epochs, one-hot input weights of order 1, LSTM forget bias 3,
GRU update bias 2) on:

- `copy`:        `LectureRL/Copy-v0` length 5, 4 symbols;
- `copy-delay`:  the same with `delay=10` blank steps before the go marker;
- `parity`:      `LectureRL/Parity-v0` length 16.

Every `--eval-every` env steps the greedy policy is evaluated on `--eval-episodes` fresh
episodes (not counted as training time; making the env and the agent is); a run stops at
`--target` accuracy, at `--max-steps` (the default budget, 500k) or after `--cap-seconds`
of training. Then the same agent is evaluated on the task at twice the length (Parity-32; Copy
length 10), the length generalisation. Printed per net, task and seed: accuracy, env steps and
wall seconds to the target (or the best accuracy), and the accuracy at twice the length; then
one summary row per net and task over the seeds.

Usage:

```text
python benchmarks/memory_nets.py --smoke                   # CI: seconds, tiny tasks
python benchmarks/memory_nets.py --nets transformer --tasks copy copy-delay --seeds 0 1 2
python benchmarks/memory_nets.py                           # all nets and tasks, seeds 0 1
```
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import lecture_rl.envs  # noqa: E402,F401  (registers the ids)
from lecture_rl import agents  # noqa: E402
from lecture_rl.runners import presets  # noqa: E402

TASKS: dict[str, tuple[str, dict, dict]] = {  # name: (env id, kwargs, kwargs at twice the length)
    "copy": ("LectureRL/Copy-v0", {"length": 5, "symbols": 4}, {"length": 10, "symbols": 4}),
    "copy-delay": (
        "LectureRL/Copy-v0",
        {"length": 5, "symbols": 4, "delay": 10},
        {"length": 10, "symbols": 4, "delay": 10},
    ),
    "parity": ("LectureRL/Parity-v0", {"length": 16}, {"length": 32}),
}
SMOKE_TASKS: dict[str, tuple[str, dict, dict]] = {
    "copy": ("LectureRL/Copy-v0", {"length": 2, "symbols": 2}, {"length": 4, "symbols": 2}),
    "parity": ("LectureRL/Parity-v0", {"length": 4}, {"length": 8}),
}


@dataclass
class Result:
    net: str
    task: str
    seed: int
    accuracy: float = 0.0  # the best greedy accuracy seen
    steps: int = 0  # env steps to the target (or trained)
    seconds: float = 0.0  # wall seconds to the target (or trained): start-up in, evaluation out
    reached: bool = False
    longer: float = float("nan")  # accuracy at twice the length


def run_one(net: str, task: str, seed: int, args: argparse.Namespace, tasks: dict) -> Result:
    env_id, kwargs, longer_kwargs = tasks[task]
    start = time.perf_counter()  # start-up (making the env and the agent) counts
    env = gym.make(env_id, **kwargs)
    agent = agents.make("ppo", env, seed=seed, **presets.settings_for("ppo", env_id, {"net": net}))
    result = Result(net, task, seed)
    paused = 0.0
    next_eval = args.eval_every

    def seconds() -> float:
        return time.perf_counter() - start - paused

    def callback(record: dict) -> bool:
        nonlocal next_eval, paused
        steps = record["env_steps"]
        if steps < next_eval:
            return seconds() <= args.cap_seconds
        next_eval = steps + args.eval_every
        t0 = time.perf_counter()
        acc = agent.evaluate(env, episodes=args.eval_episodes, seed=10_000)["accuracy"]
        paused += time.perf_counter() - t0
        result.accuracy = max(result.accuracy, acc)
        result.steps, result.seconds = steps, seconds()
        if acc >= args.target:
            result.reached = True
            return False
        return result.seconds <= args.cap_seconds

    trained = agent.train(env, steps=args.max_steps, callback=callback)
    if not result.reached:  # a last evaluation at the end of the budget
        acc = agent.evaluate(env, episodes=args.eval_episodes, seed=10_000)["accuracy"]
        result.accuracy = max(result.accuracy, acc)
        result.steps, result.seconds = trained.env_steps, seconds()
        result.reached = acc >= args.target
    longer_env = gym.make(env_id, **longer_kwargs)
    result.longer = agent.evaluate(longer_env, episodes=args.eval_episodes, seed=20_000)["accuracy"]
    return result


def describe(r: Result, target: float) -> str:
    if r.reached:  # the headline first: wall time to the target, start-up included
        head = f"{r.seconds:6.1f}s to {target:.2f} (start-up in), reached {r.accuracy:.3f}"
    else:
        head = f"not {target:.2f} in {r.seconds:6.1f}s, best {r.accuracy:.3f}"
    return (
        f"{r.net:<12} {r.task:<11} seed {r.seed}: {head} after {r.steps:>8,} env steps; "
        f"at twice the length {r.longer:.3f}"
    )


def headline(net: str, results: list[Result], tasks: list[str], target: float) -> str:
    """One line per net: median wall seconds to greedy `target` per task, start-up in."""
    parts = []
    for task in tasks:
        rows = [r for r in results if r.net == net and r.task == task]
        solved = [r.seconds for r in rows if r.reached]
        if len(solved) * 2 > len(rows):  # the median run reached it
            seconds = sorted([r.seconds if r.reached else np.inf for r in rows])
            median = float(np.median(seconds))
            spread = f"{min(solved):.1f}-{max(r.seconds for r in rows):.1f}"
            parts.append(f"{task} {median:.1f}s ({spread}, {len(solved)}/{len(rows)})")
        else:
            parts.append(f"{task} not reached ({len(solved)}/{len(rows)})")
    return f"{net:<12} wall time to greedy {target:.2f}, start-up included: " + "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", nargs="+", default=["lstm", "gru", "transformer"])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--max-steps", type=int, default=500_000, help="ppo's default budget")
    parser.add_argument("--cap-seconds", type=float, default=300.0)
    parser.add_argument("--eval-every", type=int, default=20_000)
    parser.add_argument("--eval-episodes", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="tiny tasks, a few seconds (CI)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tasks = TASKS
    if args.smoke:
        tasks = SMOKE_TASKS
        args.tasks = [t for t in args.tasks if t in SMOKE_TASKS]
        args.seeds, args.max_steps, args.eval_every, args.eval_episodes = [0], 8192, 4096, 50
    print(
        f"ppo with the env's preset; target {args.target}, budget {args.max_steps:,} env steps or "
        f"{args.cap_seconds:.0f}s, evaluation on {args.eval_episodes} episodes"
    )
    results: list[Result] = []
    for net in args.nets:
        for task in args.tasks:
            for seed in args.seeds:
                r = run_one(net, task, seed, args, tasks)
                results.append(r)
                print(describe(r, args.target), flush=True)
    print(
        f"\nheadline: median wall time to greedy {args.target:.2f} over the seeds (range, solved)"
    )
    for net in args.nets:
        print(headline(net, results, args.tasks, args.target))
    print("\nsummary (over seeds): solved, median steps and seconds to target, accuracy 2x length")
    for net in args.nets:
        for task in args.tasks:
            rows = [r for r in results if r.net == net and r.task == task]
            solved = [r for r in rows if r.reached]
            steps = f"{np.median([r.steps for r in solved]):>9,.0f}" if solved else "        -"
            secs = f"{np.median([r.seconds for r in solved]):6.1f}" if solved else "     -"
            longer = np.mean([r.longer for r in rows])
            print(
                f"{net:<12} {task:<11} solved {len(solved)}/{len(rows)}  steps {steps}  "
                f"seconds {secs}  best acc {min(r.accuracy for r in rows):.3f}-"
                f"{max(r.accuracy for r in rows):.3f}  2x length {longer:.3f}"
            )


if __name__ == "__main__":
    main()
