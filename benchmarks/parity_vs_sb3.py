"""Benchmark: our `ppo` + `lstm` against sb3-contrib's RecurrentPPO on Parity.

Both agents train with their own settings (ours: Parity's preset with `net="lstm"`, as
`lecture-rl train` picks it; the peer:
`RecurrentPPO("MlpLstmPolicy", 8 envs)`) on `LectureRL/Parity-v0` in the same run. Every
`--eval-every` env steps the greedy policy is evaluated on `--eval-episodes` fresh
episodes (evaluation time is not counted; start-up, making the envs and the agent, is). A run
stops at `--target` accuracy or after `--cap-seconds` of training.

Printed for each agent: env steps and wall-clock to the target (or the best accuracy at the
cap), training env-steps/s, and the ratios ours / peer.

Usage:

```text
python benchmarks/parity_vs_sb3.py                      # length 16, about 8 minutes at most
python benchmarks/parity_vs_sb3.py --seeds 0 1 2 --cap-seconds 120
```
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, dataclass, field

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import lecture_rl.envs  # noqa: E402,F401  (registers the ids)
from lecture_rl import agents  # noqa: E402
from lecture_rl.runners import presets  # noqa: E402

ENV_ID = "LectureRL/Parity-v0"


@dataclass
class Run:
    """One agent's run: the evaluation curve and the headline figures."""

    agent: str
    seed: int
    curve: list[tuple[int, float, float]] = field(default_factory=list)  # steps, seconds, acc
    train_steps: int = 0
    train_seconds: float = 0.0
    steps_to_target: int | None = None
    seconds_to_target: float | None = None

    @property
    def best(self) -> float:
        return max((acc for *_, acc in self.curve), default=float("nan"))

    @property
    def steps_per_second(self) -> float:
        return self.train_steps / max(self.train_seconds, 1e-9)


