"""The live viewer's keys and pace: the window's events applied, the wait for the next step.

Description:
    `Pacer` is the only reader of `Window.events()` while the viewer runs: every key press
    goes to `Controls.handle_key` (pause, speed, toggles, and the requests: one step, a greedy
    run, a restart, quit), a resize asks the view to refit, a close quits. `Pacer.pace` waits
    until the next step is due at the chosen speed, handling keys meanwhile; `Pacer.hold`
    keeps the last frame until a key or close. A front end that replaces the `Window` (a
    notebook) hands its input in as pygame events through `events()`, and gets all of this.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from lecture_rl.runners.viewer.controls import Controls


class Pacer:
    """Keys and pace of a live view.

    Arguments:
        window: the `Window` (or a stand-in with `events()`, `closed`, `resized`, `done`,
            `headless`, `recorder`).
        controls: the key state it changes.
        redraw: shows the view again (after a key changed what it shows).
        refit: rebuilds the view for the window's new size.
    """

    def __init__(
        self,
        window: Any,
        controls: Controls,
        redraw: Callable[[], None],
        refit: Callable[[], None],
    ):
        self.window = window
        self.controls = controls
        self.redraw = redraw
        self.refit = refit

    def handle_events(self) -> bool:
        """Process window and key events; returns whether anything changed the view."""
        import pygame

        c = self.controls
        before = (c.paused, c.speed, c.legend, dataclasses.astuple(c.options))
        for event in self.window.events():
            if event.type == pygame.KEYDOWN:
                c.handle_key(event.key, getattr(event, "unicode", ""))
        # steps and requests need no redraw of their own; view changes do
        changed = before != (c.paused, c.speed, c.legend, dataclasses.astuple(c.options))
        if self.window.closed:
            c.quit = True
        if self.window.resized:
            self.refit()
            changed = True
        if self.window.done:
            c.quit = True
        return changed

    def pace(self, last_step: float) -> None:
        """Wait until the next step is due, handling keys; returns early on quit or a request."""
        c = self.controls
        while not c.quit:
            if self.handle_events():
                self.redraw()
            if c.quit or c.greedy_request or c.restart_request:
                return
            if c.manual:
                if c.take_step():
                    return
                time.sleep(0.01)
                continue
            if c.turbo or (self.window.headless and self.window.recorder is not None):
                return  # nobody watches a headless recording: its pace is the file's fps
            due = last_step + 1.0 / c.steps_per_second
            now = time.perf_counter()
            if now >= due:
                return
            time.sleep(min(0.01, due - now))

    def hold(self, show: Callable[[], None]) -> None:
        """Keep the last frame (`show` draws it) until a key press or the window closes."""
        import pygame

        show()
        while not self.window.closed:
            for event in self.window.events():
                if event.type == pygame.KEYDOWN:
                    return
            if self.window.resized:
                self.refit()
                show()
            time.sleep(0.02)
