"""The agent protocol every lecture-rl agent follows, and the training contract the base enforces.

Description:
    An agent is built with `lecture_rl.agents.make(name, env, **hyperparameters)`. It learns
    with `train(env, episodes=None, steps=None, callbacks=...)`, chooses actions with
    `act(obs, info)`, writes a checkpoint folder with `save(path)` and comes back with
    `lecture_rl.agents.load(path)`.

    The base owns the training loop's contract (as stable-baselines3's `BaseAlgorithm` owns
    `learn`); an algorithm implements only its own part in `Agent._learn`:

    1. the budget is validated once by [`Budget`][lecture_rl.agents.base.Budget] (the one rule,
       below);
    2. the subscribers (`callbacks=` plus the per-episode `callback=` function) form the
       run's [`EventStream`][lecture_rl.agents.events.EventStream];
    3. `_learn(env, run)` steps the env and learns, reporting through `run`: env steps,
       finished episodes
       ([`TrainingRun.episode_end`][lecture_rl.agents.base.TrainingRun.episode_end]), and events;
       it stops when `run.done` (budget spent or a subscriber said stop);
    4. the base fills in [`TrainResult`][lecture_rl.agents.base.TrainResult] — `stopped_early`
       means a subscriber stopped training before the budget was spent, for every agent alike.

Budget rule:
    `episodes` counts finished episodes, `steps` env steps (over all copies of a vector env);
    each is a whole number >= 0 or `None`. Given both, training ends at whichever comes first.
    Given neither, the class's `default_budget` applies. `0` trains nothing (a planner still
    plans). Agents that step several envs at once may overshoot `steps` by less than one
    batch; episodes beyond `episodes` that end in the same batch are not recorded.

Checkpoint folder: see `lecture_rl.agents.checkpoint_io`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from lecture_rl.agents import checkpoint_io as ckpt
from lecture_rl.agents.checkpoint_io import CheckpointError
from lecture_rl.agents.events import (
    EpisodeBatch,
    EpisodeEnd,
    EventStream,
    TrainingCallback,
    as_callbacks,
)
from lecture_rl.agents.hyperparameters import HyperparameterError, Param, validate
from lecture_rl.agents.stats import evaluation_summary
from lecture_rl.envs.protocols import graded_answers

__all__ = [
    "Agent",
    "Budget",
    "CheckpointError",
    "EpisodeCallback",
    "HyperparameterError",
    "TrainResult",
    "TrainingDiverged",
    "TrainingRun",
]


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the update and the last good checkpoint."""


class BudgetError(ValueError):
    """A training budget that is not a whole number >= 0."""


EpisodeCallback = Callable[[dict[str, Any]], Any]


class EpisodeLog:
    """The finished episodes of one training run: records, and batches kept as arrays.

    A batch (`EpisodeBatch`) is turned into dicts only when
    the records are read (`records()`), once; counting them costs nothing per episode.
    """

    def __init__(self, records: list[dict[str, Any]] | None = None):
        self._records: list[dict[str, Any]] = [] if records is None else records
        self._pending: list[EpisodeBatch] = []
        self._pending_count = 0

    def __len__(self) -> int:
        return len(self._records) + self._pending_count

    def append(self, record: dict[str, Any]) -> None:
        """One finished episode, after every earlier one."""
        if self._pending:
            self.records()
        self._records.append(record)

    def add_batch(self, batch: EpisodeBatch) -> None:
        """Episodes as arrays, after every earlier one; made into dicts when first read."""
        if len(batch):
            self._pending.append(batch)
            self._pending_count += len(batch)

    def records(self) -> list[dict[str, Any]]:
        """Every episode as a dict (the same list object each time; batches converted once)."""
        for batch in self._pending:
            self._records.extend(batch.records())
        self._pending.clear()
        self._pending_count = 0
        return self._records

    def returns(self, last: int) -> np.ndarray:
        """The returns of the last `last` episodes, without making dicts of batches."""
        parts, needed = [], last
        for batch in reversed(self._pending):
            if needed <= 0:
                break
            parts.append(batch.returns[-needed:])
            needed -= len(batch)
        if needed > 0 and self._records:
            parts.append(np.array([r["return"] for r in self._records[-needed:]], dtype=float))
        return np.concatenate(parts[::-1]) if parts else np.zeros(0)


