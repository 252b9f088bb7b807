"""Building an agent from the command line's words, and training it.

Description:
    `agent_class` and `build_agent` turn an agent's name and its `--set` values into an agent
    (misuse becomes a `UsageError`: one line, exit 2), `resolve_budget` turns `--episodes` /
    `--steps` into the budget `Agent.train` takes, and `train_agent` trains with the runner's
    subscribers.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from lecture_rl import agents
from lecture_rl.agents.base import Agent
from lecture_rl.runners.settings import UsageError


def agent_class(name: str) -> type[Agent]:
    """The agent class for `name`; unknown or unavailable names become a UsageError."""
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
    """`--device cuda` on a machine without CUDA is a usage error."""
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
    """`agents.make` with `device` passed only to agents that take it; errors -> UsageError."""
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
    """`{"episodes": N}` or `{"steps": N}` from the flags, else the agent's default."""
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


def train_agent(agent: Agent, env: gym.Env, callbacks: list, **budget: int) -> Any:
    """`agent.train(env, callbacks=..., **budget)`; an agent written before the event stream
    (its `train` takes only the per-episode `callback=`) gets the episode ends through it."""
    import inspect

    from lecture_rl.agents.events import EpisodeBatch, EpisodeEnd, EventStream

    parameters = inspect.signature(agent.train).parameters
    takes_callbacks = "callbacks" in parameters or any(
        p.kind is p.VAR_KEYWORD for p in parameters.values()
    )
    if takes_callbacks:
        return agent.train(env, callbacks=callbacks, **budget)
    stream = EventStream([c for c in callbacks if {EpisodeEnd, EpisodeBatch} & set(c.events)])

    def report(record: dict) -> bool:
        stream.emit(EpisodeEnd(record))
        return stream.emit(EpisodeBatch.of_record(record))  # a batch of one (progress bars)

    stream.start(agent, budget)
    result = None
    try:
        result = agent.train(env, callback=report, **budget)
    finally:
        stream.end(result)
    return result
