"""Torch batched envs against the numpy native vector envs: raw env steps/s and PPO+LSTM end to end.

Usage:
    ```bash
    python benchmarks/torch_envs.py                  # CPU, and CUDA too when there is one
    python benchmarks/torch_envs.py --num-envs 256 4096 --repeats 3
    python benchmarks/torch_envs.py --profile        # where a rollout's time goes (first)
    python benchmarks/torch_envs.py --solve          # + time to 0.99 on Parity-16 (CUDA only)
    python benchmarks/torch_envs.py --solve --device cpu --minibatches 1 2 4 --only-solve
    python benchmarks/torch_envs.py --smoke          # seconds (CI): the profile included
    git worktree add ../before <commit> && python benchmarks/torch_envs.py --profile \
        --only-solve --before ../before              # the same counts on that code too
    ```

With `--profile`, first: PPO + LSTM and GRU on Parity-16 with `--profile-envs` torch envs
(4096) on `--device`, one rollout and its update under `torch.profiler`
(`lecture_rl.agents.training_profile`), for PPO's defaults and for `AT_SCALE`: a table per
run (env step, the backbone's forward in the rollout, the sequence forward + backward of the
update, the optimizer, host syncs, Python outside torch ops), the torch operator launches per
rollout step and per update, and the launch-bound ceiling ``4096 x steps per rollout /
(launches per rollout x 8 µs)``.

Two tables, each measured in the same run, numpy and torch interleaved, median of
`--repeats`:

1. *env*: env steps per second of the numpy native vector env (`vector_entry_point`) and of
   its torch version on each device, with random actions drawn before timing (on the device
   for the torch envs): the env alone.
2. *ppo+lstm Parity-16*: env steps per second of `agent.train` (collect and update) with
   `torch_envs=False` (numpy envs: observations to the device and actions back at every
   step) and `torch_envs=True`, for each `--num-envs` and device; the ratio torch/numpy.

With `--before TREE` (a checkout of earlier code): the profile's launches and host syncs per
rollout of that code too, counted by this profile in a child process that imports the tree's
agents (its loop has no phase marks, so only the totals per rollout), at 64 envs (the counts do
not depend on the number of envs).

With `--solve` (on a GPU; `--device cpu` too): PPO + each of `--nets` on Parity-16 with
`--solve-envs` torch envs, for each `--minibatches` and `--seeds`, trained until the
last `num_envs` training episodes average accuracy >= 0.99 (episodes read as one batch per
rollout), then a greedy evaluation of 1000 episodes; prints the env steps and wall time to
0.99 and what the launches alone would cost (rollouts x launches per rollout x 8 µs): how
`AT_SCALE` was chosen (the goal on a GPU: 0.99 in <= 3 s, >= 1M env steps/s end to end).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import lecture_rl.envs  # noqa: F401  (registers the ids)
from lecture_rl import agents
from lecture_rl.agents.events import EpisodeBatch, TrainingCallback
from lecture_rl.agents.training_profile import LAUNCH_SECONDS, profile_training
from lecture_rl.envs.torch_vector import make_torch_vector_env
from lecture_rl.runners import presets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from event_overhead import tree_imports  # noqa: E402  (the same child process, another run)

ENVS: list[tuple[str, dict]] = [
    ("LectureRL/Parity-v0", {"length": 16}),
    ("LectureRL/Copy-v0", {"length": 5}),
    ("LectureRL/GridWorld-v0", {"map_name": "maze", "slip": 0.1}),
]
PARITY16 = ("LectureRL/Parity-v0", {"length": 16})
#: PPO's settings for thousands of torch envs, chosen with --solve (docs/devices.md): the
#: update's minibatches as two large ones (16 gradient steps per rollout instead of 32; one
#: minibatch launches fewer kernels still but learns Parity-16 far slower)
AT_SCALE = {"num_minibatches": 2}


def devices() -> list[str]:
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def rate(step: Callable[[int], None], batch: int, seconds: float, device: str) -> float:
    """Env steps per second of `step(i)` (`batch` env steps per call)."""
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


def parity_settings(net: str, num_envs: int, **hp) -> dict:
    """PPO's settings on Parity-16 as `lecture-rl train` picks them: Parity's preset under
    `net`, `num_envs` and `hp`."""
    return presets.settings_for("ppo", PARITY16[0], {"net": net, "num_envs": num_envs, **hp})


def ppo_rate(num_envs: int, torch_envs: bool, device: str, rollouts: int, **hp) -> float:
    """Env steps/s of PPO+LSTM training on Parity-16, after one warm-up rollout."""
    env = gym.make(PARITY16[0], **PARITY16[1])
    hp = parity_settings("lstm", num_envs, **hp)
    agent = agents.make("ppo", env, seed=0, device=device, torch_envs=torch_envs, **hp)
    per_rollout = num_envs * agent.hp["n_steps"]
    agent.train(env, steps=per_rollout)  # warm-up: allocations, cuDNN plans
    sync(device)
    start = time.perf_counter()
    agent.train(env, steps=rollouts * per_rollout)
    sync(device)
    return rollouts * per_rollout / (time.perf_counter() - start)


def median_pair(measure: Callable[[bool], float], repeats: int) -> tuple[float, float]:
    """Median of `repeats` numpy and torch figures, measured interleaved."""
    numpy_runs, torch_runs = [], []
    for _ in range(repeats):
        numpy_runs.append(measure(False))
        torch_runs.append(measure(True))
    return statistics.median(numpy_runs), statistics.median(torch_runs)


class AccuracyStop(TrainingCallback):
    """Stops training once the last `window` training episodes average `target` accuracy.

    It reads the episodes as one batch per rollout (`EpisodeBatch`): no per-episode event
    is built for it."""

    events = (EpisodeBatch,)

    def __init__(self, window: int, target: float, log: bool = False):
        self.window, self.target, self.log = window, target, log
        self.recent = np.zeros(0)

    def on_event(self, event: EpisodeBatch) -> bool:
        accuracy = event.accuracy if event.accuracy is not None else np.zeros(len(event))
        if self.log and len(event):
            print(
                f"  {int(event.env_steps[-1]):>10,} steps, {event.wall_time:7.1f} s: training "
                f"accuracy {float(accuracy.mean()):.3f} ({len(event)} episodes)",
                flush=True,
            )
        self.recent = np.concatenate([self.recent, accuracy])[-self.window :]
        full = self.recent.size == self.window
        return not (full and float(self.recent.mean()) >= self.target)


def solve(
    num_envs: int,
    max_steps: int,
    device: str = "cuda",
    net: str = "lstm",
    seed: int = 0,
    log: bool = False,
    **hp,
) -> dict:
    """Train to 0.99 (training episodes); the figures, printed as one line (`log`: and the
    training accuracy of every rollout)."""
    env = gym.make(PARITY16[0], **PARITY16[1])
    hp = parity_settings(net, num_envs, **hp)
    agent = agents.make("ppo", env, seed=seed, device=device, torch_envs=True, **hp)
    sync(device)
    start = time.perf_counter()
    stop = AccuracyStop(num_envs, 0.99, log)
    result = agent.train(env, steps=max_steps, callbacks=[stop])
    sync(device)
    seconds = time.perf_counter() - start
    greedy = agent.evaluate(env, 1000, seed=10**6)["accuracy"]
    rollouts = result.env_steps // (num_envs * agent.hp["n_steps"])
    print(
        f"solve: ppo+{net} Parity-16, {num_envs} envs on {device}, seed {seed}, "
        f"{agent.hp['num_minibatches']} minibatch(es) x {agent.hp['update_epochs']} epochs: "
        f"{'reached' if result.stopped_early else 'did NOT reach'} 0.99 (training episodes) "
        f"after {result.env_steps:,} env steps ({rollouts} rollouts) in {seconds:.1f} s "
        f"({result.env_steps / seconds:,.0f} env steps/s end to end); greedy accuracy "
        f"{greedy:.3f}",
        flush=True,
    )
    return {"reached": result.stopped_early, "rollouts": rollouts, "seconds": seconds}


def profile(net: str, num_envs: int, device: str, label: str, rollouts: int = 1, **hp) -> float:
    """Print the training profile of PPO + `net` on Parity-16; launches per rollout."""
    env = gym.make(PARITY16[0], **PARITY16[1])
    hp = parity_settings(net, num_envs, **hp)
    agent = agents.make("ppo", env, seed=0, device=device, torch_envs=True, **hp)
    steps = rollouts * num_envs * agent.hp["n_steps"]
    report = profile_training(agent, env, steps, label=f"ppo + {net}, Parity-16, {label}")
    print(report.table(), "\n", flush=True)
    return report.launches_per_rollout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-envs", type=int, nargs="+", default=[256, 4096])
    parser.add_argument("--seconds", type=float, default=1.0, help="timing per env figure")
    parser.add_argument("--rollouts", type=int, default=2, help="timed PPO rollouts per figure")
    parser.add_argument("--repeats", type=int, default=3, help="median of this many runs")
    parser.add_argument("--device", default=None, help="--profile / --solve device "
                        "(default: cuda when present, else cpu)")  # fmt: skip
    parser.add_argument("--nets", nargs="+", default=["lstm", "gru"], help="--profile/--solve")
    parser.add_argument("--profile", action="store_true", help="where a rollout's time goes")
    parser.add_argument("--profile-envs", type=int, default=4096)
    parser.add_argument("--solve", action="store_true", help="time to 0.99 (CUDA by default)")
    parser.add_argument("--solve-envs", type=int, default=4096)
    parser.add_argument("--solve-steps", type=int, default=20_000_000)
    parser.add_argument(
        "--minibatches", type=int, nargs="+", default=None,
        help="--solve: num_minibatches to compare (default: AT_SCALE's)",
    )  # fmt: skip
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="--solve seeds")
    parser.add_argument("--only-solve", action="store_true", help="skip the speed tables")
    parser.add_argument("--log-rollouts", action="store_true",
                        help="--solve: print each rollout's training accuracy")  # fmt: skip
    parser.add_argument("--before", type=Path, metavar="TREE",
                        help="--profile: also count the launches and syncs of the code "
                        "checked out at TREE (git worktree add TREE <commit>)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--smoke", action="store_true", help="tiny budget (seconds): for CI")
    args = parser.parse_args()
    if args.before is not None and not (args.before / "agents" / "ppo.py").is_file():
        parser.error(f"--before {args.before}: no agents/ppo.py there; make the checkout with "
                     "git worktree add TREE <commit>")  # fmt: skip
    hp: dict = {}
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.smoke:
        args.num_envs, args.seconds, args.rollouts, args.repeats = [16], 0.05, 1, 1
        hp = {"n_steps": 4, "hidden_size": 8, "update_epochs": 1}
        args.profile, args.profile_envs = True, 16
        args.solve_envs, args.solve_steps = 16, 128
    torch.set_num_threads(args.threads)  # more threads than free cores slows small nets
    print(f"torch {torch.__version__}; devices: {', '.join(devices())}; "
          f"cpu threads: {torch.get_num_threads()}")  # fmt: skip

    if args.profile:  # the first thing a GPU run prints: where the time goes
        for net in args.nets:
            for label, preset in (("PPO's defaults", {}), (f"AT_SCALE {AT_SCALE}", AT_SCALE)):
                profile(net, args.profile_envs, device, label, **{**hp, **preset})
            if args.before is not None:
                profile_before(args.before, net, min(args.profile_envs, 64), hp)

    if not args.only_solve:
        speed_tables(args, hp)

    if args.solve or args.smoke:
        if device.startswith("cuda") and not torch.cuda.is_available():
            print("solve: skipped (no CUDA on this machine; --device cpu runs it on the CPU)")
            return
        minibatches = args.minibatches or [AT_SCALE["num_minibatches"]]
        runs = []
        for net in args.nets:
            for count in minibatches:
                for seed in args.seeds:
                    figures = solve(args.solve_envs, args.solve_steps, device, net, seed,
                                    args.log_rollouts,
                                    **{**hp, **AT_SCALE, "num_minibatches": count})  # fmt: skip
                    runs.append((net, count, figures))
        if len(minibatches) > 1:  # what the launches alone would cost each to reach 0.99
            print("\nlaunch-bound time to 0.99 = rollouts x launches per rollout x 8 µs:")
            for net, count, figures in runs:
                launches = profile_launches(net, args.solve_envs, device, count, hp)
                bound = figures["rollouts"] * launches * LAUNCH_SECONDS
                print(f"  {net}, {count} minibatch(es): {figures['rollouts']} rollouts x "
                      f"{launches:,.0f} launches = {bound:.2f} s"
                      f"{'' if figures['reached'] else ' (did NOT reach 0.99)'}")  # fmt: skip


def profile_launches(net: str, num_envs: int, device: str, minibatches: int, hp: dict) -> float:
    """Launches per rollout (they do not depend on the number of envs: measured at 64)."""
    env = gym.make(PARITY16[0], **PARITY16[1])
    settings = parity_settings(
        net, min(num_envs, 64), **{**hp, **AT_SCALE, "num_minibatches": minibatches}
    )
    agent = agents.make("ppo", env, seed=0, device=device, torch_envs=True, **settings)
    steps = agent.hp["num_envs"] * agent.hp["n_steps"]
    return profile_training(agent, env, steps).launches_per_rollout


#: a child process's profile of PPO on the code it imports (argv: profile module, net,
#: num_envs, settings as JSON); prints the counts per rollout as JSON
BEFORE_PROFILE = """
import importlib.util, json, sys, torch, gymnasium as gym
name = "lecture_rl.agents.training_profile"  # this checkout's, also for the tree's own marks
spec = importlib.util.spec_from_file_location(name, sys.argv[1])
tp = sys.modules[name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tp)
import lecture_rl.envs
from lecture_rl import agents
torch.set_num_threads(1)
net, num_envs, hp = sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
env = gym.make("LectureRL/Parity-v0", length=16)
agent = agents.make("ppo", env, seed=0, net=net, device="cpu", num_envs=num_envs,
                    torch_envs=True, **hp)
