"""The shared base of the tabular agents: a table of V or Q, the episode loop, the TD step.

Description:
    Tabular agents keep one number per state (V) or per state-action pair (Q) and improve it one
    transition at a time with a temporal-difference update (notes 000 §7.e):

    ```text
    X ← X + α δ_t,   δ_t = target_t − X      (X = Q(s_t, a_t), or V(s_t) for TD(0))
    ```

    The algorithms differ only in their `target` (Q-learning: `r + γ max_a Q(s', a)`, SARSA:
    `r + γ Q(s', a')`, TD(0): `r + γ V(s')`), so each algorithm file holds just its
    `TableAgent._update`. Two bases share the work:

    * [`TableAgent`][lecture_rl.agents.tabular.TableAgent] — V or Q: Discrete spaces, action masks,
      the episode loop of `_learn`, the step size, the TD step `TableAgent._move_toward` (which
      emits a [`TableUpdate`][lecture_rl.agents.events.TableUpdate]), update hooks and `arrays.npz`.
    * [`QTableAgent`][lecture_rl.agents.tabular.QTableAgent] — the control methods: a Q table,
      ε-greedy acting with optional decay of ε after every episode, greedy ties broken at random by
      the seeded `self.rng`.

    A terminal next state bootstraps with 0; a truncated step (time limit) still bootstraps.
    When the env gives `info["action_mask"]` (our GridWorld, Taxi), unavailable actions are
    never taken and never counted in the bootstrap `max`.

Events:
    Per env step, the step's `TableUpdate` comes first, then its `Transition`
    (`explored` tells an ε-random action from a greedy one), then `EpisodeEnd` when the
    episode ended.

Spaces:
    Observations and actions must be `gymnasium.spaces.Discrete`. Anything else raises
    [`UnsupportedSpaceError`][lecture_rl.agents.tabular.UnsupportedSpaceError] (a `ValueError`)
    with a hint, e.g. our GridWorld's `obs_mode="index"`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np

from lecture_rl.agents.base import Agent, CheckpointError, TrainingRun, TrainResult
from lecture_rl.agents.checkpoint_io import ARRAYS_FILE, atomic_save_npz, load_npz
from lecture_rl.agents.events import TableUpdate, Transition, UpdateFunction, as_callbacks
from lecture_rl.agents.hyperparameters import Param, unit_interval
from lecture_rl.envs.protocols import state_action_mask, tabular_model

#: the name the update hooks' records had before the event stream
Update = TableUpdate
UpdateHook = Callable[[TableUpdate], None]


class UnsupportedSpaceError(ValueError):
    """The env's spaces (or model) do not fit the agent, e.g. Box observations for a Q table."""


class Step(NamedTuple):
    """One transition as a tabular update reads it (indices start at 0).

    `actions2` are the actions available in `s2`; `a2` is the next action when the agent
    chose it before the update (SARSA), else `-1`.
    """

    s: int
    a: int
    r: float
    s2: int
    terminated: bool
    actions2: list[int]
    a2: int = -1
    #: the episode was cut here (the env's time limit or the agent's cap), not terminated
    truncated: bool = False


def pick(candidates: list[int], rng: np.random.Generator) -> int:
    """One of `candidates` uniformly at random (the only draw when there is a choice)."""
    if len(candidates) == 1:
        return candidates[0]
    return candidates[int(rng.random() * len(candidates))]


def argmax_ties(row: list[float], candidates: list[int]) -> list[int]:
    """Every candidate that attains the maximum of `row` (the greedy set)."""
    best = max(row[a] for a in candidates)
    return [a for a in candidates if row[a] == best]


def discrete_size(space: gym.Space, what: str, env_name: str) -> tuple[int, int]:
    """`(n, start)` of a Discrete space; any other space raises
    [`UnsupportedSpaceError`][lecture_rl.agents.tabular.UnsupportedSpaceError]."""
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n), int(space.start)
    hint = " (for LectureRL/GridWorld-v0 pass obs_mode=index)" if what == "observations" else ""
    deep = "dqn or ppo"
    if what == "actions" and isinstance(space, gym.spaces.Box):
        deep, hint = "ppo or reinforce (a Gaussian policy for continuous actions)", ""
    raise UnsupportedSpaceError(
        f"tabular agents need Discrete {what}, but {env_name} has {space}; use an env with "
        f"Discrete {what}{hint}, or a deep agent such as {deep}"
    )


