"""Matplotlib pictures of a deep agent's insides (:mod:`lecture_rl.runners.insides`).

Description:
    :func:`draw_insides` lays out, over the steps of one or more episodes (one column per step,
    the same columns in every panel):

    1. the tape: what the agent saw, the task's hidden variable, its answer (green right, red
       wrong);
    2. the policy π(a|s) as a heat strip (one row per action) with its numbers, and V(s) as a
       line in a row of its own beneath it;
    3. the memory:

       - LSTM / GRU / RNN: per picked unit (the most informative ones), a strip of its cell
         state and gates, each row labelled with the notes' equation (notes 003);
       - Transformer: per layer and head, the attention of each query step (row) on the steps
         so far (columns), so a recall step's row lights up over the tape cell of its symbol.

    A CNN on a grid's pixels gets its own layout (:func:`draw_cnn`): the policy strip over every
    step, then for a few steps (columns) what the network saw, the saliency of the taken
    action's score per grid cell (as a share of the step's total, numbers in the cells), and
    the first layer's most varying feature maps, drawn on the same cells.

    Every drawn image carries a ``gid`` (``"policy"``, ``"lstm-unit-7-cell"``,
    ``"attention-l0-h2"``, ``"saliency-t3"``, ``"conv1-ch5-t3"``) so tests can read back exactly
    what was drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.runners.insides import CELL_SIGNALS, Insides, tape_text

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
VALUE_COLOUR = "#b34a00"  # V(s): orange, 5.4:1 on white (WCAG AA for its tick labels)
VALUE_ROW = 0.6  # the V(s) row's height, relative to the policy strip's 1.0


def equation(net: str, signal: str) -> str:
    """The label of ``signal`` of a ``net`` cell."""
    return EQUATIONS.get(f"{signal}_{net}", EQUATIONS.get(signal, signal))


def tape_symbols(ins: Insides) -> list[str]:
    """One short text per step: the env's own (``ins.tape``) or the observation id."""
    return list(ins.tape) if ins.tape else tape_text(None, ins.obs)


def text_colour(rgb: Any) -> str:
    """``"black"`` or ``"white"``, whichever contrasts more with ``rgb`` (0..1) by WCAG 2's
    contrast ratio (L1 + 0.05) / (L2 + 0.05); the better of the two is always >= 4.58:1."""
    c = np.asarray(rgb, dtype=float)[:3]
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    lum = float(linear @ [0.2126, 0.7152, 0.0722])  # relative luminance
    return "black" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "white"


def _annotate(
    ax: Any, values: np.ndarray, row: float, image: Any, fmt: str = "{:.2f}", above: Any = None
) -> None:
    """The numbers in the cells, in black or white, whichever contrasts more with the cell's
    colour. With ``above`` (an axes drawn over ``ax``, e.g. a twin with a line), each number
    goes there on a patch of its cell's colour, so nothing drawn over the cells covers a
    digit."""
    if len(values) > 40:
        return
    for t, v in enumerate(values):
        colour = image.cmap(image.norm(v))
        style = {"ha": "center", "va": "center", "fontsize": 7,
                 "color": text_colour(colour)}  # fmt: skip
        if above is None:
            ax.text(t, row, fmt.format(v), **style)
        else:
            box = {"facecolor": colour, "edgecolor": "none", "pad": 1.5}
            above.text(t, row, fmt.format(v), transform=ax.transData, zorder=5, bbox=box, **style)


