"""`lecture-rl train`: train one agent on one env and write a checkpoint folder.

Description:
    Builds the env (`--env`, `--env-set`) and the agent (`--agent`, `--set`,
    `--seed`, `--device`), trains for `--episodes` or `--steps` (the agent's own default
    budget when neither is given) with a progress bar, then writes to `--out`:

    `agent.json` + state   the checkpoint (`lecture-rl evaluate --checkpoint DIR` loads it)
    `train_log.csv`        one row per training episode
    `tb/`                  TensorBoard scalars (deep agents)

    and prints a summary with a greedy evaluation on fresh seeds. While training, a resumable
    checkpoint (optimizer, random generators, counters, DQN's replay memory) is written every
    `--save-every` seconds, env steps or episodes (alias `--checkpoint-every`); Ctrl-C
    saves one too (`"interrupted": true`) and exits 130. `--resume DIR` continues such a
    run to its original budget.

    A checkpoint and its `train_log.csv` are saved as one (`checkpoint_io.staged_folder`): a
    full disk or a crash during a save leaves the previous one, which `--resume` continues
    (an I/O error is one line and exit 74, `io_faults`). `--resume` refuses a folder whose
    files do not belong together (a log edited by hand, a checkpoint of another agent or env).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lecture_rl import agents
from lecture_rl.agents.checkpoint_io import CheckpointError, read_metadata, staged_folder
from lecture_rl.agents.events import EpisodeEnd, TrainingCallback
from lecture_rl.runners import presets
from lecture_rl.runners.agent_factory import (
    agent_class,
    build_agent,
    check_device,
    train_agent,
)
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.io_faults import next_step
from lecture_rl.runners.out_paths import check_out_dir, make_out_dir
from lecture_rl.runners.progress import TrainProgress
from lecture_rl.runners.result_files import annotate_checkpoint, records_to_csv, write_file
from lecture_rl.runners.scoring import EVAL_SEED_BASE, greedy_evaluation, last_fraction_mean
from lecture_rl.runners.settings import (
    SaveEvery,
    UsageError,
    parse_assignments,
    safe_name,
    split_agent_overrides,
)
from lecture_rl.runners.threads import TorchThreads

LOG_COLUMNS = ["episode", "return", "length", "env_steps", "wall_time"]
LOG_FILE = "train_log.csv"
#: the files train writes into --out (tabular agents' arrays or deep agents' weights)
OUTPUT_FILES = ("agent.json", "arrays.npz", "weights.safetensors",
                "training_state.safetensors", "train_log.csv")  # fmt: skip


@dataclass
class TrainingJob:
    """One training run as `train` sets it up: fresh from flags, or resumed from a folder."""

    agent: Any
    env: Any
    command: dict[str, Any]  # what rebuilds the run: env, env_kwargs, agent, hp, seed, ...
    budget: dict[str, int]  # the whole run's budget
    remaining: dict[str, int]  # what this call trains
    out_dir: Path
    previous: list[dict[str, Any]]  # episodes of earlier calls in train_log.csv (resumed run)
    #: what earlier calls trained: episodes, env_steps, wall_time (zeros for a fresh run)
    before: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the resume noticed, one line each


class ResumableCheckpoint(TrainingCallback):
    """Collects the run's episode records (numbered across resumes) and saves a resumable
    checkpoint with `train_log.csv` every `every` (seconds, env steps or episodes)."""

    events = (EpisodeEnd,)

    def __init__(self, job: TrainingJob, every: SaveEvery | float):
        self.job = job
        self.every = every if isinstance(every, SaveEvery) else SaveEvery(float(every))
        self.records: list[dict[str, Any]] = list(job.previous)
        before = job.before
        #: episodes before the first record (a resume whose log was moved away)
        self.first_episode = int(before.get("episodes", len(self.records))) - len(self.records)
        self.offset_steps = int(before.get("env_steps", 0))
        self.offset_wall = float(before.get("wall_time", 0.0))
        self.last_save = time.perf_counter()
        self.saved = (self.episodes, self.offset_steps)  # episodes, env steps at the last save

    @property
    def episodes(self) -> int:
        """Episodes trained in the whole run so far."""
        return self.first_episode + len(self.records)

    def on_event(self, event: EpisodeEnd) -> None:
        record = dict(event.record)
        record["episode"] = self.episodes
        record["env_steps"] = int(record["env_steps"]) + self.offset_steps
        record["wall_time"] = float(record["wall_time"]) + self.offset_wall
        self.records.append(record)
        seconds = time.perf_counter() - self.last_save
        if self.every.due(
            seconds, record["env_steps"] - self.saved[1], self.episodes - self.saved[0]
        ):
            self.save(complete=False, interrupted=False)

    def save(self, *, complete: bool, interrupted: bool) -> None:
        """The checkpoint, its annotations and `train_log.csv`, all or nothing; a folder
        removed during the save is made again (once)."""
        try:
            self._save(complete, interrupted)
        except FileNotFoundError:
            self._save(complete, interrupted)

    def _save(self, complete: bool, interrupted: bool) -> None:
        job = self.job
        last = self.records[-1] if self.records else {}
        steps = int(last.get("env_steps", self.offset_steps))
        log = records_to_csv(self.records, LOG_COLUMNS)
        with staged_folder(job.out_dir) as staging:
            job.agent.save(staging, training_state=not complete or interrupted)
            annotate_checkpoint(
                staging,
                interrupted=interrupted,
                command=job.command,
                training={
                    "budget": job.budget,
                    "episodes": self.episodes,
                    "env_steps": steps,
                    "wall_time_s": float(last.get("wall_time", self.offset_wall)),
                    "complete": complete,
                    "log_sha256": _sha256(log),
                },
            )
            write_file(staging / LOG_FILE, log)
        if complete and not interrupted:  # a finished run is not resumed: no stale state
            for stale in job.out_dir.glob("training_state.*"):
                stale.unlink()
        self.last_save = time.perf_counter()
        self.saved = (self.episodes, steps)

    def where_to_go_on(self) -> str:
        """What survives an I/O fault during this run, and the command that goes on."""
        folder = self.job.out_dir
        try:
            training = read_metadata(folder).get("training") or {}
        except CheckpointError:
            training = {}
        if not training or training.get("complete"):
            return f"nothing resumable was saved in {folder} yet; run the same command again"
        return (
            f"the last checkpoint ({training.get('episodes', 0):,} episodes, "
            f"{training.get('env_steps', 0):,} env steps) is kept in {folder}; continue with: "
            f"lecture-rl train --resume {folder}"
        )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def default_out_dir(env_id: str, agent: str, seed: int) -> Path:
    """`runs/<env>-<agent>-<seed>` with unsafe characters replaced."""
    return Path("runs") / safe_name(f"{env_id}-{agent}-{seed}")


def run_train(args: argparse.Namespace, out=None) -> int:
    """Carry out `lecture-rl train`; returns the exit code."""
    from rich.console import Console

    # a file given is written to, in a Jupyter kernel too (where rich would display instead)
    console = Console(file=out, force_jupyter=False) if out is not None else Console()
    if args.eval_episodes < 0:
        raise UsageError(f"--eval-episodes must be 0 (none) or more, got {args.eval_episodes}")
    job = _resumed_job(args) if args.resume else _fresh_job(args)
    command = job.command
    label = f"{command['agent']} on {command['env']}"
    saver = ResumableCheckpoint(job, args.save_every)
    for note in job.notes:
        console.print(note, soft_wrap=True)
    interrupted = False
    start = time.perf_counter()
    progress = TrainProgress(label, job.remaining)
    with next_step(saver.where_to_go_on):  # an I/O fault: what is kept, and how to go on
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
            f"interrupted after {saver.episodes} episodes; saved what was learned to "
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
    before = int(job.before.get("env_steps", 0))
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
    _check_same_run(folder, meta, command)
    budget = {k: int(v) for k, v in training["budget"].items()}
    previous, notes = _checked_log(folder, training)
    before = {
        "episodes": int(training.get("episodes", len(previous))),
        "env_steps": int(training.get("env_steps", 0)),
        "wall_time": float(training.get("wall_time_s", 0.0)),
    }
    done = {"episodes": before["episodes"], "steps": before["env_steps"]}
    remaining = {k: max(0, v - done[k]) for k, v in budget.items()}
    env = make_env(command["env"], command.get("env_kwargs", {}))
    try:
        agent = agents.load(folder, env)
    except CheckpointError as exc:
        env.close()
        raise UsageError(f"--resume {folder}: {exc}") from exc
    agent.log_dir = folder / "tb"
    return TrainingJob(agent, env, command, budget, remaining, folder, previous, before, notes)


def _check_same_run(folder: Path, meta: dict[str, Any], command: dict[str, Any]) -> None:
    """The checkpoint in `agent.json` must be the agent and env the run trained (files of
    two runs mixed in one folder are refused, never trained on)."""
    agent, env_id = meta.get("agent"), meta.get("env_id")
    wanted_agent, wanted_env = str(command.get("agent")), str(command.get("env"))
    same_env = env_id is None or wanted_env == env_id or wanted_env.endswith(f":{env_id}")
    if (
        agent is not None and agent != wanted_agent and agent_class(wanted_agent).name != agent
    ) or (not same_env):
        raise UsageError(
            f"--resume {folder}: its checkpoint is a {agent} agent on {env_id}, but the run "
            f"trained {wanted_agent} on {wanted_env} (files of two runs in one folder?); "
            "resume from the folder the run wrote, or start a new run"
        )


def _checked_log(folder: Path, training: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """`train_log.csv` as saved with the checkpoint: an edited or damaged log is refused
    (its numbers would be mixed into the curve); a missing one restarts the log."""
    path = folder / LOG_FILE
    expected = training.get("log_sha256")
    if not path.is_file():
        episodes = int(training.get("episodes", 0))
        if not episodes:
            return [], []
        return [], [f"{path} is missing: the log goes on from episode {episodes:,} without the "
                    "earlier episodes"]  # fmt: skip
    text = path.read_text(encoding="utf-8", errors="replace")
    if expected is not None and _sha256(text) != expected:
        raise UsageError(
            f"--resume {folder}: {LOG_FILE} was changed after the checkpoint was saved (edited "
            "by hand, or damaged); put the saved log back, or move it away to resume with a "
            f"log that starts at episode {int(training.get('episodes', 0)):,}"
        )
    return _read_log(path), []


def _budget_text(budget: Any) -> str:
    """`{"steps": 30000}` -> `30,000 steps`."""
    if not isinstance(budget, dict):
        return str(budget)
    return " and ".join(f"{int(v):,} {k}" for k, v in budget.items())


def _read_log(path: Path) -> list[dict[str, Any]]:
    """`train_log.csv` back as records (numbers as numbers)."""
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
    (`steps_before`: env steps done before it)."""
    from rich.table import Table

    steps = int(records[-1].get("env_steps", 0)) if records else 0
    title = f"{command['agent']} on {command['env']} (seed {command['seed']})"
    table = Table(title=title, show_header=False)
    session = " this session" if steps_before else ""
    rate = (steps - steps_before) / max(wall, 1e-9)
    episodes = int(records[-1].get("episode", len(records) - 1)) + 1 if records else 0
    table.add_row("episodes trained", str(episodes))
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
