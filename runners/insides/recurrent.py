"""The insides figure of a memory cell (LSTM, GRU, RNN): per picked unit, its state and gates.

Description:
    Under the shared rows (`common`), one strip per picked unit (the most informative
    ones): its cell or hidden state and its gates over the steps, each row labelled with the
    notes' equation (notes 003). Images carry `gid` `"{net}-unit-{unit}-{signal}"`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.runners.insides.common import _annotate, top_ratios, top_rows
from lecture_rl.runners.insides.record import CELL_SIGNALS, Insides

#: row labels: the notes' equations (notes 003, LSTM and GRU; torch's GRU convention)
EQUATIONS = {
    "cell": r"cell $C_t = f_t \odot C_{t-1} + i_t \odot \tilde{C}_t$",
    "forget_gate": r"forget $f_t = \sigma(W_f[h_{t-1}, x_t] + b_f)$",
    "input_gate": r"input $i_t = \sigma(W_i[h_{t-1}, x_t] + b_i)$",
    "candidate_lstm": r"candidate $\tilde{C}_t = \tanh(W_c[h_{t-1}, x_t] + b_c)$",
    "output_gate": r"output $o_t = \sigma(W_o[h_{t-1}, x_t] + b_o)$",
    "hidden_gru": r"hidden $h_t = (1 - z_t) \odot \tilde{h}_t + z_t \odot h_{t-1}$",
    "update_gate": r"update $z_t = \sigma(W_z[h_{t-1}, x_t] + b_z)$",
    "reset_gate": r"reset $r_t = \sigma(W_r[h_{t-1}, x_t] + b_r)$",
    "candidate_gru": r"candidate $\tilde{h}_t = \tanh(W_h[r_t \odot h_{t-1}, x_t] + b_h)$",
    "hidden_rnn": r"hidden $h_t = \tanh(W_{hh} h_{t-1} + W_{xh} x_t + b)$",
}
GATES = ("forget_gate", "input_gate", "output_gate", "update_gate", "reset_gate")


def equation(net: str, signal: str) -> str:
    """The label of `signal` of a `net` cell."""
    return EQUATIONS.get(f"{signal}_{net}", EQUATIONS.get(signal, signal))


def draw_recurrent(ins: Insides, symbols: list[str], width: float):
    """The figure of a memory cell's insides (see the module docstring)."""
    from matplotlib.figure import Figure

    units = list(ins.units)
    n_signals = len(CELL_SIGNALS[ins.net][1])
    top = top_ratios(ins)
    fig = Figure(
        figsize=(width + 2.5, 1.5 * sum(top) + 0.7 + len(units) * (0.42 * n_signals + 0.5))
    )
    ratios = top + [0.42 * n_signals] * len(units)
    grid = fig.add_gridspec(len(ratios), 1, height_ratios=ratios)
    first = top_rows(fig, grid, ins, symbols)
    for i, (unit, score) in enumerate(zip(units, ins.unit_scores)):
        _unit_strip(fig.add_subplot(grid[first + i]), ins, int(unit), float(score))
    return fig


def _unit_strip(ax: Any, ins: Insides, unit: int, score: float) -> None:
    _, signals = CELL_SIGNALS[ins.net]
    ax.set_xlim(-0.5, ins.steps - 0.5)
    ax.set_ylim(len(signals) - 0.5, -0.5)
    for r, name in enumerate(signals):
        values = ins.signal(name)[:, unit]
        gate = name in GATES
        bound = 1.0 if gate else max(1e-6, float(np.abs(values).max()))
        image = ax.imshow(
            values[None], aspect="auto", interpolation="none",
            cmap="viridis" if gate else "coolwarm",
            vmin=0.0 if gate else -bound, vmax=1.0 if gate else bound,
            extent=(-0.5, ins.steps - 0.5, r + 0.5, r - 0.5),
        )  # fmt: skip
        image.set_gid(f"{ins.net}-unit-{unit}-{name}")
        _annotate(ax, values, r, image)
    ax.set_ylim(len(signals) - 0.5, -0.5)
    ax.set_yticks(range(len(signals)), [equation(ins.net, s) for s in signals], fontsize=8)
    ax.set_xticks([])
    ax.set_title(
        f"unit {unit}  ({ins.picked_by}: {score:.2f})   gates: 0 dark → 1 yellow;"
        "  states: blue −, red +",
        fontsize=9,
        loc="left",
    )