class TrainResult:
    """What `Agent.train` returns.

    `episodes` holds one dict per finished training episode with at least the keys
    `episode` (0-based count), `return`, `length`, `env_steps` (cumulative env steps of
    this call when it ended) and `wall_time` (seconds since training began); `accuracy` is
    added on envs that grade answers. `stopped_early` is true when a subscriber stopped
    training before the budget was spent. Episodes an agent reported as a batch (torch batched
    envs) become dicts when `episodes` is first read.
    """

    def __init__(
        self,
        episodes: list[dict[str, Any]] | None = None,
        env_steps: int = 0,
        wall_time: float = 0.0,
        stopped_early: bool = False,
    ):
        self.log = EpisodeLog(episodes)
        self.env_steps = env_steps
        self.wall_time = wall_time
        self.stopped_early = stopped_early

    @property
    def episodes(self) -> list[dict[str, Any]]:
        return self.log.records()

    @episodes.setter
    def episodes(self, value: list[dict[str, Any]]) -> None:
        self.log = EpisodeLog(value)

    def __repr__(self) -> str:
        return (
            f"TrainResult(episodes=<{len(self.log)} episodes>, env_steps={self.env_steps}, "
            f"wall_time={self.wall_time:.3f}, stopped_early={self.stopped_early})"
        )


@dataclass(frozen=True)
class Budget:
    """How long one `train` call runs (see the module's budget rule)."""

    episodes: int | None = None
    steps: int | None = None

    @classmethod
    def resolve(cls, episodes: int | None, steps: int | None, default: Mapping[str, int]) -> Budget:
        """The budget for `train(episodes=, steps=)`; the class default when both are None."""
        for label, value in (("episodes", episodes), ("steps", steps)):
            if value is None:
                continue
            whole = isinstance(value, (int, np.integer)) or (
                isinstance(value, float) and value.is_integer()
            )
            if isinstance(value, bool) or not whole or value < 0:
                raise BudgetError(f"{label}={value!r} must be a whole number >= 0")
        if episodes is None and steps is None:
            episodes, steps = default.get("episodes"), default.get("steps")
        return cls(
            None if episodes is None else int(episodes), None if steps is None else int(steps)
        )

    def spent(self, episodes_done: int, steps_done: int) -> bool:
        """Whether `episodes_done` finished episodes or `steps_done` env steps use it up."""
        return (self.episodes is not None and episodes_done >= self.episodes) or (
            self.steps is not None and steps_done >= self.steps
        )

    def as_dict(self) -> dict[str, int]:
        """`{"episodes": N}` and/or `{"steps": N}`."""
        out = {}
        if self.episodes is not None:
            out["episodes"] = self.episodes
        if self.steps is not None:
            out["steps"] = self.steps
        return out


