"""lecture-rl agents: tabular TD methods, dynamic programming and deep agents.

Usage:

```python
import gymnasium as gym
import lecture_rl.envs
from lecture_rl import agents

env = gym.make("LectureRL/GridWorld-v0")
agent = agents.make("q_learning", env, alpha=0.5, gamma=0.7, seed=0)
agent.train(env, episodes=200)
agent.save("runs/q")
again = agents.load("runs/q")
```

`names()` lists the agent names. Agents are imported lazily, so `import lecture_rl.agents`
does not import torch; names `sb3:ALGO` and `sb3-contrib:ALGO` wrap stable-baselines3.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import gymnasium as gym

from lecture_rl.agents.base import Agent, TrainingDiverged, TrainResult
from lecture_rl.agents.checkpoint_io import (
    CheckpointError,
    check_files,
    check_spaces_fit,
    read_metadata,
)
from lecture_rl.agents.events import TrainingCallback
from lecture_rl.agents.hyperparameters import HyperparameterError

# name -> "module:Class" (imported on first use)
_REGISTRY: dict[str, str] = {
    "random": "lecture_rl.agents.random_agent:RandomAgent",
    "td0": "lecture_rl.agents.td0:TD0Agent",
    "mc": "lecture_rl.agents.mc:MCAgent",
    "q_learning": "lecture_rl.agents.q_learning:QLearningAgent",
    "sarsa": "lecture_rl.agents.sarsa:SarsaAgent",
    "expected_sarsa": "lecture_rl.agents.expected_sarsa:ExpectedSarsaAgent",
    "double_q": "lecture_rl.agents.double_q:DoubleQAgent",
    "value_iteration": "lecture_rl.agents.dynamic_programming:ValueIterationAgent",
    "policy_iteration": "lecture_rl.agents.dynamic_programming:PolicyIterationAgent",
    "dqn": "lecture_rl.agents.dqn:DQNAgent",
    "reinforce": "lecture_rl.agents.reinforce:ReinforceAgent",
    "ppo": "lecture_rl.agents.ppo:PPOAgent",
}

_SB3_PREFIXES = ("sb3:", "sb3-contrib:")

__all__ = [
    "Agent",
    "CheckpointError",
    "HyperparameterError",
    "TrainResult",
    "TrainingCallback",
    "TrainingDiverged",
    "agent_class",
    "load",
    "make",
    "names",
    "register",
]


def names() -> list[str]:
    """The registered agent names (`sb3:ALGO` names are accepted on top of these)."""
    return sorted(_REGISTRY)


def register(name: str, target: str | type[Agent]) -> None:
    """Register a user's agent class (or `"module:Class"`) under `name`."""
    if isinstance(target, type):
        target = f"{target.__module__}:{target.__qualname__}"
    _REGISTRY[name] = target


def agent_class(name: str) -> type[Agent]:
    """The class behind an agent name; unknown names raise `KeyError` with the valid ones."""
    if name.startswith(_SB3_PREFIXES):
        from lecture_rl.agents.sb3_agent import SB3Agent

        return SB3Agent.for_name(name)
    if name not in _REGISTRY:
        import difflib

        close = difflib.get_close_matches(name, names(), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise KeyError(
            f"unknown agent '{name}'{hint}; choose one of: {', '.join(names())}, "
            "or sb3:PPO / sb3:DQN / sb3:A2C / sb3-contrib:RecurrentPPO"
        )
    module_name, _, class_name = _REGISTRY[name].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)


def make(name: str, env: gym.Env, **hyperparameters: Any) -> Agent:
    """Build agent `name` for `env`; `seed=` and `device=` are accepted where they apply."""
    return agent_class(name)(env, **hyperparameters)


def load(
    path: str | os.PathLike, env: gym.Env | None = None, *, device: str | None = None
) -> Agent:
    """Restore an agent from a checkpoint folder written by `agent.save`.

    `env` defaults to the env recorded in the checkpoint. `device` (`"cpu"`, `"cuda"`,
    `"auto"`) puts a deep agent there instead of on its recorded device (a checkpoint from a
    GPU loads on the CPU without it too, where there is no CUDA). Nothing is unpickled:
    metadata is JSON and arrays/weights load with `allow_pickle=False` /
    `weights_only=True`, onto the CPU first.
    """
    folder = Path(path)
    meta = read_metadata(folder)
    check_files(folder, meta)  # every file is the one saved with this agent.json
    try:
        cls = agent_class(meta["agent"])
    except KeyError as exc:
        raise CheckpointError(f"checkpoint {folder} names an unknown agent: {exc.args[0]}") from exc
    if device is not None and "device" in getattr(cls, "params", {}):
        from lecture_rl.agents.device import resolve_device

        resolve_device(device)  # asked for cuda on a machine without: an error, not the CPU
        hp = {**meta.get("hyperparameters", {}), "device": device}
        meta = {**meta, "hyperparameters": hp}
    own_env = env is None
    if own_env:
        env_id = meta.get("env_id")
        if not env_id:
            raise CheckpointError(
                f"checkpoint {folder} records no env id; pass the env to load(path, env)"
            )
        import lecture_rl.envs  # noqa: F401  (registers our ids)

        env = gym.make(env_id, **meta.get("env_kwargs", {}))
    try:
        # the one space check of a load: before any network or table is built
        check_spaces_fit(
            meta.get("env_id"), meta.get("observation_space"), meta.get("action_space"), env
        )
        try:
            agent = cls.from_checkpoint(folder, meta, env)
        except (CheckpointError, HyperparameterError):
            raise
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(f"checkpoint {folder} could not be loaded: {exc}") from exc
    finally:
        if own_env:
            env.close()
    return agent
