"""One prepared GPU check: every CUDA path of lecture-rl, run once, timed, in one table.

Usage:

```text
python benchmarks/gpu_check.py                  # on a machine with CUDA: about 3-5 minutes
python benchmarks/gpu_check.py --smoke          # tiny budgets (what CI runs)
python benchmarks/gpu_check.py --device cpu --smoke   # the same checks on the CPU
```

On a machine without CUDA it prints one line that says `skipped` and exits 0 (a skip, not a
pass: nothing ran). Otherwise it first prints where a rollout's time goes (`profile.md`:
`benchmarks/torch_envs.py --profile`'s tables, PPO + LSTM and GRU on Parity-16 with 4096
torch envs), then runs, each through the real `lecture-rl` command where there is one:

1. `train --device cuda`: `dqn` + `cnn` on the maze seen as pixels; `ppo` with `lstm`,
   `gru` and `transformer` on Parity-16 and on Copy-5; each then `evaluate --json`;
2. `compare --workers 2 --device cuda` (the worker processes initialise CUDA themselves);
3. a checkpoint saved on the GPU loads on a machine without CUDA (`CUDA_VISIBLE_DEVICES=`)
   and one trained on the CPU loads onto the GPU (`evaluate --device cuda`), with the same
   greedy figures;
4. `inspect` of a GPU checkpoint;
5. the same seed twice on the GPU gives the same numbers (training log and weights);
6. `ppo` + `lstm` and + `gru` on Parity-16 with 4096 envs on the device (the torch
   batched envs, with `AT_SCALE` of `benchmarks/torch_envs.py`): env-steps/s end to end
   and the wall time to greedy accuracy 0.99.

It prints one table (what ran, seconds, env-steps/s, the learned figure, ok) and writes it with
the details to `--out` (`gpu_check.md`, `gpu_check.json`, each command's log). The exit
code is 1 when any check failed. It installs nothing: run it where `lecture_rl` imports.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from lecture_rl.runners.processes import lecture_rl_command

PARITY = ("LectureRL/Parity-v0", {"length": 16})
COPY = ("LectureRL/Copy-v0", {"length": 5})
MAZE = ("LectureRL/GridWorld-v0", {"map_name": "maze", "obs_mode": "image"})

#: (label, env, agent, hyperparameters, env steps, env steps in --smoke)
TRAIN_CHECKS: list[tuple[str, tuple[str, dict], str, dict, int, int]] = [
    ("dqn + cnn, maze as pixels", MAZE, "dqn", {"net": "cnn"}, 40_000, 600),
    ("ppo + lstm, Parity-16", PARITY, "ppo", {"net": "lstm"}, 100_000, 2_048),
    ("ppo + gru, Parity-16", PARITY, "ppo", {"net": "gru"}, 100_000, 2_048),
    ("ppo + transformer, Parity-16", PARITY, "ppo", {"net": "transformer"}, 100_000, 2_048),
    ("ppo + lstm, Copy-5", COPY, "ppo", {"net": "lstm"}, 300_000, 2_048),
    ("ppo + gru, Copy-5", COPY, "ppo", {"net": "gru"}, 300_000, 2_048),
    ("ppo + transformer, Copy-5", COPY, "ppo", {"net": "transformer"}, 150_000, 2_048),
]


@dataclass
class Row:
    """One line of the table."""

    check: str
    seconds: float
    steps_per_s: float | None = None
    figure: str = ""
    ok: bool = True
    note: str = ""


class CheckFailed(Exception):
    """A check ran but its result is wrong (the message says how)."""


class Checker:
    """Runs the checks, one `lecture-rl` command at a time, and keeps the rows."""

    def __init__(
        self, out: Path, device: str, smoke: bool, timeout: float, only: list[str] | None = None
    ) -> None:
        self.out, self.device, self.smoke, self.timeout = out, device, smoke, timeout
        self.only = [words.lower() for words in only] if only else None
        self.rows: list[Row] = []
        self.count = 0

    # ----- running commands ------------------------------------------------------------------

    def cli(self, *words: str, env: dict[str, str] | None = None) -> str:
        """Run `lecture-rl WORDS` (this interpreter); its stdout, or CheckFailed."""
        self.count += 1
        log = self.out / f"cmd{self.count:02d}-{words[0]}.log"
        command = [*lecture_rl_command(), *words]
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                env={**os.environ, **(env or {})},
            )
        except subprocess.TimeoutExpired as exc:
            raise CheckFailed(
                f"'lecture-rl {' '.join(words)}' ran past {self.timeout:.0f} s"
            ) from exc
        log.write_text(
            f"$ lecture-rl {' '.join(words)}\n# exit {done.returncode} after "
            f"{time.perf_counter() - started:.1f} s\n{done.stdout}\n--- stderr ---\n{done.stderr}"
        )
        if done.returncode != 0:
            last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["(nothing)"]
            raise CheckFailed(f"exit {done.returncode}: {last[0][:160]} (log: {log.name})")
        return done.stdout

    def check(self, name: str, fn) -> None:
        """Run one check; a failure becomes a row with ok=False, the run goes on."""
        if self.only and not any(word in name.lower() for word in self.only):
            return
        started = time.perf_counter()
        try:
            row = fn()
        except CheckFailed as exc:
            row = Row(name, 0.0, ok=False, note=str(exc))
        except Exception as exc:  # noqa: BLE001 - the table reports any failure
            row = Row(name, 0.0, ok=False, note=f"{type(exc).__name__}: {exc}")
        row.check = name
        row.seconds = row.seconds or time.perf_counter() - started
        self.rows.append(row)
        mark = "ok" if row.ok else "FAILED"
        print(f"[{mark:>6}] {name}: {row.figure} {row.note}".rstrip(), flush=True)

    # ----- the pieces -------------------------------------------------------------------------

    @staticmethod
    def env_words(env: tuple[str, dict]) -> list[str]:
        env_id, kwargs = env
        words = ["--env", env_id]
        for key, value in kwargs.items():
            words += ["--env-set", f"{key}={json.dumps(value)}"]
        return words

    def train(
        self, folder: Path, env, agent: str, hp: dict, steps: int, device: str, seed: int = 0
    ) -> tuple[float, float]:
        """`lecture-rl train`; returns (training seconds, env-steps/s) from train_log.csv."""
        words = ["train", *self.env_words(env), "--agent", agent, "--steps", str(steps)]
        for key, value in hp.items():
            words += ["--set", f"{key}={json.dumps(value)}"]
        words += ["--device", device, "--seed", str(seed), "--out", str(folder)]
        words += ["--eval-episodes", "0"]
        self.cli(*words)
        with open(folder / "train_log.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            raise CheckFailed(f"{folder.name}: train_log.csv has no episode")
        steps_done, wall = int(rows[-1]["env_steps"]), float(rows[-1]["wall_time"])
        return wall, steps_done / max(wall, 1e-9)

    def evaluate(self, folder: Path, device: str | None = None, env=None) -> dict:
        words = ["evaluate", "--checkpoint", str(folder), "--json", "--episodes"]
        words.append("20" if self.smoke else "100")
        if device:
            words += ["--device", device]
        return json.loads(self.cli(*words, env=env).strip().splitlines()[-1])

    @staticmethod
    def figure(result: dict) -> str:
        if "accuracy" in result:
            return f"greedy accuracy {result['accuracy']:.3f}"
        return f"greedy return {result['return_mean']:.2f}"

    # ----- the checks -------------------------------------------------------------------------

    def train_and_evaluate(self, label: str, env, agent: str, hp: dict, steps: int) -> Row:
        folder = self.out / label.replace(" ", "").replace(",", "_").replace("+", "-")
        seconds, rate = self.train(folder, env, agent, hp, steps, self.device)
        result = self.evaluate(folder)
        return Row(label, seconds, rate, self.figure(result), note=f"{steps:,} steps")

    def compare_two_workers(self) -> Row:
        folder = self.out / "compare"
        words = ["compare", *self.env_words(("LectureRL/Parity-v0", {"length": 8}))]
        words += ["--agents", "ppo", "--set", "net=gru", "--seeds", "2", "--workers", "2"]
        words += ["--steps", "4096" if self.smoke else "40000", "--device", self.device]
        words += ["--eval-episodes", "50", "--out", str(folder)]
        started = time.perf_counter()
        self.cli(*words)
        seconds = time.perf_counter() - started
        summary = json.loads((folder / "summary.json").read_text())
        config = json.loads((folder / "config.json").read_text())
        evaluation = summary["agents"]["ppo"]["eval"]
        if evaluation.get("n") != 2:
            raise CheckFailed(f"compare finished {evaluation.get('n')} of 2 trials")
        if config.get("device") != self.device:
            raise CheckFailed(f"config.json records device {config.get('device')!r}")
        timing = json.loads((folder / "timing.json").read_text())
        rate = timing["agents"]["ppo"]["env_steps_per_s"]
        return Row(
            "",
            seconds,
            rate,
            f"2 trials, greedy accuracy {evaluation['accuracy']:.3f}",
            note="per trial",
        )

    def cross_device(self, gpu_folder: Path) -> Row:
        """GPU checkpoint on a CUDA-less process, CPU checkpoint onto the GPU: same figures."""
        started = time.perf_counter()
        on_gpu = self.evaluate(gpu_folder)
        on_cpu = self.evaluate(gpu_folder, env={"CUDA_VISIBLE_DEVICES": ""})
        cpu_folder = self.out / "trained-on-cpu"
        self.train(cpu_folder, PARITY, "ppo", {"net": "lstm"}, 4_096, "cpu")
        cpu_there = self.evaluate(cpu_folder, device="cpu")
        moved = self.evaluate(cpu_folder, device=self.device)
        for a, b, what in ((on_gpu, on_cpu, "gpu->cpu"), (cpu_there, moved, "cpu->gpu")):
            if abs(a["return_mean"] - b["return_mean"]) > 0.05 * max(1.0, abs(a["return_mean"])):
                raise CheckFailed(f"{what}: {self.figure(a)} became {self.figure(b)}")
        return Row(
            "",
            time.perf_counter() - started,
            figure=f"gpu->cpu {self.figure(on_cpu)}; cpu->gpu {self.figure(moved)}",
        )

    def inspect(self, gpu_folder: Path) -> Row:
        started = time.perf_counter()
        picture = self.out / "inspect.png"
        self.cli("inspect", "--checkpoint", str(gpu_folder), "--out", str(picture))
        size = picture.stat().st_size if picture.exists() else 0
        if size < 10_000:
            raise CheckFailed(f"inspect wrote {size} bytes")
        return Row("", time.perf_counter() - started, figure=f"{picture.name}, {size:,} bytes")

    def same_seed_twice(self) -> Row:
        started = time.perf_counter()
        steps = 2_048 if self.smoke else 20_000
        cases = (
            ("ppo-gru", ("LectureRL/Parity-v0", {"length": 8}), "ppo", {"net": "gru"}, steps),
            ("dqn-cnn", MAZE, "dqn", {"net": "cnn"}, max(steps // 4, 500)),
        )
        same = []
        for name, env, agent, hp, budget in cases:
            digests = []
            for attempt in (1, 2):
                folder = self.out / f"seed-{name}-{attempt}"
                self.train(folder, env, agent, hp, budget, self.device, seed=7)
                with open(folder / "train_log.csv", newline="") as handle:
                    log = [row[:3] for row in csv.reader(handle)]  # episode, return, length
                digests.append((repr(log), weights_digest(folder / "weights.safetensors")))
            if digests[0] != digests[1]:
                which = "training log" if digests[0][0] != digests[1][0] else "weights"
                raise CheckFailed(f"{name}: seed 7 twice gave different {which}")
            same.append(name)
        return Row("", time.perf_counter() - started, figure=f"identical: {', '.join(same)}")

    def profile(self) -> Row:
        """Where a rollout's time goes: `benchmarks/torch_envs.py --profile`'s tables."""
        started = time.perf_counter()
        bench = torch_envs_benchmark()
        num_envs = 16 if self.smoke else 4096
        hp = {"n_steps": 4, "hidden_size": 8, "update_epochs": 1} if self.smoke else {}
        if self.device == "cpu":
            torch.set_num_threads(1)
        printed = io.StringIO()
        launches = {}
        with contextlib.redirect_stdout(printed):
            for net in ("lstm", "gru"):
                launches[net] = bench.profile(
                    net, num_envs, self.device, f"AT_SCALE {bench.AT_SCALE}",
                    **{**hp, **bench.AT_SCALE},
                )  # fmt: skip
        text = printed.getvalue()
        (self.out / "profile.md").write_text(text)
        print(text, flush=True)
        figure = ", ".join(f"{net} {count:,.0f}" for net, count in launches.items())
        return Row("", time.perf_counter() - started, figure=f"launches per rollout: {figure}",
                   note="tables in profile.md")  # fmt: skip

    def torch_envs(self, net: str) -> Row:
        """ppo + `net` on Parity-16 with 4096 envs on the device, to greedy accuracy 0.99."""
        import gymnasium as gym

        import lecture_rl.envs  # noqa: F401
        from lecture_rl import agents
        from lecture_rl.agents.events import EpisodeBatch, TrainingCallback

        params = agents.agent_class("ppo").params
        if "torch_envs" not in params:
            return Row("", 0.0, figure="not in this version", note="(no torch batched envs)")
        if self.device == "cpu":
            torch.set_num_threads(1)  # small nets: one thread is the fastest (as the CLI does)
        started = time.perf_counter()
        num_envs = 256 if self.smoke else 4096
        env = gym.make("LectureRL/Parity-v0", length=16)
        from lecture_rl.runners import presets  # Parity's preset, as `lecture-rl train` picks it

        at_scale = {} if self.smoke else torch_envs_benchmark().AT_SCALE
        hp = presets.settings_for(
            "ppo", "LectureRL/Parity-v0", {"net": net, "num_envs": num_envs, **at_scale}
        )
        agent = agents.make("ppo", env, device=self.device, seed=0, torch_envs=True, **hp)
        budget = 16_384 if self.smoke else 20_000_000
        paused, reached, curve = 0.0, None, []
        t0 = time.perf_counter()

        class EveryOtherRollout(TrainingCallback):
            """A greedy evaluation every second rollout (one event per rollout)."""

            events = (EpisodeBatch,)
            rollouts = 0

            def on_event(self, batch: EpisodeBatch) -> bool | None:
                nonlocal paused, reached
                self.rollouts += 1
                if self.rollouts % 2:
                    return None
                pause = time.perf_counter()
                acc = agent.evaluate(env, episodes=200, seed=10_000)["accuracy"]
                paused += time.perf_counter() - pause
                steps = int(batch.env_steps[-1])
                curve.append((steps, acc))
                if acc >= 0.99:
                    now = time.perf_counter()
                    reached = (steps, now - started - paused, now - started)
                    return False
                return False if time.perf_counter() - t0 - paused > 60 else None

        result = agent.train(env, steps=budget, callbacks=[EveryOtherRollout()])
        train_seconds = time.perf_counter() - t0 - paused
        rate = result.env_steps / max(train_seconds, 1e-9)
        figure = f"best {max((a for _, a in curve), default=float('nan')):.3f}"
        if reached:
            figure = (
                f"0.99 after {reached[0]:,} steps, {reached[1]:.1f} s end to end "
                f"({reached[2]:.1f} s with the evaluations)"
            )
        settings = ", ".join(f"{k}={v}" for k, v in at_scale.items())
        return Row("", time.perf_counter() - started, rate, figure,
                   note=f"{num_envs} envs{', ' + settings if settings else ''}")  # fmt: skip

    # ----- all of it --------------------------------------------------------------------------

    def run_all(self) -> None:
        self.check("profile: ppo + lstm and gru, Parity-16, torch envs", self.profile)
        for label, env, agent, hp, steps, smoke_steps in TRAIN_CHECKS:
            budget = smoke_steps if self.smoke else steps
            self.check(label, lambda a=(label, env, agent, hp, budget): self.train_and_evaluate(*a))
        gpu_folder = self.out / "ppo-lstm_Parity-16"
        self.check(f"compare --workers 2 --device {self.device}", self.compare_two_workers)
        self.check("checkpoint across devices", lambda: self.cross_device(gpu_folder))
        self.check("inspect of a GPU checkpoint", lambda: self.inspect(gpu_folder))
        self.check("same seed twice", self.same_seed_twice)
        self.check("ppo + lstm, Parity-16, torch envs", lambda: self.torch_envs("lstm"))
        self.check("ppo + gru, Parity-16, torch envs", lambda: self.torch_envs("gru"))


def torch_envs_benchmark():
    """`benchmarks/torch_envs.py` as a module (its `AT_SCALE` and `profile`)."""
    path = Path(__file__).with_name("torch_envs.py")
    spec = importlib.util.spec_from_file_location("lecture_rl_torch_envs_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def weights_digest(path: Path) -> str:
    """A hash of the tensors themselves (safetensors' header order can vary between saves)."""
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def describe_machine(device: str) -> str:
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(0)
        return (
            f"{props.name}, {props.total_memory / 2**30:.0f} GiB, torch {torch.__version__}, "
            f"CUDA {torch.version.cuda}, Python {sys.version.split()[0]}"
        )
    return f"CPU only, torch {torch.__version__}, Python {sys.version.split()[0]}"


def table(rows: list[Row]) -> str:
    lines = [
        "| check | seconds | env-steps/s | learned / result | ok |",
        "|---|---:|---:|---|---|",
    ]
    for r in rows:
        rate = f"{r.steps_per_s:,.0f}" if r.steps_per_s else ""
        what = "; ".join(x for x in (r.figure, r.note) if x)
        lines.append(
            f"| {r.check} | {r.seconds:.1f} | {rate} | {what} | {'yes' if r.ok else '**FAILED**'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny budgets, seconds per check")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--out", type=Path, default=None, help="folder for logs and the table")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per command")
    parser.add_argument(
        "--only",
        metavar="WORDS",
        action="append",
        help="run only the checks whose name holds WORDS (repeatable), "
        "e.g. --only 'torch envs' --only compare",
    )
    args = parser.parse_args(argv)

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(
            "gpu_check: skipped: no CUDA device on this machine (nothing ran; "
            "'--device cpu' runs the same checks on the CPU)"
        )
        return 0
    out = args.out or Path(tempfile.mkdtemp(prefix="lecture-rl-gpu-check-"))
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("MPLBACKEND", "Agg")
    started = time.perf_counter()
    machine = describe_machine(args.device)
    print(f"gpu_check on {machine}; logs in {out}", flush=True)
    checker = Checker(out, args.device, args.smoke, args.timeout, args.only)
    checker.run_all()
    failed = [r for r in checker.rows if not r.ok]
    when = time.strftime("%Y-%m-%d")
    text = (
        f"gpu_check {when} on {machine}{' (smoke)' if args.smoke else ''}: "
        f"{len(checker.rows) - len(failed)} of {len(checker.rows)} checks ok in "
        f"{time.perf_counter() - started:.0f} s\n\n{table(checker.rows)}\n"
    )
    (out / "gpu_check.md").write_text(text)
    (out / "gpu_check.json").write_text(
        json.dumps(
            {"date": when, "machine": machine, "rows": [asdict(r) for r in checker.rows]}, indent=2
        )
    )
    print("\n" + text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
