"""The env's own picture in the live view: its `rgb_array` frame, or its text.

Description:
    Every Gymnasium env may draw itself (`render_mode="rgb_array"`); that is what a person
    expects to see of CartPole, Acrobot, Taxi or a Minigrid map. `picture_mode` picks the mode a
    lane's env is made with: `rgb_array`, else `ansi` (text), else none. `picture_of` turns the
    env's state (or, without either mode, its observation) into a `Picture`: an image, or lines
    of text, with a note saying why there is no image. `draw_picture` fits it into a box of the
    canvas: a small frame is enlarged by a whole factor (pixel art stays sharp), a large one
    shrunk to fit, text printed in a monospaced font.

    `DrawnEnv` wraps the env a lane trains on. A deep agent's first training copy is that env
    itself (`agents.vector_envs.make_train_envs`) and its vector env resets a finished copy in
    the same `step`, so by the time the viewer draws the last step of an episode the env shows
    the next one's start: `DrawnEnv` keeps the frame of the step that ended an episode, when the
    lane wants it (`keep_final`), before that reset.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from lecture_rl.envs import rendering
from lecture_rl.runners.viewer import panel

#: text lines of a picture drawn at most (a longer text shows its last lines)
TEXT_LINES = 24
#: the note of a picture that is the observation (the env draws none)
OBSERVATION_NOTE = "the observation"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Picture:
    """What the pane shows of the env: an `(H, W, 3)` image, or text lines; `note` says why
    there is no image (one line, or empty)."""

    rgb: np.ndarray | None = None
    text: list[str] = field(default_factory=list)
    note: str = ""


def picture_mode(env_id: str, modes: list[str] | None) -> str | None:
    """The render mode a lane's env is made with: `rgb_array`, else `ansi`, else `None`."""
    modes = list(modes or [])
    for mode in ("rgb_array", "ansi"):
        if mode in modes:
            return mode
    return None


def no_picture_line(env_id: str, modes: list[str] | None) -> str | None:
    """One line for the console when the env cannot draw itself (else `None`)."""
    if "rgb_array" in (modes or []):
        return None
    if "ansi" in (modes or []):
        return f"{env_id} draws no picture (render modes: {modes}); showing its ansi text"
    return (
        f"{env_id} draws no picture (render modes: {modes or 'none'}); showing its "
        "observations as text"
    )


class DrawnEnv(gym.Wrapper):
    """The env a lane trains on (see the module docstring): `keep_final()` is asked when a step
    ends an episode, and if it says so the frame of that step is kept in `final`."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.keep_final: Callable[[], bool] = lambda: False
        self.final: Picture | None = None

    @property
    def spec(self) -> Any:  # the env's own: training copies are made from it, without us
        return self.env.spec

    def step(self, action: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        result = self.env.step(action)
        if result[2] or result[3]:
            self.final = picture_of(self.env, result[0]) if self.keep_final() else None
        return result


def picture_of(env: gym.Env, obs: Any) -> Picture:
    """The env's picture now: its frame (`rgb_array`), its text (`ansi`), else `obs` as text."""
    mode = getattr(env, "render_mode", None)
    if mode in ("rgb_array", "ansi"):
        try:
            drawn = env.render()
        except Exception as exc:  # noqa: BLE001 - an env that cannot draw: say so, go on
            first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            return Picture(text=observation_text(obs), note=f"the env's render failed: {first}")
        if mode == "ansi" and isinstance(drawn, str):
            return Picture(text=_ANSI.sub("", drawn).rstrip("\n").splitlines())
        frame = _as_frame(drawn)
        if frame is not None:
            return Picture(rgb=frame)
    image = _as_frame(obs)
    if image is not None:
        return Picture(rgb=image, note=f"{OBSERVATION_NOTE} (the env draws no picture)")
    return Picture(
        text=observation_text(obs), note=f"{OBSERVATION_NOTE} (the env draws no picture)"
    )


def _as_frame(x: Any) -> np.ndarray | None:
    """`x` as an `(H, W, 3)` `uint8` image, or `None` when it is not one."""
    if x is None or isinstance(x, (str, bytes, dict, tuple, list)):
        return None
    arr = np.asarray(x)
    if arr.ndim == 3 and arr.shape[-1] in (1, 3, 4) and min(arr.shape[:2]) >= 16:
        if arr.dtype != np.uint8:
            return None
        if arr.shape[-1] == 1:
            arr = np.repeat(arr, 3, axis=-1)
        return np.ascontiguousarray(arr[..., :3])
    return None


