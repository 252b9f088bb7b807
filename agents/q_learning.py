"""Q-learning: off-policy TD control (notes 000 §7.e; Sutton & Barto eq. 6.8).

Description:
    Acts ε-greedily but bootstraps from the *greedy* action in the next state, whatever it does
    next, so it learns Q* while exploring::

        δ_t = r_{t+1} + γ max_a Q(s_{t+1}, a) − Q(s_t, a_t)
        Q(s_t, a_t) ← Q(s_t, a_t) + α δ_t

    A terminal ``s_{t+1}`` contributes 0. Hyperparameters: see :mod:`lecture_rl.agents.tabular`.

Example:
    >>> agent = lecture_rl.agents.make("q_learning", env, alpha=0.5, gamma=0.7, seed=0)
"""

from __future__ import annotations

from lecture_rl.agents.tabular import TabularAgent


class QLearningAgent(TabularAgent):
    """Q-learning (off-policy TD control): bootstraps from max_a Q(s', a)."""

    name = "q_learning"
    defaults = dict(TabularAgent.defaults)

    def _update(self, s, a, r, s2, terminated, actions2, a2) -> None:
        q_next = 0.0 if terminated else self.max_q(s2, actions2)  # max_a Q(s', a); 0 if terminal
        target = r + self.gamma * q_next  # r_{t+1} + γ max_a Q(s_{t+1}, a)
        self._move_toward(self.q, s, a, target, r=r, s2=s2, a_next=None, terminated=terminated)
