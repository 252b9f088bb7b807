"""``compare`` settings: flags and config files merged, validated, and planned into trials.

Description:
    :func:`resolve_settings` merges a config file (JSON as ``compare`` writes it, or TOML) with
    the flags given on the command line; :func:`plan_trials` validates every agent against the
    env in this process (so misuse exits 2 before any work starts) and lists the trials.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lecture_rl.envs.protocols import graded_answers as answers_per_episode
from lecture_rl.runners.agent_factory import agent_class, build_agent, check_device, resolve_budget
from lecture_rl.runners.compare.trials import Trial
from lecture_rl.runners.compare.variants import expand_grid, parse_agents, parse_grid
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.scoring import EVAL_SEED_BASE
from lecture_rl.runners.settings import (
    UsageError,
    load_config,
    parse_assignments,
    safe_name,
    split_agent_overrides,
)

CONFIG_KEYS = (
    "env",
    "env_kwargs",
    "agents",
    "seeds",
    "first_seed",
    "episodes",
    "steps",
    "hyperparameters",
    "eval_episodes",
    "device",
)
#: the settings that change what a trial computes; a folder holding a run that differs in one
#: of them is refused (agents and seeds may change: trials are added or dropped)
RESULT_KEYS = (
    "env",
    "env_kwargs",
    "episodes",
    "steps",
    "hyperparameters",
    "eval_episodes",
    "device",
)


def _flatten_hyperparameters(value: Any) -> dict[str, Any]:
    """``{"ppo": {"lr": 1e-3}, "gamma": 0.9}`` (TOML tables) -> ``{"ppo.lr": 1e-3, ...}``."""
    flat: dict[str, Any] = {}
    for key, item in (value or {}).items():
        if isinstance(item, dict):
            for sub, sub_value in item.items():
                flat[f"{key}.{sub}"] = sub_value
        else:
            flat[key] = item
    return flat


def resolve_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Config file values, overridden by the flags given on the command line."""
    config: dict[str, Any] = load_config(args.config) if args.config else {}
    unknown = [
        key
        for key in config
        if key not in (*CONFIG_KEYS, "grid", "out", "command", "version", "probe")
    ]
    if unknown:
        raise UsageError(
            f"config file {args.config}: unknown key '{unknown[0]}'; valid keys: "
            f"{', '.join(CONFIG_KEYS)}, grid, out"
        )
    settings = {key: config.get(key) for key in CONFIG_KEYS}
    settings["out"] = config.get("out")
    settings["hyperparameters"] = _flatten_hyperparameters(config.get("hyperparameters"))
    settings["env_kwargs"] = dict(config.get("env_kwargs") or {})
    flags = {
        "env": args.env,
        "agents": args.agents,
        "seeds": args.seeds,
        "first_seed": args.first_seed,
        "eval_episodes": args.eval_episodes,
        "device": args.device,
        "out": args.out,
    }
    settings.update({key: value for key, value in flags.items() if value is not None})
    if args.episodes is not None or args.steps is not None:
        settings["episodes"], settings["steps"] = args.episodes, args.steps
    settings["hyperparameters"].update(parse_assignments(args.set, "--set"))
    settings["env_kwargs"].update(parse_assignments(args.env_set, "--env-set"))
    for key, flag in (("env", "--env"), ("agents", "--agents"), ("out", "--out")):
        if not settings.get(key):
            raise UsageError(f"compare needs {flag} (or a --config file that sets '{key}')")
    entries = parse_agents(settings["agents"])
    settings["agent_specs"] = [entry.to_config() for entry in entries]
    settings["grid"] = parse_grid(config.get("grid"))
    settings["grid"].update(parse_grid(getattr(args, "grid", None)))
    settings["variants"] = {v.label: v for v in expand_grid(entries, settings["grid"])}
    settings["agents"] = list(settings["variants"])
    # an experiment's measurement (not a flag: experiments set it on the namespace)
    settings["probe"] = getattr(args, "probe", None) or config.get("probe")
    settings["seeds"] = int(settings["seeds"] if settings["seeds"] is not None else 5)
    settings["first_seed"] = int(settings["first_seed"] or 0)
    eval_episodes = settings["eval_episodes"]  # 0 is a value (refused below), not "unset"
    settings["eval_episodes"] = int(eval_episodes if eval_episodes is not None else 100)
    if settings["seeds"] < 1:
        raise UsageError(f"--seeds must be at least 1, got {settings['seeds']}")
    if settings["first_seed"] < 0:
        raise UsageError(f"--first-seed must be 0 or more, got {settings['first_seed']}")
    if settings["eval_episodes"] < 1:
        raise UsageError(f"--eval-episodes must be at least 1, got {settings['eval_episodes']}")
    if settings["device"] not in (None, "auto", "cpu", "cuda"):
        raise UsageError(f"device '{settings['device']}' is not one of auto, cpu, cuda")
    return settings


def plan_trials(
    settings: dict[str, Any], out_dir: Path, threads: int | None = None
) -> tuple[list[Trial], dict[str, Any]]:
    """Validate every agent against the env (in this process, so misuse exits 2 before any
    work starts) and list the trials. Returns the trials and facts about the env."""
    check_device(settings["device"])
    variants = settings["variants"]
    names = list(dict.fromkeys([*variants, *(v.agent for v in variants.values())]))
    common, per_agent = split_agent_overrides(settings["hyperparameters"], names)
    env = make_env(settings["env"], settings["env_kwargs"])
    try:
        answers = answers_per_episode(env)
        spec = env.spec
        # the env's own threshold first (GridWorld: its map's optimal return), then the spec's
        own = getattr(env.unwrapped, "reward_threshold", None)
        if own is None:
            own = getattr(spec, "reward_threshold", None)
        threshold = 0.99 * answers if answers else own
        classes = {label: agent_class(v.agent) for label, v in variants.items()}
        for key, value in common.items():
            # A shared --set applies to the agents that take it; a name none of them takes is
            # misuse (validation raises with a did-you-mean for the first agent).
            if not any(key in cls.defaults for cls in classes.values()):
                next(iter(classes.values())).validate_hyperparameters({key: value})
        trials = []
        for name in settings["agents"]:
            cls = classes[name]
            budget = resolve_budget(cls, settings["episodes"], settings["steps"])
            shared = {key: value for key, value in common.items() if key in cls.defaults}
            variant = variants[name]
            hp = {
                **shared,
                **per_agent[variant.agent],
                **variant.hyperparameters,
                **per_agent[name],
            }
            build_agent(variant.agent, env, seed=0, hyperparameters=hp, device=settings["device"])
            target = f"{cls.__module__}:{cls.__qualname__}" if ":" not in variant.agent else None
            for seed in range(settings["first_seed"], settings["first_seed"] + settings["seeds"]):
                trials.append(
                    Trial(
                        agent=name,
                        algorithm=variant.agent,
                        agent_target=target,
                        seed=seed,
                        env_id=settings["env"],
                        env_kwargs=settings["env_kwargs"],
                        hyperparameters=hp,
                        device=settings["device"],
                        budget=budget,
                        eval_episodes=settings["eval_episodes"],
                        eval_seed=EVAL_SEED_BASE + seed * settings["eval_episodes"],
                        log_dir=str(out_dir / "tb" / safe_name(f"{name}-seed{seed}")),
                        threads=threads,
                        probe=settings.get("probe"),
                    )
                )
    finally:
        env.close()
    return trials, {"answers_per_episode": answers, "threshold": threshold}
