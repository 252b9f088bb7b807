"""Two feed-forward backbones side by side: one for the actor, one for the critic.

Description:
    By default our policy-gradient agents put both heads on one backbone: π(·|s) and V(s)
    read the same features, and the value loss shapes what the policy sees. SB3's
    `MlpPolicy` for PPO (what rl-zoo3's scores were measured with) and CleanRL's PPO give
    each its own network instead:

        π(·|s) = head_π(f_π(s)),    V(s) = head_V(f_V(s))

    `ActorCriticPair` holds f_π and f_V (same kind, same width, separately initialised) and
    returns their features concatenated, `[f_π(s), f_V(s)]`; the agent's actor head reads
    the first `actor_dim` columns and its value head the rest
    (`lecture_rl.agents.policies.PolicyHeads`). No gradient of one loss reaches the
    other network. Feed-forward backbones only: a memory net would carry two states.
"""

from __future__ import annotations

import torch

from lecture_rl.nets.backbone import Backbone


class ActorCriticPair(Backbone):
    """`actor` and `critic` read the same observation; features `[f_π(s), f_V(s)]`.

    Arguments:
        actor: the actor's feed-forward backbone.
        critic: the critic's, for the same observation space.

    Raises:
        ValueError: a backbone with a memory (rnn, lstm, gru, transformer, a frame stack).
    """

    name = "actor_critic_pair"

    def __init__(self, actor: Backbone, critic: Backbone):
        super().__init__(actor.observation_space)
        for part in (actor, critic):
            if part.is_recurrent:
                raise ValueError(
                    f"a separate critic network needs a feed-forward backbone (mlp, cnn); "
                    f"'{part.name}' carries a memory"
                )
        self.actor = actor
        self.critic = critic
        self.actor_dim = actor.output_dim  # the actor's columns come first
        self.output_dim = actor.output_dim + critic.output_dim

    def preprocess(self, obs: torch.Tensor) -> torch.Tensor:
        """The float input both networks read (they encode the same space alike)."""
        return self.actor.preprocess(obs)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.actor._features(x), self.critic._features(x)], dim=-1)
