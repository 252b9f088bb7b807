"""``lecture-rl train``: train one agent on one env and write a checkpoint folder.

Description:
    Builds the env (``--env``, ``--env-set``) and the agent (``--agent``, ``--set``,
    ``--seed``, ``--device``), trains for ``--episodes`` or ``--steps`` (the agent's own default
    budget when neither is given) with a progress bar, then writes to ``--out``:

    ``agent.json`` + state   the checkpoint (``lecture-rl evaluate --checkpoint DIR`` loads it)
    ``train_log.csv``        one row per training episode
    ``tb/``                  TensorBoard scalars (deep agents)

    and prints a summary with a greedy evaluation on fresh seeds. Ctrl-C saves what was learned
    so far (``"interrupted": true`` in ``agent.json``) and exits with code 130.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from lecture_rl import agents
from lecture_rl.agents.base import Agent
from lecture_rl.agents.checkpoint_io import METADATA_FILE, atomic_write_text, read_metadata
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.progress import TrainProgress
from lecture_rl.runners.settings import (
    UsageError,
    parse_assignments,
    safe_name,
    split_agent_overrides,
)

#: first evaluation seed; training seeds are small numbers, so evaluation seeds never meet them
EVAL_SEED_BASE = 1_000_000
#: greedy episodes are cut here when the env sets no limit of its own (a looping policy)
DEFAULT_EVAL_STEP_CAP = 1_000


# --------------------------------------------------------------------------------------------
# Helpers shared by train, compare and watch
# --------------------------------------------------------------------------------------------


def agent_class(name: str) -> type[Agent]:
    """The agent class for ``name``; unknown or unavailable names become a UsageError."""
    try:
        return agents.agent_class(name)
    except KeyError as exc:
        raise UsageError(str(exc.args[0]) if exc.args else f"unknown agent '{name}'") from exc
    except ImportError as exc:
        raise UsageError(
            f"agent '{name}' is unavailable here ({exc}); run 'lecture-rl agents' to see "
            "which agents can run"
        ) from exc


def check_device(device: str | None) -> None:
    """``--device cuda`` on a machine without CUDA is a usage error."""
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError(
                "--device cuda: CUDA is not available on this machine; use --device cpu or auto"
            )


def build_agent(
    name: str,
    env: gym.Env,
    *,
    seed: int | None,
    hyperparameters: dict[str, Any],
    device: str | None = None,
) -> Agent:
    """``agents.make`` with ``device`` passed only to agents that take it; errors -> UsageError."""
    cls = agent_class(name)
    hp = dict(hyperparameters)
    if device is not None and "device" in cls.defaults:
        hp.setdefault("device", device)
    try:
        return cls(env, seed=seed, **hp)
    except KeyError as exc:
        raise UsageError(f"agent '{name}': {exc.args[0] if exc.args else exc}") from exc
    except (ValueError, gym.error.Error) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if name not in message:
            message = f"agent '{name}': {message}"
        raise UsageError(message) from exc


def resolve_budget(cls: type[Agent], episodes: int | None, steps: int | None) -> dict[str, int]:
    """``{"episodes": N}`` or ``{"steps": N}`` from the flags, else the agent's default."""
    if episodes is not None and steps is not None:
        raise UsageError("give either --episodes or --steps, not both")
    for flag, value in (("--episodes", episodes), ("--steps", steps)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}")
    if episodes is not None:
        return {"episodes": int(episodes)}
    if steps is not None:
        return {"steps": int(steps)}
    budget = dict(getattr(cls, "default_budget", None) or {"episodes": 500})
    return {key: int(value) for key, value in budget.items() if key in ("episodes", "steps")}


def eval_step_cap(env: gym.Env) -> int:
    """Greedy episodes stop here: the env's own limit, else :data:`DEFAULT_EVAL_STEP_CAP`."""
    spec = getattr(env, "spec", None)
    limit = getattr(spec, "max_episode_steps", None)
    return int(limit) if limit else DEFAULT_EVAL_STEP_CAP


def greedy_evaluation(
    agent: Agent, env_id: str, env_kwargs: dict[str, Any], episodes: int, seed: int
) -> dict[str, Any]:
    """Greedy returns of ``agent`` on a fresh env, episodes seeded ``seed, seed+1, ...``."""
    env = make_env(env_id, env_kwargs)
    try:
        return agent.evaluate(env, episodes, seed=seed, max_episode_steps=eval_step_cap(env))
    finally:
        env.close()


