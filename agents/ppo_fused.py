"""PPO's update without autograd: the same loss and gradient, computed by hand for speed.

Description:
    On the CPU, a feed-forward MLP with a categorical policy (CartPole, Acrobot, LunarLander,
    a Minigrid view as one-hot codes) spends most of PPO's update in per-operation overhead:
    autograd records and walks a graph of ~40 small operators per minibatch. `FusedPPOSteps`
    computes `PPOAgent._update`'s loss and its gradient with respect to the logits z and the
    value v directly, in numpy, and backpropagates them through the network by hand
    (`lecture_rl.nets.fused_mlp.FusedMLP`); the agent's own clipping and Adam step follow.

    With π = softmax(z), advantages Â normalised per minibatch, r = π(a|s) / π_old(a|s) and
    B rows, the loss is (notes 000 §7; Schulman et al. 2017, eq. 7 and 9)

        L = −(1/B) Σ min(r Â, clip(r, 1−ε, 1+ε) Â) + c_V · ½ (1/B) Σ (v − R)² − c_H · (1/B) Σ H

    and its gradient, row by row:

        ∂L/∂log π(a|s) = −(1/B) Â r · [the unclipped term is the smaller, or r is inside]
        ∂L/∂z = ∂L/∂log π(a|s) · (onehot(a) − π) + (c_H / B) · π ⊙ (log π + H)
        ∂L/∂v = c_V (v − R) / B

    `tests/test_agents_ppo_fused.py` checks the loss and every gradient against autograd, and
    that training takes the same steps either way.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from lecture_rl.agents.policies import CategoricalPolicy
from lecture_rl.agents.rollout import Rollout
from lecture_rl.agents.training_profile import phase
from lecture_rl.nets.actor_critic_pair import ActorCriticPair
from lecture_rl.nets.fused_mlp import FusedMLP

_ONE = np.float32(1.0)
_HALF = np.float32(0.5)


class FusedPPOSteps:
    """The fused update of `PPOAgent` (uses its `backbone`, `heads`, `policy`, `hp`, `device`,
    `n_actions`, `cpu_generator`, `_clip_coef` and `apply_gradients`)."""

    #: set False to train through autograd (the tests compare the two)
    use_fused_update: bool = True

    def _fused_nets(self) -> tuple[FusedMLP, FusedMLP | None] | None:
        """`(net, None)`: actor and critic heads on one MLP, outputs `[z | v]`; or
        `(actor, critic)` for a separate critic; `None` where the fused update does not apply
        (a GPU, a Box action space, a net other than a plain MLP)."""
        cached = getattr(self, "_fused_cache", None)
        if cached is not None:
            return cached or None
        made: tuple[FusedMLP, FusedMLP | None] | None = None
        if self.device.type == "cpu" and isinstance(self.policy, CategoricalPolicy):
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

    def _fused_act(
        self, obs: torch.Tensor, noise: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One vector step's `(a, log π(a|s), V(s))` by the numpy forward: a = argmax(z + g)
        with the rollout's Gumbel noise `g` (as `CategoricalPolicy.sample`)."""
        net, critic = self._fused_nets()  # type: ignore[misc]
        x = self.backbone.preprocess(obs).numpy()
        n_actions = self.n_actions
        if critic is None:
            out, _ = net.forward_numpy(x)
            logits, value = out[:, :n_actions], out[:, n_actions]
        else:
            logits, _ = net.forward_numpy(x)
            value = critic.forward_numpy(x)[0][:, 0]
        action = (logits + noise).argmax(axis=1)
        z = logits - logits.max(axis=1, keepdims=True)
        logp = z[np.arange(len(action)), action] - np.log(np.exp(z).sum(axis=1))
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
        n_actions = self.n_actions
        with torch.no_grad():  # the network's float input for every step of the rollout
            x_all = self.backbone.preprocess(rollout.obs.flatten(0, 1)).numpy()
        actions_all = rollout.actions.flatten(0, 1).numpy().astype(np.int64)
        old_logp_all = rollout.logprobs.flatten(0, 1).numpy()
        adv_all = advantages.flatten(0, 1).numpy()
        returns_all = returns.flatten(0, 1).numpy()
        totals = np.zeros(4, dtype=np.float64)
        count = 0
        for idx in self._fused_rows(rollout):
            with phase("update forward+backward"):
                rows = len(idx)
                x = x_all[idx]
                if critic is None:  # one MLP, two heads: out = [z | v]
                    out, trace = net.forward_numpy(x)
                    logits, v = out[:, :n_actions], out[:, n_actions]
                else:
                    logits, trace = net.forward_numpy(x)
                    v_out, critic_trace = critic.forward_numpy(x)
                    v = v_out[:, 0]
                z = logits - logits.max(axis=1, keepdims=True)
                logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))  # log π(·|s)
                probs = np.exp(logp)
                arange = np.arange(rows)
                actions = actions_all[idx]
                adv = adv_all[idx]
                adv = (adv - adv.mean()) / (adv.std(ddof=1) + np.float32(1e-8))
                ratio = np.exp(logp[arange, actions] - old_logp_all[idx])  # r_t(θ)
                clipped = np.clip(ratio, _ONE - eps, _ONE + eps)
                unclipped_term, clipped_term = ratio * adv, clipped * adv
                policy_loss = -np.minimum(unclipped_term, clipped_term).mean()  # −L^CLIP
                inside = ((ratio >= _ONE - eps) & (ratio <= _ONE + eps)).astype(np.float32)
                # which term of the min the gradient flows through (ties: half each, as torch)
                through = np.where(
                    unclipped_term < clipped_term, _ONE,
                    np.where(clipped_term < unclipped_term, inside, _HALF * (_ONE + inside)),
                )  # fmt: skip
                g_logp = -(adv * through * ratio) / np.float32(rows)  # ∂L/∂log π(a|s)
                entropy_rows = -(probs * logp).sum(axis=1)  # H(π(·|s))
                dz = probs * (-g_logp)[:, None]
                dz[arange, actions] += g_logp  # ∂(log π(a|s))/∂z = onehot(a) − π
                dz += (ent_coef / np.float32(rows)) * probs * (logp + entropy_rows[:, None])
                error = v - returns_all[idx]
                value_loss = _HALF * np.mean(error * error)  # ½ E[(V − R)²]
                dv = (vf_coef / np.float32(rows)) * error
                if critic is None:
                    grads = net.backward_numpy(trace, np.concatenate([dz, dv[:, None]], axis=1))
                else:
                    grads = [*net.backward_numpy(trace, dz),
                             *critic.backward_numpy(critic_trace, dv[:, None])]  # fmt: skip
                entropy = float(entropy_rows.mean())
                loss = float(policy_loss) + float(vf_coef) * float(value_loss)
                loss -= float(ent_coef) * entropy
                clip_fraction = float((np.abs(ratio - _ONE) > eps).mean())
                step = (float(policy_loss), float(value_loss), entropy, clip_fraction)
                totals += step
                count += 1
            with phase("optimizer"):
                losses = dict(zip(("policy", "value", "entropy"), map(torch.tensor, step[:3])))
                self.apply_gradients(
                    torch.tensor(loss, dtype=torch.float32),
                    losses,
                    {
                        "learning_rate": self.optimizer.param_groups[0]["lr"],
                        "clip_coef": float(eps),
                    },  # fmt: skip
                    numpy_grads=grads,
                )
        means = torch.as_tensor(totals / max(count, 1), dtype=torch.float32)
        return dict(zip(("policy", "value", "entropy", "clip_fraction"), means.unbind()))
