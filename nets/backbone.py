"""One interface for every network an agent can use (`nets/factory.py` builds one by name).

Description:
    A backbone turns raw observations, exactly as a Gymnasium env gives them, into a feature
    vector `features[B, output_dim]` that an agent's heads (Q-values, policy, value) read. The
    same three calls work for feed-forward and memory networks, so agents never special-case
    the architecture:

    - `initial_state(batch_size, device)` -> `State`: a tuple of tensors, batch on dim 0
      (`()` for feed-forward backbones), so an agent can store `tuple(t[i] for t in state)`.
    - `step(obs[B, ...], state, episode_start[B])` -> `(features[B, D], new_state)`: one env
      step; rows where `episode_start` is true restart from the initial state first.
    - `forward_sequence(obs[T, B, ...], state0, episode_starts[T, B])` ->
      `(features[T, B, D], final_state)`: a whole rollout in one call, equal to `step` T times.
      A caller that knows on the host where episodes start passes `start_times=[t, ...]`
      (the times `t >= 1` where some row starts one), so nothing waits for the device.

    A recurrent backbone carries the notes' hidden state h^(t) (notes 000 §2.c) across steps; the
    episode starts are where the notes' sequence begins again with h^(0) = 0.

Observation preprocessing (inside the backbone, see `ObservationEncoder`):
    - `Discrete(n)`: integer tensor `[B]` -> one-hot `[B, n]`.
    - `MultiDiscrete`: one one-hot per component, concatenated. `MultiBinary`: float.
    - `Box` (non-image): `[B, *shape]` -> flattened float32 `[B, prod(shape)]`.
    - image `Box` (uint8, 3 dims, channels last `H, W, C`): -> float / 255, channels first
      `[B, C, H, W]`; a channels-first uint8 image is accepted as well.

Names:
    `mlp` (`lecture_rl.nets.mlp`), `cnn` (`lecture_rl.nets.cnn`, image observations
    only), `rnn` / `lstm` / `gru` (`lecture_rl.nets.recurrent`), `transformer`
    (`lecture_rl.nets.transformer`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

State = tuple[torch.Tensor, ...]
#: the steps of a sequence where some copy starts an episode (`forward_sequence`'s `start_times`)
Cuts = list[int] | None


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """`"auto"` (or `None`) -> CUDA when present, else CPU; anything else as given."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def is_image_space(space: spaces.Space) -> bool:
    """True for a uint8 `Box` with 3 dims and 1, 3 or 4 channels (last or first axis)."""
    return (
        isinstance(space, spaces.Box)
        and space.dtype == np.uint8
        and len(space.shape) == 3
        and (space.shape[-1] in (1, 3, 4) or space.shape[0] in (1, 3, 4))
    )


class ObservationEncoder(nn.Module):
    """Raw env observations -> float tensors; no learned parameters.

    Flat spaces give `[N, input_dim]`; image spaces give `[N, C, H, W]` in `[0, 1]`
    (`image_shape = (C, H, W)`). `N` is any number of leading rows (a batch, or T·B).
    """

    def __init__(self, observation_space: spaces.Space):
        super().__init__()
        self.observation_space = observation_space
        self.is_image = is_image_space(observation_space)
        self.image_shape: tuple[int, int, int] | None = None
        self.channels_last = False
        if self.is_image:
            shape = observation_space.shape
            self.channels_last = shape[-1] in (1, 3, 4)
            c, h, w = (shape[2], shape[0], shape[1]) if self.channels_last else shape
            self.image_shape = (int(c), int(h), int(w))
            self.input_dim = int(c * h * w)
        elif isinstance(observation_space, spaces.Discrete):
            self.input_dim = int(observation_space.n)
        elif isinstance(observation_space, spaces.MultiDiscrete):
            nvec = torch.as_tensor(observation_space.nvec.reshape(-1), dtype=torch.long)
            self.register_buffer("_nvec", nvec, persistent=False)
            self.input_dim = int(observation_space.nvec.sum())
        elif isinstance(observation_space, spaces.MultiBinary):
            self.input_dim = int(np.prod(observation_space.shape))
        elif isinstance(observation_space, spaces.Box):
            self.input_dim = int(np.prod(observation_space.shape))
        else:
            raise ValueError(
                f"observation space {observation_space} is not supported by lecture_rl.nets; "
                "use Discrete, MultiDiscrete, MultiBinary or Box (flatten Dict/Tuple spaces with "
                "gymnasium.wrappers.FlattenObservation)"
            )

    @property
    def one_hot_parts(self) -> int:
        """One-hot vectors per encoded observation: 1 (Discrete), components (MultiDiscrete), 0."""
        if self.is_image:
            return 0
        if isinstance(self.observation_space, spaces.Discrete):
            return 1
        if isinstance(self.observation_space, spaces.MultiDiscrete):
            return int(self.observation_space.nvec.size)
        return 0

    @property
    def obs_ndim(self) -> int:
        """Number of dims of one observation (0 for Discrete)."""
        if isinstance(self.observation_space, spaces.Discrete):
            return 0
        return len(self.observation_space.shape)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """`obs[N, *obs_shape]` -> `[N, input_dim]` or `[N, C, H, W]`."""
        space = self.observation_space
        if self.is_image:
            x = obs.float() / 255.0
            return x.permute(0, 3, 1, 2) if self.channels_last else x
        if isinstance(space, spaces.Discrete):
            index = obs.reshape(obs.shape[0]).long() - int(space.start)
            return nn.functional.one_hot(index, self.input_dim).float()
        if isinstance(space, spaces.MultiDiscrete):
            index = obs.reshape(obs.shape[0], -1).long() - torch.as_tensor(
                space.start.reshape(-1), device=obs.device
            )
            parts = [
                nn.functional.one_hot(index[:, i], int(n)).float()
                for i, n in enumerate(self._nvec.tolist())
            ]
            return torch.cat(parts, dim=1)
        return obs.reshape(obs.shape[0], -1).float()


