"""Deep Q-learning (DQN): Q-learning with a neural network, replay and a fixed target network.

Description:
    Notes 004 ("deep Q-learning"): approximate Q* by a network f_θ and take gradient steps on

        L(θ) = ( r + γ max_a' f_θ̃(s', a') − f_θ(s, a) )²

    where θ̃ are *fixed previous* parameters and (s, a, r, s') are sampled from experience. This
    file is that loss plus the pieces that make it work (Mnih et al., Nature 2015):

    * a replay buffer of past transitions (`lecture_rl.agents.replay.ReplayBuffer`);
    * the target network θ̃, copied from θ every `target_update` env steps (`tau=1`) or
      moved towards it by Polyak averaging θ̃ ← τ θ + (1 − τ) θ̃ (`tau<1`);
    * the Huber loss (the paper's "clip the error term to [−1, 1]"; `loss="mse"` gives the
      notes' square);
    * ε-greedy exploration with ε decaying linearly from `eps_start` to `eps_end`;
    * Double DQN (`double=True`): y = r + γ f_θ̃(s', argmax_a' f_θ(s', a'));
    * Adam, gradient-norm clipping, `learning_starts` and `train_freq`.

    Actions an env marks unavailable in `info["action_mask"]` (GridWorld) are never chosen,
    and the target's max runs over the available actions of s' only.

Arguments (defaults are ours, scaled down for small envs; not the paper's):
    net: `mlp` or `cnn` (image observations, e.g. GridWorld `obs_mode="image"`).
    buffer_size: replay capacity (paper: 1,000,000).
    batch_size: minibatch size (paper: 32).
    learning_starts: env steps of random-ish acting before the first update (paper: 50,000).
    train_freq: vector steps between updates; gradient_steps updates each time (paper: 4 / 1).
    target_update: env steps between copies θ̃ ← θ (paper: 10,000 updates).
    tau: 1.0 = hard copy; < 1 = Polyak averaging after every update.
    eps_start, eps_end, eps_decay_steps: the linear ε schedule (paper: 1 → 0.1 over 1M frames).
    double: Double DQN target. loss: `huber` or `mse`. lr: Adam's step size.
    seq_len, burn_in: recurrent backbones only (below).

Recurrent Q-networks (`net=rnn|lstm|gru`; DRQN / R2D2): the acting network carries its memory
h across steps (reset at episode starts), and the replay stores *sequences* of ``burn_in +
seq_len`` consecutive steps with the state h the actor had before them
(`lecture_rl.agents.sequence_replay`). An update replays `batch_size` sequences: the
online network θ and the target network θ̃ both start from the stored state, run over the
`burn_in` prefix without gradient (refreshing the stale state), then over the rest; the loss
is notes 004's L(θ) on each of the `seq_len` steps, with y built from θ̃'s Q at the next step
of the same sequence (θ̃: the fixed previous parameters, copied as for the MLP). A step that
ends its episode, by termination or by a time limit, does not bootstrap. `transformer` is
not supported by `dqn` (`ppo` trains it).
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from lecture_rl.agents.base import CheckpointError, HyperparameterError, TrainingRun
from lecture_rl.agents.deep import DeepAgent
from lecture_rl.agents.distinct_rows import DistinctRows
from lecture_rl.agents.dqn_fused import FusedQSteps
from lecture_rl.agents.events import PolicyStep
from lecture_rl.agents.hyperparameters import (
    Param,
    positive_int,
    unit_interval,
    with_defaults,
)
from lecture_rl.agents.q_target import td_target
from lecture_rl.agents.replay import ReplayBuffer
from lecture_rl.agents.sequence_replay import SequenceReplay
from lecture_rl.agents.vector_envs import EpisodeCounter, make_train_envs, stack_final_obs
from lecture_rl.nets.fused_mlp import FusedMLP

RECURRENT_NETS = ("rnn", "lstm", "gru")  # sequence replay (R2D2-style)


def linear_schedule(start: float, end: float, duration: int, t: int) -> float:
    """ε_t: from `start` to `end` linearly over `duration` steps, then `end`."""
    if duration <= 0:
        return end
    return start + (end - start) * min(1.0, t / duration)


class DQNAgent(FusedQSteps, DeepAgent):
    """Deep Q-network agent (notes 004) with replay, target network and optional Double DQN."""

    name: ClassVar[str] = "dqn"
    score_head: ClassVar[str | None] = "q"  # _action_scores: this linear head
    numpy_on_cpu: bool = True  # small Discrete spaces on the CPU: update and act in numpy
    params: ClassVar[dict[str, Param]] = {
        **with_defaults(
            DeepAgent.params,
            hidden_size=64, lr=1e-3, gamma=0.99, num_envs=16, max_grad_norm=10.0,
            checkpoint_every=2_000,  # one DQN update per vector step: save less often than PPO
        ),
        "buffer_size": positive_int(20_000, "replay memory capacity (transitions)", high=10**9),
        "batch_size": positive_int(256, "minibatch size of each update", high=10**6),
        "learning_starts": positive_int(1_000, "env steps before the first update", low=0),
        "train_freq": positive_int(1, "vector steps between updates", high=10**9),
        "gradient_steps": positive_int(1, "gradient steps per update", high=10**6),
        "target_update": positive_int(1_000, "env steps between θ̃ ← θ copies (tau = 1)"),
        "tau": unit_interval(1.0, "1: hard copy every target_update; < 1: θ̃ ← τθ + (1−τ)θ̃",
                             low_open=True),
        "eps_start": unit_interval(1.0, "ε at the start of training"),
        "eps_end": unit_interval(0.05, "ε after eps_decay_steps"),
        "eps_decay_steps": positive_int(10_000, "env steps of the linear ε decay", low=0),
        "anneal_lr": Param(False, "decay the learning rate linearly over the budget "
                           "(SB3's lin_ schedule): a last policy that no longer swings",
                           kind="bool"),
        "anneal_floor": unit_interval(0.0, "the fraction of lr an anneal keeps at the end"),
        "double": Param(True, "Double DQN target (argmax by θ, value by θ̃)", kind="bool"),
        "loss": Param("huber", "huber (δ = 1) or mse, notes 004's squared error",
                      choices=("huber", "mse")),
        "seq_len": positive_int(8, "recurrent nets: replayed steps per sequence with a loss",
                                high=10_000),
        "burn_in": positive_int(4, "recurrent nets: steps before them that only refresh h",
                                low=0, high=10_000),
    }  # fmt: skip
    default_budget: ClassVar[dict[str, int]] = {"steps": 50_000}
    # Feed-forward nets: 16 envs and one update of 256 per vector step replay each transition
    # as often as the usual one update of 64 per 4 env steps (16 samples per env step), in a
    # quarter of the updates: on small nets an update costs about the same at 64 or 256 rows
    # (benchmarks/dqn_vs_sb3.py: 4.3x SB3's env-steps/s, median steps to solve 0.93x). The
    # recurrent nets replay sequences (a row is seq_len steps): 4 envs and 64 sequences.
    net_defaults: ClassVar[dict[str, dict[str, Any]]] = {
        net: {"num_envs": 4, "batch_size": 64, "lr": 5e-4} for net in RECURRENT_NETS
    }

    @classmethod
    def check_hyperparameters(cls, hp: dict[str, Any]) -> None:
        if hp["net"] == "transformer":
            raise HyperparameterError(
                "net='transformer': dqn supports mlp, cnn and the recurrent rnn, lstm, gru "
                "(sequence replay); the transformer is trained by ppo and reinforce"
            )
        super().check_hyperparameters(hp)

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        super().__init__(env, seed=seed, **hyperparameters)
        # θ̃: a frozen copy of the online network θ (backbone + Q head)
        self.target_backbone = copy.deepcopy(self.backbone).requires_grad_(False)
        self.target_q = copy.deepcopy(self.heads["q"]).requires_grad_(False)
        self.buffer: ReplayBuffer | None = None
        self.epsilon = float(self.hp["eps_start"])
        self._explored: torch.Tensor | None = None  # the last acting step's random-action rows
        self._next_target_sync = int(self.hp["target_update"])
        # plain MLPs update through a hand-written backward (nets/fused_mlp.py): same
        # gradient as autograd, a fraction of the per-update overhead
        self._fused = FusedMLP.of(self.backbone, self.heads["q"])
        self._fused_target = FusedMLP.of(self.target_backbone, self.target_q)
        self._states: torch.Tensor | bool | None = None  # see _state_inputs
        self._obs_start = 0
        self._env_has_masks = True  # until training sees an env without info["action_mask"]
        self._distinct = DistinctRows()  # minibatch rows that repeat: f once per picture

    def _build_heads(self) -> dict[str, nn.Module]:
        # Q(s, ·; θ): one output per action on top of the backbone's features
        return {"q": nn.Linear(self.backbone.output_dim, int(self.action_space.n))}

    def modules_to_save(self) -> dict[str, nn.Module]:
        modules = super().modules_to_save()
        if hasattr(self, "target_q"):
            modules["target_backbone"] = self.target_backbone
            modules["target_q"] = self.target_q
        return modules

    # ----- Q-values ---------------------------------------------------------------------------

    def _action_scores(self, features: torch.Tensor) -> torch.Tensor:
        return self.heads["q"](features)

    def q_values(self, obs: Any) -> torch.Tensor:
        """Q(s, ·; θ) for a batch of raw observations `[B, ...]` -> `[B, nA]`."""
        if self._fused is not None and not torch.is_grad_enabled():
            states = self._state_inputs()
            obs = np.asarray(obs)
            if states is not None and states.shape[0] <= max(64, 2 * obs.size):
                # few states: f_θ once per state, then the rows asked for
                if self.device.type == "cpu" and self.numpy_on_cpu:  # ~1 µs per operation
                    q_states = self._fused.forward_numpy(states.numpy())[0]
                    return torch.from_numpy(q_states[obs - self._obs_start])
                rows = torch.as_tensor(obs, device=self.device) - self._obs_start
                return self._fused.forward(states)[0][rows]
            return self._fused.forward(self._encode(obs))[0]
        features, _ = self.backbone.step(self.obs_tensor(obs), (), None)
        return self.heads["q"](features)

    def _state_inputs(self) -> torch.Tensor | None:
        """For a `Discrete` observation space of at most `2·batch_size` states: the
        encoded input of every state (the identity matrix, one one-hot row per state), else
        `None`. A minibatch then needs f_θ on these rows only: Q(s, ·) of a replayed s is
        row s, and a row's gradient is the sum of the gradients of the samples showing s
        (the same numbers as one row per sample, added in another order)."""
        if self._states is None and self._fused is not None:
            space = self.observation_space
            if isinstance(space, gym.spaces.Discrete) and space.n <= 2 * self.hp["batch_size"]:
                self._obs_start = int(space.start)
                self._states = torch.eye(int(space.n), device=self.device)
            else:
                self._states = False
        return self._states if self._states is not False else None

    def _encode(self, obs: Any) -> torch.Tensor:
        """Raw observations `[B, ...]` -> the MLP's float input `[B, in]`."""
        return self.backbone.preprocess(self.obs_tensor(obs))

    def target_q_values(self, obs: Any) -> torch.Tensor:
        """Q(s, ·; θ̃) with the fixed target parameters."""
        features, _ = self.target_backbone.step(self.obs_tensor(obs), (), None)
        return self.target_q(features)

    def sequence_q_values(self, batch: dict[str, Any], *, target: bool = False) -> torch.Tensor:
        """Q(·, ·) over a replayed sequence batch, `[seq_len + 1, B, nA]` after the burn-in.

        Starts from the stored state, runs the `burn_in` prefix without gradient, then the
        rest (the last row is the observation after the sequence, for the last step's target).
        """
        backbone = self.target_backbone if target else self.backbone
        head = self.target_q if target else self.heads["q"]
        obs = self.obs_tensor(np.swapaxes(batch["obs"], 0, 1))  # [L + 1, B, ...]
        starts = torch.as_tensor(batch["starts"].T, device=self.device)
        state, k = batch["state"], self.hp["burn_in"]
        if k:
            with torch.no_grad():
                _, state = backbone.forward_sequence(obs[:k], state, starts[:k])
        features, _ = backbone.forward_sequence(obs[k:], state, starts[k:])
        return head(features)

    def sequence_loss(self, batch: dict[str, Any]) -> torch.Tensor:
        """L(θ) summed over the `seq_len` steps of each replayed sequence (mean over all)."""
        k = self.hp["burn_in"]
        actions = torch.as_tensor(batch["actions"][:, k:].T, device=self.device)
        rewards = torch.as_tensor(batch["rewards"][:, k:].T, device=self.device)
        ends = torch.as_tensor(batch["ends"][:, k:].T, device=self.device)
        next_mask = torch.as_tensor(
            batch["masks"][:, k + 1 :].transpose(1, 0, 2), device=self.device
        )
        q = self.sequence_q_values(batch)  # [T + 1, B, nA]
        q_sa = q[:-1].gather(-1, (actions - self.action_start)[..., None]).squeeze(-1)
        with torch.no_grad():
            q_next_target = self.sequence_q_values(batch, target=True)[1:]  # f_θ̃(s', ·)
            q_next_online = q[1:].detach() if self.hp["double"] else None
            y = td_target(
                rewards, ends, q_next_target, self.hp["gamma"],
                next_mask=next_mask, q_next_online=q_next_online,
            )  # fmt: skip
        if self.hp["loss"] == "huber":
            return nn.functional.smooth_l1_loss(q_sa, y)
        return nn.functional.mse_loss(q_sa, y)  # (y − Q(s, a; θ))², notes 004

    def _sample_action(
        self, scores: torch.Tensor, mask: torch.Tensor | None, features: torch.Tensor | None = None
    ) -> torch.Tensor:
        """ε-greedy: a uniformly random available action with probability ε, else the argmax."""
        if mask is not None:
            mask = mask | ~mask.any(dim=-1, keepdim=True)
            scores = scores.masked_fill(~mask, -math.inf)
        greedy = scores.argmax(dim=-1)
        noise = torch.rand(scores.shape, generator=self.generator, device=scores.device)
        if mask is not None:
            noise = noise.masked_fill(~mask, -1.0)
        random = noise.argmax(dim=-1)  # uniform over available actions
        explore = torch.rand(scores.shape[0], generator=self.generator, device=scores.device)
        self._explored = explore < self.epsilon  # which rows took the random action
        return torch.where(self._explored, random, greedy)

    # ----- the update -------------------------------------------------------------------------

    def loss_on(self, batch: dict[str, np.ndarray]) -> torch.Tensor:
        """L(θ) on a minibatch: Huber (or squared) error between Q(s, a; θ) and y."""
        actions = torch.as_tensor(batch["actions"], device=self.device) - self.action_start
        rewards = torch.as_tensor(batch["rewards"], device=self.device)
        terminated = torch.as_tensor(batch["terminated"], device=self.device)
        next_mask = torch.as_tensor(batch["next_mask"], device=self.device)
        # f once per distinct picture of s (and of s'), read back per row (distinct_rows.py)
        seen, seen_next = self._distinct(batch["obs"]), self._distinct(batch["next_obs"])
        q_s = _per_row(self.q_values, batch["obs"], seen, self.device)
        q_sa = q_s.gather(1, actions[:, None]).squeeze(1)  # Q(s, a; θ)
        with torch.no_grad():  # s' carries no gradient: autograd walks back the s rows only
            q_next_online = None
            if self.hp["double"]:
                q_next_online = _per_row(self.q_values, batch["next_obs"], seen_next, self.device)
            q_next_target = _per_row(
                self.target_q_values, batch["next_obs"], seen_next, self.device
            )  # f_θ̃(s', ·)
            y = td_target(
                rewards,
                terminated,
                q_next_target,
                self.hp["gamma"],
                next_mask=next_mask,
                q_next_online=q_next_online,
            )
        if self.hp["loss"] == "huber":
            return nn.functional.smooth_l1_loss(q_sa, y)  # Huber, δ = 1
        return nn.functional.mse_loss(q_sa, y)  # (y − Q(s, a; θ))², notes 004

    def update(self) -> torch.Tensor:
        """One gradient step on a replayed minibatch; returns the loss (a 0-d tensor)."""
        assert self.buffer is not None
        batch = self.buffer.sample(self.hp["batch_size"])
        if self.reward_normalizer is not None:  # scaled by the statistics as they are now (SB3)
            rewards = torch.as_tensor(batch["rewards"], device=self.device)
            batch["rewards"] = self.reward_normalizer.scale(rewards).cpu().numpy()
        if self._fused is not None:
            with torch.no_grad():
                value = self.fused_step(batch)
        else:
            loss = self.sequence_loss(batch) if self.is_recurrent else self.loss_on(batch)
            value = self.gradient_step(loss, {}, {"epsilon": self.epsilon})
        if self.hp["tau"] < 1.0:
            self.soft_update(self.hp["tau"])
        self._after_update()
        return value

    @torch.no_grad()
    def soft_update(self, tau: float) -> None:
        """θ̃ ← τ θ + (1 − τ) θ̃ (`tau=1`: the hard copy θ̃ ← θ)."""
        pairs = (
            (self.target_backbone, self.backbone),
            (self.target_q, self.heads["q"]),
        )
        for target, online in pairs:
            for p_target, p in zip(target.parameters(), online.parameters()):
                p_target.lerp_(p, tau)
            for b_target, b in zip(target.buffers(), online.buffers()):
                b_target.copy_(b)

    # ----- training ---------------------------------------------------------------------------

    def _extra_training_arrays(self) -> dict[str, np.ndarray]:
        if self.buffer is None:
            return {}
        return {f"replay.{k}": v for k, v in self.buffer.state_arrays().items()}

    def _extra_training_json(self) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon,
            "next_target_sync": self._next_target_sync,
            "replay_rng": None if self.buffer is None else self.buffer.rng.bit_generator.state,
        }

    def _restore_extra_training_state(
        self, arrays: dict[str, np.ndarray], state: dict[str, Any]
    ) -> None:
        self.epsilon = float(state.get("epsilon", self.epsilon))
        self._next_target_sync = int(state.get("next_target_sync", self._next_target_sync))
        replay = {k[len("replay.") :]: v for k, v in arrays.items() if k.startswith("replay.")}
        if replay:
            self.buffer = self._make_buffer(None, rng=np.random.default_rng())  # state set below
            try:
                if isinstance(self.buffer, SequenceReplay):
                    self.buffer.load_state_arrays(replay, self.device)
                else:
                    self.buffer.load_state_arrays(replay)
                self.buffer.rng.bit_generator.state = state["replay_rng"]
            except (KeyError, ValueError, TypeError) as exc:
                raise CheckpointError(f"the saved replay memory does not fit: {exc}") from exc

    def _make_buffer(
        self, envs: gym.vector.VectorEnv | None, rng: np.random.Generator | None = None
    ) -> ReplayBuffer | SequenceReplay:
        space = self.observation_space
        shape = () if isinstance(space, gym.spaces.Discrete) else tuple(space.shape)
        dtype = np.int64 if isinstance(space, gym.spaces.Discrete) else space.dtype
        if self.is_recurrent:
            n = self.hp["num_envs"]
            capacity = max(self.hp["buffer_size"] // self.hp["seq_len"], n)
            return SequenceReplay(
                capacity, n, self.hp["seq_len"], self.hp["burn_in"], shape, dtype,
                self.n_actions,
                rng=rng if rng is not None else np.random.default_rng(self.rng.integers(2**63)),
            )  # fmt: skip
        return ReplayBuffer(
            self.hp["buffer_size"],
            shape,
            dtype,
            self.n_actions,
            rng=rng if rng is not None else np.random.default_rng(self.rng.integers(2**63)),
        )

    def _collect_and_update(self, env: gym.Env, run: TrainingRun) -> None:
        """Collect with ε-greedy on `num_envs` envs, store, replay, update; see the module."""
        hp = self.hp
        n = hp["num_envs"]
        envs = make_train_envs(env, n)
        if self.buffer is None:
            self.buffer = self._make_buffer(envs)
        steps_at_start = self.env_steps
        counter = EpisodeCounter(n, run)
        want_policy = run.wants(PolicyStep)
        seeds = [int(s) for s in self.rng.integers(2**31, size=n)]
        obs, infos = envs.reset(seed=seeds)
        mask = _mask_of(infos, n, self.n_actions)
        has_masks = "action_mask" in infos  # else every action is always available
        self._env_has_masks = has_masks
        vector_steps = 0
        recurrent = self.is_recurrent
        state = self.backbone.initial_state(n, self.device)
        starts = np.ones(n, dtype=bool)
        if self.reward_normalizer is not None:
            self.reward_normalizer.start(n)
        if recurrent:
            if self.buffer.num_envs != n:
                raise HyperparameterError(
                    f"dqn: this agent's sequence replay was built for "
                    f"num_envs={self.buffer.num_envs}"
                )
            self.buffer.new_stream()  # new envs: no window spans the two train calls
        try:
            while not run.done:
                # ε_t decays linearly from eps_start to eps_end
                self.epsilon = linear_schedule(
                    hp["eps_start"], hp["eps_end"], hp["eps_decay_steps"], self.env_steps
                )
                with torch.no_grad():
                    if self.obs_normalizer is not None:  # the replay keeps raw observations
                        self.obs_normalizer.stats.update(torch.as_tensor(obs, device=self.device))
                    state_before = state
                    if recurrent:  # h carried across steps, reset at episode starts
                        features, state = self.backbone.step(self.obs_tensor(obs), state, starts)
                        scores = self.heads["q"](features)
                    else:
                        scores = self.q_values(obs)
                    mask_t = torch.as_tensor(mask, device=self.device) if has_masks else None
                    actions = self._sample_action(scores, mask_t).cpu().numpy()
                    if want_policy:
                        if mask_t is None:
                            mask_t = torch.ones(scores.shape, dtype=torch.bool, device=self.device)
                        event = self._policy_step(
                            obs, scores, mask_t, actions, run.env_steps, state
                        )
                        run.emit(replace(event, episode_starts=starts, hidden=infos.get("hidden")))
                actions = actions + self.action_start
                infos_before = infos
                next_obs, rewards, terminated, truncated, infos = envs.step(actions)
                done = terminated | truncated
                if self.reward_normalizer is not None:
                    self.reward_normalizer.observe(torch.as_tensor(rewards), done)
                real_next = np.array(next_obs, copy=True)
                acting_mask = _mask_of(infos, n, self.n_actions)  # reset rows: the new start
                next_mask = acting_mask.copy()  # the actions available in s'
                if done.any():
                    rows = np.flatnonzero(done)
                    real_next[rows] = stack_final_obs(infos["final_obs"], rows)
                    next_mask[rows] = _final_masks(infos, rows, self.n_actions)
                if recurrent:
                    self.buffer.add_step(obs, starts, mask, state_before, actions, rewards, done)
                else:
                    self.buffer.add(obs, actions, rewards, real_next, terminated, next_mask)
                if counter.wants_transitions:  # env 0's step, for the live viewer
                    counter.transition(
                        obs, actions, rewards, next_obs, terminated, truncated, infos,
                        infos_before, explored=bool(self._explored[0]),
                    )  # fmt: skip
                starts = done
                self.env_steps += n
                vector_steps += 1
                counter.step(rewards, done, self.env_steps - steps_at_start)
                obs, mask = next_obs, acting_mask
                ready = len(self.buffer) > 0 and self.env_steps >= hp["learning_starts"]
                if ready and vector_steps % hp["train_freq"] == 0:
                    if hp["anneal_lr"]:  # lr_t = lr · max(1 − spent, floor)
                        remaining = run.remaining(self.env_steps - steps_at_start,
                                                  hp["anneal_floor"])  # fmt: skip
                        for group in self.optimizer.param_groups:
                            group["lr"] = hp["lr"] * remaining
                    for _ in range(hp["gradient_steps"]):
                        self.update()
                if hp["tau"] >= 1.0 and self.env_steps >= self._next_target_sync:
                    self.soft_update(1.0)  # θ̃ ← θ
                    self._next_target_sync = self.env_steps + hp["target_update"]
        finally:
            envs.close()

    def _policy_step(
        self,
        obs: Any,
        scores: torch.Tensor,
        mask: torch.Tensor,
        actions: Any,
        env_steps: int,
        state: tuple = (),
    ) -> PolicyStep:
        """The ε-greedy distribution π(a|s) = ε/|A(s)| + (1 − ε)·[a = argmax Q] and max_a Q."""
        allowed = mask | ~mask.any(dim=-1, keepdim=True)
        masked = scores.masked_fill(~allowed, -math.inf)
        greedy = masked.argmax(dim=-1)
        probs = allowed.float() * (self.epsilon / allowed.sum(-1, keepdim=True))
        probs[torch.arange(len(greedy)), greedy] += 1.0 - self.epsilon
        return PolicyStep(obs, probs, masked.max(dim=-1).values, actions, state, env_steps)


def _per_row(
    q_of: Any, obs: Any, seen: tuple[np.ndarray, np.ndarray] | None, device: torch.device
) -> torch.Tensor:
    """`q_of(obs)` `[B, nA]`; with `seen = (unique, inverse)` computed on the distinct
    rows only and read back per row (the gradient of a shared row is the sum of its rows')."""
    if seen is None:
        return q_of(obs)
    unique, inverse = seen
    return q_of(unique)[torch.as_tensor(inverse, device=device)]


def _mask_of(infos: dict[str, Any], n: int, n_actions: int) -> np.ndarray:
    """`infos["action_mask"]` as `bool[n, nA]` (all true when the env gives none)."""
    if "action_mask" in infos:
        return np.asarray(infos["action_mask"], dtype=bool).reshape(n, n_actions).copy()
    return np.ones((n, n_actions), dtype=bool)


def _final_masks(infos: dict[str, Any], rows: np.ndarray, n_actions: int) -> np.ndarray:
    """Action masks of the final states of finished envs (all true when unknown)."""
    out = np.ones((len(rows), n_actions), dtype=bool)
    final_info = infos.get("final_info")
    if isinstance(final_info, dict) and "action_mask" in final_info:
        masks = np.asarray(final_info["action_mask"], dtype=bool)
        if masks.ndim == 2:
            out[:] = masks[rows]
    return out
