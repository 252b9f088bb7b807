"""What every insides figure shares: the tape, the policy strip with V(s), the numbers in cells.

Description:
    Every net kind's figure (`recurrent`, `transformer`, `cnn`) starts from
    these rows, drawn over the same step columns. The tape row (what the agent saw, the hidden
    variable, its graded answers) is drawn only for an env that declares itself a tape task
    (`Insides.tape_task`, `TapeTask`); the others start
    with the policy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.runners.insides.record import Insides, tape_text

VALUE_COLOUR = "#b34a00"  # V(s): orange, 5.4:1 on white (WCAG AA for its tick labels)
VALUE_ROW = 0.6  # the V(s) row's height, relative to the policy strip's 1.0


TAPE_ROW = 1.2  # the tape row's height, relative to the policy strip's 1.0


def tape_symbols(ins: Insides) -> list[str]:
    """One short text per step: on a tape task the env's own (`ins.tape`) or the observation
    id; elsewhere the step's number (the columns' labels)."""
    if not ins.tape_task:
        return [str(ins.first_step + t) for t in range(ins.steps)]
    return list(ins.tape) if ins.tape else tape_text(None, ins.obs)


def top_ratios(ins: Insides) -> list[float]:
    """The heights of the rows `top_rows` draws: the tape (tape tasks only), the policy
    strip and the V(s) row."""
    return ([TAPE_ROW] if ins.tape_task else []) + [1.0, VALUE_ROW]


def text_colour(rgb: Any) -> str:
    """`"black"` or `"white"`, whichever contrasts more with `rgb` (0..1) by WCAG 2's
    contrast ratio (L1 + 0.05) / (L2 + 0.05); the better of the two is always >= 4.58:1."""
    c = np.asarray(rgb, dtype=float)[:3]
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    lum = float(linear @ [0.2126, 0.7152, 0.0722])  # relative luminance
    return "black" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "white"


def _annotate(ax: Any, values: np.ndarray, row: float, image: Any, fmt: str = "{:.2f}") -> None:
    """The numbers in the cells, in black or white, whichever contrasts more with the cell's
    colour."""
    if len(values) > 40:
        return
    for t, v in enumerate(values):
        colour = image.cmap(image.norm(v))
        ax.text(t, row, fmt.format(v), ha="center", va="center", fontsize=7,
                color=text_colour(colour))  # fmt: skip


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


def _policy(ax: Any, ins: Insides, value_ax: Any) -> None:
    """π(a|s) as a heat strip with its numbers; V(s) as a line in `value_ax`, its own row
    under the strip, so the line never crosses a number."""
    probs = ins.probs.T  # [nA, T]
    image = ax.imshow(probs, aspect="auto", cmap="Blues", vmin=0, vmax=1, interpolation="none")
    image.set_gid("policy")
    labels = [ins.action_label(a) for a in range(probs.shape[0])]
    ax.set_yticks(range(probs.shape[0]), [f"π({a}|s)" for a in labels])
    ax.set_xticks([])
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
    ax.tick_params(axis="y", labelsize=7, colors=VALUE_COLOUR)  # the steps stay black


def top_rows(
    fig: Any, grid: Any, ins: Insides, symbols: list[str], columns: Any = slice(None)
) -> int:
    """The tape (tape tasks only), the policy strip and the V(s) row in the first rows of
    `grid` (their heights: `top_ratios`); returns the number of rows used."""
    row = 0
    if ins.tape_task:
        _tape(fig.add_subplot(grid[0, columns]), ins, symbols)
        row = 1
    _policy(fig.add_subplot(grid[row, columns]), ins, fig.add_subplot(grid[row + 1, columns]))
    if not ins.tape_task:  # no tape above it: the strip's columns are the steps
        fig.axes[-2].set_xticks(range(ins.steps), symbols, fontsize=7)
    return row + 2
