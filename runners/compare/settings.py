"""`compare` settings: flags and config files merged, validated, and planned into trials.

Description:
    `resolve_settings` merges a config file (JSON as `compare` writes it, or TOML) with
    the flags given on the command line; `plan_trials` validates every agent against the
    env in this process (so misuse exits 2 before any work starts) and lists the trials.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from lecture_rl.envs.protocols import graded_answers as answers_per_episode
from lecture_rl.runners import presets
from lecture_rl.runners.agent_factory import agent_class, build_agent, check_device
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
    "preset",
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
    "presets",
)


def _flatten_hyperparameters(value: Any) -> dict[str, Any]:
    """`{"ppo": {"lr": 1e-3}, "gamma": 0.9}` (TOML tables) -> `{"ppo.lr": 1e-3, ...}`."""
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
        if key not in (*CONFIG_KEYS, "grid", "out", "command", "version", "probe", "presets")
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
    given_presets = getattr(args, "preset", None)
    if given_presets:  # the command line's --preset: resolved afresh
        settings["preset"] = [presets.check_choice(choice) for choice in given_presets]
    elif args.config:  # a config's run again: the presets it used, as it recorded them
        settings["recorded_presets"] = config.get("presets") or {}
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
    choices = preset_choices(settings.get("preset"), variants)
    recorded = settings.get("recorded_presets")
    env = make_env(settings["env"], settings["env_kwargs"])
    envs = {_kwargs_key(settings["env_kwargs"]): env}  # one env per distinct env_kwargs
    settings["presets"], settings["setups"] = {}, {}
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
            shared = {key: value for key, value in common.items() if key in cls.defaults}
            variant = variants[name]
            choice = choices.get(name, choices.get(variant.agent, choices["*"]))
            setup = presets.set_up(
                variant.agent,
                settings["env"],
                {**shared, **per_agent[variant.agent], **variant.hyperparameters,
                 **per_agent[name]},
                settings["env_kwargs"],
                choice=choice,
                episodes=settings["episodes"],
                steps=settings["steps"],
                **({} if recorded is None else
                   {"preset": _recorded_preset(recorded, name, variant.agent)}),
            )  # fmt: skip
            hp, env_kwargs, budget = setup.hyperparameters, setup.env_kwargs, setup.budget
            key = _kwargs_key(env_kwargs)
            if key not in envs:
                envs[key] = make_env(settings["env"], env_kwargs)
            build_agent(
                variant.agent, envs[key], seed=0, hyperparameters=hp, device=settings["device"]
            )
            settings["setups"][name] = setup  # announced once nothing can be refused
            if setup.preset is not None:
                settings["presets"][name] = setup.preset.record()
            target = f"{cls.__module__}:{cls.__qualname__}" if ":" not in variant.agent else None
            for seed in range(settings["first_seed"], settings["first_seed"] + settings["seeds"]):
                trials.append(
                    Trial(
                        agent=name,
                        algorithm=variant.agent,
                        agent_target=target,
                        seed=seed,
                        env_id=settings["env"],
                        env_kwargs=env_kwargs,
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
        for made in envs.values():
            made.close()
    return trials, {"answers_per_episode": answers, "threshold": threshold}


def _kwargs_key(env_kwargs: dict[str, Any]) -> str:
    return json.dumps(env_kwargs, sort_keys=True, default=str)


def preset_choices(given: list[str] | None, variants: dict[str, Any]) -> dict[str, str]:
    """`--preset` values by agent: `{"*": every agent's, LABEL or AGENT: that one's}`.

    `NAME=FILE` (or `NAME=none`) is for the agent or variant label `NAME`; anything else is
    for every agent (a file path with `=` in it: name the agent, `ppo=a=b.yml`).
    """
    names = {*variants, *(v.agent for v in variants.values())}
    choices = {"*": presets.AUTO}
    for item in given or ():
        name, sep, value = item.partition("=")
        if sep and name in names:
            choices[name] = presets.check_choice(value)
        elif sep and _LOOKS_LIKE_NAME.match(name) and not Path(item).exists():
            raise UsageError(
                f"--preset {item}: '{name}' is not one of the agents being run "
                f"({', '.join(sorted(names))}); write --preset AGENT=FILE with one of them"
            )
        else:
            choices["*"] = presets.check_choice(item)
    return choices


_LOOKS_LIKE_NAME = re.compile(r"^[A-Za-z0-9_:.()-]+$")


def _recorded_preset(recorded: Any, name: str, agent: str) -> presets.Preset | None:
    """The preset a config.json recorded for `name` (`None`: it used none)."""
    if not isinstance(recorded, dict) or not isinstance(recorded.get(name), dict):
        return None
    return presets.Preset.from_record(agent, recorded[name])
