"""stable-baselines3 algorithms as lecture-rl agents, so `compare` can put them beside ours.

Description:
    `agent_class("sb3:PPO")` (or `sb3:DQN`, `sb3:A2C`, `sb3-contrib:RecurrentPPO`,
    `sb3-contrib:MaskablePPO`, or any other algorithm class of those two packages by its name)
    returns a subclass of
    `SB3Agent`. It trains with the algorithm's own `model.learn`, reports each finished
    episode to our callback, acts with `model.predict` (keeping an LSTM's state between steps;
    `MaskablePPO` trains on the env's `action_masks()` and acts on `info["action_mask"]`)
    and is evaluated greedily by the same code as every other agent.

Hyperparameters:
    Every constructor argument of the algorithm whose value fits in JSON (`learning_rate`,
    `gamma`, `n_steps`, `batch_size`, `policy_kwargs`, ...), with the algorithm's own
    defaults, plus `policy` (`"auto"` picks `MlpPolicy`, `CnnPolicy` for images,
    `MlpLstmPolicy`/`CnnLstmPolicy` for RecurrentPPO), `num_envs` (parallel training envs,
    default 1) and `device` (`auto`/`cpu`/`cuda`). In `policy_kwargs` an
    `activation_fn` may be named by string (`"ReLU"`, `"Tanh"`).

Checkpoints:
    `weights.safetensors` (the policy's `state_dict`) plus `agent.json`. Loading rebuilds
    the model from the env's spaces and the hyperparameters and copies the weights in; SB3's own
    zip format (which unpickles on `load`) is never used.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from lecture_rl.agents.base import Agent, CheckpointError, HyperparameterError, TrainingRun
from lecture_rl.agents.events import Transition
from lecture_rl.agents.hyperparameters import Param

PACKAGES = {"sb3": "stable_baselines3", "sb3-contrib": "sb3_contrib"}
WEIGHTS_FILE = "weights.safetensors"
# constructor arguments the adapter sets itself, or whose values are classes/objects (not JSON)
_NOT_HYPERPARAMETERS = {
    "self",
    "policy",
    "env",
    "seed",
    "tensorboard_log",
    "_init_setup_model",
    "replay_buffer_class",
    "rollout_buffer_class",
    "action_noise",
}
_ADAPTER_DEFAULTS: dict[str, Any] = {"policy": "auto", "num_envs": 1}
_CLASS_CACHE: dict[str, type[SB3Agent]] = {}


def _algorithm_class(name: str) -> type:
    """The SB3 algorithm class for `sb3:ALGO` / `sb3-contrib:ALGO`; clear errors otherwise."""
    prefix, sep, algo = name.partition(":")
    if not sep or prefix not in PACKAGES or not algo:
        raise KeyError(
            f"'{name}' is not a stable-baselines3 agent name; write sb3:ALGO or sb3-contrib:ALGO, "
            "e.g. sb3:PPO, sb3:DQN, sb3:A2C, sb3-contrib:RecurrentPPO"
        )
    try:
        module = importlib.import_module(PACKAGES[prefix])
    except ImportError as exc:
        if prefix == "sb3-contrib":
            raise KeyError(
                f"agent '{name}' needs sb3-contrib, which is not installed; "
                'install it with: pip install "lecture-rl[contrib]"'
            ) from exc
        raise KeyError(
            f"agent '{name}' needs stable-baselines3, which is not installed; "
            "install it with: pip install stable-baselines3"
        ) from exc
    from stable_baselines3.common.base_class import BaseAlgorithm

    available = sorted(
        attr
        for attr in dir(module)
        if isinstance(getattr(module, attr), type)
        and issubclass(getattr(module, attr), BaseAlgorithm)
    )
    if algo not in available:
        import difflib

        close = difflib.get_close_matches(algo, available, n=1)
        hint = f" (did you mean '{prefix}:{close[0]}'?)" if close else ""
        raise KeyError(
            f"unknown algorithm '{algo}' in {PACKAGES[prefix]}{hint}; choose one of: "
            + ", ".join(f"{prefix}:{a}" for a in available)
        )
    return getattr(module, algo)


def _json_defaults(algo_class: type) -> dict[str, Any]:
    """The algorithm's constructor arguments with JSON-serialisable defaults."""
    defaults: dict[str, Any] = dict(_ADAPTER_DEFAULTS)
    for param in inspect.signature(algo_class.__init__).parameters.values():
        if param.name in _NOT_HYPERPARAMETERS or param.kind is not param.POSITIONAL_OR_KEYWORD:
            continue
        value = param.default
        if value is inspect.Parameter.empty:
            continue
        try:
            json.dumps(value)
        except TypeError:
            continue
        defaults[param.name] = value
    defaults.setdefault("device", "auto")
    return defaults


