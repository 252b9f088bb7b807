"""The base every lecture-rl environment builds on (Minigrid-style template method).

`LectureEnv` owns what every environment repeats, so a concrete environment holds only
its dynamics and its pictures:

- seeding: `reset(seed=...)` seeds `self.np_random` through `gymnasium.Env.reset` and
  sets `self.episode_key`, the key of this episode's counter-based random numbers
  ([`lecture_rl.envs.streams`][lecture_rl.envs.streams]): draw with
  `streams.integers(self.episode_key, t, n)` / `streams.uniforms(self.episode_key, t)` so the
  native vector env can draw the same numbers;
- step order: `step` before the first `reset` or after the episode ended raises
  `gymnasium.error.ResetNeeded` (the message says to call `reset()`);
- action checks: an action outside `action_space` raises `gymnasium.error.InvalidAction`
  naming the action and the space;
- rendering: `render()` dispatches on `render_mode` (`human`, `rgb_array`, `ansi`),
  pygame is imported lazily, the `human` window has a title, runs at
  `metadata["render_fps"]` and closes cleanly in `close()`.

How a subclass uses it:

```python
class CoinEnv(LectureEnv):
    metadata = {**LectureEnv.metadata, "render_fps": 4}
    window_title = "Coin flip"

    def __init__(self, render_mode: str | None = None):
        super().__init__(render_mode)            # checks render_mode
        self.observation_space = spaces.Discrete(2)
        self.action_space = spaces.Discrete(2)

    def _reset(self, options: dict) -> tuple[ObsType, dict]:
        self.coin = int(self.np_random.integers(2))   # every draw from self.np_random
        return 0, {}

    def _step(self, action: int) -> tuple[ObsType, float, bool, bool, dict]:
        return 0, float(action == self.coin), True, False, {}

    def _draw_frame(self):                         # a pygame Surface or an (H, W, 3) array
        surface = rendering.new_surface(64, 64)
        ...
        return surface

    def _render_text(self) -> str:                 # the `ansi` frame
        return f"coin={self.coin}\\n"
```

`_reset` receives `options` (`{}` when none were given) after `self.np_random` is
seeded; `_step` receives the action already validated and converted to a Python `int` for a
`Discrete` space (other spaces get the action unchanged). Episode ends are tracked from the
`terminated`/`truncated` flags `_step` returns. Do not override `reset`/`step`/
`render`/`close`; extend `close` only through `LectureEnv._close_extras`.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Generic, TypeVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import InvalidAction, ResetNeeded, UnsupportedMode

from lecture_rl.envs import rendering
from lecture_rl.envs.streams import EpisodeStreams

ObsType = TypeVar("ObsType")
ActType = TypeVar("ActType")

RENDER_MODES = ("human", "rgb_array", "ansi")
#: The info key of a task's hidden variable, what a memory must hold after reading the
#: observation just returned (Parity: the running parity; Copy: the symbol to recall next).
#: Single and native vector envs alike; for viewers and probes, not for agents to read.
HIDDEN_KEY = "hidden"


def keywords_of(env_class: type, given: dict[str, Any]) -> dict[str, Any]:
    """`given` over the defaults of `env_class`'s constructor keywords (`render_mode` aside).

    A twin of an env (its torch batched version) takes the same task keywords without writing
    them out again: one signature, the single env's, is where they and their defaults live. A
    keyword the env does not take is a `TypeError`, as a call of the env itself would raise.
    """
    parameters = inspect.signature(env_class.__init__).parameters
    defaults = {
        name: p.default
        for name, p in parameters.items()
        if p.default is not inspect.Parameter.empty and name != "render_mode"
    }
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise TypeError(
            f"{env_class.__name__} takes no keyword {', '.join(unknown)}; "
            f"it takes {', '.join(defaults)}"
        )
    return {**defaults, **given}


class EnvArgumentError(gym.error.Error, ValueError):
    """A constructor keyword or reset option with a value that makes no sense (e.g. `length=0`).

    A `ValueError` and a `gymnasium.error.Error`, so either `except` catches it.
    """


def check_int(name: str, value: Any, minimum: int, hint: str = "") -> int:
    """`value` as an `int` if it is an integer `>= minimum`, else `EnvArgumentError`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise EnvArgumentError(f"{name}={value!r} must be an integer >= {minimum}{hint}")
    if value < minimum:
        raise EnvArgumentError(f"{name}={value!r} is too small: use an integer >= {minimum}{hint}")
    return int(value)


def tape_rows(value: Any, k: int, width: int) -> np.ndarray | None:
    """A user-given tape (reset option) as `[k, width]`: one row of `width` for every copy
    or one row per copy; `None` when it has neither shape (the caller says what it wanted)."""
    array = np.asarray(value)
    if array.shape == (width,):
        array = np.broadcast_to(array, (k, width))
    return array if array.shape == (k, width) else None


