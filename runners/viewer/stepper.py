"""`lecture-rl lecture-example --window`: the notes' worked example, one update at a time.

Description:
    Frame 0 is the all-zero table at the start; frame k shows the table after the k-th update
    of the episode (2,1) → (2,2) → (3,2) → (3,3), the agent where that step took it, the
    updated (s, a) outlined, and the side panel with the update's target and δ. → (or Space,
    `.`) steps forward, ← (or `,`) back, Esc or `q` closes; the last frame says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.envs import rendering
from lecture_rl.envs.grid_draw import GridPainter
from lecture_rl.envs.grid_layout import GridLayout
from lecture_rl.envs.grid_overlay import Overlay, ViewOptions
from lecture_rl.runners.viewer import panel
from lecture_rl.runners.viewer.window import Window

PANEL_WIDTH = 470
FOOTER = 44


class Stepper:
    """The stepped view of a `lecture_rl.runners.lecture_example.LectureExample`."""

    def __init__(self, example: Any, layout: GridLayout, *, rule: str = "q_learning"):
        self.example = example
        self.layout = layout
        self.rule = rule
        self.painter = GridPainter(layout)
        self.k = 0
        self.tables = [np.array(example.q_before, dtype=float)]
        q = self.tables[0].copy()
        for update in example.updates:
            q = q.copy()
            q[update.s, update.a] = update.new_value
            self.tables.append(q)
        self.positions = [example.state_of(*example.start)] + [
            int(s2) for (_, _, _, s2) in example.visited
        ]
        height = max(self.painter.height, 330) + FOOTER
        self.canvas = rendering.new_surface(self.painter.width + PANEL_WIDTH, height)

    @property
    def last(self) -> int:
        return len(self.tables) - 1

    def values(self, q: np.ndarray) -> np.ndarray:
        masked = np.where(self.layout.mask, q, -np.inf)
        v = masked.max(axis=1)
        return np.where(np.isfinite(v), v, 0.0)

    def changed(self, k: int) -> list[tuple[int, int]]:
        """The (s, a) whose value changed in update `k` (empty for frame 0 or no change)."""
        if k == 0:
            return []
        rows, cols = np.nonzero(self.tables[k] != self.tables[k - 1])
        return [(int(s), int(a)) for s, a in zip(rows, cols)]

    def render(self) -> Any:
        k = self.k
        canvas = self.canvas
        canvas.fill(rendering.BACKGROUND)
        q = self.tables[k]
        update = self.example.updates[k - 1] if k > 0 else None
        flash = (int(update.s), int(update.a)) if update is not None else None
        self.painter.draw(
            Overlay(values=self.values(q), q=q),
            self.positions[k],
            self.positions[: k + 1],
            flash=flash,
            options=ViewOptions(),
            target=canvas,
        )
        x, y = self.painter.width, 10
        title = f"Notes 000 §7.f: step {k} of {self.last}"
        lines: list[Any] = [title, "α = 0.5, γ = 0.7, Q ≡ 0 at the start", ""]
        if update is None:
            lines.append("the start: every Q(s,a) is 0")
        else:
            lines += panel.update_lines(
                update,
                lambda s: "({},{})".format(*self.layout.coords_of(int(s))),
                rule=self.rule,
            )
            changed = self.changed(k)
            lines.append("")
            if changed:
                for s, a in changed:
                    cell = "({},{})".format(*self.layout.coords_of(s))
                    text = f"changed: Q({cell},{'↑→↓←'[a]}) {panel.num(self.tables[k - 1][s, a])}"
                    lines.append((f"{text} → {panel.num(q[s, a])}", (166, 30, 77)))
            else:
                lines.append(("no value changed (target = old value)", rendering.LABEL))
        panel.draw_lines(canvas, lines, (x, y), size=16, spacing=1.3)
        prompt = (
            "last step: ← goes back, Esc, q or any other key closes"
            if k == self.last
            else "→ or Space: next update   ← : back   Esc or q: close"
        )
        panel.draw_text(canvas, prompt, (12, canvas.get_height() - FOOTER + 10), size=17)
        return canvas

    def handle_key(self, key: int) -> bool:
        """Apply a key; returns False when the viewer should close."""
        import pygame

        if key in (pygame.K_ESCAPE, pygame.K_q):
            return False
        if key in (pygame.K_LEFT, pygame.K_COMMA, pygame.K_BACKSPACE):
            self.k = max(0, self.k - 1)
            return True
        if self.k == self.last:
            return False
        self.k += 1
        return True

    def run(self, window: Window, *, hold: bool = True, max_keys: int | None = None) -> int:
        """Show frames and follow keys until closed; returns the number of frames shown.

        Without `hold` (headless tests) it shows every frame once and returns.
        """
        import time

        pygame = rendering.import_pygame()
        window.show(self.render())
        if not hold:
            while self.k < self.last:
                self.k += 1
                window.show(self.render())
            return window.frames
        while not window.done:
            for event in window.events():
                if event.type == pygame.KEYDOWN:
                    if not self.handle_key(event.key):
                        return window.frames
                    window.show(self.render())
            if window.resized:
                window.resized = False
                window.show(self.render())
            time.sleep(0.02)
        return window.frames