report = tp.profile_training(agent, env, num_envs * agent.hp["n_steps"])
print(json.dumps({"launches": report.launches_per_rollout, "syncs": report.syncs_per_rollout,
                  "n_steps": report.n_steps, "ceiling": report.ceiling(4096)}))
"""


def profile_before(tree: Path, net: str, num_envs: int, hp: dict) -> dict:
    """The launches and syncs per rollout of PPO + `net` on the code at `tree` (on the CPU).

    A child process imports `lecture_rl` from `tree` (links to its packages in a temporary
    folder first on `PYTHONPATH`) and counts with this checkout's profile. Both run the
    settings this checkout picks (Parity's preset under `hp`), whatever that code's defaults."""
    from lecture_rl.agents import training_profile

    settings = parity_settings(net, num_envs, **hp)
    del settings["net"], settings["num_envs"]  # given on their own
    with tree_imports(tree) as env:
        done = subprocess.run(
            [sys.executable, "-c", BEFORE_PROFILE, training_profile.__file__, net,
             str(num_envs), json.dumps(settings)],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"--before: the profile of {tree} failed:\n{done.stderr[-2000:]}")
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"before ({tree}): ppo + {net}, PPO's defaults, {num_envs} envs: "
        f"{counts['launches']:,.0f} launches and {counts['syncs']:,.1f} host syncs per rollout "
        f"of {counts['n_steps']} steps; launch-bound ceiling at 4096 envs "
        f"{counts['ceiling'] / 1e6:.2f}M env steps/s\n",
        flush=True,
    )
    return counts


def speed_tables(args: argparse.Namespace, hp: dict) -> None:
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


if __name__ == "__main__":
    main()
