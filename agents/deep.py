"""The shared base of lecture-rl's deep agents (`dqn`, `reinforce`, `ppo`).

Description:
    A deep agent is a backbone from `lecture_rl.nets.make_backbone` (`mlp`, `cnn`,
    `rnn`, `lstm`, `gru`, `transformer`) plus small heads that a subclass builds. This
    base owns what every deep agent needs and no algorithm:

    * the device (`device`) and torch seeding;
    * acting one step at a time while keeping the recurrent state between calls;
    * a batched greedy evaluation (`DeepAgent._greedy_episodes`) on a vector env
      (`vector_envs`);
    * TensorBoard scalars under `log_dir` (a subscriber of the event stream);
    * from its two halves in their own modules: the update, `GradientSteps.gradient_step`
      (`gradient_step`: backward, clip, report a `NetworkUpdate`,
      the divergence guard, step), and the checkpoints, `DeepCheckpoint`
      (`deep_checkpoint`: `weights.safetensors` plus JSON metadata,
      never a pickle; the training state that resumes a run).

Subclasses implement:
    `_build_heads()` -> dict of extra modules (`{"actor": ..., "critic": ...}`),
    `_action_scores(features)` -> `[B, nA]` scores whose argmax is the greedy action,
    `_sample_action(scores, mask)` for exploring actions, and `_learn` (collect, update).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from lecture_rl.agents.base import Agent, HyperparameterError, TrainingRun
from lecture_rl.agents.checkpoint_io import check_spaces_fit, space_to_json
from lecture_rl.agents.deep_checkpoint import DeepCheckpoint
from lecture_rl.agents.device import make_reproducible, resolve_device
from lecture_rl.agents.events import TrainingCallback
from lecture_rl.agents.gradient_step import GradientSteps
from lecture_rl.agents.hyperparameters import Param, positive, positive_int, unit_interval
from lecture_rl.agents.monitors import TensorBoardScalars
from lecture_rl.agents.normalization import ObservationNormalizer, RewardNormalizer
from lecture_rl.agents.policies import Policy, make_policy
from lecture_rl.agents.vector_envs import make_train_envs
from lecture_rl.nets.backbone import is_image_space
from lecture_rl.nets.factory import BACKBONE_NAMES
from lecture_rl.nets.frame_stack import FrameStackBackbone
from lecture_rl.nets.numpy_twin import NumpyTwin

State = tuple[torch.Tensor, ...]


class DeepAgent(GradientSteps, DeepCheckpoint, Agent):
    """Base of the deep agents: a backbone from `lecture_rl.nets` plus heads.

    Arguments (hyperparameters common to every deep agent):
        net: backbone name, one of `mlp`, `cnn`, `rnn`, `lstm`, `gru`, `transformer`.
        hidden_size: width of the backbone.
        net_kwargs: extra keywords for `make_backbone` (e.g. `{"context": 32}`).
        lr: Adam learning rate (notes 004, Adam).
        gamma: discount factor γ.
        num_envs: envs stepped together while training.
        max_grad_norm: gradients are clipped to this global norm.
        device: `auto` (CUDA when present), `cpu` or `cuda`.
        checkpoint_every: with `log_dir` set, save `log_dir/last_good` every this many
            updates (used by the divergence guard's message).
    """

    params: ClassVar[dict[str, Param]] = {
        "net": Param("mlp", "the backbone (lecture_rl.nets)", choices=BACKBONE_NAMES),
        "hidden_size": positive_int(64, "width of the backbone", high=65536),
        "net_kwargs": Param({}, 'extra keywords for make_backbone, e.g. {"layers": 2}',
                            kind="dict"),
        "lr": positive(3e-4, "Adam learning rate (notes 004, Adam)"),
        "gamma": unit_interval(0.99, "discount factor γ"),
        "num_envs": positive_int(16, "envs stepped together while training", high=65536),
        "max_grad_norm": positive(0.5, "gradients are clipped to this global norm"),
        "device": Param("auto", "auto (CUDA when present), cpu or cuda[:N]", kind="any"),
        "checkpoint_every": positive_int(
            20, "with log_dir set, save log_dir/last_good every this many updates", high=10**9
        ),
        "normalize_obs": Param(
            False, "Box observations: o ← clip((o − μ)/σ, ±clip_obs) with running μ, σ "
            "(SB3's VecNormalize); frozen outside training, saved in the checkpoint", kind="bool"),
        "normalize_reward": Param(
            False, "r ← clip(r/σ_G, ±clip_reward), σ_G the running std of the discounted return "
            "(SB3's VecNormalize); saved in the checkpoint", kind="bool"),
        "frame_stack": positive_int(
            1, "net=mlp: read the last k observations side by side (SB3's VecFrameStack; "
            "zeros before an episode's start); 1: the current one only", high=1000),
        "clip_obs": positive(10.0, "bound of the normalised observations (normalize_obs)"),
        "clip_reward": positive(10.0, "bound of the scaled rewards (normalize_reward)"),
    }  # fmt: skip
    default_budget: ClassVar[dict[str, int]] = {"steps": 200_000}
    #: greedy evaluation plays this many episodes at once (one vector env)
    eval_num_envs: ClassVar[int] = 256
    #: defaults that depend on the backbone, `{net: {name: value}}`; a value the user gives
    #: wins (`net_kwargs` key by key). Each such default is named in its `Param`'s doc
    #: (e.g. PPO's Transformer lr).
    net_defaults: ClassVar[dict[str, dict[str, Any]]] = {}
    #: the head whose linear output is `_action_scores` (`None`: unknown), which lets
    #: `act` run in numpy on the CPU
    score_head: ClassVar[str | None] = None
    #: whether the agent also acts in a `Box` action space (a Gaussian policy: ppo, reinforce)
    continuous_actions: ClassVar[bool] = False

    @classmethod
    def validate_hyperparameters(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """As the base, after filling the `net_defaults` of the chosen `net` not given."""
        net = str(given.get("net", cls.params["net"].default)).lower()
        defaults = cls.net_defaults.get(net, {})
        extra = {k: v for k, v in defaults.items() if k not in given}
        hp = super().validate_hyperparameters({**extra, **given})
        if "net_kwargs" in defaults and "net_kwargs" in given:  # the user's keys win, one by one
            hp["net_kwargs"] = {**defaults["net_kwargs"], **hp["net_kwargs"]}
        return hp

    @classmethod
    def check_hyperparameters(cls, hp: dict[str, Any]) -> None:
        resolve_device(hp["device"])  # raises a clear error early

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        super().__init__(env, seed=seed, **hyperparameters)
        options = {k: self.hp[k] for k in ("log_std_init", "use_sde") if k in self.hp}
        #: the action distribution: categorical over Discrete actions, Gaussian over a Box
        self.policy: Policy = make_policy(
            self.action_space, self.name, self.continuous_actions, **options
        )
        self.device = resolve_device(self.hp["device"])
        make_reproducible(self.device)
        continuous = self.policy.continuous
        self.n_actions = 0 if continuous else int(self.action_space.n)  # 0: a Box
        self.action_start = 0 if continuous else int(self.action_space.start)
        # every torch draw goes through generators seeded from `seed`
        torch_seed = int(self.rng.integers(2**62))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed)
            self.backbone = self._make_backbone().to(self.device)
            self.heads = nn.ModuleDict(self._build_heads()).to(self.device)
        self.obs_normalizer, self.reward_normalizer = self._make_normalizers()
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(torch_seed + 1)
        self.cpu_generator = torch.Generator().manual_seed(torch_seed + 2)  # minibatch order
        self._run: TrainingRun | None = None
        self.updates = 0
        self.env_steps = 0
        self.last_good_checkpoint: Path | None = None
        self._act_state: State | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._first_bad: torch.Tensor | None = None  # _NEVER − first skipped bad update

    # ----- the optimizer --------------------------------------------------------------------

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """The optimizer over `parameters` (`_make_optimizer`), made on first use.

        Building an agent only to check its settings (`compare` does, before any work starts)
        thus skips torch's one-off optimizer set-up: about a second, importing torch._dynamo.
        """
        if self._optimizer is None:
            self._optimizer = self._make_optimizer()
        return self._optimizer

    @optimizer.setter
    def optimizer(self, value: torch.optim.Optimizer) -> None:
        self._optimizer = value

    def _make_optimizer(self) -> torch.optim.Optimizer:
        """Adam with the agent's `lr` (an algorithm overrides this for other settings).

        Fused: one kernel updates every parameter (per-update overhead matters on small nets)
        and it takes the `found_inf` flag of `apply_gradients` without a host sync.
        """
        return torch.optim.Adam(self.parameters(), lr=self.hp["lr"], fused=True)

    # ----- networks -------------------------------------------------------------------------

    def _make_backbone(self) -> nn.Module:
        from lecture_rl.nets import make_backbone

        hp = self.hp

        def build(space: gym.Space) -> nn.Module:
            return make_backbone(
                hp["net"], space, hidden_size=hp["hidden_size"], **hp["net_kwargs"]
            )

        try:
            if hp["frame_stack"] > 1:  # the last k observations side by side
                if hp["net"] != "mlp":
                    raise HyperparameterError(
                        f"frame_stack={hp['frame_stack']} stacks observations for net=mlp; "
                        f"net={hp['net']} reads one observation per step (a memory net "
                        "carries the past itself): leave frame_stack at 1"
                    )
                try:
                    return FrameStackBackbone(self.observation_space, build, hp["frame_stack"])
                except ValueError as exc:
                    raise HyperparameterError(f"frame_stack={hp['frame_stack']}: {exc}") from exc
            return build(self.observation_space)
        except TypeError as exc:
            raise HyperparameterError(
                f"net_kwargs={self.hp['net_kwargs']!r} does not fit backbone "
                f"'{self.hp['net']}': {exc}"
            ) from exc

    def _build_heads(self) -> dict[str, nn.Module]:
        """The modules on top of the backbone (subclasses override)."""
        return {}

    def _make_normalizers(self) -> tuple[ObservationNormalizer | None, RewardNormalizer | None]:
        """The running statistics `normalize_obs` / `normalize_reward` ask for (else `None`)."""
        hp, space = self.hp, self.observation_space
        obs_normalizer = reward_normalizer = None
        if hp["normalize_obs"]:
            if not isinstance(space, gym.spaces.Box) or is_image_space(space):
                raise HyperparameterError(
                    f"normalize_obs=true needs vector (Box) observations, but this env has "
                    f"{space}; leave normalize_obs off (one-hot and image inputs are already "
                    "scaled by the backbone)"
                )
            obs_normalizer = ObservationNormalizer(space.shape, hp["clip_obs"]).to(self.device)
        if hp["normalize_reward"]:
            reward_normalizer = RewardNormalizer(hp["gamma"], hp["clip_reward"]).to(self.device)
        return obs_normalizer, reward_normalizer

    @property
    def is_recurrent(self) -> bool:
        return bool(getattr(self.backbone, "is_recurrent", False))

    def modules_to_save(self) -> dict[str, nn.Module]:
        """Every module whose weights (or statistics) go into the checkpoint, by name."""
        modules = {"backbone": self.backbone, **dict(self.heads.items())}
        if getattr(self, "obs_normalizer", None) is not None:
            modules["obs_normalizer"] = self.obs_normalizer
        if getattr(self, "reward_normalizer", None) is not None:
            modules["reward_normalizer"] = self.reward_normalizer
        return modules

    def parameters(self) -> list[nn.Parameter]:
        """All trainable parameters (backbone and heads)."""
        return list(self.backbone.parameters()) + list(self.heads.parameters())

    def _trainable(self) -> list[nn.Parameter]:
        """`parameters`, listed once (walking the modules each update costs ~0.1 ms)."""
        cached = getattr(self, "_trainable_cache", None)
        if cached is None:
            cached = self._trainable_cache = self.parameters()
        return cached

    def obs_tensor(self, obs: Any, *, learn: bool = False) -> torch.Tensor:
        """Observations as the backbone takes them: integer ids for Discrete, raw arrays else.

        A tensor (from torch batched envs) is already on the device and is used as it is.
        With `normalize_obs` they come normalised by the running statistics, which
        `learn=True` (the training envs' observations, once each) first updates.
        """
        if torch.is_tensor(obs):
            tensor = obs.to(self.device)
        elif isinstance(self.observation_space, gym.spaces.Discrete):
            tensor = torch.as_tensor(np.asarray(obs, dtype=np.int64), device=self.device)
        else:
            tensor = torch.as_tensor(np.asarray(obs), device=self.device)
        if self.obs_normalizer is not None:
            tensor = self.obs_normalizer(tensor, update=learn)
        return tensor

    def _scaled_rewards(self, rewards: Any, dones: Any, active: Any = None) -> torch.Tensor:
        """A vector step's rewards as float32 on the device; with `normalize_reward` folded
        into the return statistics (`active`: the envs whose step counts) and scaled."""
        reward_t = torch.as_tensor(rewards, dtype=torch.float32, device=self.device)
        if self.reward_normalizer is None:
            return reward_t
        self.reward_normalizer.observe(reward_t, dones, active)
        return self.reward_normalizer.scale(reward_t)

    def _action_scores(self, features: torch.Tensor) -> torch.Tensor:
        """`[B, nA]` scores whose argmax is the greedy action (logits or Q-values)."""
        raise NotImplementedError

    def _sample_action(
        self, scores: torch.Tensor, mask: torch.Tensor | None, features: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Exploring actions for scores `[B, ...]` (default: a sample of the policy; gSDE
        reads the `features` too)."""
        if mask is not None:
            scores = scores.masked_fill(~mask, -1e9)
        return self.policy.sample(scores, self.heads, self.generator, features)

    def _env_action(self, action: torch.Tensor) -> Any:
        """One action `[1, ...]` as `env.step` takes it: an int, or a clipped Box array."""
        env_action = self.policy.to_env(action)[0]
        return env_action if self.policy.continuous else int(env_action)

    # ----- acting one step at a time ----------------------------------------------------------

    def reset(self) -> None:
        """Start of a new episode: forget the recurrent state."""
        self._act_state = None

    def act(self, obs: Any, info: Mapping[str, Any] | None = None, *, greedy: bool = True) -> Any:
        """The action for one observation; the recurrent state is kept until `reset`.

        An int for a `Discrete` action space; for a `Box`, an array of its shape clipped to its
        bounds (greedy: the Gaussian's mean).

        On the CPU, MLP and rnn/lstm/gru backbones compute the scores in numpy on the same
        weights (`NumpyTwin`): the same action, a few
        microseconds instead of tens (`benchmarks/act_latency.py`).
        """
        twin = self._numpy_twin()
        if twin is not None and (greedy or not self.policy.needs_features):
            if self.obs_normalizer is not None:
                obs = self.obs_normalizer.numpy(obs)
            state = self._act_state
            before = twin.initial_state() if state is None else tuple(s[0].numpy() for s in state)
            scores_np, after = twin.scores(obs, before)
            self._act_state = tuple(torch.from_numpy(s[None]) for s in after)
            allowed = None
            if info is not None and "action_mask" in info:
                allowed = np.asarray(info["action_mask"], dtype=bool).reshape(-1)
                allowed = allowed if allowed.any() else None
            if greedy and not self.policy.continuous:
                if allowed is not None:
                    scores_np = np.where(allowed, scores_np, -np.inf)
                return int(np.argmax(scores_np)) + self.action_start
            scores = torch.from_numpy(np.asarray(scores_np, dtype=np.float32)[None])
            if greedy:  # a Box: the Gaussian's mean, clipped
                return self._env_action(self.policy.greedy(scores))
            mask = None if allowed is None else torch.from_numpy(allowed[None])
            return self._env_action(self._sample_action(scores, mask))
        return self._act_torch(obs, info, greedy)

    @torch.no_grad()
    def _act_torch(self, obs: Any, info: Mapping[str, Any] | None, greedy: bool) -> Any:
        """`act` through the torch modules (GPU, CNN, Transformer, ...)."""
        if self._act_state is None:
            self._act_state = self.backbone.initial_state(1, self.device)
        obs_t = self.obs_tensor(np.asarray(obs)[None])
        features, self._act_state = self.backbone.step(obs_t, self._act_state, None)
        scores = self._action_scores(features)
        mask = None
        if info is not None and "action_mask" in info:
            mask = torch.as_tensor(
                np.asarray(info["action_mask"], dtype=bool)[None], device=self.device
            )
            if not bool(mask.any()):
                mask = None
        if greedy:
            if mask is not None:
                scores = scores.masked_fill(~mask, -math.inf)
            action = self.policy.greedy(scores)
        else:
            action = self._sample_action(scores, mask, features)
        return self._env_action(action)

    def _numpy_twin(self) -> NumpyTwin | None:
        """The numpy twin of backbone + `score_head` on the CPU (`None`: act in torch)."""
        twin = getattr(self, "_twin_cache", None)
        if twin is None:
            head = self.heads[self.score_head] if self.score_head in self.heads else None
            made = None
            if head is not None and self.device.type == "cpu":  # the score head's own net
                net = getattr(self.backbone, "actor", self.backbone)  # ActorCriticPair: f_π
                made = NumpyTwin.of(net, head)
            twin = self._twin_cache = made if made is not None else False
        return twin or None

    # ----- batched greedy evaluation --------------------------------------------------------

    @torch.no_grad()
    def _greedy_episodes(
        self, env: gym.Env, episodes: int, seed: int | None, max_episode_steps: int
    ) -> tuple[list[float], list[int]]:
        """Greedy episodes up to `eval_num_envs` at once on a vector env built from `env`'s
        spec (episode `i` from seed `seed + i`, as the one-env loop it falls back to when
        `env` has no spec to rebuild it from)."""
        spec = getattr(env, "spec", None) or getattr(env.unwrapped, "spec", None)
        if spec is None or episodes <= 1:
            return super()._greedy_episodes(env, episodes, seed, max_episode_steps)
        width = max(1, min(episodes, self.eval_num_envs))
        venv = make_train_envs(env, width)
        returns: list[float] = []
        lengths: list[int] = []
        try:
            start = 0
            while start < episodes:
                count = min(width, episodes - start)
                # an int seed: vector envs seed their i-th copy from seed + start + i
                wave_seed = None if seed is None else seed + start
                ret, length = self._run_wave(venv, width, wave_seed, max_episode_steps)
                returns.extend(ret[:count].tolist())
                lengths.extend(length[:count].tolist())
                start += count
        finally:
            venv.close()
        return returns, lengths

    def _run_wave(
        self,
        venv: gym.vector.VectorEnv,
        width: int,
        seed: int | None,
        max_steps: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One greedy episode in each of the `width` envs; returns (returns, lengths)."""
        obs, infos = venv.reset(seed=seed)
        state = self.backbone.initial_state(width, self.device)
        returns = np.zeros(width)
        lengths = np.zeros(width, dtype=np.int64)
        running = np.ones(width, dtype=bool)
        for _ in range(max_steps):
            features, state = self.backbone.step(self.obs_tensor(obs), state, None)
            scores = self._action_scores(features)
            if "action_mask" in infos:
                mask = torch.as_tensor(
                    np.asarray(infos["action_mask"], dtype=bool), device=self.device
                )
                mask = mask | ~mask.any(dim=-1, keepdim=True)
                scores = scores.masked_fill(~mask, -math.inf)
            actions = self.policy.to_env(self.policy.greedy(scores))
            obs, rewards, terminated, truncated, infos = venv.step(actions)
            returns += np.where(running, rewards, 0.0)
            lengths += running
            running &= ~(terminated | truncated)
            if not running.any():
                break
        return returns, lengths

    # ----- training helpers -----------------------------------------------------------------

    def standing_callbacks(self) -> list[TrainingCallback]:
        """TensorBoard scalars when `log_dir` is set.

        The divergence guard is no subscriber: `apply_gradients` guards every update
        itself, without host syncs when nobody listens to `NetworkUpdate`.
        """
        found: list[TrainingCallback] = []
        if self.log_dir is not None:
            found.append(TensorBoardScalars(Path(self.log_dir) / "tensorboard"))
        return found

    def check_train_env(self, env: gym.Env) -> None:
        check_spaces_fit(
            self.env_id, space_to_json(self.observation_space), space_to_json(self.action_space),
            env,
        )  # fmt: skip

    def _learn(self, env: gym.Env, run: TrainingRun) -> None:
        self._run = run
        try:
            self._collect_and_update(env, run)
        finally:
            self._run = None
        self.check_divergence()

    def _collect_and_update(self, env: gym.Env, run: TrainingRun) -> None:
        """The algorithm: collect experience and update the networks until `run.done`."""
        raise NotImplementedError
