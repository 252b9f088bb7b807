"""The shared base of lecture-rl's deep agents (``dqn``, ``reinforce``, ``ppo``).

Description:
    A deep agent is a backbone from :func:`lecture_rl.nets.make_backbone` (``mlp``, ``cnn``,
    ``rnn``, ``lstm``, ``gru``, ``transformer``) plus small heads that a subclass builds. This
    base owns what every deep agent needs and no algorithm:

    * the device (:mod:`~lecture_rl.agents.device`) and torch seeding;
    * acting one step at a time while keeping the recurrent state between calls;
    * a batched greedy :meth:`DeepAgent.evaluate` on a vector env
      (:mod:`~lecture_rl.agents.vector_envs`);
    * :meth:`DeepAgent.gradient_step`: backward, clip, report a ``NetworkUpdate`` (the
      divergence guard of :mod:`~lecture_rl.agents.monitors` stops a NaN here), step;
    * checkpoints as ``weights.safetensors`` plus JSON metadata (never a pickle);
    * TensorBoard scalars under ``log_dir`` (a subscriber of the event stream).

Subclasses implement:
    ``_build_heads()`` -> dict of extra modules (``{"actor": ..., "critic": ...}``),
    ``_action_scores(features)`` -> ``[B, nA]`` scores whose argmax is the greedy action,
    ``_sample_action(scores, mask)`` for exploring actions, and ``_learn`` (collect, update).
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

from lecture_rl.agents.base import (
    Agent,
    CheckpointError,
    HyperparameterError,
    TrainingDiverged,
    TrainingRun,
)
from lecture_rl.agents.checkpoint_io import (
    WEIGHTS_FILE,
    check_spaces_fit,
    load_tensors,
    save_tensors,
    space_to_json,
)
from lecture_rl.agents.device import make_reproducible, resolve_device
from lecture_rl.agents.events import NetworkUpdate, TrainingCallback
from lecture_rl.agents.hyperparameters import Param, positive, positive_int, unit_interval
from lecture_rl.agents.monitors import DivergenceGuard, TensorBoardScalars, divergence_message
from lecture_rl.agents.normalization import ObservationNormalizer, RewardNormalizer
from lecture_rl.agents.policies import Policy, make_policy
from lecture_rl.agents.stats import evaluation_summary
from lecture_rl.agents.vector_envs import make_train_envs
from lecture_rl.envs.protocols import graded_answers
from lecture_rl.nets.backbone import is_image_space
from lecture_rl.nets.factory import BACKBONE_NAMES
from lecture_rl.nets.frame_stack import FrameStackBackbone
from lecture_rl.nets.numpy_twin import NumpyTwin

State = tuple[torch.Tensor, ...]
TRAINING_STATE_FILE = "training_state.safetensors"
#: updates between the sync-free divergence guard's host checks (:meth:`DeepAgent.check_divergence`)
GUARD_EVERY = 64
_NEVER = 2.0**40  # first bad update k is stored as _NEVER − k (0: none)


class DeepAgent(Agent):
    """Base of the deep agents: a backbone from ``lecture_rl.nets`` plus heads.

    Arguments (hyperparameters common to every deep agent):
        net: backbone name, one of ``mlp``, ``cnn``, ``rnn``, ``lstm``, ``gru``, ``transformer``.
        hidden_size: width of the backbone.
        net_kwargs: extra keywords for ``make_backbone`` (e.g. ``{"context": 32}``).
        lr: Adam learning rate (notes 004, Adam).
        gamma: discount factor γ.
        num_envs: envs stepped together while training.
        max_grad_norm: gradients are clipped to this global norm.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        checkpoint_every: with ``log_dir`` set, save ``log_dir/last_good`` every this many
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
    #: defaults that depend on the backbone, ``{net: {name: value}}``; a value the user gives
    #: wins (``net_kwargs`` key by key). Each such default is named in its ``Param``'s doc
    #: (e.g. PPO's Transformer lr).
    net_defaults: ClassVar[dict[str, dict[str, Any]]] = {}
    #: the head whose linear output is :meth:`_action_scores` (``None``: unknown), which lets
    #: :meth:`act` run in numpy on the CPU
    score_head: ClassVar[str | None] = None
    #: whether the agent also acts in a `Box` action space (a Gaussian policy: ppo, reinforce)
    continuous_actions: ClassVar[bool] = False

    @classmethod
    def validate_hyperparameters(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """As the base, after filling the ``net_defaults`` of the chosen ``net`` not given."""
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
        """The optimizer over :meth:`parameters` (:meth:`_make_optimizer`), made on first use.

        Building an agent only to check its settings (``compare`` does, before any work starts)
        thus skips torch's one-off optimizer set-up: about a second, importing torch._dynamo.
        """
        if self._optimizer is None:
            self._optimizer = self._make_optimizer()
        return self._optimizer

    @optimizer.setter
    def optimizer(self, value: torch.optim.Optimizer) -> None:
        self._optimizer = value

    def _make_optimizer(self) -> torch.optim.Optimizer:
        """Adam with the agent's ``lr`` (an algorithm overrides this for other settings).

        Fused: one kernel updates every parameter (per-update overhead matters on small nets)
        and it takes the ``found_inf`` flag of :meth:`apply_gradients` without a host sync.
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
        """:meth:`parameters`, listed once (walking the modules each update costs ~0.1 ms)."""
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
        """``[B, nA]`` scores whose argmax is the greedy action (logits or Q-values)."""
        raise NotImplementedError

    def _sample_action(
        self, scores: torch.Tensor, mask: torch.Tensor | None, features: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Exploring actions for scores ``[B, ...]`` (default: a sample of the policy; gSDE
        reads the ``features`` too)."""
        if mask is not None:
            scores = scores.masked_fill(~mask, -1e9)
        return self.policy.sample(scores, self.heads, self.generator, features)

    def _env_action(self, action: torch.Tensor) -> Any:
        """One action ``[1, ...]`` as ``env.step`` takes it: an int, or a clipped Box array."""
        env_action = self.policy.to_env(action)[0]
        return env_action if self.policy.continuous else int(env_action)

    # ----- acting one step at a time ----------------------------------------------------------

    def reset(self) -> None:
        """Start of a new episode: forget the recurrent state."""
        self._act_state = None

    def act(self, obs: Any, info: Mapping[str, Any] | None = None, *, greedy: bool = True) -> Any:
        """The action for one observation; the recurrent state is kept until :meth:`reset`.

        An int for a `Discrete` action space; for a `Box`, an array of its shape clipped to its
        bounds (greedy: the Gaussian's mean).

        On the CPU, MLP and rnn/lstm/gru backbones compute the scores in numpy on the same
        weights (:class:`~lecture_rl.nets.numpy_twin.NumpyTwin`): the same action, a few
        microseconds instead of tens (``benchmarks/act_latency.py``).
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
        """:meth:`act` through the torch modules (GPU, CNN, Transformer, ...)."""
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
        """The numpy twin of backbone + ``score_head`` on the CPU (``None``: act in torch)."""
        twin = getattr(self, "_twin_cache", None)
        if twin is None:
            head = self.heads[self.score_head] if self.score_head in self.heads else None
            made = None
            if head is not None and self.device.type == "cpu":
                made = NumpyTwin.of(self.backbone, head)
            twin = self._twin_cache = made if made is not None else False
        return twin or None

    # ----- batched greedy evaluation --------------------------------------------------------

    @torch.no_grad()
    def evaluate(
        self,
        env: gym.Env,
        episodes: int = 100,
        *,
        seed: int | None = None,
        max_episode_steps: int = 10_000,
        num_envs: int = 256,
    ) -> dict[str, Any]:
        """Greedy evaluation of ``episodes`` episodes, up to ``num_envs`` of them at once.

        Same keys as :meth:`Agent.evaluate`; episode ``i`` runs from seed ``seed + i``. Falls
        back to the one-env loop when ``env`` has no spec to rebuild it from.
        """
        spec = getattr(env, "spec", None) or getattr(env.unwrapped, "spec", None)
        if spec is None or episodes <= 1:
            return super().evaluate(env, episodes, seed=seed, max_episode_steps=max_episode_steps)
        width = max(1, min(episodes, num_envs))
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
        return evaluation_summary(returns, lengths, graded_answers(env))

    def _run_wave(
        self,
        venv: gym.vector.VectorEnv,
        width: int,
        seed: int | None,
        max_steps: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One greedy episode in each of the ``width`` envs; returns (returns, lengths)."""
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
        """TensorBoard scalars when ``log_dir`` is set.

        The divergence guard is no subscriber: :meth:`apply_gradients` guards every update
        itself, without host syncs when nobody listens to :class:`NetworkUpdate`.
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
        """The algorithm: collect experience and update the networks until ``run.done``."""
        raise NotImplementedError

    def gradient_step(
        self,
        loss: torch.Tensor,
        losses: dict[str, torch.Tensor],
        scalars: dict[str, float] | None = None,
    ) -> torch.Tensor:
        """∇ of ``loss``, clipped to ``max_grad_norm``, guarded, then one optimizer step.

        Returns the loss (a detached tensor: ``float()`` it only where the number is needed,
        each conversion is a host sync on a GPU). See :meth:`apply_gradients`.
        """
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return self.apply_gradients(loss, losses, scalars)

    # Intentional twin (duplicate scan): the same arguments as gradient_step, which runs
    # backward first; this one takes gradients already in .grad (dqn's hand-written MLP backward).
    def apply_gradients(
        self,
        loss: torch.Tensor,
        losses: dict[str, torch.Tensor],
        scalars: dict[str, float] | None = None,
        *,
        numpy_grads: list[np.ndarray] | None = None,
    ) -> torch.Tensor:
        """Clip the gradients in ``.grad`` to ``max_grad_norm``, guard, report, step.

        ``numpy_grads`` (CPU only): numpy views of those same ``.grad`` tensors, in the order of
        :meth:`_trainable`; the norm and the clipping are then done in numpy (~1 µs per
        operation instead of torch's few).

        With a subscriber of :class:`NetworkUpdate`, the event (``loss`` and the named
        ``losses`` as floats, the gradient norm before clipping) goes out *before* the
        optimizer step, so the divergence guard stops a NaN before it reaches the weights.
        Without one nothing is converted to a float: a fused optimizer is handed a
        ``found_inf`` flag (as mixed-precision training does), so a non-finite loss or
        gradient leaves the weights as they were without a host sync, and the first such
        update is remembered for :meth:`check_divergence`, which raises
        :class:`TrainingDiverged` naming it.
        """
        if numpy_grads is not None:
            grad_norm = clip_numpy_gradients(numpy_grads, self.hp["max_grad_norm"])
        else:
            grads = [p.grad for p in self._trainable() if p.grad is not None]
            grad_norm = clip_gradients(grads, self.hp["max_grad_norm"])
        loss = loss.detach()
        optimizer = self.optimizer
        run = self._run
        if run is not None and run.wants(NetworkUpdate):
            values = {"loss": float(loss)}
            values.update({key: float(value.detach()) for key, value in losses.items()})
            event = NetworkUpdate(
                self.updates + 1, self.env_steps, values, float(grad_norm), scalars or {}
            )
            run.emit(event)
            DivergenceGuard(self).on_event(event)  # already floats: checking costs nothing
            optimizer.found_inf = None
        elif run is None or not optimizer.defaults.get("fused"):
            # an update outside train(), or an optimizer without found_inf: check now
            event = NetworkUpdate(self.updates + 1, self.env_steps, {"loss": float(loss)})
            DivergenceGuard(self).on_event(event)
            optimizer.found_inf = None
        else:
            total = loss + grad_norm  # finite iff both are
            found_inf = (total - total).ne_(0.0)  # 1.0 where nan or ±inf, else 0.0
            optimizer.found_inf = found_inf  # fused Adam skips the step: no sync
            # remember the first bad update: the largest BIG − k over bad updates k
            mark = found_inf.double().mul_(_NEVER - (self.updates + 1))  # float64: exact
            if self._first_bad is None:
                self._first_bad = mark
            else:
                torch.maximum(self._first_bad, mark, out=self._first_bad)
        if not fused_adam_step(optimizer):
            optimizer.step()
        return loss

    def check_divergence(self) -> None:
        """Raise :class:`TrainingDiverged` if a sync-free update met a non-finite loss.

        One host sync; agents call it every ``GUARD_EVERY`` updates, before saving a
        checkpoint and when training ends. The weights never took the bad step.
        """
        if self._first_bad is None:
            return
        mark = float(self._first_bad)
        if mark > 0:
            self._first_bad = None
            update = int(_NEVER - mark)
            raise TrainingDiverged(
                divergence_message(self, update, "loss or its gradient", math.nan)
            )

    def _after_update(self) -> None:
        """Count the update; every ``checkpoint_every`` updates save ``log_dir/last_good``."""
        self.updates += 1
        saving = self.log_dir is not None and self.updates % self.hp["checkpoint_every"] == 0
        if saving or self.updates % GUARD_EVERY == 0:
            self.check_divergence()  # never save a checkpoint past a bad update
        if saving:
            self.last_good_checkpoint = self.save(Path(self.log_dir) / "last_good")

    # ----- checkpoints ----------------------------------------------------------------------

    def _save_state(self, folder: Path) -> dict[str, Any]:

        tensors = {
            f"{module_name}.{key}": value.detach().to("cpu").contiguous().clone()
            for module_name, module in self.modules_to_save().items()
            for key, value in module.state_dict().items()
        }
        save_tensors(folder / WEIGHTS_FILE, tensors, {"agent": self.name, "net": self.hp["net"]})
        return {
            "weights": WEIGHTS_FILE,
            "backbone": self.hp["net"],
            "modules": sorted(self.modules_to_save()),
            "updates": self.updates,
            "env_steps": self.env_steps,
        }

    def _save_training_state(self, folder: Path) -> dict[str, Any]:
        """Adam's moments and step counts, the torch generators, extra arrays (DQN's replay
        memory) as ``training_state.safetensors``; the rest as JSON."""
        optimizer = self.optimizer.state_dict()
        tensors: dict[str, torch.Tensor] = {
            "generator": self.generator.get_state(),
            "cpu_generator": self.cpu_generator.get_state(),
        }
        scalars: dict[str, dict[str, float]] = {}
        for index, slots in optimizer["state"].items():
            for name, value in slots.items():
                if torch.is_tensor(value):
                    tensors[f"optimizer.{index}.{name}"] = value.detach().to("cpu").contiguous()
                else:
                    scalars.setdefault(str(index), {})[name] = value
        for name, array in self._extra_training_arrays().items():
            tensors[f"extra.{name}"] = torch.from_numpy(np.ascontiguousarray(array))
        save_tensors(folder / TRAINING_STATE_FILE, tensors, {"agent": self.name})
        return {
            **super()._save_training_state(folder),
            "file": TRAINING_STATE_FILE,
            "param_groups": optimizer["param_groups"],
            "optimizer_scalars": scalars,
            **self._extra_training_json(),
        }

    def _load_training_state(self, folder: Path, state: dict[str, Any]) -> None:
        super()._load_training_state(folder, state)
        tensors = load_tensors(folder / state.get("file", TRAINING_STATE_FILE))
        try:
            self.generator.set_state(tensors["generator"])
            self.cpu_generator.set_state(tensors["cpu_generator"])
            slots: dict[int, dict[str, Any]] = {}
            for key, value in tensors.items():
                if key.startswith("optimizer."):
                    _, index, name = key.split(".", 2)
                    slots.setdefault(int(index), {})[name] = value.to(self.device)
            for index, values in state.get("optimizer_scalars", {}).items():
                slots.setdefault(int(index), {}).update(values)
            self.optimizer.load_state_dict({"state": slots, "param_groups": state["param_groups"]})
        except (KeyError, ValueError, RuntimeError, TypeError) as exc:
            raise CheckpointError(
                f"checkpoint {folder}: the training state does not fit this agent: {exc}"
            ) from exc
        arrays = {
            k[len("extra.") :]: v.numpy() for k, v in tensors.items() if k.startswith("extra.")
        }
        self._restore_extra_training_state(arrays, state)

    def _extra_training_arrays(self) -> dict[str, np.ndarray]:
        """Arrays an algorithm adds to the training state (DQN: its replay memory)."""
        return {}

    def _extra_training_json(self) -> dict[str, Any]:
        """JSON values an algorithm adds to the training state (DQN: ε, the next θ̃ copy)."""
        return {}

    def _restore_extra_training_state(
        self, arrays: dict[str, np.ndarray], state: dict[str, Any]
    ) -> None:
        """Restore what the two methods above added."""

    @classmethod
    def from_checkpoint(cls, folder: Path, meta: dict[str, Any], env: gym.Env) -> Agent:
        """As the base, but a checkpoint trained on a GPU also loads on a machine without one."""
        hp = dict(meta.get("hyperparameters", {}))
        if str(hp.get("device", "auto")).startswith("cuda") and not torch.cuda.is_available():
            meta = {**meta, "hyperparameters": {**hp, "device": "cpu"}}
        return super().from_checkpoint(folder, meta, env)

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        path = folder / meta.get("weights", WEIGHTS_FILE)
        tensors = load_tensors(path)
        for module_name, module in self.modules_to_save().items():
            prefix = f"{module_name}."
            part = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            try:
                module.load_state_dict(part, strict=True)
            except RuntimeError as exc:
                raise CheckpointError(
                    f"checkpoint {path} does not fit module '{module_name}' of a "
                    f"{self.hp['net']} {self.name} agent: {str(exc).splitlines()[0]}"
                ) from exc
        self.updates = int(meta.get("updates", 0))
        self.env_steps = int(meta.get("env_steps", 0))


def clip_gradients(grads: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Scale ``grads`` in place to a global norm of at most ``max_norm``; returns the norm
    before clipping (a tensor). What ``nn.utils.clip_grad_norm_`` computes, with its
    per-call grouping and checks left out (same device and dtype here)."""
    if not grads:
        return torch.zeros(())
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))  # ‖g‖
    scale = (max_norm / (norm + 1e-6)).clamp_(max=1.0)  # g ← g · min(1, c / ‖g‖)
    torch._foreach_mul_(grads, scale)
    return norm


