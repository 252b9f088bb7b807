"""Copy as a native numpy vector env: `num_envs` delayed-recall episodes stepped at once."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from lecture_rl.envs import streams
from lecture_rl.envs.copy_task import (
    check_copy_arguments,
    copy_hidden_tape,
    copy_tapes,
    parse_sequences,
)
from lecture_rl.envs.tape_vector import TapeVectorEnv


class CopyVectorEnv(TapeVectorEnv):
    """`num_envs` copies of [`CopyEnv`][lecture_rl.envs.copy_task.CopyEnv] stepped in numpy.

    Same dynamics as the single env (input, `delay` blanks, go marker, `length` recall steps;
    +1 per correct recall). `infos["target"]` holds the symbol each copy's action was graded
    against, with mask `infos["_target"]` true only in recall steps; `infos["hidden"]` the
    symbol to recall next with the returned observation (as the single env).

    ## Arguments
    - `num_envs` (int >= 1): copies.
    - `length`, `symbols`, `delay`, `reverse`: as `CopyEnv`.
    - `autoreset_mode`: `AutoresetMode.NEXT_STEP` (default) or `AutoresetMode.SAME_STEP`.

    `reset(options={"sequence": ...})` fixes the sequences: shape `(length,)` for every copy
    or `(num_envs, length)`; with `options["reset_mask"]` only the masked copies restart.
    """

    info_key = "target"
    single_id, title = "LectureRL/Copy-v0", "Copy"
    reset_option_keys = ("sequence",)

    def __init__(
        self,
        num_envs: int = 1,
        length: int = 5,
        symbols: int = 4,
        delay: int = 0,
        reverse: bool = False,
        autoreset_mode: Any = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(num_envs, autoreset_mode, render_mode)
        self.length, self.symbols, self.delay, self.reverse = check_copy_arguments(
            length, symbols, delay, reverse
        )
        self.episode_steps = 2 * self.length + self.delay + 1
        self.answers_per_episode = self.length
        self.single_observation_space = spaces.Discrete(self.symbols + 2)
        self.single_action_space = spaces.Discrete(self.symbols)
        self._setup()

    def _draw_tapes(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sequences = streams.integers(keys[:, None], np.arange(self.length), self.symbols)
        return copy_tapes(sequences, self.symbols, self.delay, self.reverse)

    def _hidden_tape(self, obs_tape: np.ndarray, target_tape: np.ndarray) -> np.ndarray:
        return copy_hidden_tape(target_tape, self.length, self.delay, self.reverse)

    def _tapes_from_options(self, options: dict[str, Any], k: int) -> tuple[np.ndarray, ...] | None:
        if options.get("sequence") is None:
            return None
        sequences = parse_sequences(options["sequence"], k, self.length, self.symbols)
        return copy_tapes(sequences, self.symbols, self.delay, self.reverse)
