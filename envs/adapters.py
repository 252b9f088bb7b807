"""Adapters that let our agents train on third-party Gymnasium envs (POPGym, Minigrid, ...).

Description:
    Our networks read `Discrete`, `MultiDiscrete`, `MultiBinary` and `Box` observations
    and our deep agents act in a `Discrete` action space. Third-party envs often give a
    `Tuple` (POPGym's Autoencode), a `Dict` with an `image` key (Minigrid) or a
    `MultiDiscrete` action (POPGym's MineSweeper, Battleship). `adapt` wraps such an env
    by name, with one rule (`auto_wrappers`):

    1. a `Dict` observation with an `image` key -> `image` (the key alone, as Minigrid's
       `ImgObsWrapper`);
    2. any other `Tuple` / `Dict` observation -> `flatten` (Gymnasium's
       `FlattenObservation`: one-hot discrete parts, concatenated);
    3. a `MultiDiscrete` action -> `discrete-actions` (one `Discrete` over all
       combinations, as POPGym's `DiscreteAction`).

    The names, for `--env-set wrap=NAME[+NAME...]` (`auto` is the rule, `none` nothing):

    - `image`: `obs["image"]` (a `uint8` HxWxC image; the `cnn` backbone reads it);
    - `categorical-image`: `obs["image"]` as a `MultiDiscrete` of Minigrid's cell codes
      (object < 11, colour < 6, state < 3), which the backbones one-hot: the flattened image
      for `mlp` / `gru` / `lstm` / `transformer`;
    - `flatten`: Gymnasium's `FlattenObservation`;
    - `discrete-actions`: `MultiDiscrete` actions as one `Discrete`;
    - `index`: a `Tuple` of `Discrete` observations as one `Discrete` (the tuple's
      row-major index), so tabular agents read it. Gymnasium's own envs with such
      observations (Blackjack) get it without asking (`index_wanted`).

    Every wrapper records its constructor arguments, so `env.spec.additional_wrappers` names
    them and `gym.make(env.spec)` / `gym.make_vec(env.spec, ...)` rebuild the same stack
    (the deep agents' training copies are made that way).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import RecordConstructorArgs

#: Minigrid's cell codes: `len(OBJECT_TO_IDX)`, `len(COLOR_TO_IDX)`, `len(STATE_TO_IDX)`
MINIGRID_CELL_CODES = (11, 6, 3)


class ImageKey(gym.ObservationWrapper, RecordConstructorArgs):
    """Keep only `obs[key]` of a `Dict` observation (`key="image"`: Minigrid's image).

    Args:
        env: an env whose observation space is a `Dict` holding `key`.
        key: the entry to keep.
        categorical: give the image as `MultiDiscrete(codes)` per cell and channel instead of
            the `uint8` Box (`codes`: the number of values of each channel).
        codes: the number of values of each channel (Minigrid's by default).
    """

    def __init__(
        self,
        env: gym.Env,
        key: str = "image",
        categorical: bool = False,
        codes: tuple[int, ...] = MINIGRID_CELL_CODES,
    ):
        RecordConstructorArgs.__init__(self, key=key, categorical=categorical, codes=codes)
        gym.ObservationWrapper.__init__(self, env)
        space = env.observation_space
        if not isinstance(space, spaces.Dict) or key not in space.spaces:
            raise gym.error.Error(f"ImageKey needs a Dict observation with '{key}', got {space}")
        inner = space.spaces[key]
        self.categorical = categorical
        if categorical:
            shape = inner.shape
            if len(shape) != 3 or shape[-1] != len(codes):
                raise gym.error.Error(
                    f"categorical image needs HxWx{len(codes)} cells, got shape {shape}"
                )
            self.observation_space = spaces.MultiDiscrete(
                np.broadcast_to(np.asarray(codes, dtype=np.int64), shape).reshape(-1)
            )
            self._high = np.asarray(self.observation_space.nvec) - 1
        else:
            self.observation_space = inner
        self.key = key

    def observation(self, observation: dict[str, Any]) -> np.ndarray:
        image = np.asarray(observation[self.key])
        if self.categorical:
            return np.minimum(image.reshape(-1).astype(np.int64), self._high)
        return image


class DiscreteActions(gym.ActionWrapper, RecordConstructorArgs):
    """A `MultiDiscrete(nvec)` action space as one `Discrete(prod(nvec))`.

    Action `a` is the row-major index of the combination: `np.unravel_index(a, nvec)`.
    """

    def __init__(self, env: gym.Env):
        RecordConstructorArgs.__init__(self)
        gym.ActionWrapper.__init__(self, env)
        space = env.action_space
        if not isinstance(space, spaces.MultiDiscrete):
            raise gym.error.Error(f"DiscreteActions needs a MultiDiscrete action, got {space}")
        self.nvec = np.asarray(space.nvec).reshape(-1)
        self.action_space = spaces.Discrete(int(np.prod(self.nvec)))

    def action(self, action: Any) -> np.ndarray:
        return np.asarray(np.unravel_index(int(action), tuple(self.nvec)), dtype=np.int64)


class DiscreteObservations(gym.ObservationWrapper, RecordConstructorArgs):
    """A `Tuple` of `Discrete` observations as one `Discrete(n_1 · n_2 · ...)`.

    Observation `(o_1, o_2, ...)` becomes its row-major index
    `np.ravel_multi_index((o_1 - start_1, ...), (n_1, ...))`, so a tabular agent keeps one
    row per tuple (Blackjack's player sum, dealer card and usable ace: 32 · 11 · 2 = 704 states);
    `state_name` turns an index back into the tuple.
    """

    def __init__(self, env: gym.Env):
        RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        space = env.observation_space
        if not tuple_of_discretes(space):
            raise gym.error.Error(f"index needs a Tuple of Discrete observations, got {space}")
        self.sizes = tuple(int(part.n) for part in space.spaces)
        self.starts = np.array([int(part.start) for part in space.spaces], dtype=np.int64)
        self.observation_space = spaces.Discrete(int(np.prod(self.sizes)))

    def observation(self, observation: Any) -> int:
        parts = np.asarray(observation, dtype=np.int64).reshape(-1) - self.starts
        return int(np.ravel_multi_index(tuple(parts), self.sizes))

    def state_name(self, index: int) -> str:
        """The tuple an index stands for, as text: `"(17, 10, 0)"`."""
        parts = np.unravel_index(int(index), self.sizes) + self.starts
        return "(" + ", ".join(str(int(p)) for p in parts) + ")"


def tuple_of_discretes(space: spaces.Space) -> bool:
    """Whether `space` is a non-empty `Tuple` whose parts are all `Discrete`."""
    return (
        isinstance(space, spaces.Tuple)
        and len(space.spaces) > 0
        and all(isinstance(part, spaces.Discrete) for part in space.spaces)
    )


#: the most states `index_wanted` turns a tuple into (a table row per state)
INDEX_STATES_MAX = 1_000_000


def index_wanted(env: gym.Env) -> bool:
    """Whether a Gymnasium env should get `index` without asking: a `Tuple` of `Discrete`
    observations (Blackjack) of at most `INDEX_STATES_MAX` combinations, which neither
    our networks nor tabular agents read as it is."""
    space = env.observation_space
    if not tuple_of_discretes(space):
        return False
    return int(np.prod([int(part.n) for part in space.spaces])) <= INDEX_STATES_MAX


WRAPPER_NAMES = (
    "auto", "none", "image", "categorical-image", "flatten", "discrete-actions", "index",
)  # fmt: skip


def auto_wrappers(env: gym.Env) -> list[str]:
    """The wrapper names `adapt` applies to `env` under the rule (module docstring)."""
    names = []
    obs = env.observation_space
    if isinstance(obs, spaces.Dict) and "image" in obs.spaces:
        names.append("image")
    elif isinstance(obs, (spaces.Tuple, spaces.Dict)):
        names.append("flatten")
    if isinstance(env.action_space, spaces.MultiDiscrete):
        names.append("discrete-actions")
    return names


def parse_wrap(text: str) -> list[str]:
    """`"image+discrete-actions"` -> `["image", "discrete-actions"]`; raises `ValueError`
    naming the known names for an unknown one."""
    names = [name.strip() for name in str(text).split("+") if name.strip()]
    for name in names:
        if name not in WRAPPER_NAMES:
            raise ValueError(
                f"unknown wrapper '{name}'; known: {', '.join(WRAPPER_NAMES)} (join with '+')"
            )
    return names or ["none"]


def adapt(env: gym.Env, wrap: str = "auto") -> gym.Env:
    """`env` wrapped by the named wrappers (`"auto"`: `auto_wrappers`).

    Raises:
        ValueError: an unknown name.
        gymnasium.error.Error: a wrapper that does not fit the env's spaces.
    """
    names: list[str] = []
    for name in parse_wrap(wrap):
        names.extend(auto_wrappers(env) if name == "auto" else [] if name == "none" else [name])
    for name in names:
        if name == "image":
            env = ImageKey(env)
        elif name == "categorical-image":
            env = ImageKey(env, categorical=True)
        elif name == "flatten":
            try:
                env = gym.wrappers.FlattenObservation(env)
            except (NotImplementedError, TypeError) as exc:
                raise gym.error.Error(
                    f"observation space {env.observation_space} cannot be flattened ({exc})"
                ) from exc
        elif name == "discrete-actions":
            env = DiscreteActions(env)
        elif name == "index":
            env = DiscreteObservations(env)
    return env
