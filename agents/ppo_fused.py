"""PPO's update without autograd: the same loss and gradient, computed by hand for speed.

Description:
    On the CPU, a feed-forward MLP (CartPole, LunarLander, a Minigrid view as one-hot codes,
    Pendulum) spends most of PPO's update in per-operation overhead: autograd records and
    walks a graph of ~40 small operators per minibatch. `FusedPPOSteps` computes
    `PPOAgent._update`'s loss and its gradient with respect to the actor head's scores and
    the value v directly, in numpy, and backpropagates them through the network by hand
    (`lecture_rl.nets.fused_mlp.FusedMLP`); the agent's own clipping and Adam step follow.

    With advantages Â normalised per minibatch, r = π(a|s) / π_old(a|s) and B rows, the
    loss is (notes 000 §7; Schulman et al. 2017, eq. 7 and 9)

        L = −(1/B) Σ min(r Â, clip(r, 1−ε, 1+ε) Â) + c_V · ½ (1/B) Σ (v − R)² − c_H · (1/B) Σ H

    and its gradient, row by row, starts from

        ∂L/∂log π(a|s) = −(1/B) Â r · [the unclipped term is the smaller, or r is inside]
        ∂L/∂v = c_V (v − R) / B

    then goes through the policy's own log π and H:

    - categorical, π = softmax(z):
      ∂L/∂z = ∂L/∂log π(a|s) · (onehot(a) − π) + (c_H / B) · π ⊙ (log π + H)
    - Gaussian, log π = Σ_k −½ ζ_k² − log σ_k − ½ log 2π with ζ = (a − μ) / σ and
      H = Σ_k ½ + ½ log 2π + log σ_k:
      ∂L/∂μ_k = ∂L/∂log π(a|s) · ζ_k / σ_k,
      ∂L/∂log σ_k = ∂L/∂log π(a|s) · (ζ_k² − 1) − c_H / B,
      summed over the rows for a state-independent log σ; for gSDE, where
      σ_k(s)² = Σ_j φ_j(s)² σ_jk² + ε with the features φ held fixed (no gradient),
      ∂L/∂log σ_jk = σ_jk² Σ_rows φ_j² · (∂L/∂log σ_k) / σ_k(s)².

    `tests/test_agents_ppo_fused.py` checks the loss and every gradient against autograd, and
    that training takes the same steps either way.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from lecture_rl.agents.policies import (
    HALF_LOG_2PI,
    CategoricalPolicy,
    GaussianPolicy,
    StateDependentGaussianPolicy,
)
from lecture_rl.agents.rollout import Rollout
from lecture_rl.agents.training_profile import phase
from lecture_rl.nets.actor_critic_pair import ActorCriticPair
from lecture_rl.nets.fused_mlp import FusedMLP

_ONE = np.float32(1.0)
_HALF = np.float32(0.5)
_TINY = np.float32(1e-8)
_HALF_LOG_2PI = np.float32(HALF_LOG_2PI)


class FusedPPOSteps:
    """The fused update of `PPOAgent` (uses its `backbone`, `heads`, `policy`, `hp`, `device`,
    `generator`, `cpu_generator`, `_clip_coef` and `apply_gradients`)."""

    #: set False to train through autograd (the tests compare the two)
    use_fused_update: bool = True

    def _fused_nets(self) -> tuple[FusedMLP, FusedMLP | None] | None:
        """`(net, None)`: actor and critic heads on one MLP, outputs `[scores | v]`; or
        `(actor, critic)` for a separate critic; `None` where the fused update does not apply
        (a GPU, a net other than a plain MLP)."""
        cached = getattr(self, "_fused_cache", None)
        if cached is not None:
            return cached or None
        made: tuple[FusedMLP, FusedMLP | None] | None = None
        by_hand = isinstance(self.policy, CategoricalPolicy | GaussianPolicy)
        if self.device.type == "cpu" and by_hand:
            actor, critic = self.heads["actor"], self.heads["critic"]
            if isinstance(self.backbone, ActorCriticPair):
                pair = (FusedMLP.of(self.backbone.actor, actor),
                        FusedMLP.of(self.backbone.critic, critic))  # fmt: skip
                made = pair if None not in pair else None
            else:
                shared = FusedMLP.of(self.backbone, [actor, critic])
                made = None if shared is None else (shared, None)
        self._fused_cache = made if made is not None else False
        return made

    def _limit_blas_threads(self) -> threadpool_limits | None:
        """While training by hand: numpy's BLAS at torch's thread count (call
        `restore_original_limits()` after). With a thread per core these small products ran
        about 5x slower on a loaded 2-core machine."""
        if not self.use_fused_update or self._fused_nets() is None:
            return None
        return threadpool_limits(limits=torch.get_num_threads(), user_api="blas")

    def _fused_forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, list, list | None]:
        """The numpy forward: `(scores, v, actor trace, critic trace or None)`; the actor
        trace's last entry is the features φ(s) the actor head reads."""
        net, critic = self._fused_nets()  # type: ignore[misc]
        if critic is None:  # one MLP, two heads: out = [scores | v]
            out, trace = net.forward_numpy(x)
            return out[:, :-1], out[:, -1], trace, None
        scores, trace = net.forward_numpy(x)
        value, critic_trace = critic.forward_numpy(x)
        return scores, value[:, 0], trace, critic_trace

    def _fused_log_std(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """A Gaussian policy's `(log σ, σ²(s))`: log σ `[d]`, or for gSDE
        log σ(s) = ½ log(φ² σ² + ε) `[B, d]` with σ(s)² (what its gradient divides by)."""
        log_std = self.heads["log_std"].log_std.detach().numpy()
        if not isinstance(self.policy, StateDependentGaussianPolicy):
            return log_std, None
        variance = (features * features) @ np.exp(2.0 * log_std)  # Σ_j φ_j² σ_jk²
        variance += np.float32(self.policy.EPSILON)
        return _HALF * np.log(variance), variance

    def _fused_act(
        self, obs: torch.Tensor, noise: np.ndarray | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One vector step's `(a, log π(a|s), V(s))` by the numpy forward, drawing as the
        policy's `sample` does: categorical a = argmax(z + g) with the rollout's Gumbel noise
        `g`; Gaussian a = μ + σ ξ with ξ from the agent's generator; gSDE a = μ + φᵀ Θ."""
        x = self.backbone.preprocess(obs).numpy()
        scores, value, trace, _ = self._fused_forward(x)
        if isinstance(self.policy, CategoricalPolicy):
            action = (scores + noise).argmax(axis=1)
            z = scores - scores.max(axis=1, keepdims=True)
            logp = z[np.arange(len(action)), action] - np.log(np.exp(z).sum(axis=1))
            return torch.from_numpy(action), torch.from_numpy(logp), torch.from_numpy(value.copy())
        features = trace[-1]
        log_std, _ = self._fused_log_std(features)
        policy = self.policy
        if isinstance(policy, StateDependentGaussianPolicy):  # a = μ(s) + φ(s)ᵀ Θ, Θ per env
            if policy.noise is None or policy.noise.shape[0] not in (1, len(x)):
                policy.reset_noise(len(x), self.heads, self.generator)
            theta = policy.noise.numpy()  # type: ignore[union-attr]
            if theta.shape[0] != len(x):  # one Θ for every env
                theta = np.broadcast_to(theta, (len(x), *theta.shape[1:]))
            action = scores + np.einsum("nj,njk->nk", features, theta)
        else:  # a = μ + σ ξ, ξ ~ N(0, I)
            xi = torch.randn(scores.shape, generator=self.generator).numpy()
            action = scores + np.exp(log_std) * xi
        action = action.astype(np.float32)
        logp = _gaussian_log_prob(scores, action, log_std)[0]
        return torch.from_numpy(action), torch.from_numpy(logp), torch.from_numpy(value.copy())

    def _fused_rows(self, rollout: Rollout) -> Iterator[np.ndarray]:
        """Every epoch's minibatches as flat step indices `t·N + n`, drawn from the same
        generator in the same order as the autograd path's (`PPOAgent._minibatches`)."""
        hp, width = self.hp, rollout.num_envs
        if hp["batch_size"]:
            for _ in range(hp["update_epochs"]):
                for flat in rollout.step_minibatches(hp["batch_size"], self.cpu_generator):
                    yield flat.numpy()
            return
        times = np.arange(rollout.steps)[:, None] * width
        minibatches = rollout.env_minibatches(
            hp["num_minibatches"], self.cpu_generator, hp["update_epochs"]
        )
        for host_rows, _ in minibatches:
            yield (times + host_rows[None, :]).ravel()

    def _fused_update(
        self, rollout: Rollout, advantages: torch.Tensor, returns: torch.Tensor
    ) -> dict[str, torch.Tensor] | None:
        """`PPOAgent._update` by hand (module docstring); `None` where it does not apply."""
        nets = self._fused_nets() if self.use_fused_update else None
        if nets is None or rollout.masks is not None:
            return None
        net, critic = nets
        hp = self.hp
        eps = np.float32(hp["clip_coef"] if self._clip_coef is None else self._clip_coef)
        vf_coef, ent_coef = np.float32(hp["vf_coef"]), np.float32(hp["ent_coef"])
        categorical = isinstance(self.policy, CategoricalPolicy)
        log_std_param = None if categorical else self.heads["log_std"].log_std
        with torch.no_grad():  # the network's float input for every step of the rollout
            x_all = self.backbone.preprocess(rollout.obs.flatten(0, 1)).numpy()
        actions_all = rollout.actions.flatten(0, 1).numpy()
        if categorical:
            actions_all = actions_all.astype(np.int64)
        old_logp_all = rollout.logprobs.flatten(0, 1).numpy()
        adv_all = advantages.flatten(0, 1).numpy()
        returns_all = returns.flatten(0, 1).numpy()
        totals = np.zeros(4, dtype=np.float64)
        count = 0
        for idx in self._fused_rows(rollout):
            with phase("update forward+backward"):
                rows = len(idx)
                scores, v, trace, critic_trace = self._fused_forward(np.take(x_all, idx, axis=0))
                actions = np.take(actions_all, idx, axis=0)
                if categorical:
                    logp, entropy_rows, policy_state = _categorical_terms(scores, actions)
                else:
                    log_std, variance = self._fused_log_std(trace[-1])
                    logp, entropy_rows, policy_state = _gaussian_terms(scores, actions, log_std)
                adv = adv_all[idx]
                centred = adv - adv.sum() / np.float32(rows)  # Â normalised in the minibatch
                adv = centred / (np.sqrt(centred @ centred / np.float32(rows - 1)) + _TINY)
                ratio = np.exp(logp - old_logp_all[idx])  # r_t(θ)
                clipped = np.minimum(np.maximum(ratio, _ONE - eps), _ONE + eps)
                unclipped_term, clipped_term = ratio * adv, clipped * adv
                policy_loss = -np.minimum(unclipped_term, clipped_term).sum() / rows  # −L^CLIP
                inside = ((ratio >= _ONE - eps) & (ratio <= _ONE + eps)).astype(np.float32)
                # which term of the min the gradient flows through (ties: half each, as torch)
                through = np.where(
                    unclipped_term < clipped_term, _ONE,
                    np.where(clipped_term < unclipped_term, inside, _HALF * (_ONE + inside)),
                )  # fmt: skip
                g_logp = -(adv * through * ratio) / np.float32(rows)  # ∂L/∂log π(a|s)
                ent_scale = ent_coef / np.float32(rows)
                if categorical:
                    d_scores = _categorical_grad(policy_state, g_logp, ent_scale)
                else:
                    d_scores, d_log_std = _gaussian_grad(policy_state, g_logp, ent_scale)
                error = v - returns_all[idx]
                value_loss = _HALF * float(error @ error) / rows  # ½ E[(V − R)²]
                dv = (vf_coef / np.float32(rows)) * error
                if critic is None:
                    grads = [*net.backward_numpy(trace, np.concatenate([d_scores, dv[:, None]], 1))]
                else:
                    grads = [*net.backward_numpy(trace, d_scores),
                             *critic.backward_numpy(critic_trace, dv[:, None])]  # fmt: skip
                if log_std_param is not None:
                    grads.append(self._log_std_grad(log_std_param, d_log_std, trace[-1], variance))
                entropy = float(entropy_rows.sum()) / rows
                loss = float(policy_loss) + float(vf_coef) * value_loss
                loss -= float(ent_coef) * entropy
                clip_fraction = np.count_nonzero(np.abs(ratio - _ONE) > eps) / rows
                step = (float(policy_loss), value_loss, entropy, clip_fraction)
                totals += step
                count += 1
            with phase("optimizer"):
                self.apply_gradients(
                    loss,
                    dict(zip(("policy", "value", "entropy"), step[:3])),
                    {
                        "learning_rate": self.optimizer.param_groups[0]["lr"],
                        "clip_coef": float(eps),
                    },  # fmt: skip
                    numpy_grads=grads,
                )
        means = torch.as_tensor(totals / max(count, 1), dtype=torch.float32)
        return dict(zip(("policy", "value", "entropy", "clip_fraction"), means.unbind()))

    def _log_std_grad(
        self,
        param: torch.nn.Parameter,
        d_log_std: np.ndarray,
        features: np.ndarray,
        variance: np.ndarray | None,
    ) -> np.ndarray:
        """∂L/∂(the log σ parameter) written into its `.grad` (kept between calls);
        returns the numpy view. `d_log_std`: ∂L/∂log σ per row `[B, d]`."""
        grad = param.grad
        if grad is None or grad.shape != param.shape or not grad.is_contiguous():
            grad = param.grad = torch.empty_like(param, memory_format=torch.contiguous_format)
        out = grad.numpy()
        if variance is None:  # one log σ for every state: the rows' sum
            d_log_std.sum(0, out=out)
        else:  # gSDE: ∂L/∂log σ_jk = σ_jk² Σ_rows φ_j² (∂L/∂log σ_k(s)) / σ_k(s)²
            np.matmul((features * features).T, d_log_std / variance, out=out)
            out *= np.exp(2.0 * param.detach().numpy())
        return out


def _categorical_terms(
    logits: np.ndarray, actions: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """log π(a|s) and H per row for π = softmax(z), and what the gradient reuses."""
    z = logits - logits.max(axis=1, keepdims=True)
    log_pi = z - np.log(np.exp(z).sum(axis=1, keepdims=True))  # log π(·|s)
    probs = np.exp(log_pi)
    arange = np.arange(len(actions))
    entropy = -(probs * log_pi).sum(axis=1)  # H(π(·|s))
    return log_pi[arange, actions], entropy, (probs, log_pi, entropy, arange, actions)


def _categorical_grad(state: tuple, g_logp: np.ndarray, ent_scale: np.float32) -> np.ndarray:
    """∂L/∂z = ∂L/∂log π(a|s) · (onehot(a) − π) + (c_H / B) · π ⊙ (log π + H)."""
    probs, log_pi, entropy, arange, actions = state
    dz = probs * (-g_logp)[:, None]
    dz[arange, actions] += g_logp  # ∂(log π(a|s))/∂z = onehot(a) − π
    dz += ent_scale * probs * (log_pi + entropy[:, None])  # ∂(−c_H H / B)/∂z
    return dz


def _gaussian_terms(
    mean: np.ndarray, actions: np.ndarray, log_std: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """log π(a|s) = Σ_k −½ ζ_k² − log σ_k − ½ log 2π with ζ = (a − μ)/σ, and
    H = Σ_k ½ + ½ log 2π + log σ_k, per row (`log_std` `[d]` or `[B, d]`)."""
    logp, zeta, inv_std = _gaussian_log_prob(mean, actions, log_std)
    entropy = np.broadcast_to(_HALF + _HALF_LOG_2PI + log_std, mean.shape).sum(axis=1)
    return logp, entropy, (zeta, inv_std)


def _gaussian_log_prob(
    mean: np.ndarray, actions: np.ndarray, log_std: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(log π(a|s), ζ, 1/σ)` per row: log π = Σ_k −½ ζ_k² − log σ_k − ½ log 2π."""
    inv_std = np.exp(-log_std)
    zeta = (actions - mean) * inv_std  # ζ = (a − μ)/σ
    return (-_HALF * zeta * zeta - log_std - _HALF_LOG_2PI).sum(axis=1), zeta, inv_std


def _gaussian_grad(
    state: tuple, g_logp: np.ndarray, ent_scale: np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """∂L/∂μ = ∂L/∂log π · ζ/σ and ∂L/∂log σ = ∂L/∂log π · (ζ² − 1) − c_H/B, per row."""
    zeta, inv_std = state
    g = g_logp[:, None]
    return g * zeta * inv_std, g * (zeta * zeta - _ONE) - ent_scale
