"""Drawing the grid world: the rendered frame, in the style of a lecture figure.

Description:
    `draw_grid` draws labelled 1-indexed coordinates, walls, goal, pit, cliff, start, the agent
    and its trail with the shared primitives of `lecture_rl.envs.rendering`, plus an optional
    `grid_overlay.Overlay` (a per-state value heat map, per-action numbers at the cell edges,
    greedy arrows from the cell centre). What a grid is lives in `grid_layout`, its `image`
    observations and `ansi` text in `grid_images`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.envs import rendering
from lecture_rl.envs.grid_layout import (
    KIND_COLORS,
    KIND_LABELS,
    KIND_REWARD,
    GridLayout,
    frame_cell_size,
)
from lecture_rl.envs.grid_maps import MOVES, START
from lecture_rl.envs.grid_overlay import Overlay, ViewOptions, format_number


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
    """Draws a `GridLayout` with value overlays, fast enough to draw every step.

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
        """Anchor and position of the Q number of `direction` in cell `s`."""
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
        """A rendered number on a box of `background` (cached); shrinks to `max_width`."""
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
        """Draw one frame on `target` (a new surface when `None`) at `origin`.

        The layers, bottom to top: the static grid, the overlay's colours (Q triangles or the V
        heat map), the trail, the overlay's numbers and arrows, the start's letter, the
        highlight of `flash` (the `(s, a)` just updated; `a` None for a state value: its
        triangle or cell gets a thick outline), the agent and the colour bar.
        """
        pygame = rendering.import_pygame()
        options = options or ViewOptions()
        overlay = overlay or Overlay()
        if target is None:
            target = pygame.Surface((self.width, self.height))
        target.blit(self._static, origin)
        q = overlay.q if options.q else None
        values = overlay.values if options.values else None
        bound = max(
            rendering.scale_bound(q) if q is not None else 0.0,
            rendering.scale_bound(values) if values is not None else 0.0,
        )
        inv = 1.0 / bound if bound > 0 else 0.0
        q_colors = None if q is None else self._color_indices(q, inv)
        v_colors = None if values is None else self._color_indices(values, inv)
        self._fill_cells(target, origin, q_colors, v_colors, values)
        if options.trail and trail and len(trail) > 1:
            self._draw_trail(target, origin, trail)
        if q is not None:
            self._write_q(target, origin, q, q_colors, inv, greedy_outlines=options.policy)
        else:
            self._write_values_and_arrows(
                target, origin, values, v_colors, overlay if options.policy else None
            )
        if q is not None or values is not None:
            self._relabel_start(target, origin)
        if flash is not None:
            self._draw_flash(target, origin, flash, q is not None)
        if agent is not None and 0 <= agent < self.layout.nS:
            ox, oy = origin
            cx, cy = self.center_of(agent)
            pygame.draw.circle(target, rendering.AGENT, (cx + ox, cy + oy), self.px * 0.12)
            pygame.draw.circle(target, (255, 255, 255), (cx + ox, cy + oy), self.px * 0.12, 2)
        if options.colorbar and self.colorbar_width and (q is not None or values is not None):
            self._colorbar(target, bound, origin)
        return target

    # ----- the overlay's layers -----------------------------------------------------------
    def _color_indices(self, x: np.ndarray, inv: float) -> list[Any]:
        """Every entry's index into the diverging scale at once: round((x/bound + 1)/2 · levels)."""
        levels = len(self._scale_table) - 1
        index = np.rint((np.clip(np.nan_to_num(x) * inv, -1, 1) + 1) * (levels / 2))
        return index.astype(np.int64).tolist()

    def _fill_cells(self, target: Any, origin: tuple[int, int], q_colors, v_colors, values) -> None:
        """Four Q triangles per occupiable cell (with their diagonals), else the V heat map."""
        pygame = rendering.import_pygame()
        polygon, table, mask = pygame.draw.polygon, self._scale_table, self._mask
        triangles = self._triangles(origin)
        ox, oy = origin
        for s in self._occupiable:
            if q_colors is not None:
                row = q_colors[s]
                cell_triangles = triangles[s]
                for a in range(self.layout.nA):
                    if mask[s][a]:
                        polygon(target, table[row[a]], cell_triangles[a])
                for start, end in self._diagonals(origin)[s]:
                    pygame.draw.line(target, rendering.GRID_LINE, start, end)
            elif v_colors is not None and np.isfinite(values[s]):
                x, y, w, h = self.rect_of(s)
                pygame.draw.rect(target, table[v_colors[s]], (x + ox + 1, y + oy + 1, w - 1, h - 1))

    def _draw_trail(self, target: Any, origin: tuple[int, int], trail: list[int]) -> None:
        """The agent's path as a line of dots; a jump (the cliff sends the agent back to the
        start) breaks the line, so it never runs through cells the agent cannot occupy."""
        pygame = rendering.import_pygame()
        px, ncol = self.px, self.layout.ncol
        ox, oy = origin
        width, dot = max(2, px // 24), max(3, px // 16)
        segment = [trail[0]]
        for s in [*trail[1:], None]:
            prev = segment[-1]
            if s is not None and abs(s // ncol - prev // ncol) + abs(s % ncol - prev % ncol) <= 1:
                segment.append(s)
                continue
            points = [(cx + ox, cy + oy) for cx, cy in (self.center_of(t) for t in segment)]
            if len(points) > 1:
                pygame.draw.lines(target, rendering.TRAIL, False, points, width)
            for p in points[:-1] if s is None else points:
                pygame.draw.circle(target, rendering.TRAIL, p, dot)
            if s is not None:
                segment = [s]

    def _write_q(
        self,
        target: Any,
        origin: tuple[int, int],
        q: np.ndarray,
        q_colors: list[Any],
        inv: float,
        *,
        greedy_outlines: bool,
    ) -> None:
        """The Q numbers near the cell edges and the greedy triangles outlined; in cells too
        small for four numbers, one: V(s) = max_a Q(s, a), in the lower third."""
        pygame = rendering.import_pygame()
        layout, px, table, mask = self.layout, self.px, self._scale_table, self._mask
        levels = len(table) - 1
        triangles = self._triangles(origin)
        ox, oy = origin
        best_table = None
        if greedy_outlines:  # greedy sets of every state at once
            masked = np.where(self._mask_array, q, -np.inf)
            best_table = (masked >= masked.max(axis=1, keepdims=True) - 1e-9).tolist()
        for s in self._occupiable:
            row = q_colors[s]
            best_row = best_table[s] if best_table is not None else None
            n_best = sum(best_row) if best_row is not None else 0
            show_best = 0 < n_best < self._n_available[s]
            for a in range(layout.nA):
                if not mask[s][a]:
                    continue
                if show_best and best_row[a]:
                    pygame.draw.polygon(target, rendering.INK, triangles[s][a], max(2, px // 40))
                if not self.q_numbers:
                    continue  # the cell's V number is written below instead
                image = self.number(
                    format_number(q[s, a]), self.q_size, table[row[a]], self.q_max_width
                )
                anchor, (nx, ny) = self._q_spots[s][a]
                target.blit(image, image.get_rect(**{anchor: (int(nx + ox), int(ny + oy))}))
            if not self.q_numbers:
                masked_row = [q[s, a] for a in range(layout.nA) if mask[s][a]]
                if masked_row:
                    v = max(masked_row)
                    index = int(round((max(-1.0, min(1.0, v * inv)) + 1) * (levels / 2)))
                    image = self.number(format_number(v), self.v_size, table[index], px - 4)
                    vx, vy = self.v_spot(s)  # the lower third: clear of the agent's disc
                    target.blit(image, image.get_rect(midbottom=(int(vx + ox), int(vy + oy))))

    def _write_values_and_arrows(
        self,
        target: Any,
        origin: tuple[int, int],
        values: np.ndarray | None,
        v_colors: list[Any] | None,
        policy: Overlay | None,
    ) -> None:
        """The V number in each cell's lower third and the policy's arrows above it."""
        table, px = self._scale_table, self.px
        ox, oy = origin
        for s in self._occupiable:
            if v_colors is not None and np.isfinite(values[s]):
                image = self.number(
                    format_number(values[s]), self.v_size, table[v_colors[s]], int(px * 0.9)
                )
                vx, vy = self.v_spot(s)
                target.blit(image, image.get_rect(midbottom=(int(vx + ox), int(vy + oy))))
            if policy is not None:
                (cx, cy), arm = self.arrow_box(s)
                for a in policy.arrows(s, self.layout.mask[s]):
                    direction = self.layout.directions[a]
                    _arrow(target, (cx + ox, cy + oy), direction, arm, rendering.INK)

    def _relabel_start(self, target: Any, origin: tuple[int, int]) -> None:
        """The start's letter stays on top of the overlay's fills."""
        if self.px < 40:
            return
        ox, oy = origin
        for s in self._occupiable:
            if self.layout.kind(s) == START:
                x, y, _, _ = self.rect_of(s)
                image = self.number("S", self.label_size, rendering.START, self.px)
                target.blit(image, (x + ox + 2, y + oy + 2))

    def _draw_flash(
        self, target: Any, origin: tuple[int, int], flash: tuple[int, int | None], q_shown: bool
    ) -> None:
        """A thick outline around the triangle (or the cell) just updated."""
        pygame = rendering.import_pygame()
        s, a = flash
        if not 0 <= s < self.layout.nS:
            return
        ox, oy = origin
        x, y, w, h = self.rect_of(s)
        width = max(4, self.px // 14)
        if a is not None and q_shown and 0 <= a < self.layout.nA:
            pygame.draw.polygon(target, rendering.HIGHLIGHT, self._triangles(origin)[s][a], width)
        else:
            pygame.draw.rect(target, rendering.HIGHLIGHT, (x + ox, y + oy, w, h), width)

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
    """A cached `GridPainter` for one `GridDynamics` (env frames reuse it)."""
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
    Drawn by a cached `GridPainter` (see there for the overlay rules); goal/pit/cliff
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
