"""REINFORCE: Monte-Carlo policy gradient with a learned baseline, on any backbone.

Description:
    Notes 004 name the approach (policy gradient: "directly learn a_t = f(x_t; θ)"); the
    policy gradient theorem with a baseline (Sutton & Barto 2018, §13.2–13.4; Williams 1992)
    gives

        ∇J(θ) = E[ Σ_t ∇_θ log π_θ(a_t|s_t) · (G_t − b(s_t)) ],   G_t = Σ_k γ^k r_{t+k+1}

    where the baseline b(s_t) = V_w(s_t) is learned by regression on G_t; subtracting it keeps
    the gradient unbiased and lowers its variance. Each update uses one whole episode from each
    of `num_envs` envs stepped together: the envs are reset, run until every one has finished
    its episode (steps after an env's end are masked out), and the backbone is re-run over the
    whole batch of sequences in one call (`backbone.forward_sequence`) to get log π and V with
    gradients. One Adam step per batch.

Arguments (besides the deep-agent ones in `DeepAgent`):
    ent_coef: weight of an entropy bonus (0 is plain REINFORCE).
    vf_coef: weight of the baseline's squared error.
    max_episode_steps: a batch stops after this many steps even if some episode has not
        finished (those steps are then used with the return so far).
    normalize_advantages: scale G − b to unit variance per batch.
    torch_envs: as PPO's: `"auto"` trains on torch batched envs on a cuda device, `True`
        also on the CPU, `False` on the numpy envs (same numbers either way).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from lecture_rl.agents.base import TrainingRun
from lecture_rl.agents.deep import DeepAgent
from lecture_rl.agents.hyperparameters import Param, non_negative, positive_int, with_defaults
from lecture_rl.agents.policies import CRITIC_NET_PARAM, LOG_STD_INIT_PARAM, PolicyHeads
from lecture_rl.agents.training_profile import to_host
from lecture_rl.agents.vector_envs import (
    TORCH_ENVS_PARAM,
    EpisodeCounter,
    make_train_envs,
    use_torch_envs,
)


class ReinforceAgent(PolicyHeads, DeepAgent):
    """REINFORCE with a learned value baseline (its head on the actor's backbone or its own)."""

    name: ClassVar[str] = "reinforce"
    score_head: ClassVar[str | None] = "actor"  # _action_scores: this linear head
    continuous_actions: ClassVar[bool] = True  # Box actions: a Gaussian policy
    params: ClassVar[dict[str, Param]] = {
        **with_defaults(DeepAgent.params, hidden_size=64, lr=1e-2, num_envs=64),
        "ent_coef": non_negative(0.05, "weight of the entropy bonus"),
        "vf_coef": non_negative(0.5, "weight of the baseline's regression loss"),
        "max_episode_steps": positive_int(1000, "episodes are cut here while training",
                                          high=10**7),
        "normalize_advantages": Param(True, "normalise G − b over each batch", kind="bool"),
        "critic_net": CRITIC_NET_PARAM,
        "log_std_init": LOG_STD_INIT_PARAM,
        "torch_envs": TORCH_ENVS_PARAM,
    }  # fmt: skip
    default_budget: ClassVar[dict[str, int]] = {"steps": 200_000}
    value_head = "baseline"  # b(s) = V(s), the variance-reducing baseline

    @classmethod
    def check_hyperparameters(cls, hp: dict[str, Any]) -> None:
        super().check_hyperparameters(hp)
        cls.check_critic_net(hp)

    # ----- training -------------------------------------------------------------------------

    def _collect_and_update(self, env: gym.Env, run: TrainingRun) -> None:
        """Batches of whole episodes (one per env), each followed by one gradient step."""
        on_device = use_torch_envs(self.hp["torch_envs"], self.device, env, run)
        envs = make_train_envs(env, self.hp["num_envs"], self.device if on_device else None)
        counter = EpisodeCounter(self.hp["num_envs"], run)
        steps_done = 0
        seed = int(self.rng.integers(2**31))
        try:
            while not run.done:
                if on_device:
                    batch = self._collect_on_device(envs, seed, run, steps_done)
                else:
                    batch = self._collect(envs, seed, counter, steps_done)
                seed = None  # later resets continue the envs' own generators
                steps_done += batch["steps"]
                self._update(batch)
                self.env_steps += batch["steps"]
                self._after_update()
        finally:
            envs.close()

    @torch.no_grad()
    def _collect(
        self,
        envs: gym.vector.VectorEnv,
        seed: int | None,
        tracker: EpisodeCounter,
        steps_done: int,
    ) -> dict[str, Any]:
        """One episode per env, sampled from π; returns the tensors `[T, N, ...]`."""
        num_envs = self.hp["num_envs"]
        obs, infos = envs.reset(seed=seed)
        state = self.backbone.initial_state(num_envs, self.device)
        running = np.ones(num_envs, dtype=bool)
        tracker.returns[:] = 0.0
        tracker.lengths[:] = 0
        observations, actions, rewards, valid, masks = [], [], [], [], []
        counted = 0
        if self.reward_normalizer is not None:
            self.reward_normalizer.start(num_envs)
        for _ in range(self.hp["max_episode_steps"]):
            obs_t = self.obs_tensor(obs, learn=True)
            features, state = self.backbone.step(obs_t, state, None)
            logits = self._action_scores(features)
            mask = None
            if "action_mask" in infos:
                mask = torch.as_tensor(np.asarray(infos["action_mask"], dtype=bool))
                mask = (mask | ~mask.any(dim=-1, keepdim=True)).to(self.device)
                logits = logits.masked_fill(~mask, -1e9)
            action = self.policy.sample(logits, self.heads, self.generator, features)
            obs_before, infos_before = obs, infos
            env_actions = self.policy.to_env(action)  # a Box: clipped
            obs, reward, terminated, truncated, infos = envs.step(env_actions)
            done = np.logical_or(terminated, truncated)
            if tracker.wants_transitions and running[0]:  # env 0's step, for the live viewer
                tracker.transition(
                    obs_before, env_actions, reward, obs, terminated, truncated, infos,
                    infos_before,
                )  # fmt: skip
            observations.append(obs_t)
            actions.append(action)
            step_rewards = np.where(running, reward, 0.0)
            if self.reward_normalizer is not None:  # scaled; only the first episodes count
                scaled = self._scaled_rewards(step_rewards, done & running, running)
                step_rewards = scaled.cpu().numpy()
            rewards.append(step_rewards)
            valid.append(running.copy())
            masks.append(mask)
            counted += int(running.sum())
            # only the first episode of each env counts; later steps are masked out
            tracker.step(np.where(running, reward, 0.0), done & running, steps_done + counted)
            tracker.returns[~running] = 0.0
            tracker.lengths[~running] = 0
            running &= ~done
            if not running.any():
                break
        rewards_np = np.stack(rewards).astype(np.float32)  # [T, N]
        returns = np.zeros_like(rewards_np)
        future = np.zeros(num_envs, dtype=np.float32)
        for t in reversed(range(len(rewards))):
            future = rewards_np[t] + self.hp["gamma"] * future  # G_t = r_{t+1} + γ G_{t+1}
            returns[t] = future
        return {
            "obs": torch.stack(observations),
            "actions": torch.stack(actions),
            "returns": torch.as_tensor(returns, device=self.device),
            "valid": torch.as_tensor(np.stack(valid), device=self.device),
            "masks": None if masks[0] is None else torch.stack(masks),
            "steps": counted,
        }

    @torch.no_grad()
    def _collect_on_device(
        self, envs: gym.vector.VectorEnv, seed: int | None, run: TrainingRun, steps_done: int
    ) -> dict[str, Any]:
        """`_collect` on torch batched envs: everything stays on the device.

        The episodes are reported after the batch, from one copy of each env's first return
        and length, in the order and with the `env_steps` `_collect` gives them. A
        sequence task ends every copy at its `episode_steps`, so the loop needs no check;
        other envs are asked once per step whether any copy still runs.
        """
        num_envs, gamma = self.hp["num_envs"], self.hp["gamma"]
        obs, infos = envs.reset(seed=seed)
        state = self.backbone.initial_state(num_envs, self.device)
        running = torch.ones(num_envs, dtype=torch.bool, device=self.device)
        ret = torch.zeros(num_envs, dtype=torch.float64, device=self.device)
        length = torch.zeros(num_envs, dtype=torch.int64, device=self.device)
        fixed = getattr(envs, "episode_steps", None)  # every copy ends at this step
        limit = (
            self.hp["max_episode_steps"]
            if fixed is None
            else min(fixed, self.hp["max_episode_steps"])
        )
        observations, actions, rewards, valid, masks = [], [], [], [], []
        if self.reward_normalizer is not None:
            self.reward_normalizer.start(num_envs)
        for _ in range(limit):
            obs_t = self.obs_tensor(obs, learn=True)
            features, state = self.backbone.step(obs_t, state, None)
            logits = self._action_scores(features)
            mask = None
            if "action_mask" in infos:
                mask = infos["action_mask"].bool()
                mask = mask | ~mask.any(dim=-1, keepdim=True)
                logits = logits.masked_fill(~mask, -1e9)
            action = self.policy.sample(logits, self.heads, self.generator, features)
            obs, reward, terminated, truncated, infos = envs.step(action + self.action_start)
            reward = torch.where(running, reward, 0.0)
            observations.append(obs_t)
            actions.append(action)
            ended = (terminated | truncated) & running
            rewards.append(self._scaled_rewards(reward, ended, running))
            valid.append(running)
            masks.append(mask)
            ret = ret + reward
            length = length + running
            running = running & ~(terminated | truncated)
            if fixed is None and not bool(running.any()):
                break
        counted = self._report_first_episodes(run, ret, length, running, steps_done)
        rewards_t = torch.stack(rewards)  # [T, N]
        returns = torch.zeros_like(rewards_t)
        future = torch.zeros(num_envs, dtype=torch.float32, device=self.device)
        for t in reversed(range(len(rewards))):
            future = rewards_t[t] + gamma * future  # G_t = r_{t+1} + γ G_{t+1}
            returns[t] = future
        return {
            "obs": torch.stack(observations),
            "actions": torch.stack(actions),
            "returns": returns,
            "valid": torch.stack(valid),
            "masks": None if masks[0] is None else torch.stack(masks),
            "steps": counted,
        }

    def _report_first_episodes(
        self,
        run: TrainingRun,
        ret: torch.Tensor,
        length: torch.Tensor,
        running: torch.Tensor,
        steps_done: int,
    ) -> int:
        """Report each env's finished first episode, ordered by its end step, then by env, as
        one batch; returns the steps counted (each env's steps up to its episode's end)."""
        copied = to_host(torch.stack([ret, length.double(), running.double()]))
        returns, lengths, unfinished = copied[0], copied[1].astype(np.int64), copied[2] > 0
        counted = int(lengths.sum())
        finished = np.flatnonzero(~unfinished)
        order = finished[np.lexsort((finished, lengths[finished]))]  # by length, then by env
        # the steps counted when env i ended: Σ_j min(length_j, length_i)
        sorted_lengths = np.sort(lengths)
        below = np.concatenate([[0], np.cumsum(sorted_lengths)])
        k = np.searchsorted(sorted_lengths, lengths[order], side="right")
        ended_at = below[k] + lengths[order] * (lengths.size - k)
        run.episode_batch(returns[order], lengths[order], steps_done + ended_at)
        run.env_steps = steps_done + counted
        return counted

    def _update(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """One gradient step on ∇ log π · (G − b) plus the baseline's regression loss."""
        num_envs = self.hp["num_envs"]
        state0 = self.backbone.initial_state(num_envs, self.device)
        features, _ = self.backbone.forward_sequence(batch["obs"], state0, None)
        scores = self._action_scores(features)  # [T, N, nA] logits, or [T, N, d] μ
        if batch["masks"] is not None:
            scores = scores.masked_fill(~batch["masks"], -1e9)
        logp, entropy = self.policy.log_prob_entropy(scores, self.heads, batch["actions"], features)
        # b(s_t) = V_w(s_t)
        baseline = self.heads["baseline"](self.critic_features(features)).squeeze(-1)
        valid = batch["valid"].float()
        count = valid.sum().clamp(min=1.0)
        advantage = (batch["returns"] - baseline).detach()  # G_t − b(s_t)
        if self.hp["normalize_advantages"]:
            mean = (advantage * valid).sum() / count
            std = (((advantage - mean) ** 2 * valid).sum() / count).sqrt()
            advantage = (advantage - mean) / (std + 1e-8)
        # REINFORCE: ascend Σ_t ∇ log π(a_t|s_t) · (G_t − b(s_t))
        policy_loss = -(logp * advantage * valid).sum() / count
        baseline_loss = 0.5 * ((batch["returns"] - baseline) ** 2 * valid).sum() / count
        entropy_mean = (entropy * valid).sum() / count
        loss = policy_loss + self.hp["vf_coef"] * baseline_loss - self.hp["ent_coef"] * entropy_mean
        self.gradient_step(
            loss, {"policy": policy_loss, "baseline": baseline_loss, "entropy": entropy_mean}
        )
        # 0-d tensors: a float() here would be a host sync per update on a GPU
        return {
            "policy": policy_loss.detach(),
            "baseline": baseline_loss.detach(),
            "entropy": entropy_mean.detach(),
        }
