"""The action distributions of the policy-gradient agents (`ppo`, `reinforce`).

Description:
    A policy π_θ(a|s) is a distribution over actions whose parameters the actor head computes
    from the backbone's features. Everything an agent does with it goes through one object:
    sampling an action, its log-probability log π(a|s), the entropy H[π(·|s)], the greedy
    action and the action handed to the env.

    - `Discrete` actions, `CategoricalPolicy`: π(a|s) = softmax(z_θ(s))_a, the actor
      head's logits z; greedy = argmax.
    - `Box` actions, `GaussianPolicy`: a ~ N(μ_θ(s), diag σ²) with the actor head's
      mean μ_θ(s) and a learned log σ that is the same in every state (PPO's usual choice,
      SB3's `log_std_init`); greedy = μ. The env receives the action clipped to the Box; the
      unclipped sample is what is stored and scored by log π, so the ratio π_θ/π_θ_old of
      PPO compares the same sample (as SB3 does).

    Both keep what `DeepAgent.act` and the batched evaluation need: `greedy` and
    `to_env` (torch actions -> the numpy actions `env.step` takes).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lecture_rl.agents.hyperparameters import HyperparameterError, Param
from lecture_rl.nets.actor_critic_pair import ActorCriticPair

#: the `log_std_init` hyperparameter of the agents with a Gaussian policy (ppo, reinforce)
LOG_STD_INIT_PARAM = Param(
    0.0, "Box actions: log σ of the Gaussian policy at the start (learned; one per action dim)",
    low=-20.0, high=5.0,
)  # fmt: skip

#: the `critic_net` hyperparameter of the agents with a value head (ppo, reinforce)
CRITIC_NET_PARAM = Param(
    "shared", "shared: actor and value heads on one backbone; separate: the critic has its own "
    "copy of the backbone (SB3's and CleanRL's PPO; mlp and cnn)",
    choices=("shared", "separate"),
)  # fmt: skip

#: ½ log 2π, the constant of a Gaussian's log-density
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def layer_init(layer: nn.Linear, std: float) -> nn.Linear:
    """Orthogonal weights with gain `std` and zero bias (the usual PPO initialisation)."""
    nn.init.orthogonal_(layer.weight, std)
    nn.init.zeros_(layer.bias)
    return layer


def gumbel_noise(
    shape: tuple[int, ...], generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    """Gumbel(0, 1) noise `g = -log(-log U)`, `U ~ U(0, 1)` from a seeded generator.

    `argmax(logits + g)` is a draw from `softmax(logits)` (the Gumbel-max trick). On the
    CPU one draw of shape `(T, *shape)` gives the numbers of `T` draws of `shape`, so
    a rollout can draw all its steps' noise at once.
    """
    uniform = torch.rand(shape, generator=generator, device=device)
    return -torch.log(-torch.log(uniform.clamp_(min=1e-20)))


def sample_categorical(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Draw `a ~ softmax(logits)` per row with the Gumbel-max trick and a seeded generator."""
    return (logits + gumbel_noise(logits.shape, generator, logits.device)).argmax(dim=-1)


class LogStd(nn.Module):
    """The learned log σ of a Gaussian policy, the same in every state: one number per action
    dim (`shape = (d,)`), or per feature and action dim for gSDE (`(D, d)`)."""

    def __init__(self, shape: tuple[int, ...], init: float = 0.0):
        super().__init__()
        self.log_std = nn.Parameter(torch.full(shape, float(init)))

    def forward(self) -> torch.Tensor:
        return self.log_std


