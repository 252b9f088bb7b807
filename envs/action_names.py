"""What an env's actions are called, for the people reading a viewer or a figure.

Description:
    `action_names` asks the env first and falls back on what Gymnasium documents:

    1. the env (or a wrapper of it) names them itself, `NamedActions`
       (`action_names`);
    2. the Arcade Learning Environment's `get_action_meanings()` (Atari);
    3. Minigrid's `actions` enum (`left`, `right`, `forward`, ...);
    4. `GYMNASIUM_ACTION_NAMES`: the actions of Gymnasium's own envs as their pages
       describe them (Gymnasium's classes carry no names), e.g. Taxi's south, north, east,
       west, pickup, dropoff and Blackjack's stick, hit.

    Names count only when there is one per action of the outermost `Discrete` action space
    (a wrapper that changes the actions, such as `DiscreteActions`, hides the inner names).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from lecture_rl.envs.protocols import NamedActions, wrapper_chain

#: Gymnasium's own envs (class name of `env.unwrapped`): the names of their actions, from
#: the "Action Space" section of each env's documentation
GYMNASIUM_ACTION_NAMES: dict[str, tuple[str, ...]] = {
    "TaxiEnv": ("south", "north", "east", "west", "pickup", "dropoff"),
    "BlackjackEnv": ("stick", "hit"),
    "FrozenLakeEnv": ("left", "down", "right", "up"),
    "CliffWalkingEnv": ("up", "right", "down", "left"),
    "CartPoleEnv": ("push left", "push right"),
    "AcrobotEnv": ("torque −1", "torque 0", "torque +1"),
    "MountainCarEnv": ("accelerate left", "don't accelerate", "accelerate right"),
    "LunarLander": ("do nothing", "left engine", "main engine", "right engine"),
    "CarRacing": ("do nothing", "steer right", "steer left", "gas", "brake"),
}


def action_names(env: gym.Env) -> list[str] | None:
    """One name per action of `env`'s `Discrete` action space, or `None` when the env
    does not say (see the module docstring for where the names come from)."""
    space = getattr(env, "action_space", None)
    if not isinstance(space, gym.spaces.Discrete):
        return None
    n = int(space.n)
    for found in _candidates(env):
        names = [str(name) for name in found] if found is not None else []
        if len(names) == n:
            return names
    return None


def _candidates(env: gym.Env) -> list[Any]:
    found: list[Any] = []
    for layer in wrapper_chain(env):
        if isinstance(layer, NamedActions):
            found.append(layer.action_names)
            break
    inner = getattr(env, "unwrapped", env)
    meanings = getattr(inner, "get_action_meanings", None)
    if callable(meanings):
        try:
            found.append(meanings())
        except Exception:  # noqa: BLE001 - an env whose meanings need arguments
            pass
    enum = getattr(inner, "actions", None)
    if isinstance(enum, type) and hasattr(enum, "__members__"):  # Minigrid's Actions
        members = sorted(enum.__members__.values(), key=int)
        found.append([member.name for member in members])
    if type(inner).__module__.startswith("gymnasium."):
        found.append(GYMNASIUM_ACTION_NAMES.get(type(inner).__name__))
    return found
