"""Drawing the grid world: the rendered frame, the overlay, the ``ansi`` text and the ``image``
observations.

Description:
    :func:`draw_grid` draws a lecture-style figure with the shared primitives of
    :mod:`lecture_rl.envs.rendering`: labelled 1-indexed coordinates, walls, goal, pit, cliff,
    start, the agent and its trail, and an optional :class:`Overlay` (a per-state value heat
    map, per-action numbers at the cell edges, greedy arrows from the cell centre).
    :func:`observation_images` builds the symbolic ``image`` observations in numpy (one flat
    colour per cell kind, the agent as a square), one picture per state, so both the single and
    the vector env look observations up instead of drawing them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lecture_rl.envs import rendering
from lecture_rl.envs.grid_maps import CLIFF, FLOOR, GOAL, PIT, START, WALL

CLIFF_COLOR: rendering.Color = (156, 54, 40)
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left as (d_row, d_col)
ARROWS = "↑→↓←"
MIN_IMAGE_SIDE = 36  # stable-baselines3's NatureCNN needs at least 36x36

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


def greedy_actions(q_s: np.ndarray, mask_s: np.ndarray, atol: float = 1e-9) -> list[int]:
    """Every action tied (within ``atol``) for the maximum of ``q_s`` among available ones."""
    available = np.flatnonzero(mask_s)
    if available.size == 0:
        return []
    best = q_s[available].max()
    return [int(a) for a in available if q_s[a] >= best - atol]


@dataclass
class Overlay:
    """What a viewer asked to draw on top of the grid (all optional).

    ``values`` ``(nS,)``: heat map; ``q`` ``(nS, nA)``: numbers at the cell edges;
    ``policy`` ``(nS, nA)`` bool: arrows to draw (``None`` = greedy from ``q`` if given).
    """

    values: np.ndarray | None = None
    q: np.ndarray | None = None
    policy: np.ndarray | None = None

    @property
    def empty(self) -> bool:
        return self.values is None and self.q is None and self.policy is None

    @classmethod
    def build(
        cls,
        nS: int,
        nA: int,
        values: Any = None,
        q: Any = None,
        policy: Any = None,
    ) -> Overlay:
        """Check shapes and finiteness; turn ``policy`` into an ``(nS, nA)`` bool table."""

        def table(name: str, x: Any, shape: tuple[int, ...]) -> np.ndarray:
            arr = np.asarray(x, dtype=float)
            if arr.shape != shape:
                raise ValueError(
                    f"overlay {name} must have shape {shape} (one entry per "
                    f"{'state' if len(shape) == 1 else 'state and action'}), got {arr.shape}"
                )
            if np.isnan(arr).any():
                raise ValueError(f"overlay {name} contains NaN")
            return arr.copy()

        v = None if values is None else table("values", values, (nS,))
        qt = None if q is None else table("q", q, (nS, nA))
        pol = None
        if policy is not None:
            p = np.asarray(policy)
            if p.shape == (nS,):
                if not np.issubdtype(p.dtype, np.integer) or p.min() < 0 or p.max() >= nA:
                    raise ValueError(
                        f"overlay policy of shape ({nS},) must hold actions in 0..{nA - 1}"
                    )
                pol = np.zeros((nS, nA), dtype=bool)
                pol[np.arange(nS), p] = True
            elif p.shape == (nS, nA):
                pol = np.asarray(p, dtype=float) > 0
            else:
                raise ValueError(
                    f"overlay policy must have shape ({nS},) (an action per state) or "
                    f"({nS}, {nA}) (positive entries get arrows), got {p.shape}"
                )
        return cls(values=v, q=qt, policy=pol)

    def arrows(self, s: int, mask_s: np.ndarray) -> list[int]:
        """Directions to draw an arrow for at state ``s``."""
        if self.policy is not None:
            return [int(a) for a in np.flatnonzero(self.policy[s])]
        if self.q is not None:
            return greedy_actions(self.q[s], mask_s)
        return []


# ------------------------------------------------------------------ image observations
def observation_image_shape(nrow: int, ncol: int) -> tuple[int, int]:
    """``(H, W)`` of the ``image`` observation: square cells, the short side ≥ 36 pixels."""
    px = cell_pixels(nrow, ncol)
    return nrow * px, ncol * px


def cell_pixels(nrow: int, ncol: int) -> int:
    """Side of one cell in the ``image`` observation."""
    return max(1, math.ceil(MIN_IMAGE_SIDE / min(nrow, ncol)))


def observation_images(dynamics: Any) -> np.ndarray:
    """One ``(H, W, 3)`` ``uint8`` picture per state: ``(nS, H, W, 3)``.

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


