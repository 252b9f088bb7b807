"""Monte Carlo prediction and control: learn from complete episodes' returns (S&B ch. 5).

Description:
    Notes 002 §5.5 define the value as an expected return, `V_π(s) = E_π[G_t | S_t = s]`;
    Monte Carlo estimates it by averaging the returns that followed visits of `s` (Sutton &
    Barto 2018, §5.1, first-visit MC prediction), with no bootstrap: where TD(0) (notes 002
    §5.6) moves V(S) toward `R + γV(S')` after every step, MC waits for the episode to end and
    moves it toward the whole return `G_t`:

    ```text
    G ← 0
    Loop for each step of the episode, t = T−1, T−2, …, 0:
        G ← γ G + R_{t+1}
        (first-visit: unless S_t appears in S_0 … S_{t−1})
        V(S_t) ← V(S_t) + α [G − V(S_t)]          (prediction)
        Q(S_t, A_t) ← Q(S_t, A_t) + α [G − Q(S_t, A_t)]   (control, S&B §5.4)
    ```

    `mode="prediction"` evaluates a fixed policy π (uniform random by default) like `td0`;
    `mode="control"` is on-policy ε-soft MC control (S&B §5.4): ε-greedy on Q, so the greedy
    policy improves as Q does. Constant α is the "constant-α MC" of S&B Example 6.2;
    `alpha=1, alpha_power=1` gives α = 1/n, the sample average of §5.1.

    An episode cut by truncation (the env's `max_steps`) ends before its return is known: MC
    completes the missing tail with the current estimate of the state where it was cut,
    `G ← V(S_T)` (`max_a Q(S_T, a)` in control) instead of 0, then runs the same backward
    loop (the n-step return of S&B §7.1 with n reaching the cut; the table agents bootstrap a
    truncated step the same way). Dropping such episodes would hide a loop from control: on the
    maze a greedy policy that walks in a circle is truncated every time and never learns that
    circling costs −0.01 a step (docs/monte-carlo.md).

    `exploring_starts=True` is Monte Carlo ES (S&B §5.3): every training episode starts in a
    state drawn uniformly from the env's `start_states` with a uniformly drawn first action,
    so every (s, a) keeps being tried; the env must start where it is told
    ([`ChosenStart`][lecture_rl.envs.protocols.ChosenStart], our GridWorld).

Arguments:
    alpha, gamma, alpha_power, alpha_delay: as in the other table agents.
    mode: `"prediction"` (V of π) or `"control"` (Q, ε-greedy).
    first_visit: True: first-visit MC; False: every-visit MC.
    epsilon, epsilon_decay, epsilon_min, initial_q: control's ε-greedy behaviour.
    initial_v: prediction's initial V of non-terminal states.
    policy: prediction's π: None (uniform random) or an `(nS, nA)` array of probabilities.
    exploring_starts: control: a random start state and first action each episode (S&B §5.3).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from lecture_rl.agents.hyperparameters import HyperparameterError, Param
from lecture_rl.agents.tabular import QTableAgent, Step
from lecture_rl.agents.td0 import TD0Agent
from lecture_rl.envs.protocols import start_states, terminal_states


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
        "exploring_starts": Param(False, "control: start each episode in a random state with a "
                                  "random first action (MC ES, S&B 5.3)", kind="bool"),
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
        self.exploring_starts = bool(self.hp["exploring_starts"])
        self._starts = start_states(env) if self.exploring_starts else None
        if self.exploring_starts and self.prediction:
            raise HyperparameterError(
                "mc: exploring_starts is for mode=control (it changes where episodes start, "
                "which would bias the prediction of v_π); drop it or set mode=control"
            )
        if self.exploring_starts and self._starts is None:
            name = self.env_id or type(getattr(env, "unwrapped", env)).__name__
            raise HyperparameterError(
                f"mc: exploring_starts needs an env that starts where it is told "
                f"(reset(options={{'start': s}})), which {name} does not; use "
                "LectureRL/GridWorld-v0 or drop exploring_starts"
            )
        self._first_action_random = False

    check_hyperparameters = classmethod(TD0Agent.check_hyperparameters.__func__)

    @property
    def v(self) -> np.ndarray:
        """Prediction: the estimate of v_π; control: max_a Q(s, a) (the greedy policy's)."""
        return self.v_table if self.prediction else super().v

    # ----- acting ---------------------------------------------------------------------------

    def _start_options(self) -> dict[str, Any] | None:
        """Exploring starts: S_0 drawn uniformly from the env's start states (S&B §5.3)."""
        if not self._starts:
            return None
        return {"start": self._starts[int(self.rng.random() * len(self._starts))]}

    def reset(self) -> None:
        """A new training episode: with exploring starts its first action is drawn uniformly."""
        self._first_action_random = self.exploring_starts

    def _choose(self, s: int, actions: list[int]) -> int:
        if self._first_action_random:  # exploring starts: A_0 uniform over the available actions
            self._first_action_random = False
            self._explored = True
            return actions[int(self.rng.random() * len(actions))]
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
        """Keep the step; at the episode's last step, learn from every return of the episode."""
        self._episode.append(t)
        if t.terminated:
            self._learn_episode(self._episode, 0.0)
            self._episode = []
        elif t.truncated:  # cut by a time limit: the tail of the return is estimated
            self._learn_episode(self._episode, self._value_of(t.s2, t.actions2))
            self._episode = []

    def _value_of(self, s: int, actions: list[int]) -> float:
        """The current estimate of the return from `s`: V(s), or max_a Q(s, a) in control."""
        if self.prediction:
            return float(self.v_table[s])
        return self.max_q(s, actions)

    def _learn_episode(self, episode: list[Step], tail: float) -> None:
        """The backward loop over the episode; `tail` is G after its last step (0 at a
        terminal state, the estimate of the state where a truncated episode was cut)."""
        keys = [step.s if self.prediction else (step.s, step.a) for step in episode]
        first = {}
        for index, key in enumerate(keys):
            first.setdefault(key, index)
        table = self.v_table if self.prediction else self.q
        g = tail
        for index in range(len(episode) - 1, -1, -1):
            step = episode[index]
            g = self.gamma * g + step.r  # G ← γG + R_{t+1}
            if self.first_visit and first[keys[index]] != index:
                continue  # first-visit: only the earliest visit of S_t (S_t, A_t) counts
            # V(S_t) ← V(S_t) + α [G_t − V(S_t)]  (Q(S_t, A_t) in control)
            self._move_toward(table, step, g, label="v" if self.prediction else "q",
                              rule="mc", terms={"G": g})  # fmt: skip

    def _end_episode(self) -> None:
        self._episode = []
        super()._end_episode()
