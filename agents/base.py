"""The agent protocol every lecture-rl agent follows.

Description:
    An agent is built with ``lecture_rl.agents.make(name, env, **hyperparameters)``. It learns
    with ``train(env, episodes=None, steps=None)``, chooses actions with ``act(obs, info)``,
    writes a checkpoint folder with ``save(path)`` and comes back with
    ``lecture_rl.agents.load(path)``. Subclasses fill in ``train``, ``act`` and the two
    checkpoint hooks ``_save_state`` / ``_load_state``; this base owns hyperparameter checking,
    seeding, the checkpoint metadata and greedy evaluation.

Checkpoint folder:
    ``agent.json``  JSON metadata: agent name, hyperparameters, seed, env id and keywords,
                    observation and action spaces, lecture-rl version.
    anything else   written by the subclass (``arrays.npz`` for tabular agents,
                    ``weights.safetensors`` for deep ones). Nothing is ever unpickled.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

CHECKPOINT_FORMAT = 1
METADATA_FILE = "agent.json"


class HyperparameterError(ValueError):
    """A hyperparameter name is unknown or its value is out of range."""


class CheckpointError(ValueError):
    """A checkpoint folder is missing, corrupt, or does not fit the env it is used on."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the update and the last good checkpoint."""


EpisodeCallback = Callable[[dict[str, Any]], None]


@dataclass
class TrainResult:
    """What ``Agent.train`` returns.

    ``episodes`` holds one dict per finished training episode with at least the keys
    ``episode`` (0-based count), ``return``, ``length``, ``env_steps`` (cumulative env steps
    when it ended) and ``wall_time`` (seconds since training began); ``accuracy`` is added on
    envs that grade answers (see :func:`answers_per_episode`).
    """

    episodes: list[dict[str, Any]] = field(default_factory=list)
    env_steps: int = 0
    wall_time: float = 0.0
    stopped_early: bool = False


# --------------------------------------------------------------------------------------------
# Small helpers shared by agents and runners
# --------------------------------------------------------------------------------------------


def answers_per_episode(env: gym.Env) -> int | None:
    """Number of graded answers per episode on Parity/Copy-like envs, else ``None``.

    Such envs give reward 1 per correct answer, so ``accuracy = return / answers_per_episode``.
    """
    value = getattr(getattr(env, "unwrapped", env), "answers_per_episode", None)
    return int(value) if value else None


def episode_record(
    episode: int,
    ret: float,
    length: int,
    env_steps: int,
    started: float,
    answers: int | None = None,
) -> dict[str, Any]:
    """One finished training episode as :class:`TrainResult` records it; ``started`` is the
    ``time.perf_counter()`` of the start of training, ``answers`` the env's graded answers per
    episode (adds ``accuracy = return / answers``)."""
    record: dict[str, Any] = {
        "episode": int(episode),
        "return": float(ret),
        "length": int(length),
        "env_steps": int(env_steps),
        "wall_time": time.perf_counter() - started,
    }
    if answers:
        record["accuracy"] = record["return"] / answers
    return record


