"""Observation and reward normalisation with running statistics, as SB3's `VecNormalize`.

Description:
    A policy gradient learns best when its inputs and its rewards are of order one. The deep
    agents' `normalize_obs` and `normalize_reward` keep running statistics of what they see
    while training and rescale with them:

    - observations: `ô = clip((o − μ) / √(σ² + ε), −clip_obs, clip_obs)`, with μ and σ² the
      running mean and variance of every observation seen in training (per component);
    - rewards: `r̂ = clip(r / √(σ_G² + ε), −clip_reward, clip_reward)`, with σ_G² the running
      variance of the discounted return `G ← γ G + r` of each training env (restarted at the
      end of its episode). The reward is scaled, not centred: a shift would change the task.

    The statistics are buffers of torch modules, so they live on the agent's device (no host
    round-trip on torch batched envs), go into the checkpoint's `weights.safetensors` with the
    weights and come back on load. Outside training nothing updates them: evaluation, `act`,
    `watch` and `inspect` see observations on the scale the agent was trained on.

    The running update is Chan et al.'s parallel algorithm (the one SB3's `RunningMeanStd`
    uses), a whole batch at a time, starting from μ = 0, σ² = 1 and a count of 10⁻⁴.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

#: the count the statistics start from (SB3's `epsilon`): μ, σ² are a prior worth 10⁻⁴ samples
PRIOR_COUNT = 1e-4
#: ε under the square root
VARIANCE_EPSILON = 1e-8


class RunningMeanStd(nn.Module):
    """Mean and variance of a stream of batches of shape `[N, *shape]` (float64 buffers)."""

    def __init__(self, shape: tuple[int, ...] = ()):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        self.register_buffer("mean", torch.zeros(self.shape, dtype=torch.float64))
        self.register_buffer("var", torch.ones(self.shape, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(PRIOR_COUNT, dtype=torch.float64))

    @torch.no_grad()
    def update(self, batch: torch.Tensor | np.ndarray) -> None:
        """Fold the rows of `batch` (`[N, *shape]`) into the statistics."""
        if self.mean.device.type == "cpu" and not (torch.is_tensor(batch) and batch.is_cuda):
            self._update_numpy(np.asarray(batch, dtype=np.float64).reshape(-1, *self.shape))
            return
        x = batch.reshape(-1, *self.shape).to(self.mean.device, torch.float64)
        n = x.shape[0]
        if n == 0:
            return
        batch_mean = x.mean(dim=0)
        batch_var = x.var(dim=0, unbiased=False)
        total = self.count + n
        delta = batch_mean - self.mean
        # μ ← μ + δ n_b / n ;  σ² ← (σ² n_a + σ_b² n_b + δ² n_a n_b / n) / n   (Chan et al.)
        self.var.copy_(
            (self.var * self.count + batch_var * n + delta.square() * self.count * n / total)
            / total
        )
        self.mean.add_(delta * n / total)
        self.count.copy_(total)

    def _update_numpy(self, x: np.ndarray) -> None:
        """`update` on CPU buffers, in numpy on views of them (the same float64 arithmetic,
        ~1 µs per operation instead of torch's few: it runs at every env step)."""
        n = x.shape[0]
        if n == 0:
            return
        mean, var, count = self.mean.numpy(), self.var.numpy(), float(self.count)
        batch_mean = x.sum(axis=0) / n
        centred = x - batch_mean
        batch_var = (centred * centred).sum(axis=0) / n
        total = count + n
        delta = batch_mean - mean
        # μ ← μ + δ n_b / n ;  σ² ← (σ² n_a + σ_b² n_b + δ² n_a n_b / n) / n   (Chan et al.)
        var[...] = (var * count + batch_var * n + delta * delta * count * n / total) / total
        mean += delta * n / total
        self.count.fill_(total)


class ObservationNormalizer(nn.Module):
    """`ô = clip((o − μ) / √(σ² + ε), ±clip)` per observation component (module docstring).

    Arguments:
        shape: the shape of one observation (a `Box`'s shape).
        clip: the bound of the normalised values (SB3's `clip_obs`, 10).
    """

    def __init__(self, shape: tuple[int, ...], clip: float = 10.0):
        super().__init__()
        self.stats = RunningMeanStd(shape)
        self.clip = float(clip)

    def forward(self, obs: torch.Tensor, update: bool = False) -> torch.Tensor:
        """`obs[..., *shape]` normalised (float32); `update=True` first folds it into the
        statistics (training only)."""
        if update:
            self.stats.update(obs)
        if not obs.is_cuda and not self.stats.mean.is_cuda:  # numpy: a few µs less per step
            return torch.from_numpy(self.numpy(obs.numpy()))
        mean = self.stats.mean.to(torch.float32)
        scale = torch.rsqrt(self.stats.var + VARIANCE_EPSILON).to(torch.float32)
        return ((obs.to(torch.float32) - mean) * scale).clamp_(-self.clip, self.clip)

    def numpy(self, obs: np.ndarray) -> np.ndarray:
        """`forward` without update for a numpy observation on the CPU (`act`)."""
        mean = self.stats.mean.cpu().numpy().astype(np.float32)
        scale = (1.0 / np.sqrt(self.stats.var.cpu().numpy() + VARIANCE_EPSILON)).astype(np.float32)
        out = (np.asarray(obs, dtype=np.float32) - mean) * scale  # float32, as forward
        bound = np.float32(self.clip)
        return np.minimum(np.maximum(out, -bound, out=out), bound, out=out)


class RewardNormalizer(nn.Module):
    """`r̂ = clip(r / √(σ_G² + ε), ±clip)`, σ_G² the running variance of the discounted return.

    Arguments:
        gamma: γ of the discounted return `G ← γ G + r` (the agent's own γ, as rl-zoo3 sets).
        clip: the bound of the scaled rewards (SB3's `clip_reward`, 10).

    Each training call starts the envs' returns at 0 (`start`); `observe` folds a
    vector step in, `scale` rescales rewards with the statistics as they are.
    """

    def __init__(self, gamma: float, clip: float = 10.0):
        super().__init__()
        self.stats = RunningMeanStd(())
        self.gamma = float(gamma)
        self.clip = float(clip)
        self.returns: torch.Tensor | None = None  # G per training env (not saved)

    def start(self, num_envs: int) -> None:
        """New training envs: every return G starts at 0."""
        self.returns = torch.zeros(num_envs, dtype=torch.float64, device=self.stats.mean.device)

    @torch.no_grad()
    def observe(
        self, rewards: torch.Tensor, dones: torch.Tensor, active: torch.Tensor | None = None
    ) -> None:
        """One vector step: G ← γ G + r, σ_G² updated with the Gs, G ← 0 where `dones`.

        `active` (bool `[N]`): only these envs' steps count (REINFORCE's first episodes).
        """
        if self.returns is None or self.returns.shape[0] != rewards.shape[0]:
            self.start(rewards.shape[0])
        assert self.returns is not None
        if not self.returns.is_cuda and not (torch.is_tensor(rewards) and rewards.is_cuda):
            self._observe_numpy(rewards, dones, active)
            return
        rewards = torch.as_tensor(rewards, device=self.returns.device, dtype=torch.float64)
        dones = torch.as_tensor(dones, device=self.returns.device, dtype=torch.bool)
        updated = self.returns * self.gamma + rewards  # G ← γ G + r
        if active is None:
            self.returns = updated
            self.stats.update(updated)
        else:
            active = torch.as_tensor(active, device=self.returns.device, dtype=torch.bool)
            self.returns = torch.where(active, updated, self.returns)
            self.stats.update(updated[active])
        self.returns = self.returns.masked_fill(dones, 0.0)

    def _observe_numpy(self, rewards: object, dones: object, active: object) -> None:
        """`observe` on the CPU, in numpy on a view of G (the same float64 arithmetic)."""
        returns = self.returns.numpy()  # type: ignore[union-attr]
        updated = returns * self.gamma + np.asarray(rewards, dtype=np.float64)  # G ← γ G + r
        if active is None:
            returns[...] = updated
            self.stats.update(updated)
        else:
            active = np.asarray(active, dtype=bool)
            returns[active] = updated[active]
            self.stats.update(updated[active])
        returns[np.asarray(dones, dtype=bool)] = 0.0

    def scale(self, rewards: torch.Tensor) -> torch.Tensor:
        """`rewards / √(σ_G² + ε)`, clipped to ±clip (float32, on the rewards' device)."""
        scale = torch.rsqrt(self.stats.var + VARIANCE_EPSILON).to(torch.float32)
        scale = scale.to(rewards.device)
        return (rewards.to(torch.float32) * scale).clamp_(-self.clip, self.clip)
