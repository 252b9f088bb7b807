"""Env-steps per second of every lecture-rl env: single, Gymnasium SyncVectorEnv, native batch.

Usage:

```text
python benchmarks/env_throughput.py                 # all envs, 256 copies, ~2 s per figure
python benchmarks/env_throughput.py --num-envs 1024 --seconds 1
```

For each env it prints steps/s as one env, as `SyncVectorEnv` x N of that env (the peer a user
gets from `gym.make_vec(..., vectorization_mode="sync")`) and as the native numpy batch
(`vectorization_mode="vector_entry_point"`), and the native/sync ratio, all measured in the
same run. Actions are drawn before timing, so the figures measure the env, not the sampler.
Targets: native/sync >= 50x for Parity and Copy, >= 20x for GridWorld.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import lecture_rl.envs  # noqa: F401

CASES: list[tuple[str, dict, float]] = [
    ("LectureRL/GridWorld-v0", {"map_name": "maze"}, 20.0),
    ("LectureRL/GridWorld-v0", {"map_name": "maze", "slip": 0.1}, 20.0),
    ("LectureRL/Parity-v0", {}, 50.0),
    ("LectureRL/Copy-v0", {}, 50.0),
]


def timed(step: Callable[[int], None], batch: int, seconds: float) -> float:
    """Env steps per second of `step(i)` (`batch` env steps per call) over `seconds`."""
    for i in range(10):  # warm up
        step(i)
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            step(calls)
            calls += 1
    return calls * batch / elapsed


def single_env(env_id: str, kw: dict, seconds: float) -> float:
    env = gym.make(env_id, **kw)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, env.action_space.n, 4096).tolist()

    def step(i: int) -> None:
        _, _, terminated, truncated, _ = env.step(actions[i % 4096])
        if terminated or truncated:
            env.reset()

    return timed(step, 1, seconds)


def vector_env(env_id: str, kw: dict, mode: str, num_envs: int, seconds: float) -> float:
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, **kw)
    envs.reset(seed=0)
    n = envs.single_action_space.n
    actions = np.random.default_rng(0).integers(0, n, (64, num_envs))

    def step(i: int) -> None:
        envs.step(actions[i % 64])  # both modes autoreset by themselves

    rate = timed(step, num_envs, seconds)
    envs.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-envs", type=int, default=256, help="copies in the vector envs")
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per figure")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny budget (seconds): checks the script runs (CI)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.num_envs, args.seconds = 8, 0.05

    header = f"{'env':<24}{'single':>14}{'sync x' + str(args.num_envs):>16}"
    header += f"{'native x' + str(args.num_envs):>18}{'native/sync':>13}{'target':>9}"
    print(header)
    for env_id, kw, target in CASES:
        single = single_env(env_id, kw, args.seconds)
        sync = vector_env(env_id, kw, "sync", args.num_envs, args.seconds)
        native = vector_env(env_id, kw, "vector_entry_point", args.num_envs, args.seconds)
        ratio = native / sync
        verdict = "ok" if ratio >= target else "MISSED"
        name = env_id.split("/")[1] + (f" slip={kw['slip']}" if "slip" in kw else "")
        print(
            f"{name:<24}{single:>14,.0f}{sync:>16,.0f}{native:>18,.0f}"
            f"{ratio:>12.1f}x{f'>={target:.0f}x':>9} {verdict}"
        )
    print("(env steps per second; sync = gymnasium SyncVectorEnv of the single env)")


if __name__ == "__main__":
    main()
