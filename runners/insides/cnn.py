"""The insides of a CNN that sees a grid as pixels: saliency per cell and first-layer maps.

Description:
    `draw_cnn` draws, for a few steps of `Insides`
    (one column per step, `cnn_columns` picks them):

    1. the policy π(a|s) and V(s) over every step (the strip of the other nets' figures), the
       drawn steps ticked;
    2. the input x: the picture the network read (the grid, the agent as a square);
    3. the saliency of the taken action a: S(cell) = Σ_{pixels in cell} Σ_c |∂y/∂x_c| with
       y the score of a (the actor's logit, or Q(s, a) for DQN), shown as the share of the
       step's total (%) so the cells of a step sum to 100; the number is in its cell, in black
       or white, whichever contrasts more;
    4. per picked channel k of the first layer (notes 000 §1.a, H = ReLU(X * K + b)), its
       feature map at the layer's own resolution, stretched over the same cells.

    Images carry `gid` `"input-t{t}"`, `"saliency-t{t}"` and `"conv1-ch{k}-t{t}"`.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from lecture_rl.runners.insides.record import Insides

PANEL = 1.75  # inches: the long side of one step's picture, unless its cells need more
MIN_CELL = 0.3  # inches: room for a two-digit number in a cell
CELL_LINE = "#8c8c8c"


def panel_size(ins: Insides) -> tuple[float, float, float]:
    """`(width, height, cell)` in inches of one step's picture: `PANEL` on its long side,
    or more so each grid cell is at least `MIN_CELL` (at most 3.6 inches wide)."""
    rows, cols = ins.grid if ins.grid is not None else np.asarray(ins.obs[0]).shape[:2]
    cell = PANEL / max(rows, cols)
    if ins.grid is not None:
        cell = min(max(cell, MIN_CELL), 3.6 / cols)
    return cell * cols, cell * rows, cell


def cnn_columns(ins: Insides, latest: bool = False) -> list[int]:
    """The steps to draw: up to 6 spread evenly over all, first and last included (`latest`:
    the last 4, the live panel's scrolling strip); fewer where the grid is wide (about 12
    inches of pictures in all)."""
    most = max(2, min(4 if latest else 6, int(12.0 // panel_size(ins)[0])))
    steps = ins.steps
    if steps <= most:
        return list(range(steps))
    if latest:
        return list(range(steps - most, steps))
    return sorted({int(t) for t in np.linspace(0, steps - 1, most).round()})


def saliency_share(ins: Insides, t: int) -> np.ndarray:
    """Step `t`'s saliency per cell (or pixel) as % of its total: what the figure draws."""
    s = np.asarray(ins.saliency()[t], dtype=np.float64)
    total = s.sum()
    return 100.0 * s / total if total > 0 else np.zeros_like(s)


def _extent(ins: Insides, image: np.ndarray) -> tuple[float, float, float, float]:
    """Cells are unit squares centred on integers, whatever the image's resolution."""
    rows, cols = ins.grid if ins.grid is not None else image.shape[:2]
    return (-0.5, cols - 0.5, rows - 0.5, -0.5)


def _cell_lines(ax: Any, ins: Insides, color: str = CELL_LINE) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_anchor("E")  # a square panel in a wider column keeps to the colour bars' side
    if ins.grid is None:
        return
    rows, cols = ins.grid
    for r in range(1, rows):
        ax.axhline(r - 0.5, color=color, lw=0.6)
    for c in range(1, cols):
        ax.axvline(c - 0.5, color=color, lw=0.6)


def _step_title(ins: Insides, t: int) -> str:
    episode = int(np.cumsum(ins.episode_starts)[t])
    start = int(np.flatnonzero(ins.episode_starts[: t + 1])[-1])
    text = f"step {t - start}: {ins.action_label(ins.actions[t])}"
    if ins.rewards[t] != 0:
        text += f"  r={ins.rewards[t]:+g}"
    return f"ep {episode}, {text}" if ins.episode_starts.sum() > 1 else text


def _numbers(ax: Any, values: np.ndarray, image: Any, size: float) -> None:
    from lecture_rl.runners.insides.common import text_colour

    for (r, c), v in np.ndenumerate(values):
        colour = text_colour(image.cmap(image.norm(v)))
        ax.text(c, r, f"{v:.0f}", ha="center", va="center", fontsize=size, color=colour)


def _wrap(text: str, width: float) -> str:
    """`text` in lines that fit `width` inches at 9 pt (about 11 characters an inch)."""
    return textwrap.fill(text, max(30, int(width * 11)))


def _header(ax: Any, text: str) -> None:
    """A section's title, on a text-only row spanning the steps (so no panel moves for it)."""
    ax.axis("off")
    label = ax.text(0.0, 0.0, text, transform=ax.transAxes, fontsize=9, ha="left", va="bottom")
    label.set_in_layout(False)  # wrapped to the figure's width; the layout need not widen


def _input_row(axes: list[Any], ins: Insides, columns: list[int]) -> None:
    for ax, t in zip(axes, columns):
        obs = np.asarray(ins.obs[t])
        image = ax.imshow(obs, interpolation="nearest", extent=_extent(ins, obs))
        image.set_gid(f"input-t{t}")
        _cell_lines(ax, ins, "#ffffff")
        ax.set_title(_step_title(ins, t), fontsize=8)
    axes[0].set_ylabel("input x", fontsize=8)


