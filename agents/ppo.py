"""Proximal Policy Optimisation (PPO) on any lecture-rl backbone, recurrent ones included.

Description:
    An actor-critic: the backbone (`mlp`, `cnn`, `rnn`, `lstm`, `gru`,
    `transformer`) reads the observations; a linear actor head gives the policy logits
    π(a|s) and a linear critic head the value V(s). Training alternates two phases:

    1. *Collect* `n_steps` steps in each of `num_envs` envs stepped together (one
       `backbone.step` per vector step), storing the recurrent state the rollout started from.
    2. *Update* for `update_epochs` epochs on minibatches drawn **by env**, so each env's
       sequence stays contiguous, re-running the backbone over the whole sequence in one call
       (`backbone.forward_sequence`), with the clipped surrogate objective, a value loss and an
       entropy bonus, using Adam (notes 004) with gradient clipping. With a memory net the
       sequence begins with the *episode prefix*: the steps of each env's unfinished episode
       that fell in the previous rollout (at most that whole rollout) are re-run first, without
       loss, so backpropagation through time reaches from a recall back to the step that showed
       what is recalled instead of stopping at the rollout's first step.

    Advantages are GAE(λ); they are normalised per minibatch. The defaults are what an env with
    no preset meets (16 envs × 128 steps, 4 minibatches, 10 epochs, lr 3e-4 decayed linearly,
    λ = 0.95, no entropy bonus, width 64, close to SB3's and CleanRL's): they learn CartPole,
    Acrobot, LunarLander and Minigrid's DoorKey (`docs/presets.md` measures them). Our own
    envs train with their presets (`lecture_rl/assets/presets/ppo.yml`: lr 5e-3, λ = 0.8,
    128 envs × 32 steps, 4 epochs, entropy 0.01, width 128, picked on Parity and Copy from runs
    over several seeds; λ = 0.95 or lr 2.5e-3 failed on Parity-16 on some seeds). Some defaults
    depend on the net (`net_defaults`, over a preset; `benchmarks/memory_nets.py` measures
    them):

    - `transformer`: lr 1e-3 and d_model 64; at 5e-3 its attention does not settle (Copy-5:
      0.49 after 100k steps, against 1.00 with 1e-3). The episode prefix took it on Copy-5 with
      `delay=10` from 151k-194k steps to 86k-108k (2 seeds).
    - `lstm` and `gru`: 8 epochs, input weights of order 1 for one-hot observations
      (`input_init="one_hot"`) and a gate that keeps the memory at the start (LSTM forget
      bias 3, GRU update bias 2). With the earlier settings (4 epochs, torch's init, b_f = 1, no
      episode prefix) Copy-5 with `delay=10` stalled at 0.72 (LSTM) and 0.69 (GRU) after 500k
      steps; the errors were recalls of a neighbouring symbol, the order got lost. Now both
      reach 0.99 in 300k-390k steps (3 seeds) and Parity-16 in ~40k steps instead of ~90k.

Arguments (besides the deep-agent ones in `DeepAgent`):
    n_steps: steps per env per rollout (the sequence length T the core is trained on).
    num_minibatches: minibatches per epoch (envs are split into this many groups).
    update_epochs: passes over each rollout.
    gae_lambda: λ of GAE.
    clip_coef: ε of the clipped objective.
    ent_coef: weight of the entropy bonus.
    vf_coef: weight of the value loss.
    anneal_lr: decay the learning rate linearly to 0 over the training budget.
    episode_prefix: re-run each env's unfinished episode from the previous rollout at the
        start of its update sequence (memory nets only; `False`: start from the stored state).
    torch_envs: `"auto"` (default) trains on the env's torch batched version
        (`lecture_rl.envs.torch_vector`: Parity, Copy, GridWorld) when the device is
        cuda, `True` also on the CPU, `False` on the numpy envs. Same seed, same numbers
        either way; on the torch envs a rollout reads the device once, not at every step.

Usage:

```python
env = gym.make("LectureRL/Parity-v0", length=16)
agent = lecture_rl.agents.make("ppo", env, net="lstm", seed=0)
agent.train(env, steps=300_000)
agent.evaluate(env, episodes=200)["accuracy"]
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from lecture_rl.agents.base import HyperparameterError, TrainingRun
from lecture_rl.agents.deep import DeepAgent
from lecture_rl.agents.events import PolicyStep
from lecture_rl.agents.hyperparameters import (
    Param,
    non_negative,
    positive,
    positive_int,
    unit_interval,
    with_defaults,
)
from lecture_rl.agents.policies import CRITIC_NET_PARAM, LOG_STD_INIT_PARAM, PolicyHeads
from lecture_rl.agents.ppo_fused import FusedPPOSteps
from lecture_rl.agents.rollout import (
    Rollout,
    detach_state,
    episode_prefix_length,
    index_state,
    start_times,
)
from lecture_rl.agents.training_profile import phase
from lecture_rl.agents.vector_envs import (
    TORCH_ENVS_PARAM,
    DeviceEpisodeCounter,
    EpisodeCounter,
    make_train_envs,
    stack_final_obs,
    use_torch_envs,
)
from lecture_rl.nets.frame_stack import FrameStackBackbone

#: the backbones with a memory: minibatches keep their sequences whole
MEMORY_NETS = ("rnn", "lstm", "gru", "transformer")


class PPOAgent(FusedPPOSteps, PolicyHeads, DeepAgent):
    """PPO with GAE: actor and critic heads on one backbone (or each on its own: critic_net)."""

    name: ClassVar[str] = "ppo"
    score_head: ClassVar[str | None] = "actor"  # _action_scores: this linear head
    continuous_actions: ClassVar[bool] = True  # Box actions: a Gaussian policy
    _clip_coef: float | None = None  # ε now (anneal_clip); None: clip_coef
    params: ClassVar[dict[str, Param]] = {
        **with_defaults(DeepAgent.params, num_envs=16),  # hidden_size, lr, net_kwargs: below
        "net_kwargs": Param(
            {}, 'extra keywords for make_backbone, e.g. {"num_layers": 2}; lstm: input_init '
            "one_hot, forget_bias 3; gru: input_init one_hot, update_bias 2 (your keys win)",
            kind="dict"),
        "hidden_size": positive_int(64, "width of the backbone", high=65536),
        "lr": positive(3e-4, "Adam learning rate (notes 004, Adam); 1e-3 with net=transformer"),
        "n_steps": positive_int(128, "steps per env per rollout (the sequence length T)",
                                high=100_000),
        "num_minibatches": positive_int(
            4, "minibatches per epoch (the envs split into groups; <= num_envs)"
        ),
        "update_epochs": positive_int(10, "passes over each rollout (8 with net=lstm or gru)",
                                      high=1000),
        "gae_lambda": Param(0.95, "λ of GAE(λ)", low=0.0, high=1.0),
        "clip_coef": positive(0.2, "ε of the clipped surrogate objective"),
        "ent_coef": non_negative(0.0, "weight of the entropy bonus"),
        "vf_coef": non_negative(0.5, "weight of the value loss"),
        "batch_size": positive_int(
            0, "0: num_minibatches groups of whole env sequences (any net); N: minibatches of "
            "N steps shuffled over the rollout, as SB3's PPO (feed-forward nets)", low=0),
        "anneal_lr": Param(True, "decay the learning rate linearly over the budget "
                           "(SB3's lin_ schedule)", kind="bool"),
        "anneal_clip": Param(False, "decay the clip range ε linearly over the budget "
                             "(SB3's lin_ schedule)", kind="bool"),
        "anneal_floor": unit_interval(
            0.05, "the fraction of lr (and ε) an anneal keeps at the end: x ← x₀·max(1 − "
            "spent, floor); 0 is SB3's lin_"),
        "episode_prefix": Param(
            True, "memory nets: the update first re-runs each env's unfinished episode from the "
            "previous rollout, so BPTT reaches the episode's start (at most one rollout back)",
            kind="bool"),
        "critic_net": CRITIC_NET_PARAM,
        "log_std_init": LOG_STD_INIT_PARAM,
        "use_sde": Param(False, "Box actions: gSDE, exploration noise φ(s)ᵀΘ with Θ redrawn "
                         "every sde_sample_freq steps (SB3's use_sde)", kind="bool"),
        "sde_sample_freq": Param(-1, "gSDE: steps between new noise weights Θ (-1: once per "
                                 "rollout)", low=-1, high=10**9, integer=True),
        "torch_envs": TORCH_ENVS_PARAM,
    }  # fmt: skip
    default_budget: ClassVar[dict[str, int]] = {"steps": 500_000}
    value_head = "critic"  # V(s) of the advantage estimate
    # Attention with Adam at 5e-3 (the recurrent cores' rate) learns Copy to only ~0.4-0.5;
    # 1e-3 and D = 64 solve Copy-5 in ~100k steps (benchmarks/memory_nets.py).
    # LSTM / GRU (module docstring): Adam moves a weight by about lr per step, and gradients of
    # recalls are noisy, so what the init leaves far off is learned slowly: the one-hot input
    # weights (torch: |w| <= 1/sqrt(128) = 0.09) and a memory that fades (b_f = 1: f = 0.73, the
    # cell keeps 0.7% over 16 steps; b_f = 3: f = 0.95, 44%; GRU b_z = 2: z = 0.88, 13%).
    net_defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "transformer": {"lr": 1e-3, "hidden_size": 64},
        "lstm": {"update_epochs": 8, "net_kwargs": {"input_init": "one_hot", "forget_bias": 3.0}},
        "gru": {"update_epochs": 8, "net_kwargs": {"input_init": "one_hot", "update_bias": 2.0}},
    }

    @classmethod
    def check_hyperparameters(cls, hp: dict[str, Any]) -> None:
        super().check_hyperparameters(hp)
        cls.check_critic_net(hp)
        if hp["batch_size"] and hp["net"] in MEMORY_NETS:
            raise HyperparameterError(
                f"ppo: batch_size={hp['batch_size']} shuffles single steps, but net="
                f"{hp['net']} learns from whole sequences; leave batch_size at 0 and use "
                "num_minibatches"
            )
        if hp["num_minibatches"] > hp["num_envs"] and not hp["batch_size"]:
            raise HyperparameterError(
                f"ppo: num_minibatches={hp['num_minibatches']} is out of range; minibatches "
                f"split the envs, so num_minibatches must be <= num_envs ({hp['num_envs']})"
            )

    def _make_optimizer(self) -> torch.optim.Optimizer:
        # fused: one kernel per step, and the sync-free divergence guard (DeepAgent)
        return torch.optim.Adam(self.parameters(), lr=self.hp["lr"], eps=1e-5, fused=True)

    def value(self, features: torch.Tensor) -> torch.Tensor:
        """V(s) from backbone features (`[..., D]` -> `[...]`)."""
        return self.heads["critic"](self.critic_features(features)).squeeze(-1)

    # ----- training -------------------------------------------------------------------------

    def _collect_and_update(self, env: gym.Env, run: TrainingRun) -> None:
        """Rollouts of `n_steps` × `num_envs` steps, each followed by the PPO update.

        On torch batched envs (`torch_envs`; `use_torch_envs`) observations, actions,
        rewards and episode ends stay tensors on the agent's device: collecting a rollout
        waits for the device only once, when the finished episodes are reported.
        """
        hp = self.hp
        num_envs, n_steps, gamma = hp["num_envs"], hp["n_steps"], hp["gamma"]
        on_device = use_torch_envs(hp["torch_envs"], self.device, env, run)
        envs = make_train_envs(env, num_envs, self.device if on_device else None)
        counter: EpisodeCounter | DeviceEpisodeCounter
        if on_device:
            counter = DeviceEpisodeCounter(num_envs, n_steps, run, self.device)
        else:
            counter = EpisodeCounter(num_envs, run)
        want_policy = run.wants(PolicyStep)
        obs, infos = envs.reset(seed=int(self.rng.integers(2**31)))
        first = self.obs_tensor(obs)
        # with the episode prefix two buffers alternate: the update reads the previous one too
        # (a frame stack's stored state is exact and carries no gradient: no prefix needed)
        prefix = hp["episode_prefix"] and self.is_recurrent
        prefix = prefix and not isinstance(self.backbone, FrameStackBackbone)
        buffers = [
            Rollout(
                n_steps,
                num_envs,
                tuple(first.shape[1:]),
                first.dtype,
                self.device,
                self.policy.action_shape,
                self.policy.action_dtype,
            )  # fmt: skip
            for _ in range(2 if prefix else 1)
        ]
        previous: Rollout | None = None
        state = self.backbone.initial_state(num_envs, self.device)
        episode_start = torch.ones(num_envs, dtype=torch.bool, device=self.device)
        host_start = np.ones(num_envs, dtype=bool)  # the same, on the host
        if self.reward_normalizer is not None:
            self.reward_normalizer.start(num_envs)
        # gSDE: Θ redrawn at each rollout's start (sde_sample_freq -1) or every that many steps
        sde = hp["use_sde"] and self.policy.continuous
        sde_every = hp["sde_sample_freq"] if sde else 0
        steps_done = 0
        blas_limit = self._limit_blas_threads()
        try:
            while not run.done:
                self._anneal(steps_done, run)
                rollout = buffers[0]
                rollout.initial_state = detach_state(state)
                if sde:  # gSDE: a new Θ per env for each rollout
                    self.policy.reset_noise(num_envs, self.heads, self.generator)
                steps_before = steps_done
                with torch.no_grad():  # 1. collect
                    with phase("rollout forward"):  # categorical: the noise of every a ~ π(·|s)
                        noise = self.policy.rollout_noise(n_steps, num_envs, self.generator)
                    # an MLP on the CPU: the numpy forward (ppo_fused)
                    by_hand = self.use_fused_update and not (on_device or want_policy)
                    by_hand = by_hand and self._fused_nets() is not None
                    noise_np = noise.numpy() if by_hand and noise is not None else None
                    for t in range(n_steps):
                        with phase("rollout forward"):
                            obs_t = self.obs_tensor(obs, learn=True)
                            rollout.obs[t] = obs_t
                            rollout.episode_starts[t] = episode_start
                            if by_hand and "action_mask" not in infos:
                                if sde_every > 0 and t % sde_every == 0:  # gSDE: new Θ
                                    self.policy.reset_noise(num_envs, self.heads, self.generator)
                                action, logp, value = self._fused_act(
                                    obs_t, None if noise_np is None else noise_np[t]
                                )
                                if rollout.masks is not None:
                                    rollout.masks[t] = True
                            else:
                                features, state = self.backbone.step(obs_t, state, episode_start)
                                scores = self._action_scores(features)
                                scores = self._masked(scores, infos, rollout, t)
                                if sde_every > 0 and t % sde_every == 0:  # gSDE: new Θ
                                    self.policy.reset_noise(num_envs, self.heads, self.generator)
                                action = self.policy.sample(
                                    scores, self.heads, self.generator, features,
                                    noise=None if noise is None else noise[t],
                                )  # fmt: skip
                                logp = self.policy.log_prob(scores, self.heads, action, features)
                                value = self.value(features)
                            rollout.values[t] = value
                            rollout.actions[t] = action
                            rollout.logprobs[t] = logp
                        steps_done += num_envs
                        if on_device:
                            obs, infos = self._device_step(envs, action, rollout, t, state, counter)
                            episode_start = rollout.dones[t]
                            continue
                        if want_policy:
                            run.emit(PolicyStep(obs, self.policy.probs(scores), rollout.values[t],
                                                action, state, steps_done - num_envs,
                                                episode_start, infos.get("hidden")))  # fmt: skip
                        obs_before, infos_before = obs, infos
                        with phase("env step"):
                            env_actions = self.policy.to_env(action)  # a Box: clipped
                            obs, reward, terminated, truncated, infos = envs.step(env_actions)
                        if counter.wants_transitions:  # env 0's step, for the live viewer
                            counter.transition(
                                obs_before, env_actions, reward, obs, terminated, truncated,
                                infos, infos_before,
                            )  # fmt: skip
                        with phase("env step"):
                            done = np.logical_or(terminated, truncated)
                            reward_t = self._scaled_rewards(reward, done)
                            cut = np.flatnonzero(truncated & ~terminated)
                            if cut.size:  # a time limit is not the task's end: bootstrap γV
                                reward_t[cut] += gamma * self._final_values(infos, cut, state)
                            rollout.rewards[t] = reward_t
                            rollout.dones[t] = torch.as_tensor(done, device=self.device)
                            episode_start = rollout.dones[t]
                            rollout.host_starts[t], host_start = host_start, done
                        with phase("episode counting"):
                            counter.step(np.asarray(reward, dtype=float), done, steps_done)
                    if on_device:
                        with phase("episode reporting"):
                            ends = counter.flush(steps_before)  # the one wait for the device
                        rollout.host_starts[0], rollout.host_starts[1:] = host_start, ends[:-1]
                        host_start = ends[-1]
                    with phase("rollout forward"):
                        obs_t = self.obs_tensor(obs)
                        features, _ = self.backbone.step(obs_t, state, episode_start)
                        last_value = self.value(features)
                with phase("advantages (GAE)"):
                    advantages, returns = rollout.advantages_gae(
                        last_value, gamma, hp["gae_lambda"]
                    )
                self._update(rollout, advantages, returns, previous)  # 2. update
                previous = rollout if prefix else None
                buffers.reverse()  # the next rollout fills the other buffer
                self.env_steps += n_steps * num_envs
                self._after_update()
        finally:
            envs.close()
            if blas_limit is not None:
                blas_limit.restore_original_limits()

    def _device_step(
        self,
        envs: gym.vector.VectorEnv,
        action: torch.Tensor,
        rollout: Rollout,
        t: int,
        state: Any,
        counter: DeviceEpisodeCounter,
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """One step of torch batched envs, stored into `rollout` without leaving the device."""
        with phase("env step"):
            obs, reward, terminated, truncated, infos = envs.step(action + self.action_start)
        with phase("rollout forward"):
            done = terminated | truncated
            reward_t = self._scaled_rewards(reward, done)
            if envs.can_truncate:  # a time limit is not the task's end: bootstrap γV(final)
                final = self.obs_tensor(infos["final_obs"])
                features, _ = self.backbone.step(final, state, None)
                cut = truncated & ~terminated
                gamma_v = self.hp["gamma"] * self.value(features)
                reward_t = reward_t + torch.where(cut, gamma_v, 0.0)
            rollout.rewards[t] = reward_t
            rollout.dones[t] = done
        with phase("episode counting"):
            counter.step(reward, done)
        return obs, infos

    def _masked(
        self, logits: torch.Tensor, infos: dict[str, Any], rollout: Rollout, t: int
    ) -> torch.Tensor:
        """Logits with unavailable actions (`infos["action_mask"]`) pushed to -1e9."""
        if "action_mask" not in infos:
            if rollout.masks is not None:
                rollout.masks[t] = True
            return logits
        mask = infos["action_mask"]
        if torch.is_tensor(mask):  # torch batched envs: already on the device
            mask = mask.bool()
        else:
            mask = torch.as_tensor(np.asarray(mask, dtype=bool), device=self.device)
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
        """V(final observation) of the truncated envs `rows`, from their current state."""
        final = self.obs_tensor(stack_final_obs(infos["final_obs"], rows))
        rows_t = torch.as_tensor(rows, device=self.device)
        features, _ = self.backbone.step(final, index_state(state, rows_t), None)
        return self.value(features)

    def _anneal(self, steps_done: int, run: TrainingRun) -> None:
        """The linear schedules: x ← x₀ · max(1 − fraction of the budget spent, anneal_floor)
        for the learning rate (`anneal_lr`) and the clip range ε (`anneal_clip`)."""
        hp = self.hp
        remaining = run.remaining(steps_done, hp["anneal_floor"])
        self._clip_coef = hp["clip_coef"] * (remaining if hp["anneal_clip"] else 1.0)
        if hp["anneal_lr"]:
            for group in self.optimizer.param_groups:
                group["lr"] = hp["lr"] * remaining

    def _sequences(
        self, rollout: Rollout, previous: Rollout | None, envs: torch.Tensor, rows: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...], int, list[int]]:
        """`(obs, episode_starts, initial_state, lead, start_times)` re-run for `envs`.

        `rows` are `envs` on the host: the sequence is planned from the rollouts'
        `host_starts`, so nothing here waits for the device. Without a previous rollout: the
        rollout from its stored state (`lead = 0`). With one (the episode prefix): its last
        `lead` steps first, enough that every env's unfinished episode is re-run from its
        start (`episode_prefix_length()`), so the gradient of a recall reaches the step
        that showed what is recalled; the sequence then starts from the previous rollout's
        stored state (exact where `lead = T`; elsewhere an episode start inside the prefix
        resets it). `start_times`: where some env of the sequence begins an episode.
        """
        obs, starts = rollout.obs[:, envs], rollout.episode_starts[:, envs]
        host_starts = rollout.host_starts[:, rows]
        lead = 0
        if previous is not None:
            lead = episode_prefix_length(previous.host_starts[:, rows], host_starts[0])
        if lead == 0:
            state0 = index_state(rollout.initial_state, envs)
            return obs, starts, state0, 0, start_times(host_starts)
        begin = previous.steps - lead
        obs = torch.cat([previous.obs[begin:, envs], obs])
        starts = torch.cat([previous.episode_starts[begin:, envs], starts])
        host_starts = np.concatenate([previous.host_starts[begin:, rows], host_starts])
        state0 = index_state(previous.initial_state, envs)
        return obs, starts, state0, lead, start_times(host_starts)

    def _minibatches(
        self, rollout: Rollout, previous: Rollout | None
    ) -> Iterator[tuple[Any, torch.Tensor]]:
        """Every epoch's minibatches as `(rows, features)`: `rollout.x[rows]` are their
        steps and `features` the backbone's output for them, with gradients.

        By default `num_minibatches` groups of whole env sequences (`rows = (:, envs)`),
        re-run by `backbone.forward_sequence` (with the episode prefix of `previous`),
        planned on the host (`_sequences`: no wait for the device). With `batch_size`
        (feed-forward nets): the rollout's steps shuffled into minibatches of that many steps,
        as SB3's PPO draws them.
        """
        hp = self.hp
        if hp["batch_size"]:
            net, obs = self.backbone, rollout.obs
            if isinstance(net, FrameStackBackbone):  # the stacks have no weights: built once
                with torch.no_grad():
                    obs, _ = net.stacked_sequence(
                        obs, rollout.initial_state, rollout.episode_starts
                    )
                net = net.inner
            obs = obs.flatten(0, 1)  # [T·N, ...]
            for _ in range(hp["update_epochs"]):
                for flat in rollout.step_minibatches(hp["batch_size"], self.cpu_generator):
                    with phase("update forward+backward"):
                        rows = (flat // rollout.num_envs, flat % rollout.num_envs)
                        features, _ = net.step(obs[flat], (), None)
                    yield rows, features
            return
        minibatches = rollout.env_minibatches(
            hp["num_minibatches"], self.cpu_generator, hp["update_epochs"]
        )
        for host_rows, envs_idx in minibatches:
            with phase("update forward+backward"):
                obs, starts, state0, lead, cuts = self._sequences(
                    rollout, previous, envs_idx, host_rows
                )
                features, _ = self.backbone.forward_sequence(obs, state0, starts, start_times=cuts)
                features = features[lead:]  # the prefix steps carry no loss
            yield (slice(None), envs_idx), features

    def _update(
        self,
        rollout: Rollout,
        advantages: torch.Tensor,
        returns: torch.Tensor,
        previous: Rollout | None = None,
    ) -> dict[str, torch.Tensor]:
        """`update_epochs` passes of clipped-PPO gradient steps (`_minibatches`).

        Returns the mean losses and clip fraction as 0-d tensors (no host sync).

        `previous` (the rollout before, with the episode prefix) is re-run in front of each
        sequence where an episode began in it; its steps carry no loss.
        """
        if previous is None:  # an MLP with a categorical policy on the CPU: by hand, no graph
            fused = self._fused_update(rollout, advantages, returns)
            if fused is not None:
                return fused
        hp = self.hp
        clip_coef = hp["clip_coef"] if self._clip_coef is None else self._clip_coef
        # summed as tensors, converted once: a float() per minibatch is a host sync on a GPU
        stats: dict[str, torch.Tensor] = {}
        count = 0
        for rows, features in self._minibatches(rollout, previous):
            with phase("update forward+backward"):
                scores = self._action_scores(features)  # [..., nA] logits, or [..., d] μ
                if rollout.masks is not None:
                    scores = scores.masked_fill(~rollout.masks[rows], -1e9)
                new_logp, entropy = self.policy.log_prob_entropy(
                    scores, self.heads, rollout.actions[rows], features
                )
                entropy = entropy.mean()
                adv = advantages[rows]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                # r_t(θ) = π_θ(a_t|s_t) / π_θ_old(a_t|s_t)
                ratio = torch.exp(new_logp - rollout.logprobs[rows])
                # L^CLIP = E[min(r_t A_t, clip(r_t, 1−ε, 1+ε) A_t)]  (maximised: negated)
                clipped = ratio.clamp(1.0 - clip_coef, 1.0 + clip_coef)
                policy_loss = -torch.min(ratio * adv, clipped * adv).mean()
                # L^VF = ½ E[(V_θ(s_t) − V_t^target)²]
                value_loss = 0.5 * (self.value(features) - returns[rows]).pow(2).mean()
                loss = policy_loss + hp["vf_coef"] * value_loss - hp["ent_coef"] * entropy
                with torch.no_grad():
                    clip_fraction = ((ratio - 1.0).abs() > clip_coef).float().mean()
                    step_stats = torch.stack([policy_loss, value_loss, entropy, clip_fraction])
                stats["sum"] = step_stats if not stats else stats["sum"] + step_stats
                count += 1
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
            with phase("optimizer"):
                lr = self.optimizer.param_groups[0]["lr"]
                self.apply_gradients(
                    loss,
                    {"policy": policy_loss, "value": value_loss, "entropy": entropy},
                    {"learning_rate": lr, "clip_coef": clip_coef},
                )
        means = stats["sum"] / count
        return dict(zip(("policy", "value", "entropy", "clip_fraction"), means.unbind()))
