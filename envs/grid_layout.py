"""What a grid is, for drawing it: the cells' kinds, rewards and shown actions, and their colours.

Description:
    `GridLayout` describes a grid whoever made it (our grid world, Gymnasium's FrozenLake or
    CliffWalking); `grid_draw.GridPainter` draws one, `grid_overlay` holds what a viewer draws
    on top of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lecture_rl.envs import rendering
from lecture_rl.envs.grid_maps import CLIFF, FLOOR, GOAL, PIT, START, WALL

CLIFF_COLOR: rendering.Color = (156, 54, 40)
KIND_COLORS: dict[str, rendering.Color] = {
    FLOOR: rendering.CELL,
    START: rendering.START,
    GOAL: rendering.GOAL,
    PIT: rendering.PIT,
    CLIFF: CLIFF_COLOR,
    WALL: rendering.WALL,
}
KIND_LABELS = {START: "S", GOAL: "G", PIT: "P", CLIFF: "C"}
KIND_REWARD = {GOAL: "goal_reward", PIT: "pit_reward", CLIFF: "cliff_reward"}


def frame_cell_size(nrow: int, ncol: int) -> int:
    """Cell side in the rendered frame: large for small maps, at most ~760 pixels of grid."""
    return int(np.clip(760 // max(nrow, ncol), 48, 128))


@dataclass
class GridLayout:
    """What the painter needs to know about a grid, whoever made it.

    `kinds` holds one map character per cell (see `lecture_rl.envs.grid_maps`),
    `mask[s, a]` says whether action `a` is shown in state `s` and `directions[a]` is
    the index into `MOVES` that action `a` points to (FrozenLake orders its actions
    left, down, right, up). `rewards` gives the reward labels of goal, pit and cliff cells.
    """

    nrow: int
    ncol: int
    kinds: np.ndarray
    rewards: dict[str, float]
    mask: np.ndarray
    terminal_states: frozenset[int]
    directions: tuple[int, ...] = (0, 1, 2, 3)
    name: str = ""
    labels: dict[str, str] | None = None

    @property
    def nS(self) -> int:
        return self.nrow * self.ncol

    @property
    def nA(self) -> int:
        return len(self.directions)

    def coords_of(self, s: int) -> tuple[int, int]:
        return s // self.ncol + 1, s % self.ncol + 1

    def state_of(self, row: int, col: int) -> int:
        return (row - 1) * self.ncol + (col - 1)

    def kind(self, s: int) -> str:
        return str(self.kinds.flat[s])

    def occupiable(self, s: int) -> bool:
        """Whether the agent can stand in `s` and act: not a wall, cliff or terminal cell."""
        return self.kind(s) not in (WALL, CLIFF) and s not in self.terminal_states

    @classmethod
    def from_dynamics(cls, dynamics: Any, name: str = "") -> GridLayout:
        """The layout of our grid world (its `GridDynamics`)."""
        return cls(
            nrow=dynamics.nrow,
            ncol=dynamics.ncol,
            kinds=np.asarray(dynamics.kinds),
            rewards=dict(dynamics.rewards),
            mask=np.asarray(dynamics.mask, dtype=bool),
            terminal_states=frozenset(dynamics.terminal_states),
            name=name or getattr(getattr(dynamics, "map", None), "name", ""),
        )

    @classmethod
    def from_env(cls, env: Any) -> GridLayout:
        """The layout of `env`: our GridWorld, Gymnasium's FrozenLake or CliffWalking.

        Raises `ValueError` for any other env (the message names the supported ones).
        """
        u = getattr(env, "unwrapped", env)
        if hasattr(u, "dynamics") and hasattr(u.dynamics, "kinds"):
            return cls.from_dynamics(u.dynamics, getattr(u, "map_name", ""))
        name = type(u).__name__
        if name == "FrozenLakeEnv" and getattr(u, "desc", None) is not None:
            desc = np.asarray(u.desc).astype(str)
            kinds = np.vectorize({"S": START, "F": FLOOR, "H": PIT, "G": GOAL}.get)(desc)
            nrow, ncol = kinds.shape
            terminal = frozenset(
                int(r * ncol + c) for r, c in zip(*np.nonzero(np.isin(desc, ["H", "G"])))
            )
            return cls(
                nrow=nrow,
                ncol=ncol,
                kinds=kinds,
                rewards={"step_reward": 0.0, "goal_reward": 1.0, "pit_reward": 0.0},
                mask=np.ones((nrow * ncol, 4), dtype=bool),
                terminal_states=terminal,
                directions=(3, 2, 1, 0),  # left, down, right, up
                name=f"FrozenLake {nrow}x{ncol}",
                labels={PIT: "H"},
            )
        if name == "CliffWalkingEnv":
            nrow, ncol = getattr(u, "shape", (4, 12))
            kinds = np.full((nrow, ncol), FLOOR)
            cliff = np.asarray(getattr(u, "_cliff", np.zeros((nrow, ncol), dtype=bool)))
            kinds[cliff] = CLIFF
            kinds[nrow - 1, 0], kinds[nrow - 1, ncol - 1] = START, GOAL
            return cls(
                nrow=nrow,
                ncol=ncol,
                kinds=kinds,
                rewards={"step_reward": -1.0, "goal_reward": -1.0, "cliff_reward": -100.0},
                mask=np.ones((nrow * ncol, 4), dtype=bool),
                terminal_states=frozenset({nrow * ncol - 1}),
                name=f"CliffWalking {nrow}x{ncol}",
            )
        raise ValueError(
            f"the grid viewer draws LectureRL/GridWorld-v0, FrozenLake-v1 and CliffWalking-v1, "
            f"not {name}; watch draws other envs as their own picture"
        )
