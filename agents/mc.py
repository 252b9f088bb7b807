"""Monte Carlo prediction and control: learn from complete episodes' returns (S&B ch. 5).

Description:
    Notes 002 §5.5 define the value as an expected return, ``V_π(s) = E_π[G_t | S_t = s]``;
    Monte Carlo estimates it by averaging the returns that followed visits of ``s`` (Sutton &
    Barto 2018, §5.1, first-visit MC prediction), with no bootstrap: where TD(0) (notes 002
    §5.6) moves V(S) toward ``R + γV(S')`` after every step, MC waits for the episode to end and
    moves it toward the whole return ``G_t``::

        G ← 0
        Loop for each step of the episode, t = T−1, T−2, …, 0:
            G ← γ G + R_{t+1}
            (first-visit: unless S_t appears in S_0 … S_{t−1})
            V(S_t) ← V(S_t) + α [G − V(S_t)]          (prediction)
            Q(S_t, A_t) ← Q(S_t, A_t) + α [G − Q(S_t, A_t)]   (control, S&B §5.4)

    ``mode="prediction"`` evaluates a fixed policy π (uniform random by default) like ``td0``;
    ``mode="control"`` is on-policy ε-soft MC control (S&B §5.4): ε-greedy on Q, so the greedy
    policy improves as Q does. Constant α is the "constant-α MC" of S&B Example 6.2;
    ``alpha=1, alpha_power=1`` gives α = 1/n, the sample average of §5.1.

    Episodes cut by truncation (``max_steps``) have no return to learn from and are dropped.

Arguments:
    alpha, gamma, alpha_power, alpha_delay: as in the other table agents.
    mode: ``"prediction"`` (V of π) or ``"control"`` (Q, ε-greedy).
    first_visit: True: first-visit MC; False: every-visit MC.
    epsilon, epsilon_decay, epsilon_min, initial_q: control's ε-greedy behaviour.
    initial_v: prediction's initial V of non-terminal states.
    policy: prediction's π: None (uniform random) or an ``(nS, nA)`` array of probabilities.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from lecture_rl.agents.hyperparameters import Param
from lecture_rl.agents.tabular import QTableAgent, Step
from lecture_rl.agents.td0 import TD0Agent
from lecture_rl.envs.protocols import terminal_states


class MCAgent(QTableAgent):
    """Monte Carlo: V(S_t) (or Q(S_t, A_t)) ← · + α[G_t − ·] at the end of each episode."""

    name = "mc"
    params: ClassVar[dict[str, Param]] = {
        **QTableAgent.params,
        "mode": Param("control", "prediction: V of π; control: Q with ε-greedy (S&B 5.4)",
                      choices=("prediction", "control")),
        "first_visit": Param(True, "True: first-visit MC; False: every-visit MC", kind="bool"),
        "initial_v": Param(0.0, "prediction: the initial V(s) of non-terminal states",
                           kind="number"),
        "policy": TD0Agent.params["policy"],
    }  # fmt: skip
    table_names: ClassVar[tuple[str, ...]] = ("q", "v_table")

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        super().__init__(env, seed=seed, **hyperparameters)
        self.prediction = self.hp["mode"] == "prediction"
        self.first_visit = bool(self.hp["first_visit"])
        self.v_table = np.full(self.nS, float(self.hp["initial_v"]))
        terminals = terminal_states(env)
        if terminals:
            self.v_table[sorted(terminals)] = 0.0
        if self.prediction:
            self.visits = np.zeros(self.nS, dtype=np.int64)  # counts of V, not Q
            given = TD0Agent._policy_array(self.hp["policy"], self.nS, self.nA, "mc")
            self.policy = np.full((self.nS, self.nA), 1.0 / self.nA) if given is None else given
        self._episode: list[Step] = []

    check_hyperparameters = classmethod(TD0Agent.check_hyperparameters.__func__)

    @property
    def v(self) -> np.ndarray:
        """Prediction: the estimate of v_π; control: max_a Q(s, a) (the greedy policy's)."""
        return self.v_table if self.prediction else super().v

    # ----- acting ---------------------------------------------------------------------------

    def _choose(self, s: int, actions: list[int]) -> int:
        if not self.prediction:
            return self.behaviour_action(s, actions)
        self._explored = False
        probs = np.array([float(self.policy[s, a]) for a in actions])
        total = probs.sum()
        u = self.rng.random()
        if total <= 0.0:
            return actions[int(u * len(actions))]
        return actions[min(int(np.searchsorted(np.cumsum(probs / total), u, "right")),
                           len(actions) - 1)]  # fmt: skip

    def act(self, obs: Any, info: dict | None = None, *, greedy: bool = True) -> int:
        """Prediction: an action drawn from π; control: greedy (or ε-greedy) on Q."""
        if not self.prediction:
            return super().act(obs, info, greedy=greedy)
        s = int(obs) - self._obs_start
        actions = self.available(info.get("action_mask") if info else None)
        return self._choose(s, actions) + self._act_start

    # ----- learning -------------------------------------------------------------------------

    def _update(self, t: Step) -> None:
        """Keep the step; at the terminal step, learn from every return of the episode."""
        self._episode.append(t)
        if t.terminated:
            self._learn_episode(self._episode)
            self._episode = []

    def _learn_episode(self, episode: list[Step]) -> None:
        keys = [step.s if self.prediction else (step.s, step.a) for step in episode]
        first = {}
        for index, key in enumerate(keys):
            first.setdefault(key, index)
        table = self.v_table if self.prediction else self.q
        g = 0.0
        for index in range(len(episode) - 1, -1, -1):
            step = episode[index]
            g = self.gamma * g + step.r  # G ← γG + R_{t+1}
            if self.first_visit and first[keys[index]] != index:
                continue  # first-visit: only the earliest visit of S_t (S_t, A_t) counts
            # V(S_t) ← V(S_t) + α [G_t − V(S_t)]  (Q(S_t, A_t) in control)
            self._move_toward(table, step, g, label="v" if self.prediction else "q",
                              rule="mc", terms={"G": g})  # fmt: skip

    def _end_episode(self) -> None:
        self._episode = []  # a truncated episode has no return: drop it
        super()._end_episode()