def clip_numpy_gradients(grads: list[np.ndarray], max_norm: float) -> torch.Tensor:
    """:func:`clip_gradients` on numpy views of CPU gradients: the same global norm and
    scale, g ← g · min(1, c / (‖g‖ + 10⁻⁶)), in float32; returns the norm before clipping."""
    norm = np.float32(math.sqrt(sum(float(np.vdot(g, g)) for g in grads)))  # ‖g‖
    scale = min(np.float32(max_norm) / (norm + np.float32(1e-6)), np.float32(1.0))
    if scale < 1.0:
        for g in grads:
            g *= scale
    return torch.tensor(float(norm))


def fused_adam_step(optimizer: torch.optim.Optimizer) -> bool:
    """One step of a fused :class:`torch.optim.Adam` straight through its kernel.

    ``optimizer.step()`` spends ~50 µs per call grouping tensors, checking options and
    profiling before the kernel that does the work; on a small net that is most of the step.
    This calls the same kernel (``torch._fused_adam_``, with the optimizer's own state, so
    checkpoints and ``state_dict`` are unchanged) when the set-up is the plain one: one
    parameter group, fused, no amsgrad/maximize/weight decay/capturable/differentiable, no
    step hooks, state already made by a first ``step()``. Returns ``False`` (nothing done)
    otherwise, and the caller steps as usual.
    """
    if type(optimizer) is not torch.optim.Adam or len(optimizer.param_groups) != 1:
        return False
    group = optimizer.param_groups[0]
    plain = (
        group["fused"]
        and not (group["amsgrad"] or group["maximize"] or group["capturable"])
        and not group["differentiable"]
        and group["weight_decay"] == 0
        and isinstance(group["lr"], float)
        and not optimizer._optimizer_step_pre_hooks
        and not optimizer._optimizer_step_post_hooks
        and hasattr(torch, "_fused_adam_")
    )
    if not plain:
        return False
    cache = getattr(optimizer, "_lecture_rl_state", None)
    params = group["params"]
    if cache is None or cache[0] is not optimizer.state or len(cache[1]) != len(params):
        states = [optimizer.state.get(p) for p in params]
        if any(not state or state["step"].device != p.device for state, p in zip(states, params)):
            return False  # the first step() makes the state
        cache = (
            optimizer.state,
            [s["exp_avg"] for s in states],
            [s["exp_avg_sq"] for s in states],
            [s["step"] for s in states],
        )
        optimizer._lecture_rl_state = cache
    _, exp_avgs, exp_avg_sqs, steps = cache
    grads = [p.grad for p in params]
    if any(g is None for g in grads):
        return False
    found_inf = getattr(optimizer, "found_inf", None)
    beta1, beta2 = group["betas"]
    torch._foreach_add_(steps, 1)
    torch._fused_adam_(
        params, grads, exp_avgs, exp_avg_sqs, [], steps,
        amsgrad=False, lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=0.0,
        eps=group["eps"], maximize=False, grad_scale=None, found_inf=found_inf,
    )  # fmt: skip
    if found_inf is not None:  # a skipped step does not count
        torch._foreach_sub_(steps, [found_inf] * len(steps))
    return True