class Clock:
    """Training time: wall-clock with the evaluation pauses taken out."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.paused = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start - self.paused

    def pause(self):
        clock = self

        class _Pause:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                clock.paused += time.perf_counter() - self.t0

        return _Pause()


def run_ours(args: argparse.Namespace, seed: int) -> Run:
    clock = Clock()  # start-up (making the env and the agent) counts
    env = gym.make(ENV_ID, length=args.length)
    hp = presets.settings_for("ppo", ENV_ID, {"net": "lstm"})  # as `lecture-rl train` picks it
    agent = agents.make("ppo", env, seed=seed, **hp)
    run = Run("ppo+lstm (ours)", seed)
    next_eval = args.eval_every

    def callback(record: dict) -> bool | None:
        """Evaluate every `eval_every` steps; `False` (stop) at the target or the time cap,
        `None` (go on) otherwise."""
        nonlocal next_eval
        steps = record["env_steps"]
        if steps < next_eval:
            return False if clock.elapsed() > args.cap_seconds else None
        next_eval = steps + args.eval_every
        with clock.pause():
            acc = agent.evaluate(env, episodes=args.eval_episodes, seed=10_000)["accuracy"]
        seconds = clock.elapsed()
        run.curve.append((steps, seconds, acc))
        print(f"  ours   steps {steps:>9,}  {seconds:6.1f}s  greedy accuracy {acc:.3f}", flush=True)
        if acc >= args.target and run.steps_to_target is None:
            run.steps_to_target, run.seconds_to_target = steps, seconds
            return False
        return False if seconds > args.cap_seconds else None

    result = agent.train(env, steps=args.max_steps, callback=callback)
    run.train_steps, run.train_seconds = result.env_steps, clock.elapsed()
    if run.steps_to_target is None:  # a last evaluation at the cap
        acc = agent.evaluate(env, episodes=args.eval_episodes, seed=10_000)["accuracy"]
        run.curve.append((result.env_steps, run.train_seconds, acc))
        if acc >= args.target:
            run.steps_to_target, run.seconds_to_target = result.env_steps, run.train_seconds
    return run


def sb3_greedy_accuracy(model, length: int, episodes: int, seed: int) -> float:
    """Greedy accuracy of a RecurrentPPO model on `episodes` Parity episodes, run in batch."""
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(
        f"lecture_rl.envs:{ENV_ID}", n_envs=episodes, seed=seed, env_kwargs={"length": length}
    )
    obs = venv.reset()
    state, starts = None, np.ones(episodes, dtype=bool)
    correct = 0.0
    for _ in range(length):
        action, state = model.predict(obs, state=state, episode_start=starts, deterministic=True)
        obs, reward, done, _ = venv.step(action)
        correct += float(reward.sum())
        starts = done
    venv.close()
    return correct / (episodes * length)


def run_sb3(args: argparse.Namespace, seed: int) -> Run:
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    clock = Clock()  # start-up (making the envs and the model) counts
    venv = make_vec_env(
        f"lecture_rl.envs:{ENV_ID}", n_envs=8, seed=seed, env_kwargs={"length": args.length}
    )
    model = RecurrentPPO("MlpLstmPolicy", venv, seed=seed, device="cpu", verbose=0)
    run = Run("sb3-contrib RecurrentPPO", seed)

    class Evaluate(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next_eval = args.eval_every

        def _on_step(self) -> bool:
            steps = self.num_timesteps
            if steps < self.next_eval:
                return clock.elapsed() <= args.cap_seconds
            self.next_eval = steps + args.eval_every
            with clock.pause():
                acc = sb3_greedy_accuracy(model, args.length, args.eval_episodes, 10_000)
            seconds = clock.elapsed()
            run.curve.append((steps, seconds, acc))
            print(
                f"  sb3    steps {steps:>9,}  {seconds:6.1f}s  greedy accuracy {acc:.3f}",
                flush=True,
            )
            if acc >= args.target:
                run.steps_to_target, run.seconds_to_target = steps, seconds
                return False
            return seconds <= args.cap_seconds

    model.learn(total_timesteps=args.max_steps, callback=Evaluate())
    run.train_steps, run.train_seconds = model.num_timesteps, clock.elapsed()
    venv.close()
    if run.steps_to_target is None:  # a last evaluation at the cap
        acc = sb3_greedy_accuracy(model, args.length, args.eval_episodes, 10_000)
        run.curve.append((run.train_steps, run.train_seconds, acc))
    return run


def describe(run: Run, target: float) -> str:
    if run.steps_to_target is not None:
        reach = (
            f"reached {target:.2f} after {run.steps_to_target:,} env steps "
            f"in {run.seconds_to_target:.1f}s"
        )
    else:
        reach = f"did not reach {target:.2f}; best {run.best:.3f} in {run.train_seconds:.0f}s cap"
    return (
        f"{run.agent:<26} seed {run.seed}: {reach}; "
        f"training {run.steps_per_second:,.0f} env-steps/s"
    )


def time_to_target(group: list[Run], target: float) -> str:
    """The headline of one agent: median seconds to `target` over the seeds and each seed's
    (a seed that never reached it counts as infinite, shown as `>cap`)."""
    seconds = [r.seconds_to_target if r.seconds_to_target is not None else np.inf for r in group]
    median = float(np.median(seconds))
    each = ", ".join(
        f"{t:.1f}s" if np.isfinite(t) else f">{r.train_seconds:.0f}s"
        for t, r in zip(seconds, group)
    )
    shown = f"{median:.1f}s" if np.isfinite(median) else "not reached"
    return f"{group[0].agent:<26} median {shown} to {target:.2f} (seeds: {each})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=16, help="Parity length (default 16)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--cap-seconds",
        type=float,
        default=210.0,
        help="training time cap per agent and seed (default 210: the whole run under ~10 min)",
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        default=500_000,
        help="our training budget (sets the lr schedule), also sb3's cap",
    )
    parser.add_argument("--eval-every", type=int, default=32_768, help="env steps between evals")
    parser.add_argument("--eval-episodes", type=int, default=256)
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads for both agents (default 1)"
    )
    parser.add_argument("--only", choices=("ours", "sb3"), help="run one side only (default: both)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny budget (seconds): checks the script runs (CI)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.max_steps, args.eval_every, args.eval_episodes, args.length = 4096, 1024, 16, 4
        args.cap_seconds = min(args.cap_seconds, 30.0)
    torch.set_num_threads(args.threads)

    runs: dict[str, list[Run]] = {"ours": [], "sb3": []}
    for seed in args.seeds:
        if args.only != "sb3":
            print(f"ours: ppo + lstm, defaults, Parity length {args.length}, seed {seed}")
            runs["ours"].append(run_ours(args, seed))
        if args.only != "ours":
            print(f"peer: RecurrentPPO MlpLstmPolicy, 8 envs, seed {seed}", flush=True)
            runs["sb3"].append(run_sb3(args, seed))

    print(
        f"\nheadline: wall time to greedy {args.target:.2f} on Parity-{args.length}, start-up "
        "(making the env and the agent) included, evaluation excluded"
    )
    for group in runs.values():
        if group:
            print("  " + time_to_target(group, args.target))
    print("\nResults (greedy per-step accuracy, training time excludes evaluation)")
    for group in runs.values():
        for run in group:
            print("  " + describe(run, args.target))
    if runs["sb3"] and runs["ours"]:
        ours_sps = np.mean([r.steps_per_second for r in runs["ours"]])
        sb3_sps = np.mean([r.steps_per_second for r in runs["sb3"]])
        print(f"  env-steps/s ratio ours / sb3: {ours_sps / sb3_sps:.1f}x")
        for ours, peer in zip(runs["ours"], runs["sb3"]):
            if ours.seconds_to_target is None:
                continue
            peer_time = peer.seconds_to_target or peer.train_seconds
            qualifier = "" if peer.seconds_to_target is not None else " (peer never reached it: ≥)"
            print(
                f"  seed {ours.seed}: wall-clock to {args.target:.2f} ratio sb3 / ours: "
                f"{peer_time / ours.seconds_to_target:.1f}x{qualifier}"
            )
    if args.smoke:
        for run in runs["ours"]:  # a callback that stops training by mistake shows up here
            reached = run.steps_to_target is not None
            if not reached and run.train_steps < args.max_steps:
                raise SystemExit(
                    f"smoke: ours stopped after {run.train_steps} of {args.max_steps} steps "
                    "without reaching the target or the time cap"
                )
    if args.json:
        payload = {
            key: [{**asdict(r), "best": r.best} for r in group] for key, group in runs.items()
        }
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2)


if __name__ == "__main__":
    main()