def _tape(ax: Any, ins: Insides, symbols: list[str] | None) -> None:
    steps = ins.steps
    symbols = symbols or tape_symbols(ins)
    rows = [("seen", symbols)]
    if ins.hidden is not None:
        rows.append(("hidden", ["" if h < 0 else str(int(h)) for h in ins.hidden]))
    rows.append(("answer", [str(int(a)) for a in ins.actions]))
    ax.set_xlim(-0.5, steps - 0.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    for r, (_, texts) in enumerate(rows):
        for t, text in enumerate(texts):
            color = "#f2f2f2"
            if rows[r][0] == "answer":
                ungraded = ins.graded is not None and not ins.graded[t]
                color = "#f2f2f2" if ungraded else "#b9e4b0" if ins.rewards[t] > 0 else "#f4b6b6"
                text = "" if ungraded else text
            ax.add_patch(_cell(t, r, color))
            ax.text(t, r, text, ha="center", va="center", fontsize=9)
    for t in np.flatnonzero(ins.episode_starts)[1:]:
        ax.axvline(t - 0.5, color="black", lw=1.5)
    ax.set_yticks(range(len(rows)), [name for name, _ in rows])
    ax.set_xticks(range(steps), [str(t) for t in range(steps)], fontsize=7)
    ax.tick_params(length=0)
    ax.set_title(
        "tape: what the agent saw, the hidden variable (info['hidden']), its graded answers",
        fontsize=9,
    )


def _cell(t: int, r: int, color: str):
    from matplotlib.patches import Rectangle

    return Rectangle((t - 0.45, r - 0.45), 0.9, 0.9, facecolor=color, edgecolor="#999999")


def _policy(ax: Any, ins: Insides, value_ax: Any = None) -> None:
    """π(a|s) as a heat strip with its numbers; V(s) as a line in ``value_ax`` (its own row
    under the strip, so the line never crosses a number) or, without one, over the strip."""
    probs = ins.probs.T  # [nA, T]
    image = ax.imshow(probs, aspect="auto", cmap="Blues", vmin=0, vmax=1, interpolation="none")
    image.set_gid("policy")
    labels = [ins.action_label(a) for a in range(probs.shape[0])]
    ax.set_yticks(range(probs.shape[0]), [f"π({a}|s)" for a in labels])
    ax.set_xticks([])
    if value_ax is None:
        twin = ax.twinx()
        for a in range(probs.shape[0]):  # the numbers over the V line, never under it
            _annotate(ax, probs[a], a, image, above=twin)
        _value_line(twin, ins)
        ax.set_title("policy π(a|s) (blue) and value V(s) (orange)", fontsize=9)
        return
    for a in range(probs.shape[0]):
        _annotate(ax, probs[a], a, image)
    ax.set_title("policy π(a|s) (blue) and, below, value V(s) (orange)", fontsize=9)
    value_ax.set_xlim(-0.5, ins.steps - 0.5)
    value_ax.set_xticks([])
    value_ax.grid(True, axis="y", alpha=0.3)
    _value_line(value_ax, ins)
    value_ax.margins(y=0.25)  # the markers clear the row's edges


def _value_line(ax: Any, ins: Insides) -> None:
    (line,) = ax.plot(range(ins.steps), ins.values, color=VALUE_COLOUR, marker="o", ms=3, lw=1.2)
    line.set_gid("value")
    ax.set_ylabel("V(s)", color=VALUE_COLOUR, fontsize=8)
    ax.tick_params(labelsize=7, colors=VALUE_COLOUR)


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


def _attention(ax: Any, ins: Insides, layer: int, head: int, symbols: list[str]) -> None:
    weights = ins.attention()[layer, head]  # [T, T]: query row on key column
    steps = ins.steps
    causal = np.tril(np.ones((steps, steps), dtype=bool))
    shown = np.where(causal, weights, np.nan)
    image = ax.imshow(shown, cmap="magma_r", vmin=0, vmax=1, interpolation="none", aspect="auto")
    image.set_gid(f"attention-l{layer}-h{head}")
    ax.set_xticks(range(steps), symbols, fontsize=7)
    ax.set_yticks(range(steps), [f"{t}:{s}" for t, s in enumerate(symbols)], fontsize=6)
    ax.set_title(f"layer {layer}, head {head}", fontsize=8)
    ax.set_xlabel("key step (column: tape cell)", fontsize=7)
    if head == 0:  # once per layer: narrow panels have no room for it in every title
        ax.set_ylabel("query step (row)", fontsize=7)


def draw_insides(
    ins: Insides, title: str = "", symbols: list[str] | None = None, latest: bool = False
):
    """A matplotlib ``Figure`` of ``ins`` (see the module docstring). ``latest``: a CNN's
    figure draws the last few steps (the live panel) instead of a few spread over all."""
    from matplotlib.figure import Figure

    if "conv1" in ins.trace:
        from lecture_rl.runners.insides_cnn import draw_cnn

        return draw_cnn(ins, title, latest=latest)
    symbols = symbols or tape_symbols(ins)
    width = max(8.0, 0.55 * ins.steps + 4.0)
    attention = ins.attention()
    if attention is not None:
        layers, heads = attention.shape[:2]
        panel = max(2.2, 0.32 * ins.steps)
        fig = Figure(figsize=(max(width, heads * panel + 1.5), 4.2 + layers * (panel + 0.6)))
        ratios = [1.2, 1.0, VALUE_ROW] + [panel] * layers
        grid = fig.add_gridspec(3 + layers, heads, height_ratios=ratios)
        _tape(fig.add_subplot(grid[0, :]), ins, symbols)
        _policy(fig.add_subplot(grid[1, :]), ins, fig.add_subplot(grid[2, :]))
        for layer in range(layers):
            axes = [fig.add_subplot(grid[3 + layer, head]) for head in range(heads)]
            for head, ax in enumerate(axes):
                _attention(ax, ins, layer, head, symbols)
            bar = fig.colorbar(axes[-1].get_images()[0], ax=axes, shrink=0.8, pad=0.01)
            bar.set_label("attention weight", fontsize=8)
    elif ins.net in CELL_SIGNALS:
        units = list(ins.units)
        n_signals = len(CELL_SIGNALS[ins.net][1])
        fig = Figure(figsize=(width + 2.5, 4.0 + len(units) * (0.42 * n_signals + 0.5)))
        ratios = [1.2, 1.0, VALUE_ROW] + [0.42 * n_signals] * len(units)
        grid = fig.add_gridspec(3 + len(units), 1, height_ratios=ratios)
        _tape(fig.add_subplot(grid[0]), ins, symbols)
        _policy(fig.add_subplot(grid[1]), ins, fig.add_subplot(grid[2]))
        for i, (unit, score) in enumerate(zip(units, ins.unit_scores)):
            _unit_strip(fig.add_subplot(grid[3 + i]), ins, int(unit), float(score))
    else:
        fig = Figure(figsize=(width, 4.2))
        grid = fig.add_gridspec(3, 1, height_ratios=[1.2, 1.0, VALUE_ROW])
        _tape(fig.add_subplot(grid[0]), ins, symbols)
        _policy(fig.add_subplot(grid[1]), ins, fig.add_subplot(grid[2]))
    if title:
        fig.suptitle(title, fontsize=11)
    fig.set_layout_engine("constrained")
    return fig


def find_image(fig: Any, gid: str):
    """The image drawn with ``gid`` in ``fig`` (for tests and the viewer), or ``None``."""
    for ax in fig.axes:
        for image in ax.get_images():
            if image.get_gid() == gid:
                return image
    return None


def save_figure(fig: Any, path: str) -> None:
    """Write ``fig`` as a PNG atomically (temporary file + rename), honouring the umask."""
    import os
    import tempfile
    from pathlib import Path

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".png.tmp")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, format="png")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