def last_fraction_mean(records: list[dict[str, Any]], key: str = "return", frac=0.1) -> float:
    """Mean of ``key`` over the last ``frac`` of the episodes (at least one episode)."""
    values = [float(r[key]) for r in records if key in r]
    if not values:
        return math.nan
    count = max(1, int(math.ceil(len(values) * frac)))
    return float(np.mean(values[-count:]))


def records_to_csv(records: list[dict[str, Any]], lead: list[str] | None = None) -> str:
    """CSV text with the ``lead`` columns first, then every other key seen, in order."""
    columns = list(lead or [])
    for record in records:
        for key in record:
            if key not in columns:
                columns.append(key)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: _csv_value(record.get(key, "")) for key in columns})
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def annotate_checkpoint(folder: Path, **extra: Any) -> None:
    """Add keys to a checkpoint's ``agent.json`` (atomically)."""
    meta = read_metadata(folder)
    meta.update(extra)
    atomic_write_text(folder / METADATA_FILE, json.dumps(meta, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray,)):
        return value.tolist()
    return str(value)


def default_out_dir(env_id: str, agent: str, seed: int) -> Path:
    """``runs/<env>-<agent>-<seed>`` with unsafe characters replaced."""
    return Path("runs") / safe_name(f"{env_id}-{agent}-{seed}")


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def run_train(args: argparse.Namespace, out=None) -> int:
    """Carry out ``lecture-rl train``; returns the exit code."""
    from rich.console import Console

    console = Console(file=out) if out is not None else Console()
    common, per_agent = split_agent_overrides(parse_assignments(args.set, "--set"), [args.agent])
    hp = {**common, **per_agent[args.agent]}
    env_kwargs = parse_assignments(args.env_set, "--env-set")
    check_device(args.device)
    cls = agent_class(args.agent)
    budget = resolve_budget(cls, args.episodes, args.steps)
    env = make_env(args.env, env_kwargs)
    agent = build_agent(args.agent, env, seed=args.seed, hyperparameters=hp, device=args.device)
    out_dir = Path(args.out) if args.out else default_out_dir(args.env, args.agent, args.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    agent.log_dir = out_dir / "tb"

    interrupted = False
    start = time.perf_counter()
    progress = TrainProgress(f"{args.agent} on {args.env}", budget)
    try:
        with progress:
            agent.train(env, callback=progress, **budget)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        env.close()
    wall = time.perf_counter() - start
    records = progress.records
    agent.save(out_dir)
    annotate_checkpoint(
        out_dir,
        interrupted=interrupted,
        training={
            "budget": budget,
            "episodes": len(records),
            "env_steps": int(records[-1].get("env_steps", 0)) if records else 0,
            "wall_time_s": wall,
        },
    )
    atomic_write_text(
        out_dir / "train_log.csv",
        records_to_csv(records, ["episode", "return", "length", "env_steps", "wall_time"]),
    )
    if interrupted:
        console.print(
            f"interrupted after {len(records)} episodes; saved what was learned to {out_dir} "
            "(marked interrupted)"
        )
        return 130

    evaluation = greedy_evaluation(
        agent, args.env, env_kwargs, args.eval_episodes, EVAL_SEED_BASE + args.seed
    )
    _print_summary(console, args, agent, records, wall, evaluation, out_dir)
    return 0


def _print_summary(console, args, agent, records, wall, evaluation, out_dir) -> None:
    from rich.table import Table

    steps = int(records[-1].get("env_steps", 0)) if records else 0
    table = Table(title=f"{args.agent} on {args.env} (seed {args.seed})", show_header=False)
    table.add_row("episodes trained", str(len(records)))
    table.add_row("env steps", f"{steps}  ({steps / max(wall, 1e-9):,.0f}/s)")
    table.add_row("wall time", f"{wall:.1f} s")
    table.add_row("training return, last 10%", f"{last_fraction_mean(records):.3f}")
    table.add_row(
        f"greedy return ({evaluation['episodes']} episodes)",
        f"{evaluation['return_mean']:.3f} ± {evaluation['return_std']:.3f}",
    )
    if "accuracy" in evaluation:
        table.add_row("greedy accuracy", f"{evaluation['accuracy']:.4f}")
    table.add_row("checkpoint", str(out_dir))
    console.print(table)
    console.print(f"next: lecture-rl evaluate --checkpoint {out_dir}")
