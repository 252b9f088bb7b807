"""``lecture-rl train``: train one agent on one env and write a checkpoint folder.

Description:
    Builds the env (``--env``, ``--env-set``) and the agent (``--agent``, ``--set``,
    ``--seed``, ``--device``), trains for ``--episodes`` or ``--steps`` (the agent's own default
    budget when neither is given) with a progress bar, then writes to ``--out``:

    ``agent.json`` + state   the checkpoint (``lecture-rl evaluate --checkpoint DIR`` loads it)
    ``train_log.csv``        one row per training episode
    ``tb/``                  TensorBoard scalars (deep agents)

    and prints a summary with a greedy evaluation on fresh seeds. While training, a resumable
    checkpoint (optimizer, random generators, counters, DQN's replay memory) is written every
    ``--checkpoint-every`` seconds; Ctrl-C saves one too (``"interrupted": true``) and exits 130.
    ``--resume DIR`` continues such a run to its original budget.
"""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lecture_rl import agents
from lecture_rl.agents.checkpoint_io import CheckpointError, atomic_write_text, read_metadata
from lecture_rl.agents.events import EpisodeEnd, TrainingCallback
from lecture_rl.runners import presets
from lecture_rl.runners.agent_factory import (
    build_agent,
    check_device,
    train_agent,
)
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.out_paths import check_out_dir, make_out_dir
from lecture_rl.runners.progress import TrainProgress
from lecture_rl.runners.result_files import annotate_checkpoint, records_to_csv
from lecture_rl.runners.scoring import EVAL_SEED_BASE, greedy_evaluation, last_fraction_mean
from lecture_rl.runners.settings import (
    UsageError,
    parse_assignments,
    safe_name,
    split_agent_overrides,
)
from lecture_rl.runners.threads import TorchThreads

LOG_COLUMNS = ["episode", "return", "length", "env_steps", "wall_time"]
#: the files train writes into --out (tabular agents' arrays or deep agents' weights)
OUTPUT_FILES = ("agent.json", "arrays.npz", "weights.safetensors",
                "training_state.safetensors", "train_log.csv")  # fmt: skip


@dataclass
class TrainingJob:
    """One training run as ``train`` sets it up: fresh from flags, or resumed from a folder."""

    agent: Any
    env: Any
    command: dict[str, Any]  # what rebuilds the run: env, env_kwargs, agent, hp, seed, ...
    budget: dict[str, int]  # the whole run's budget
    remaining: dict[str, int]  # what this call trains
    out_dir: Path
    previous: list[dict[str, Any]]  # episodes of earlier calls (a resumed run)


class ResumableCheckpoint(TrainingCallback):
    """Collects the run's episode records (numbered across resumes) and saves a resumable
    checkpoint with ``train_log.csv`` every ``every`` seconds."""

    events = (EpisodeEnd,)

    def __init__(self, job: TrainingJob, every: float):
        self.job, self.every = job, every
        self.records: list[dict[str, Any]] = list(job.previous)
        last = job.previous[-1] if job.previous else {}
        self.offset_steps = int(last.get("env_steps", 0))
        self.offset_wall = float(last.get("wall_time", 0.0))
        self.last_save = time.perf_counter()

    def on_event(self, event: EpisodeEnd) -> None:
        record = dict(event.record)
        record["episode"] = len(self.records)
        record["env_steps"] = int(record["env_steps"]) + self.offset_steps
        record["wall_time"] = float(record["wall_time"]) + self.offset_wall
        self.records.append(record)
        if time.perf_counter() - self.last_save >= self.every:
            self.save(complete=False, interrupted=False)

    def save(self, *, complete: bool, interrupted: bool) -> None:
        job = self.job
        job.agent.save(job.out_dir, training_state=not complete or interrupted)
        if complete and not interrupted:  # a finished run is not resumed: no stale state
            for stale in job.out_dir.glob("training_state.*"):
                stale.unlink()
        last = self.records[-1] if self.records else {}
        annotate_checkpoint(
            job.out_dir,
            interrupted=interrupted,
            command=job.command,
            training={
                "budget": job.budget,
                "episodes": len(self.records),
                "env_steps": int(last.get("env_steps", 0)),
                "wall_time_s": float(last.get("wall_time", 0.0)),
                "complete": complete,
            },
        )
        atomic_write_text(job.out_dir / "train_log.csv", records_to_csv(self.records, LOG_COLUMNS))
        self.last_save = time.perf_counter()


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def default_out_dir(env_id: str, agent: str, seed: int) -> Path:
    """``runs/<env>-<agent>-<seed>`` with unsafe characters replaced."""
    return Path("runs") / safe_name(f"{env_id}-{agent}-{seed}")


