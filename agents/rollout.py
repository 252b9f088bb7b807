"""Rollout storage for the on-policy deep agents (`ppo`, `reinforce`).

Description:
    A rollout is `T` steps of `N` envs stepped together, stored as `[T, N, ...]` tensors
    on the agent's device. It also keeps the recurrent state the rollout *started* from, so the
    update can re-run the backbone over each env's whole sequence in one call
    (`backbone.forward_sequence(obs[:, envs], initial_state[envs], episode_starts[:, envs])`)
    and get the same features the agent acted on. Minibatches are drawn *by env*, so every
    sequence stays contiguous in time (CleanRL's `ppo_atari_lstm` does the same; SB3's
    RecurrentPPO and Tianshou lose this when they shuffle steps). The stored state carries no
    gradient, so `ppo` also keeps the previous rollout and re-runs, in front of a sequence,
    the steps of each unfinished episode that fell in it (`episode_prefix_length`).

Fields (`t` indexes time, `n` the env):
    `obs[t, n]`             observation the agent acted on at step t.
    `episode_starts[t, n]`  True when `obs[t, n]` is the first of an episode (the backbone
                              resets row n's state before reading it).
    `actions`, `logprobs`, `values`  what the agent did, log π(a|s) and V(s) at step t
                              (a Box action: the unclipped sample, `[T, N, d]`).
    `rewards[t, n]`         reward after the step (plus γ·V(final obs) where the episode was
                              truncated rather than terminated).
    `dones[t, n]`           True when the episode ended with that step.
    `initial_state`         backbone state before step 0, batch on dim 0.
    `host_starts[t, n]`     `episode_starts` as a numpy array on the host, filled by the
                              agent from what it reads anyway (the numpy envs' `done`, or
                              the one copy per rollout on torch batched envs), so the update
                              plans its sequences (the episode prefix, where the recurrent core
                              must reset) without reading the device.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

State = tuple[torch.Tensor, ...]


class Rollout:
    """`T` steps of `N` envs, preallocated on `device`."""

    def __init__(
        self,
        steps: int,
        num_envs: int,
        obs_shape: tuple[int, ...],
        obs_dtype: torch.dtype,
        device: torch.device,
        action_shape: tuple[int, ...] = (),
        action_dtype: torch.dtype = torch.long,
    ):
        self.steps, self.num_envs, self.device = steps, num_envs, device
        shape = (steps, num_envs)
        self.obs = torch.zeros(shape + tuple(obs_shape), dtype=obs_dtype, device=device)
        self.episode_starts = torch.zeros(shape, dtype=torch.bool, device=device)
        self.actions = torch.zeros(shape + tuple(action_shape), dtype=action_dtype, device=device)
        self.logprobs = torch.zeros(shape, device=device)
        self.values = torch.zeros(shape, device=device)
        self.rewards = torch.zeros(shape, device=device)
        self.dones = torch.zeros(shape, dtype=torch.bool, device=device)
        self.initial_state: State = ()
        self.host_starts = np.zeros(shape, dtype=bool)
        self.masks: torch.Tensor | None = (
            None  # [T, N, nA] available actions, when the env has masks
        )

    def advantages_gae(
        self, last_value: torch.Tensor, gamma: float, lam: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Generalised advantage estimates and value targets (Schulman et al. 2016).

        `last_value` is V(s_T) for the observation after the rollout. Returns
        `(advantages, returns)` with `returns = advantages + values` (the TD(λ) targets).
        """
        not_done = (~self.dones).float()  # no bootstrap past an episode's end
        next_values = torch.cat([self.values[1:], last_value[None]])
        # δ_t = r_t + γ V(s_{t+1}) − V(s_t), for every t at once
        deltas = self.rewards + gamma * next_values * not_done - self.values
        decay = gamma * lam * not_done
        advantages = torch.empty_like(self.rewards)
        next_advantage = torch.zeros_like(last_value)
        for t in reversed(range(self.steps)):
            # A_t = δ_t + γλ A_{t+1}
            next_advantage = torch.add(deltas[t], decay[t] * next_advantage, out=advantages[t])
        return advantages, advantages + self.values

    def env_minibatches(
        self, num_minibatches: int, generator: torch.Generator, epochs: int = 1
    ) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
        """Env indices in `num_minibatches` random groups per epoch, each group keeping whole
        sequences: `(indices on the host, the same on the device)`.

        Every epoch's order is drawn first (one `randperm` per epoch from `generator`, on
        the CPU) and copied to the device once, without making the host wait for it.
        """
        orders = torch.stack(
            [torch.randperm(self.num_envs, generator=generator) for _ in range(epochs)]
        )
        on_device = to_device_async(orders, self.device)
        for epoch in range(epochs):
            host = orders[epoch].numpy()
            for rows in np.array_split(np.arange(self.num_envs), num_minibatches):
                if rows.size:
                    begin, end = int(rows[0]), int(rows[-1]) + 1
                    yield host[begin:end], on_device[epoch, begin:end]

    def step_minibatches(
        self, batch_size: int, generator: torch.Generator
    ) -> Iterator[torch.Tensor]:
        """Flat step indices `t·N + n` shuffled, in minibatches of `batch_size` (the last one
        may be smaller): SB3's PPO minibatches, for feed-forward nets (no sequence to keep)."""
        total = self.steps * self.num_envs
        order = torch.randperm(total, generator=generator, device="cpu").to(self.device)
        yield from torch.split(order, batch_size)


def to_device_async(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A CPU tensor on `device` without waiting: through pinned memory on a GPU."""
    if device.type == "cpu":
        return tensor
    if device.type == "cuda":
        tensor = tensor.pin_memory()
    return tensor.to(device, non_blocking=True)


def episode_prefix_length(previous_starts: Any, first_starts: Any) -> int:
    """How many of the previous rollout's last steps to re-run so every episode starts whole.

    `previous_starts[T, b]` are the previous rollout's episode starts and `first_starts[b]`
    whether the current rollout's step 0 starts an episode (numpy arrays, or CPU tensors). An
    env whose episode began at step `s` of the previous rollout needs its last `T - s`
    steps; one whose episode began before that rollout needs all `T` (from the state stored
    at its start); one that starts an episode at step 0 needs none. Returns the most any of
    the `b` envs needs.
    """
    previous_starts, first_starts = np.asarray(previous_starts), np.asarray(first_starts)
    steps = previous_starts.shape[0]
    if not first_starts.size:
        return 0
    times = np.arange(steps)[:, None]
    last_start = np.where(previous_starts, times, -1).max(axis=0, initial=-1)  # -1: none
    needed = np.where(last_start >= 0, steps - last_start, steps)
    needed = np.where(first_starts, 0, needed)
    return int(needed.max())


def start_times(starts: np.ndarray) -> list[int]:
    """The times `t >= 1` at which some env of `starts[T, b]` begins an episode."""
    return (np.flatnonzero(starts[1:].any(axis=1)) + 1).tolist()


def index_state(state: State, rows: torch.Tensor) -> State:
    """The rows `rows` of a backbone state (every tensor has the batch on dim 0)."""
    return tuple(t[rows] for t in state)


def detach_state(state: State) -> State:
    """A copy of `state` cut from the autograd graph."""
    return tuple(t.detach().clone() for t in state)
