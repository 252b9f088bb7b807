"""Wall time of one `lecture-rl compare` with 1 and 2 local workers and with Ray on 2 CPUs.

Runs the same comparison (default: the issue's ``--env LectureRL/Parity-v0 --agents
ppo,reinforce --set net=gru --steps 150000 --seeds 2 --eval-episodes 20``) as a fresh
`lecture-rl` process each time, in its own process group, and prints the wall times,
the speed-ups over one worker (target: at least 1.8x for two workers on two idle cores), Ray's
start-up cost, whether the results files are identical, and whether any process of the group
outlived the command. The hardware's own figure, two independent `train` runs side by side
against one, is printed beside it as the peer.

    python benchmarks/compare_scaling.py            # the issue's setting, 3 repeats (~6 min)
    python benchmarks/compare_scaling.py --smoke    # seconds: checks the script runs (CI)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lecture_rl.runners.processes import group_members
from lecture_rl.runners.processes import lecture_rl_command as lecture_rl


def timed(commands: list[list[str]]) -> tuple[float, list[int]]:
    """Run `commands` side by side, each in a new process group: wall seconds and the
    processes of those groups still alive after the commands exited (then killed)."""
    start = time.perf_counter()
    processes = [
        subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        for command in commands
    ]
    for process in processes:
        _, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(process.args)} failed:\n{err.decode()[-2000:]}")
    wall = time.perf_counter() - start
    time.sleep(0.5)
    left = [pid for process in processes for pid in group_members(process.pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return wall, left


def trial_seconds(out: Path) -> float:
    """The summed wall time of the trials themselves (`trials/*.json`), start-up excluded."""
    return sum(
        float(json.loads(path.read_text())["wall_time"]) for path in (out / "trials").glob("*.json")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="LectureRL/Parity-v0", help="env id")
    parser.add_argument("--agents", default="ppo,reinforce", help="agents, comma separated")
    parser.add_argument("--net", default="gru", help="--set net=NET for every agent")
    parser.add_argument("--steps", type=int, default=150_000, help="env steps per trial")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per agent")
    parser.add_argument("--eval-episodes", type=int, default=20, help="greedy episodes per seed")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray run")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each setting; the median is reported"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny budget (seconds): checks the script runs (CI)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.steps, args.seeds, args.eval_episodes, args.repeats = 1_000, 1, 2, 1
    root = Path(tempfile.mkdtemp(prefix="compare-scaling-"))
    base = [*lecture_rl(), "compare", "--env", args.env, "--agents", args.agents,
            "--set", f"net={args.net}", "--steps", str(args.steps), "--seeds", str(args.seeds),
            "--eval-episodes", str(args.eval_episodes)]  # fmt: skip
    try:
        import ray  # noqa: F401

        has_ray = not args.no_ray
    except ImportError:
        has_ray = False
    runs = {"1 worker": ["--workers", "1"], "2 workers": ["--workers", "2"]}
    if has_ray:
        runs["Ray, 2 CPUs"] = ["--executor", "ray", "--workers", "2"]
    print(" ".join(base[len(lecture_rl()) :]))
    walls: dict[str, list[float]] = {label: [] for label in runs}
    overheads: dict[str, list[float]] = {label: [] for label in runs}
    left_behind = dict.fromkeys(runs, 0)
    for repeat in range(args.repeats):  # interleaved, so a busy spell hits every setting alike
        for label, extra in runs.items():
            out = root / f"{label.replace(' ', '_')}-{repeat}"
            wall, left = timed([[*base, *extra, "--out", str(out)]])
            walls[label].append(wall)
            # where the time goes: the wall beyond the trials' own time shared by the workers
            # (start-up: Python, torch and its optimizer's imports; the summary and plot)
            workers = 1 if label == "1 worker" else 2
            overheads[label].append(wall - trial_seconds(out) / workers)
            left_behind[label] += len(left)
    figures = {label: statistics.median(values) for label, values in walls.items()}
    for label, values in walls.items():
        each = ", ".join(f"{value:.1f}" for value in values)
        print(
            f"  {label:<12} wall {figures[label]:6.1f} s (median of {each}); beyond the trials' "
            f"own time per worker {statistics.median(overheads[label]):4.1f} s; "
            f"processes left behind: {left_behind[label]}"
        )
    one = figures["1 worker"]
    for label, wall in figures.items():
        if label != "1 worker":
            print(f"  speed-up {label}: {one / wall:.2f}x (target for 2 workers: 1.8x)")
    if has_ray:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import ray; ray.init(num_cpus=2, include_dashboard=False); "
             "ray.shutdown()"],
            capture_output=True, check=True,
        )  # fmt: skip
        print(f"  Ray start-up and shutdown alone: {time.perf_counter() - start:.1f} s")
    results = [
        (root / f"{label.replace(' ', '_')}-{repeat}" / "results.csv").read_bytes()
        for label in runs
        for repeat in range(args.repeats)
    ]
    same = all(r == results[0] for r in results)
    print(f"  results.csv identical across executors and repeats: {same}")
    # the peer: what the hardware gives, two independent trainings side by side against one
    agent = args.agents.split(",")[0]
    train = [*lecture_rl(), "train", "--env", args.env, "--agent", agent, "--set",
             f"net={args.net}", "--steps", str(args.steps), "--eval-episodes", "1"]  # fmt: skip
    single, _ = timed([[*train, "--out", str(root / "t0")]])
    double, _ = timed([[*train, "--out", str(root / f"t{i}"), "--seed", str(i)] for i in (1, 2)])
    print(
        f"  peer: one 'train' {single:.1f} s, two side by side {double:.1f} s: "
        f"the hardware gives {2 * single / double:.2f}x"
    )
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