def _saliency_row(axes: list[Any], cax: Any, ins: Insides, columns: list[int]) -> None:
    cell = panel_size(ins)[2]
    shares = [saliency_share(ins, t) for t in columns]
    top = max(1e-9, max(float(s.max()) for s in shares))
    image = None
    for ax, t, share in zip(axes, columns, shares):
        image = ax.imshow(
            share, cmap="inferno", vmin=0.0, vmax=top, interpolation="nearest",
            extent=_extent(ins, share),
        )  # fmt: skip
        image.set_gid(f"saliency-t{t}")
        _cell_lines(ax, ins)
        if ins.grid is not None and cell >= 0.2:  # the numbers only where they fit
            _numbers(ax, share, image, 7 if cell >= 0.35 else 6)
    axes[0].set_ylabel("saliency (%)", fontsize=8)
    bar = axes[0].figure.colorbar(image, cax=cax)
    bar.set_label("% of the step", fontsize=7)
    bar.ax.tick_params(labelsize=7)


def _feature_row(axes: list[Any], cax: Any, ins: Insides, columns: list[int], k: int) -> None:
    maps = ins.trace["conv1"]  # [T, F, H', W']
    top = max(1e-9, float(maps[columns, k].max()))
    image = None
    for ax, t in zip(axes, columns):
        fmap = maps[t, k]
        image = ax.imshow(
            fmap, cmap="viridis", vmin=0.0, vmax=top, interpolation="nearest",
            extent=_extent(ins, fmap),
        )  # fmt: skip
        image.set_gid(f"conv1-ch{k}-t{t}")
        _cell_lines(ax, ins, "#ffffff80")
    axes[0].set_ylabel(f"conv1 ch {k}", fontsize=8)
    bar = axes[0].figure.colorbar(image, cax=cax)
    bar.set_label("H", fontsize=7)
    bar.ax.tick_params(labelsize=7)


def draw_cnn(ins: Insides, title: str = "", columns: list[int] | None = None, latest: bool = False):
    """A matplotlib `Figure` of a CNN's insides (see the module docstring): `columns` the
    steps to draw (default: `cnn_columns`)."""
    from matplotlib.figure import Figure

    from lecture_rl.runners.insides.common import VALUE_ROW, _policy

    side_w, side_h, _ = panel_size(ins)
    columns = cnn_columns(ins, latest) if columns is None else list(columns)
    score = "logit(a)" if ins.score == "logit" else "Q(s, a)"
    n, channels = len(columns), [int(k) for k in ins.units]
    width = max(5.6, n * (side_w + 0.15) + 2.0)
    text_width = width - 0.8
    per = "per grid cell" if ins.grid is not None else "per pixel"
    headers = [
        _wrap("input x: what the network saw (the agent is the square)", text_width),
        _wrap(
            f"saliency of the action taken a: Σ |∂ {score} / ∂x| {per} (over its pixels and "
            "colour channels), as % of the step's total; bright: what the choice depends on most",
            text_width,
        ),
    ]
    if channels:
        h, w = ins.trace["conv1"].shape[-2:]
        headers.append(_wrap(
            f"first layer's feature maps H = ReLU(X∗K + b), {h}×{w} drawn on the same cells: the "
            f"{len(channels)} of {ins.trace['conv1'].shape[1]} channels with the most "
            f"{ins.picked_by}",
            text_width,
        ))  # fmt: skip
    lines = [0.08 + 0.17 * (h.count("\n") + 1) for h in headers]
    # the policy strip, then V(s) in its own row (the line never crosses a number)
    heights = [1.2, 1.2 * VALUE_ROW, lines[0], side_h + 0.25, lines[1], side_h]
    if channels:
        heights += [lines[2]] + [side_h] * len(channels)
    fig = Figure(figsize=(width, sum(heights) + 0.6 + (0.35 if title else 0.0)))
    fig.set_layout_engine("constrained")
    grid = fig.add_gridspec(len(heights), n + 1, height_ratios=heights,
                            width_ratios=[1.0] * n + [0.07])  # fmt: skip

    value_ax = fig.add_subplot(grid[1, :n])
    _policy(fig.add_subplot(grid[0, :n]), ins, value_ax)
    value_ax.set_xticks(columns, [str(t) for t in columns], fontsize=7)
    value_ax.set_xlabel("step (the steps drawn below are ticked)", fontsize=7)
    _header(fig.add_subplot(grid[2, :]), headers[0])
    _input_row([fig.add_subplot(grid[3, c]) for c in range(n)], ins, columns)
    _header(fig.add_subplot(grid[4, :]), headers[1])
    _saliency_row([fig.add_subplot(grid[5, c]) for c in range(n)], fig.add_subplot(grid[5, n]),
                  ins, columns)  # fmt: skip
    if channels:
        _header(fig.add_subplot(grid[6, :]), headers[2])
        for row, k in enumerate(channels):
            axes = [fig.add_subplot(grid[7 + row, c]) for c in range(n)]
            _feature_row(axes, fig.add_subplot(grid[7 + row, n]), ins, columns, k)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
