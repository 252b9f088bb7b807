"""Proximal Policy Optimisation (PPO) on any lecture-rl backbone, recurrent ones included.

Description:
    An actor-critic: the backbone (``mlp``, ``cnn``, ``rnn``, ``lstm``, ``gru``,
    ``transformer``) reads the observations; a linear actor head gives the policy logits
    π(a|s) and a linear critic head the value V(s). Training alternates two phases:

    1. *Collect* ``n_steps`` steps in each of ``num_envs`` envs stepped together (one
       ``backbone.step`` per vector step), storing the recurrent state the rollout started from.
    2. *Update* for ``update_epochs`` epochs on minibatches drawn **by env**, so each env's
       sequence stays contiguous, re-running the backbone over the whole sequence in one call
       (``backbone.forward_sequence``), with the clipped surrogate objective, a value loss and an
       entropy bonus, using Adam (notes 004) with gradient clipping.

    Advantages are GAE(λ); they are normalised per minibatch. The defaults (lr 5e-3 decayed
    linearly, λ = 0.8, 128 envs × 32 steps, hidden size 128) were picked from runs over several
    seeds: with them ``lstm`` and ``gru`` solve Parity length 16 in about 100k env steps
    (``benchmarks/parity_vs_sb3.py``); λ = 0.95 or lr 2.5e-3 failed on some seeds.

Arguments (besides the deep-agent ones in :class:`~lecture_rl.agents.deep.DeepAgent`):
    n_steps: steps per env per rollout (the sequence length T the core is trained on).
    num_minibatches: minibatches per epoch (envs are split into this many groups).
    update_epochs: passes over each rollout.
    gae_lambda: λ of GAE.
    clip_coef: ε of the clipped objective.
    ent_coef: weight of the entropy bonus.
    vf_coef: weight of the value loss.
    anneal_lr: decay the learning rate linearly to 0 over the training budget.

Usage::

    env = gym.make("LectureRL/Parity-v0", length=16)
    agent = lecture_rl.agents.make("ppo", env, net="lstm", seed=0)
    agent.train(env, steps=300_000)
    agent.evaluate(env, episodes=200)["accuracy"]
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lecture_rl.agents.base import (
    EpisodeCallback,
    HyperparameterError,
    TrainResult,
    answers_per_episode,
)
from lecture_rl.agents.deep import (
    DeepAgent,
    EpisodeTracker,
    check_range,
    make_train_envs,
    sample_categorical,
    stack_final_obs,
)
from lecture_rl.agents.rollout import Rollout, detach_state, index_state


def layer_init(layer: nn.Linear, std: float) -> nn.Linear:
    """Orthogonal weights with gain ``std`` and zero bias (the usual PPO initialisation)."""
    nn.init.orthogonal_(layer.weight, std)
    nn.init.zeros_(layer.bias)
    return layer


class PPOAgent(DeepAgent):
    """PPO with GAE on a shared backbone with actor and critic heads."""

    name: ClassVar[str] = "ppo"
    defaults: ClassVar[dict[str, Any]] = {
        **DeepAgent.defaults,
        "hidden_size": 128,
        "lr": 5e-3,
        "num_envs": 128,
        "n_steps": 32,
        "num_minibatches": 4,
        "update_epochs": 4,
        "gae_lambda": 0.8,
        "clip_coef": 0.2,
        "ent_coef": 0.01,
        "vf_coef": 0.5,
        "anneal_lr": True,
    }
    default_budget: ClassVar[dict[str, int]] = {"steps": 500_000}

    @classmethod
    def check_hyperparameters(cls, hp: dict[str, Any]) -> None:
        super().check_hyperparameters(hp)
        check_range(hp, "n_steps", 1, 100_000, integer=True)
        check_range(hp, "num_minibatches", 1, hp["num_envs"], integer=True)
        check_range(hp, "update_epochs", 1, 1000, integer=True)
        check_range(hp, "gae_lambda", 0.0, 1.0)
        check_range(hp, "clip_coef", 0.0, math.inf, low_open=True)
        check_range(hp, "ent_coef", 0.0, math.inf)
        check_range(hp, "vf_coef", 0.0, math.inf)
        if not isinstance(hp["anneal_lr"], bool):
            raise HyperparameterError(f"anneal_lr={hp['anneal_lr']!r} must be true or false")

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        super().__init__(env, seed=seed, **hyperparameters)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=self.hp["lr"], eps=1e-5)

    def _build_heads(self) -> dict[str, nn.Module]:
        width = self.backbone.output_dim
        return {
            "actor": layer_init(nn.Linear(width, self.n_actions), std=0.01),
            "critic": layer_init(nn.Linear(width, 1), std=1.0),
        }

    def _action_scores(self, features: torch.Tensor) -> torch.Tensor:
        return self.heads["actor"](features)

    def value(self, features: torch.Tensor) -> torch.Tensor:
        """V(s) from backbone features (``[..., D]`` -> ``[...]``)."""
        return self.heads["critic"](features).squeeze(-1)

    # ----- training -------------------------------------------------------------------------

    def train(
        self,
        env: gym.Env,
        episodes: int | None = None,
        steps: int | None = None,
        *,
        callback: EpisodeCallback | None = None,
    ) -> TrainResult:
        """Collect and update until ``steps`` env steps or ``episodes`` episodes are done.

        ``callback(record)`` gets every finished episode; returning ``False`` stops training
        after the current rollout.
        """
        max_episodes, max_steps = self.training_budget(episodes, steps)
        hp = self.hp
        num_envs, n_steps, gamma = hp["num_envs"], hp["n_steps"], hp["gamma"]
        envs = make_train_envs(env, num_envs)
        self._start_training()
        tracker = EpisodeTracker(num_envs, answers_per_episode(env), callback, max_episodes)
        obs, infos = envs.reset(seed=int(self.rng.integers(2**31)))
        first = self.obs_tensor(obs)
        rollout = Rollout(n_steps, num_envs, tuple(first.shape[1:]), first.dtype, self.device)
        state = self.backbone.initial_state(num_envs, self.device)
        episode_start = torch.ones(num_envs, dtype=torch.bool, device=self.device)
        steps_done, t0 = 0, time.perf_counter()
        try:
            while True:
                if hp["anneal_lr"]:
                    self._anneal(steps_done, max_steps, len(tracker.records), max_episodes)
                rollout.initial_state = detach_state(state)
                with torch.no_grad():
                    for t in range(n_steps):
                        obs_t = self.obs_tensor(obs)
                        rollout.obs[t] = obs_t
                        rollout.episode_starts[t] = episode_start
                        features, state = self.backbone.step(obs_t, state, episode_start)
                        logits = self._masked(self._action_scores(features), infos, rollout, t)
                        action = sample_categorical(logits, self.generator)
                        logp = F.log_softmax(logits, dim=-1).gather(-1, action[:, None])[:, 0]
                        obs, reward, terminated, truncated, infos = envs.step(
                            action.cpu().numpy() + self.action_start
                        )
                        reward_t = torch.as_tensor(reward, dtype=torch.float32, device=self.device)
                        cut = np.flatnonzero(truncated & ~terminated)
                        if cut.size:  # a time limit is not the task's end: bootstrap γV(final)
                            reward_t[cut] += gamma * self._final_values(infos, cut, state)
                        done = np.logical_or(terminated, truncated)
                        rollout.actions[t] = action
                        rollout.logprobs[t] = logp
                        rollout.values[t] = self.value(features)
                        rollout.rewards[t] = reward_t
                        rollout.dones[t] = torch.as_tensor(done, device=self.device)
                        episode_start = rollout.dones[t].clone()
                        steps_done += num_envs
                        tracker.step(np.asarray(reward, dtype=float), done, steps_done)
                    features, _ = self.backbone.step(self.obs_tensor(obs), state, episode_start)
                    last_value = self.value(features)
                advantages, returns = rollout.advantages_gae(last_value, gamma, hp["gae_lambda"])
                losses = self._update(rollout, advantages, returns)
                self.env_steps += n_steps * num_envs
                self._log(losses, tracker, steps_done, t0)
                self._after_update()
                if tracker.stop or (max_steps is not None and steps_done >= max_steps):
                    break
        finally:
            envs.close()
            self._finish_training()
        return TrainResult(
            episodes=tracker.records,
            env_steps=steps_done,
            wall_time=time.perf_counter() - t0,
            stopped_early=tracker.stop
            and (max_episodes is None or len(tracker.records) < max_episodes),
        )

    def _masked(
        self, logits: torch.Tensor, infos: dict[str, Any], rollout: Rollout, t: int
    ) -> torch.Tensor:
        """Logits with unavailable actions (``infos["action_mask"]``) pushed to -1e9."""
        if "action_mask" not in infos:
            if rollout.masks is not None:
                rollout.masks[t] = True
            return logits
        mask = torch.as_tensor(np.asarray(infos["action_mask"], dtype=bool), device=self.device)
        mask = mask | ~mask.any(dim=-1, keepdim=True)  # a row with no mask allows everything
        if rollout.masks is None:
            rollout.masks = torch.ones(
                (rollout.steps, rollout.num_envs, self.n_actions),
                dtype=torch.bool,
                device=self.device,
            )
        rollout.masks[t] = mask
        return logits.masked_fill(~mask, -1e9)

    def _final_values(self, infos: dict[str, Any], rows: np.ndarray, state: Any) -> torch.Tensor:
        """V(final observation) of the truncated envs ``rows``, from their current state."""
        final = self.obs_tensor(stack_final_obs(infos["final_obs"], rows))
        rows_t = torch.as_tensor(rows, device=self.device)
        features, _ = self.backbone.step(final, index_state(state, rows_t), None)
        return self.value(features)

    def _anneal(
        self, steps_done: int, max_steps: int | None, episodes_done: int, max_episodes: int | None
    ) -> None:
        fractions = [0.0]
        if max_steps:
            fractions.append(steps_done / max_steps)
        if max_episodes:
            fractions.append(episodes_done / max_episodes)
        lr = self.hp["lr"] * max(1.0 - max(fractions), 0.05)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _update(
        self, rollout: Rollout, advantages: torch.Tensor, returns: torch.Tensor
    ) -> dict[str, float]:
        """``update_epochs`` passes of clipped-PPO gradient steps on env-wise minibatches."""
        hp = self.hp
        stats = {"policy": 0.0, "value": 0.0, "entropy": 0.0, "clip_fraction": 0.0}
        count = 0
        for _ in range(hp["update_epochs"]):
            for envs_idx in rollout.env_minibatches(hp["num_minibatches"], self.cpu_generator):
                features, _ = self.backbone.forward_sequence(
                    rollout.obs[:, envs_idx],
                    index_state(rollout.initial_state, envs_idx),
                    rollout.episode_starts[:, envs_idx],
                )
                logits = self._action_scores(features)  # [T, b, nA]
                if rollout.masks is not None:
                    logits = logits.masked_fill(~rollout.masks[:, envs_idx], -1e9)
                log_pi = F.log_softmax(logits, dim=-1)
                new_logp = log_pi.gather(-1, rollout.actions[:, envs_idx, None])[..., 0]
                entropy = -(log_pi.exp() * log_pi).sum(-1).mean()
                adv = advantages[:, envs_idx]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                # r_t(θ) = π_θ(a_t|s_t) / π_θ_old(a_t|s_t)
                ratio = torch.exp(new_logp - rollout.logprobs[:, envs_idx])
                # L^CLIP = E[min(r_t A_t, clip(r_t, 1−ε, 1+ε) A_t)]  (maximised, so negated)
                clipped = ratio.clamp(1.0 - hp["clip_coef"], 1.0 + hp["clip_coef"])
                policy_loss = -torch.min(ratio * adv, clipped * adv).mean()
                # L^VF = ½ E[(V_θ(s_t) − V_t^target)²]
                value_loss = 0.5 * (self.value(features) - returns[:, envs_idx]).pow(2).mean()
                loss = policy_loss + hp["vf_coef"] * value_loss - hp["ent_coef"] * entropy
                self.guard(loss)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(self.parameters(), hp["max_grad_norm"])
                self.optimizer.step()
                stats["policy"] += float(policy_loss.detach())
                stats["value"] += float(value_loss.detach())
                stats["entropy"] += float(entropy.detach())
                stats["clip_fraction"] += float(
                    ((ratio - 1.0).abs() > hp["clip_coef"]).float().mean()
                )
                count += 1
        return {key: value / count for key, value in stats.items()}

    def _log(
        self, losses: dict[str, float], tracker: EpisodeTracker, steps_done: int, t0: float
    ) -> None:
        if self.logger.folder is None:
            return
        scalars = {f"losses/{key}": value for key, value in losses.items()}
        scalars["charts/episodic_return"] = tracker.recent_return()
        scalars["charts/env_steps_per_s"] = steps_done / max(time.perf_counter() - t0, 1e-9)
        scalars["charts/learning_rate"] = self.optimizer.param_groups[0]["lr"]
        self.logger.log(scalars, self.env_steps)
