"""The insides figure of a Transformer: the attention of every layer and head.

Description:
    Under the shared rows (`common`), per layer and head, the attention of each query
    step (row) on the steps so far (columns), so a recall step's row lights up over the tape
    cell of its symbol. Images carry `gid` `"attention-l{layer}-h{head}"`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.runners.insides.common import top_ratios, top_rows
from lecture_rl.runners.insides.record import Insides


def draw_transformer(ins: Insides, symbols: list[str], width: float):
    """The figure of a Transformer's insides (see the module docstring)."""
    from matplotlib.figure import Figure

    attention = ins.attention()
    layers, heads = attention.shape[:2]
    panel = max(2.2, 0.32 * ins.steps)
    top = top_ratios(ins)
    fig = Figure(
        figsize=(max(width, heads * panel + 1.5), 1.5 * sum(top) + 0.9 + layers * (panel + 0.6))
    )
    ratios = top + [panel] * layers
    grid = fig.add_gridspec(len(ratios), heads, height_ratios=ratios)
    first = top_rows(fig, grid, ins, symbols)
    for layer in range(layers):
        axes = [fig.add_subplot(grid[first + layer, head]) for head in range(heads)]
        for head, ax in enumerate(axes):
            _attention(ax, ins, layer, head, symbols)
        bar = fig.colorbar(axes[-1].get_images()[0], ax=axes, shrink=0.8, pad=0.01)
        bar.set_label("attention weight", fontsize=8)
    return fig


def _attention(ax: Any, ins: Insides, layer: int, head: int, symbols: list[str]) -> None:
    weights = ins.attention()[layer, head]  # [T, T]: query row on key column
    steps = ins.steps
    causal = np.tril(np.ones((steps, steps), dtype=bool))
    shown = np.where(causal, weights, np.nan)
    image = ax.imshow(shown, cmap="magma_r", vmin=0, vmax=1, interpolation="none", aspect="auto")
    image.set_gid(f"attention-l{layer}-h{head}")
    ax.set_xticks(range(steps), symbols, fontsize=7)
    rows = [f"{t}:{s}" for t, s in enumerate(symbols)] if ins.tape_task else symbols
    ax.set_yticks(range(steps), rows, fontsize=6)
    ax.set_title(f"layer {layer}, head {head}", fontsize=8)
    ax.set_xlabel("key step (column: tape cell)" if ins.tape_task else "key step", fontsize=7)
    if head == 0:  # once per layer: narrow panels have no room for it in every title
        ax.set_ylabel("query step (row)", fontsize=7)
