"""Frame stacking: a feed-forward backbone that reads the last k observations side by side.

Description:
    An MLP sees only the current observation. Stacking the last k of them gives it a short,
    fixed memory: velocities from positions, the last few bits of a stream (SB3's
    `VecFrameStack`, rl-zoo3's `frame_stack`). Here the stack is the backbone's state, so every
    agent path (acting, rollouts, evaluation, checkpoints) carries it like an RNN's h:

        x̃_t = [x_{t−k+1}, …, x_{t−1}, x_t],   features_t = MLP(x̃_t)

    where frames from before the episode's start are zeros (SB3 zeroes its stack at a reset).
    The state is those k − 1 earlier frames, `[B, k − 1, d]` after the encoder (one-hot for
    discrete parts, flattened Box). No gradient flows through the state: the frames are inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from lecture_rl.nets.backbone import Backbone, Cuts, State


class FrameStackBackbone(Backbone):
    """The last `k` encoded observations, concatenated, fed to `inner` (module docstring).

    Arguments:
        observation_space: the env's (flat) observation space.
        make_inner: builds the feed-forward backbone for the stacked input, given its
            `Box(k·d)` space (e.g. `lambda s: make_backbone("mlp", s, hidden_size=64)`).
        k: how many observations are stacked (`k >= 2`).
    """

    name = "frame_stack"
    is_recurrent = True  # the stack is carried between steps like a memory

    def __init__(
        self,
        observation_space: spaces.Space,
        make_inner: Callable[[spaces.Box], Backbone],
        k: int,
    ):
        super().__init__(observation_space)
        if self.encoder.is_image:
            raise ValueError(
                "frame stacking stacks flat observations; image observations are read by the "
                "cnn one at a time"
            )
        if int(k) < 2:
            raise ValueError(f"frame stacking needs k >= 2 observations, got {k}")
        self.k = int(k)
        self.frame_dim = self.encoder.input_dim
        stacked = spaces.Box(-np.inf, np.inf, (self.k * self.frame_dim,), np.float32)
        self.inner = make_inner(stacked)
        if getattr(self.inner, "is_recurrent", False):
            raise ValueError("frame stacking feeds a feed-forward backbone (mlp)")
        self.output_dim = self.inner.output_dim

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """`k − 1` zero frames per row."""
        device = self.device if device is None else device
        return (torch.zeros(batch_size, self.k - 1, self.frame_dim, device=device),)

    def _check_state(self, state: State, batch: int) -> torch.Tensor:
        if not state:
            return self.initial_state(batch)[0]
        return state[0]

    def step(
        self, obs: Any, state: State = (), episode_start: Any = None
    ) -> tuple[torch.Tensor, State]:
        """`obs[B, ...]` -> features of `[x_{t−k+1} … x_t]`; the state keeps the last k − 1."""
        x = self.preprocess(self.as_obs_tensor(obs, 1))  # [B, d]
        frames = self._check_state(state, x.shape[0])
        starts = self._flags(episode_start, (x.shape[0],))
        if starts is not None:  # a new episode: the frames before it are zeros
            frames = frames * (~starts).to(frames.dtype)[:, None, None]
        stacked = torch.cat([frames, x[:, None]], dim=1)  # [B, k, d]
        features, _ = self.inner.step(stacked.flatten(1), (), None)
        return features, (stacked[:, 1:].detach(),)

    def stacked_sequence(
        self, obs: Any, state0: State = (), episode_starts: Any = None
    ) -> tuple[torch.Tensor, State]:
        """The stacked inputs of a rollout `obs[T, B, ...]` -> `([T, B, k·d], state)`.

        Frame `u` belongs to step `t`'s stack when no episode starts in `(u, t]`: with
        e_u the number of starts up to u (e = 0 for the stored frames), iff e_u = e_t.
        """
        o = self.as_obs_tensor(obs, 2)
        t_len, batch = o.shape[:2]
        x = self.preprocess(o.reshape(t_len * batch, *o.shape[2:])).reshape(t_len, batch, -1)
        frames = self._check_state(state0, batch).transpose(0, 1)  # [k − 1, B, d]
        sequence = torch.cat([frames, x])  # times −(k−1) … T−1
        starts = self._flags(episode_starts, (t_len, batch))
        if starts is None:
            starts = torch.zeros((t_len, batch), dtype=torch.bool, device=x.device)
        ends = torch.zeros((self.k - 1, batch), dtype=torch.long, device=x.device)
        episode = torch.cat([ends, starts.long().cumsum(0)])  # e_u
        windows = sequence.unfold(0, self.k, 1).permute(0, 1, 3, 2)  # [T, B, k, d]
        ids = episode.unfold(0, self.k, 1)  # [T, B, k]
        same = (ids == ids[..., -1:]).to(windows.dtype)
        stacked = windows * same[..., None]
        return stacked.flatten(2), (stacked[-1, :, 1:].detach(),)

    def forward_sequence(
        self, obs: Any, state0: State = (), episode_starts: Any = None, *, start_times: Cuts = None
    ) -> tuple[torch.Tensor, State]:
        """A rollout `obs[T, B, ...]` -> `(features[T, B, D], state)`, as `step` T times.

        `start_times` (the backbones' common keyword) is not needed: the stacks are cut at
        the episode starts on the device, without reading the flags back."""
        stacked, state = self.stacked_sequence(obs, state0, episode_starts)
        t_len, batch = stacked.shape[:2]
        features, _ = self.inner.step(stacked.reshape(t_len * batch, -1), (), None)
        return features.reshape(t_len, batch, -1), state
