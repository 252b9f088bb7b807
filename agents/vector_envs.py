"""The batched training envs of the deep agents and the per-env episode bookkeeping."""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from lecture_rl.agents.base import TrainingRun
from lecture_rl.agents.events import PolicyStep, Transition
from lecture_rl.agents.hyperparameters import Param
from lecture_rl.agents.training_profile import to_host
from lecture_rl.envs.table_vector import TableVectorEnv, is_table_env
from lecture_rl.envs.torch_vector import has_torch_vector_env, make_torch_vector_env

#: the `torch_envs` hyperparameter of the agents that can train on torch batched envs
TORCH_ENVS_PARAM = Param(
    "auto",
    "train on the env's torch batched version on the agent's device (Parity, Copy, GridWorld): "
    "auto = when the device is cuda, true = also on cpu, false = the numpy envs",
    choices=("auto", True, False),
)


def env_spec(env: gym.Env) -> Any:
    """The env's registration spec (`None` for an env not made with `gym.make`)."""
    return getattr(env, "spec", None) or getattr(env.unwrapped, "spec", None)


def use_torch_envs(setting: str | bool, device: torch.device, env: gym.Env, run: Any) -> bool:
    """Whether to train on torch batched envs (`lecture_rl.envs.torch_vector`).

    `setting` is the `torch_envs` hyperparameter: `"auto"` uses them on a CUDA device,
    `True` on any device, `False` never. Only envs with a torch version qualify, and not
    while a subscriber wants per-step events (the live viewer reads numpy observations).
    """
    spec = env_spec(env)
    wanted = device.type == "cuda" if setting == "auto" else bool(setting)
    if not wanted or spec is None or not has_torch_vector_env(spec.id):
        return False
    return run is None or not (run.wants(Transition) or run.wants(PolicyStep))


def make_train_envs(
    env: gym.Env, num_envs: int, device: torch.device | None = None
) -> gym.vector.VectorEnv:
    """`num_envs` copies of `env` as one vector env in `SAME_STEP` autoreset mode.

    With a `device`, the env's torch batched version on that device
    (`make_torch_vector_env`: tensors in and out). Else the
    env's native batched implementation (its spec's vector entry point) when it has
    one, numpy copies of Gymnasium's table-driven toy-text envs (FrozenLake, CliffWalking:
    `TableVectorEnv`), else Gymnasium's
    `SyncVectorEnv` (with the wrappers named in `env.spec.additional_wrappers`, so an env
    adapted by `lecture_rl.envs.adapters.adapt` trains as adapted). An `env` made with
    a `render_mode` (the live viewer's) is itself copy 0 of a `SyncVectorEnv`, borrowed:
    what it draws is what the agent's first copy does, and closing the vector env leaves it
    open. In `SAME_STEP`
    mode a finished env is reset in the same `step` call and its last observation is in
    `infos["final_obs"]`.
    """
    same_step = gym.vector.AutoresetMode.SAME_STEP
    spec = env_spec(env)
    if device is None and getattr(env, "render_mode", None) is not None and spec is not None:
        return _drawn_first_copy(env, num_envs, spec, same_step)
    if device is not None and spec is not None:
        kwargs = {k: v for k, v in (spec.kwargs or {}).items() if k != "render_mode"}
        torch_envs = make_torch_vector_env(spec.id, num_envs, device, same_step, **kwargs)
        torch_envs.check_action_range = False  # sampled from the action space's logits
        return torch_envs
    if spec is None:
        if num_envs != 1:
            raise ValueError(
                "deep agents build their training envs from env.spec; make the env with "
                "gym.make(...) or train with num_envs=1"
            )
        return gym.vector.SyncVectorEnv([lambda: env], autoreset_mode=same_step)
    if spec.vector_entry_point is None and is_table_env(env):
        return TableVectorEnv(env, num_envs, autoreset_mode=same_step)
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
    if spec.additional_wrappers:  # an adapted env (envs/adapters.py): rebuild its wrappers
        spec = copy.copy(spec)
        spec.kwargs = kwargs
    else:
        spec = spec.id
    return gym.make_vec(
        spec,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": same_step},
        **kwargs,
    )


class _Borrowed(gym.Wrapper):
    """The caller's env as copy 0 of a vector env: the vector env's `close` leaves it open
    (its owner closes it)."""

    def close(self) -> None:
        pass


def _drawn_first_copy(
    env: gym.Env, num_envs: int, spec: Any, mode: gym.vector.AutoresetMode
) -> gym.vector.VectorEnv:
    """`env` itself as copy 0, `num_envs - 1` fresh copies (no rendering) after it."""
    kwargs = {k: v for k, v in (spec.kwargs or {}).items() if k != "render_mode"}
    rebuilt = copy.copy(spec)
    rebuilt.kwargs = kwargs

    def fresh() -> gym.Env:
        return gym.make(rebuilt)

    makers = [lambda: _Borrowed(env)] + [fresh] * (num_envs - 1)
    return gym.vector.SyncVectorEnv(makers, autoreset_mode=mode)


def stack_final_obs(final_obs: Any, rows: np.ndarray) -> np.ndarray:
    """The final observations of `rows` from `infos["final_obs"]` as one array."""
    return np.stack([np.asarray(final_obs[i]) for i in rows])