def env_model(env: gym.Env) -> Any:
    """The transition model `env.unwrapped.P[s][a] = [(prob, next_s, reward, terminated)]`."""
    model = tabular_model(env)
    if model is None:
        name = env.spec.id if getattr(env, "spec", None) else type(env).__name__
        raise UnsupportedSpaceError(
            f"{name} has no transition model env.unwrapped.P, which dynamic programming needs; "
            "use an env that has one (LectureRL/GridWorld-v0, FrozenLake-v1, CliffWalking-v1, "
            "Taxi-v4) or a learning agent such as q_learning"
        )
    return model.P


#: `(nS, nA)` booleans of the available actions, or None (kept under its old name)
availability = state_action_mask

STEP_SIZE_PARAMS: dict[str, Param] = {
    "alpha": unit_interval(0.1, "step size α ∈ (0, 1]", low_open=True),
    "gamma": unit_interval(0.99, "discount γ ∈ [0, 1]"),
}
SCHEDULE_PARAMS: dict[str, Param] = {
    "alpha_power": unit_interval(
        0.0, "0: constant α; ω ∈ (0, 1]: α (τ/(τ+n−1))^ω, n = updates of that entry"
    ),
    "alpha_delay": Param(1.0, "τ ≥ 1 of the decaying step size", low=1.0),
}