class CategoricalPolicy:
    """π(a|s) = softmax(z_θ(s))_a over the actions of a `Discrete` space (module docstring).

    Every method takes the actor head's output `scores` (here the logits z); `features`
    (the backbone's output) is read by gSDE only.
    """

    continuous = False
    needs_features = False  # sampling reads only the scores

    def __init__(self, space: gym.spaces.Discrete):
        self.space = space
        self.n = int(space.n)
        self.start = int(space.start)
        self.action_shape: tuple[int, ...] = ()
        self.action_dtype = torch.long

    def build_heads(self, width: int) -> dict[str, nn.Module]:
        """The actor head: logits z = W h + b, one per action (small init: π starts uniform)."""
        return {"actor": layer_init(nn.Linear(width, self.n), std=0.01)}

    def rollout_noise(
        self, steps: int, batch: int, generator: torch.Generator
    ) -> torch.Tensor | None:
        """The Gumbel noise of a rollout's `steps` draws of `batch` actions, drawn at once
        (`[steps, batch, nA]`: one operator per rollout instead of per step; on the CPU the
        same numbers as drawing step by step). Hand `noise[t]` to `sample()`."""
        return gumbel_noise((steps, batch, self.n), generator, generator.device)

    def sample(
        self,
        scores: torch.Tensor,
        heads: nn.ModuleDict,
        generator: torch.Generator,
        features: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """a ~ softmax(z) per row: a = argmax(z + g), g Gumbel noise (pre-drawn by
        `rollout_noise()`, or drawn here from `generator`)."""
        if noise is not None:
            return (scores + noise).argmax(dim=-1)
        return sample_categorical(scores, generator)

    def log_prob_entropy(
        self,
        scores: torch.Tensor,
        heads: nn.ModuleDict,
        actions: torch.Tensor,
        features: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """log π(a|s) and H[π(·|s)] per row (`scores` `[..., nA]`, `actions` `[...]`)."""
        log_pi = F.log_softmax(scores, dim=-1)
        logp = log_pi.gather(-1, actions[..., None])[..., 0]
        entropy = -(log_pi.exp() * log_pi).sum(-1)  # H = −Σ_a π log π
        return logp, entropy

    def log_prob(
        self,
        scores: torch.Tensor,
        heads: nn.ModuleDict,
        actions: torch.Tensor,
        features: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """log π(a|s) per row."""
        return F.log_softmax(scores, dim=-1).gather(-1, actions[..., None])[..., 0]

    def greedy(self, scores: torch.Tensor) -> torch.Tensor:
        """argmax_a π(a|s)."""
        return scores.argmax(dim=-1)

    def probs(self, scores: torch.Tensor) -> torch.Tensor:
        """π(·|s) `[..., nA]` (what the insides views draw)."""
        return scores.softmax(-1)

    def to_env(self, actions: torch.Tensor) -> np.ndarray:
        """Action indices as the env numbers them (from `space.start`)."""
        return actions.cpu().numpy() + self.start


class GaussianPolicy:
    """a ~ N(μ_θ(s), diag σ²) with a state-independent learned σ (module docstring).

    Arguments:
        space: the `Box` action space; actions reach the env clipped to its bounds.
        log_std_init: log σ at the start (0: σ = 1, SB3's default).
    """

    continuous = True
    needs_features = False  # sampling reads only the scores

    def __init__(self, space: gym.spaces.Box, log_std_init: float = 0.0):
        self.space = space
        self.dim = int(np.prod(space.shape))
        self.log_std_init = float(log_std_init)
        self.action_shape: tuple[int, ...] = (self.dim,)
        self.action_dtype = torch.float32
        self.low = np.asarray(space.low, dtype=np.float64).reshape(-1)
        self.high = np.asarray(space.high, dtype=np.float64).reshape(-1)

    def build_heads(self, width: int) -> dict[str, nn.Module]:
        """The mean μ = W h + b (small init: μ starts near 0) and log σ."""
        return {
            "actor": layer_init(nn.Linear(width, self.dim), std=0.01),
            "log_std": LogStd((self.dim,), self.log_std_init),
        }

    def log_std(self, heads: nn.ModuleDict, features: torch.Tensor | None) -> torch.Tensor:
        """log σ, `[d]` (the same in every state)."""
        return heads["log_std"]()

    def rollout_noise(
        self, steps: int, batch: int, generator: torch.Generator
    ) -> torch.Tensor | None:
        """`None`: a Gaussian's noise is drawn step by step (gSDE redraws Θ between steps)."""
        return None

    def sample(
        self,
        scores: torch.Tensor,
        heads: nn.ModuleDict,
        generator: torch.Generator,
        features: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """a = μ + σ ⊙ ξ, ξ ~ N(0, I) from the seeded generator (not clipped; `noise` is
        unused: see `rollout_noise()`)."""
        noise = torch.randn(scores.shape, generator=generator, device=scores.device)
        return scores + self.log_std(heads, features).exp() * noise

    def log_prob_entropy(
        self,
        scores: torch.Tensor,
        heads: nn.ModuleDict,
        actions: torch.Tensor,
        features: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """log π(a|s) and H[π(·|s)] per row (`scores`: μ `[..., d]`; `actions` alike)."""
        log_std = self.log_std(heads, features).expand(scores.shape)
        # H = Σ_i (½ + ½ log 2π + log σ_i)
        entropy = (0.5 + HALF_LOG_2PI + log_std).sum(-1)
        return gaussian_log_prob(scores, log_std, actions), entropy

    def log_prob(
        self,
        scores: torch.Tensor,
        heads: nn.ModuleDict,
        actions: torch.Tensor,
        features: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """log π(a|s) per row."""
        return gaussian_log_prob(scores, self.log_std(heads, features), actions)

    def greedy(self, scores: torch.Tensor) -> torch.Tensor:
        """The mean μ_θ(s), the most likely action."""
        return scores

    def probs(self, scores: torch.Tensor) -> torch.Tensor:
        """The mean action (a Gaussian has no table of probabilities to draw)."""
        return scores

    def to_env(self, actions: torch.Tensor) -> np.ndarray:
        """Actions `[B, d]` clipped to the Box, in its shape and dtype: `[B, *shape]`."""
        clipped = np.clip(actions.detach().cpu().numpy().astype(np.float64), self.low, self.high)
        return clipped.reshape(-1, *self.space.shape).astype(self.space.dtype)


class StateDependentGaussianPolicy(GaussianPolicy):
    """Generalised state-dependent exploration, gSDE (Raffin et al. 2022; SB3's `use_sde`).

    The exploring part of the action is a linear function of the features φ(s) (the
    backbone's output, without gradient) with random weights Θ, drawn per env with
    Θ_jk ~ N(0, σ_jk²) and kept for a while (`reset_noise`):

        a = μ_θ(s) + φ(s)ᵀ Θ,   so   a_k ~ N(μ_k(s), Σ_j φ_j(s)² σ_jk²)

    Between two draws of Θ the noise changes smoothly with the state, not at random every
    step: exploration that pushes one way in one part of the state space, which is what lets
    PPO find MountainCarContinuous's goal (rl-zoo3's settings use it there and on Pendulum).
    The greedy action is μ_θ(s), as for `GaussianPolicy`.
    """

    #: added to the variance (SB3's ε), so σ(s) > 0 where φ(s) = 0
    EPSILON = 1e-6
    needs_features = True  # the noise is φ(s)ᵀ Θ

    def __init__(self, space: gym.spaces.Box, log_std_init: float = -2.0):
        super().__init__(space, log_std_init)
        self.noise: torch.Tensor | None = None  # Θ per env, [N, D, d]

    def build_heads(self, width: int) -> dict[str, nn.Module]:
        """The mean μ = W h + b and log σ, one per feature and action dim `[D, d]`."""
        return {
            "actor": layer_init(nn.Linear(width, self.dim), std=0.01),
            "log_std": LogStd((width, self.dim), self.log_std_init),
        }

    def reset_noise(self, num_envs: int, heads: nn.ModuleDict, generator: torch.Generator) -> None:
        """Draw a new Θ ~ N(0, σ²) for each of `num_envs` envs."""
        sigma = heads["log_std"]().detach().exp()
        xi = torch.randn((num_envs, *sigma.shape), generator=generator, device=sigma.device)
        self.noise = sigma * xi

    def log_std(self, heads: nn.ModuleDict, features: torch.Tensor | None) -> torch.Tensor:
        """log σ(s) with σ_k(s)² = Σ_j φ_j(s)² σ_jk² + ε, `[..., d]`."""
        if features is None:
            raise ValueError("gSDE's σ(s) depends on the features; pass features=")
        sigma_sq = (2.0 * heads["log_std"]()).exp()  # σ_jk², [D, d]
        return 0.5 * (features.detach().square() @ sigma_sq + self.EPSILON).log()

    def sample(
        self,
        scores: torch.Tensor,
        heads: nn.ModuleDict,
        generator: torch.Generator,
        features: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """a = μ(s) + φ(s)ᵀ Θ with each env's Θ (a new one if the batch has other envs)."""
        if features is None:
            raise ValueError("gSDE's noise depends on the features; pass features=")
        if self.noise is None or self.noise.shape[0] not in (1, features.shape[0]):
            self.reset_noise(features.shape[0], heads, generator)
        assert self.noise is not None
        phi = features.detach()
        if self.noise.shape[0] == 1:
            return scores + phi @ self.noise[0]
        return scores + torch.bmm(phi[:, None, :], self.noise)[:, 0]


def gaussian_log_prob(
    mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor
) -> torch.Tensor:
    """log N(a; μ, diag σ²) = Σ_i [ −(a_i − μ_i)² / (2σ_i²) − log σ_i − ½ log 2π ]."""
    z = (actions - mean) * torch.exp(-log_std)
    return (-0.5 * z.square() - log_std - HALF_LOG_2PI).sum(-1)


Policy = CategoricalPolicy | GaussianPolicy | StateDependentGaussianPolicy


class PolicyHeads:
    """The heads of a policy-gradient agent (`ppo`, `reinforce`): the policy's own (`actor`:
    logits, or a Gaussian's mean and log σ) and one value head V(s) named `value_head`
    (PPO's critic, REINFORCE's baseline), with CleanRL's initialisation."""

    value_head: str

    @classmethod
    def check_critic_net(cls, hp: dict[str, Any]) -> None:
        """`critic_net=separate` needs a feed-forward net and no gSDE (which reads the actor's
        features through the policy); one line naming the setting otherwise."""
        if hp["critic_net"] != "separate":
            return
        if hp["net"] not in ("mlp", "cnn") or hp["frame_stack"] > 1:
            what = f"net={hp['net']}" if hp["frame_stack"] <= 1 else "frame_stack"
            raise HyperparameterError(
                f"{cls.name}: critic_net=separate gives the critic its own feed-forward network "
                f"(mlp or cnn), but {what} carries a memory; use critic_net=shared"
            )
        if hp.get("use_sde"):
            raise HyperparameterError(
                f"{cls.name}: critic_net=separate with use_sde=true is not supported (gSDE's "
                "noise reads the shared features); use critic_net=shared"
            )

    def _make_backbone(self) -> nn.Module:
        backbone = super()._make_backbone()  # type: ignore[misc]
        if self.hp["critic_net"] == "separate":  # f_V: a second, separately initialised copy
            return ActorCriticPair(backbone, super()._make_backbone())  # type: ignore[misc]
        return backbone

    def _build_heads(self) -> dict[str, nn.Module]:
        width = self.backbone.output_dim
        actor_width = getattr(self.backbone, "actor_dim", None)  # separate critic: a split
        critic_width = width if actor_width is None else width - actor_width
        return {
            # π: logits, or a Gaussian's mean and log σ
            **self.policy.build_heads(width if actor_width is None else actor_width),
            self.value_head: layer_init(nn.Linear(critic_width, 1), std=1.0),
        }

    def actor_features(self, features: torch.Tensor) -> torch.Tensor:
        """What the policy's heads read: all the features, or the actor's columns."""
        split = getattr(self.backbone, "actor_dim", None)
        return features if split is None else features[..., :split]

    def critic_features(self, features: torch.Tensor) -> torch.Tensor:
        """What the value head reads: all the features, or the critic's columns."""
        split = getattr(self.backbone, "actor_dim", None)
        return features if split is None else features[..., split:]

    def _action_scores(self, features: torch.Tensor) -> torch.Tensor:
        return self.heads["actor"](self.actor_features(features))


class UnsupportedActionSpace(ValueError):
    """The env's action space is one the agent cannot act in."""


def make_policy(space: gym.Space, agent: str, continuous: bool, **options: Any) -> Policy:
    """The policy for an action `space`; what an agent cannot act in raises one clear line.

    `options` for a Box: `log_std_init` and `use_sde` (gSDE).

    Raises:
        ValueError: a space other than `Discrete`, or a `Box` for an agent without
            continuous actions (`continuous=False`: dqn).
    """
    if isinstance(space, gym.spaces.Discrete):  # log_std_init has no use here
        if options.get("use_sde"):
            raise UnsupportedActionSpace(
                f"use_sde=true explores a Box action space, but this env has {space}; "
                "leave use_sde off"
            )
        return CategoricalPolicy(space)
    if isinstance(space, gym.spaces.Box) and continuous:
        if options.pop("use_sde", False):
            return StateDependentGaussianPolicy(space, **options)
        return GaussianPolicy(space, **options)
    if isinstance(space, gym.spaces.Box):
        raise UnsupportedActionSpace(
            f"agent '{agent}' needs a Discrete action space, but this env has {space} "
            "(continuous actions); use ppo or reinforce, which act with a Gaussian policy"
        )
    kinds = "Discrete or Box" if continuous else "Discrete"
    fix = (
        "wrap it with --env-set wrap=discrete-actions (one Discrete over the combinations)"
        if isinstance(space, gym.spaces.MultiDiscrete)
        else f"use an env with {kinds} actions"
    )
    raise UnsupportedActionSpace(
        f"agent '{agent}' needs a {kinds} action space, but this env has {space}; {fix}"
    )
