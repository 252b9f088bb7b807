"""`lecture-rl evaluate`: greedy evaluation of a saved checkpoint.

Description:
    Loads the checkpoint folder written by `train` (tabular arrays or deep weights; nothing is
    unpickled) on the env recorded in it, or on a compatible `--env` / `--env-set` (e.g. a
    longer Parity than the one trained on), runs `--episodes` greedy episodes from seeds
    `--seed, --seed+1, ...` (each capped in length so a looping policy cannot hang) and prints
    a table, or one JSON object with `--json`: `return_mean`, `return_std`, `ci95`,
    `n`, `episodes`, `length_mean` and, on Parity and Copy, `accuracy`.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from lecture_rl import agents
from lecture_rl.agents.checkpoint_io import CheckpointError, read_metadata, space_to_json
from lecture_rl.runners.agent_factory import check_device
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.result_files import finite
from lecture_rl.runners.scoring import EVAL_SEED_BASE, eval_step_cap
from lecture_rl.runners.settings import UsageError, parse_assignments


def recorded_env(meta: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The env id and keywords a checkpoint was trained on: the env's own keywords, and those
    `train` made it with (its `--env-set` and its preset's `env_set`: the wrappers, e.g.
    `wrap=categorical-image`, which the env's spec does not keep)."""
    env_id = meta.get("env_id")
    kwargs = dict(meta.get("env_kwargs") or {})
    command = meta.get("command") or {}
    if command.get("env") == env_id:
        kwargs.update(command.get("env_kwargs") or {})
    return env_id, kwargs


def checkpoint_env(meta: dict[str, Any], env_id: str | None, env_set: dict[str, Any]):
    """The env id and keywords to evaluate on: the recorded ones, updated by the flags."""
    recorded_id, recorded_kwargs = recorded_env(meta)
    if env_id is None:
        if not recorded_id:
            raise UsageError("the checkpoint records no env id; pass --env ID")
        env_id = recorded_id
    kwargs = recorded_kwargs if env_id == recorded_id else {}
    kwargs.update(env_set)
    return env_id, kwargs


def _describe(space: dict[str, Any]) -> str:
    details = {key: value for key, value in space.items() if key not in ("type", "start")}
    return f"{space.get('type')}({', '.join(f'{k}={v}' for k, v in details.items())})"


def check_spaces(meta: dict[str, Any], env, env_id: str, where: str) -> None:
    """The env must have the spaces the checkpoint was trained with (checked before loading)."""
    for label in ("observation", "action"):
        recorded = meta.get(f"{label}_space")
        actual = json.loads(json.dumps(space_to_json(getattr(env, f"{label}_space"))))
        if recorded is not None and recorded != actual:
            raise UsageError(
                f"the checkpoint's {label} space is {_describe(recorded)} but {env_id} has "
                f"{_describe(actual)}{where}; evaluate on an env with the same spaces"
            )


def load_checkpoint(
    path: str,
    env_id: str | None,
    env_set: dict[str, Any],
    render_mode=None,
    device: str | None = None,
):
    """`(agent, env, env_id, env_kwargs)` for a checkpoint, a deep agent on `device` (its
    recorded one if `None`); every failure is a UsageError."""
    try:
        meta = read_metadata(path)
    except CheckpointError as exc:
        raise UsageError(f"{exc}; pass the folder 'lecture-rl train --out' wrote") from exc
    env_id, kwargs = checkpoint_env(meta, env_id, env_set)
    env = make_env(env_id, kwargs, render_mode=render_mode)
    recorded = recorded_env(meta)
    where = (
        ""
        if recorded == (env_id, kwargs)
        else (f" (trained on {recorded[0]} {recorded[1]}, evaluated on {env_id} {kwargs})")
    )
    try:
        check_spaces(meta, env, env_id, where)
        agent = agents.load(path, env, device=device)
    except UsageError:
        env.close()
        raise
    except CheckpointError as exc:
        env.close()
        raise UsageError(f"{exc}{where}") from exc
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file raises, it is the file's
        env.close()
        raise UsageError(
            f"checkpoint {path} cannot be loaded ({type(exc).__name__}: {exc}){where}; "
            "it may be corrupt: train it again"
        ) from exc
    return agent, env, env_id, kwargs


def run_evaluate(args: argparse.Namespace, out=None) -> int:
    """Carry out `lecture-rl evaluate`; returns the exit code."""
    from rich.console import Console

    # a file given is written to, in a Jupyter kernel too (where rich would display instead)
    console = Console(file=out, force_jupyter=False) if out is not None else Console()
    if args.episodes < 1:
        raise UsageError(f"--episodes must be at least 1, got {args.episodes}")
    env_set = parse_assignments(args.env_set, "--env-set")
    check_device(args.device)
    agent, env, env_id, kwargs = load_checkpoint(
        args.checkpoint, args.env, env_set, device=args.device
    )
    seed = EVAL_SEED_BASE if args.seed is None else args.seed
    try:
        result = agent.evaluate(env, args.episodes, seed=seed, max_episode_steps=eval_step_cap(env))
    finally:
        env.close()
    result = {
        "checkpoint": str(args.checkpoint),
        "agent": agent.name,
        "env": env_id,
        "env_kwargs": kwargs,
        "seed": seed,
        **result,
    }
    if args.json:
        text = json.dumps(finite(result))
        if out is not None:
            out.write(text + "\n")
        else:
            print(text)
        return 0
    from rich.table import Table

    table = Table(title=f"{agent.name} on {env_id} {kwargs or ''}".strip(), show_header=False)
    table.add_row("episodes", str(result["episodes"]))
    table.add_row("greedy return", f"{result['return_mean']:.4f} ± {result['return_std']:.4f}")
    ci = result.get("ci95") or [math.nan, math.nan]
    table.add_row("95% CI of the mean", f"[{ci[0]:.4f}, {ci[1]:.4f}]")
    if "length_mean" in result:
        table.add_row("mean episode length", f"{result['length_mean']:.2f}")
    if "accuracy" in result:
        table.add_row("accuracy", f"{result['accuracy']:.4f}")
    console.print(table)
    return 0
