"""Parity as a native numpy vector env: `num_envs` bit streams stepped at once."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from lecture_rl.envs import streams
from lecture_rl.envs.base import EnvArgumentError, check_int
from lecture_rl.envs.parity import parity_hidden_tape
from lecture_rl.envs.tape_vector import TapeVectorEnv, batch_rows


def parity_tapes(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(obs_tape, target_tape)` for tapes of bits `[k, length]`.

    The observation at step t is bit x_t (0 after the last answer); the graded answer is the
    running parity y_t = x_1 ⊕ ... ⊕ x_t (notes 003, Bit-stream XOR).
    """
    k, length = bits.shape
    obs_tape = np.zeros((k, length + 1), dtype=np.int64)
    obs_tape[:, :length] = bits
    return obs_tape, np.bitwise_xor.accumulate(bits, axis=1)  # y_t = y_{t-1} ⊕ x_t


class ParityVectorEnv(TapeVectorEnv):
    """`num_envs` copies of [`ParityEnv`][lecture_rl.envs.parity.ParityEnv] stepped in numpy.

    Same dynamics as the single env: the observation is the current bit, the action the claimed
    parity of all bits so far, reward 1 if right; every copy terminates after `length` steps.
    `infos["parity"]` holds the true parity each copy's answer was graded against (mask
    `infos["_parity"]`; false for a copy that was only reset in this step);
    `infos["hidden"]` the running parity with the returned observation (as the single env).

    ## Arguments
    - `num_envs` (int >= 1): copies.
    - `length` (int >= 1, default 16): bits per episode.
    - `autoreset_mode`: `AutoresetMode.NEXT_STEP` (default) or `AutoresetMode.SAME_STEP`.

    `reset(options={"bits": ...})` fixes the tapes: shape `(length,)` for every copy or
    `(num_envs, length)`; with `options["reset_mask"]` only the masked copies restart.

    ```python
    import gymnasium as gym
    import lecture_rl.envs  # noqa: F401
    envs = gym.make_vec("LectureRL/Parity-v0", num_envs=256,
                        vectorization_mode="vector_entry_point")
    obs, infos = envs.reset(seed=0)
    ```
    """

    info_key = "parity"
    single_id, title = "LectureRL/Parity-v0", "Parity"
    reset_option_keys = ("bits",)

    # Intentional twin (duplicate scan): a native vector env repeats its single env's keywords (here
    # and in copy_task_vector.py), which gym.make_vec passes through; the shared work is in
    # TapeVectorEnv.
    def __init__(
        self,
        num_envs: int = 1,
        length: int = 16,
        autoreset_mode: Any = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(num_envs, autoreset_mode, render_mode)
        self.length = check_int("length", length, 1, " (the number of bits per episode)")
        self.episode_steps = self.length
        self.answers_per_episode = self.length
        self.single_observation_space = spaces.Discrete(2)
        self.single_action_space = spaces.Discrete(2)
        self._setup()

    def _draw_tapes(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return parity_tapes(streams.integers(keys[:, None], np.arange(self.length), 2))

    def _hidden_tape(self, obs_tape: np.ndarray, target_tape: np.ndarray) -> np.ndarray:
        return parity_hidden_tape(target_tape)

    def _tapes_from_options(self, options: dict[str, Any], k: int) -> tuple[np.ndarray, ...] | None:
        if options.get("bits") is None:
            return None
        bits = batch_rows("bits", options["bits"], k, self.length)
        if bits.dtype.kind not in "biu" or np.any((bits != 0) & (bits != 1)):
            raise EnvArgumentError("reset option 'bits' must contain only 0 and 1")
        return parity_tapes(bits.astype(np.int64))
