"""The shared base of lecture-rl's deep agents (``dqn``, ``reinforce``, ``ppo``).

Description:
    A deep agent is a backbone from :func:`lecture_rl.nets.make_backbone` (``mlp``, ``cnn``,
    ``rnn``, ``lstm``, ``gru``, ``transformer``) plus small heads that a subclass builds. This
    base owns what every deep agent needs and no algorithm:

    * the device (``device="auto"`` uses CUDA when there is one) and torch seeding;
    * building the native batched training envs in ``SAME_STEP`` autoreset mode;
    * acting one step at a time while keeping the recurrent state between calls;
    * a batched greedy :meth:`DeepAgent.evaluate` on a vector env;
    * checkpoints as ``weights.safetensors`` plus JSON metadata (never a pickle);
    * TensorBoard scalars under ``log_dir`` and a divergence guard that stops training on a
      NaN or infinite loss, naming the update and the last good checkpoint.

Subclasses implement:
    ``_build_heads()`` -> dict of extra modules (``{"actor": ..., "critic": ...}``),
    ``_action_scores(features)`` -> ``[B, nA]`` scores whose argmax is the greedy action,
    ``_sample_action(scores, mask)`` for exploring actions, and ``train``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
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
    EpisodeCallback,
    HyperparameterError,
    TrainingDiverged,
    answers_per_episode,
    episode_record,
    mean_ci95,
    space_to_json,
)

VALID_DEVICES = ("auto", "cpu", "cuda")
VALID_NETS = ("mlp", "cnn", "rnn", "lstm", "gru", "transformer")
WEIGHTS_FILE = "weights.safetensors"
State = tuple[torch.Tensor, ...]


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cpu"``; ``"cuda"`` (or ``"cuda:N"``)."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise HyperparameterError(
            f"device={device!r} is not valid; use one of: {', '.join(VALID_DEVICES)}"
        )
    name = device.strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise HyperparameterError(
                "CUDA is not available on this machine; use device=cpu or auto"
            )
        try:
            return torch.device(name)
        except RuntimeError as exc:
            raise HyperparameterError(f"device={device!r} is not valid: {exc}") from exc
    raise HyperparameterError(
        f"device={device!r} is not valid; use one of: {', '.join(VALID_DEVICES)}"
    )


def check_range(
    hp: Mapping[str, Any],
    key: str,
    low: float,
    high: float,
    *,
    integer: bool = False,
    low_open: bool = False,
) -> None:
    """Raise :class:`HyperparameterError` unless ``low <= hp[key] <= high`` (``<`` if open)."""
    value = hp[key]
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or (not integer and not math.isfinite(value)):
        raise HyperparameterError(
            f"{key}={value!r} must be {kind} in {_interval(low, high, low_open)}"
        )
    if value < low or value > high or (low_open and value == low):
        raise HyperparameterError(
            f"{key}={value!r} is out of range; valid: {_interval(low, high, low_open)}"
        )


def _interval(low: float, high: float, low_open: bool) -> str:
    high_text = "inf" if math.isinf(high) else f"{high:g}"
    return f"{'(' if low_open else '['}{low:g}, {high_text}]"


def make_train_envs(env: gym.Env, num_envs: int) -> gym.vector.VectorEnv:
    """``num_envs`` copies of ``env`` as one vector env in ``SAME_STEP`` autoreset mode.

    Uses the env's native batched implementation (its spec's vector entry point) when it has
    one, else Gymnasium's ``SyncVectorEnv``. In ``SAME_STEP`` mode a finished env is reset in
    the same ``step`` call and its last observation is in ``infos["final_obs"]``.
    """
    same_step = gym.vector.AutoresetMode.SAME_STEP
    spec = getattr(env, "spec", None) or getattr(env.unwrapped, "spec", None)
    if spec is None:
        if num_envs != 1:
            raise ValueError(
                "deep agents build their training envs from env.spec; make the env with "
                "gym.make(...) or train with num_envs=1"
            )
        return gym.vector.SyncVectorEnv([lambda: env], autoreset_mode=same_step)
    kwargs = {k: v for k, v in (spec.kwargs or {}).items() if k != "render_mode"}
    if spec.vector_entry_point is not None:
        try:
            envs = gym.make_vec(
                spec.id,
                num_envs=num_envs,
                vectorization_mode="vector_entry_point",
                autoreset_mode=same_step,
                **kwargs,
            )
        except (TypeError, ImportError, AttributeError):
            # a native vector env that does not take autoreset_mode, or cannot be imported
            envs = None
        if envs is not None:
            if envs.metadata.get("autoreset_mode") == same_step:
                return envs
            envs.close()
    return gym.make_vec(
        spec.id,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": same_step},
        **kwargs,
    )


def stack_final_obs(final_obs: Any, rows: np.ndarray) -> np.ndarray:
    """The final observations of ``rows`` from ``infos["final_obs"]`` as one array."""
    return np.stack([np.asarray(final_obs[i]) for i in rows])


class ScalarLogger:
    """TensorBoard scalars under ``folder`` (``torch.utils.tensorboard`` imported lazily)."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self._writer = None

    def log(self, scalars: Mapping[str, float], step: int) -> None:
        """Write ``{tag: value}`` at x = ``step`` (env steps); a no-op without a folder."""
        if self.folder is None:
            return
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.folder))
        for tag, value in scalars.items():
            if value is not None and math.isfinite(float(value)):
                self._writer.add_scalar(tag, float(value), step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()
            self._writer = None


class EpisodeTracker:
    """Running return and length of every env in a vector env; emits the episode records.

    ``step(rewards, dones, env_steps)`` after each vector step sends a record for each finished
    episode to ``callback`` and into ``records``; at most ``max_episodes`` records are made.
    ``stop`` turns true when the callback returns ``False`` or ``max_episodes`` is reached.
    """

    def __init__(
        self,
        num_envs: int,
        answers: int | None,
        callback: EpisodeCallback | None,
        max_episodes: int | None = None,
        first_episode: int = 0,
    ):
        self.returns = np.zeros(num_envs)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.answers, self.callback, self.max_episodes = answers, callback, max_episodes
        self.records: list[dict[str, Any]] = []
        self.first_episode = first_episode
        self.stop = False
        self.t0 = time.perf_counter()

    def step(self, rewards: np.ndarray, dones: np.ndarray, env_steps: int) -> None:
        self.returns += rewards
        self.lengths += 1
        for i in np.flatnonzero(dones):
            if self.max_episodes is None or len(self.records) < self.max_episodes:
                record = episode_record(
                    self.first_episode + len(self.records),
                    self.returns[i],
                    self.lengths[i],
                    env_steps,
                    self.t0,
                    self.answers,
                )
                self.records.append(record)
                if self.callback is not None and self.callback(record) is False:
                    self.stop = True
            self.returns[i] = 0.0
            self.lengths[i] = 0
        if self.max_episodes is not None and len(self.records) >= self.max_episodes:
            self.stop = True

    def recent_return(self, count: int = 100) -> float | None:
        """Mean return of the last ``count`` finished episodes (``None`` before the first)."""
        if not self.records:
            return None
        return float(np.mean([r["return"] for r in self.records[-count:]]))


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

    defaults: ClassVar[dict[str, Any]] = {
        "net": "mlp",
        "hidden_size": 64,
        "net_kwargs": {},
        "lr": 3e-4,
        "gamma": 0.99,
        "num_envs": 16,
        "max_grad_norm": 0.5,
        "device": "auto",
        "checkpoint_every": 20,
    }
    default_budget: ClassVar[dict[str, int]] = {"steps": 200_000}

    @classmethod
    def check_hyperparameters(cls, hp: dict[str, Any]) -> None:
        if hp["net"] not in VALID_NETS:
            raise HyperparameterError(
                f"net={hp['net']!r} is not a backbone; use one of: {', '.join(VALID_NETS)}"
            )
        if not isinstance(hp["net_kwargs"], dict):
            raise HyperparameterError(
                f'net_kwargs={hp["net_kwargs"]!r} must be a JSON object such as {{"layers": 2}}'
            )
        check_range(hp, "hidden_size", 1, 65536, integer=True)
        check_range(hp, "lr", 0.0, math.inf, low_open=True)
        check_range(hp, "gamma", 0.0, 1.0)
        check_range(hp, "num_envs", 1, 65536, integer=True)
        check_range(hp, "max_grad_norm", 0.0, math.inf, low_open=True)
        check_range(hp, "checkpoint_every", 1, 10**9, integer=True)
        resolve_device(hp["device"])  # raises a clear error early

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        super().__init__(env, seed=seed, **hyperparameters)
        if not isinstance(self.action_space, gym.spaces.Discrete):
            raise HyperparameterError(
                f"agent '{self.name}' needs a Discrete action space, but this env has "
                f"{self.action_space}; pick an env with discrete actions"
            )
        self.device = resolve_device(self.hp["device"])
        self.n_actions = int(self.action_space.n)
        self.action_start = int(self.action_space.start)
        # every torch draw goes through generators seeded from `seed`
        torch_seed = int(self.rng.integers(2**62))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed)
            self.backbone = self._make_backbone().to(self.device)
            self.heads = nn.ModuleDict(self._build_heads()).to(self.device)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(torch_seed + 1)
        self.cpu_generator = torch.Generator().manual_seed(torch_seed + 2)  # minibatch order
        self.logger = ScalarLogger(None)
        self.updates = 0
        self.env_steps = 0
        self.last_good_checkpoint: Path | None = None
        self._act_state: State | None = None

    # ----- networks -------------------------------------------------------------------------

    def _make_backbone(self) -> nn.Module:
        from lecture_rl.nets import make_backbone

        try:
            return make_backbone(
                self.hp["net"],
                self.observation_space,
                hidden_size=self.hp["hidden_size"],
                **self.hp["net_kwargs"],
            )
        except TypeError as exc:
            raise HyperparameterError(
                f"net_kwargs={self.hp['net_kwargs']!r} does not fit backbone "
                f"'{self.hp['net']}': {exc}"
            ) from exc

    def _build_heads(self) -> dict[str, nn.Module]:
        """The modules on top of the backbone (subclasses override)."""
        return {}

    @property
    def is_recurrent(self) -> bool:
        return bool(getattr(self.backbone, "is_recurrent", False))

    def modules_to_save(self) -> dict[str, nn.Module]:
        """Every module whose weights go into the checkpoint, by name."""
        return {"backbone": self.backbone, **dict(self.heads.items())}

    def parameters(self) -> list[nn.Parameter]:
        """All trainable parameters (backbone and heads)."""
        return list(self.backbone.parameters()) + list(self.heads.parameters())

    def obs_tensor(self, obs: Any) -> torch.Tensor:
        """Observations as the backbone takes them: integer ids for Discrete, raw arrays else."""
        if isinstance(self.observation_space, gym.spaces.Discrete):
            return torch.as_tensor(np.asarray(obs, dtype=np.int64), device=self.device)
        return torch.as_tensor(np.asarray(obs), device=self.device)

    def _action_scores(self, features: torch.Tensor) -> torch.Tensor:
        """``[B, nA]`` scores whose argmax is the greedy action (logits or Q-values)."""
        raise NotImplementedError

    def _sample_action(self, scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Exploring actions ``[B]`` for scores ``[B, nA]`` (default: sample softmax(scores))."""
        if mask is not None:
            scores = scores.masked_fill(~mask, -1e9)
        return sample_categorical(scores, self.generator)

    # ----- acting one step at a time ----------------------------------------------------------

    def reset(self) -> None:
        """Start of a new episode: forget the recurrent state."""
        self._act_state = None

    @torch.no_grad()
    def act(self, obs: Any, info: Mapping[str, Any] | None = None, *, greedy: bool = True) -> int:
        """The action for one observation; the recurrent state is kept until :meth:`reset`."""
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
            action = scores.argmax(dim=-1)
        else:
            action = self._sample_action(scores, mask)
        return int(action.item()) + self.action_start

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
        mean, std, ci = mean_ci95(returns)
        result: dict[str, Any] = {
            "return_mean": mean,
            "return_std": std,
            "ci95": [ci[0], ci[1]],
            "n": episodes,
            "episodes": episodes,
            "length_mean": float(np.mean(lengths)),
        }
        answers = answers_per_episode(env)
        if answers:
            result["accuracy"] = float(np.sum(returns) / (answers * episodes))
        return result

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
            actions = scores.argmax(dim=-1).cpu().numpy() + self.action_start
            obs, rewards, terminated, truncated, infos = venv.step(actions)
            returns += np.where(running, rewards, 0.0)
            lengths += running
            running &= ~(terminated | truncated)
            if not running.any():
                break
        return returns, lengths

    # ----- training helpers -----------------------------------------------------------------

    def _start_training(self) -> None:
        """Point the logger at ``log_dir`` (called at the start of ``train``)."""
        self.logger.close()
        folder = None if self.log_dir is None else Path(self.log_dir) / "tensorboard"
        self.logger = ScalarLogger(folder)

    def _finish_training(self) -> None:
        self.logger.close()

    def training_budget(
        self, episodes: int | None, steps: int | None
    ) -> tuple[int | None, int | None]:
        """``(episodes, steps)`` to train for; the class's ``default_budget`` when both are None."""
        for label, value in (("episodes", episodes), ("steps", steps)):
            if value is not None and (isinstance(value, bool) or int(value) != value or value < 1):
                raise ValueError(f"{label}={value!r} must be a positive integer")
        if episodes is None and steps is None:
            episodes = self.default_budget.get("episodes")
            steps = self.default_budget.get("steps")
        return episodes, steps

    def guard(self, loss: torch.Tensor, what: str = "loss") -> None:
        """Divergence guard: raise :class:`TrainingDiverged` when ``loss`` is NaN or infinite."""
        value = float(loss.detach())
        if math.isfinite(value):
            return
        if self.last_good_checkpoint is not None:
            where = f"the last good checkpoint is {self.last_good_checkpoint}"
        else:
            where = "no good checkpoint was saved (set log_dir / --out to keep one)"
        raise TrainingDiverged(
            f"training diverged at update {self.updates + 1}: the {what} became {value}; "
            f"{where}. Lower lr (now {self.hp['lr']:g}) or max_grad_norm and train again"
        )

    def _after_update(self) -> None:
        """Count the update; every ``checkpoint_every`` updates save ``log_dir/last_good``."""
        self.updates += 1
        if self.log_dir is not None and self.updates % self.hp["checkpoint_every"] == 0:
            self.last_good_checkpoint = self.save(Path(self.log_dir) / "last_good")

    # ----- checkpoints ----------------------------------------------------------------------

    def _save_state(self, folder: Path) -> dict[str, Any]:
        from safetensors.torch import save_file

        tensors = {
            f"{module_name}.{key}": value.detach().to("cpu").contiguous().clone()
            for module_name, module in self.modules_to_save().items()
            for key, value in module.state_dict().items()
        }
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{WEIGHTS_FILE}.", suffix=".tmp")
        os.close(fd)
        try:
            save_file(tensors, tmp, metadata={"agent": self.name, "net": self.hp["net"]})
            os.replace(tmp, folder / WEIGHTS_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return {
            "weights": WEIGHTS_FILE,
            "backbone": self.hp["net"],
            "modules": sorted(self.modules_to_save()),
            "updates": self.updates,
            "env_steps": self.env_steps,
        }

    @classmethod
    def from_checkpoint(cls, folder: Path, meta: dict[str, Any], env: gym.Env) -> Agent:
        """As the base, but the spaces are checked before the networks are built (so a wrong
        env gets the spaces message, not a weight-shape one), and a checkpoint trained on a GPU
        also loads on a machine without one."""
        for label, space in (("observation", env.observation_space), ("action", env.action_space)):
            saved = meta.get(f"{label}_space")
            if saved is not None and saved != space_to_json(space):
                raise CheckpointError(
                    f"the agent was trained on {meta.get('env_id') or 'another env'} with "
                    f"{label} space {_space_text(saved)}, but this env has {space}; evaluate on "
                    "an env with the same spaces"
                )
        hp = dict(meta.get("hyperparameters", {}))
        if str(hp.get("device", "auto")).startswith("cuda") and not torch.cuda.is_available():
            meta = {**meta, "hyperparameters": {**hp, "device": "cpu"}}
        return super().from_checkpoint(folder, meta, env)

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = folder / meta.get("weights", WEIGHTS_FILE)
        if not path.is_file():
            raise CheckpointError(f"checkpoint {folder} has no {path.name}")
        try:
            tensors = load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"checkpoint file {path} is corrupt: {exc}") from exc
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


def _space_text(saved: dict[str, Any]) -> str:
    """A short text for a space saved by ``space_to_json`` (``Discrete(2)``, ``Box(...)``)."""
    if saved.get("type") == "Discrete":
        start = saved.get("start", 0)
        return f"Discrete({saved['n']})" if not start else f"Discrete({saved['n']}, start={start})"
    if saved.get("type") == "Box":
        shape = tuple(saved.get("shape", ()))
        return f"Box({saved.get('low')}, {saved.get('high')}, {shape}, {saved.get('dtype')})"
    return json.dumps(saved)


def sample_categorical(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Draw ``a ~ softmax(logits)`` per row with the Gumbel-max trick and a seeded generator."""
    uniform = torch.rand(logits.shape, generator=generator, device=logits.device)
    gumbel = -torch.log(-torch.log(uniform.clamp_(min=1e-20)))
    return (logits + gumbel).argmax(dim=-1)
