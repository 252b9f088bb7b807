"""The viewer's window: resizable, zoomable, and the last frame stays until a key or close.

Description:
    The viewer draws a *canvas* (a pygame surface); `Window` shows it, scaled to fit
    when the window is smaller or larger than the canvas, and hands the same canvas to the
    recorder, so a recording holds exactly the frames shown. Headless runs (no display, e.g.
    a recording on a server) use SDL's dummy video driver: the same frames, no window.
"""

from __future__ import annotations

import os
from typing import Any

from lecture_rl.envs import rendering
from lecture_rl.runners.viewer.recorder import Recorder


def check_frames_and_display(args: Any) -> None:
    """`watch`'s `--max-frames` and, on a machine without a display, `--record`: a
    `UsageError` naming the fix, before any work."""
    from lecture_rl.runners.settings import UsageError

    if args.max_frames is not None and args.max_frames < 1:
        raise UsageError(f"--max-frames must be at least 1, got {args.max_frames}")
    if no_display() and not args.record and not args.max_frames:
        raise UsageError(
            "watch needs a display for its window; on a machine without one record the lesson "
            "instead: --record FILE.gif (or .mp4) with --max-frames N"
        )


def no_display() -> bool:
    """Whether this is a Linux/BSD machine without X or Wayland and no SDL driver chosen."""
    import sys

    return (
        not os.environ.get("SDL_VIDEODRIVER")
        and os.name == "posix"
        and sys.platform != "darwin"
        and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    )


def use_dummy_display_if_headless() -> bool:
    """Select SDL's dummy video driver when there is no display; returns whether headless."""
    if no_display():
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    return os.environ.get("SDL_VIDEODRIVER", "") in ("dummy", "offscreen")


class Window:
    """A resizable pygame window that shows canvases and records them.

    `zoom` scales the first window size; `max_frames` makes `done` true after that
    many frames; `recorder` receives every frame shown.

    This is the viewer's seam to the screen: `open`, `show(canvas)`, `events()` (pygame
    events), `done`, `close()`, with `headless` (nobody watches: a recording runs at its own
    pace) and `keeps_last_frame` (the last frame stays after `close`, so the viewer need not
    wait for a key to hold it). `lecture_rl.notebook` implements it with a Jupyter widget.
    """

    keeps_last_frame = False

    def __init__(
        self,
        title: str,
        *,
        zoom: float = 1.0,
        recorder: Recorder | None = None,
        max_frames: int | None = None,
    ):
        if zoom is not None and zoom <= 0:
            raise ValueError(f"--zoom must be positive, got {zoom}")
        self.title = title
        self.zoom = float(zoom or 1.0)
        self.recorder = recorder
        self.max_frames = max_frames
        self.frames = 0
        self.screen: Any = None
        self.size: tuple[int, int] | None = None
        self.resized = False
        self.closed = False
        self.headless = use_dummy_display_if_headless()

    @property
    def done(self) -> bool:
        """The window was closed or `max_frames` frames were shown."""
        return self.closed or bool(self.max_frames and self.frames >= self.max_frames)

    def open(self, canvas_size: tuple[int, int]) -> None:
        pygame = rendering.import_pygame()
        pygame.display.init()
        pygame.display.set_caption(self.title)
        w, h = canvas_size
        self.size = (max(200, int(w * self.zoom)), max(150, int(h * self.zoom)))
        self.screen = pygame.display.set_mode(self.size, pygame.RESIZABLE)
        self.closed = False

    def show(self, canvas: Any) -> None:
        """Put `canvas` on the screen (scaled to fit, centred) and record it."""
        pygame = rendering.import_pygame()
        if self.max_frames and self.frames >= self.max_frames:
            return  # --max-frames: nothing more is shown or recorded
        if self.screen is None:
            self.open(canvas.get_size())
        cw, ch = canvas.get_size()
        sw, sh = self.screen.get_size()
        if (cw, ch) == (sw, sh):
            self.screen.blit(canvas, (0, 0))
        else:
            scale = min(sw / cw, sh / ch)
            size = (max(1, int(cw * scale)), max(1, int(ch * scale)))
            self.screen.fill(rendering.BACKGROUND)
            scaled = pygame.transform.smoothscale(canvas, size)
            self.screen.blit(scaled, ((sw - size[0]) // 2, (sh - size[1]) // 2))
        pygame.display.flip()
        self.frames += 1
        if self.recorder is not None:
            self.recorder.add(rendering.surface_to_rgb(canvas))

    def events(self) -> list[Any]:
        """The pending pygame events; handles resizing and closing."""
        pygame = rendering.import_pygame()
        if self.screen is None:
            return []
        found = pygame.event.get()
        for event in found:
            if event.type == pygame.QUIT:
                self.closed = True
            elif event.type in (pygame.VIDEORESIZE, getattr(pygame, "WINDOWRESIZED", -1)):
                size = getattr(event, "size", None) or (event.x, event.y)
                self.size = (max(200, int(size[0])), max(150, int(size[1])))
                self.resized = True
        return found

    def close(self) -> None:
        if self.screen is not None:
            pygame = rendering.import_pygame()
            pygame.display.quit()
            self.screen = None
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
