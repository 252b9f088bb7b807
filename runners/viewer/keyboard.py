"""`lecture-rl play`: one action per key press, with a key legend and blocked-move feedback.

Description:
    Unlike Gymnasium's `play` loop (which acts on held keys at a fixed frame rate, so short
    taps get lost and held keys repeat), every `KEYDOWN` here is exactly one `env.step`
    and nothing happens between key presses. The window shows the env, a status line (step,
    return, last action and reward, "blocked" when a move hits a wall or the edge) and the
    keys. Grids are drawn by our grid painter (also FrozenLake and CliffWalking); other envs
    by their own `rgb_array` frame.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from lecture_rl.envs import rendering
from lecture_rl.envs.grid_draw import GridPainter
from lecture_rl.envs.grid_layout import GridLayout
from lecture_rl.runners.viewer import panel
from lecture_rl.runners.viewer.lane import blocked, index
from lecture_rl.runners.viewer.window import Window

FOOTER = 78


def action_for(keys: dict[Any, Any], key: int, unicode: str = "") -> Any:
    """The action a single key press means in the key map `keys` (`None`: none)."""
    if (key,) in keys:
        return keys[(key,)]
    char = (unicode or "").lower()
    if char and char in keys:
        return keys[char]
    if char and (char,) in keys:  # get_keys_to_action's form: a tuple of characters
        return keys[(char,)]
    if char and (ord(char),) in keys:
        return keys[(ord(char),)]
    return None


@dataclasses.dataclass
class KeyboardPlay:
    """Plays `env` from the keyboard; `run` returns the finished episodes' returns."""

    env: Any
    keys: dict[Any, Any]
    help_text: str
    window: Window
    seed: int | None = dataclasses.field(default=None, kw_only=True)
    on_episode: Callable[[int, float, int], None] | None = dataclasses.field(
        default=None, kw_only=True
    )
    # the session so far
    steps: int = dataclasses.field(default=0, init=False)
    episode_steps: int = dataclasses.field(default=0, init=False)
    episode_return: float = dataclasses.field(default=0.0, init=False)
    returns: list[float] = dataclasses.field(default_factory=list, init=False)
    message: str = dataclasses.field(default="", init=False)
    blocked: bool = dataclasses.field(default=False, init=False)
    obs: Any = dataclasses.field(default=None, init=False)
    trail: list[int] = dataclasses.field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        try:
            self.layout: GridLayout | None = GridLayout.from_env(self.env)
            self.painter: GridPainter | None = GridPainter(self.layout, colorbar=False)
        except ValueError:
            self.layout, self.painter = None, None

    def reset(self) -> None:
        seed = None
        if self.seed is not None:
            seed = self.seed + len(self.returns)
        self.obs, _ = self.env.reset(seed=seed)
        self.episode_steps, self.episode_return = 0, 0.0
        self.trail = [index(self.obs)] if self.layout is not None else []

    def render(self) -> Any:
        if self.painter is not None:
            board = self.painter.draw(None, index(self.obs), self.trail)
        else:
            board = rendering.rgb_to_surface(np.asarray(self.env.render()))
        width = max(board.get_width(), 560)
        canvas = rendering.new_surface(width, board.get_height() + FOOTER)
        canvas.blit(board, (0, 0))
        y = board.get_height() + 6
        status = f"step {self.episode_steps}   return {panel.num(self.episode_return)}"
        if self.message:
            status += f"   {self.message}"
        color = (201, 42, 42) if self.blocked else rendering.INK
        panel.draw_text(canvas, status, (10, y), size=17, color=color)
        panel.draw_text(
            canvas, f"keys: {self.help_text}", (10, y + 24), size=15, color=rendering.LABEL
        )
        panel.draw_text(
            canvas,
            "Backspace: new episode   Esc: quit",
            (10, y + 46),
            size=15,
            color=rendering.LABEL,
        )
        return canvas

    def press(self, key: int, unicode: str = "") -> bool:
        """One key press: one env step (or a reset / quit). Returns False to quit."""
        import pygame

        if key == pygame.K_ESCAPE:
            return False
        if key == pygame.K_BACKSPACE:
            self.reset()
            self.message, self.blocked = "new episode", False
            return True
        action = action_for(self.keys, key, unicode)
        if action is None:
            name = pygame.key.name(key) or "?"
            self.message, self.blocked = f"'{name}' is not a key of this env", False
            return True
        s = index(self.obs) if self.layout is not None else None
        obs, reward, terminated, truncated, _ = self.env.step(action)
        self.steps += 1
        self.episode_steps += 1
        self.episode_return += float(reward)
        self.blocked = False
        if self.layout is not None:
            s2 = index(obs)
            self.blocked = blocked(self.layout, s, int(action), s2, bool(terminated))
            self.trail.append(s2)
        self.message = f"action {action}, reward {panel.num(float(reward))}"
        if self.blocked:
            self.message += "   BLOCKED: wall or edge"
        self.obs = obs
        if terminated or truncated:
            self.returns.append(self.episode_return)
            if self.on_episode is not None:
                self.on_episode(len(self.returns), self.episode_return, self.episode_steps)
            self.window.show(self.render())
            self.reset()
            self.message = f"episode over: return {panel.num(self.returns[-1])}; a new one began"
        return True

    def run(self) -> list[float]:
        import pygame

        self.reset()
        self.window.show(self.render())
        while not self.window.done:
            for event in self.window.events():
                if event.type == pygame.KEYDOWN:
                    if not self.press(event.key, getattr(event, "unicode", "")):
                        return self.returns
                    self.window.show(self.render())
            if self.window.resized:
                self.window.resized = False
                self.window.show(self.render())
            time.sleep(0.01)
        return self.returns
