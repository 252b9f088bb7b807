"""SARSA: on-policy TD control (notes 000 §7.e; Sutton & Barto §6.4).

Description:
    Chooses the next action a_{t+1} with its own ε-greedy policy *first*, then bootstraps from
    it, so the exploration it actually does is priced into Q (the tuple S, A, R, S', A' names
    it):

    ```text
    δ_t = r_{t+1} + γ Q(s_{t+1}, a_{t+1}) − Q(s_t, a_t)
    Q(s_t, a_t) ← Q(s_t, a_t) + α δ_t
    ```

    A terminal `s_{t+1}` contributes 0. On the cliff (S&B Example 6.6) this makes SARSA take
    the safer path away from the edge. Hyperparameters: see
    [`lecture_rl.agents.tabular`][lecture_rl.agents.tabular].
"""

from __future__ import annotations

from lecture_rl.agents.tabular import QTableAgent, Step


class SarsaAgent(QTableAgent):
    """SARSA (on-policy TD control): bootstraps from Q(s', a') of the next action taken."""

    name = "sarsa"
    on_policy = True

    def _update(self, t: Step) -> None:
        q_next = 0.0 if t.terminated else float(self.q[t.s2, t.a2])  # Q(s', a'); 0 if terminal
        target = t.r + self.gamma * q_next  # r_{t+1} + γ Q(s_{t+1}, a_{t+1})
        terms = {"r": t.r, "gamma": self.gamma, "q_next": q_next}
        a_next = None if t.terminated else t.a2
        self._move_toward(self.q, t, target, label="q", a_next=a_next, terms=terms)
