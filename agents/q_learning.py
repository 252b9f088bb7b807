"""Q-learning: off-policy TD control (notes 000 §7.e; Sutton & Barto eq. 6.8).

Description:
    Acts ε-greedily but bootstraps from the *greedy* action in the next state, whatever it does
    next, so it learns Q* while exploring:

    ```text
    δ_t = r_{t+1} + γ max_a Q(s_{t+1}, a) − Q(s_t, a_t)
    Q(s_t, a_t) ← Q(s_t, a_t) + α δ_t
    ```

    A terminal `s_{t+1}` contributes 0. Hyperparameters: see
    [`lecture_rl.agents.tabular`][lecture_rl.agents.tabular].

Example:
    >>> agent = lecture_rl.agents.make("q_learning", env, alpha=0.5, gamma=0.7, seed=0)
"""

from __future__ import annotations

from lecture_rl.agents.tabular import QTableAgent, Step


class QLearningAgent(QTableAgent):
    """Q-learning (off-policy TD control): bootstraps from max_a Q(s', a)."""

    name = "q_learning"

    def _update(self, t: Step) -> None:
        q_next = 0.0 if t.terminated else self.max_q(t.s2, t.actions2)  # max_a Q(s', a)
        target = t.r + self.gamma * q_next  # r_{t+1} + γ max_a Q(s_{t+1}, a)
        terms = {"r": t.r, "gamma": self.gamma, "max_q_next": q_next}
        self._move_toward(self.q, t, target, label="q", terms=terms)
