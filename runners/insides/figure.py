"""Matplotlib pictures of a deep agent's insides (`lecture_rl.runners.insides.record`).

Description:
    `draw_insides` lays out, over the steps of one or more episodes (one column per step,
    the same columns in every panel):

    1. on a tape task only (Parity, Copy: envs that declare
       `TapeTask`), the tape: what the agent saw, the task's
       hidden variable, its answer (green right, red wrong);
    2. the policy π(a|s) as a heat strip (one row per action) with its numbers, and V(s) as a
       line in a row of its own beneath it;
    3. the memory:

       - LSTM / GRU / RNN: per picked unit (the most informative ones), a strip of its cell
         state and gates, each row labelled with the notes' equation (notes 003);
       - Transformer: per layer and head, the attention of each query step (row) on the steps
         so far (columns), so a recall step's row lights up over the tape cell of its symbol.

    A CNN on a grid's pixels gets its own layout (`draw_cnn`): the policy strip over every
    step, then for a few steps (columns) what the network saw, the saliency of the taken
    action's score per grid cell (as a share of the step's total, numbers in the cells), and
    the first layer's most varying feature maps, drawn on the same cells.

    Every drawn image carries a `gid` (`"policy"`, `"lstm-unit-7-cell"`,
    `"attention-l0-h2"`, `"saliency-t3"`, `"conv1-ch5-t3"`) so tests can read back exactly
    what was drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lecture_rl.runners.insides.common import tape_symbols, top_ratios, top_rows
from lecture_rl.runners.insides.record import CELL_SIGNALS, Insides
from lecture_rl.runners.result_files import write_figure


def draw_insides(
    ins: Insides, title: str = "", symbols: list[str] | None = None, latest: bool = False
):
    """A matplotlib `Figure` of `ins` (see the module docstring): the drawing of its net's
    kind. `latest`: a CNN's figure draws the last few steps (the live panel) instead of a few
    spread over all."""
    from matplotlib.figure import Figure

    if "conv1" in ins.trace:
        from lecture_rl.runners.insides.cnn import draw_cnn

        return draw_cnn(ins, title, latest=latest)
    symbols = symbols or tape_symbols(ins)
    width = max(8.0, 0.55 * ins.steps + 4.0)
    if ins.attention() is not None:
        from lecture_rl.runners.insides.transformer import draw_transformer

        fig = draw_transformer(ins, symbols, width)
    elif ins.net in CELL_SIGNALS:
        from lecture_rl.runners.insides.recurrent import draw_recurrent

        fig = draw_recurrent(ins, symbols, width)
    else:  # a feed-forward net: the shared rows only
        ratios = top_ratios(ins)
        fig = Figure(figsize=(width, 1.5 * sum(ratios) + 0.9))
        grid = fig.add_gridspec(len(ratios), 1, height_ratios=ratios)
        top_rows(fig, grid, ins, symbols)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.set_layout_engine("constrained")
    return fig


def find_image(fig: Any, gid: str):
    """The image drawn with `gid` in `fig` (for tests and the viewer), or `None`."""
    for ax in fig.axes:
        for image in ax.get_images():
            if image.get_gid() == gid:
                return image
    return None


def save_figure(fig: Any, path: str) -> None:
    """Write `fig` as a PNG atomically (temporary file + rename), honouring the umask."""
    write_figure(fig, Path(path), dpi=110)
