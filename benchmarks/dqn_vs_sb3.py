"""Benchmark: our ``dqn`` against stable-baselines3's DQN on FrozenLake-v1 4x4 (not slippery).

Both train an MLP of two 64-unit layers with the same DQN settings in the same run: replay of
20,000 transitions, minibatch 64, Adam lr 5e-4, γ = 0.99, 1,000 steps before learning, one
gradient step per 4 env steps (ours: 4 envs, one update per vector step; SB3: one env,
``train_freq=4``), a hard target copy every 1,000 env steps, ε from 1 to 0.05 over 10,000 env
steps. Every ``--eval-every`` env steps the greedy policy is evaluated on the (deterministic)
map; a run is *solved* at the first evaluation that reaches the goal (return 1). Evaluation
time is not counted as training time.

Printed per agent and seed: env steps to solve, training env-steps/s over ``--steps``; then
the medians over the seeds and the ratios ours / SB3 (speed: want >= 3; steps to solve: want
<= 1).

Usage::

    python benchmarks/dqn_vs_sb3.py --smoke            # CI: one seed, 3,000 steps
    python benchmarks/dqn_vs_sb3.py --seeds 0 1 2 3 4  # about 3 minutes
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from lecture_rl import agents  # noqa: E402

ENV_KW = {"map_name": "4x4", "is_slippery": False}


def make_env() -> gym.Env:
    return gym.make("FrozenLake-v1", **ENV_KW)


def greedy_return(policy, env: gym.Env) -> float:
    """Return of one greedy episode (the map is deterministic)."""
    obs, _ = env.reset(seed=0)
    total = 0.0
    for _ in range(100):
        obs, reward, terminated, truncated, _ = env.step(policy(obs))
        total += float(reward)
        if terminated or truncated:
            break
    return total


class Timer:
    """Training seconds: wall-clock minus the evaluation pauses."""

    def __init__(self) -> None:
        self.start, self.paused = time.perf_counter(), 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start - self.paused


def run_ours(seed: int, args: argparse.Namespace) -> tuple[int | None, float]:
    env, probe = make_env(), make_env()
    agent = agents.make("dqn", env, seed=seed, num_envs=4, device="cpu")
    timer, solved = Timer(), None
    next_eval = args.eval_every

    def callback(record: dict) -> None:
        nonlocal next_eval, solved
        steps = record["env_steps"]
        if solved is None and steps >= next_eval:
            next_eval = steps + args.eval_every
            t0 = time.perf_counter()
            agent.reset()
            if greedy_return(lambda o: agent.act(o), probe) >= 1.0:
                solved = steps
            timer.paused += time.perf_counter() - t0

    agent.train(env, steps=args.steps, callback=callback)
    return solved, args.steps / timer.elapsed()


def run_sb3(seed: int, args: argparse.Namespace) -> tuple[int | None, float]:
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback

    env, probe = make_env(), make_env()
    model = DQN(
        "MlpPolicy", env, learning_rate=5e-4, buffer_size=20_000, learning_starts=1_000,
        batch_size=64, gamma=0.99, train_freq=4, gradient_steps=1, target_update_interval=1_000,
        exploration_fraction=10_000 / args.steps, exploration_final_eps=0.05,
        max_grad_norm=10.0, policy_kwargs={"net_arch": [64, 64]}, seed=seed, device="cpu",
    )  # fmt: skip
    timer, solved = Timer(), [None]

    class Evaluate(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next_eval = args.eval_every

        def _on_step(self) -> bool:
            if solved[0] is None and self.num_timesteps >= self.next_eval:
                self.next_eval = self.num_timesteps + args.eval_every
                t0 = time.perf_counter()
                policy = lambda o: int(model.predict(o, deterministic=True)[0])  # noqa: E731
                if greedy_return(policy, probe) >= 1.0:
                    solved[0] = self.num_timesteps
                timer.paused += time.perf_counter() - t0
            return True

    model.learn(total_timesteps=args.steps, callback=Evaluate())
    return solved[0], args.steps / timer.elapsed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=20_000, help="training env steps per run")
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--smoke", action="store_true", help="one seed, 3,000 steps (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.steps = [0], 3_000
    torch.set_num_threads(1)
    rows = {"ours": [], "sb3": []}
    for seed in args.seeds:
        for name, fn in (("ours", run_ours), ("sb3", run_sb3)):
            solved, speed = fn(seed, args)
            rows[name].append((solved, speed))
            where = f"solved after {solved:>6,} env steps" if solved else "not solved          "
            print(f"{name:<5} seed {seed}: {where}  {speed:8,.0f} env-steps/s", flush=True)
    medians = {}
    for name, results in rows.items():
        steps = [s if s is not None else np.inf for s, _ in results]
        medians[name] = (float(np.median(steps)), float(np.median([v for _, v in results])))
        solved = sum(s is not None for s, _ in results)
        print(
            f"{name:<5} median: {medians[name][0]:>8,.0f} env steps to solve ({solved}/"
            f"{len(results)} solved), {medians[name][1]:8,.0f} env-steps/s"
        )
    speed_ratio = medians["ours"][1] / medians["sb3"][1]
    steps_ratio = medians["ours"][0] / medians["sb3"][0]
    print(f"ratio ours/sb3: speed {speed_ratio:.2f}x (want >= 3), steps to solve {steps_ratio:.2f}")


if __name__ == "__main__":
    main()
