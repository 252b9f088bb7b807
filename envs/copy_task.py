"""Delayed copy (and reverse copy): remember a sequence of symbols across a gap, then replay it."""

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
    tape_rows,
)

KEY_NAMES = "0123456789abcdefghijklmnopqrstuvwxyz"  # play keys of symbols 0, 1, 2, ...


def check_copy_arguments(length: Any, symbols: Any, delay: Any, reverse: Any) -> tuple:
    """Validated `(length, symbols, delay, reverse)` of a Copy task."""
    length = check_int("length", length, 1, " (symbols to remember per episode)")
    symbols = check_int("symbols", symbols, 2, " (the alphabet size; 1 symbol is nothing to copy)")
    delay = check_int("delay", delay, 0, " (blank steps between the input and the go marker)")
    if not isinstance(reverse, (bool, np.bool_)):
        raise EnvArgumentError(f"reverse={reverse!r} must be True or False")
    return length, symbols, delay, bool(reverse)


def parse_sequences(value: Any, k: int, length: int, symbols: int) -> np.ndarray:
    """A user-given sequence (`[length]`) or sequences (`[k, length]`) as `[k, length]`."""
    array = tape_rows(value, k, length)
    if array is None:
        raise EnvArgumentError(
            f"reset option 'sequence' must hold length={length} symbols"
            + (f" (or one row per copy, shape ({k}, {length}))" if k > 1 else "")
            + f", got shape {np.shape(value)}"
        )
    if array.dtype.kind not in "iu" or array.min() < 0 or array.max() >= symbols:
        raise EnvArgumentError(
            f"reset option 'sequence' must contain integers in [0, {symbols - 1}], got {value!r}"
        )
    return array.astype(np.int64)


def copy_tapes(
    sequences: np.ndarray, symbols: int, delay: int, reverse: bool
) -> tuple[np.ndarray, np.ndarray]:
    """`(obs_tape [k, T+1], target_tape [k, T])` of Copy episodes, T = 2·length + delay + 1.

    Step t shows `obs_tape[t]`: the sequence (t < length), `delay` blanks, the go marker, then
    blanks while the agent recalls; `target_tape[t]` is the symbol the action at step t must
    be (the i-th symbol, last-to-first when `reverse`), `-1` where actions are ignored.
    """
    k, length = sequences.shape
    blank, go = symbols, symbols + 1
    steps = 2 * length + delay + 1
    obs_tape = np.full((k, steps + 1), blank, dtype=np.int64)
    obs_tape[:, :length] = sequences
    obs_tape[:, length + delay] = go
    target_tape = np.full((k, steps), -1, dtype=np.int64)
    target_tape[:, length + delay + 1 :] = sequences[:, ::-1] if reverse else sequences
    return obs_tape, target_tape


def copy_hidden_tape(target_tape: np.ndarray, length: int, delay: int, reverse: bool) -> np.ndarray:
    """`[k, T+1]`: the symbol to recall next with observation `t` shown, `-1` where none.

    In the recall phase it is the symbol the action at step t must be; before it, the first
    symbol to recall once it has been shown (step 0; with `reverse` the last input step);
    `-1` before that and on the terminal observation.
    """
    k, steps = target_tape.shape
    recall_start = length + delay + 1
    hidden = np.full((k, steps + 1), -1, dtype=np.int64)
    hidden[:, recall_start:steps] = target_tape[:, recall_start:]
    seen_at = length - 1 if reverse else 0
    hidden[:, seen_at:recall_start] = target_tape[:, recall_start, None]
    return hidden


