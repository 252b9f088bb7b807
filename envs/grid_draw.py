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
from lecture_rl.envs.grid_maps import (
    ACTION_ARROWS,
    CLIFF,
    FLOOR,
    GOAL,
    MOVES,
    PIT,
    START,
    WALL,
)

CLIFF_COLOR: rendering.Color = (156, 54, 40)
ARROWS = ACTION_ARROWS
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
    text = f"{x:.3g}"  # three significant digits, no trailing zeros: 8.1, -5, 0.35, 12.3
    return "0" if text == "-0" else text


@dataclass
class GridLayout:
    """What the painter needs to know about a grid, whoever made it.

    ``kinds`` holds one map character per cell (see :mod:`lecture_rl.envs.grid_maps`),
    ``mask[s, a]`` says whether action ``a`` is shown in state ``s`` and ``directions[a]`` is
    the index into :data:`MOVES` that action ``a`` points to (FrozenLake orders its actions
    left, down, right, up). ``rewards`` gives the reward labels of goal, pit and cliff cells.
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
        """Whether the agent can stand in ``s`` and act: not a wall, cliff or terminal cell."""
        return self.kind(s) not in (WALL, CLIFF) and s not in self.terminal_states

    @classmethod
    def from_dynamics(cls, dynamics: Any, name: str = "") -> GridLayout:
        """The layout of our grid world (its :class:`GridDynamics`)."""
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
        """The layout of ``env``: our GridWorld, Gymnasium's FrozenLake or CliffWalking.

        Raises ``ValueError`` for any other env (the message names the supported ones).
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
            f"not {name}; watch other envs with --no-live"
        )


@dataclass
class ViewOptions:
    """Which overlay layers to draw (the viewer's toggles)."""

    values: bool = True
    q: bool = True
    policy: bool = True
    trail: bool = True
    colorbar: bool = True


def _triangle(rect: tuple[int, int, int, int], direction: int) -> list[tuple[float, float]]:
    x, y, w, h = rect
    c = (x + w / 2, y + h / 2)
    return [
        [(x, y), (x + w, y), c],
        [(x + w, y), (x + w, y + h), c],
        [(x, y + h), (x + w, y + h), c],
        [(x, y), (x, y + h), c],
    ][direction]


