"""The shared base of the tabular agents: a Q table, ε-greedy acting and the episode loop.

Description:
    Tabular agents keep one number per state-action pair, ``q[s, a]``, and improve it one
    transition at a time with a temporal-difference update (notes 000 §7.e)::

        Q(s_t, a_t) ← Q(s_t, a_t) + α δ_t,   δ_t = target_t − Q(s_t, a_t)

    The algorithms differ only in their ``target`` (Q-learning: ``r + γ max_a Q(s', a)``, SARSA:
    ``r + γ Q(s', a')``, ...), so each algorithm file holds just its :meth:`TabularAgent._update`.
    This base owns what they share:

    * ε-greedy acting with optional decay of ε after every episode; ties among the greedy
      actions are broken at random by the agent's seeded generator (``self.rng``), so an
      all-zero table does not always pick action 0.
    * action masks: when the env gives ``info["action_mask"]`` (our GridWorld, Taxi), unavailable
      actions are never taken and never counted in the bootstrap ``max``.
    * a terminal next state bootstraps with 0; a truncated step (time limit) still bootstraps.
    * the episode loop of :meth:`train` with ``episodes`` and/or ``steps`` budgets.
    * a per-update hook (:meth:`add_update_hook`) that receives an :class:`Update` after each
      update, so a viewer or a lesson can show every number as it is computed.
    * checkpoints: ``arrays.npz`` (no pickle) beside ``agent.json``.

Spaces:
    Observations and actions must be ``gymnasium.spaces.Discrete``. Anything else raises
    :class:`UnsupportedSpaceError` (a ``ValueError``) with a hint, e.g. our GridWorld's
    ``obs_mode="index"``.

Arguments (hyperparameters shared by the Q-table agents):
    alpha: step size α ∈ (0, 1].
    gamma: discount γ ∈ [0, 1].
    epsilon: exploration rate ε ∈ [0, 1] of the ε-greedy behaviour policy.
    epsilon_decay: ε ← max(epsilon_min, ε · epsilon_decay) after every episode; 1 = constant.
    epsilon_min: the floor of the decayed ε.
    alpha_power: 0 keeps α constant; ω ∈ (0, 1] uses α / n(s, a)^ω, where n counts the
        updates of that pair (ω ∈ (0.5, 1] satisfies the Robbins-Monro conditions).
    initial_q: the value every table entry starts at (optimistic values explore more).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from lecture_rl.agents.base import (
    Agent,
    CheckpointError,
    EpisodeCallback,
    HyperparameterError,
    TrainResult,
    answers_per_episode,
    atomic_save_npz,
    episode_record,
    load_npz,
)

ARRAYS_FILE = "arrays.npz"


class UnsupportedSpaceError(ValueError):
    """The env's spaces (or model) do not fit the agent, e.g. Box observations for a Q table."""


@dataclass(frozen=True)
class Update:
    """One tabular update, as handed to update hooks.

    ``table`` names what was updated (``"q"``, ``"v"``, ``"q1"``/``"q2"`` for double Q);
    ``a`` is ``None`` for state-value (TD(0)) updates, ``a_next`` is ``None`` where no next
    action was chosen. ``target`` is the bootstrap target, ``td_error`` is δ = target − old
    value and ``new_value = old_value + alpha · td_error``.
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


UpdateHook = Callable[[Update], None]


def discrete_size(space: gym.Space, what: str, env_name: str) -> tuple[int, int]:
    """``(n, start)`` of a Discrete space; any other space raises :class:`UnsupportedSpaceError`."""
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n), int(space.start)
    hint = " (for LectureRL/GridWorld-v0 pass obs_mode=index)" if what == "observations" else ""
    raise UnsupportedSpaceError(
        f"tabular agents need Discrete {what}, but {env_name} has {space}; use an env with "
        f"Discrete {what}{hint}, or a deep agent such as dqn or ppo"
    )


def env_model(env: gym.Env) -> Any:
    """The transition model ``env.unwrapped.P[s][a] = [(prob, next_s, reward, terminated)]``."""
    model = getattr(getattr(env, "unwrapped", env), "P", None)
    if model is None:
        name = env.spec.id if getattr(env, "spec", None) else type(env).__name__
        raise UnsupportedSpaceError(
            f"{name} has no transition model env.unwrapped.P, which dynamic programming needs; "
            "use an env that has one (LectureRL/GridWorld-v0, FrozenLake-v1, CliffWalking-v1, "
            "Taxi-v4) or a learning agent such as q_learning"
        )
    return model


def availability(env: gym.Env, n_states: int, n_actions: int) -> np.ndarray | None:
    """``(nS, nA)`` booleans from ``env.unwrapped.action_mask(s)`` when the env has it, else None.

    Our GridWorld and Gymnasium's Taxi expose ``action_mask(state)``; other envs allow every
    action everywhere.
    """
    mask_of = getattr(getattr(env, "unwrapped", env), "action_mask", None)
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


def _number(hp: Mapping[str, Any], key: str, agent: str) -> float:
    value = hp[key]
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise HyperparameterError(
            f"{agent}: {key}={value!r} is not a finite number; give a number such as "
            f"{key}={_example(key)}"
        )
    return float(value)


def _example(key: str) -> str:
    return {"alpha": "0.5", "gamma": "0.9", "epsilon": "0.1", "theta": "1e-8"}.get(key, "1")


def check_range(
    hp: Mapping[str, Any],
    key: str,
    agent: str,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise :class:`HyperparameterError` unless ``hp[key]`` lies in the interval given."""
    value = _number(hp, key, agent)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        high_text = "∞" if math.isinf(high) else f"{high:g}"
        raise HyperparameterError(
            f"{agent}: {key}={value:g} is out of range; {key} must be in "
            f"{left}{low:g}, {high_text}{right}"
        )


