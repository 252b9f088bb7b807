"""SB3 PPO on GridWorld image observations: the notes' CNN vs SB3's default NatureCNN.

Trains `PPO("CnnPolicy")` on `LectureRL/GridWorld-v0` (`obs_mode="image"`) with the
features extractor from `lecture_rl.nets.sb3_extractors` and with SB3's own NatureCNN,
same seeds and settings, and prints per seed the env steps until the greedy policy reaches
the optimal return, the training speed (steps/s) and the parameter count.

    python benchmarks/nets_cnn_gridworld.py [--map maze] [--seeds 3] [--steps 30000]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

import lecture_rl.envs  # noqa: F401
from lecture_rl.nets.sb3_extractors import NotesCNNExtractor


def greedy_return(model: PPO, env: gym.Env) -> float:
    obs, _ = env.reset(seed=0)
    total, done = 0.0, False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(int(action))
        total += float(reward)
        done = terminated or truncated
    return total


class SolvedAt(BaseCallback):
    """Checks the greedy return every `every` steps; stops when it reaches `target`."""

    def __init__(self, env: gym.Env, target: float, every: int):
        super().__init__()
        self.env, self.target, self.every = env, target, every
        self.solved_at: int | None = None

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            if greedy_return(self.model, self.env) >= self.target - 1e-6:
                self.solved_at = self.num_timesteps
                return False
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default="maze")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--n-steps", type=int, default=256, help="PPO rollout length (256)")
    parser.add_argument("--optimal", type=float, default=None, help="optimal greedy return")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny budget (seconds): checks the script runs (CI)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.steps, args.n_steps = 1, 64, 64
    make = lambda: gym.make("LectureRL/GridWorld-v0", map_name=args.map, obs_mode="image")  # noqa: E731
    optimal = args.optimal
    if optimal is None:  # shortest path: 12 moves on maze -> 1 - 11 * 0.01
        optimal = {"maze": 1 - 11 * 0.01, "lecture": 10.0}.get(args.map, 0.0)
    variants = {
        "notes CNN (lecture_rl.nets)": {"features_extractor_class": NotesCNNExtractor},
        "NatureCNN (SB3 default)": {},
    }
    print(f"PPO CnnPolicy on GridWorld {args.map!r} images, target greedy return {optimal:.2f}")
    rows = {}
    for label, policy_kwargs in variants.items():
        solved, speeds = [], []
        for seed in range(args.seeds):
            model = PPO(
                "CnnPolicy",
                make(),
                seed=seed,
                device="cpu",
                n_steps=args.n_steps,
                batch_size=min(64, args.n_steps),
                policy_kwargs=policy_kwargs,
            )
            callback = SolvedAt(make(), optimal, every=args.n_steps)
            start = time.perf_counter()
            model.learn(args.steps, callback=callback)
            speeds.append(model.num_timesteps / (time.perf_counter() - start))
            solved.append(callback.solved_at)
        params = sum(p.numel() for p in model.policy.features_extractor.parameters())
        rows[label] = (solved, speeds, params)
        shown = ", ".join(str(s) if s else f">{args.steps}" for s in solved)
        print(
            f"{label:<28} solved at [{shown}] steps; {np.mean(speeds):,.0f} steps/s; "
            f"extractor {params:,} params"
        )
    ours, peer = (rows[k] for k in variants)
    solved_ours = sum(s is not None for s in ours[0])
    solved_peer = sum(s is not None for s in peer[0])
    print(
        f"solved seeds: ours {solved_ours}/{args.seeds}, NatureCNN {solved_peer}/{args.seeds}; "
        f"speed ratio ours/NatureCNN {np.mean(ours[1]) / np.mean(peer[1]):.2f}x; "
        f"parameter ratio {ours[2] / peer[2]:.3f}"
    )


if __name__ == "__main__":
    main()