def run_train(args: argparse.Namespace, out=None) -> int:
    """Carry out ``lecture-rl train``; returns the exit code."""
    from rich.console import Console

    console = Console(file=out) if out is not None else Console()
    if args.checkpoint_every < 0:
        raise UsageError(f"--checkpoint-every must be >= 0 seconds, got {args.checkpoint_every}")
    if args.eval_episodes < 0:
        raise UsageError(f"--eval-episodes must be 0 (none) or more, got {args.eval_episodes}")
    job = _resumed_job(args) if args.resume else _fresh_job(args)
    command = job.command
    label = f"{command['agent']} on {command['env']}"
    saver = ResumableCheckpoint(job, args.checkpoint_every)
    interrupted = False
    start = time.perf_counter()
    progress = TrainProgress(label, job.remaining)
    try:
        with progress, TorchThreads(getattr(args, "threads", None)) as threads:
            threads.apply(job.agent)
            train_agent(job.agent, job.env, [progress, saver], **job.remaining)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        job.env.close()
    wall = time.perf_counter() - start
    saver.save(complete=not interrupted, interrupted=interrupted)
    records = saver.records
    if interrupted:
        console.print(
            f"interrupted after {len(records)} episodes; saved what was learned to "
            f"{job.out_dir} (continue with: lecture-rl train --resume {job.out_dir})"
        )
        return 130
    evaluation = None  # --eval-episodes 0: no greedy evaluation
    if command["eval_episodes"]:
        evaluation = greedy_evaluation(
            job.agent,
            command["env"],
            command["env_kwargs"],
            command["eval_episodes"],
            EVAL_SEED_BASE + command["seed"],
        )
    before = int(job.previous[-1].get("env_steps", 0)) if job.previous else 0
    _print_summary(console, command, job.agent, records, wall, evaluation, job.out_dir, before)
    return 0


def _fresh_job(args: argparse.Namespace) -> TrainingJob:
    if not args.env or not args.agent:
        missing = "--env" if not args.env else "--agent"
        raise UsageError(f"train needs {missing} (or --resume DIR to continue a run)")
    common, per_agent = split_agent_overrides(parse_assignments(args.set, "--set"), [args.agent])
    check_device(args.device)
    setup = presets.set_up(
        args.agent,
        args.env,
        {**common, **per_agent[args.agent]},
        parse_assignments(args.env_set, "--env-set"),
        choice=args.preset,
        episodes=args.episodes,
        steps=args.steps,
    )
    hp, env_kwargs, budget = setup.hyperparameters, setup.env_kwargs, setup.budget
    out_dir = Path(args.out) if args.out else default_out_dir(args.env, args.agent, args.seed)
    check_out_dir(out_dir, command="train", folders=("tb",), files=OUTPUT_FILES)
    env = make_env(args.env, env_kwargs)
    agent = build_agent(args.agent, env, seed=args.seed, hyperparameters=hp, device=args.device)
    make_out_dir(out_dir)
    setup.announce()
    agent.log_dir = out_dir / "tb"
    command = {
        "env": args.env,
        "env_kwargs": env_kwargs,
        "agent": args.agent,
        "hyperparameters": hp,
        "seed": args.seed,
        "device": args.device,
        "eval_episodes": args.eval_episodes,
        "preset": setup.preset.record() if setup.preset is not None else None,
    }
    return TrainingJob(agent, env, command, budget, dict(budget), out_dir, [])