class TrainingRun:
    """One `train` call as `_learn` sees it: the budget, the event stream, the counters.

    `env_steps` is counted by the agent (`run.env_steps += n` after each env step);
    `episode_end` records a finished episode and tells the subscribers; `done` turns
    true when the budget is spent or a subscriber stopped training.
    """

    def __init__(self, env: gym.Env, budget: Budget, stream: EventStream):
        self.budget = budget
        self.stream = stream
        self.answers = graded_answers(env)
        self.result = TrainResult()
        self.started = time.perf_counter()
        self.env_steps = 0

    @property
    def episodes_done(self) -> int:
        return len(self.result.log)

    def remaining(self, steps_done: int, floor: float = 0.0) -> float:
        """The fraction of the budget left, max(1 − spent, `floor`): the factor of a linear
        schedule (SB3's `lin_`), by env steps or episodes, whichever is further on."""
        spent = [0.0]
        if self.budget.steps:
            spent.append(steps_done / self.budget.steps)
        if self.budget.episodes:
            spent.append(self.episodes_done / self.budget.episodes)
        return max(1.0 - max(spent), floor)

    @property
    def budget_spent(self) -> bool:
        return self.budget.spent(len(self.result.log), self.env_steps)

    @property
    def done(self) -> bool:
        """Budget spent, or a subscriber asked to stop."""
        return self.stream.stopped or self.budget_spent

    def wants(self, kind: type) -> bool:
        """Whether a subscriber listens to events of type `kind` (build them only then)."""
        return self.stream.wants(kind)

    def emit(self, event: Any) -> bool:
        """Send an event; `False` once a subscriber has stopped training."""
        return self.stream.emit(event)

    def episode_end(self, ret: float, length: int, number: int | None = None) -> None:
        """Record a finished episode (dropped once the episode budget is full) and emit it."""
        log = self.result.log
        if self.budget.episodes is not None and len(log) >= self.budget.episodes:
            return
        record: dict[str, Any] = {
            "episode": len(log) if number is None else int(number),
            "return": float(ret),
            "length": int(length),
            "env_steps": int(self.env_steps),
            "wall_time": time.perf_counter() - self.started,
        }
        if self.answers:
            record["accuracy"] = record["return"] / self.answers
        log.append(record)
        if self.stream.wants(EpisodeEnd):
            self.stream.emit(EpisodeEnd(record))
        if self.stream.wants(EpisodeBatch):
            self.stream.emit(EpisodeBatch.of_record(record))

    def episode_batch(self, returns: Any, lengths: Any, env_steps: Any) -> None:
        """Record the episodes that ended since the last report, as arrays, and emit them.

        `returns`, `lengths` and `env_steps` (the run's step count when each ended) are
        1-d, one row per episode in the order they ended. Rows past the episode budget are
        dropped, as `episode_end()` drops them. Subscribers of
        `EpisodeBatch` get one event; an
        `EpisodeEnd` per episode is built only when some
        subscriber wants those.
        """
        log = self.result.log
        returns = np.asarray(returns, dtype=np.float64).reshape(-1)
        lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        env_steps = np.asarray(env_steps, dtype=np.int64).reshape(-1)
        if self.budget.episodes is not None:
            room = max(self.budget.episodes - len(log), 0)
            returns, lengths, env_steps = returns[:room], lengths[:room], env_steps[:room]
        if not returns.size:
            return
        first = len(log)
        batch = EpisodeBatch(
            np.arange(first, first + returns.size, dtype=np.int64),
            returns,
            lengths,
            env_steps,
            time.perf_counter() - self.started,
            returns / self.answers if self.answers else None,
        )
        log.add_batch(batch)
        if self.stream.wants(EpisodeBatch):
            self.stream.emit(batch)
        if self.stream.wants(EpisodeEnd):
            for record in batch.records():
                self.stream.emit(EpisodeEnd(record))

    def recent_return(self, count: int = 100) -> float | None:
        """Mean return of the last `count` finished episodes (`None` before the first)."""
        returns = self.result.log.returns(count)
        return float(returns.mean()) if returns.size else None

    def finish(self) -> TrainResult:
        result = self.result
        result.env_steps = int(self.env_steps)
        result.wall_time = time.perf_counter() - self.started
        result.stopped_early = self.stream.stopped and not self.budget_spent
        return result


