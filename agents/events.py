"""The training event stream: what happens while an agent learns, as typed events.

Description:
    Every agent's `train` emits the same kinds of events to the same subscribers, so a
    progress bar, TensorBoard, a comparison's records, the divergence guard and the live
    viewer all observe training one way:

    ```text
    env step ──► Transition ──► (the agent learns) ──► TableUpdate / NetworkUpdate
             └─► PolicyStep (deep agents: π(a|s), V(s), recurrent state)
    episode end ──► EpisodeEnd (return, length, accuracy)
    a rollout's episode ends ──► EpisodeBatch (the same, as arrays, once per rollout)
    ```

    For tabular agents the order within one env step is fixed: the `TableUpdate` of the step
    comes first, then its `Transition`, so a subscriber that draws on a `Transition` shows the
    table *after* the agent learned from that step (the viewer is never one update behind).

    A subscriber is a [`TrainingCallback`][lecture_rl.agents.events.TrainingCallback]. It names the
    event types it wants in `events` (agents build an event only when someone wants it, so an
    unobserved run pays nothing), receives them in
    [`TrainingCallback.on_event`][lecture_rl.agents.events.TrainingCallback.on_event], and stops
    training by returning `False` (as stable-baselines3's callbacks do). A plain function
    `f(record) -> bool | None` still works as the per-episode `callback=` of `train`.

    Episode ends come two ways. `EpisodeEnd` is one event per episode; `EpisodeBatch` is
    the episodes an agent finished since its last report, as numpy arrays, one event for all
    of them. An agent on torch batched envs reports a rollout's thousands of episodes as one
    batch and builds the per-episode `EpisodeEnd` events only when a subscriber wants them;
    an agent that reports episodes one at a time sends a subscriber of `EpisodeBatch` a
    batch of one. A subscriber that needs only a running figure (a progress bar) listens to
    `EpisodeBatch` and so costs nothing per episode.

Example:
    >>> class Printer(TrainingCallback):
    ...     events = (EpisodeEnd,)
    ...     def on_event(self, event):
    ...         print(event.record["return"])
    >>> agent.train(env, episodes=10, callbacks=[Printer()])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class Transition:
    """One env step as the agent saw it: (s, a, r, s', done) and whether `a` explored.

    `explored` is `True` for an exploring (random) action, `False` for a greedy one and
    `None` where the policy samples (policy-gradient agents). `env_index` is the copy of a
    vector env it came from; `episode` and `step` count from 0 within this agent's life.
    """

    obs: Any
    action: Any
    reward: float
    next_obs: Any
    terminated: bool
    truncated: bool
    explored: bool | None
    episode: int
    step: int
    env_steps: int
    env_index: int = 0
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TableUpdate:
    """One tabular update `X(s[, a]) ← X + α δ` with every number of it.

    `table` names what was updated (`"q"`, `"v"`, `"q1"`/`"q2"` for double Q); `a`
    is `None` for state-value (TD(0), MC prediction) updates, `a_next` is `None` where no
    next action was chosen. `target` is the agent's target, `td_error` is δ = target − old
    value and `new_value = old_value + alpha · td_error` (`alpha` the step size used).
    `target_terms` holds the pieces of the target by name (e.g. ``{"r": 0, "gamma": 0.7,
    "bootstrap": 0}`) so a viewer can print `target = r + γ·max_a' Q(s',a')`` with numbers.
    """

    s: int
    a: int | None
    r: float
    s_next: int
    a_next: int | None
    terminated: bool
    target: float
    td_error: float
    old_value: float
    new_value: float
    alpha: float
    gamma: float
    episode: int
    step: int
    table: str = "q"
    rule: str = ""
    target_terms: Mapping[str, float] = field(default_factory=dict)


#: the name notebooks and lessons used before the event stream (kept as an alias)
Update = TableUpdate


@dataclass(frozen=True)
class NetworkUpdate:
    """One gradient update of a deep agent: its losses and the gradient norm before clipping."""

    update: int
    env_steps: int
    losses: Mapping[str, float]
    grad_norm: float | None = None
    scalars: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicyStep:
    """A deep agent's output for one batch of observations while it collects experience.

    `probs` is π(a|s) (or the ε-greedy distribution for DQN) as `[N, nA]`, `values` V(s)
    as `[N]` (`max_a Q` for DQN), `actions` the actions taken and `state` a handle on
    the recurrent state after the step (a tuple of tensors; empty for feed-forward nets).
    `episode_starts` `[N]` marks the observations that begin an episode (the memory
    restarts there) and `hidden` `[N]` is the env's `info["hidden"]` for them, the task's
    hidden variable (`None` when the env has none): what the insides panel correlates with.
    """

    obs: Any
    probs: Any
    values: Any
    actions: Any
    state: tuple[Any, ...]
    env_steps: int
    episode_starts: Any = None
    hidden: Any = None


@dataclass(frozen=True)
class EpisodeEnd:
    """A finished training episode: `record` holds `episode`, `return`, `length`,
    `env_steps`, `wall_time` and, on graded tasks, `accuracy`."""

    record: Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class EpisodeBatch:
    """Finished training episodes as arrays, one row per episode in the order they ended.

    `episode`, `returns`, `lengths` and `env_steps` are 1-d arrays of one length (the
    record keys `episode`, `return`, `length`, `env_steps`); `wall_time` is one
    number for the batch (seconds since training began, when it was reported); `accuracy`
    (`returns / answers per episode`) is there on graded tasks, else `None`.
    `records()` gives the same episodes as `EpisodeEnd` records.
    """

    episode: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray
    env_steps: np.ndarray
    wall_time: float
    accuracy: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.returns.shape[0])

    def records(self) -> list[dict[str, Any]]:
        """One dict per episode, with the keys and types of an `EpisodeEnd` record."""
        wall = float(self.wall_time)
        columns = [self.episode.tolist(), self.returns.tolist(), self.lengths.tolist(),
                   self.env_steps.tolist()]  # fmt: skip
        if self.accuracy is None:
            return [
                {"episode": e, "return": r, "length": n, "env_steps": s, "wall_time": wall}
                for e, r, n, s in zip(*columns)
            ]
        return [
            {"episode": e, "return": r, "length": n, "env_steps": s, "wall_time": wall,
             "accuracy": a}
            for e, r, n, s, a in zip(*columns, self.accuracy.tolist())
        ]  # fmt: skip

    @classmethod
    def of_record(cls, record: Mapping[str, Any]) -> EpisodeBatch:
        """A batch of one from an `EpisodeEnd` record."""
        accuracy = record.get("accuracy")
        return cls(
            np.array([int(record["episode"])], dtype=np.int64),
            np.array([float(record["return"])]),
            np.array([int(record["length"])], dtype=np.int64),
            np.array([int(record.get("env_steps", 0))], dtype=np.int64),
            float(record.get("wall_time", 0.0)),
            None if accuracy is None else np.array([float(accuracy)]),
        )


Event = Transition | TableUpdate | NetworkUpdate | PolicyStep | EpisodeEnd | EpisodeBatch


class TrainingCallback:
    """A subscriber to the event stream. Override what you need.

    `events` is the tuple of event types `on_event` receives; the agent builds the
    expensive ones (transitions, policy steps) only when a subscriber wants them.
    """

    events: ClassVar[tuple[type, ...]] = (EpisodeEnd,)
    #: the run's [`EventStream`][lecture_rl.agents.events.EventStream] while training (set before
    #: `on_training_start`), so a #: subscriber can change what it listens to mid-run
    #: (`stream.unsubscribe(self)`, ...)
    stream: EventStream | None = None

    def on_training_start(self, agent: Any, budget: Mapping[str, int | None]) -> None:
        """Called once before the first env step with the resolved budget."""

    def on_event(self, event: Any) -> bool | None:
        """One event; return `False` to stop training (anything else goes on)."""
        return None

    def on_training_end(self, result: Any) -> None:
        """Called once when training ends, also after an error or a stop."""


class EpisodeFunction(TrainingCallback):
    """Adapter for the per-episode `callback=` of `train`: `fn(record)`, `False` stops."""

    events = (EpisodeEnd,)

    def __init__(self, fn: Callable[[dict[str, Any]], Any]):
        self.fn = fn

    def on_event(self, event: Any) -> bool | None:
        return self.fn(event.record)


class UpdateFunction(TrainingCallback):
    """Adapter for `add_update_hook`: `fn(update)` for every
    [`TableUpdate`][lecture_rl.agents.events.TableUpdate]."""

    events = (TableUpdate,)

    def __init__(self, fn: Callable[[TableUpdate], Any]):
        self.fn = fn

    def on_event(self, event: Any) -> bool | None:
        self.fn(event)
        return None


class EventStream:
    """The subscribers of one training run and the stop flag they set.

    Agents call `wants` before building an event on a hot path and `emit` to send
    it. `stopped` turns true when a subscriber returns `False`.
    """

    def __init__(self, callbacks: Iterable[TrainingCallback] = ()):
        self.callbacks: list[TrainingCallback] = list(callbacks)
        self.stopped = False
        self._by_type: dict[type, list[TrainingCallback]] = {}
        self._refresh()

    def _refresh(self) -> None:
        self._by_type = {}
        for callback in self.callbacks:
            for kind in callback.events:
                self._by_type.setdefault(kind, []).append(callback)

    def subscribe(self, callback: TrainingCallback) -> None:
        """Add a subscriber (for this run)."""
        self.callbacks.append(callback)
        self._refresh()

    def unsubscribe(self, callback: TrainingCallback) -> None:
        """Remove a subscriber."""
        self.callbacks.remove(callback)
        self._refresh()

    def wants(self, kind: type) -> bool:
        """Whether any subscriber listens to events of type `kind`."""
        return kind in self._by_type

    def emit(self, event: Any) -> bool:
        """Send `event` to its subscribers; returns `False` once training should stop."""
        for callback in self._by_type.get(type(event), ()):
            if callback.on_event(event) is False:
                self.stopped = True
        return not self.stopped

    def start(self, agent: Any, budget: Mapping[str, int | None]) -> None:
        for callback in self.callbacks:
            callback.stream = self
        for callback in list(self.callbacks):
            callback.on_training_start(agent, budget)

    def end(self, result: Any) -> None:
        for callback in list(self.callbacks):
            callback.on_training_end(result)


def as_callbacks(
    callbacks: TrainingCallback | Iterable[TrainingCallback] | None,
    callback: Callable[[dict[str, Any]], Any] | None = None,
) -> list[TrainingCallback]:
    """The subscriber list from `train`'s `callbacks=` and the per-episode `callback=`."""
    if callbacks is None:
        found: list[TrainingCallback] = []
    elif isinstance(callbacks, TrainingCallback):
        found = [callbacks]
    else:
        found = list(callbacks)
    for item in found:
        if not isinstance(item, TrainingCallback):
            raise TypeError(
                f"callbacks must be TrainingCallback instances, not {type(item).__name__}; "
                "wrap a per-episode function with callback=fn instead"
            )
    if callback is not None:
        found.append(EpisodeFunction(callback))
    return found