class EpisodeCounter:
    """Running return and length of every env in a vector env; reports finished episodes.

    `step(rewards, dones, env_steps)` after each vector step sets `run.env_steps` and
    reports each finished episode with
    [`TrainingRun.episode_end`][lecture_rl.agents.base.TrainingRun.episode_end] (which drops
    episodes past the budget and tells the subscribers).
    """

    def __init__(self, num_envs: int, run: TrainingRun):
        self.returns = np.zeros(num_envs)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.episodes = np.zeros(num_envs, dtype=np.int64)  # finished episodes per env
        self.run = run
        #: whether a subscriber (the live viewer) wants env 0's steps as Transition events
        self.wants_transitions = run.wants(Transition)

    def transition(
        self,
        obs: Any,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: Any,
        terminated: np.ndarray,
        truncated: np.ndarray,
        infos: dict[str, Any],
        infos_before: dict[str, Any],
        explored: bool | None = None,
    ) -> None:
        """Emit env 0's step as a [`Transition`][lecture_rl.agents.events.Transition] (call before
        `step`).

        `next_obs` is the true s' (`infos["final_obs"]` for a finished episode) and
        `info` its step info; where the env reports `info["state"]` (GridWorld), the state
        of `obs` is added as `info["state_before"]`, so a viewer can place an agent that
        sees pixels.
        """
        done = bool(terminated[0] or truncated[0])
        info = env_row(infos, 0)
        if done and "final_obs" in infos:
            next_obs = infos["final_obs"][0]
            info = env_row(infos.get("final_info", {}), 0)
        else:
            next_obs = next_obs[0]
        before = env_row(infos_before, 0)
        if "state" in before:
            info["state_before"] = before["state"]
        action = np.asarray(actions[0])
        action = int(action) if action.ndim == 0 else action  # a Box action stays an array
        self.run.emit(
            Transition(
                obs[0], action, float(rewards[0]), next_obs, bool(terminated[0]),
                bool(truncated[0]), explored, int(self.episodes[0]), int(self.lengths[0]),
                self.run.env_steps, 0, info,
            )
        )  # fmt: skip

    def step(self, rewards: np.ndarray, dones: np.ndarray, env_steps: int) -> None:
        self.returns += rewards
        self.lengths += 1
        self.run.env_steps = int(env_steps)
        for i in np.flatnonzero(dones):
            self.run.episode_end(self.returns[i], self.lengths[i])
            self.returns[i] = 0.0
            self.lengths[i] = 0
            self.episodes[i] += 1


class DeviceEpisodeCounter:
    """`EpisodeCounter` for envs that return tensors: nothing per step on the host and
    nothing per episode in Python.

    `step()` stores each vector step's rewards and ends in one buffer on the device (two
    copies, no host read). `flush()`, once per rollout, copies that buffer to the host in
    one go, adds the rewards up into each finished episode's return and length (numpy, one
    pass over the steps for all envs at once; the running sums of unfinished episodes carry
    over to the next rollout) and reports the episodes as one batch
    (`TrainingRun.episode_batch()`): the order, returns, lengths and `env_steps` that
    `EpisodeCounter` reports one at a time (only their `wall_time` is the flush's).
    """

    def __init__(self, num_envs: int, steps: int, run: TrainingRun, device: torch.device):
        self.num_envs, self.run = num_envs, run
        # [0, t]: the rewards of step t, [1, t]: 1.0 where an episode ended with step t
        self.buffer = torch.zeros((2, steps, num_envs), dtype=torch.float64, device=device)
        self.returns = np.zeros(num_envs)  # the running return and length of each env, host
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.t = 0

    def step(self, rewards: torch.Tensor, dones: torch.Tensor) -> None:
        """After each vector step (tensors on the device)."""
        self.buffer[0, self.t] = rewards
        self.buffer[1, self.t] = dones
        self.t += 1

    def flush(self, env_steps_before: int) -> np.ndarray:
        """Report the episodes that ended since the last flush; `run.env_steps` after them.

        Returns the ends `[steps, num_envs]` (bool, on the host) for the update's plan.
        """
        steps = self.t
        copied = to_host(self.buffer[:, :steps])  # the one wait for the device
        rewards, ends = copied[0], copied[1] > 0
        ended_returns = np.empty_like(rewards)
        ended_lengths = np.empty(rewards.shape, dtype=np.int64)
        returns, lengths = self.returns, self.lengths
        for t in range(steps):  # per step, for all envs at once
            returns += rewards[t]
            lengths += 1
            ended_returns[t], ended_lengths[t] = returns, lengths
            returns[ends[t]] = 0.0
            lengths[ends[t]] = 0
        when, which = np.nonzero(ends)  # by step, then by env: EpisodeCounter's order
        self.run.episode_batch(
            ended_returns[when, which],
            ended_lengths[when, which],
            env_steps_before + (when + 1) * self.num_envs,
        )
        self.run.env_steps = env_steps_before + steps * self.num_envs
        self.t = 0
        return ends


def env_row(infos: dict[str, Any], i: int) -> dict[str, Any]:
    """Env `i`'s entries of a vector env's info dict (the ones its `_key` mask marks)."""
    row = {}
    for key, value in infos.items():
        if key.startswith("_") or key in ("final_obs", "final_info"):
            continue
        mask = infos.get(f"_{key}")
        if mask is not None and not bool(np.asarray(mask)[i]):
            continue
        if isinstance(value, dict):
            row[key] = env_row(value, i)
        else:
            item = np.asarray(value)[i]
            row[key] = item.item() if isinstance(item, np.generic) else item
    return row