class TableAgent(Agent):
    """Base of the table agents (V or Q): spaces, masks, the episode loop, the TD step, hooks.

    Subclasses implement `_choose` (the behaviour policy while training; it sets
    `self._explored`) and `_update` (one update from one [`Step`][lecture_rl.agents.tabular.Step]).
    SARSA-like agents set `on_policy = True` so the next action is chosen *before* the update.
    """

    #: the next action is chosen before the update (SARSA) rather than after (Q-learning)
    on_policy: ClassVar[bool] = False
    #: arrays written to / read from `arrays.npz`
    table_names: ClassVar[tuple[str, ...]] = ()
    #: episodes longer than this are cut (treated as truncated) while training; None = no cap
    max_episode_steps: ClassVar[int | None] = None

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        super().__init__(env, seed=seed, **hyperparameters)
        env_name = self.env_id or type(getattr(env, "unwrapped", env)).__name__
        if isinstance(env.action_space, gym.spaces.Box):  # the first thing to fix: the actions
            discrete_size(env.action_space, "actions", env_name)
        self.nS, self._obs_start = discrete_size(env.observation_space, "observations", env_name)
        self.nA, self._act_start = discrete_size(env.action_space, "actions", env_name)
        self.alpha = float(self.hp.get("alpha", 0.0))
        self.gamma = float(self.hp.get("gamma", 1.0))
        self.episodes_done = 0
        self.steps_done = 0
        self._hooks: list[UpdateHook] = []
        self._run: TrainingRun | None = None
        self._env_seeded = False
        self._env_seed: int | None = seed
        self._explored = False
        self._all_actions = list(range(self.nA))
        self._avail_cache: dict[bytes, list[int]] = {}
        self._episode_step = 0
        #: `(nS, nA)` booleans from `env.unwrapped.action_mask(s)` where the env has it
        self.available_actions = state_action_mask(env, self.nS, self.nA)
        self._alpha_power = float(self.hp.get("alpha_power", 0.0))
        self._alpha_delay = float(self.hp.get("alpha_delay", 1.0))
        self._counts: list = []

    # ----- hooks (a thin adapter on the event stream, kept for notebooks) -----------------

    def add_update_hook(self, hook: UpdateHook) -> UpdateHook:
        """Call `hook(update)` with each [`TableUpdate`][lecture_rl.agents.events.TableUpdate];
        returns `hook`."""
        self._hooks.append(hook)
        return hook

    def remove_update_hook(self, hook: UpdateHook) -> None:
        """Stop calling `hook`."""
        self._hooks.remove(hook)

    def standing_callbacks(self) -> list[Any]:
        return [UpdateFunction(hook) for hook in self._hooks]

    def train(
        self,
        env: gym.Env,
        episodes: int | None = None,
        steps: int | None = None,
        *,
        callbacks: Any = None,
        callback: Callable[[dict[str, Any]], Any] | None = None,
        hooks: tuple[UpdateHook, ...] | list[UpdateHook] = (),
    ) -> TrainResult:
        """As [`Agent.train`][lecture_rl.agents.base.Agent.train]; `hooks` are update hooks for
        this call only (an adapter kept for notebooks: `callbacks=[UpdateFunction(hook)]` is the
        same)."""
        if hooks:
            given = as_callbacks(callbacks)
            callbacks = [*given, *(UpdateFunction(hook) for hook in hooks)]
        return super().train(env, episodes, steps, callbacks=callbacks, callback=callback)

    # ----- acting ---------------------------------------------------------------------------

    def available(self, mask: Any) -> list[int]:
        """The available action indices for an `info["action_mask"]` (all when `None`)."""
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

    def _choose(self, s: int, actions: list[int]) -> int:
        """The behaviour policy while training; sets `self._explored`."""
        raise NotImplementedError

    # ----- learning -------------------------------------------------------------------------

    def _update(self, t: Step) -> None:
        """Apply one TD update for the transition `t`."""
        raise NotImplementedError

    def _step_size(self, index: Any) -> float:
        """α, or α (τ/(τ+n−1))^ω when alpha_power ω > 0 (n counts this entry's updates)."""
        if isinstance(index, tuple):
            row, col = self._counts[index[0]], index[1]
        else:
            row, col = self._counts, index
        n = row[col] + 1
        row[col] = n
        if self._alpha_power:
            tau = self._alpha_delay
            return self.alpha * (tau / (tau + n - 1)) ** self._alpha_power  # α (τ/(τ+n−1))^ω
        return self.alpha

    def _move_toward(
        self,
        table: np.ndarray,
        t: Step,
        target: float,
        *,
        label: str,
        rule: str = "",
        a_next: int | None = None,
        terms: dict[str, float] | None = None,
    ) -> float:
        """The TD step every method shares (notes 000 §7.e), after it chose its target:
        X ← X + α δ with δ = target − X, X = Q(s, a) (or V(s) for a 1-D table). Emits the
        [`TableUpdate`][lecture_rl.agents.events.TableUpdate]; returns the new value."""
        index = (t.s, t.a) if table.ndim == 2 else t.s
        old = float(table[index])
        alpha = self._step_size(index)
        td_error = target - old  # δ_t = target − X
        new = old + alpha * td_error  # X ← X + α δ_t
        table[index] = new
        run = self._run
        if (run is not None and run.stream.wants(TableUpdate)) or (run is None and self._hooks):
            self._emit(
                TableUpdate(
                    s=t.s,
                    a=t.a if table.ndim == 2 else None,
                    r=t.r,
                    s_next=t.s2,
                    a_next=a_next,
                    terminated=t.terminated,
                    target=target,
                    td_error=td_error,
                    old_value=old,
                    new_value=new,
                    alpha=alpha,
                    gamma=self.gamma,
                    episode=self.episodes_done,
                    step=self._episode_step,
                    table=label,
                    rule=rule or self.name,
                    target_terms=terms or {"r": t.r, "gamma": self.gamma},
                )
            )
        return new

    def _emit(self, event: Any) -> None:
        if self._run is not None:
            self._run.emit(event)
        else:  # an update given by hand with learn(): only the hooks hear it
            for hook in list(self._hooks):
                hook(event)

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
        truncated: bool = False,
    ) -> None:
        """Apply one update from a transition given by hand (lessons, tests, replays).

        `next_mask` is the `info["action_mask"]` that came with `s_next`; SARSA needs
        `a_next` unless `terminated`; `truncated` says the episode was cut after it.
        """
        if self.on_policy and a_next is None and not terminated:
            raise ValueError(f"{self.name} needs a_next, the action chosen in s_next")
        self._update(
            Step(
                int(s) - self._obs_start,
                int(a) - self._act_start,
                float(r),
                int(s_next) - self._obs_start,
                bool(terminated),
                self.available(next_mask),
                -1 if a_next is None else int(a_next) - self._act_start,
                bool(truncated) and not terminated,
            )
        )

    def _end_episode(self) -> None:
        """After every training episode (ε decay in the control agents)."""

    def _start_options(self) -> dict[str, Any] | None:
        """The `options` of the next training episode's `env.reset` (None: the env's own
        start; MC's exploring starts choose the state here)."""
        return None

    def check_train_env(self, env: gym.Env) -> None:
        for label, space, size in (
            ("observation", env.observation_space, self.nS),
            ("action", env.action_space, self.nA),
        ):
            if not isinstance(space, gym.spaces.Discrete) or int(space.n) != size:
                raise UnsupportedSpaceError(
                    f"{self.name} was built for Discrete({size}) {label}s, but this env has "
                    f"{space}; train on the env the agent was made for"
                )

    def _learn(self, env: gym.Env, run: TrainingRun) -> None:
        """Episodes of: choose, step, update (the TD loop of notes 000 §7.e), until run.done."""
        o0, a0 = self._obs_start, self._act_start
        on_policy = self.on_policy
        update = self._update
        choose = self._choose
        available = self.available
        want_transitions = run.wants(Transition)
        budget_steps = math.inf if run.budget.steps is None else run.budget.steps
        cap = math.inf if self.max_episode_steps is None else self.max_episode_steps
        self._run = run
        try:
            while not run.done:
                seed = None
                if not self._env_seeded:  # the agent's seed; after a resume, the saved one
                    seed, self._env_seeded = self._env_seed, True
                obs, info = env.reset(seed=seed, options=self._start_options())
                self.reset()
                s = int(obs) - o0
                actions = available(info.get("action_mask"))
                a = choose(s, actions)
                total, length, complete = 0.0, 0, False
                self._episode_step = 0
                while run.env_steps < budget_steps:
                    explored = self._explored
                    obs, r, terminated, truncated, info = env.step(a + a0)
                    run.env_steps += 1
                    length += 1
                    r = float(r)
                    total += r
                    s2 = int(obs) - o0
                    actions2 = available(info.get("action_mask"))
                    a2 = -1
                    if on_policy and not terminated:
                        a2 = choose(s2, actions2)  # A' ← π(S') before the update (SARSA)
                    cut = not terminated and (bool(truncated) or length >= cap)
                    update(Step(s, a, r, s2, terminated, actions2, a2, cut))
                    if want_transitions:
                        run.emit(
                            Transition(
                                s + o0, a + a0, r, s2 + o0, bool(terminated), bool(truncated),
                                explored, self.episodes_done, self._episode_step,
                                run.env_steps, 0, info,
                            )
                        )  # fmt: skip
                    self._episode_step += 1
                    if terminated or truncated or length >= cap:
                        complete = True
                        break
                    if not on_policy:
                        a2 = choose(s2, actions2)
                    s, a = s2, a2
                    if run.stream.stopped:
                        break
                self.steps_done += length
                if not complete:
                    break
                number = self.episodes_done
                self.episodes_done += 1
                self._end_episode()  # the agent is whole again before anyone hears of it
                run.episode_end(total, length, number)
        finally:
            self._run = None

    # ----- checkpoints ----------------------------------------------------------------------

    def _save_state(self, folder: Path) -> dict[str, Any]:
        arrays = {name: np.asarray(getattr(self, name)) for name in self.table_names}
        atomic_save_npz(folder / ARRAYS_FILE, visits=self.visits, **arrays)
        return {"state": self._state()}

    def _state(self) -> dict[str, Any]:
        return {
            "episodes_done": self.episodes_done,
            "steps_done": self.steps_done,
            "rng": self.rng.bit_generator.state,
        }

    @property
    def visits(self) -> np.ndarray:
        """How many updates each table entry has had (kept as lists for speed)."""
        return np.array(self._counts, dtype=np.int64)

    @visits.setter
    def visits(self, value: np.ndarray) -> None:
        self._counts = np.asarray(value, dtype=np.int64).tolist()

    def _save_training_state(self, folder: Path) -> dict[str, Any]:
        # the env's generator cannot be read back: the resumed run reseeds it from our rng
        return {**super()._save_training_state(folder), "env_seed": self._resume_seed()}

    def _resume_seed(self) -> int:
        generator = np.random.default_rng([self.seed or 0, self.episodes_done, self.steps_done])
        return int(generator.integers(2**31))

    def _load_training_state(self, folder: Path, state: dict[str, Any]) -> None:
        super()._load_training_state(folder, state)
        self._env_seeded = False
        self._env_seed = int(state.get("env_seed", self._resume_seed()))

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
        self.episodes_done = int(state.get("episodes_done", 0))
        self.steps_done = int(state.get("steps_done", 0))
        if isinstance(state.get("rng"), dict):
            try:
                self.rng.bit_generator.state = state["rng"]
            except (TypeError, ValueError, KeyError):
                pass  # a generator state from another numpy: keep the fresh seeded one
        self._env_seeded = True


