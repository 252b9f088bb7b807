"""TD(0) policy evaluation: estimate v_π of a given policy (notes 002 §5.6; S&B §6.1).

Description:
    Exactly the box of notes 002 §5.6 (Tabular TD(0) for estimating v_π):

    ```text
    Input: the policy π to be evaluated
    Algorithm parameter: step size α ∈ (0, 1]
    Initialise V(s) arbitrarily, except that V(terminal) = 0
    Loop for each episode:
        Initialise S
        Loop for each step of episode:
            A ← action given by π for S
            Take action A, observe R, S'
            V(S) ← V(S) + α [R + γ V(S') − V(S)]
            S ← S'
        until S is terminal
    ```

    The agent does not improve π: it *evaluates* it. `act` follows π (`greedy` is ignored),
    `agent.v` is the estimate of v_π and `agent.policy` the evaluated π as an `(nS, nA)`
    array of probabilities.

Arguments:
    alpha: step size α ∈ (0, 1].
    gamma: discount γ ∈ [0, 1].
    alpha_power: 0 keeps α constant; ω ∈ (0, 1] uses α / n(s)^ω with n(s) the number of updates
        of V(s) so far (ω = 1 averages the targets, which converges to v_π).
    initial_v: the arbitrary initial V(s) of non-terminal states.
    policy: `None` (default) for the uniform random policy over the available actions
        (`info["action_mask"]`), or an `(nS, nA)` array/list of probabilities π(a | s).
        Probabilities of unavailable actions are dropped and the rest renormalised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from lecture_rl.agents.hyperparameters import HyperparameterError, Param
from lecture_rl.agents.tabular import SCHEDULE_PARAMS, STEP_SIZE_PARAMS, Step, TableAgent
from lecture_rl.envs.protocols import terminal_states


class TD0Agent(TableAgent):
    """TD(0) policy evaluation: V(S) ← V(S) + α[R + γV(S') − V(S)] under a fixed policy π."""

    name = "td0"
    params: ClassVar[dict[str, Param]] = {
        **STEP_SIZE_PARAMS,
        **SCHEDULE_PARAMS,
        "initial_v": Param(0.0, "the arbitrary initial V(s) of non-terminal states", kind="number"),
        "policy": Param(
            None, "None: uniform random π; or an (nS, nA) array of probabilities π(a|s)",
            kind="any",
        ),
    }  # fmt: skip
    table_names = ("v", "policy")

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        super().__init__(env, seed=seed, **hyperparameters)
        self.v = np.full(self.nS, float(self.hp["initial_v"]))
        terminals = terminal_states(env)
        if terminals:
            self.v[sorted(terminals)] = 0.0  # V(terminal) = 0
        self.visits = np.zeros(self.nS, dtype=np.int64)
        policy = self._policy_array(self.hp["policy"], self.nS, self.nA, "td0")
        self._uniform = policy is None
        self.policy = np.full((self.nS, self.nA), 1.0 / self.nA) if policy is None else policy

    @staticmethod
    def _policy_array(given: Any, nS: int, nA: int, name: str) -> np.ndarray | None:
        """The `policy` hyperparameter as an `(nS, nA)` array of π(a|s) (None: uniform)."""
        if given is None:
            return None
        policy = np.asarray(given, dtype=float)
        if policy.shape != (nS, nA):
            raise HyperparameterError(
                f"{name}: policy has shape {policy.shape}, but this env needs "
                f"(nS, nA) = ({nS}, {nA}) probabilities"
            )
        sums = policy.sum(axis=1)
        if (policy < 0).any() or not np.allclose(sums, 1.0, atol=1e-6):
            raise HyperparameterError(
                f"{name}: policy rows must be probabilities (>= 0, each row summing to 1)"
            )
        return policy / sums[:, None]

    @classmethod
    def check_hyperparameters(cls, hp: dict[str, Any]) -> None:
        policy = hp["policy"]
        if policy is not None and not isinstance(policy, (list, tuple, np.ndarray)):
            raise HyperparameterError(
                f"{cls.name}: policy={policy!r} must be None (uniform random) or an (nS, nA) "
                "array of probabilities"
            )

    @property
    def v(self) -> np.ndarray:
        """The estimate of v_π, one value per state."""
        return self._v

    @v.setter
    def v(self, value: np.ndarray) -> None:
        self._v = np.asarray(value, dtype=float)

    # ----- acting: follow π -----------------------------------------------------------------

    def _choose(self, s: int, actions: list[int]) -> int:
        """A ← action given by π for S (sampled with the seeded generator)."""
        self._explored = False
        if self._uniform:
            return self._draw(actions)
        probs = [float(self.policy[s, a]) for a in actions]
        total = sum(probs)
        if total <= 0.0:  # π puts no mass on an available action: fall back to uniform
            return self._draw(actions)
        u = self.rng.random() * total
        for a, p in zip(actions, probs):
            u -= p
            if u < 0.0:
                return a
        return actions[-1]

    def _draw(self, actions: list[int]) -> int:
        """A uniformly random available action (always one draw, even with one action)."""
        return actions[int(self.rng.random() * len(actions))]

    def act(self, obs: Any, info: dict | None = None, *, greedy: bool = True) -> int:
        """An action drawn from the evaluated policy π (`greedy` is ignored: TD(0) only
        evaluates π, it has no greedy policy of its own)."""
        s = int(obs) - self._obs_start
        actions = self.available(info.get("action_mask") if info else None)
        return self._choose(s, actions) + self._act_start

    # ----- learning -------------------------------------------------------------------------

    def _update(self, t: Step) -> None:
        v_next = 0.0 if t.terminated else float(self.v[t.s2])  # V(S'), 0 when S' is terminal
        target = t.r + self.gamma * v_next  # R + γ V(S')
        self._move_toward(  # V(S) ← V(S) + α [R + γ V(S') − V(S)]
            self.v, t, target, label="v", terms={"r": t.r, "gamma": self.gamma, "v_next": v_next}
        )

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        super()._load_state(folder, meta)
        self._uniform = meta.get("hyperparameters", {}).get("policy") is None
