"""The regression target y of deep Q-learning (notes 004), for DQN and Double DQN.

Description:
    Shared by `DQNAgent.loss_on` (autograd) and the fused updates of
    `lecture_rl.agents.dqn_fused` (hand-written gradients), so both regress on the same y.
"""

from __future__ import annotations

import math

import torch


def td_target(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    q_next_target: torch.Tensor,
    gamma: float,
    *,
    next_mask: torch.Tensor | None = None,
    q_next_online: torch.Tensor | None = None,
) -> torch.Tensor:
    """The regression target y for a minibatch (no gradient flows through it).

    DQN:        y = r + γ (1 − done) max_a' Q(s', a'; θ̃)
    Double DQN: y = r + γ (1 − done) Q(s', argmax_a' Q(s', a'; θ); θ̃)   (`q_next_online`)
    Maxima and argmaxes run over the actions `next_mask` marks available.
    """
    if next_mask is not None:
        next_mask = next_mask | ~next_mask.any(dim=-1, keepdim=True)  # none available: all
    if q_next_online is None:
        scores = q_next_target
        if next_mask is not None:
            scores = scores.masked_fill(~next_mask, -math.inf)
        q_next = scores.max(dim=-1).values  # max_a' Q(s', a'; θ̃)
    else:
        scores = q_next_online
        if next_mask is not None:
            scores = scores.masked_fill(~next_mask, -math.inf)
        best = scores.argmax(dim=-1, keepdim=True)  # argmax_a' Q(s', a'; θ)
        q_next = q_next_target.gather(-1, best).squeeze(-1)  # Q(s', ·; θ̃)
    return rewards + gamma * (1.0 - terminated) * q_next  # y = r + γ (1 − done) q_next
