"""Double Q-learning (Sutton & Barto §6.7).

Description:
    Q-learning's ``max`` of noisy estimates is biased upwards (maximisation bias). Double
    Q-learning keeps two tables; on each step a fair coin picks one to update, the *other* one
    values the action the updated one thinks is best::

        with probability ½:  a* = argmax_a Q1(s', a)
                             δ = r + γ Q2(s', a*) − Q1(s, a);   Q1(s, a) ← Q1(s, a) + α δ
        otherwise the same with Q1 and Q2 swapped.

    It acts ε-greedily on Q1 + Q2. ``agent.q`` is (Q1 + Q2) / 2; ``agent.q1``/``agent.q2`` are
    the two tables. Hyperparameters: see :mod:`lecture_rl.agents.tabular`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from lecture_rl.agents.tabular import TabularAgent


class DoubleQAgent(TabularAgent):
    """Double Q-learning: two tables, one picks argmax a*, the other values it."""

    name = "double_q"
    defaults = dict(TabularAgent.defaults)
    table_names = ("q1", "q2")

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        # the base's ``self.q = np.full(...)`` goes through the setter below: Q1 = Q2 = initial
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

    def greedy_action(self, s: int, actions: list[int] | None = None) -> int:
        row = self._sum[s].tolist()  # act on Q1 + Q2
        candidates = range(self.nA) if actions is None else actions
        best = max(row[a] for a in candidates)
        ties = [a for a in candidates if row[a] == best]
        return ties[0] if len(ties) == 1 else ties[int(self.rng.random() * len(ties))]

    def _update(self, s, a, r, s2, terminated, actions2, a2) -> None:
        if self.rng.random() < 0.5:  # a fair coin picks the table to update
            table, other, label = self.q1, self.q2, "q1"
        else:
            table, other, label = self.q2, self.q1, "q2"
        if terminated:
            q_next = 0.0
        else:
            row = table[s2].tolist()
            best = max(row[b] for b in actions2)
            ties = [b for b in actions2 if row[b] == best]
            a_star = ties[0] if len(ties) == 1 else ties[int(self.rng.random() * len(ties))]
            q_next = float(other[s2, a_star])  # Q2(s', argmax_a Q1(s', a))
        target = r + self.gamma * q_next  # r + γ Q2(s', a*)
        self._move_toward(  # Q1(s, a) ← Q1(s, a) + α δ (or Q2, by the coin)
            table, s, a, target, r=r, s2=s2, a_next=None, terminated=terminated, label=label
        )
        self._sum[s, a] = self.q1[s, a] + self.q2[s, a]

    def _load_state(self, folder, meta) -> None:
        super()._load_state(folder, meta)
        self._sum = self.q1 + self.q2
