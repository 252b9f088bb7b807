"""Double Q-learning (Sutton & Barto §6.7).

Description:
    Q-learning's `max` of noisy estimates is biased upwards (maximisation bias). Double
    Q-learning keeps two tables; on each step a fair coin picks one to update, the *other* one
    values the action the updated one thinks is best:

    ```text
    with probability ½:  a* = argmax_a Q1(s', a)
                         δ = r + γ Q2(s', a*) − Q1(s, a);   Q1(s, a) ← Q1(s, a) + α δ
    otherwise the same with Q1 and Q2 swapped.
    ```

    It acts ε-greedily on Q1 + Q2. `agent.q` is (Q1 + Q2) / 2; `agent.q1`/`agent.q2` are
    the two tables. Hyperparameters: see [`lecture_rl.agents.tabular`][lecture_rl.agents.tabular].
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from lecture_rl.agents.tabular import QTableAgent, Step, argmax_ties, pick


class DoubleQAgent(QTableAgent):
    """Double Q-learning: two tables, one picks argmax a*, the other values it."""

    name = "double_q"
    table_names = ("q1", "q2")

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        # the base's `self.q = np.full(...)` goes through the setter below: Q1 = Q2 = initial
        super().__init__(env, seed=seed, **hyperparameters)

    @property
    def q(self) -> np.ndarray:
        """(Q1 + Q2) / 2, the agent's estimate of Q."""
        return self._sum / 2.0

    @q.setter
    def q(self, value: np.ndarray) -> None:
        value = np.asarray(value, dtype=float)
        self.q1, self.q2 = value.copy(), value.copy()
        self._sum = self.q1 + self.q2  # the acting table Q1 + Q2, kept in step with updates

    def greedy_actions(self, s: int, actions: list[int] | None = None) -> list[int]:
        """The greedy set of Q1 + Q2 (the acting table)."""
        return argmax_ties(self._sum[s].tolist(), self._all_actions if actions is None else actions)

    def _update(self, t: Step) -> None:
        if self.rng.random() < 0.5:  # a fair coin picks the table to update
            table, other, label = self.q1, self.q2, "q1"
        else:
            table, other, label = self.q2, self.q1, "q2"
        if t.terminated:
            q_next = 0.0
        else:
            a_star = pick(argmax_ties(table[t.s2].tolist(), t.actions2), self.rng)  # argmax Q1
            q_next = float(other[t.s2, a_star])  # Q2(s', argmax_a Q1(s', a))
        target = t.r + self.gamma * q_next  # r + γ Q2(s', a*)
        terms = {"r": t.r, "gamma": self.gamma, "other_q_next": q_next}
        self._move_toward(table, t, target, label=label, terms=terms)  # Q1 ← Q1 + α δ (or Q2)
        self._sum[t.s, t.a] = self.q1[t.s, t.a] + self.q2[t.s, t.a]

    def _load_state(self, folder, meta) -> None:
        super()._load_state(folder, meta)
        self._sum = self.q1 + self.q2
