"""Bit-stream XOR (Parity): the lecture's first task that needs memory (notes 003)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from lecture_rl.envs import rendering, streams
from lecture_rl.envs.base import (
    HIDDEN_KEY,
    EnvArgumentError,
    LectureEnv,
    check_int,
    check_options,
)


def parse_bits(bits: Any, length: int, *, name: str = "bits") -> np.ndarray:
    """Validate a user-given tape of `length` bits (a list or array of 0/1)."""
    array = np.asarray(bits)
    if array.shape != (length,):
        raise EnvArgumentError(
            f"reset option {name!r} must hold exactly length={length} bits, got shape {array.shape}"
        )
    if array.dtype.kind not in "biu" or np.any((array != 0) & (array != 1)):
        raise EnvArgumentError(f"reset option {name!r} must contain only 0 and 1, got {bits!r}")
    return array.astype(np.int64)


def parity_hidden_tape(parity: np.ndarray) -> np.ndarray:
    """`[k, T+1]`: the running parity with observation `t` shown, `x_1 ⊕ ... ⊕ x_(t+1)`
    (the terminal observation keeps the final parity)."""
    return np.concatenate([parity, parity[:, -1:]], axis=1)


class ParityEnv(LectureEnv):
    """Bit-stream XOR, notes 003 "Example: Bit-stream XOR (Parity)".

    ## Description
    Each step shows one fresh random bit `x_t`. The agent answers the parity of every bit seen
    so far, this one included: `y_t = x_1 ⊕ x_2 ⊕ ... ⊕ x_t` (1 if an odd number of ones so
    far, 0 if even). The observation is only the current bit, so the answer cannot be read off
    the observation: the best memoryless policy answers the first bit right (its parity is the
    bit) and guesses the rest, (1 + (length-1)/2) / length = 17/32 = 0.531 at length 16; an agent
    must carry the running parity in memory (`h_t = f(x_t, h_{t-1})`), which is what the
    lecture's RNN/LSTM are for.

    ## Action Space
    `Discrete(2)`: the claimed parity, 0 (even) or 1 (odd).

    ## Observation Space
    `Discrete(2)`: the bit shown this step. After the last answer (terminal observation) it is 0.

    ## Rewards
    +1 for a right answer, 0 for a wrong one; the return of an episode is the number of right
    answers, so accuracy = return / `answers_per_episode`.

    ## Starting State
    A tape of `length` bits drawn uniformly (`lecture_rl.envs.streams`: a pure function of
    seed, episode and step) (or given with
    `reset(options={"bits": [...]})`); the first observation is the first bit.

    ## Episode End
    Terminates after `length` answers. No truncation.

    ## Information
    Each step's `info["parity"]` is the true parity the answer was graded against and
    `info["correct"]` whether the answer was right. `info["hidden"]` (reset and step info)
    is the task's hidden variable for the observation just returned: the running parity of
    every bit shown so far, that bit included, which is what a memory must hold after reading
    it (it equals the answer the next action is graded against; for viewers and probes, not
    for agents to read).

    ## Arguments
    - `length` (int >= 1, default 16): bits, and answers, per episode.
    - `render_mode`: `"human"`, `"rgb_array"`, `"ansi"` or `None`.

    ```python
    import gymnasium as gym
    import lecture_rl.envs  # noqa: F401
    env = gym.make("LectureRL/Parity-v0", length=8)
    obs, info = env.reset(seed=0)
    ```
    """

    metadata = {"render_modes": ["human", "rgb_array", "ansi"], "render_fps": 4}
    window_title = "lecture-rl: Parity (bit-stream XOR)"

    def __init__(self, length: int = 16, render_mode: str | None = None) -> None:
        super().__init__(render_mode)
        self.length = check_int("length", length, 1, " (the number of bits per episode)")
        self.answers_per_episode = self.length
        self.observation_space = spaces.Discrete(2)
        self.action_space = spaces.Discrete(2)
        self.bits = np.zeros(self.length, dtype=np.int64)
        self.parity = np.zeros(self.length, dtype=np.int64)
        self.hidden = np.zeros(self.length + 1, dtype=np.int64)
        self.t = 0  # answers given so far in this episode
        self.answers: list[int] = []

    def _reset(self, options: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        check_options(options, ("bits",))
        if options.get("bits") is not None:
            self.bits = parse_bits(options["bits"], self.length)
        else:
            # bit t of episode e: streams.integers(key(seed, e), t, 2), as in the vector env
            self.bits = streams.integers(self.episode_key, np.arange(self.length), 2)
        self.parity = np.bitwise_xor.accumulate(self.bits)  # y_t = x_1 ⊕ ... ⊕ x_t
        self.hidden = parity_hidden_tape(self.parity[None])[0]
        self.t = 0
        self.answers = []
        return int(self.bits[0]), {HIDDEN_KEY: int(self.hidden[0])}

    def _step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        parity = int(self.parity[self.t])
        correct = action == parity
        reward = 1.0 if correct else 0.0  # +1 per right answer
        self.answers.append(action)
        self.t += 1
        terminated = self.t == self.length
        obs = 0 if terminated else int(self.bits[self.t])  # the next bit, never the answer
        info = {"parity": parity, "correct": correct, HIDDEN_KEY: int(self.hidden[self.t])}
        return obs, reward, terminated, False, info

    def get_keys_to_action(self) -> dict[tuple[str, ...], int]:
        """Keys 0 and 1 claim even or odd parity, for `gymnasium.utils.play.play(env)`."""
        return {("0",): 0, ("1",): 1}

    def tape_symbol(self, obs: Any) -> str:
        """The bit seen, as the tape shows it (the
        `TapeTask` protocol)."""
        return str(int(obs))

    # ----------------------------------------------------------------- pictures
    def _tape_rows(self) -> list[tuple[str, list[rendering.TapeCell]]]:
        shown = min(self.t + 1, self.length)
        bit_cells: list[rendering.TapeCell] = [
            (str(b), rendering.BIT_ON if b else rendering.BIT_OFF) for b in self.bits[:shown]
        ]
        answer_cells: list[rendering.TapeCell] = [
            (str(a), rendering.RIGHT if a == p else rendering.WRONG)
            for a, p in zip(self.answers, self.parity)
        ]
        parity_cells: list[rendering.TapeCell] = [
            (str(p), rendering.CELL) for p in self.parity[: len(self.answers)]
        ]
        return [("bit", bit_cells), ("answer", answer_cells), ("parity", parity_cells)]

    def _title(self) -> str:
        right = sum(int(a == p) for a, p in zip(self.answers, self.parity))
        return f"Parity  step {self.t}/{self.length}  right {right}/{len(self.answers)}"

    # Intentional twin (duplicate scan): each tape env (here and copy_task.py) lays out its own rows
    # for the shared tape renderer.
    def _draw_frame(self) -> Any:
        cursor = self.t if self.t < self.length else None
        return rendering.draw_tape_frame(
            self._title(), self._tape_rows(), self.length, cursor=cursor
        )

    def _render_text(self) -> str:
        shown = min(self.t + 1, self.length)
        marks = "".join("✓" if a == p else "✗" for a, p in zip(self.answers, self.parity))
        lines = [
            self._title(),
            "bit     " + "".join(str(b) for b in self.bits[:shown]),
            "answer  " + "".join(str(a) for a in self.answers),
            "parity  " + "".join(str(p) for p in self.parity[: len(self.answers)]),
            "        " + marks,
        ]
        return "\n".join(lines) + "\n"