def check_int(hp: Mapping[str, Any], key: str, agent: str, low: int) -> None:
    """Raise :class:`HyperparameterError` unless ``hp[key]`` is an integer ``>= low``."""
    value = hp[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise HyperparameterError(
            f"{agent}: {key}={value!r} is out of range; {key} must be an integer >= {low}"
        )


class TabularAgent(Agent):
    """Base of the Q-table agents: ε-greedy acting, masks, the episode loop, hooks, checkpoints.

    Subclasses implement :meth:`_update` (one TD update from one transition). SARSA-like agents
    set ``on_policy = True`` so the next action is chosen *before* the update and used in it.
    """

    defaults: ClassVar[dict[str, Any]] = {
        "alpha": 0.1,
        "gamma": 0.99,
        "epsilon": 0.1,
        "epsilon_decay": 1.0,
        "epsilon_min": 0.0,
        "alpha_power": 0.0,
        "alpha_delay": 1.0,
        "initial_q": 0.0,
    }
    #: the next action is chosen before the update (SARSA) rather than after (Q-learning)
    on_policy: ClassVar[bool] = False
    #: arrays written to / read from ``arrays.npz``
    table_names: ClassVar[tuple[str, ...]] = ("q",)
    #: episodes longer than this are cut (treated as truncated) while training; None = no cap
    max_episode_steps: ClassVar[int | None] = None

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        super().__init__(env, seed=seed, **hyperparameters)
        env_name = self.env_id or type(getattr(env, "unwrapped", env)).__name__
        self.nS, self._obs_start = discrete_size(env.observation_space, "observations", env_name)
        self.nA, self._act_start = discrete_size(env.action_space, "actions", env_name)
        self.alpha = float(self.hp.get("alpha", 0.0))
        self.gamma = float(self.hp.get("gamma", 1.0))
        #: the current exploration rate (decays after each episode when epsilon_decay < 1)
        self.epsilon = float(self.hp.get("epsilon", 0.0))
        self.q = np.full((self.nS, self.nA), float(self.hp.get("initial_q", 0.0)))
        #: number of updates of each pair, used when alpha_power > 0
        self.visits = np.zeros((self.nS, self.nA), dtype=np.int64)
        self.episodes_done = 0
        self.steps_done = 0
        self._hooks: list[UpdateHook] = []
        self._env_seeded = False
        self._all_actions = list(range(self.nA))
        self._avail_cache: dict[bytes, list[int]] = {}
        self._episode_step = 0
        #: ``(nS, nA)`` booleans from ``env.unwrapped.action_mask(s)`` where the env has it
        self.available_actions = availability(env, self.nS, self.nA)
        self._alpha_power = float(self.hp.get("alpha_power", 0.0))
        self._alpha_delay = float(self.hp.get("alpha_delay", 1.0))

    # ----- hyperparameters ------------------------------------------------------------------

    @classmethod
    def check_hyperparameters(cls, hp: dict[str, Any]) -> None:
        name = cls.name
        check_range(hp, "alpha", name, 0.0, 1.0, low_open=True)
        check_range(hp, "gamma", name, 0.0, 1.0)
        if "epsilon" in hp:
            check_range(hp, "epsilon", name, 0.0, 1.0)
            check_range(hp, "epsilon_decay", name, 0.0, 1.0, low_open=True)
            check_range(hp, "epsilon_min", name, 0.0, 1.0)
        if "alpha_power" in hp:
            check_range(hp, "alpha_power", name, 0.0, 1.0)
            check_range(hp, "alpha_delay", name, 1.0, math.inf)
        if "initial_q" in hp:
            _number(hp, "initial_q", name)

    # ----- hooks ----------------------------------------------------------------------------

    def add_update_hook(self, hook: UpdateHook) -> UpdateHook:
        """Call ``hook(update)`` with an :class:`Update` after every update; returns ``hook``."""
        self._hooks.append(hook)
        return hook

    def remove_update_hook(self, hook: UpdateHook) -> None:
        """Stop calling ``hook``."""
        self._hooks.remove(hook)

    def _emit(self, **fields: Any) -> None:
        update = Update(
            alpha=self.alpha,
            gamma=self.gamma,
            episode=self.episodes_done,
            step=self._episode_step,
            **fields,
        )
        for hook in list(self._hooks):
            hook(update)

    # ----- acting ---------------------------------------------------------------------------

    def available(self, mask: Any) -> list[int]:
        """The available action indices for an ``info["action_mask"]`` (all when ``None``)."""
        if mask is None:
            return self._all_actions
        mask = np.asarray(mask)
        key = mask.tobytes()
        actions = self._avail_cache.get(key)
        if actions is None:
            if mask.shape != (self.nA,):
                raise ValueError(
                    f"info['action_mask'] has shape {mask.shape}, but the env has {self.nA} "
                    "actions; the mask needs one entry per action"
                )
            actions = [int(i) for i in np.flatnonzero(mask)]
            if not actions:
                actions = self._all_actions  # nothing available: let the env decide
            self._avail_cache[key] = actions
        return actions

    def greedy_action(self, s: int, actions: list[int] | None = None) -> int:
        """argmax_a Q(s, a) over ``actions`` (default: all), ties broken at random by self.rng."""
        row = self.q[s].tolist()
        if actions is None or len(actions) == self.nA:
            best = max(row)
            ties = [a for a, value in enumerate(row) if value == best]
        else:
            best = max(row[a] for a in actions)
            ties = [a for a in actions if row[a] == best]
        if len(ties) == 1:
            return ties[0]
        return ties[int(self.rng.random() * len(ties))]

    def behaviour_action(self, s: int, actions: list[int]) -> int:
        """ε-greedy: a random available action with probability ε, else the greedy one."""
        if self.epsilon > 0.0 and self.rng.random() < self.epsilon:
            return actions[int(self.rng.random() * len(actions))]
        return self.greedy_action(s, actions)

    def act(self, obs: Any, info: Mapping[str, Any] | None = None, *, greedy: bool = True) -> int:
        s = int(obs) - self._obs_start
        actions = self.available(info.get("action_mask") if info else None)
        a = self.greedy_action(s, actions) if greedy else self.behaviour_action(s, actions)
        return a + self._act_start

    # ----- values ---------------------------------------------------------------------------

    @property
    def v(self) -> np.ndarray:
        """State values of the greedy policy, ``V(s) = max_a Q(s, a)`` over available actions."""
        q = self.q
        if self.available_actions is None:
            return q.max(axis=1)
        v = np.where(self.available_actions, q, -np.inf).max(axis=1)
        return np.where(np.isfinite(v), v, q.max(axis=1))

    def greedy_actions(self, s: int, actions: list[int] | None = None) -> list[int]:
        """Every action that attains ``max_a Q(s, a)`` (the greedy set shown as arrows)."""
        row = self.q[s]
        candidates = self._all_actions if actions is None else actions
        best = max(row[a] for a in candidates)
        return [a for a in candidates if row[a] == best]

    @property
    def visits(self) -> np.ndarray:
        """How many updates each table entry has had (kept as lists for speed)."""
        return np.array(self._counts, dtype=np.int64)

    @visits.setter
    def visits(self, value: np.ndarray) -> None:
        self._counts = np.asarray(value, dtype=np.int64).tolist()

    def max_q(self, s: int, actions: list[int]) -> float:
        """``max_a Q(s, a)`` over the available ``actions`` (the bootstrap of Q-learning)."""
        row = self.q[s].tolist()
        if len(actions) == self.nA:
            return max(row)
        return max(row[a] for a in actions)

    def _step_size(self, s: int, a: int) -> float:
        """α, or α / n(s, a)^ω when alpha_power ω > 0 (n counts this pair's updates)."""
        row = self._counts[s]
        n = row[a] + 1
        row[a] = n
        if self._alpha_power:
            tau = self._alpha_delay
            return self.alpha * (tau / (tau + n - 1)) ** self._alpha_power  # α (τ/(τ+n−1))^ω
        return self.alpha

    # ----- learning -------------------------------------------------------------------------

    def _update(
        self,
        s: int,
        a: int,
        r: float,
        s2: int,
        terminated: bool,
        actions2: list[int],
        a2: int,
    ) -> None:
        """Apply one TD update for the transition ``(s, a, r, s2)``; ``a2`` is SARSA's next action
        (``-1`` when none was chosen), ``actions2`` the actions available in ``s2``."""
        raise NotImplementedError

    def _move_toward(
        self,
        table: np.ndarray,
        s: int,
        a: int,
        target: float,
        *,
        r: float,
        s2: int,
        a_next: int | None,
        terminated: bool,
        label: str = "q",
    ) -> float:
        """The TD step every control method shares (notes 000 §7.e), after it chose its target:
        Q(s, a) ← Q(s, a) + α δ with δ = target − Q(s, a). Tells the update hooks; returns the
        new value. Subclasses differ only in the target (the notes' point)."""
        old = float(table[s, a])
        td_error = target - old  # δ_t = target − Q(s_t, a_t)
        new = old + self._step_size(s, a) * td_error  # Q(s_t, a_t) ← Q(s_t, a_t) + α δ_t
        table[s, a] = new
        if self._hooks:
            self._emit(
                s=s,
                a=a,
                r=r,
                s_next=s2,
                a_next=a_next,
                terminated=terminated,
                target=target,
                td_error=td_error,
                old_value=old,
                new_value=new,
                table=label,
            )
        return new

    def learn(
        self,
        s: int,
        a: int,
        r: float,
        s_next: int,
        terminated: bool,
        *,
        next_mask: Any = None,
        a_next: int | None = None,
    ) -> None:
        """Apply one update from a transition given by hand (lessons, tests, replays).

        ``next_mask`` is the ``info["action_mask"]`` that came with ``s_next``; SARSA needs
        ``a_next`` unless ``terminated``.
        """
        if self.on_policy and a_next is None and not terminated:
            raise ValueError(f"{self.name} needs a_next, the action chosen in s_next")
        self._update(
            int(s) - self._obs_start,
            int(a) - self._act_start,
            float(r),
            int(s_next) - self._obs_start,
            bool(terminated),
            self.available(next_mask),
            -1 if a_next is None else int(a_next) - self._act_start,
        )

    def _choose(self, s: int, actions: list[int]) -> int:
        """The behaviour policy used while training (ε-greedy; TD(0) overrides it)."""
        return self.behaviour_action(s, actions)

    def _end_episode(self) -> None:
        decay = self.hp.get("epsilon_decay", 1.0)
        if decay != 1.0:
            self.epsilon = max(float(self.hp["epsilon_min"]), self.epsilon * decay)

    def train(
        self,
        env: gym.Env,
        episodes: int | None = None,
        steps: int | None = None,
        *,
        callback: EpisodeCallback | None = None,
        hooks: list[UpdateHook] | tuple[UpdateHook, ...] = (),
    ) -> TrainResult:
        """Learn for ``episodes`` episodes and/or ``steps`` env steps, whichever ends first.

        With neither, the class's ``default_budget`` applies. A ``steps`` budget may stop in the
        middle of an episode; that unfinished episode is not recorded. ``hooks`` are update hooks
        active for this call only. ``callback(record)`` gets each finished episode's record;
        returning ``False`` from it stops training (``TrainResult.stopped_early``). The env is
        reset with the agent's seed on the first call, so the same seed gives the same table.
        """
        if episodes is None and steps is None:
            episodes = self.default_budget.get("episodes")
            steps = self.default_budget.get("steps")
        for label, value in (("episodes", episodes), ("steps", steps)):
            if value is not None and (isinstance(value, bool) or int(value) != value or value < 0):
                raise ValueError(f"{label}={value!r} must be a whole number >= 0")
        max_episodes = math.inf if episodes is None else int(episodes)
        max_steps = math.inf if steps is None else int(steps)
        for label, space, size in (
            ("observation", env.observation_space, self.nS),
            ("action", env.action_space, self.nA),
        ):
            if not isinstance(space, gym.spaces.Discrete) or int(space.n) != size:
                raise UnsupportedSpaceError(
                    f"{self.name} was built for Discrete({size}) {label}s, but this env has "
                    f"{space}; train on the env the agent was made for"
                )
        self._hooks.extend(hooks)
        try:
            return self._run(env, max_episodes, max_steps, callback)
        finally:
            for hook in hooks:
                self._hooks.remove(hook)

    def _run(
        self,
        env: gym.Env,
        max_episodes: float,
        max_steps: float,
        callback: EpisodeCallback | None,
    ) -> TrainResult:
        result = TrainResult()
        answers = answers_per_episode(env)
        o0, a0 = self._obs_start, self._act_start
        on_policy = self.on_policy
        update = self._update
        choose = self._choose
        available = self.available
        start = time.perf_counter()
        env_steps = 0
        finished = 0
        cap = math.inf if self.max_episode_steps is None else self.max_episode_steps
        while finished < max_episodes and env_steps < max_steps:
            seed = None
            if not self._env_seeded:
                seed, self._env_seeded = self.seed, True
            obs, info = env.reset(seed=seed)
            self.reset()
            s = int(obs) - o0
            actions = available(info.get("action_mask"))
            a = choose(s, actions)
            total, length, complete = 0.0, 0, False
            self._episode_step = 0
            while env_steps < max_steps:
                obs, r, terminated, truncated, info = env.step(a + a0)
                env_steps += 1
                length += 1
                r = float(r)
                total += r
                s2 = int(obs) - o0
                actions2 = available(info.get("action_mask"))
                if on_policy:
                    a2 = choose(s2, actions2) if not terminated else -1
                    update(s, a, r, s2, terminated, actions2, a2)
                else:
                    update(s, a, r, s2, terminated, actions2, -1)
                self._episode_step += 1
                if terminated or truncated or length >= cap:
                    complete = True
                    break
                if not on_policy:
                    a2 = choose(s2, actions2)
                s, a = s2, a2
            self.steps_done += length
            if not complete:
                break
            record = episode_record(self.episodes_done, total, length, env_steps, start, answers)
            self.episodes_done += 1
            finished += 1
            self._end_episode()
            result.episodes.append(record)
            if callback is not None and callback(record) is False:
                result.stopped_early = True
                break
        result.env_steps = env_steps
        result.wall_time = time.perf_counter() - start
        return result

    # ----- checkpoints ----------------------------------------------------------------------

    def _save_state(self, folder: Path) -> dict[str, Any]:
        arrays = {name: np.asarray(getattr(self, name)) for name in self.table_names}
        atomic_save_npz(folder / ARRAYS_FILE, visits=self.visits, **arrays)
        return {
            "state": {
                "epsilon": self.epsilon,
                "episodes_done": self.episodes_done,
                "steps_done": self.steps_done,
                "rng": self.rng.bit_generator.state,
            }
        }

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        arrays = load_npz(folder / ARRAYS_FILE)
        for name in (*self.table_names, "visits"):
            if name not in arrays:
                raise CheckpointError(
                    f"checkpoint {folder} is corrupt: {ARRAYS_FILE} has no {name}"
                )
            current = getattr(self, name)
            if arrays[name].shape != np.shape(current):
                raise CheckpointError(
                    f"checkpoint {folder}: table {name} has shape {arrays[name].shape}, but this "
                    f"env needs {np.shape(current)}; load it on the env it was trained on"
                )
            setattr(self, name, arrays[name].astype(np.asarray(current).dtype, copy=True))
        state = meta.get("state", {})
        self.epsilon = float(state.get("epsilon", self.epsilon))
        self.episodes_done = int(state.get("episodes_done", 0))
        self.steps_done = int(state.get("steps_done", 0))
        if isinstance(state.get("rng"), dict):
            try:
                self.rng.bit_generator.state = state["rng"]
            except (TypeError, ValueError, KeyError):
                pass  # a generator state from another numpy: keep the fresh seeded one
        self._env_seeded = True
