"""Rollout storage for the on-policy deep agents (``ppo``, ``reinforce``).

Description:
    A rollout is ``T`` steps of ``N`` envs stepped together, stored as ``[T, N, ...]`` tensors
    on the agent's device. It also keeps the recurrent state the rollout *started* from, so the
    update can re-run the backbone over each env's whole sequence in one call
    (``backbone.forward_sequence(obs[:, envs], initial_state[envs], episode_starts[:, envs])``)
    and get the same features the agent acted on. Minibatches are drawn *by env*, so every
    sequence stays contiguous in time (CleanRL's ``ppo_atari_lstm`` does the same; SB3's
    RecurrentPPO and Tianshou lose this when they shuffle steps). The stored state carries no
    gradient, so ``ppo`` also keeps the previous rollout and re-runs, in front of a sequence,
    the steps of each unfinished episode that fell in it (:func:`episode_prefix_length`).

Fields (``t`` indexes time, ``n`` the env):
    ``obs[t, n]``             observation the agent acted on at step t.
    ``episode_starts[t, n]``  True when ``obs[t, n]`` is the first of an episode (the backbone
                              resets row n's state before reading it).
    ``actions``, ``logprobs``, ``values``  what the agent did, log π(a|s) and V(s) at step t
                              (a Box action: the unclipped sample, ``[T, N, d]``).
    ``rewards[t, n]``         reward after the step (plus γ·V(final obs) where the episode was
                              truncated rather than terminated).
    ``dones[t, n]``           True when the episode ended with that step.
    ``initial_state``         backbone state before step 0, batch on dim 0.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

State = tuple[torch.Tensor, ...]


class Rollout:
    """``T`` steps of ``N`` envs, preallocated on ``device``."""

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
        self.masks: torch.Tensor | None = (
            None  # [T, N, nA] available actions, when the env has masks
        )

    def advantages_gae(
        self, last_value: torch.Tensor, gamma: float, lam: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Generalised advantage estimates and value targets (Schulman et al. 2016).

        ``last_value`` is V(s_T) for the observation after the rollout. Returns
        ``(advantages, returns)`` with ``returns = advantages + values`` (the TD(λ) targets).
        """
        advantages = torch.zeros_like(self.rewards)
        next_advantage = torch.zeros_like(last_value)
        next_value = last_value
        for t in reversed(range(self.steps)):
            not_done = (~self.dones[t]).float()
            # δ_t = r_t + γ V(s_{t+1}) − V(s_t)   (no bootstrap past the episode's end)
            delta = self.rewards[t] + gamma * next_value * not_done - self.values[t]
            # A_t = δ_t + γλ A_{t+1}
            next_advantage = delta + gamma * lam * not_done * next_advantage
            advantages[t] = next_advantage
            next_value = self.values[t]
        return advantages, advantages + self.values

    def env_minibatches(
        self, num_minibatches: int, generator: torch.Generator
    ) -> Iterator[torch.Tensor]:
        """Env indices in ``num_minibatches`` random groups; each group keeps whole sequences."""
        order = torch.randperm(self.num_envs, generator=generator, device="cpu").to(self.device)
        yield from torch.tensor_split(order, num_minibatches)

    def step_minibatches(
        self, batch_size: int, generator: torch.Generator
    ) -> Iterator[torch.Tensor]:
        """Flat step indices ``t·N + n`` shuffled, in minibatches of ``batch_size`` (the last one
        may be smaller): SB3's PPO minibatches, for feed-forward nets (no sequence to keep)."""
        total = self.steps * self.num_envs
        order = torch.randperm(total, generator=generator, device="cpu").to(self.device)
        yield from torch.split(order, batch_size)


def episode_prefix_length(previous_starts: torch.Tensor, first_starts: torch.Tensor) -> int:
    """How many of the previous rollout's last steps to re-run so every episode starts whole.

    ``previous_starts[T, b]`` are the previous rollout's episode starts and ``first_starts[b]``
    whether the current rollout's step 0 starts an episode. An env whose episode began at step
    ``s`` of the previous rollout needs its last ``T - s`` steps; one whose episode began before
    that rollout needs all ``T`` (from the state stored at its start); one that starts an
    episode at step 0 needs none. Returns the most any of the ``b`` envs needs.
    """
    steps = previous_starts.shape[0]
    times = torch.arange(steps, device=previous_starts.device)[:, None]
    last_start = torch.where(previous_starts, times, -1).amax(dim=0)  # -1: none in that rollout
    needed = torch.where(last_start >= 0, steps - last_start, steps)
    needed = torch.where(first_starts, 0, needed)
    return int(needed.max()) if needed.numel() else 0


def index_state(state: State, rows: torch.Tensor) -> State:
    """The rows ``rows`` of a backbone state (every tensor has the batch on dim 0)."""
    return tuple(t[rows] for t in state)


def detach_state(state: State) -> State:
    """A copy of ``state`` cut from the autograd graph."""
    return tuple(t.detach().clone() for t in state)
