"""Torch batched envs against the numpy native vector envs: raw env steps/s and PPO+LSTM end to end.

Usage::

    python benchmarks/torch_envs.py                  # CPU, and CUDA too when there is one
    python benchmarks/torch_envs.py --num-envs 256 4096 --repeats 3
    python benchmarks/torch_envs.py --solve          # + time to 0.99 on Parity-16 (CUDA only)
    python benchmarks/torch_envs.py --smoke          # seconds (CI)

Two tables, each measured in the same run, numpy and torch interleaved, median of
``--repeats``:

1. *env*: env steps per second of the numpy native vector env (``vector_entry_point``) and of
   its torch version on each device, with random actions drawn before timing (on the device
   for the torch envs): the env alone.
2. *ppo+lstm Parity-16*: env steps per second of ``agent.train`` (collect and update) with
   ``torch_envs=False`` (numpy envs: observations to the device and actions back at every
   step) and ``torch_envs=True``, for each ``--num-envs`` and device; the ratio torch/numpy.

With ``--solve`` on a GPU: PPO+LSTM on Parity-16 with ``--solve-envs`` torch envs, trained
until the last ``num_envs`` training episodes average accuracy >= 0.99, then a greedy
evaluation of 1000 episodes; prints the wall time (the issue's goal: under 10 s, and >= 1M env
steps/s end to end).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import gymnasium as gym
import numpy as np
import torch

import lecture_rl.envs  # noqa: F401  (registers the ids)
from lecture_rl import agents
from lecture_rl.agents.events import EpisodeEnd, TrainingCallback
from lecture_rl.envs.torch_vector import make_torch_vector_env
from lecture_rl.runners import presets

ENVS: list[tuple[str, dict]] = [
    ("LectureRL/Parity-v0", {"length": 16}),
    ("LectureRL/Copy-v0", {"length": 5}),
    ("LectureRL/GridWorld-v0", {"map_name": "maze", "slip": 0.1}),
]
PARITY16 = ("LectureRL/Parity-v0", {"length": 16})


def devices() -> list[str]:
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def rate(step: Callable[[int], None], batch: int, seconds: float, device: str) -> float:
    """Env steps per second of ``step(i)`` (``batch`` env steps per call)."""
    for i in range(5):  # warm up
        step(i)
    sync(device)
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(20):
            step(calls)
            calls += 1
        sync(device)
    return calls * batch / (time.perf_counter() - start)


def numpy_env_rate(env_id: str, kw: dict, num_envs: int, seconds: float) -> float:
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kw)
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, envs.single_action_space.n, (64, num_envs))
    result = rate(lambda i: envs.step(actions[i % 64]), num_envs, seconds, "cpu")
    envs.close()
    return result


def torch_env_rate(env_id: str, kw: dict, num_envs: int, seconds: float, device: str) -> float:
    envs = make_torch_vector_env(env_id, num_envs, device, **kw)
    envs.check_action_range = False  # as the agents step them
    envs.reset(seed=0)
    n = envs.single_action_space.n
    generator = torch.Generator(device=device).manual_seed(0)
    actions = torch.randint(0, n, (64, num_envs), generator=generator, device=device)
    return rate(lambda i: envs.step(actions[i % 64]), num_envs, seconds, device)


def env_rate(
    env_id: str, kw: dict, num_envs: int, seconds: float, device: str, on_torch: bool
) -> float:
    if on_torch:
        return torch_env_rate(env_id, kw, num_envs, seconds, device)
    return numpy_env_rate(env_id, kw, num_envs, seconds)


def ppo_rate(num_envs: int, torch_envs: bool, device: str, rollouts: int, **hp) -> float:
    """Env steps/s of PPO+LSTM training on Parity-16, after one warm-up rollout."""
    env = gym.make(PARITY16[0], **PARITY16[1])
    hp = presets.settings_for("ppo", PARITY16[0], {"net": "lstm", "num_envs": num_envs, **hp})
    agent = agents.make("ppo", env, seed=0, device=device, torch_envs=torch_envs, **hp)
    per_rollout = num_envs * agent.hp["n_steps"]
    agent.train(env, steps=per_rollout)  # warm-up: allocations, cuDNN plans
    sync(device)
    start = time.perf_counter()
    agent.train(env, steps=rollouts * per_rollout)
    sync(device)
    return rollouts * per_rollout / (time.perf_counter() - start)


def median_pair(measure: Callable[[bool], float], repeats: int) -> tuple[float, float]:
    """Median of ``repeats`` numpy and torch figures, measured interleaved."""
    numpy_runs, torch_runs = [], []
    for _ in range(repeats):
        numpy_runs.append(measure(False))
        torch_runs.append(measure(True))
    return statistics.median(numpy_runs), statistics.median(torch_runs)


class AccuracyStop(TrainingCallback):
    """Stops training once the last ``window`` training episodes average ``target`` accuracy."""

    events = (EpisodeEnd,)

    def __init__(self, window: int, target: float):
        self.window, self.target, self.recent = window, target, []

    def on_event(self, event: EpisodeEnd) -> bool:
        self.recent.append(event.record.get("accuracy", 0.0))
        del self.recent[: -self.window]
        full = len(self.recent) == self.window
        return not (full and sum(self.recent) / self.window >= self.target)


def solve(num_envs: int, max_steps: int, device: str = "cuda", **hp) -> None:
    env = gym.make(PARITY16[0], **PARITY16[1])
    hp = presets.settings_for("ppo", PARITY16[0], {"net": "lstm", "num_envs": num_envs, **hp})
    agent = agents.make("ppo", env, seed=0, device=device, **hp)
    sync(device)
    start = time.perf_counter()
    result = agent.train(env, steps=max_steps, callbacks=[AccuracyStop(num_envs, 0.99)])
    sync(device)
    seconds = time.perf_counter() - start
    greedy = agent.evaluate(env, 1000, seed=10**6)["accuracy"]
    print(
        f"solve: ppo+lstm Parity-16, {num_envs} envs on {device} "
        f"(torch_envs={agent.hp['torch_envs']}): "
        f"{'reached' if result.stopped_early else 'did NOT reach'} 0.99 (training episodes) "
        f"after {result.env_steps:,} env steps in {seconds:.1f} s "
        f"({result.env_steps / seconds:,.0f} env steps/s end to end); greedy accuracy {greedy:.3f}"
        f"; goal: < 10 s and >= 1,000,000 steps/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-envs", type=int, nargs="+", default=[256, 4096])
    parser.add_argument("--seconds", type=float, default=1.0, help="timing per env figure")
    parser.add_argument("--rollouts", type=int, default=2, help="timed PPO rollouts per figure")
    parser.add_argument("--repeats", type=int, default=3, help="median of this many runs")
    parser.add_argument("--solve", action="store_true", help="time to 0.99 (CUDA only)")
    parser.add_argument("--solve-envs", type=int, default=4096)
    parser.add_argument("--solve-steps", type=int, default=20_000_000)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--smoke", action="store_true", help="tiny budget (seconds): for CI")
    args = parser.parse_args()
    hp: dict = {}
    if args.smoke:
        args.num_envs, args.seconds, args.rollouts, args.repeats = [16], 0.05, 1, 1
        hp = {"n_steps": 4, "hidden_size": 8, "update_epochs": 1}
    torch.set_num_threads(args.threads)  # more threads than free cores slows small nets
    print(f"torch {torch.__version__}; devices: {', '.join(devices())}; "
          f"cpu threads: {torch.get_num_threads()}")  # fmt: skip

    print(f"\n{'env':<24}{'envs':>6}{'device':>8}{'numpy':>14}{'torch':>14}{'torch/numpy':>13}")
    for env_id, kw in ENVS:
        name = env_id.split("/")[1] + "".join(f" {k}={v}" for k, v in kw.items())
        for n in args.num_envs:
            for device in devices():
                measure = partial(env_rate, env_id, kw, n, args.seconds, device)
                numpy_rate, torch_rate = median_pair(measure, args.repeats)
                print(
                    f"{name[:23]:<24}{n:>6}{device:>8}{numpy_rate:>14,.0f}{torch_rate:>14,.0f}"
                    f"{torch_rate / numpy_rate:>12.2f}x"
                )
    print("(env steps per second; numpy = the native numpy vector env, on the host)")

    print(f"\n{'ppo+lstm Parity-16':<24}{'envs':>6}{'device':>8}{'numpy envs':>14}"
          f"{'torch envs':>14}{'torch/numpy':>13}")  # fmt: skip
    for n in args.num_envs:
        for device in devices():
            measure = partial(ppo_rate, n, device=device, rollouts=args.rollouts, **hp)
            numpy_rate, torch_rate = median_pair(measure, args.repeats)
            print(
                f"{'train (collect+update)':<24}{n:>6}{device:>8}{numpy_rate:>14,.0f}"
                f"{torch_rate:>14,.0f}{torch_rate / numpy_rate:>12.2f}x"
            )
    print("(env steps per second of agent.train, after a warm-up rollout)")

    if args.solve:
        if torch.cuda.is_available():
            solve(args.solve_envs, args.solve_steps)
        else:
            print("solve: skipped (no CUDA on this machine)")


if __name__ == "__main__":
    main()