class CopyEnv(LectureEnv):
    """Delayed copy: watch `length` symbols, wait, then reproduce them from memory.

    ## Description
    The input phase shows one symbol per step, then `delay` blank steps follow, then a "go"
    marker, then `length` recall steps with blank observations. In the i-th recall step the
    action must be the i-th symbol of the sequence (the last-to-first order with
    `reverse=True`). Actions before the recall phase are ignored. Nothing in a recall
    observation tells the answer, so a memoryless policy scores `1/symbols` on average; an
    agent must store the sequence (notes 003: memory across time, the LSTM's long gaps).

    ## Action Space
    `Discrete(symbols)`: the symbol recalled (ignored outside the recall phase).

    ## Observation Space
    `Discrete(symbols + 2)`: symbol ids `0 .. symbols-1`, `symbols` = blank,
    `symbols + 1` = go marker.

    ## Rewards
    +1 per correct recall, 0 otherwise; accuracy = return / `answers_per_episode`.

    ## Starting State
    A sequence of `length` symbols drawn uniformly (`lecture_rl.envs.streams`: a pure
    function of seed, episode and step) (or given with
    `reset(options={"sequence": [...]})`); the first observation is its first symbol.

    ## Episode End
    Terminates after `2·length + delay + 1` steps (the last recall). No truncation.

    ## Information
    Step info: `phase` (`"input"`, `"delay"`, `"go"` or `"recall"`), and in recall
    steps `target` (the expected symbol) and `correct`. `info["hidden"]` (reset and step
    info) is the task's hidden variable for the observation just returned: the symbol to
    recall next ([`copy_hidden_tape`][lecture_rl.envs.copy_task.copy_hidden_tape]; `-1` before it
    was shown and at the end), for viewers and probes, not for agents to read.

    ## Arguments
    - `length` (int >= 1, default 5): symbols to copy.
    - `symbols` (int >= 2, default 4): alphabet size.
    - `delay` (int >= 0, default 0): blank steps between the input and the go marker.
    - `reverse` (bool, default False): recall last-to-first.
    - `render_mode`: `"human"`, `"rgb_array"`, `"ansi"` or `None`.

    ```python
    import gymnasium as gym
    import lecture_rl.envs  # noqa: F401
    env = gym.make("LectureRL/Copy-v0", length=4, delay=3, reverse=True)
    obs, info = env.reset(seed=0)
    ```
    """

    metadata = {"render_modes": ["human", "rgb_array", "ansi"], "render_fps": 4}
    window_title = "lecture-rl: Copy (delayed recall)"

    def __init__(
        self,
        length: int = 5,
        symbols: int = 4,
        delay: int = 0,
        reverse: bool = False,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode)
        self.length, self.symbols, self.delay, self.reverse = check_copy_arguments(
            length, symbols, delay, reverse
        )
        self.blank, self.go = self.symbols, self.symbols + 1
        self.episode_steps = 2 * self.length + self.delay + 1
        self.recall_start = self.length + self.delay + 1  # first graded step
        self.answers_per_episode = self.length
        self.observation_space = spaces.Discrete(self.symbols + 2)
        self.action_space = spaces.Discrete(self.symbols)
        self.sequence = np.zeros(self.length, dtype=np.int64)
        self.obs_tape, self.target_tape = copy_tapes(
            self.sequence[None], self.symbols, self.delay, self.reverse
        )
        self.hidden = copy_hidden_tape(self.target_tape, self.length, self.delay, self.reverse)[0]
        self.t = 0
        self.answers: list[int] = []  # the actions of the recall phase

    def phase(self, t: int) -> str:
        """The phase of step `t`: `input`, `delay`, `go` or `recall`."""
        if t < self.length:
            return "input"
        if t < self.length + self.delay:
            return "delay"
        return "go" if t == self.length + self.delay else "recall"

    def _reset(self, options: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        check_options(options, ("sequence",))
        if options.get("sequence") is not None:
            self.sequence = parse_sequences(options["sequence"], 1, self.length, self.symbols)[0]
        else:
            # symbol t of episode e: streams.integers(key(seed, e), t, symbols), as batched
            self.sequence = streams.integers(self.episode_key, np.arange(self.length), self.symbols)
        obs_tape, target_tape = copy_tapes(
            self.sequence[None], self.symbols, self.delay, self.reverse
        )
        self.obs_tape, self.target_tape = obs_tape[0], target_tape[0]
        self.hidden = copy_hidden_tape(target_tape, self.length, self.delay, self.reverse)[0]
        self.t = 0
        self.answers = []
        return int(self.obs_tape[0]), {HIDDEN_KEY: int(self.hidden[0])}

    def _step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        info: dict[str, Any] = {"phase": self.phase(self.t)}
        target = int(self.target_tape[self.t])  # the i-th symbol in recall, -1 before
        reward = 0.0
        if target >= 0:
            correct = action == target
            reward = 1.0 if correct else 0.0  # +1 per correct recall
            self.answers.append(action)
            info.update(target=target, correct=correct)
        self.t += 1
        terminated = self.t == self.episode_steps
        info[HIDDEN_KEY] = int(self.hidden[self.t])
        return int(self.obs_tape[self.t]), reward, terminated, False, info

    def get_keys_to_action(self) -> dict[tuple[str, ...], int]:
        """Symbol `i` on key `KEY_NAMES[i]` (digits, then letters; the first 36 symbols),
        for `gymnasium.utils.play.play(env)`."""
        return {(key,): i for i, key in enumerate(KEY_NAMES[: self.symbols])}

    # ----------------------------------------------------------------- pictures
    def tape_symbol(self, obs: Any) -> str:
        """An observation as the tape shows it: the symbol, `·` for blank, `GO` for go
        (the `TapeTask` protocol)."""
        obs = int(obs)
        if obs == self.blank:
            return "·"
        if obs == self.go:
            return "GO"
        return str(obs)

    def _rows(self) -> list[tuple[str, list[rendering.TapeCell]]]:
        shown = min(self.t + 1, self.episode_steps)
        seen: list[rendering.TapeCell] = []
        for o in self.obs_tape[:shown]:
            if o == self.go:
                seen.append(("GO", rendering.HIGHLIGHT))
            elif o == self.blank:
                seen.append(("", rendering.BIT_OFF))
            else:  # a symbol to remember, in its own colour
                seen.append((str(o), rendering.symbol_color(int(o), self.symbols)))
        answers: list[rendering.TapeCell] = [None] * self.recall_start
        targets: list[rendering.TapeCell] = [None] * self.recall_start
        for i, a in enumerate(self.answers):
            want = int(self.target_tape[self.recall_start + i])
            answers.append((str(a), rendering.RIGHT if a == want else rendering.WRONG))
            targets.append((str(want), rendering.symbol_color(want, self.symbols)))
        return [("seen", seen), ("answer", answers), ("target", targets)]

    def _title(self) -> str:
        right = int(sum(r == "✓" for r in self._marks()))
        order = "reverse copy" if self.reverse else "copy"
        phase = self.phase(min(self.t, self.episode_steps - 1))
        return (
            f"{order}  step {self.t}/{self.episode_steps}  {phase}"
            f"  right {right}/{len(self.answers)}"
        )

    def _marks(self) -> list[str]:
        wants = self.target_tape[self.recall_start : self.recall_start + len(self.answers)]
        return ["✓" if a == w else "✗" for a, w in zip(self.answers, wants)]

    def _draw_frame(self) -> Any:
        cursor = self.t if self.t < self.episode_steps else None
        return rendering.draw_tape_frame(
            self._title(), self._rows(), self.episode_steps, cursor=cursor
        )

    def _render_text(self) -> str:
        shown = min(self.t + 1, self.episode_steps)
        width = max(len(str(self.symbols - 1)), 2)
        cells = [self.tape_symbol(o).rjust(width) for o in self.obs_tape[:shown]]
        pad = " " * width * self.recall_start
        lines = [
            self._title(),
            "seen    " + "".join(cells),
            "answer  " + pad + "".join(str(a).rjust(width) for a in self.answers),
            "target  "
            + pad
            + "".join(
                str(int(w)).rjust(width)
                for w in self.target_tape[self.recall_start : self.recall_start + len(self.answers)]
            ),
            "        " + pad + "".join(m.rjust(width) for m in self._marks()),
        ]
        return "\n".join(lines) + "\n"