class GridPainter:
    """Draws a :class:`GridLayout` with value overlays, fast enough to draw every step.

    The parts that do not change between frames are made once: the background with the
    coordinates, walls, cliff, goal and pit with their reward labels (the *static layer*), the
    fonts, and every rendered number (cached by text, size and colours). Per frame it fills the
    occupiable cells (a V heat map, or four Q triangles per cell on a diverging scale centred
    on 0 and scaled to the data), writes the numbers on boxes of their own background colour
    (so the trail never runs through a digit), draws the policy, the trail and the agent.
    Nothing but the reward label is drawn in a cell the agent can never occupy.

    Layout rules that hold at every cell size (tests check them): text reaches 4.5:1
    contrast on its background; Q numbers sit in their triangle near the cell edge, the V
    number in the lower third, and arrows only in the space between (in the Q view the
    greedy triangles are outlined instead of drawing arrows over the numbers).
    """

    def __init__(self, layout: GridLayout, cell: int | None = None, colorbar: bool = True):
        self.layout = layout
        self.px = int(cell or frame_cell_size(layout.nrow, layout.ncol))
        px = self.px
        self.left = max(28, int(px * 0.35))
        self.top = max(26, int(px * 0.3))
        self.colorbar_width = max(64, int(px * 0.8)) if colorbar else 0
        self.width = self.left + layout.ncol * px + 12 + self.colorbar_width
        self.height = self.top + layout.nrow * px + 10
        self.label_size = max(12, min(28, int(px * 0.2)))
        self.q_size, self.q_max_width = self._fit_q_font()
        #: below this cell size four numbers do not fit: the triangles' colours carry Q alone
        self.q_numbers = px >= 56
        self.v_size = max(11, min(40, int(px * 0.26)))
        self._numbers: dict[tuple[Any, ...], Any] = {}
        self._static = self._draw_static()
        self._occupiable = [s for s in range(layout.nS) if layout.occupiable(s)]
        self._mask_array = np.asarray(layout.mask, dtype=bool)
        self._mask = self._mask_array.tolist()
        self._colorbar_bar: Any = None
        self._n_available = [int(sum(row)) for row in self._mask]
        self._q_spots = [[self.q_spot(s, d) for d in layout.directions] for s in range(layout.nS)]
        self._geometry: dict[tuple[int, int], tuple[list[Any], list[Any]]] = {}
        #: the diverging scale as 257 colours, index round((x + 1) · 128) for x in [-1, 1]
        self._scale_table = [rendering.diverging_color(2 * i / 256 - 1) for i in range(257)]

    def _cached_geometry(self, origin: tuple[int, int]) -> tuple[list[Any], list[Any]]:
        found = self._geometry.get(origin)
        if found is None:
            ox, oy = origin
            triangles, diagonals = [], []
            for s in range(self.layout.nS):
                x, y, w, h = self.rect_of(s)
                rect = (x + ox, y + oy, w, h)
                triangles.append([_triangle(rect, d) for d in self.layout.directions])
                diagonals.append(
                    [
                        ((x + ox, y + oy), (x + ox + w, y + oy + h)),
                        ((x + ox + w, y + oy), (x + ox, y + oy + h)),
                    ]
                )
            found = (triangles, diagonals)
            self._geometry[origin] = found
        return found

    def _triangles(self, origin: tuple[int, int]) -> list[Any]:
        """Per state and action, the Q triangle's corners on the target (cached per origin)."""
        return self._cached_geometry(origin)[0]

    def _diagonals(self, origin: tuple[int, int]) -> list[Any]:
        return self._cached_geometry(origin)[1]

    # ----- geometry ---------------------------------------------------------------------
    def rect_of(self, s: int) -> tuple[int, int, int, int]:
        row, col = self.layout.coords_of(s)
        return (self.left + (col - 1) * self.px, self.top + (row - 1) * self.px, self.px, self.px)

    def center_of(self, s: int) -> tuple[float, float]:
        x, y, w, h = self.rect_of(s)
        return x + w / 2, y + h / 2

    def _fit_q_font(self) -> tuple[int, int]:
        """The largest Q-number font whose widest usual number fits a third of the cell."""
        max_width = int(self.px * 0.36)
        size = max(9, min(26, int(self.px * 0.24)))
        while size > 9 and rendering.font(size).size("-88.8")[0] > max_width:
            size -= 1
        return size, max_width

    def q_spot(self, s: int, direction: int) -> tuple[str, tuple[float, float]]:
        """Anchor and position of the Q number of ``direction`` in cell ``s``."""
        x, y, w, h = self.rect_of(s)
        cx, cy = x + w / 2, y + h / 2
        inset = max(3, self.px // 20)
        return [
            ("midtop", (cx, y + inset)),
            ("midright", (x + w - inset, cy)),
            ("midbottom", (cx, y + h - inset)),
            ("midleft", (x + inset, cy)),
        ][direction]

    def v_spot(self, s: int) -> tuple[float, float]:
        x, y, w, h = self.rect_of(s)
        return x + w / 2, y + h - max(3, self.px // 20)

    def arrow_box(self, s: int) -> tuple[tuple[float, float], float]:
        """Centre and arm length of the policy arrows in the V view: above the V number."""
        x, y, w, h = self.rect_of(s)
        number_top = self.v_spot(s)[1] - rendering.font(self.v_size).get_height()
        cy = y + (number_top - y) / 2 + 1
        arm = min(w * 0.3, (number_top - y) / 2 - 3)
        return (x + w / 2, cy), max(4.0, arm)

    # ----- cached pieces ----------------------------------------------------------------
    def number(self, text: str, size: int, background: rendering.Color, max_width: int) -> Any:
        """A rendered number on a box of ``background`` (cached); shrinks to ``max_width``."""
        key = (text, size, background, max_width)
        image = self._numbers.get(key)
        if image is None:
            pygame = rendering.import_pygame()
            ink = rendering.readable_on(background)
            fit = size
            while fit > 8 and rendering.font(fit).size(text)[0] > max_width:
                fit -= 1
            glyphs = rendering.font(fit).render(text, True, ink, background)
            pad = 2
            image = pygame.Surface((glyphs.get_width() + 2 * pad, glyphs.get_height()))
            image.fill(background)
            image.blit(glyphs, (pad, 0))
            self._numbers[key] = image
            if len(self._numbers) > 20000:
                self._numbers.clear()
        return image

    def _draw_static(self) -> Any:
        layout, px = self.layout, self.px
        surface = rendering.new_surface(self.width, self.height)
        size = max(12, min(22, int(px * 0.22)))
        for c in range(1, layout.ncol + 1):
            rendering.draw_text(
                surface,
                str(c),
                (self.left + (c - 0.5) * px, self.top / 2),
                size=size,
                color=rendering.LABEL,
            )
        for r in range(1, layout.nrow + 1):
            rendering.draw_text(
                surface,
                str(r),
                (self.left / 2, self.top + (r - 0.5) * px),
                size=size,
                color=rendering.LABEL,
            )
        labels = {**KIND_LABELS, **(layout.labels or {})}
        for s in range(layout.nS):
            kind = layout.kind(s)
            fill = KIND_COLORS[kind]
            rect = self.rect_of(s)
            rendering.draw_cell(surface, rect, fill, border=rendering.GRID_LINE)
            x, y, w, h = rect
            ink = rendering.readable_on(fill)
            if kind in labels and (kind != START or px >= 40):
                rendering.draw_text(
                    surface,
                    labels[kind],
                    (x + 4, y + 3),
                    size=self.label_size,
                    color=ink,
                    anchor="topleft",
                )
            if kind in KIND_REWARD and layout.rewards.get(KIND_REWARD[kind]):
                rendering.draw_text(
                    surface,
                    f"{layout.rewards[KIND_REWARD[kind]]:+g}",
                    (x + w - 4, y + h - 3),
                    size=self.label_size,
                    color=ink,
                    anchor="bottomright",
                )
        return surface

    # ----- the frame --------------------------------------------------------------------
    def draw(
        self,
        overlay: Overlay | None = None,
        agent: int | None = None,
        trail: list[int] | None = None,
        *,
        flash: tuple[int, int | None] | None = None,
        options: ViewOptions | None = None,
        target: Any = None,
        origin: tuple[int, int] = (0, 0),
    ) -> Any:
        """Draw one frame on ``target`` (a new surface when ``None``) at ``origin``.

        ``flash`` is the ``(s, a)`` just updated (``a`` None for a state value): its triangle
        or cell gets a thick highlight outline.
        """
        pygame = rendering.import_pygame()
        layout, px = self.layout, self.px
        options = options or ViewOptions()
        overlay = overlay or Overlay()
        if target is None:
            target = pygame.Surface((self.width, self.height))
        ox, oy = origin
        target.blit(self._static, origin)
        q = overlay.q if options.q else None
        values = overlay.values if options.values else None
        bound = max(
            rendering.scale_bound(q) if q is not None else 0.0,
            rendering.scale_bound(values) if values is not None else 0.0,
        )
        inv = 1.0 / bound if bound > 0 else 0.0
        polygon = pygame.draw.polygon
        blit = target.blit
        occupiable = self._occupiable
        triangles = self._triangles(origin)
        table = self._scale_table
        levels = len(table) - 1
        q_colors = v_colors = None
        if q is not None:  # colour index of every entry at once: round((x + 1) / 2 · levels)
            q_idx = np.rint((np.clip(np.nan_to_num(q) * inv, -1, 1) + 1) * (levels / 2))
            q_colors = q_idx.astype(np.int64).tolist()
        if values is not None:
            v_idx = np.rint((np.clip(np.nan_to_num(values) * inv, -1, 1) + 1) * (levels / 2))
            v_colors = v_idx.astype(np.int64).tolist()
        mask = self._mask
        best_table = None
        if q is not None and options.policy:  # greedy sets of every state at once
            masked = np.where(self._mask_array, q, -np.inf)
            best_table = (masked >= masked.max(axis=1, keepdims=True) - 1e-9).tolist()
        for s in occupiable:
            if q_colors is not None:
                row = q_colors[s]
                cell_triangles = triangles[s]
                for a in range(layout.nA):
                    if mask[s][a]:
                        polygon(target, table[row[a]], cell_triangles[a])
                for start, end in self._diagonals(origin)[s]:
                    pygame.draw.line(target, rendering.GRID_LINE, start, end)
            elif v_colors is not None and np.isfinite(values[s]):
                x, y, w, h = self.rect_of(s)
                pygame.draw.rect(target, table[v_colors[s]], (x + ox + 1, y + oy + 1, w - 1, h - 1))
        if options.trail and trail and len(trail) > 1:
            width, dot = max(2, px // 24), max(3, px // 16)
            ncol = layout.ncol
            segment = [trail[0]]
            for s in [*trail[1:], None]:
                prev = segment[-1]
                # a jump (the cliff sends the agent back to the start) breaks the line, so it
                # never runs through cells the agent cannot occupy
                if (
                    s is not None
                    and abs(s // ncol - prev // ncol) + abs(s % ncol - prev % ncol) <= 1
                ):
                    segment.append(s)
                    continue
                points = [(cx + ox, cy + oy) for cx, cy in (self.center_of(t) for t in segment)]
                if len(points) > 1:
                    pygame.draw.lines(target, rendering.TRAIL, False, points, width)
                for p in points[:-1] if s is None else points:
                    pygame.draw.circle(target, rendering.TRAIL, p, dot)
                if s is not None:
                    segment = [s]
        for s in occupiable:
            if q_colors is not None:
                row = q_colors[s]
                best_row = best_table[s] if best_table is not None else None
                n_best = sum(best_row) if best_row is not None else 0
                show_best = 0 < n_best < self._n_available[s]
                for a in range(layout.nA):
                    if not mask[s][a]:
                        continue
                    if show_best and best_row[a]:
                        polygon(target, rendering.INK, triangles[s][a], max(2, px // 40))
                    if not self.q_numbers:
                        continue  # the cell's V number is written below instead
                    image = self.number(
                        format_number(q[s, a]), self.q_size, table[row[a]], self.q_max_width
                    )
                    anchor, (nx, ny) = self._q_spots[s][a]
                    rect = image.get_rect(**{anchor: (int(nx + ox), int(ny + oy))})
                    blit(image, rect)
                if not self.q_numbers:  # small cells: one number, V(s) = max_a Q(s, a)
                    masked_row = [q[s, a] for a in range(layout.nA) if mask[s][a]]
                    if masked_row:
                        v = max(masked_row)
                        index = int(round((max(-1.0, min(1.0, v * inv)) + 1) * (levels / 2)))
                        image = self.number(format_number(v), self.v_size, table[index], px - 4)
                        vx, vy = self.v_spot(s)  # the lower third: clear of the agent's disc
                        blit(image, image.get_rect(midbottom=(int(vx + ox), int(vy + oy))))
            else:
                if v_colors is not None and np.isfinite(values[s]):
                    image = self.number(
                        format_number(values[s]), self.v_size, table[v_colors[s]], int(px * 0.9)
                    )
                    vx, vy = self.v_spot(s)
                    blit(image, image.get_rect(midbottom=(int(vx + ox), int(vy + oy))))
                if options.policy:
                    (cx, cy), arm = self.arrow_box(s)
                    for a in overlay.arrows(s, layout.mask[s]):
                        _arrow(target, (cx + ox, cy + oy), layout.directions[a], arm, rendering.INK)
        if q is not None or values is not None:  # the start's letter stays on top of fills
            size = self.label_size
            for s in occupiable:
                if layout.kind(s) == START and px >= 40:
                    x, y, _, _ = self.rect_of(s)
                    image = self.number("S", size, rendering.START, px)
                    blit(image, (x + ox + 2, y + oy + 2))
        if flash is not None:
            s, a = flash
            if 0 <= s < layout.nS:
                x, y, w, h = self.rect_of(s)
                width = max(4, px // 14)
                if a is not None and q is not None and 0 <= a < layout.nA:
                    polygon(target, rendering.HIGHLIGHT, triangles[s][a], width)
                else:
                    pygame.draw.rect(target, rendering.HIGHLIGHT, (x + ox, y + oy, w, h), width)
        if agent is not None and 0 <= agent < layout.nS:
            cx, cy = self.center_of(agent)
            pygame.draw.circle(target, rendering.AGENT, (cx + ox, cy + oy), px * 0.12)
            pygame.draw.circle(target, (255, 255, 255), (cx + ox, cy + oy), px * 0.12, 2)
        if options.colorbar and self.colorbar_width and (q is not None or values is not None):
            self._colorbar(target, bound, (ox, oy))
        return target

    def _colorbar(self, target: Any, bound: float, origin: tuple[int, int]) -> None:
        """A vertical bar of the diverging scale with its ends and 0 labelled."""
        pygame = rendering.import_pygame()
        ox, oy = origin
        x = ox + self.left + self.layout.ncol * self.px + 12
        height = max(60, min(self.layout.nrow * self.px - 20, 320))
        y0 = oy + self.top + 10
        bar_w = 14
        if self._colorbar_bar is None:  # the gradient is static: drawn once
            bar = pygame.Surface((bar_w, height))
            for i in range(height):
                t = 1.0 - 2.0 * (i + 0.5) / height
                pygame.draw.line(bar, rendering.diverging_color(t), (0, i), (bar_w, i))
            pygame.draw.rect(bar, rendering.GRID_LINE, (0, 0, bar_w, height), 1)
            self._colorbar_bar = bar
        target.blit(self._colorbar_bar, (x, y0))
        size = max(12, min(18, self.label_size))
        for t, text in ((1, f"{bound:+.3g}"), (0, "0"), (-1, f"{-bound:+.3g}")):
            y = y0 + (1 - t) / 2 * height
            rendering.draw_text(
                target, text, (x + bar_w + 4, y), size=size, color=rendering.INK, anchor="midleft"
            )


_PAINTERS: dict[int, tuple[Any, GridPainter]] = {}


def painter_for(dynamics: Any) -> GridPainter:
    """A cached :class:`GridPainter` for one :class:`GridDynamics` (env frames reuse it)."""
    key = id(dynamics)
    found = _PAINTERS.get(key)
    if found is None or found[0] is not dynamics:
        if len(_PAINTERS) > 32:
            _PAINTERS.clear()
        found = (dynamics, GridPainter(GridLayout.from_dynamics(dynamics)))
        _PAINTERS[key] = found
    return found[1]


def _arrow(surface: Any, center: tuple[float, float], direction: int, length: float, color) -> None:
    pygame = rendering.import_pygame()
    d_row, d_col = MOVES[direction]
    cx, cy = center
    start = (cx + d_col * length * 0.15, cy + d_row * length * 0.15)
    tip = (cx + d_col * length, cy + d_row * length)
    width = max(2, int(length / 7))
    head = length * 0.45
    base = (tip[0] - d_col * head, tip[1] - d_row * head)
    pygame.draw.line(surface, color, start, base, width)
    px, py = -d_row, d_col  # two barbs, perpendicular to the shaft
    pygame.draw.polygon(
        surface,
        color,
        [
            tip,
            (base[0] + px * head * 0.6, base[1] + py * head * 0.6),
            (base[0] - px * head * 0.6, base[1] - py * head * 0.6),
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
    Drawn by a cached :class:`GridPainter` (see there for the overlay rules); goal/pit/cliff
    show their letter and reward, the trail is a line of dots, the agent a blue disc.
    """
    painter = painter_for(dynamics)
    bottom = 36 if caption else 0
    surface = rendering.new_surface(painter.width, painter.height + bottom)
    painter.draw(overlay, agent, trail, target=surface)
    if caption:
        rendering.draw_text(
            surface,
            caption,
            (painter.left, painter.height + bottom / 2),
            size=20,
            color=rendering.INK,
            anchor="midleft",
        )
    return surface
