"""The update side panel (notes 000 §7.e notation) and the return-per-episode plot.

Description:
    `update_lines` writes one tabular update with its numbers, each rule with its own
    target:

    ```python
    Q-learning       target = r + γ·max_a' Q(s',a')
    SARSA            target = r + γ·Q(s',a')
    expected SARSA   target = r + γ·Σ_a' π(a'|s')·Q(s',a')
    double Q         target = r + γ·Q2(s', argmax_a' Q1(s',a'))   (Q1 and Q2 swap)
    TD(0)            target = r + γ·V(s')
    any of them      target = r + γ·0 when s' is terminal
    ```

    then `δ = target − Q(s,a)` and `Q(s,a) ← Q + α·δ` with the numbers filled in.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lecture_rl.envs import rendering
from lecture_rl.envs.grid_maps import ACTION_ARROWS

ARROWS = ACTION_ARROWS

#: rule (or agent name) -> (what the update is called, the bootstrap term)
BOOTSTRAP: dict[str, tuple[str, str]] = {
    "q_learning": ("Q-learning", "max_a' Q(s',a')"),
    "sarsa": ("SARSA", "Q(s',a')"),
    "expected_sarsa": ("expected SARSA", "Σ_a' π(a'|s')·Q(s',a')"),
    "double_q": ("double Q-learning", "Q2(s', argmax_a' Q1(s',a'))"),
    "td0": ("TD(0)", "V(s')"),
    "mc": ("Monte Carlo", "G"),
}


def num(x: float) -> str:
    """A number as the panel prints it: 4 significant digits, no `-0`."""
    x = float(x)
    if abs(x) < 1e-9:  # rounding noise such as 1.1e-16 reads as the 0 it is
        x = 0.0
    text = f"{x:.4g}"
    return "0" if text == "-0" else text


def factor(x: float) -> str:
    """A number inside a product: negatives in parentheses, `0.5·(−10)`."""
    return f"({num(x)})" if float(x) < 0 else num(x)


def rule_of(update: Any, fallback: str = "") -> str:
    rule = getattr(update, "rule", "") or fallback
    return rule if rule in BOOTSTRAP else fallback if fallback in BOOTSTRAP else "q_learning"


def update_lines(
    update: Any,
    cell: Any = None,
    *,
    rule: str = "",
    action_arrows: Sequence[str] = ARROWS,
) -> list[str]:
    """The panel's lines for one `lecture_rl.agents.events.TableUpdate`.

    `cell(s)` names a state (e.g. `"(3,2)"`); `action_arrows[a]` an action.
    """
    cell = cell or (lambda s: str(s))
    rule = rule_of(update, rule)
    title, bootstrap = BOOTSTRAP[rule]
    table = getattr(update, "table", "q") or "q"
    if rule == "double_q" and table == "q2":
        bootstrap = "Q1(s', argmax_a' Q2(s',a'))"
    is_v = update.a is None
    name = "V" if is_v else ("Q1" if table == "q1" else "Q2" if table == "q2" else "Q")
    pair = (
        f"{name}({cell(update.s)})"
        if is_v
        else (f"{name}({cell(update.s)},{action_arrows[update.a]})")
    )
    move = "" if is_v else f"  a={action_arrows[update.a]}"
    lines = [
        f"{title} update ({name} table)" if table in ("q1", "q2") else f"{title} update",
        f"s={cell(update.s)}{move}  r={num(update.r)}  s'={cell(update.s_next)}",
    ]
    if update.terminated:
        boot_value = 0.0
        lines.append("target = r + γ·0   (s' is terminal)")
    else:
        boot_value = (update.target - update.r) / update.gamma if update.gamma else 0.0
        terms = getattr(update, "target_terms", None) or {}
        boot_value = float(terms.get("bootstrap", boot_value))
        lines.append(f"target = r + γ·{bootstrap}")
    lines.append(
        f"       = {num(update.r)} + {num(update.gamma)}·{factor(boot_value)}"
        f" = {num(update.target)}"
    )
    lines.append(
        f"δ = target − {name} = {num(update.target)} − {factor(update.old_value)}"
        f" = {num(update.td_error)}"
    )
    lines.append(f"{pair} ← {name} + α·δ")
    lines.append(
        f"       = {num(update.old_value)} + {num(update.alpha)}·{factor(update.td_error)}"
        f" = {num(update.new_value)}"
    )
    return lines


_FONTS: dict[tuple[int, bool], Any] = {}
_TEXT: dict[tuple[str, int, tuple[int, int, int], bool], Any] = {}


def text_font(size: int, mono: bool = False) -> Any:
    """A font with arrows and Greek letters (matplotlib's DejaVu Sans, or DejaVu Sans Mono
    with `mono`; pygame's default font lacks the arrows), cached per size."""
    import pygame

    if not pygame.font.get_init():
        _FONTS.clear()
        _TEXT.clear()
        pygame.font.init()
    elif _FONTS and not rendering.font_alive(next(iter(_FONTS.values()))):
        _FONTS.clear()
        _TEXT.clear()
    found = _FONTS.get((size, mono))
    if found is None:
        path = None
        name = "DejaVuSansMono.ttf" if mono else "DejaVuSans.ttf"
        try:
            import matplotlib

            candidate = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
            path = str(candidate) if candidate.exists() else None
        except ImportError:  # pragma: no cover - matplotlib is a dependency
            path = None
        found = pygame.font.Font(path, size)
        _FONTS[(size, mono)] = found
    return found


def draw_text(
    surface: Any,
    text: str,
    pos: tuple[float, float],
    *,
    size: int = 16,
    color: rendering.Color = rendering.INK,
    anchor: str = "topleft",
    mono: bool = False,
) -> Any:
    """Like `lecture_rl.envs.rendering.draw_text` in the panel's font (`mono`: the
    monospaced one, for text whose columns line up)."""
    key = (str(text), size, tuple(color), mono)
    image = _TEXT.get(key)
    if image is None:  # rendered text is cached: most lines repeat from frame to frame
        image = text_font(size, mono).render(str(text), True, color)
        if len(_TEXT) > 4000:
            _TEXT.clear()
        _TEXT[key] = image
    rect = image.get_rect(**{anchor: (int(pos[0]), int(pos[1]))})
    surface.blit(image, rect)
    return rect


def draw_lines(
    surface: Any,
    lines: Sequence[str | tuple[str, rendering.Color]],
    pos: tuple[int, int],
    *,
    size: int = 18,
    spacing: float = 1.25,
) -> int:
    """Draw text lines from `pos` (top-left) down; a line may carry its own colour.
    Returns the y just below the last line."""
    x, y = pos
    step = int(size * spacing)
    for line in lines:
        text, color = (line, rendering.INK) if isinstance(line, str) else line
        draw_text(surface, text, (x, y), size=size, color=color)
        y += step
    return y


def draw_returns(
    surface: Any, rect: tuple[int, int, int, int], returns: Sequence[float], title: str = ""
) -> None:
    """A small line plot of the return per episode (the last episodes the width holds, one per
    pixel); from 40 episodes on, the raw returns are drawn light and their running mean over
    the last `k` episodes dark on top, so a noisy task (Blackjack) still shows its trend."""
    import pygame

    x, y, w, h = rect
    pygame.draw.rect(surface, (255, 255, 255), rect)
    pygame.draw.rect(surface, rendering.GRID_LINE, rect, 1)
    # the max and min labels get a column of their own on the right, so the line never
    # covers them: reserve their width, then fit as many episodes as the rest holds
    label_w, right, shown, lo, hi = 0, x + w - 4, list(returns), 0.0, 0.0
    for _ in range(2):  # a second pass if the shown episodes' labels are wider
        shown = list(returns)[-max(2, right - x - 4) :]
        if len(shown) < 2:
            break
        lo, hi = _bounds(shown)
        needed = max(text_font(12).size(num(v))[0] for v in (lo, hi)) + 8
        if needed <= label_w:
            break
        label_w, right = needed, x + w - 4 - needed
    n = len(shown)
    k = max(5, n // 25) if n >= 40 else 1
    if not title:
        episodes = f"{len(returns)} episode" + ("s" if len(returns) != 1 else "")
        which = episodes if n == len(returns) else f"last {n} of {len(returns)}"
        title = f"return per episode ({which}" + (f"; dark: mean of {k})" if k > 1 else ")")
    draw_text(surface, title, (x + 4, y + 2), size=14, color=rendering.LABEL)
    if n < 2:
        if shown:  # one episode: its return in words (a line needs two)
            words = f"episode 1: {num(shown[0])}"
            draw_text(surface, words, (x + 4, y + h // 2), size=14, color=rendering.INK)
        return
    top, bottom = y + 30, y + h - 8  # the max label sits under the title, not beside it

    def points(values: Sequence[float]) -> list[tuple[float, float]]:
        return [
            (x + 4 + (right - x - 4) * i / (n - 1), bottom - (bottom - top) * (v - lo) / (hi - lo))
            for i, v in enumerate(values)
        ]

    if k > 1:
        pygame.draw.lines(surface, RAW_RETURN, False, points(shown), 1)
        pygame.draw.lines(surface, rendering.AGENT, False, points(running_mean(returns, k)[-n:]), 2)
    else:
        pygame.draw.lines(surface, rendering.AGENT, False, points(shown), 2)
    low, high = min(shown), max(shown)  # the labels: the returns, not the widened bounds
    labels = [(high, top), (low, bottom)] if high > low else [(high, points([high])[0][1])]
    for value, yy in labels:
        draw_text(
            surface, num(value), (x + w - 4, yy), size=12, color=rendering.LABEL, anchor="midright"
        )


#: the raw returns under their running mean: light blue
RAW_RETURN: rendering.Color = (165, 205, 240)


def running_mean(values: Sequence[float], k: int) -> list[float]:
    """The mean of the last `k` values at every position (fewer at the start)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    sums = np.cumsum(np.concatenate([[0.0], v]))
    ends = np.arange(1, len(v) + 1)
    starts = np.maximum(0, ends - k)
    return list((sums[ends] - sums[starts]) / (ends - starts))


def _bounds(values: Sequence[float]) -> tuple[float, float]:
    """(min, max) of `values`, widened by 1 each way when they are all equal."""
    lo, hi = min(values), max(values)
    return (lo - 1, hi + 1) if hi - lo < 1e-9 else (lo, hi)