def _is_image_space(space: gym.Space) -> bool:
    from stable_baselines3.common.preprocessing import is_image_space

    return isinstance(space, gym.spaces.Box) and is_image_space(space, check_channels=False)


class _SpacesOnly(gym.Env):
    """An env that only carries spaces: SB3 models need one to be built, never stepped."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space):
        self.observation_space = observation_space
        self.action_space = action_space

    def reset(self, *, seed=None, options=None):  # pragma: no cover - never stepped
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):  # pragma: no cover - never stepped
        raise RuntimeError("this placeholder env only carries spaces")


class SB3Agent(Agent):
    """A stable-baselines3 algorithm behind the lecture-rl agent protocol.

    Use `for_name` (or `lecture_rl.agents.make("sb3:PPO", env)`) to get the subclass of
    one algorithm; this base class is not built directly.
    """

    algorithm: ClassVar[type | None] = None
    default_budget: ClassVar[dict[str, int]] = {"steps": 50_000}

    @classmethod
    def for_name(cls, name: str) -> type[SB3Agent]:
        """The agent class for `sb3:ALGO` or `sb3-contrib:ALGO` (unknown: `KeyError`)."""
        if name not in _CLASS_CACHE:
            algo_class = _algorithm_class(name)
            subclass = type(
                f"SB3{algo_class.__name__}Agent",
                (cls,),
                {
                    "name": name,
                    "algorithm": algo_class,
                    "params": {
                        key: Param(value, f"{algo_class.__name__} argument", kind="any")
                        for key, value in _json_defaults(algo_class).items()
                    },
                    "__doc__": f"stable-baselines3 `{algo_class.__name__}` as agent '{name}'.",
                },
            )
            _CLASS_CACHE[name] = subclass
        return _CLASS_CACHE[name]

    @classmethod
    def check_hyperparameters(cls, hp: dict[str, Any]) -> None:
        if cls.algorithm is None:
            raise HyperparameterError("build SB3 agents with SB3Agent.for_name('sb3:PPO') etc.")
        num_envs = hp.get("num_envs")
        if not isinstance(num_envs, int) or isinstance(num_envs, bool) or num_envs < 1:
            raise HyperparameterError(f"num_envs={num_envs!r} must be an integer >= 1")
        policy = hp.get("policy")
        aliases = list(getattr(cls.algorithm, "policy_aliases", {}))
        if policy != "auto" and policy not in aliases:
            raise HyperparameterError(
                f"policy={policy!r} is not a policy of {cls.name}; use 'auto' or one of: "
                + ", ".join(aliases)
            )
        if hp.get("device") not in ("auto", "cpu", "cuda") and not str(hp.get("device")).startswith(
            "cuda:"
        ):
            raise HyperparameterError(
                f"device={hp.get('device')!r} is not valid; use auto, cpu or cuda"
            )
        learning_rate = hp.get("learning_rate")
        if isinstance(learning_rate, (int, float)) and not learning_rate > 0:
            raise HyperparameterError(f"learning_rate={learning_rate!r} must be > 0")
        gamma = hp.get("gamma")
        if isinstance(gamma, (int, float)) and not 0.0 <= gamma <= 1.0:
            raise HyperparameterError(f"gamma={gamma!r} must be in [0, 1]")

    # ----- construction ---------------------------------------------------------------------

    def __init__(self, env: gym.Env, *, seed: int | None = None, **hyperparameters: Any):
        super().__init__(env, seed=seed, **hyperparameters)
        if self.hp["device"] == "cuda" or str(self.hp["device"]).startswith("cuda:"):
            import torch

            if not torch.cuda.is_available():
                raise HyperparameterError(
                    "CUDA is not available on this machine; use device=cpu or auto"
                )
        self.policy_name = self._choose_policy()
        self.model = self._build_model()
        self._train_vec_env: Any = None
        self._train_env_key: Any = None
        self._recurrent_state: Any = None
        self._episode_start = np.ones((1,), dtype=bool)

    @property
    def is_maskable(self) -> bool:
        """`MaskablePPO`: acting honours `info["action_mask"]`; training reads the env's
        `action_masks()` (sb3-contrib's convention)."""
        return "action_masks" in inspect.signature(self.model.predict).parameters

    @property
    def is_recurrent(self) -> bool:
        return "Lstm" in self.policy_name

    def _choose_policy(self) -> str:
        policy = self.hp["policy"]
        if policy != "auto":
            return policy
        aliases = list(getattr(self.algorithm, "policy_aliases", {}))
        recurrent = any("Lstm" in alias for alias in aliases)
        if isinstance(self.observation_space, gym.spaces.Dict):
            kind = "MultiInput"
        elif _is_image_space(self.observation_space):
            kind = "Cnn"
        else:
            kind = "Mlp"
        wanted = f"{kind}LstmPolicy" if recurrent else f"{kind}Policy"
        if wanted not in aliases:
            raise HyperparameterError(
                f"{self.name} has no {wanted} for observation space {self.observation_space}; "
                f"set policy= one of: {', '.join(aliases)}"
            )
        return wanted

    def _constructor_kwargs(self) -> dict[str, Any]:
        kwargs = {k: v for k, v in self.hp.items() if k not in _ADAPTER_DEFAULTS}
        policy_kwargs = kwargs.get("policy_kwargs")
        if isinstance(policy_kwargs, dict) and isinstance(policy_kwargs.get("activation_fn"), str):
            import torch

            name = policy_kwargs["activation_fn"]
            activation = getattr(torch.nn, name, None)
            if not (isinstance(activation, type) and issubclass(activation, torch.nn.Module)):
                raise HyperparameterError(
                    f"policy_kwargs.activation_fn={name!r} is not a torch.nn activation; "
                    "use e.g. 'ReLU' or 'Tanh'"
                )
            kwargs["policy_kwargs"] = {**policy_kwargs, "activation_fn": activation}
        if isinstance(kwargs.get("train_freq"), list):
            kwargs["train_freq"] = tuple(kwargs["train_freq"])
        return kwargs

    def _build_model(self) -> Any:
        from stable_baselines3.common.vec_env import DummyVecEnv

        spaces = _SpacesOnly(self.observation_space, self.action_space)
        placeholder = DummyVecEnv([lambda: spaces] * self.hp["num_envs"])
        try:
            return self.algorithm(
                self.policy_name, placeholder, seed=self.seed, **self._constructor_kwargs()
            )
        except (AssertionError, ValueError, TypeError) as exc:
            raise HyperparameterError(
                f"{self.name} cannot be built for observation space {self.observation_space} "
                f"and action space {self.action_space} with these settings: {exc}"
            ) from exc

    # ----- training -------------------------------------------------------------------------

    def _make_vec_env(self, env: gym.Env) -> Any:
        """SB3 vector env of `num_envs` copies of `env` (from its spec), each in a Monitor."""
        from stable_baselines3.common.env_util import make_vec_env
        from stable_baselines3.common.monitor import Monitor
        from stable_baselines3.common.vec_env import DummyVecEnv

        spec = env.spec or getattr(env.unwrapped, "spec", None)
        if spec is None:
            if self.hp["num_envs"] != 1:
                raise HyperparameterError(
                    f"num_envs={self.hp['num_envs']} needs an env registered with Gymnasium "
                    "(env.spec is None); register it or use num_envs=1"
                )
            vec_env = DummyVecEnv([lambda: Monitor(env)])
        else:
            kwargs = {k: v for k, v in (spec.kwargs or {}).items() if k != "render_mode"}

            def make_one() -> gym.Env:
                return gym.make(spec.id, max_episode_steps=spec.max_episode_steps, **kwargs)

            vec_env = make_vec_env(make_one, n_envs=self.hp["num_envs"], seed=self.seed)
        return vec_env

    def _learn(self, env: gym.Env, run: TrainingRun) -> None:
        """Run `model.learn` until `run.done`: SB3's callback reports our events."""
        from stable_baselines3.common.callbacks import BaseCallback

        key = (id(env), getattr(env.spec, "id", None))
        if self._train_vec_env is None or self._train_env_key != key:
            if self._train_vec_env is not None:
                self._train_vec_env.close()
            self._train_vec_env = self._make_vec_env(env)
            self._train_env_key = key
            self.model.set_env(self._train_vec_env)  # forces a reset of the new envs
        if self.log_dir is not None:
            self.model.tensorboard_log = str(Path(self.log_dir) / "tensorboard")
        steps_before = self.model.num_timesteps
        want_transitions = run.wants(Transition)
        budget = run.budget
        if budget.episodes == 0 or budget.steps == 0:
            return

        class _Reporter(BaseCallback):
            """Turns SB3's steps and Monitor episode infos into our events."""

            def _on_step(self) -> bool:
                run.env_steps = int(self.num_timesteps - steps_before)
                infos = self.locals.get("infos", ())
                if want_transitions:
                    self._transitions(infos)
                for info in infos:
                    episode = info.get("episode")
                    if episode is not None:
                        run.episode_end(episode["r"], episode["l"])
                return not run.done

            def _transitions(self, infos: Any) -> None:
                actions = np.asarray(self.locals.get("actions", ()))
                rewards = np.asarray(self.locals.get("rewards", ()))
                dones = np.asarray(self.locals.get("dones", ()))
                new_obs = self.locals.get("new_obs")
                for i, info in enumerate(infos):
                    run.emit(
                        Transition(
                            None, actions[i], float(rewards[i]),
                            None if new_obs is None else np.asarray(new_obs)[i],
                            bool(dones[i]) and not info.get("TimeLimit.truncated", False),
                            bool(info.get("TimeLimit.truncated", False)), None,
                            run.episodes_done, 0, run.env_steps, i, info,
                        )
                    )  # fmt: skip

        if budget.steps is not None:
            total = budget.steps
        else:
            # schedules (ε, learning rate) are spread over total_timesteps: estimate it
            per_episode = (env.spec.max_episode_steps if env.spec else None) or run.answers or 200
            total = budget.episodes * int(per_episode)
        self.model.learn(
            total_timesteps=total,
            callback=_Reporter(),
            reset_num_timesteps=False,  # a second train() call continues the first
            tb_log_name=self.name.replace(":", "_"),
        )
        run.env_steps = int(self.model.num_timesteps - steps_before)

    # ----- acting ---------------------------------------------------------------------------

    def reset(self) -> None:
        """A new episode: an LSTM policy forgets its state."""
        self._recurrent_state = None
        self._episode_start = np.ones((1,), dtype=bool)

    def act(self, obs: Any, info: Any = None, *, greedy: bool = True) -> Any:
        """`model.predict` for one observation; an LSTM's state is kept until `reset`."""
        if self.is_recurrent:
            action, self._recurrent_state = self.model.predict(
                obs,
                state=self._recurrent_state,
                episode_start=self._episode_start,
                deterministic=greedy,
            )
            self._episode_start = np.zeros((1,), dtype=bool)
        else:
            masks = {}
            if self.is_maskable and isinstance(info, dict) and info.get("action_mask") is not None:
                masks["action_masks"] = np.asarray(info["action_mask"], dtype=bool)  # the env's
            action, _ = self.model.predict(obs, deterministic=greedy, **masks)
        if isinstance(self.action_space, gym.spaces.Discrete):
            return int(np.asarray(action).reshape(-1)[0])
        return action

    # ----- checkpoints ----------------------------------------------------------------------

    def _save_state(self, folder: Path) -> dict[str, Any]:
        from safetensors.torch import save_file

        state = {
            key: tensor.detach().cpu().contiguous().clone()
            for key, tensor in self.model.policy.state_dict().items()
        }
        save_file(state, str(folder / WEIGHTS_FILE))
        return {"sb3": {"policy": self.policy_name, "num_timesteps": int(self.model.num_timesteps)}}

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = folder / WEIGHTS_FILE
        if not path.is_file():
            raise CheckpointError(f"checkpoint {folder} has no {WEIGHTS_FILE}")
        try:
            state = load_file(str(path), device=str(self.model.device))
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"checkpoint file {path} is corrupt: {exc}") from exc
        try:
            self.model.policy.load_state_dict(state)
        except RuntimeError as exc:
            raise CheckpointError(
                f"checkpoint {folder} does not fit {self.name} with these hyperparameters: {exc}"
            ) from exc
        self.model.num_timesteps = int(meta.get("sb3", {}).get("num_timesteps", 0))
