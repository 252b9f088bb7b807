"""Benchmark: what listening to every gradient step costs `ppo` + `gru`.

`ppo` with `net="gru"` and its defaults trains on `LectureRL/Parity-v0` (length 16)
twice per repeat, interleaved in the same run: once with no subscriber of `NetworkUpdate`
(then no loss is turned into a float and the gradient norm stays a tensor: the divergence
guard runs without host syncs, `agents/deep.py`) and once with a subscriber that receives
every gradient step's event (which one goes first alternates). Printed: env-steps per wall
second and per CPU second of this process (steadier on a shared machine) of each, medians of
`--repeats` with the lowest and highest, and the ratios.

The bar: the unsubscribed figure at least the one of the code from before the event stream
existed (14.4k env-steps/s on the dev machine). `--before TREE` measures that code in the
same run, interleaved: `TREE` is a checkout of it, made with ``git worktree add TREE
477e1d8^`` (the last commit whose agents report nothing but finished episodes). Its
`ppo` + `gru` trains with its defaults and the same seeds in a child process that imports
`lecture_rl` from `TREE`; the same warm-up, the same timer. All three variants then run
that code's defaults (`BEFORE_DEFAULTS`: 4 epochs per rollout, no episode prefix), so the
arithmetic is the same and only the code differs.

Usage:

```text
python benchmarks/event_overhead.py --smoke     # CI: seconds
python benchmarks/event_overhead.py             # 5 repeats of 65,536 env steps each
git worktree add ../before-events 477e1d8^
python benchmarks/event_overhead.py --before ../before-events --steps 32768
```
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import lecture_rl.envs  # noqa: E402,F401
from lecture_rl import agents  # noqa: E402
from lecture_rl.agents.events import NetworkUpdate, TrainingCallback  # noqa: E402
from lecture_rl.runners import presets  # noqa: E402


class CountUpdates(TrainingCallback):
    """A subscriber of every gradient step (reads its numbers, as TensorBoard would)."""

    events = (NetworkUpdate,)

    def __init__(self) -> None:
        self.count, self.loss = 0, 0.0

    def on_event(self, event: NetworkUpdate) -> None:
        self.count += 1
        self.loss += event.losses["loss"]


#: with `--before`: the ppo + gru defaults of that code, given to this code too (since then
#: gru trains 8 epochs per rollout and re-runs each unfinished episode's start: more work)
BEFORE_DEFAULTS = {"update_epochs": 4, "episode_prefix": False, "net_kwargs": {}}


def speed(
    steps: int, seed: int, subscribed: bool, settings: dict | None = None
) -> tuple[float, float, int]:
    """(env-steps per wall second, per CPU second of this process, events received)."""
    env = gym.make("LectureRL/Parity-v0", length=16)
    hp = presets.settings_for("ppo", "LectureRL/Parity-v0", {"net": "gru", **(settings or {})})
    agent = agents.make("ppo", env, seed=seed, device="cpu", **hp)
    listener = CountUpdates()
    agent.train(env, steps=2_048, callbacks=[listener] if subscribed else None)  # warm-up
    listener.count = 0
    start, cpu = time.perf_counter(), time.process_time()
    result = agent.train(env, steps=steps, callbacks=[listener] if subscribed else None)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return result.env_steps / wall, result.env_steps / cpu, listener.count


#: the timed run of `speed` without callbacks, for a child process (older `train`
#: signatures take `steps=` too); prints "env-steps/s per-CPU-second"
BEFORE_RUN = """
import sys, time, torch, gymnasium as gym
import lecture_rl.envs
from lecture_rl import agents
torch.set_num_threads(1)
steps, seed = int(sys.argv[1]), int(sys.argv[2])
env = gym.make("LectureRL/Parity-v0", length=16)
agent = agents.make("ppo", env, net="gru", seed=seed, device="cpu")
agent.train(env, steps=2_048)
start, cpu = time.perf_counter(), time.process_time()
agent.train(env, steps=steps)
print(steps / (time.perf_counter() - start), steps / (time.process_time() - cpu))
"""


@contextlib.contextmanager
def tree_imports(tree: Path) -> Iterator[dict[str, str]]:
    """The environment of a child process that imports `lecture_rl` from the checkout `tree`.

    Its packages are linked into a temporary `lecture_rl` folder put first on `PYTHONPATH`
    (checked: the child's `lecture_rl.agents` must be the tree's); one torch thread."""
    with tempfile.TemporaryDirectory() as root:
        package = Path(root, "lecture_rl")
        package.mkdir()
        for part in ("envs", "agents", "nets", "runners", "assets"):
            if (tree / part).is_dir():
                (package / part).symlink_to((tree / part).resolve())
        env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": "1"}
        found = subprocess.run(
            [sys.executable, "-c", "import lecture_rl.agents as a; print(a.__file__)"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        if not Path(found).resolve().is_relative_to((tree / "agents").resolve()):
            raise SystemExit(f"--before: the child imported {found}, not the tree's agents")
        yield env


def speed_before(tree: Path, steps: int, seed: int) -> tuple[float, float]:
    """`speed()` unsubscribed, of the code checked out at `tree`, in a child process."""
    with tree_imports(tree) as env:
        done = subprocess.run(
            [sys.executable, "-c", BEFORE_RUN, str(steps), str(seed)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        wall, cpu = (float(x) for x in done.stdout.split()[-2:])
        return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=65_536, help="timed env steps per run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--before", type=Path, metavar="TREE",
        help="a checkout of the code before the event stream (git worktree add TREE 477e1d8^):"
        " measured in the same run, interleaved",
    )  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="2 repeats of 4,096 steps (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.steps, args.repeats = 4_096, 2
    if args.before is not None and not (args.before / "agents" / "ppo.py").is_file():
        parser.error(f"--before {args.before}: no agents/ppo.py there; make the checkout with "
                     "git worktree add TREE 477e1d8^")  # fmt: skip
    torch.set_num_threads(1)
    if args.before:
        print(f"every variant with the earlier defaults: {BEFORE_DEFAULTS}")
    variants = ["unsubscribed", "subscribed"] + (["before"] if args.before else [])
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for repeat in range(args.repeats):
        shift = repeat % len(variants)  # the order rotates: none always goes first
        for name in variants[shift:] + variants[:shift]:
            events = ""
            if name == "before":
                sps, cpu_sps = speed_before(args.before, args.steps, repeat)
            else:
                settings = BEFORE_DEFAULTS if args.before else None
                sps, cpu_sps, count = speed(args.steps, repeat, name == "subscribed", settings)
                events = f" ({count} events)"
            figures[name].append((sps, cpu_sps))
            print(
                f"repeat {repeat} {name:<12} {sps:9,.0f} env-steps/s, {cpu_sps:9,.0f} per CPU "
                f"second{events}",
                flush=True,
            )
    labels = {
        "unsubscribed": "no subscriber",
        "subscribed": "a NetworkUpdate subscriber",
        "before": "the code before events",
    }
    medians = {}
    for name in variants:
        wall = [w for w, _ in figures[name]]
        cpu = [c for _, c in figures[name]]
        medians[name] = (float(np.median(wall)), float(np.median(cpu)))
        print(
            f"ppo+gru Parity-16, {labels[name]:<27} median {medians[name][0]:9,.0f} env-steps/s "
            f"({min(wall):,.0f}-{max(wall):,.0f}), {medians[name][1]:9,.0f} per CPU second "
            f"({min(cpu):,.0f}-{max(cpu):,.0f})"
        )
    for other in variants[1:]:
        print(
            f"ratio unsubscribed/{other}: {medians['unsubscribed'][0] / medians[other][0]:.3f}x "
            f"wall, {medians['unsubscribed'][1] / medians[other][1]:.3f}x per CPU second"
            + ("  (want >= 1)" if other == "before" else "")
        )


if __name__ == "__main__":
    main()
