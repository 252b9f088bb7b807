"""Benchmark: what listening to every gradient step costs ``ppo`` + ``gru``.

``ppo`` with ``net="gru"`` and its defaults trains on ``LectureRL/Parity-v0`` (length 16)
twice per repeat, interleaved in the same run: once with no subscriber of ``NetworkUpdate``
(then no loss is turned into a float and the gradient norm stays a tensor: the divergence
guard runs without host syncs, ``agents/deep.py``) and once with a subscriber that receives
every gradient step's event (which one goes first alternates). Printed: env-steps per wall
second and per CPU second of this process (steadier on a shared machine) of each, medians of
``--repeats`` with the lowest and highest, and the ratios. The issue's bar: the unsubscribed
figure at least the one measured before the event existed (14.4k env-steps/s on the dev
machine; a machine shared with other jobs gives less, so compare the two figures of one run).

Usage::

    python benchmarks/event_overhead.py --smoke     # CI: seconds
    python benchmarks/event_overhead.py             # 5 repeats of 65,536 env steps each
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import lecture_rl.envs  # noqa: E402,F401
from lecture_rl import agents  # noqa: E402
from lecture_rl.agents.events import NetworkUpdate, TrainingCallback  # noqa: E402


class CountUpdates(TrainingCallback):
    """A subscriber of every gradient step (reads its numbers, as TensorBoard would)."""

    events = (NetworkUpdate,)

    def __init__(self) -> None:
        self.count, self.loss = 0, 0.0

    def on_event(self, event: NetworkUpdate) -> None:
        self.count += 1
        self.loss += event.losses["loss"]


def speed(steps: int, seed: int, subscribed: bool) -> tuple[float, float, int]:
    """(env-steps per wall second, per CPU second of this process, events received)."""
    env = gym.make("LectureRL/Parity-v0", length=16)
    agent = agents.make("ppo", env, net="gru", seed=seed, device="cpu")
    listener = CountUpdates()
    agent.train(env, steps=2_048, callbacks=[listener] if subscribed else None)  # warm-up
    listener.count = 0
    start, cpu = time.perf_counter(), time.process_time()
    result = agent.train(env, steps=steps, callbacks=[listener] if subscribed else None)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return result.env_steps / wall, result.env_steps / cpu, listener.count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=65_536, help="timed env steps per run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="2 repeats of 4,096 steps (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.steps, args.repeats = 4_096, 2
    torch.set_num_threads(1)
    figures: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for repeat in range(args.repeats):
        order = (False, True) if repeat % 2 == 0 else (True, False)  # neither always first
        for subscribed in order:
            sps, cpu_sps, events = speed(args.steps, repeat, subscribed)
            figures[subscribed].append((sps, cpu_sps))
            name = "subscribed  " if subscribed else "unsubscribed"
            print(
                f"repeat {repeat} {name} {sps:9,.0f} env-steps/s, {cpu_sps:9,.0f} per CPU second"
                f" ({events} events)",
                flush=True,
            )
    medians = {}
    for subscribed, label in ((False, "no subscriber"), (True, "a NetworkUpdate subscriber")):
        wall = [w for w, _ in figures[subscribed]]
        cpu = [c for _, c in figures[subscribed]]
        medians[subscribed] = (float(np.median(wall)), float(np.median(cpu)))
        print(
            f"ppo+gru Parity-16, {label:<27} median {medians[subscribed][0]:9,.0f} env-steps/s "
            f"({min(wall):,.0f}-{max(wall):,.0f}), {medians[subscribed][1]:9,.0f} per CPU second "
            f"({min(cpu):,.0f}-{max(cpu):,.0f})"
        )
    print(
        f"ratio unsubscribed/subscribed: {medians[False][0] / medians[True][0]:.3f}x wall, "
        f"{medians[False][1] / medians[True][1]:.3f}x per CPU second "
        "(pre-event figure: 14.4k env-steps/s on the dev machine)"
    )


if __name__ == "__main__":
    main()
