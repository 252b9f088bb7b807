"""The teaching protocol: what an env may offer beyond Gymnasium's API, as explicit Protocols.

Description:
    Agents and runners use these instead of probing `env.unwrapped` attribute by attribute.
    Our envs implement them; Gymnasium's own grids (FrozenLake, CliffWalking, Taxi) fit
    [`TabularModel`][lecture_rl.envs.protocols.TabularModel] through their `P`.

    * [`TabularModel`][lecture_rl.envs.protocols.TabularModel] — a known transition model (dynamic
      programming, TD(0) ground truth): `P[s][a] = [(prob, next_s, reward, terminated), ...]` as in
      FrozenLake; optionally `terminal_states` and `action_mask(s)`.
    * [`GradedTask`][lecture_rl.envs.protocols.GradedTask] — an env that grades answers (Parity,
      Copy): reward 1 per correct answer, `answers_per_episode` answers per episode, so
      `accuracy = return / answers`.
    * [`Overlayable`][lecture_rl.envs.protocols.Overlayable] — an env whose frame can show an
      agent's values (`set_overlay(values=..., q=..., ...)`).
    * [`ChosenStart`][lecture_rl.envs.protocols.ChosenStart] — an env that starts an episode in a
      state the caller chooses, `reset(options={"start": s})`, for any `s` in `start_states`
      (exploring starts, Sutton & Barto 2018 §5.3).
    * `TapeTask` — an env read as a tape (Parity, Copy): one symbol seen per step,
      `tape_symbol(obs)` its text, and the action at a step an answer that may be graded.
      Viewers draw such a task as a tape (seen, hidden variable, graded answers); no other env
      gets answer cells.
    * `NamedActions` — an env that names its actions, `action_names[a]`.

Usage:

```python
from lecture_rl.envs.protocols import graded_answers, tabular_model, tape_task
model = tabular_model(env)        # None when the env has no P
answers = graded_answers(env)     # None when the env does not grade answers
tape = tape_task(env)             # None unless the env declares itself a tape task
```
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

Transitions = Sequence[tuple[float, int, float, bool]]


@runtime_checkable
class TabularModel(Protocol):
    """An env with a known model `P[s][a] = [(prob, next_s, reward, terminated), ...]`."""

    P: Any


@runtime_checkable
class GradedTask(Protocol):
    """An env that gives reward 1 per correct answer, `answers_per_episode` per episode."""

    answers_per_episode: int


@runtime_checkable
class Overlayable(Protocol):
    """An env whose frame draws an agent's values on top of the task."""

    def set_overlay(self, **overlay: Any) -> None: ...


@runtime_checkable
class ChosenStart(Protocol):
    """An env whose `reset(options={"start": s})` starts in any `s` of `start_states`."""

    start_states: frozenset[int]


@runtime_checkable
class TapeTask(Protocol):
    """An env read as a tape: the observation of a step is one symbol, `tape_symbol(obs)`
    its short text (Copy's blank is `·`, its go marker `GO`), and the step's action is an
    answer (graded where the step's info has `correct`)."""

    def tape_symbol(self, obs: Any) -> str: ...


@runtime_checkable
class NamedActions(Protocol):
    """An env that names its actions: `action_names[i]` for the `i`-th action of its
    `Discrete` action space (counted from the space's `start`)."""

    action_names: Sequence[str]


def _inner(env: gym.Env) -> Any:
    return getattr(env, "unwrapped", env)


def wrapper_chain(env: Any) -> Iterator[Any]:
    """`env`, the env it wraps, and so on down to the unwrapped env."""
    seen = 0
    while env is not None and seen < 64:  # a cycle would be a bug in a wrapper; stop anyway
        yield env
        inner = getattr(env, "env", None)
        env = inner if inner is not env else None
        seen += 1


def tape_task(env: gym.Env) -> TapeTask | None:
    """The env (or the wrapper of it) that declares itself a tape task, else `None`."""
    for layer in wrapper_chain(env):
        if isinstance(layer, TapeTask):
            return layer
    return None


def tabular_model(env: gym.Env) -> TabularModel | None:
    """The env (unwrapped) when it has a transition model `P`, else `None`."""
    inner = _inner(env)
    return inner if getattr(inner, "P", None) is not None else None


def graded_answers(env: gym.Env) -> int | None:
    """Graded answers per episode on Parity/Copy-like envs, else `None`."""
    inner = _inner(env)
    if isinstance(inner, GradedTask) and inner.answers_per_episode:
        return int(inner.answers_per_episode)
    return None


def overlayable(env: gym.Env) -> Overlayable | None:
    """The env (unwrapped) when it can draw an overlay, else `None`."""
    inner = _inner(env)
    return inner if isinstance(inner, Overlayable) else None


def start_states(env: gym.Env) -> list[int] | None:
    """The states `reset(options={"start": s})` accepts, sorted, or `None` when the env
    cannot start where it is told."""
    inner = _inner(env)
    if isinstance(inner, ChosenStart) and inner.start_states:
        return sorted(int(s) for s in inner.start_states)
    return None


def terminal_states(env: gym.Env) -> frozenset[int]:
    """The env's absorbing states when it declares them (empty set otherwise)."""
    found: Iterable[int] | None = getattr(_inner(env), "terminal_states", None)
    return frozenset(int(s) for s in found) if found else frozenset()


def state_action_mask(env: gym.Env, n_states: int, n_actions: int) -> np.ndarray | None:
    """`(nS, nA)` booleans from `env.unwrapped.action_mask(s)` when the env has it.

    Our GridWorld and Gymnasium's Taxi expose `action_mask(state)`; other envs allow every
    action everywhere (`None`).
    """
    mask_of = getattr(_inner(env), "action_mask", None)
    if not callable(mask_of):
        return None
    try:
        rows = [np.asarray(mask_of(s), dtype=bool) for s in range(n_states)]
    except Exception:  # noqa: BLE001 - an env whose action_mask needs other arguments
        return None
    available = np.stack(rows)
    if available.shape != (n_states, n_actions):
        return None
    return available
