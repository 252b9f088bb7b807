"""Dynamic programming from the env's model: policy evaluation, value iteration, policy iteration.

Description:
    When the env publishes its model ``env.unwrapped.P[s][a] = [(prob, next_s, reward,
    terminated), ...]`` (our GridWorld, FrozenLake, CliffWalking, Taxi), the Bellman equations
    can be solved directly, without trying anything (Sutton & Barto ch. 4). These are the ground
    truth the learning agents are checked against:

    ```text
    policy evaluation:  V(s) ← Σ_a π(a|s) Σ_{s',r} p(s', r | s, a) [r + γ V(s')]
    value iteration:    V(s) ← max_a Σ_{s',r} p(s', r | s, a) [r + γ V(s')]
    policy iteration:   evaluate π, make it greedy w.r.t. its Q, repeat until stable
    ```

    A transition marked `terminated` contributes only its reward (V(terminal) = 0). Actions
    that `env.unwrapped.action_mask(s)` marks unavailable are left out of max and argmax.

    The plain functions take `P` directly; the agents `value_iteration` and
    `policy_iteration` wrap them: `train` plans (the sweeps) and then plays `episodes`
    (or `steps`) with the greedy plan, so learning curves can show the planning optimum as a
    reference line. `agent.q`, `agent.v` and `agent.policy` hold the result.

Arguments (agents):
    gamma: discount γ ∈ [0, 1]. With γ = 1 every policy considered must reach a terminal state.
    theta: stop sweeping when no value moves by more than θ > 0.
    max_sweeps: give up (ValueError) after this many sweeps of one evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from lecture_rl.agents.base import TrainingRun
from lecture_rl.agents.hyperparameters import Param, positive, positive_int, unit_interval
from lecture_rl.agents.tabular import QTableAgent, Step, env_model, pick

Model = Mapping[int, Mapping[int, Sequence[tuple[float, int, float, bool]]]] | Sequence[Any]

#: policy evaluation solves the Bellman linear system exactly up to this many states, else sweeps
EXACT_SOLVE_STATES = 2_000

#: greedy actions within this distance of the maximum count as tied
TIE_TOLERANCE = 1e-9


class NotConverged(ValueError):
    """Sweeps did not settle within `max_sweeps` (e.g. γ = 1 and a policy that never ends)."""


@dataclass
class DPResult:
    """What value iteration and policy iteration return.

    `policy[s]` spreads probability equally over the greedy actions of `s` (ties within
    `TIE_TOLERANCE`), for value iteration; policy iteration's is deterministic.
    """

    v: np.ndarray
    q: np.ndarray
    policy: np.ndarray
    sweeps: int
    iterations: int = 1


def model_arrays(P: Model, nS: int, nA: int) -> tuple[np.ndarray, np.ndarray]:
    """The model as arrays: expected reward `R[s, a]` and continuation `T[s, a, s']`.

    `T[s, a, s']` sums the probabilities of reaching `s'` *without* terminating, so that
    `Q = R + γ T V` is the Bellman backup with V(terminal) = 0.
    """
    R = np.zeros((nS, nA))
    T = np.zeros((nS, nA, nS))
    for s in range(nS):
        for a in range(nA):
            for prob, s_next, reward, terminated in P[s][a]:
                R[s, a] += prob * reward  # Σ p(s', r | s, a) r
                if not terminated:
                    T[s, a, int(s_next)] += prob  # p(s' | s, a), non-terminal s' only
    return R, T


def uniform_policy(nS: int, nA: int, available: np.ndarray | None = None) -> np.ndarray:
    """π(a|s) uniform over the available actions (all actions when `available` is None)."""
    mask = np.ones((nS, nA), bool) if available is None else np.asarray(available, bool).copy()
    mask[~mask.any(axis=1)] = True  # a state with nothing available: treat all as available
    return mask / mask.sum(axis=1, keepdims=True)


def _evaluate(
    R: np.ndarray,
    T: np.ndarray,
    policy: np.ndarray,
    gamma: float,
    theta: float,
    max_sweeps: int,
    v0: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    nS = R.shape[0]
    v = np.zeros(nS) if v0 is None else v0.copy()
    r_pi = (policy * R).sum(axis=1)  # Σ_a π(a|s) R(s, a)
    t_pi = np.einsum("sa,sat->st", policy, T)  # Σ_a π(a|s) T(s, a, s')
    if nS <= EXACT_SOLVE_STATES:
        # v_π is the solution of the linear Bellman system (I − γ T_π) v = r_π: solve it exactly
        # (sweeping converges slowly when γ = 1 and episodes are long, as on the cliff)
        system = np.eye(nS) - gamma * t_pi
        try:
            v = np.linalg.solve(system, r_pi)
        except np.linalg.LinAlgError:
            v = None
        if v is not None and np.all(np.isfinite(v)) and np.allclose(system @ v, r_pi, atol=1e-8):
            return v, 1
        raise NotConverged(
            f"policy evaluation has no finite solution (γ={gamma:g}): the policy never reaches a "
            "terminal state from some state; use gamma < 1"
        )
    for sweep in range(1, max_sweeps + 1):
        v_new = r_pi + gamma * t_pi @ v  # V(s) ← Σ_a π(a|s) Σ p [r + γ V(s')]
        delta = float(np.max(np.abs(v_new - v))) if nS else 0.0
        v = v_new
        if delta < theta:
            return v, sweep
        if not np.isfinite(delta):
            break
    raise NotConverged(
        f"policy evaluation did not converge in {max_sweeps} sweeps (γ={gamma:g}); with γ = 1 "
        "the policy may never reach a terminal state: use gamma < 1 or raise max_sweeps"
    )


def policy_evaluation(
    P: Model,
    nS: int,
    nA: int,
    policy: np.ndarray,
    gamma: float,
    theta: float = 1e-10,
    max_sweeps: int = 100_000,
) -> np.ndarray:
    """v_π for a policy given as `(nS, nA)` probabilities (iterative policy evaluation)."""
    policy = np.asarray(policy, dtype=float)
    if policy.shape != (nS, nA):
        raise ValueError(f"policy has shape {policy.shape}; it needs (nS, nA) = ({nS}, {nA})")
    R, T = model_arrays(P, nS, nA)
    v, _ = _evaluate(R, T, policy, gamma, theta, max_sweeps)
    return v


def greedy_policy(
    q: np.ndarray, available: np.ndarray | None = None, tolerance: float = TIE_TOLERANCE
) -> np.ndarray:
    """π(a|s) uniform over argmax_a Q(s, a) among the available actions (ties within tolerance)."""
    masked = q if available is None else np.where(available, q, -np.inf)
    best = masked.max(axis=1, keepdims=True)
    ties = masked >= best - tolerance * np.maximum(1.0, np.abs(best))
    return ties / ties.sum(axis=1, keepdims=True)


def value_iteration(
    P: Model,
    nS: int,
    nA: int,
    gamma: float = 0.99,
    theta: float = 1e-10,
    max_sweeps: int = 100_000,
    available: np.ndarray | None = None,
) -> DPResult:
    """Optimal values by value iteration: V(s) ← max_a Σ p(s', r | s, a) [r + γ V(s')]."""
    R, T = model_arrays(P, nS, nA)
    avail = None if available is None else np.asarray(available, bool)
    if avail is not None:
        avail = avail.copy()
        avail[~avail.any(axis=1)] = True
    v = np.zeros(nS)
    converged, sweeps = False, 0
    while sweeps < max_sweeps:
        sweeps += 1
        q = R + gamma * T @ v  # Q(s, a) = Σ p [r + γ V(s')]
        v_new = (q if avail is None else np.where(avail, q, -np.inf)).max(axis=1)  # max_a Q
        delta = float(np.max(np.abs(v_new - v))) if nS else 0.0
        v = v_new
        if delta < theta:
            converged = True
            break
        if not np.isfinite(delta):
            break
    if not converged:
        raise NotConverged(
            f"value iteration did not converge in {max_sweeps} sweeps (γ={gamma:g}); use "
            "gamma < 1 or raise max_sweeps"
        )
    q = R + gamma * T @ v
    return DPResult(v=v, q=q, policy=greedy_policy(q, avail), sweeps=sweeps)


# Intentional twin (duplicate scan): policy_iteration takes value_iteration's arguments (the same
# model and stopping rule; S&B 4.3 and 4.4), so either planner drops in for the other.
def policy_iteration(
    P: Model,
    nS: int,
    nA: int,
    gamma: float = 0.99,
    theta: float = 1e-10,
    max_sweeps: int = 100_000,
    available: np.ndarray | None = None,
    max_iterations: int = 1_000,
) -> DPResult:
    """Policy iteration: evaluate π, improve it greedily, stop when it no longer changes.

    Starts from the uniform random policy over the available actions. Improvement keeps the
    current action when it is among the (tolerance-)tied best, so the loop cannot cycle.
    """
    R, T = model_arrays(P, nS, nA)
    policy = uniform_policy(nS, nA, available)
    avail = policy > 0
    v, sweeps = _evaluate(R, T, policy, gamma, theta, max_sweeps)
    actions = None
    for iteration in range(1, max_iterations + 1):
        q = R + gamma * T @ v  # q_π(s, a)
        masked = np.where(avail, q, -np.inf)
        best = masked.max(axis=1)
        tied = masked >= best[:, None] - TIE_TOLERANCE * np.maximum(1.0, np.abs(best))[:, None]
        new_actions = tied.argmax(axis=1)  # first of the best actions
        if actions is not None:
            keep = tied[np.arange(nS), actions]
            new_actions = np.where(keep, actions, new_actions)  # π(s) stays if still best
            if np.array_equal(new_actions, actions):
                return DPResult(
                    v=v, q=q, policy=np.eye(nA)[actions], sweeps=sweeps, iterations=iteration
                )
        actions = new_actions
        policy = np.eye(nA)[actions]
        v, n = _evaluate(R, T, policy, gamma, theta, max_sweeps, v0=v)  # v_π of the new π
        sweeps += n
    raise NotConverged(f"policy iteration did not settle in {max_iterations} iterations")


class _PlanningAgent(QTableAgent):
    """Shared part of the DP agents: plan in `train`, then act greedily on the plan."""

    params: ClassVar[dict[str, Param]] = {
        "gamma": unit_interval(0.99, "discount γ ∈ [0, 1]"),
        "theta": positive(1e-8, "sweeps stop when no value changes by more than θ"),
        "max_sweeps": positive_int(100_000, "give up (NotConverged) after this many sweeps"),
    }
    table_names = ("q", "v_table", "policy")
    max_episode_steps = 10_000
    default_budget: ClassVar[dict[str, int]] = {"episodes": 100}

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        super().__init__(env, seed=seed, **hyperparameters)
        self.epsilon = 0.0
        self.P = env_model(env)  # raises a clear error when the env has no model
        self.v_table = np.zeros(self.nS)
        self.policy = uniform_policy(self.nS, self.nA, self.available_actions)
        self.sweeps = 0
        self.planned = False

    @property
    def v(self) -> np.ndarray:
        """V(s) of the planned policy."""
        return self.v_table

    #: `value_iteration` or `policy_iteration` (set by the subclass)
    planner: ClassVar[Any] = None

    def _plan(self) -> DPResult:
        return self.planner(
            self.P,
            self.nS,
            self.nA,
            gamma=self.gamma,
            theta=float(self.hp["theta"]),
            max_sweeps=int(self.hp["max_sweeps"]),
            available=self.available_actions,
        )

    def plan(self) -> DPResult:
        """Run the DP sweeps now and store `q`, `v` and `policy`."""
        result = self._plan()
        self.q, self.v_table, self.policy = result.q, result.v, result.policy
        self.sweeps += result.sweeps
        self.planned = True
        return result

    def greedy_action(self, s: int, actions: list[int] | None = None) -> int:
        """An action of the planned greedy set (random among ties), within `actions`."""
        row = self.policy[s]
        candidates = self._all_actions if actions is None else actions
        best = [a for a in candidates if row[a] > 0.0]
        if not best:
            return super().greedy_action(s, actions)
        return pick(best, self.rng)

    def _choose(self, s: int, actions: list[int]) -> int:
        self._explored = False
        return self.greedy_action(s, actions)

    def _update(self, t: Step) -> None:
        """Planning agents do not learn from transitions."""

    def _learn(self, env: gym.Env, run: TrainingRun) -> None:
        """Plan from `env.unwrapped.P`, then play the budget's episodes greedily.

        The played episodes produce the usual records, so a comparison shows the planned
        optimum beside the learners; `episodes=0` only plans.
        """
        if not self.planned:
            self.plan()
        super()._learn(env, run)

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        super()._load_state(folder, meta)
        self.planned = True


class ValueIterationAgent(_PlanningAgent):
    """Value iteration from the env's model P: the optimal Q*, V* and greedy policy."""

    name = "value_iteration"
    planner = staticmethod(value_iteration)


class PolicyIterationAgent(_PlanningAgent):
    """Policy iteration from the env's model P: evaluate, improve, repeat until stable."""

    name = "policy_iteration"
    planner = staticmethod(policy_iteration)
