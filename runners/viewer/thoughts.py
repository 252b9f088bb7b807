"""What the agent thinks now, as labelled bars: Q(s, ·) of a table, π(·|s) or Q(s, ·) of a net.

Description:
    `tabular_thought` reads the agent's table at the state the env is in now: the row
    Q(s, a) of every action (a V-table agent such as TD(0): V(s) alone). `deep_thought` reads
    the last row of a deep agent's insides (`runners.insides.insides_from_steps`, computed
    over env 0's episode so far, so a memory net's state is the one it acts from): π(a|s) and
    V(s) for an actor-critic (with the policy's entropy H(π) = −Σ_a π(a|s) log π(a|s)), or
    Q(s, ·) for DQN. An agent whose actions are vectors (a `Box` action space) gets the action
    it took printed instead of bars.

    `draw_thought` draws one `Thought`: a title, then per action its name, a bar from a zero
    line and the number in a column of its own to the right (a bar never covers a number), the
    greedy action's name and number in bold colour; then the extra lines (V(s), H(π), ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lecture_rl.envs import rendering
from lecture_rl.runners.viewer import panel

#: the bar of the greedy action, and the others (blue and grey; text on white stays >= 4.5:1)
GREEDY: rendering.Color = (25, 113, 194)
OTHER: rendering.Color = (173, 181, 189)
#: a negative value's bar (the diverging scale's magenta end)
NEGATIVE: rendering.Color = (197, 27, 125)
ROW = 22  # px per action row


@dataclass
class Thought:
    """One panel of what the agent thinks: `values[a]` per action, drawn as bars."""

    title: str
    labels: list[str] = field(default_factory=list)
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    probabilities: bool = False  # values are π(a|s): the bars run from 0 to 1
    marked: int | None = None  # the greedy action
    lines: list[str] = field(default_factory=list)


def action_label(names: Sequence[str] | None, a: int) -> str:
    """Action `a`'s name (`a=3` when the env names none)."""
    return names[a] if names is not None and 0 <= a < len(names) else f"a={a}"


def tabular_thought(
    agent: Any, state: int | None, names: Sequence[str] | None, state_name: str
) -> Thought | None:
    """Q(s, ·) (or V(s)) of a tabular agent at `state`; `None` when it has no table."""
    if state is None:
        return None
    q = getattr(agent, "q", None)
    if q is not None and np.ndim(q) == 2 and 0 <= state < np.shape(q)[0]:
        row = np.array(q[state], dtype=float)  # a copy: the thought of this frame
        labels = [action_label(names, a) for a in range(len(row))]
        best = int(np.argmax(row))
        return Thought(
            f"Q(s, a) in the state shown, s = {state_name}", labels, row, marked=best,
            lines=[f"greedy: {labels[best]}   V(s) = max_a Q = {panel.num(row.max())}"],
        )  # fmt: skip
    v = getattr(agent, "v", None)
    if v is not None and np.ndim(v) == 1 and 0 <= state < np.shape(v)[0]:
        value = panel.num(float(v[state]))
        return Thought(f"V(s) in the state shown, s = {state_name}", lines=[f"V(s) = {value}"])
    return None


def deep_thought(ins: Any, names: Sequence[str] | None, latest: str = "s") -> Thought:
    """π(·|s) and V(s), or Q(s, ·), from the last step of a deep agent's insides `ins`."""
    probs = np.asarray(ins.probs[-1], dtype=float)
    value = float(ins.values[-1])
    labels = [action_label(names, a) for a in range(len(probs))]
    if ins.score == "Q" and ins.scores is not None:
        q = np.asarray(ins.scores[-1], dtype=float)
        best = int(np.argmax(q))
        return Thought(
            f"Q({latest}, a) in the state shown", labels, q, marked=best,
            lines=[f"greedy: {labels[best]}   max_a Q = {panel.num(q.max())}"],
        )  # fmt: skip
    entropy = float(-(probs * np.log(np.clip(probs, 1e-12, 1.0))).sum())  # H(π), nats
    best = int(np.argmax(probs))
    return Thought(
        f"π(a|{latest}) in the state shown", labels, probs, probabilities=True, marked=best,
        lines=[
            f"V({latest}) = {panel.num(value)}",
            f"H(π) = {entropy:.2f} nats (max {np.log(len(probs)):.2f})",
        ],
    )  # fmt: skip


def vector_action_thought(action: Any, value: float | None = None) -> Thought:
    """For an agent whose actions are vectors: the last action taken (and V(s) if known)."""
    vector = np.asarray(action, dtype=float).reshape(-1)
    shown = ", ".join(panel.num(x) for x in vector[:8]) + (", …" if vector.size > 8 else "")
    lines = [f"action taken: [{shown}]"]
    if value is not None:
        lines.append(f"V(s) = {panel.num(value)}")
    return Thought("the action vector", lines=lines)


def thought_height(thought: Thought | None) -> int:
    """The pixels `draw_thought` uses for `thought`."""
    if thought is None:
        return 0
    return 24 + ROW * len(thought.labels) + 20 * len(thought.lines) + 6


def draw_thought(surface: Any, thought: Thought, rect: tuple[int, int, int, int]) -> int:
    """Draw `thought` in `rect` = (x, y, w, h); returns the y below it."""
    import pygame

    x, y, w, _ = rect
    panel.draw_text(surface, thought.title, (x, y), size=15, color=rendering.INK)
    y += 24
    values = np.asarray(thought.values, dtype=float)
    if len(values):
        texts = [panel.num(v) for v in values]
        name_w = max(panel.text_font(14).size(t)[0] for t in thought.labels) + 10
        num_w = max(panel.text_font(14).size(t)[0] for t in texts) + 8
        bar_x, bar_w = x + name_w, max(40, w - name_w - num_w)
        finite = values[np.isfinite(values)]
        lo = 0.0 if thought.probabilities else min(0.0, float(finite.min(initial=0.0)))
        hi = 1.0 if thought.probabilities else max(0.0, float(finite.max(initial=0.0)))
        span = hi - lo if hi - lo > 1e-12 else 1.0
        zero = bar_x + int(bar_w * (0.0 - lo) / span)
        for a, (label, value, text) in enumerate(zip(thought.labels, values, texts)):
            top = y + a * ROW
            ink = GREEDY if a == thought.marked else rendering.INK
            panel.draw_text(surface, label, (x, top + 2), size=14, color=ink)
            pygame.draw.rect(surface, rendering.CELL, (bar_x, top + 3, bar_w, ROW - 6))
            if np.isfinite(value):
                end = bar_x + int(bar_w * (float(value) - lo) / span)
                fill = GREEDY if a == thought.marked else NEGATIVE if value < 0 else OTHER
                left, width = min(zero, end), max(1, abs(end - zero))
                pygame.draw.rect(surface, fill, (left, top + 3, width, ROW - 6))
            anchor = (x + w, top + ROW // 2)
            panel.draw_text(surface, text, anchor, size=14, color=ink, anchor="midright")
        if not thought.probabilities and lo < 0 < hi:
            pygame.draw.line(surface, rendering.INK, (zero, y), (zero, y + ROW * len(values)))
        y += ROW * len(values)
    for line in thought.lines:
        panel.draw_text(surface, line, (x, y + 2), size=14, color=rendering.INK)
        y += 20
    return y + 6