class QTableAgent(TableAgent):
    """Base of the Q-table control agents: a Q table and ε-greedy acting.

    Arguments: see `params` (α, γ, ε and its decay, the step-size schedule, initial Q).
    """

    params: ClassVar[dict[str, Param]] = {
        **STEP_SIZE_PARAMS,
        "epsilon": unit_interval(0.1, "exploration rate ε of the ε-greedy behaviour policy"),
        "epsilon_decay": unit_interval(
            1.0, "ε ← max(epsilon_min, ε · epsilon_decay) after each episode; 1 = constant",
            low_open=True,
        ),
        "epsilon_min": unit_interval(0.0, "the floor of the decayed ε"),
        **SCHEDULE_PARAMS,
        "initial_q": Param(0.0, "every Q entry starts here (optimistic values explore more)",
                           kind="number"),
    }  # fmt: skip
    table_names: ClassVar[tuple[str, ...]] = ("q",)

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        super().__init__(env, seed=seed, **hyperparameters)
        #: the current exploration rate (decays after each episode when epsilon_decay < 1)
        self.epsilon = float(self.hp.get("epsilon", 0.0))
        self.q = np.full((self.nS, self.nA), float(self.hp.get("initial_q", 0.0)))
        self.visits = np.zeros((self.nS, self.nA), dtype=np.int64)

    # ----- acting ---------------------------------------------------------------------------

    def greedy_action(self, s: int, actions: list[int] | None = None) -> int:
        """argmax_a Q(s, a) over `actions` (default: all), ties broken at random by self.rng."""
        return pick(self.greedy_actions(s, actions), self.rng)

    def greedy_actions(self, s: int, actions: list[int] | None = None) -> list[int]:
        """Every action that attains `max_a Q(s, a)` (the greedy set shown as arrows)."""
        return argmax_ties(self.q[s].tolist(), self._all_actions if actions is None else actions)

    def behaviour_action(self, s: int, actions: list[int]) -> int:
        """ε-greedy: a random available action with probability ε, else the greedy one."""
        if self.epsilon > 0.0 and self.rng.random() < self.epsilon:
            self._explored = True
            return actions[int(self.rng.random() * len(actions))]
        self._explored = False
        return self.greedy_action(s, actions)

    def _choose(self, s: int, actions: list[int]) -> int:
        return self.behaviour_action(s, actions)

    def act(self, obs: Any, info: dict | None = None, *, greedy: bool = True) -> int:
        s = int(obs) - self._obs_start
        actions = self.available(info.get("action_mask") if info else None)
        a = self.greedy_action(s, actions) if greedy else self.behaviour_action(s, actions)
        return a + self._act_start

    # ----- values ---------------------------------------------------------------------------

    @property
    def v(self) -> np.ndarray:
        """State values of the greedy policy, `V(s) = max_a Q(s, a)` over available actions."""
        q = self.q
        if self.available_actions is None:
            return q.max(axis=1)
        v = np.where(self.available_actions, q, -np.inf).max(axis=1)
        return np.where(np.isfinite(v), v, q.max(axis=1))

    def max_q(self, s: int, actions: list[int]) -> float:
        """`max_a Q(s, a)` over the available `actions` (the bootstrap of Q-learning)."""
        row = self.q[s].tolist()
        if len(actions) == self.nA:
            return max(row)
        return max(row[a] for a in actions)

    def _end_episode(self) -> None:
        decay = self.hp.get("epsilon_decay", 1.0)
        if decay != 1.0:
            self.epsilon = max(float(self.hp["epsilon_min"]), self.epsilon * decay)

    def _state(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, **super()._state()}

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        super()._load_state(folder, meta)
        self.epsilon = float(meta.get("state", {}).get("epsilon", self.epsilon))


#: the name the Q-table base had before the V/Q re-cut
TabularAgent = QTableAgent