def observation_text(obs: Any, width: int = 56) -> list[str]:
    """An observation as short lines: a number, a vector with 3 significant digits, a dict
    key by key."""
    if isinstance(obs, dict):
        lines: list[str] = []
        for key, value in obs.items():
            lines += [f"{key}: {line}" for line in observation_text(value, width - 4)][:4]
        return lines
    if isinstance(obs, tuple):
        return ["(" + ", ".join(_short(o) for o in obs) + ")"]
    arr = np.asarray(obs)
    if arr.ndim == 0:
        return [f"observation: {_short(arr.item())}"]
    text = np.array2string(
        arr, precision=3, separator=", ", max_line_width=width, threshold=64, suppress_small=True
    )
    return ["observation:"] + text.splitlines()


def observation_log(steps: Any, last: int, word: Callable[[Any], str]) -> list[str]:
    """The last `last` steps of an episode (`lane.EpisodeSteps`) as a log, the newest at the
    bottom: `t=12  2   → a=1  r=0.5` (`word` names an action); an observation of several lines
    keeps its own lines."""
    lines: list[str] = []
    obs = list(steps.obs)
    start = max(0, len(obs) - last)
    for i in range(start, len(obs)):
        text = observation_text(obs[i])
        body = text[1:] if text[0] == "observation:" else [text[0].removeprefix("observation: ")]
        line = f"t={steps.first_step + i:<4d}{body[0]}"
        if i < len(steps.actions):
            line += f"   → {word(steps.actions[i])}  r={panel.num(steps.rewards[i])}"
        lines.append(line)
        lines += [" " * 6 + more for more in body[1:]]
    return lines


def _short(x: Any) -> str:
    if isinstance(x, (float, np.floating)):
        return panel.num(float(x))
    return str(x.item() if hasattr(x, "item") else x)


def fit_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The size an image of `size` (w, h) is drawn at in `box` (w, h): enlarged by the largest
    whole factor that fits when it is at most half the box, shrunk to fit when larger."""
    w, h = size
    bw, bh = box
    factor = min(bw // max(1, w), bh // max(1, h))
    if factor >= 2:
        return w * factor, h * factor
    if w <= bw and h <= bh:
        return w, h
    scale = min(bw / w, bh / h)
    return max(1, int(w * scale)), max(1, int(h * scale))


def draw_picture(surface: Any, picture: Picture, rect: tuple[int, int, int, int]) -> int:
    """Draw `picture` in `rect` = (x, y, w, h) of `surface`, centred at the top, with its
    note (if any) on the line under it; returns the y below what was drawn."""
    pygame = rendering.import_pygame()
    x, y, w, h = rect
    note_h = 22 if picture.note else 0
    if picture.rgb is not None:
        image = rendering.rgb_to_surface(picture.rgb)
        size = fit_size(image.get_size(), (w, h - note_h))
        if size != image.get_size():
            bigger = size[0] > image.get_width()
            scale = pygame.transform.scale if bigger else pygame.transform.smoothscale
            image = scale(image, size)
        left = x + (w - size[0]) // 2
        surface.blit(image, (left, y))
        frame = (left - 1, y - 1, size[0] + 2, size[1] + 2)  # where the env's picture ends
        pygame.draw.rect(surface, rendering.GRID_LINE, frame, 1)
        bottom = y + size[1]
    else:
        bottom = _draw_text_box(surface, picture.text, (x, y, w, h - note_h))
    if picture.note:
        panel.draw_text(surface, picture.note, (x + 8, bottom + 4), size=14, color=rendering.LABEL)
        bottom += note_h
    return bottom


def _draw_text_box(surface: Any, lines: list[str], rect: tuple[int, int, int, int]) -> int:
    """`lines` in a white box at the top of `rect`, as tall as they need; the last lines when
    they do not all fit (a log scrolls)."""
    import pygame

    x, y, w, h = rect
    size = 16
    step = int(size * 1.3)
    room = max(1, min(TEXT_LINES, (h - 16) // step))
    shown = lines if len(lines) <= room else ["…"] + lines[len(lines) - room + 1 :]
    box = (x, y, w, min(h, 16 + step * max(1, len(shown))))
    pygame.draw.rect(surface, rendering.WHITE, box)
    pygame.draw.rect(surface, rendering.GRID_LINE, box, 1)
    font = panel.text_font(size, mono=True)
    chars = max(8, (w - 24) // max(1, font.size("M")[0]))
    for i, line in enumerate(shown):
        text = line if len(line) <= chars else line[: chars - 1] + "…"
        panel.draw_text(surface, text, (x + 12, y + 8 + i * step), size=size, mono=True)
    return y + box[3]
