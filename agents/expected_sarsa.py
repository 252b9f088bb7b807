"""Expected SARSA (Sutton & Barto §6.6).

Description:
    Like SARSA, but bootstraps from the *expected* value of the next action under the current
    ε-greedy policy instead of the one sampled action, which removes that sampling noise:

    ```text
    E_π[Q(s', ·)] = Σ_a π(a | s') Q(s', a),   π = ε-greedy over the available actions
    δ_t = r_{t+1} + γ E_π[Q(s_{t+1}, ·)] − Q(s_t, a_t)
    Q(s_t, a_t) ← Q(s_t, a_t) + α δ_t
    ```

    π gives ε / |A(s')| to each available action and splits the remaining 1 − ε equally among
    the greedy ones (ties are broken at random when acting, so they share the greedy mass).
    With ε = 0 it is Q-learning. Hyperparameters: see
    [`lecture_rl.agents.tabular`][lecture_rl.agents.tabular].
"""

from __future__ import annotations

from lecture_rl.agents.tabular import QTableAgent, Step


class ExpectedSarsaAgent(QTableAgent):
    """Expected SARSA: bootstraps from Σ_a π(a|s') Q(s', a) under the ε-greedy policy."""

    name = "expected_sarsa"

    def expected_q(self, s: int, actions: list[int]) -> float:
        """Σ_a π(a | s) Q(s, a) for the ε-greedy policy π over `actions`."""
        row = self.q[s].tolist()
        values = [row[a] for a in actions]
        eps = self.epsilon
        mean = sum(values) / len(values)
        # the tied greedy actions share 1 − ε and all have value max, so together (1 − ε)·max
        return eps * mean + (1.0 - eps) * max(values)  # ε·mean_a Q + (1 − ε)·max_a Q

    def _update(self, t: Step) -> None:
        q_next = 0.0 if t.terminated else self.expected_q(t.s2, t.actions2)  # E_π[Q(s', ·)]
        target = t.r + self.gamma * q_next  # r_{t+1} + γ Σ_a π(a|s_{t+1}) Q(s_{t+1}, a)
        terms = {"r": t.r, "gamma": self.gamma, "expected_q_next": q_next}
        self._move_toward(self.q, t, target, label="q", terms=terms)