# ------------------------------------------------------------------ ansi
def grid_text(dynamics: Any, agent: int) -> str:
    """The grid as text: column numbers on top, row numbers left, ``@`` for the agent."""
    lines = ["   col " + " ".join(f"{c:>2}" for c in range(1, dynamics.ncol + 1))]
    for r in range(1, dynamics.nrow + 1):
        cells = []
        for c in range(1, dynamics.ncol + 1):
            s = dynamics.state_of(r, c)
            cells.append(" @" if s == agent else f" {dynamics.kinds[r - 1, c - 1]}")
        lines.append(f"row {r:>2} " + " ".join(cells))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ rgb frame
def frame_cell_size(nrow: int, ncol: int) -> int:
    """Cell side in the rendered frame: large for small maps, at most ~760 pixels of grid."""
    return int(np.clip(760 // max(nrow, ncol), 48, 128))


def format_number(x: float) -> str:
    """Short text for a value in a cell: ``-5``, ``0.35``, ``12.3``."""
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.3g}"  # three significant digits, no trailing zeros: 8.1, -5, 0.35, 12.3


def _arrow(surface: Any, center: tuple[float, float], direction: int, length: float, color) -> None:
    pygame = rendering.import_pygame()
    d_row, d_col = MOVES[direction]
    cx, cy = center
    start = (cx + d_col * length * 0.18, cy + d_row * length * 0.18)
    tip = (cx + d_col * length, cy + d_row * length)
    width = max(2, int(length / 9))
    pygame.draw.line(surface, color, start, tip, width)
    head = length * 0.38
    # two barbs, perpendicular to the shaft
    px, py = -d_row, d_col
    base = (tip[0] - d_col * head, tip[1] - d_row * head)
    pygame.draw.polygon(
        surface,
        color,
        [
            (tip[0] + d_col * width * 0.5, tip[1] + d_row * width * 0.5),
            (base[0] + px * head * 0.55, base[1] + py * head * 0.55),
            (base[0] - px * head * 0.55, base[1] - py * head * 0.55),
        ],
    )


def draw_grid(
    dynamics: Any,
    agent: int | None,
    trail: list[int] | None = None,
    overlay: Overlay | None = None,
    caption: str = "",
) -> Any:
    """The grid world as a pygame surface, in the style of a lecture figure.

    Layout: column numbers above the grid, row numbers to its left, a caption line below.
    Cells: floor light grey (or its heat colour when ``overlay.values`` is set), wall dark,
    goal green, pit red, cliff brown, start light blue; goal/pit/cliff show their letter and
    reward in a corner, so the cell centre keeps the pure colour. The trail is a line of dots,
    the agent a blue disc in the centre of its cell.
    """
    pygame = rendering.import_pygame()
    overlay = overlay or Overlay()
    nrow, ncol = dynamics.nrow, dynamics.ncol
    px = frame_cell_size(nrow, ncol)
    left, top, bottom = 44, 40, 40
    width, height = left + ncol * px + 16, top + nrow * px + bottom
    surface = rendering.new_surface(width, height)
    small = max(12, px // 6)
    label = max(14, px // 5)

    def rect_of(s: int) -> tuple[int, int, int, int]:
        row, col = dynamics.coords_of(s)
        return (left + (col - 1) * px, top + (row - 1) * px, px, px)

    def center_of(s: int) -> tuple[float, float]:
        x, y, w, h = rect_of(s)
        return x + w / 2, y + h / 2

    for c in range(1, ncol + 1):
        rendering.draw_text(
            surface, str(c), (left + (c - 0.5) * px, top - 14), size=20, color=rendering.MUTED
        )
    for r in range(1, nrow + 1):
        rendering.draw_text(
            surface, str(r), (left - 16, top + (r - 0.5) * px), size=20, color=rendering.MUTED
        )
    rendering.draw_text(
        surface, "row\\col", (4, 4), size=16, color=rendering.MUTED, anchor="topleft"
    )

    values = overlay.values
    finite = values[np.isfinite(values)] if values is not None else None
    vmin = float(finite.min()) if finite is not None and finite.size else 0.0
    vmax = float(finite.max()) if finite is not None and finite.size else 0.0
    terminal = dynamics.terminal_states
    for s in range(dynamics.nS):
        row, col = dynamics.coords_of(s)
        kind = dynamics.kinds[row - 1, col - 1]
        fill = KIND_COLORS[kind]
        if values is not None and kind in (FLOOR, START) and np.isfinite(values[s]):
            fill = rendering.heat_color(values[s], vmin, vmax)
        rect = rect_of(s)
        rendering.draw_cell(surface, rect, fill, border=rendering.GRID_LINE, border_width=1)
        x, y, w, h = rect
        if kind in KIND_LABELS:
            ink = rendering.INK if kind == START else (255, 255, 255)
            rendering.draw_text(
                surface, KIND_LABELS[kind], (x + 5, y + 4), size=label, color=ink, anchor="topleft"
            )
        if kind in KIND_REWARD:
            reward = dynamics.rewards[KIND_REWARD[kind]]
            rendering.draw_text(
                surface,
                f"{reward:+g}",
                (x + w - 5, y + h - 4),
                size=label,
                color=(255, 255, 255),
                anchor="bottomright",
            )

    # trail: dots on the cells visited this episode, joined by a thin line
    if trail and len(trail) > 1:
        points = [center_of(s) for s in trail]
        pygame.draw.lines(surface, rendering.TRAIL, False, points, max(2, px // 24))
        for p in points[:-1]:
            pygame.draw.circle(surface, rendering.TRAIL, p, max(3, px // 14))

    for s in range(dynamics.nS):
        kind = dynamics.kinds.flat[s]
        if kind == WALL or s in terminal:
            continue
        x, y, w, h = rect_of(s)
        cx, cy = center_of(s)
        mask_s = dynamics.mask[s]
        if overlay.q is not None:
            best = set(greedy_actions(overlay.q[s], mask_s))
            inset = max(6, px // 14)  # keeps neighbouring cells' edge numbers apart
            spots = (
                (cx, y + small * 0.8),
                (x + w - inset, cy),
                (cx, y + h - small * 0.8),
                (x + inset, cy),
            )
            anchors = ("center", "midright", "center", "midleft")
            for a in range(len(MOVES)):
                if not mask_s[a]:
                    continue
                rendering.draw_text(
                    surface,
                    format_number(overlay.q[s, a]),
                    spots[a],
                    size=small,
                    color=rendering.INK if a in best else rendering.MUTED,
                    anchor=anchors[a],
                )
        elif values is not None and np.isfinite(values[s]):
            rendering.draw_text(
                surface,
                format_number(values[s]),
                (cx, y + h * 0.8),
                size=label,
                color=rendering.INK,
            )
        for a in overlay.arrows(s, mask_s):
            _arrow(surface, (cx, cy), a, px * 0.23, rendering.INK)  # clear of the edge numbers

    if agent is not None:
        pygame.draw.circle(surface, rendering.AGENT, center_of(agent), px * 0.2)
    if caption:
        rendering.draw_text(
            surface,
            caption,
            (left, height - bottom / 2),
            size=20,
            color=rendering.INK,
            anchor="midleft",
        )
    return surface