def _resumed_job(args: argparse.Namespace) -> TrainingJob:
    settings = [  # (flag, value given, value when not given): all come from the folder
        ("--env", args.env, None),
        ("--env-set", args.env_set, None),
        ("--agent", args.agent, None),
        ("--episodes", args.episodes, None),
        ("--steps", args.steps, None),
        ("--seed", args.seed, 0),
        ("--set", args.set, None),
        ("--device", args.device, None),
        ("--out", args.out, None),
        ("--eval-episodes", args.eval_episodes, 100),
        ("--preset", getattr(args, "preset", None), None),
    ]
    given = [flag for flag, value, unset in settings if value not in (unset, [])]
    if given:
        raise UsageError(f"--resume takes its settings from the folder; drop {' and '.join(given)}")
    folder = Path(args.resume)
    try:
        meta = read_metadata(folder)
    except CheckpointError as exc:
        raise UsageError(f"--resume {folder}: {exc}") from exc
    check_out_dir(folder, command="train", flag="--resume", folders=("tb",), files=OUTPUT_FILES)
    command, training = meta.get("command"), meta.get("training")
    if not isinstance(command, dict) or not isinstance(training, dict):
        raise UsageError(f"--resume {folder}: not a folder written by 'lecture-rl train'")
    if training.get("complete"):
        raise UsageError(
            f"--resume {folder}: that run already finished its budget of "
            f"{_budget_text(training.get('budget'))}; "
            "start a new one with 'lecture-rl train'"
        )
    if "training_state" not in meta:
        raise UsageError(
            f"--resume {folder}: the checkpoint has no training state (written by an older "
            "lecture-rl); train again"
        )
    budget = {k: int(v) for k, v in training["budget"].items()}
    previous = _read_log(folder / "train_log.csv")
    done = {"episodes": len(previous), "steps": int(training.get("env_steps", 0))}
    remaining = {k: max(0, v - done[k]) for k, v in budget.items()}
    env = make_env(command["env"], command.get("env_kwargs", {}))
    try:
        agent = agents.load(folder, env)
    except CheckpointError as exc:
        env.close()
        raise UsageError(f"--resume {folder}: {exc}") from exc
    agent.log_dir = folder / "tb"
    return TrainingJob(agent, env, command, budget, remaining, folder, previous)


def _budget_text(budget: Any) -> str:
    """``{"steps": 30000}`` -> ``30,000 steps``."""
    if not isinstance(budget, dict):
        return str(budget)
    return " and ".join(f"{int(v):,} {k}" for k, v in budget.items())


def _read_log(path: Path) -> list[dict[str, Any]]:
    """``train_log.csv`` back as records (numbers as numbers)."""
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    records = []
    for row in rows:
        record: dict[str, Any] = {}
        for key, value in row.items():
            try:
                number = float(value)
                record[key] = int(number) if key in ("episode", "length", "env_steps") else number
            except (TypeError, ValueError):
                record[key] = value
        records.append(record)
    return records


def _print_summary(
    console, command, agent, records, wall, evaluation, out_dir, steps_before: int = 0
) -> None:
    """The run's table; a resumed run's speed and wall time are this session's own
    (``steps_before``: env steps done before it)."""
    from rich.table import Table

    steps = int(records[-1].get("env_steps", 0)) if records else 0
    title = f"{command['agent']} on {command['env']} (seed {command['seed']})"
    table = Table(title=title, show_header=False)
    session = " this session" if steps_before else ""
    rate = (steps - steps_before) / max(wall, 1e-9)
    table.add_row("episodes trained", str(len(records)))
    table.add_row("env steps", f"{steps}  ({rate:,.0f}/s{session})")
    table.add_row("wall time", f"{wall:.1f} s{session}")
    table.add_row("training return, last 10%", f"{last_fraction_mean(records):.3f}")
    if evaluation is not None:
        table.add_row(
            f"greedy return ({evaluation['episodes']} episodes)",
            f"{evaluation['return_mean']:.3f} ± {evaluation['return_std']:.3f}",
        )
        if "accuracy" in evaluation:
            table.add_row("greedy accuracy", f"{evaluation['accuracy']:.4f}")
    table.add_row("checkpoint", str(out_dir))
    console.print(table)
    console.print(f"next: lecture-rl evaluate --checkpoint {out_dir}")
