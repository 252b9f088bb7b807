"""The live view of a grid: per lane the grid with its Q triangles, and the update panel.

Description:
    `GridCanvas` draws each lane's pane: the grid (`envs.grid_draw.GridPainter`: values, Q
    triangles on a diverging scale, greedy arrows, the trail, the agent, the updated (s, a)
    flashing), then beside it the status lines (`hud`), the last update in the notes' notation
    (`panel.update_lines`) and the return per episode; the keys' legend runs along the bottom.
    Two lanes are stacked, each a little smaller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lecture_rl.envs import rendering
from lecture_rl.envs.grid_draw import GridPainter
from lecture_rl.envs.grid_layout import GridLayout, frame_cell_size
from lecture_rl.runners.viewer import hud, panel
from lecture_rl.runners.viewer.controls import LEGEND, Controls

PANEL_WIDTH = 420
PANEL_HEIGHT = 392
LEGEND_HEIGHT = 66
WORDS = ("up", "right", "down", "left")


class GridCanvas:
    """Draws grid lanes (see the module docstring); `build` sizes it, `render` draws."""

    def __init__(self, env_label: str):
        self.env_label = env_label
        self.painters: list[GridPainter] = []
        self.canvas: Any = None
        self.pane_height = 0

    def build(self, lanes: list[Any], scale: float) -> Any:
        """Size the cells (and their fonts) for `scale`; returns the new canvas."""
        layouts = [lane.layout for lane in lanes]
        base = frame_cell_size(layouts[0].nrow, layouts[0].ncol)
        if len(lanes) > 1:
            base = int(base * 0.85)
        px = max(24, int(base * scale))
        self.painters = [GridPainter(layout, px) for layout in layouts]
        p = self.painters[0]
        self.pane_height = max(p.height, PANEL_HEIGHT)
        width = p.width + PANEL_WIDTH
        height = self.pane_height * len(lanes) + LEGEND_HEIGHT
        self.canvas = rendering.new_surface(width, height)
        return self.canvas

    def render(self, lanes: list[Any], controls: Controls, prompt: str = "") -> Any:
        """Draw every pane, the HUD, the panel and the legend on the canvas; returns it."""
        canvas = self.canvas
        canvas.fill(rendering.BACKGROUND)
        for i, (lane, painter) in enumerate(zip(lanes, self.painters)):
            top = i * self.pane_height
            st = lane.state
            flash = None
            if st.update is not None and st.mode == "learning":
                flash = (int(st.update.s), None if st.update.a is None else int(st.update.a))
            painter.draw(
                lane.overlay(),
                st.pos,
                st.trail,
                flash=flash,
                options=controls.options,
                target=canvas,
                origin=(0, top),
            )
            self._draw_panel(lane, controls, (painter.width, top + 6))
        draw_legend(canvas, controls, prompt, LEGEND_HEIGHT)
        return canvas

    def hud_lines(self, lane: Any, controls: Controls) -> list[hud.Line]:
        """The status lines of one pane (env, agent, episode, step, return, α γ ε, mode...)."""

        def word(a: Any) -> str:
            directions = lane.layout.directions
            return WORDS[directions[a]] if isinstance(a, int) and 0 <= a < len(directions) else "?"

        return hud.hud_lines(lane, self.env_label, controls, word)

    @staticmethod
    def cell_name(layout: GridLayout) -> Callable[[int], str]:
        """A state as the notes write it: its 1-indexed (row, col)."""
        return lambda s: "({},{})".format(*layout.coords_of(int(s)))

    def _draw_panel(self, lane: Any, controls: Controls, origin: tuple[int, int]) -> None:
        x, y = origin
        lines = self.hud_lines(lane, controls)
        y = panel.draw_lines(self.canvas, lines, (x, y), size=15, spacing=1.3)
        y += 4
        update = lane.state.update
        if update is not None and lane.state.mode == "learning":
            lines = panel.update_lines(
                update,
                self.cell_name(lane.layout),
                rule=getattr(lane.agent, "name", ""),
                action_arrows=[("↑", "→", "↓", "←")[d] for d in lane.layout.directions],
            )
            y = panel.draw_lines(self.canvas, lines, (x, y), size=15, spacing=1.3)
        else:
            y = panel.draw_lines(
                self.canvas, [("greedy run: no learning", rendering.LABEL)], (x, y), size=15
            )
        plot_top = origin[1] + PANEL_HEIGHT - 122
        panel.draw_returns(self.canvas, (x, plot_top, PANEL_WIDTH - 16, 110), lane.returns)


def draw_legend(
    canvas: Any,
    controls: Controls,
    prompt: str,
    height: int,
    legend: tuple[tuple[str, str], ...] = LEGEND,
) -> None:
    """The bottom `height` pixels: `prompt` if any, else the keys (or "h: help")."""
    y0 = canvas.get_height() - height + 6
    if prompt:
        panel.draw_text(canvas, prompt, (12, y0 + 20), size=20, color=rendering.INK)
        return
    if not controls.legend:
        panel.draw_text(canvas, "h: help", (12, y0), size=14, color=rendering.LABEL)
        return
    columns = 4
    width = (canvas.get_width() - 24) // columns
    for i, (key, what) in enumerate(legend):
        x = 12 + (i % columns) * width
        y = y0 + (i // columns) * 22
        rect = panel.draw_text(canvas, key, (x, y), size=14, color=rendering.INK)
        panel.draw_text(canvas, what, (rect.right + 6, y), size=14, color=rendering.LABEL)
