"""A view in a notebook cell: live in a widget while the engine runs in the background, or, where
no widget frontend runs, an animation left in the cell's output.

Description:
    While a cell runs, the kernel does not read the frontend's widget messages, so a button
    clicked during a blocking loop would only arrive after the loop ended. `Lesson.start` runs
    the engine (watch, play, the worked example) in a background thread instead: the cell
    returns at once, the kernel reads the clicks, `NotebookWindow.press` queues them, and the
    viewer, drawing in its thread, reads them from `events()` as key presses. What the engine
    prints goes to a text box under the view (text a thread prints after its cell has finished
    would be dropped by the frontend). One lesson runs at a time: starting one stops the one
    before.

    `play_animation` is the static fallback: the same engine, run to the end in the cell with a
    window that only records, and the frames embedded as an HTML5 video (or a GIF).
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lecture_rl.notebook.buttons import KeyButton, button_bar
from lecture_rl.notebook.command import Tee
from lecture_rl.notebook.frontend import require_jupyter, use_offscreen_pygame
from lecture_rl.notebook.window import NotebookWindow

#: an engine: `engine(out, make_window) -> exit code` (the CLI command's run with a window seam)
Engine = Callable[[Any, Callable[..., Any]], int]

_running: list[Lesson] = []
_running_lock = threading.Lock()


#: the colour codes rich writes where the kernel sets FORCE_COLOR (ipykernel does)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _TextBox(io.TextIOBase):
    """A text stream shown in an `ipywidgets.HTML` as preformatted text (thread-safe)."""

    def __init__(self, widget: Any):
        self.widget = widget
        self.text = Tee()
        self.lock = threading.Lock()

    def write(self, text: str) -> int:
        with self.lock:
            self.text.write(_ANSI.sub("", text))
            self.widget.value = _pre(self.text.getvalue())
        return len(text)

    def getvalue(self) -> str:
        return self.text.getvalue()


def _pre(text: str) -> str:
    return f'<pre style="margin:0;white-space:pre-wrap">{html.escape(text)}</pre>'


class Lesson:
    """A view shown in a cell: its window, the engine's thread and what the engine printed.

    Attributes:
        window: the `NotebookWindow` the engine draws in (`window.frames`: frames shown).
        mode: `widget` (live, with buttons) or `animation` (a video left in the output).
        animation: the recorded video or GIF (`animation` mode), else None.
        error: what the engine raised, if it failed.
    """

    def __init__(self, title: str, window: NotebookWindow, mode: str):
        self.title = title
        self.window = window
        self.mode = mode
        self.animation: bytes | None = None
        self.animation_type = ""
        self.error: BaseException | None = None
        self.code: int | None = None
        self.widget: Any = None
        self._text: Any = None
        self._printed = ""
        self._thread: threading.Thread | None = None

    # ----- live -------------------------------------------------------------------------
    @classmethod
    def live(cls, title: str, keys: Sequence[KeyButton]) -> Lesson:
        """A lesson with a live view: the image, a button per key and a text box."""
        use_offscreen_pygame()
        _, widgets = require_jupyter()
        # the frame at its own size where the cell is wide enough, scaled down where it is not
        image = widgets.Image(format="png", layout=widgets.Layout(width="auto", max_width="100%"))
        lesson = cls(title, NotebookWindow(image, title=title), "widget")
        text = widgets.HTML(_pre(f"{title}: starting"))
        lesson._text = _TextBox(text)
        title_line = widgets.HTML(f"<b>{html.escape(title)}</b>")
        buttons = button_bar(lesson.window, keys)
        lesson.widget = widgets.VBox([title_line, image, buttons, text])
        return lesson

    def start(self, engine: Engine) -> Lesson:
        """Run `engine(out, make_window)` in a background thread (stops the lesson running
        before); the cell returns while the view updates."""
        with _running_lock:
            previous = list(_running)
        for lesson in previous:
            lesson.stop()
        self._text.widget.value = _pre("")
        self._thread = threading.Thread(
            target=self._run, args=(engine,), name=f"lesson: {self.title}", daemon=True
        )
        with _running_lock:
            _running.append(self)
        self._thread.start()
        return self

    def _run(self, engine: Engine) -> None:
        try:
            self.code = engine(self._text, self.window.configure)
        except BaseException as exc:  # noqa: BLE001 - shown under the view, kept for the caller
            self.error = exc
            self._text.write(f"\nstopped by an error: {type(exc).__name__}: {exc}\n")
        finally:
            self.window.close()
            with _running_lock:
                if self in _running:
                    _running.remove(self)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the engine has finished (at most `timeout` seconds); returns whether it
        has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the view (as closing its window would) and wait for the engine to end."""
        self.window.stop()
        self.wait(timeout)

    @property
    def printed(self) -> str:
        """What the engine printed."""
        return self._text.getvalue() if self._text is not None else self._printed

    # ----- static ----------------------------------------------------------------------
    @classmethod
    def recorded(
        cls,
        title: str,
        engine: Callable[[Any, Callable[..., Any], str], int],
        *,
        fps: float,
        max_frames: int | None,
        suffix: str = ".mp4",
    ) -> Lesson:
        """Run `engine(out, make_window, record_path)` to the end in this thread with a window
        that only records, and keep the video (`.mp4`) or GIF (`.gif`) it wrote."""
        from lecture_rl.runners.viewer.recorder import Recorder

        use_offscreen_pygame()
        folder = tempfile.mkdtemp(prefix="lecture-rl-notebook-")
        path = Path(folder) / f"lesson{suffix}"
        window = NotebookWindow(None, title=title, max_frames=max_frames)
        window.recorder = Recorder(path, fps=fps)
        lesson = cls(title, window, "animation")
        out = Tee()
        try:
            lesson.code = engine(out, window.configure, str(path))
        finally:
            window.close()
            # what the engine printed, less the line naming the temporary file (removed below)
            kept = [line for line in out.getvalue().splitlines(True) if folder not in line]
            lesson._printed = "".join(kept)
            _stdout().write(lesson._printed)
            if path.exists():
                lesson.animation = path.read_bytes()
                lesson.animation_type = suffix.lstrip(".")
                path.unlink()
            os.rmdir(folder)
        return lesson

    def animation_html(self) -> str:
        """The animation as HTML: a looping HTML5 video, or the GIF as an image."""
        if not self.animation:
            return "<p>(no frames were drawn)</p>"
        data = base64.b64encode(self.animation).decode("ascii")
        label = html.escape(self.title)
        if self.animation_type == "gif":
            return f'<img alt="{label}" style="max-width:100%" src="data:image/gif;base64,{data}">'
        return (
            f'<video title="{label}" controls autoplay loop muted playsinline '
            f'style="max-width:100%" src="data:video/mp4;base64,{data}"></video>'
        )

    # ----- in a cell ----------------------------------------------------------------------
    def show(self) -> Lesson:
        """Display the view (live) or the animation (static) in the current cell."""
        display, _ = require_jupyter()
        if self.mode == "widget":
            display.display(self.widget)
        else:
            display.display(display.HTML(self.animation_html()))
        return self

    def __repr__(self) -> str:
        state = "running" if self.running else "finished"
        if self.error is not None:
            state = f"failed: {self.error}"
        return f"<lesson {self.title!r}: {self.mode}, {self.window.frames} frames, {state}>"


def _stdout() -> Any:
    import sys

    return sys.stdout