class Backbone(nn.Module):
    """Base class: observation preprocessing plus the state / step / sequence interface.

    Subclasses set `output_dim` and implement `_features` (feed-forward) or override
    `step`, `forward_sequence` and `initial_state` (memory networks).
    `forward(obs, state=(), episode_start=None)` is `step`.
    """

    name: str = "backbone"
    is_recurrent: bool = False
    output_dim: int

    def __init__(self, observation_space: spaces.Space):
        super().__init__()
        self.observation_space = observation_space
        self.encoder = ObservationEncoder(observation_space)
        # an empty buffer that follows .to(device): reading the device costs nothing per step
        self.register_buffer("_device_probe", torch.empty(0), persistent=False)

    # ----------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        """The device the backbone lives on (follows `.to(device)`)."""
        return self._device_probe.device

    def as_obs_tensor(self, obs: Any, leading_dims: int) -> torch.Tensor:
        """numpy array / list / tensor -> tensor on this backbone's device, shape checked."""
        t = torch.as_tensor(np.asarray(obs) if not torch.is_tensor(obs) else obs)
        t = t.to(self.device)
        expected = leading_dims + self.encoder.obs_ndim
        if t.dim() != expected:
            space = self.observation_space
            raise ValueError(
                f"observation tensor has shape {tuple(t.shape)}, expected {leading_dims} "
                f"leading batch dim(s) before the observation shape of {space}; "
                "add a batch dim with obs[None] for a single observation"
            )
        return t

    def _flags(self, flags: Any, shape: tuple[int, ...]) -> torch.Tensor | None:
        if flags is None:
            return None
        f = torch.as_tensor(np.asarray(flags) if not torch.is_tensor(flags) else flags)
        f = f.to(self.device).bool()
        if tuple(f.shape) != shape:
            raise ValueError(f"episode start flags have shape {tuple(f.shape)}, expected {shape}")
        return f

    def preprocess(self, obs: torch.Tensor) -> torch.Tensor:
        """Raw `obs[N, ...]` -> float input of the network (see `ObservationEncoder`)."""
        return self.encoder(obs)

    # ----------------------------------------------------------------------------------------
    def _features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """Feed-forward backbones carry no state: `()`."""
        return ()

    def step(
        self, obs: Any, state: State = (), episode_start: Any = None
    ) -> tuple[torch.Tensor, State]:
        """One env step for a batch: `obs[B, ...]` -> `(features[B, D], state)`."""
        x = self.preprocess(self.as_obs_tensor(obs, 1))
        return self._features(x), state

    def forward_sequence(
        self, obs: Any, state0: State = (), episode_starts: Any = None, *, start_times: Cuts = None
    ) -> tuple[torch.Tensor, State]:
        """A rollout `obs[T, B, ...]` -> `(features[T, B, D], state)` in one batched call.

        `start_times`: the times `t >= 1` where some row starts an episode, when the caller
        knows them on the host (memory networks use them instead of reading the flags back
        from the device; feed-forward ones need no flags)."""
        o = self.as_obs_tensor(obs, 2)
        t, b = o.shape[:2]
        x = self.preprocess(o.reshape(t * b, *o.shape[2:]))
        return self._features(x).reshape(t, b, -1), state0

    def forward(
        self, obs: Any, state: State = (), episode_start: Any = None
    ) -> tuple[torch.Tensor, State]:
        return self.step(obs, state, episode_start)

    def extra_repr(self) -> str:
        return f"output_dim={self.output_dim}, is_recurrent={self.is_recurrent}"


def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars in `module`."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _check_positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
