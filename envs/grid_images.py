"""The grid world without pygame: its `image` observations and its `ansi` text.

Description:
    `observation_images` builds the symbolic `image` observations in numpy (one flat colour per
    cell kind, the agent as a square), one picture per state, so both the single and the vector
    env look observations up instead of drawing them; `grid_text` is the `ansi` rendering.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lecture_rl.envs import rendering
from lecture_rl.envs.grid_layout import KIND_COLORS

MIN_IMAGE_SIDE = 36  # stable-baselines3's NatureCNN needs at least 36x36


def observation_image_shape(nrow: int, ncol: int) -> tuple[int, int]:
    """`(H, W)` of the `image` observation: square cells, the short side ≥ 36 pixels."""
    px = cell_pixels(nrow, ncol)
    return nrow * px, ncol * px


def cell_pixels(nrow: int, ncol: int) -> int:
    """Side of one cell in the `image` observation."""
    return max(1, math.ceil(MIN_IMAGE_SIDE / min(nrow, ncol)))


def observation_images(dynamics: Any) -> np.ndarray:
    """One `(H, W, 3)` `uint8` picture per state: `(nS, H, W, 3)`.

    Each cell is a flat colour of its kind; the agent is a square of the agent colour filling
    the middle of its cell (a one-cell border keeps the kind of the cell under it visible).
    """
    px = cell_pixels(dynamics.nrow, dynamics.ncol)
    colors = np.array([[KIND_COLORS[k] for k in row] for row in dynamics.kinds], dtype=np.uint8)
    board = np.repeat(np.repeat(colors, px, axis=0), px, axis=1)  # (H, W, 3)
    images = np.repeat(board[None], dynamics.nS, axis=0)
    margin = max(1, px // 4) if px >= 3 else 0
    for s in range(dynamics.nS):
        row, col = dynamics.coords_of(s)
        y0, x0 = (row - 1) * px + margin, (col - 1) * px + margin
        images[s, y0 : y0 + px - 2 * margin, x0 : x0 + px - 2 * margin] = rendering.AGENT
    return images


def grid_text(dynamics: Any, agent: int) -> str:
    """The grid as text: column numbers on top, row numbers left, `@` for the agent."""
    lines = ["   col " + " ".join(f"{c:>2}" for c in range(1, dynamics.ncol + 1))]
    for r in range(1, dynamics.nrow + 1):
        cells = []
        for c in range(1, dynamics.ncol + 1):
            s = dynamics.state_of(r, c)
            cells.append(" @" if s == agent else f" {dynamics.kinds[r - 1, c - 1]}")
        lines.append(f"row {r:>2} " + " ".join(cells))
    return "\n".join(lines) + "\n"
