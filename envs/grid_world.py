"""`LectureRL/GridWorld-v0`: the lecture's grid world (notes 000 §7.f) and other maps.

Description:
    The agent walks on a grid read from a map file (see `lecture_rl.envs.grid_maps`).
    Coordinates are 1-indexed `(row, col)` with row 1 on top, like the notes; the state index
    is `s = (row - 1) * ncol + (col - 1)`. Goal `G` and pit `P` cells end the episode;
    a cliff `C` cell costs `cliff_reward` and sends the agent back to the start; a move off
    the grid or into a wall `#` leaves the agent where it is and is marked unavailable in
    `info["action_mask"]`. With probability `slip` the chosen move is replaced by one of the
    four directions drawn uniformly (a blocked one means staying put).

    The default map `lecture` is our reconstruction of the notes' figure (3×3):

    ```text
      col 1    2    3
    row 1  .    .    G +10
    row 2  S    .    .
    row 3  #    .    P -10
    ```

    With it, the notes' episode (2,1) → (2,2) → (3,2) → (3,3) with α = 0.5, γ = 0.7 from an
    all-zero Q table changes only Q((3,2), right), to −5, and the greedy policy at (3,2) goes
    from "↑ or →" to "↑" (run `lecture-rl lecture-example`).

Action Space:
    `Discrete(4)`: `0 = up, 1 = right, 2 = down, 3 = left` (`ACTION_NAMES`,
    `ACTION_ARROWS`).

Observation Space (`obs_mode`):
    - `index` (default): `Discrete(nS)`, the state index.
    - `onehot`: `Box(0, 1, (nS,), float32)`.
    - `coords`: `Box(float32, (2,))` holding the 1-indexed `(row, col)`.
    - `image`: `Box(0, 255, (H, W, 3), uint8)`, channel-last, at least 36×36: a symbolic
      colour picture of the grid (one flat colour per cell kind) with the agent as a square.

Rewards:
    Declared in the map file: `goal_reward` / `pit_reward` / `cliff_reward` for the move
    that enters such a cell, `step_reward` for every other move (`step_reward=` overrides
    the file's). `lecture`: +10 / −10 / 0. `cliff`: −1 per move, −100 for the cliff.

Starting State:
    The map's `S` cell; `reset(options={"start": (row, col)})` (or a state index) starts
    elsewhere (exploring starts, teaching).

Episode End:
    Terminated on entering a goal or pit; truncated after `max_steps` steps (default 100).

Constructor keywords:
    `map_name` (a shipped map name or a path to a map file), `obs_mode`, `slip` in
    [0, 1], `step_reward` (`None` = the map file's), `max_steps` (`None` = no limit),
    `render_mode` in `human` / `rgb_array` / `ansi`.

Teaching helpers (on `env.unwrapped`):
    `P[s][a] = [(prob, next_s, reward, terminated), ...]` as in Gymnasium's FrozenLake (slip
    included, probabilities summing to 1; terminal states self-loop with reward 0);
    `state_of(row, col)`, `coords_of(s)`, `action_mask(s)`, `action_masks()` (the
    current state's, as `bool`, for sb3-contrib's `MaskablePPO`), `greedy_actions(q, s)`,
    `nrow`, `ncol`, `nS`, `nA`, `start_state`, `terminal_states`, `start_states`
    (where `reset(options={"start": s})` may start);
    `set_overlay(values=, q=, policy=)` / `clear_overlay()` draw a value heat map,
    per-action numbers and greedy arrows on the rendered frame.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from gymnasium import spaces

from lecture_rl.envs import grid_draw, grid_images, grid_overlay, streams
from lecture_rl.envs.base import EnvArgumentError, LectureEnv
from lecture_rl.envs.grid_maps import (
    ACTION_ARROWS,
    CLIFF,
    GOAL,
    MOVES,
    PIT,
    WALL,
    GridMap,
    load_map,
)

ACTION_NAMES: tuple[str, ...] = ("up", "right", "down", "left")
UP, RIGHT, DOWN, LEFT = range(4)
# pygame key codes of the arrow keys (the same in pygame and pygame-ce)
KEY_UP, KEY_DOWN, KEY_RIGHT, KEY_LEFT = 1073741906, 1073741905, 1073741903, 1073741904
OBS_MODES = ("index", "onehot", "coords", "image")
_UNSET = object()


def check_grid_kwargs(
    obs_mode: str, slip: float, step_reward: float | None, max_steps: int | None
) -> None:
    """Reject nonsensical keyword values with a message naming the value and the valid range."""
    if obs_mode not in OBS_MODES:
        raise EnvArgumentError(
            f"obs_mode={obs_mode!r} is not supported; use one of {list(OBS_MODES)}"
        )
    if isinstance(slip, bool) or not isinstance(slip, (int, float, np.floating, np.integer)):
        raise EnvArgumentError(f"slip must be a probability in [0, 1], got {slip!r}")
    if not 0.0 <= float(slip) <= 1.0:
        raise EnvArgumentError(
            f"slip={slip!r} is outside [0, 1]; it is the probability that a move is replaced "
            "by a random direction"
        )
    if step_reward is not None and (
        isinstance(step_reward, bool)
        or not isinstance(step_reward, (int, float, np.floating, np.integer))
        or not math.isfinite(float(step_reward))
    ):
        raise EnvArgumentError(f"step_reward must be a finite number or None, got {step_reward!r}")
    if max_steps is not None and (
        isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1
    ):
        raise EnvArgumentError(
            f"max_steps must be an integer >= 1 (or None for no limit), got {max_steps!r}"
        )


class GridDynamics:
    """The transition model of a map as numpy tables, shared by the single and vector envs.

    A move's outcome depends only on the state and the direction actually taken, so the model
    is three `(nS, 4)` tables indexed by `[s, direction]`: `next_state`, `reward` and
    `terminated`. Slip picks the direction: with one uniform draw `u` per step, the
    direction is `a` if `u >= slip` else `floor(4 u / slip)` (uniform over all four).
    """

    def __init__(self, grid_map: GridMap, step_reward: float | None = None, slip: float = 0.0):
        self.map = grid_map
        self.nrow, self.ncol = grid_map.nrow, grid_map.ncol
        self.nS, self.nA = self.nrow * self.ncol, len(MOVES)
        self.slip = float(slip)
        self.rewards = dict(grid_map.rewards)
        if step_reward is not None:
            self.rewards["step_reward"] = float(step_reward)
        self.kinds = np.array([list(row) for row in grid_map.rows])  # (nrow, ncol) characters
        self.start_state = self.state_of(*grid_map.start)
        self.terminal_states = frozenset(
            self.state_of(r, c) for kind in (GOAL, PIT) for r, c in grid_map.cells_of(kind)
        )
        self.wall_states = frozenset(self.state_of(r, c) for r, c in grid_map.cells_of(WALL))
        self.cliff_states = frozenset(self.state_of(r, c) for r, c in grid_map.cells_of(CLIFF))

        shape = (self.nS, self.nA)
        self.next_state = np.zeros(shape, dtype=np.int64)
        self.reward = np.zeros(shape, dtype=np.float64)
        self.terminated = np.zeros(shape, dtype=bool)
        self.mask = np.zeros(shape, dtype=np.int8)
        entry_reward = {
            GOAL: self.rewards["goal_reward"],
            PIT: self.rewards["pit_reward"],
            CLIFF: self.rewards["cliff_reward"],
        }
        for s in range(self.nS):
            row, col = self.coords_of(s)
            for a, (d_row, d_col) in enumerate(MOVES):
                r2, c2 = row + d_row, col + d_col
                inside = 1 <= r2 <= self.nrow and 1 <= c2 <= self.ncol
                open_cell = inside and self.kinds[r2 - 1, c2 - 1] != WALL
                self.mask[s, a] = int(open_cell)
                if s in self.terminal_states:  # absorbing: self-loop, reward 0, terminated
                    self.next_state[s, a], self.terminated[s, a] = s, True
                    continue
                if not open_cell:  # bump into the border or a wall: stay put
                    self.next_state[s, a] = s
                    self.reward[s, a] = self.rewards["step_reward"]
                    continue
                kind = self.kinds[r2 - 1, c2 - 1]
                target = self.state_of(r2, c2)
                self.reward[s, a] = entry_reward.get(kind, self.rewards["step_reward"])
                self.next_state[s, a] = self.start_state if kind == CLIFF else target
                self.terminated[s, a] = kind in (GOAL, PIT)
        self.P = self._transition_model()
        self.reward_bounds = (float(self.reward.min()), float(self.reward.max()))

    # -------------------------------------------------------------- coordinates
    def state_of(self, row: int, col: int) -> int:
        """State index of 1-indexed `(row, col)`: `s = (row - 1) * ncol + (col - 1)`."""
        if not (1 <= row <= self.nrow and 1 <= col <= self.ncol):
            raise EnvArgumentError(
                f"(row, col) = ({row}, {col}) is outside the {self.nrow}x{self.ncol} grid; "
                f"rows are 1..{self.nrow}, columns 1..{self.ncol}"
            )
        return (int(row) - 1) * self.ncol + (int(col) - 1)

    def coords_of(self, s: int) -> tuple[int, int]:
        """1-indexed `(row, col)` of state index `s`."""
        if not 0 <= int(s) < self.nS:
            raise EnvArgumentError(f"state {s} is outside 0..{self.nS - 1}")
        row, col = divmod(int(s), self.ncol)
        return row + 1, col + 1

    # -------------------------------------------------------------- model
    def direction_probs(self, a: int) -> np.ndarray:
        """Probability of each actual direction when `a` is chosen (slip included)."""
        probs = np.full(self.nA, self.slip / self.nA)
        probs[a] += 1.0 - self.slip
        return probs

    def _transition_model(self) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
        """FrozenLake-style `P[s][a]`: outcomes of equal `(next, reward, done)` merged."""
        P: dict[int, dict[int, list[tuple[float, int, float, bool]]]] = {}
        for s in range(self.nS):
            P[s] = {}
            for a in range(self.nA):
                outcomes: dict[tuple[int, float, bool], list[float]] = {}
                for d, p in enumerate(self.direction_probs(a)):
                    if p <= 0.0:
                        continue
                    key = (
                        int(self.next_state[s, d]),
                        float(self.reward[s, d]),
                        bool(self.terminated[s, d]),
                    )
                    outcomes.setdefault(key, []).append(float(p))
                if len(outcomes) == 1:  # one outcome is certain: exactly 1, not 0.9999...
                    outcomes = {key: [1.0] for key in outcomes}
                P[s][a] = [(math.fsum(ps), n, r, t) for (n, r, t), ps in outcomes.items()]
        return P

    def optimal_return(self, tol: float = 1e-10, max_sweeps: int = 20_000) -> float | None:
        """The best expected undiscounted return from the start state (slip included), by value
        iteration with γ = 1: V(s) ← max_a Σ_d p(d|a) [r(s,d) + (1 − done(s,d)) V(s'(s,d))]
        (S&B eq. 4.10). `None` if it does not converge (e.g. a positive `step_reward` makes
        it infinite). `max_steps` is not taken into account."""
        probs = np.stack([self.direction_probs(a) for a in range(self.nA)])  # [a, d]
        alive = 1.0 - self.terminated
        v = np.zeros(self.nS)
        for _ in range(max_sweeps):
            backup = self.reward + alive * v[self.next_state]  # [s, d]
            new_v = (backup @ probs.T).max(axis=1)  # max over a of Σ_d p(d|a) backup[s, d]
            if not np.all(np.isfinite(new_v)) or np.abs(new_v).max() > 1e12:
                return None
            if np.abs(new_v - v).max() < tol:
                return round(float(new_v[self.start_state]), 8)
            v = new_v
        return None

    def direction(self, action: int, u: float) -> int:
        """`directions` for one action and one draw, in plain Python (same arithmetic)."""
        if u >= self.slip:
            return action
        return min(int(u / self.slip * self.nA), self.nA - 1)

    def directions(self, actions: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Actual directions for chosen `actions` given uniform draws `u` (slip)."""
        if self.slip <= 0.0:
            return actions
        slipped = u < self.slip
        random_dir = np.minimum((u / self.slip * self.nA).astype(np.int64), self.nA - 1)
        return np.where(slipped, random_dir, actions)


class GridWorldEnv(LectureEnv[Any, int]):
    """The lecture's grid world; see the module docstring for spaces, rewards and arguments."""

    metadata = {**LectureEnv.metadata, "render_fps": 4}
    window_title = "lecture-rl: grid world"

    def __init__(
        self,
        map_name: str | os.PathLike[str] = "lecture",
        obs_mode: str = "index",
        slip: float = 0.0,
        step_reward: float | None = None,
        max_steps: int | None = 100,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode)
        check_grid_kwargs(obs_mode, slip, step_reward, max_steps)
        self.grid_map = load_map(map_name)
        self.dynamics = GridDynamics(self.grid_map, step_reward, slip)
        d = self.dynamics
        self.map_name, self.obs_mode = self.grid_map.name, obs_mode
        self.slip, self.max_steps = float(slip), max_steps
        self.nrow, self.ncol, self.nS, self.nA = d.nrow, d.ncol, d.nS, d.nA
        self.P = d.P
        self.desc = d.kinds
        self.start_state, self.terminal_states = d.start_state, set(d.terminal_states)
        #: where `reset(options={"start": s})` may start: every cell but walls, cliffs, ends
        self.start_states = (
            frozenset(range(d.nS)) - d.wall_states - d.cliff_states - set(d.terminal_states)
        )
        self.reward_bounds = d.reward_bounds
        self.action_space = spaces.Discrete(self.nA)
        self.observation_space = observation_space(d, obs_mode)
        self._images = grid_images.observation_images(d) if obs_mode == "image" else None
        self.s = d.start_state
        self.steps = 0
        self.episode_return = 0.0
        self.last_action: int | None = None
        self.last_reward: float | None = None
        self.trail: list[int] = []
        self.overlay = grid_overlay.Overlay()
        self._reward_threshold: object = _UNSET

    # -------------------------------------------------------------- teaching helpers
    def state_of(self, row: int, col: int) -> int:
        """State index of 1-indexed `(row, col)`."""
        return self.dynamics.state_of(row, col)

    def coords_of(self, s: int) -> tuple[int, int]:
        """1-indexed `(row, col)` of state `s`."""
        return self.dynamics.coords_of(s)

    def action_mask(self, s: int | None = None) -> np.ndarray:
        """`int8` array `(nA,)`, 1 where the move from `s` (default: current) is open."""
        return self.dynamics.mask[self.s if s is None else int(s)].copy()

    def action_masks(self) -> np.ndarray:
        """`bool` array `(nA,)`, True where the move from the current state is open.

        The method sb3-contrib's `MaskablePPO` looks for, so it needs no `ActionMasker`.
        """
        return self.dynamics.mask[self.s].astype(bool)

    def get_keys_to_action(self) -> dict[tuple[int | str, ...], int]:
        """Arrow keys (or W A S D) to moves, for `gymnasium.utils.play.play(env)`."""
        return grid_keys_to_action()

    def greedy_actions(self, q: np.ndarray, s: int, atol: float = 1e-9) -> list[int]:
        """All actions tied for the maximum of `q[s]` among the available ones at `s`."""
        return grid_overlay.greedy_actions(
            np.asarray(q, dtype=float)[s], self.dynamics.mask[s], atol
        )

    @property
    def agent_coords(self) -> tuple[int, int]:
        """The agent's 1-indexed `(row, col)`."""
        return self.coords_of(self.s)

    def set_overlay(
        self,
        values: np.ndarray | None = None,
        q: np.ndarray | None = None,
        policy: np.ndarray | None = None,
    ) -> None:
        """Draw on later frames: `values` `(nS,)` as a heat map, `q` `(nS, nA)` as
        per-action numbers, and greedy arrows (from `policy`, `(nS,)` actions or an
        `(nS, nA)` table whose positive entries get arrows, else from `q`: every action tied
        for the maximum among the available ones)."""
        self.overlay = grid_overlay.Overlay.build(
            self.nS, self.nA, values=values, q=q, policy=policy
        )

    def clear_overlay(self) -> None:
        """Remove the overlay."""
        self.overlay = grid_overlay.Overlay()

    @property
    def reward_threshold(self) -> float | None:
        """The optimal return of this map from its start
        ([`GridDynamics.optimal_return`][lecture_rl.envs.grid_world.GridDynamics.optimal_return],
        slip included): `lecture` 10, `cliff` −13, `maze` 0.89 without slip. `compare` reports the
        episodes an agent needs to reach it."""
        if self._reward_threshold is _UNSET:
            self._reward_threshold = self.dynamics.optimal_return()
        return self._reward_threshold  # type: ignore[return-value]

    # -------------------------------------------------------------- env hooks
    def _observation(self, s: int) -> Any:
        if self.obs_mode == "index":
            return int(s)
        if self.obs_mode == "onehot":
            obs = np.zeros(self.nS, dtype=np.float32)
            obs[s] = 1.0
            return obs
        if self.obs_mode == "coords":
            return np.array(self.coords_of(s), dtype=np.float32)
        return self._images[s].copy()

    def _info(self) -> dict[str, Any]:
        return {"action_mask": self.dynamics.mask[self.s].copy(), "state": int(self.s)}

    def _reset(self, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        self.s = start_state_from(self.dynamics, options)
        self.steps, self.episode_return = 0, 0.0
        self.last_action = self.last_reward = None
        self.trail = [self.s]
        return self._observation(self.s), self._info()

    def _check_action(self, action: Any) -> int:
        """A cheap range check for plain integers (the hot path); anything else goes through
        the base class's `Discrete.contains` check (`InvalidAction` with the reason)."""
        if type(action) is int or (isinstance(action, np.integer) and action.ndim == 0):
            if 0 <= action < self.nA:
                return int(action)
        return super()._check_action(action)

    def _step(self, action: int) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        d = self.dynamics
        direction = action
        if d.slip > 0.0:  # u = streams.uniforms(key(seed, e), t): the vector env's draw
            direction = d.direction(
                action, streams.uniform_at(int(self.episode_key[0]), self.steps)
            )
        s = self.s
        self.s = int(d.next_state[s, direction])
        reward = float(d.reward[s, direction])
        terminated = bool(d.terminated[s, direction])
        self.steps += 1
        truncated = not terminated and self.max_steps is not None and self.steps >= self.max_steps
        self.episode_return += reward
        self.last_action, self.last_reward = action, reward
        self.trail.append(self.s)
        return self._observation(self.s), reward, terminated, truncated, self._info()

    def _draw_frame(self) -> Any:
        return grid_draw.draw_grid(
            self.dynamics,
            agent=self.s,
            trail=self.trail,
            overlay=self.overlay,
            caption=self._caption(),
        )

    def _caption(self, sep: str = "   ", arrows: bool = False) -> str:
        text = f"{self.map_name}{sep}step {self.steps}{sep}return {self.episode_return:g}"
        if self.last_action is not None:
            arrow = f" {ACTION_ARROWS[self.last_action]}" if arrows else ""
            text += f"{sep}last: {ACTION_NAMES[self.last_action]}{arrow} ({self.last_reward:+g})"
        return text

    def _render_text(self) -> str:
        return (
            grid_images.grid_text(self.dynamics, self.s) + self._caption(", ", arrows=True) + "\n"
        )


def grid_keys_to_action() -> dict[tuple[int | str, ...], int]:
    """Arrows and W A S D to `up, right, down, left`."""
    return {
        (KEY_UP,): UP,
        (KEY_RIGHT,): RIGHT,
        (KEY_DOWN,): DOWN,
        (KEY_LEFT,): LEFT,
        ("w",): UP,
        ("d",): RIGHT,
        ("s",): DOWN,
        ("a",): LEFT,
    }


def start_state_from(dynamics: GridDynamics, options: dict[str, Any]) -> int:
    """The start state a reset with `options` asks for: the map's `S` cell, or
    `options["start"]` as 1-indexed `(row, col)` or a state index (a floor cell)."""
    unknown = set(options) - {"start"}
    if unknown:
        raise EnvArgumentError(
            f"unknown reset option(s) {sorted(unknown)}; GridWorld accepts "
            "options={'start': (row, col)} or a state index"
        )
    start = options.get("start")
    if start is None:
        return dynamics.start_state
    if isinstance(start, (tuple, list)) and len(start) == 2:
        s = dynamics.state_of(*start)
    elif isinstance(start, (int, np.integer)) and not isinstance(start, bool):
        dynamics.coords_of(start)  # range check
        s = int(start)
    else:
        raise EnvArgumentError(
            f"options['start'] must be (row, col) or a state index, got {start!r}"
        )
    if s in dynamics.wall_states | dynamics.cliff_states | dynamics.terminal_states:
        kind = dynamics.kinds.flat[s]
        raise EnvArgumentError(
            f"cannot start at {dynamics.coords_of(s)}: it is a {kind!r} cell; start on a floor cell"
        )
    return s


def observation_space(dynamics: GridDynamics, obs_mode: str) -> spaces.Space:
    """The single-env observation space of `obs_mode` on a map."""
    if obs_mode == "index":
        return spaces.Discrete(dynamics.nS)
    if obs_mode == "onehot":
        return spaces.Box(0.0, 1.0, (dynamics.nS,), dtype=np.float32)
    if obs_mode == "coords":
        return spaces.Box(
            np.array([1.0, 1.0], dtype=np.float32),
            np.array([dynamics.nrow, dynamics.ncol], dtype=np.float32),
            dtype=np.float32,
        )
    h, w = grid_images.observation_image_shape(dynamics.nrow, dynamics.ncol)
    return spaces.Box(0, 255, (h, w, 3), dtype=np.uint8)
