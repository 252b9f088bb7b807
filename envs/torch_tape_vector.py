"""Parity and Copy as torch batched envs (see `lecture_rl.envs.torch_vector`).

Description:
    The numpy versions (`tape_vector`) draw each episode's two tapes
    (observations and graded answers) when it starts. Here nothing is stored per episode but
    the key: every entry of the tapes is a pure function of `(key, t)`, computed at step
    `t` for all copies with a few elementwise tensor operations, so an autoreset in some
    copies costs no masked writes and no host round-trip. Parity keeps one more number per
    copy, the running parity `y_t = y_{t-1} ⊕ x_t` (notes 003, Bit-stream XOR).
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from lecture_rl.envs import torch_streams
from lecture_rl.envs.base import HIDDEN_KEY, check_int
from lecture_rl.envs.copy_task import CopyEnv, check_copy_arguments
from lecture_rl.envs.parity import ParityEnv
from lecture_rl.envs.torch_vector import TorchVectorEnv


class TorchTapeVectorEnv(TorchVectorEnv):
    """A sequence task on tensors: subclasses give the tapes' entries at the copies' steps.

    State: `self.t` (the step of each copy's current observation) and the keys; a subclass
    may keep more (`_restart`). `step` grades the action against `_target`,
    moves to `t + 1` (`_advance`) and autoresets like
    `TapeVectorEnv`. In `SAME_STEP` mode a copy that
    ends starts its next episode in the same step, so every copy's next observation is
    computed once (`_move()`), and the ended copies' last one is the tape's end
    (`_end_obs()`): fewer operations per step, the same numbers.
    """

    info_key = "target"

    def _setup(self) -> None:
        self._setup_spaces()
        n = self.num_envs
        self.t = torch.zeros(n, dtype=torch.int64, device=self.device)
        self._x = torch.zeros_like(self.t)  # the current observations
        self._autoreset = torch.zeros(n, dtype=torch.bool, device=self.device)

    # ----------------------------------------------------------------- subclass hooks
    def _compute_obs(self) -> torch.Tensor:
        """`obs_tape[t]` of every copy (kept as `self._x` until `t` or a key changes)."""
        raise NotImplementedError

    def _target(self) -> torch.Tensor:
        """`target_tape[t]` of every copy (`-1`: not graded, also for `t >= T`)."""
        raise NotImplementedError

    def _hidden(self) -> torch.Tensor:
        """`hidden_tape[t]` of every copy."""
        raise NotImplementedError

    def _advance(self) -> None:
        """Move every copy to `t + 1`."""
        self.t = self.t + 1
        self._x = self._compute_obs()

    def _restart(self, mask: torch.Tensor) -> None:
        """Start the copies of `mask` at `t = 0` (their keys are already new)."""
        self.t = torch.where(mask, 0, self.t)
        self._x = self._compute_obs()

    def _move(self, ended: torch.Tensor, t_next: torch.Tensor) -> None:
        """`SAME_STEP`: every copy to `t + 1`, or to `t = 0` where it `ended` (its
        key already new); `_advance()` and `_restart()` in one."""
        self.t = torch.where(ended, 0, t_next)
        self._x = self._compute_obs()

    def _end_obs(self) -> torch.Tensor:
        """The observation after an episode's last step (`t = episode_steps`), every copy."""
        t, self.t = self.t, torch.full_like(self.t, self.episode_steps)
        try:
            return self._compute_obs()
        finally:
            self.t = t

    def _obs(self) -> torch.Tensor:
        return self._x

    # ----------------------------------------------------------------- Gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Start new episodes in every copy; `seed=s` gives copy `i` the seed `s + i`."""
        self._check_reset_options(options, ())
        self._start_all(seed)
        self._restart(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))
        self._autoreset = torch.zeros_like(self._autoreset)
        return self._obs(), {HIDDEN_KEY: self._hidden()}

    def step(
        self, actions: Any
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
        self._check_ready()
        actions = self._check_actions(actions)
        target = self._target()  # the answer graded this step, -1 if none
        reward = (actions == target).to(torch.float64)  # +1 per right answer
        graded = target >= 0
        infos: dict[str, Any] = {self.info_key: target}
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            self._advance()
            terminated = self.t == self.episode_steps
            restart = self._autoreset  # these copies ended last step: this step resets them
            self._next_episode(restart)
            self._restart(restart)
            reward = torch.where(restart, 0.0, reward)
            graded = graded & ~restart
            self._autoreset = terminated
        else:  # SAME_STEP: reset the copies that ended, keep their last obs
            t_next = self.t + 1
            terminated = t_next == self.episode_steps
            infos["final_obs"] = self._end_obs()
            infos["_final_obs"] = terminated
            infos["final_info"] = {self.info_key: target, "_" + self.info_key: terminated}
            infos["_final_info"] = terminated
            self._next_episode(terminated)
            self._move(terminated, t_next)
        infos["_" + self.info_key] = graded
        infos[HIDDEN_KEY] = self._hidden()
        truncated = torch.zeros_like(terminated)
        return self._obs(), reward, terminated, truncated, infos


class TorchParityVectorEnv(TorchTapeVectorEnv):
    """`ParityVectorEnv` on tensors (`num_envs`,
    `device`, and [`ParityEnv`][lecture_rl.envs.parity.ParityEnv]'s `length`): observation x_t,
    graded answer y_t = x_1 ⊕ ... ⊕ x_t."""

    info_key = "parity"
    task_env = ParityEnv

    def _build(self, length: int) -> None:
        self.length = check_int("length", length, 1, " (the number of bits per episode)")
        self.episode_steps = self.answers_per_episode = self.length
        self.single_observation_space = spaces.Discrete(2)
        self.single_action_space = spaces.Discrete(2)
        self._setup()
        self._parity = torch.zeros_like(self.t)  # y_t with observation t shown

    def _compute_obs(self) -> torch.Tensor:
        bit = torch_streams.integers(self.keys, self.t, 2)  # x_t, as the numpy tape's column t
        return torch.where(self.t < self.length, bit, 0)

    def _target(self) -> torch.Tensor:
        return torch.where(self.t < self.length, self._parity, -1)

    def _hidden(self) -> torch.Tensor:
        return self._parity

    def _advance(self) -> None:
        super()._advance()
        self._parity = self._parity ^ self._x  # y_t = y_{t-1} ⊕ x_t (x = 0 past the end)

    def _restart(self, mask: torch.Tensor) -> None:
        super()._restart(mask)
        self._parity = torch.where(mask, self._x, self._parity)  # y_1 = x_1

    def _move(self, ended: torch.Tensor, t_next: torch.Tensor) -> None:
        super()._move(ended, t_next)
        # y_t = y_{t-1} ⊕ x_t, or y_1 = x_1 in a new episode
        self._parity = torch.where(ended, self._x, self._parity ^ self._x)

    def _end_obs(self) -> torch.Tensor:
        return torch.zeros_like(self.t)  # past the last bit: 0


class TorchCopyVectorEnv(TorchTapeVectorEnv):
    """`CopyVectorEnv` on tensors: the task keywords
    of [`CopyEnv`][lecture_rl.envs.copy_task.CopyEnv] (`length`, `symbols`, `delay`,
    `reverse`, same defaults), plus `device`: input, `delay` blanks, the go marker,
    `length` recall steps."""

    info_key = "target"
    task_env = CopyEnv

    def _build(self, length: int, symbols: int, delay: int, reverse: bool) -> None:
        self.length, self.symbols, self.delay, self.reverse = check_copy_arguments(
            length, symbols, delay, reverse
        )
        self.episode_steps = 2 * self.length + self.delay + 1
        self.answers_per_episode = self.length
        self.recall_start = self.length + self.delay + 1
        self.single_observation_space = spaces.Discrete(self.symbols + 2)
        self.single_action_space = spaces.Discrete(self.symbols)
        self._setup()

    def _symbol(self, position: torch.Tensor) -> torch.Tensor:
        """The `position`-th input symbol of each copy's episode (clamped into the input)."""
        return torch_streams.integers(self.keys, position.clamp(0, self.length - 1), self.symbols)

    def _end_obs(self) -> torch.Tensor:
        return torch.full_like(self.t, self.symbols)  # past the recall: blank

    def _compute_obs(self) -> torch.Tensor:
        blank, go = self.symbols, self.symbols + 1
        marker = torch.where(self.t == self.length + self.delay, go, blank)
        return torch.where(self.t < self.length, self._symbol(self.t), marker)

    def _recalled(self, t: torch.Tensor) -> torch.Tensor:
        """The symbol the action at step `t` of the recall phase must be."""
        i = t - self.recall_start  # i-th recall: symbol i, or length-1-i when reversed
        return self._symbol(self.length - 1 - i if self.reverse else i)

    def _target(self) -> torch.Tensor:
        recall = (self.t >= self.recall_start) & (self.t < self.episode_steps)
        return torch.where(recall, self._recalled(self.t), -1)

    def _hidden(self) -> torch.Tensor:
        seen_at = self.length - 1 if self.reverse else 0  # when the first recalled symbol shows
        t = torch.where(self.t < self.recall_start, self.recall_start, self.t)
        shown = (self.t >= seen_at) & (self.t < self.episode_steps)
        return torch.where(shown, self._recalled(t), -1)


__all__ = ["TorchCopyVectorEnv", "TorchParityVectorEnv", "TorchTapeVectorEnv"]
