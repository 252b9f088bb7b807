"""Keys of the live viewer and the state they steer (pause, speed, toggles), with its legend.

Description:
    `Controls` turns one `KEYDOWN` into one change of state and remembers the
    requests the viewer's loop acts on (one step, a greedy run, a restart, quit). Speeds run
    from "one step per key press" through steps per second up to *turbo*, which learns at
    close to headless speed while drawing about 30 frames per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lecture_rl.envs.grid_overlay import ViewOptions

#: env steps per second at each speed level: 0 = one step per key press, inf = turbo
SPEEDS: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, math.inf)
TURBO_FPS = 30.0

LEGEND: tuple[tuple[str, str], ...] = (
    ("Space", "pause / resume"),
    ("→ or .", "one step (paused)"),
    ("+ / −", "slower / faster"),
    ("g", "greedy run now"),
    ("r", "restart"),
    ("v n p t", "values, Q, policy, trail"),
    ("h", "hide / show this help"),
    ("Esc or q", "quit"),
)


def speed_level_for(steps_per_second: float | None) -> int:
    """The speed level closest to `steps_per_second` (`None`: 15 steps/s)."""
    if steps_per_second is None:
        steps_per_second = 15.0
    finite = [(abs(s - steps_per_second), i) for i, s in enumerate(SPEEDS) if math.isfinite(s)]
    return min(finite)[1] if steps_per_second > 0 else 0


def speed_text(level: int) -> str:
    rate = SPEEDS[level]
    if rate == 0:
        return "one step per key"
    if math.isinf(rate):
        return "turbo"
    return f"{rate:g} steps/s"


@dataclass
class Controls:
    """The viewer's state that keys change, and the one-shot requests they make."""

    paused: bool = False
    speed: int = 5
    options: ViewOptions = field(default_factory=ViewOptions)
    legend: bool = True
    quit: bool = False
    step_requests: int = 0
    greedy_request: bool = False
    restart_request: bool = False
    back_requests: int = 0
    keys_seen: int = 0

    @property
    def turbo(self) -> bool:
        return math.isinf(SPEEDS[self.speed])

    @property
    def manual(self) -> bool:
        """Whether steps happen only on request (paused, or the slowest speed)."""
        return self.paused or SPEEDS[self.speed] == 0

    @property
    def steps_per_second(self) -> float:
        return SPEEDS[self.speed]

    def handle_key(self, key: int, unicode: str = "") -> bool:
        """Apply one key press; returns whether it meant anything."""
        import pygame

        self.keys_seen += 1
        char = unicode or ""
        opts = self.options
        if key in (pygame.K_ESCAPE, pygame.K_q):
            self.quit = True
        elif key == pygame.K_SPACE:
            self.paused = not self.paused
        elif key in (pygame.K_RIGHT, pygame.K_PERIOD):
            self.step_requests += 1
        elif key in (pygame.K_LEFT, pygame.K_COMMA):
            self.back_requests += 1
        elif key in (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS) or char == "+":
            self.speed = min(len(SPEEDS) - 1, self.speed + 1)
        elif key in (pygame.K_MINUS, pygame.K_KP_MINUS, pygame.K_UNDERSCORE) or char == "-":
            self.speed = max(0, self.speed - 1)
        elif key == pygame.K_g:
            self.greedy_request = True
        elif key == pygame.K_r:
            self.restart_request = True
        elif key == pygame.K_v:
            opts.values = not opts.values
        elif key == pygame.K_n:
            opts.q = not opts.q
        elif key == pygame.K_p:
            opts.policy = not opts.policy
        elif key == pygame.K_t:
            opts.trail = not opts.trail
        elif key == pygame.K_h:
            self.legend = not self.legend
        else:
            return False
        return True

    def take_step(self) -> bool:
        """Consume one single-step request."""
        if self.step_requests > 0:
            self.step_requests -= 1
            return True
        return False