class Agent:
    """Base class of every agent.

    Arguments:
        env: the env the agent will act in; its spaces fix the agent's shape.
        seed: seeds every random draw the agent makes (`self.rng`, torch for deep agents).
        **hyperparameters: names from `cls.params`; unknown names and out-of-range values
            raise `HyperparameterError`.

    Subclasses set `name` and `params` (each hyperparameter's default, range and doc) and
    implement `_learn`, `act`, `_save_state` and `_load_state`.
    Recurrent agents also override `reset`, which callers invoke at each episode start.
    """

    name: ClassVar[str] = ""
    #: every hyperparameter with its default, accepted values and one-line doc
    params: ClassVar[dict[str, Param]] = {}
    #: `{name: default}`, derived from `params`
    defaults: ClassVar[dict[str, Any]] = {}
    #: training budget when the user gives neither episodes nor steps
    default_budget: ClassVar[dict[str, int]] = {"episodes": 500}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "params" in cls.__dict__:
            cls.defaults = {key: param.default for key, param in cls.params.items()}
        elif "defaults" in cls.__dict__:  # a user's agent written before params: any values
            cls.params = {key: Param(value, "", kind="any") for key, value in cls.defaults.items()}

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        self.hp: dict[str, Any] = self.validate_hyperparameters(hyperparameters)
        self.observation_space: gym.Space = env.observation_space
        self.action_space: gym.Space = env.action_space
        self.env_id, self.env_kwargs = ckpt.env_identity(env)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        #: set by runners before `train`: deep agents write TensorBoard scalars and their
        #: last good checkpoint under it; `None` means no logging to disk.
        self.log_dir: Path | None = None

    # ----- hyperparameters ------------------------------------------------------------------

    @classmethod
    def validate_hyperparameters(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults merged with `given`, each checked against `params`; then the agent's own
        rules between values (`check_hyperparameters`)."""
        merged = validate(cls.params, given, cls.name)
        cls.check_hyperparameters(merged)
        return merged

    @classmethod
    def check_hyperparameters(cls, hp: dict[str, Any]) -> None:
        """Rules that involve several values (override); single values are checked by params."""

    # ----- the training contract ------------------------------------------------------------

    def train(
        self,
        env: gym.Env,
        episodes: int | None = None,
        steps: int | None = None,
        *,
        callbacks: TrainingCallback | Iterable[TrainingCallback] | None = None,
        callback: EpisodeCallback | None = None,
    ) -> TrainResult:
        """Learn on `env` for `episodes` episodes and/or `steps` env steps.

        `callbacks` subscribe to the event stream
        ([`lecture_rl.agents.events`][lecture_rl.agents.events]); `callback(record)` is called with
        each finished episode's record. Either stops training by returning `False`
        (`TrainResult.stopped_early`).
        """
        budget = Budget.resolve(episodes, steps, self.default_budget)
        self.check_train_env(env)
        stream = EventStream([*self.standing_callbacks(), *as_callbacks(callbacks, callback)])
        run = TrainingRun(env, budget, stream)
        stream.start(self, budget.as_dict())
        try:
            self._learn(env, run)
        finally:
            run.finish()
            stream.end(run.result)
        return run.result

    def _learn(self, env: gym.Env, run: TrainingRun) -> None:
        """The algorithm's part of training: step `env` and learn until `run.done`."""
        raise NotImplementedError

    def standing_callbacks(self) -> list[TrainingCallback]:
        """Subscribers every training run of this agent gets (hooks, logging, guards)."""
        return []

    def check_train_env(self, env: gym.Env) -> None:
        """Raise when `env` does not fit the agent (default: the spaces must be the same)."""

    def act(self, obs: Any, info: Mapping[str, Any] | None = None, *, greedy: bool = True) -> Any:
        """The action for `obs`: greedy by default, exploring when `greedy=False`.

        `info["action_mask"]`, when given, restricts the choice to available actions.
        """
        raise NotImplementedError

    def reset(self) -> None:
        """Start of a new episode: recurrent agents clear their memory here."""

    # ----- evaluation -----------------------------------------------------------------------

    def evaluate(
        self,
        env: gym.Env,
        episodes: int = 100,
        *,
        seed: int | None = None,
        max_episode_steps: int = 10_000,
    ) -> dict[str, Any]:
        """Greedy evaluation: returns `return_mean`, `return_std`, `ci95`, `n`,
        `episodes`, `length_mean` and, on envs that grade answers, `accuracy`.

        Episodes run from seeds `seed, seed+1, ...` and are cut at `max_episode_steps` so a
        looping greedy policy cannot hang. How the episodes are played is
        `_greedy_episodes` (deep agents play many at once on a vector env).
        """
        returns, lengths = self._greedy_episodes(env, episodes, seed, max_episode_steps)
        return evaluation_summary(returns, lengths, graded_answers(env))

    def _greedy_episodes(
        self, env: gym.Env, episodes: int, seed: int | None, max_episode_steps: int
    ) -> tuple[list[float], list[int]]:
        """Play `episodes` greedy episodes one after another; their returns and lengths."""
        returns, lengths = [], []
        for i in range(episodes):
            obs, info = env.reset(seed=None if seed is None else seed + i)
            self.reset()
            total, length, done = 0.0, 0, False
            while not done and length < max_episode_steps:
                action = self.act(obs, info, greedy=True)
                obs, reward, terminated, truncated, info = env.step(action)
                total += float(reward)
                length += 1
                done = terminated or truncated
            returns.append(total)
            lengths.append(length)
        return returns, lengths

    # ----- checkpoints ----------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """The JSON metadata written to `agent.json`."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            lecture_rl_version = version("lecture-rl")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            lecture_rl_version = "unknown"
        return {
            "format": ckpt.CHECKPOINT_FORMAT,
            "agent": self.name,
            "hyperparameters": self.hp,
            "seed": self.seed,
            "env_id": self.env_id,
            "env_kwargs": self.env_kwargs,
            "observation_space": ckpt.space_to_json(self.observation_space),
            "action_space": ckpt.space_to_json(self.action_space),
            "lecture_rl_version": lecture_rl_version,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def save(self, path: str | Path, *, training_state: bool = False) -> Path:
        """Write a checkpoint folder at `path` (created if needed) and return it.

        With `training_state=True` it also holds what training needs to go on exactly where
        it stopped (optimizer state, random generators, counters, DQN's replay memory), so
        `lecture_rl.agents.load(path)` gives an agent whose next `train` continues the run.

        The save is all or nothing (`checkpoint_io.staged_folder`): a full disk or a crash
        during it leaves the checkpoint that was in `path` as it was.
        """
        folder = Path(path)
        with ckpt.staged_folder(folder) as staging:
            extra = self._save_state(staging) or {}
            if training_state:
                extra["training_state"] = self._save_training_state(staging)
            files = {ckpt.FILES_KEY: ckpt.file_manifest(staging)}
            ckpt.write_metadata(staging, {**self.metadata(), **extra, **files})
        return folder

    def _save_training_state(self, folder: Path) -> dict[str, Any]:
        """Write what resuming training needs beyond the learned state; returns JSON metadata."""
        return {"rng": self.rng.bit_generator.state}

    def _load_training_state(self, folder: Path, state: dict[str, Any]) -> None:
        """Restore what `_save_training_state` wrote."""
        if isinstance(state.get("rng"), dict):
            try:
                self.rng.bit_generator.state = state["rng"]
            except (TypeError, ValueError, KeyError) as exc:
                raise CheckpointError(f"checkpoint {folder}: bad generator state: {exc}") from exc

    def _save_state(self, folder: Path) -> dict[str, Any] | None:
        """Write the learned state (arrays, weights) into `folder`; may return extra metadata."""
        raise NotImplementedError

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        """Restore what `_save_state` wrote."""
        raise NotImplementedError

    @classmethod
    def from_checkpoint(cls, folder: Path, meta: dict[str, Any], env: gym.Env) -> Agent:
        """Rebuild the agent for `env` from a checkpoint's metadata, then load its state.

        The spaces were checked once by [`lecture_rl.agents.load`][lecture_rl.agents.load] before
        this is called.
        """
        agent = cls(env, seed=meta.get("seed"), **meta.get("hyperparameters", {}))
        agent.env_id = meta.get("env_id")
        agent.env_kwargs = meta.get("env_kwargs", {})
        agent._load_state(folder, meta)
        if isinstance(meta.get("training_state"), dict):
            agent._load_training_state(folder, meta["training_state"])
        return agent