def space_to_json(space: gym.Space) -> dict[str, Any]:
    """A JSON description of a space, precise enough to check that two spaces fit."""
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.Box):
        low, high = np.asarray(space.low), np.asarray(space.high)
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": str(space.dtype),
            "low": float(low.min()) if low.size else 0.0,
            "high": float(high.max()) if high.size else 0.0,
        }
    if isinstance(space, gym.spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": np.asarray(space.nvec).tolist()}
    if isinstance(space, gym.spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    return {"type": type(space).__name__, "repr": repr(space)}


def env_identity(env: gym.Env) -> tuple[str | None, dict[str, Any]]:
    """The registered id and JSON-serialisable keywords an env was made with (no render mode)."""
    spec = getattr(env, "spec", None) or getattr(getattr(env, "unwrapped", env), "spec", None)
    if spec is None:
        return None, {}
    kwargs = {}
    for key, value in (spec.kwargs or {}).items():
        if key == "render_mode":
            continue
        try:
            json.dumps(value)
        except TypeError:
            continue
        kwargs[key] = value
    return spec.id, kwargs


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """``np.savez`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load arrays saved by :func:`atomic_save_npz` without ever unpickling."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError as exc:
        raise CheckpointError(f"checkpoint file {path} is missing") from exc
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise CheckpointError(f"checkpoint file {path} is corrupt: {exc}") from exc


def mean_ci95(values: list[float] | np.ndarray) -> tuple[float, float, tuple[float, float]]:
    """Mean, sample standard deviation and the Student-t 95% confidence interval of the mean."""
    x = np.asarray(values, dtype=float)
    n = x.size
    if n == 0:
        return math.nan, math.nan, (math.nan, math.nan)
    mean = float(x.mean())
    if n == 1:
        return mean, 0.0, (mean, mean)
    from scipy import stats

    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n))
    return mean, std, (mean - half, mean + half)


# --------------------------------------------------------------------------------------------
# The base class
# --------------------------------------------------------------------------------------------


class Agent:
    """Base class of every agent.

    Arguments:
        env: the env the agent will act in; its spaces fix the agent's shape.
        seed: seeds every random draw the agent makes (``self.rng``, torch for deep agents).
        **hyperparameters: names from ``cls.defaults``; unknown names and out-of-range values
            raise :class:`HyperparameterError`.

    Subclasses set ``name`` and ``defaults`` and override :meth:`check_hyperparameters`,
    :meth:`train`, :meth:`act`, :meth:`_save_state` and :meth:`_load_state`. Recurrent agents
    also override :meth:`reset`, which callers invoke at the start of every episode.
    """

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    #: training budget the runner uses when the user gives neither --episodes nor --steps
    default_budget: ClassVar[dict[str, int]] = {"episodes": 500}

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        self.hp: dict[str, Any] = self.validate_hyperparameters(hyperparameters)
        self.observation_space: gym.Space = env.observation_space
        self.action_space: gym.Space = env.action_space
        self.env_id, self.env_kwargs = env_identity(env)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        #: set by runners before ``train``: deep agents write TensorBoard scalars and their
        #: last good checkpoint under it; ``None`` means no logging to disk.
        self.log_dir: Path | None = None

    # ----- hyperparameters ------------------------------------------------------------------

    @classmethod
    def validate_hyperparameters(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults merged with ``given``; unknown names raise with a did-you-mean hint."""
        unknown = [key for key in given if key not in cls.defaults]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, list(cls.defaults), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            valid = ", ".join(sorted(cls.defaults)) or "none"
            raise HyperparameterError(
                f"unknown hyperparameter '{key}' for agent '{cls.name}'{hint}; valid names: {valid}"
            )
        merged = {**cls.defaults, **given}
        cls.check_hyperparameters(merged)
        return merged

    @classmethod
    def check_hyperparameters(cls, hp: dict[str, Any]) -> None:
        """Raise :class:`HyperparameterError` for out-of-range values (override to add rules)."""

    # ----- the protocol ---------------------------------------------------------------------

    def train(
        self,
        env: gym.Env,
        episodes: int | None = None,
        steps: int | None = None,
        *,
        callback: EpisodeCallback | None = None,
    ) -> TrainResult:
        """Learn on ``env`` for ``episodes`` episodes or ``steps`` env steps.

        ``callback(record)`` is called with each finished episode's record (see TrainResult);
        returning ``False`` stops training early (as SB3's callbacks do), anything else goes on.
        """
        raise NotImplementedError

    def act(self, obs: Any, info: Mapping[str, Any] | None = None, *, greedy: bool = True) -> Any:
        """The action for ``obs``: greedy by default, exploring when ``greedy=False``.

        ``info["action_mask"]``, when given, restricts the choice to available actions.
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
        """Greedy evaluation: returns ``return_mean``, ``return_std``, ``ci95``, ``n``,
        ``episodes``, ``length_mean`` and, on envs that grade answers, ``accuracy``.

        Episodes run from seeds ``seed, seed+1, ...`` and are cut at ``max_episode_steps`` so a
        looping greedy policy cannot hang.
        """
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
        mean, std, ci = mean_ci95(returns)
        result: dict[str, Any] = {
            "return_mean": mean,
            "return_std": std,
            "ci95": [ci[0], ci[1]],
            "n": episodes,
            "episodes": episodes,
            "length_mean": float(np.mean(lengths)) if lengths else math.nan,
        }
        answers = answers_per_episode(env)
        if answers:
            result["accuracy"] = float(np.sum(returns) / (answers * max(episodes, 1)))
        return result

    # ----- checkpoints ----------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """The JSON metadata written to ``agent.json``."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            lecture_rl_version = version("lecture-rl")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            lecture_rl_version = "unknown"
        return {
            "format": CHECKPOINT_FORMAT,
            "agent": self.name,
            "hyperparameters": self.hp,
            "seed": self.seed,
            "env_id": self.env_id,
            "env_kwargs": self.env_kwargs,
            "observation_space": space_to_json(self.observation_space),
            "action_space": space_to_json(self.action_space),
            "lecture_rl_version": lecture_rl_version,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write a checkpoint folder at ``path`` (created if needed) and return it."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        extra = self._save_state(folder) or {}
        meta = {**self.metadata(), **extra}
        atomic_write_text(folder / METADATA_FILE, json.dumps(meta, indent=2, default=_json_default))
        return folder

    def _save_state(self, folder: Path) -> dict[str, Any] | None:
        """Write the learned state (arrays, weights) into ``folder``; may return extra metadata."""
        raise NotImplementedError

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        """Restore what :meth:`_save_state` wrote."""
        raise NotImplementedError

    @classmethod
    def from_checkpoint(cls, folder: Path, meta: dict[str, Any], env: gym.Env) -> Agent:
        """Rebuild the agent for ``env`` from a checkpoint's metadata, then load its state."""
        agent = cls(env, seed=meta.get("seed"), **meta.get("hyperparameters", {}))
        agent.env_id = meta.get("env_id")
        agent.env_kwargs = meta.get("env_kwargs", {})
        agent._load_state(folder, meta)
        return agent

    def check_env_fits(self, env: gym.Env) -> None:
        """Raise :class:`CheckpointError` when ``env``'s spaces differ from the agent's."""
        check_spaces_fit(
            self.env_id,
            space_to_json(self.observation_space),
            space_to_json(self.action_space),
            env,
        )


def check_spaces_fit(
    trained_on: str | None, observation: dict[str, Any], action: dict[str, Any], env: gym.Env
) -> None:
    """Raise :class:`CheckpointError` when ``env``'s spaces differ from the recorded ones."""
    for label, mine, theirs in (
        ("observation", observation, env.observation_space),
        ("action", action, env.action_space),
    ):
        if mine != space_to_json(theirs):
            raise CheckpointError(
                f"the agent was trained on {trained_on or 'another env'} with {label} space "
                f"{_describe(mine)}, but this env has {theirs}; evaluate on an env with the "
                "same spaces"
            )


def _describe(space_json: dict[str, Any]) -> str:
    kind = space_json.get("type", "?")
    if kind == "Discrete":
        return f"Discrete({space_json['n']})"
    if kind == "Box":
        return f"Box(shape={tuple(space_json['shape'])}, dtype={space_json['dtype']})"
    return kind


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Read and sanity-check ``agent.json`` of a checkpoint folder."""
    folder = Path(path)
    meta_path = folder / METADATA_FILE
    if not folder.exists():
        raise CheckpointError(f"checkpoint {folder} does not exist")
    if not meta_path.is_file():
        raise CheckpointError(
            f"checkpoint {folder} has no {METADATA_FILE}; is it a checkpoint folder?"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"checkpoint {meta_path} is corrupt: {exc}") from exc
    if not isinstance(meta, dict) or "agent" not in meta:
        raise CheckpointError(f"checkpoint {meta_path} is corrupt: no 'agent' entry")
    return meta


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