def reset_mask_of(value: Any, num_envs: int) -> np.ndarray:
    """`options["reset_mask"]` of a vector env, checked: a bool array, one entry per copy."""
    mask = np.asarray(value)
    if mask.shape != (num_envs,) or mask.dtype != np.bool_:
        raise EnvArgumentError(
            f"reset option 'reset_mask' must be a bool array of shape ({num_envs},), "
            f"got dtype {mask.dtype} and shape {mask.shape}"
        )
    return mask


def check_options(options: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """Reject reset options this environment does not know (typos would be silently ignored)."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise EnvArgumentError(
            f"unknown reset option(s) {unknown}; this environment accepts {list(allowed)}"
        )


class LectureEnv(gym.Env, Generic[ObsType, ActType]):
    """Base class of the lecture-rl environments; see the module docstring for how to use it."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": list(RENDER_MODES), "render_fps": 4}
    window_title: ClassVar[str] = "lecture-rl"

    def __init__(self, render_mode: str | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise UnsupportedMode(
                f"render_mode={render_mode!r} is not supported by {type(self).__name__}; "
                f"use one of {self.metadata['render_modes']} or None"
            )
        self.render_mode = render_mode
        self._needs_reset = True
        self._episode_over = False
        self._window: rendering.HumanWindow | None = None
        self._streams = EpisodeStreams(1)
        self.episode_key = self._streams.keys[:1]

    # ----------------------------------------------------------------- subclass hooks
    def _reset(self, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Start a new episode (`self.np_random` is already seeded); return `(obs, info)`."""
        raise NotImplementedError

    def _step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Advance one step with a valid action; return Gymnasium's 5-tuple."""
        raise NotImplementedError

    def _draw_frame(self) -> Any:
        """The current picture: a pygame `Surface` or an `(H, W, 3)` `uint8` array."""
        raise NotImplementedError

    def _render_text(self) -> str:
        """The current picture as text (the `ansi` render mode)."""
        raise NotImplementedError

    def _close_extras(self) -> None:
        """Release a subclass's own resources (called by `close`)."""

    # ----------------------------------------------------------------- Gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[ObsType, dict[str, Any]]:
        super().reset(seed=seed)
        # episode e of seed s: e counts the resets since the seeded one (lecture_rl.envs.streams)
        self.episode_key = self._streams.start(slice(None), [seed], self.np_random)
        obs, info = self._reset(dict(options) if options else {})
        self._needs_reset = False
        self._episode_over = False
        if self.render_mode == "human":
            self.render()
        return obs, info

    def step(self, action: ActType) -> tuple[ObsType, float, bool, bool, dict[str, Any]]:
        if self._needs_reset:
            if self._episode_over:
                raise ResetNeeded(
                    f"{type(self).__name__}.step() was called after the episode ended "
                    "(terminated or truncated); call env.reset() to start a new episode"
                )
            raise ResetNeeded(
                f"{type(self).__name__}.step() was called before reset(); call env.reset() first"
            )
        obs, reward, terminated, truncated, info = self._step(self._check_action(action))
        if terminated or truncated:
            self._needs_reset = True
            self._episode_over = True
        if self.render_mode == "human":
            self.render()
        return obs, reward, terminated, truncated, info

    def _check_action(self, action: Any) -> Any:
        """Validate `action` against `action_space`; Discrete actions come back as `int`."""
        space = self.action_space
        if isinstance(space, spaces.Discrete):
            if not space.contains(action):
                raise InvalidAction(
                    f"action {action!r} is not in the action space {space}; "
                    f"use an integer in [{space.start}, {space.start + space.n - 1}]"
                )
            return int(action)
        if not space.contains(action):
            raise InvalidAction(f"action {action!r} is not in the action space {space}")
        return action

    def render(self) -> Any:
        if self.render_mode is None:
            spec_id = self.spec.id if self.spec is not None else type(self).__name__
            gym.logger.warn(
                "You are calling render() without a render_mode; pass one when making the env, "
                f'e.g. gym.make("{spec_id}", render_mode="rgb_array")'
            )
            return None
        if self.render_mode == "ansi":
            return self._render_text()
        frame = self._draw_frame()
        if self.render_mode == "rgb_array":
            if isinstance(frame, np.ndarray):
                return np.ascontiguousarray(frame, dtype=np.uint8)
            return rendering.surface_to_rgb(frame)
        # human
        if self._window is None:
            self._window = rendering.HumanWindow(self.window_title, self.metadata["render_fps"])
        self._window.show(frame)
        return None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
        self._close_extras()
        super().close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_window"] = None  # an open window cannot travel; the copy opens its own
        return state
