"""The viewer's window in a notebook: frames to a Jupyter widget, button clicks to key events.

Description:
    `NotebookWindow` implements the seam the viewer draws through
    (`lecture_rl.runners.viewer.window.Window`: `open`, `show(canvas)`, `events()`, `done`,
    `close()`), so `watch`, `play` and the worked example draw with their own pygame code,
    off-screen, and only the last step differs: `show` encodes the canvas as a PNG and sets it
    as the value of an `ipywidgets.Image`; `press` (called by a button's click) queues the
    pygame `KEYDOWN` the viewer already handles, and `events()` hands the queue over.
    Without a widget (`image=None`) it is a headless window that only records: the static
    fallback of an executed notebook.

    Encoding a frame (about 16 ms for the cliff on an idle core, most of it in zlib, which
    releases the GIL) runs in the window's own thread, so the viewer draws the next frame
    meanwhile; when the encoder falls behind, it skips to the newest frame (the view never
    lags behind the learning), and `close` hands over the last one before returning.

    The widget is ipywidgets' own `Image` (and `Button`): it needs no frontend code of ours,
    so it renders wherever ipywidgets does (JupyterLab, Notebook 7, VS Code, Colab without
    enabling third-party widgets), and a PNG frame of the viewer is 30 to 60 kB.
"""

from __future__ import annotations

import queue
import struct
import threading
import zlib
from typing import Any

import numpy as np

from lecture_rl.envs import rendering


def encode_png(canvas: Any, level: int = 1) -> bytes:
    """The pygame surface `canvas` as PNG bytes (8-bit RGB, zlib `level`).

    The rows are stored unfiltered (PNG filter type 0): the viewer's flat colours compress
    well without filters, and Pillow's adaptive filtering tripled the time per frame (50 ms
    against 16 ms for a 1280 × 458 cliff frame), which would cap the live view below 20
    frames per second. The format is PNG's: signature, `IHDR`, one `IDAT`, `IEND`, each
    chunk with its CRC.
    """
    pygame = rendering.import_pygame()
    width, height = canvas.get_size()
    rgb = np.frombuffer(pygame.image.tobytes(canvas, "RGB"), dtype=np.uint8)
    rows = np.empty((height, width * 3 + 1), dtype=np.uint8)
    rows[:, 0] = 0  # each scanline starts with its filter type: 0, none
    rows[:, 1:] = rgb.reshape(height, width * 3)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB, no interlace
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def key_event(key: int, unicode: str = "") -> Any:
    """The pygame `KEYDOWN` event a press of `key` makes (what the viewer reads)."""
    pygame = rendering.import_pygame()
    return pygame.event.Event(pygame.KEYDOWN, key=key, unicode=unicode, mod=0)


class NotebookWindow:
    """A `Window` whose frames go to an `ipywidgets.Image` and whose keys come from buttons.

    Arguments:
        image: the widget that shows the frames (anything with a `value` to set to PNG
            bytes); `None`: no live view, the frames only go to `recorder`.
        title: what the view shows (the viewer's window title).
        zoom: kept for the seam (the browser scales the picture to the cell's width).
        recorder: receives every frame shown (the static fallback's animation).
        max_frames: `done` after that many frames.
    """

    keeps_last_frame = True  # the widget keeps showing the last frame: no waiting for a key

    def __init__(
        self,
        image: Any = None,
        *,
        title: str = "",
        zoom: float = 1.0,
        recorder: Any = None,
        max_frames: int | None = None,
    ):
        self.image = image
        self.title = title
        self.zoom = float(zoom or 1.0)
        self.recorder = recorder
        self.max_frames = max_frames
        self.frames = 0
        self.screen: Any = None  # never a pygame display: the viewer draws off-screen
        self.size: tuple[int, int] | None = None
        self.resized = False
        self.closed = False
        #: nobody watches a window without a widget: a recording runs at its own pace
        self.headless = image is None
        #: frames handed to the widget (fewer than `frames` where the encoder skipped some)
        self.sent = 0
        self._keys: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
        self._newest: Any = None  # the newest frame not yet encoded
        self._finishing = False
        self._frame_ready = threading.Condition()
        self._encoder: threading.Thread | None = None

    def configure(
        self,
        title: str,
        *,
        zoom: float = 1.0,
        recorder: Any = None,
        max_frames: int | None = None,
    ) -> NotebookWindow:
        """Take the arguments the engine builds a `Window` with; returns this window (so a
        notebook can hand the engine `window.configure` as its `make_window`)."""
        self.title = title
        self.zoom = float(zoom or 1.0)
        if recorder is not None:
            self.recorder = recorder
        if max_frames is not None:
            self.max_frames = max_frames
        return self

    @property
    def done(self) -> bool:
        """Stopped (`close`, the stop button) or `max_frames` frames shown."""
        return self.closed or bool(self.max_frames and self.frames >= self.max_frames)

    def open(self, canvas_size: tuple[int, int]) -> None:
        self.size = tuple(canvas_size)  # type: ignore[assignment]

    def show(self, canvas: Any) -> None:
        """Hand `canvas` to the widget (as a PNG) and to the recorder."""
        if self.max_frames and self.frames >= self.max_frames:
            return
        if self.size is None:
            self.open(canvas.get_size())
        if self.image is not None:
            self._hand_over(canvas.copy())
        self.frames += 1
        if self.recorder is not None:
            self.recorder.add(rendering.surface_to_rgb(canvas))

    def _hand_over(self, frame: Any) -> None:
        """Give the encoder `frame` (replacing one it has not started on)."""
        with self._frame_ready:
            self._newest = frame
            self._frame_ready.notify()
            if self._encoder is None:
                self._finishing = False
                self._encoder = threading.Thread(
                    target=self._encode_frames, name="notebook-window-encoder", daemon=True
                )
                self._encoder.start()

    def _encode_frames(self) -> None:
        while True:
            with self._frame_ready:
                while self._newest is None and not self._finishing:
                    self._frame_ready.wait()
                frame, self._newest = self._newest, None
            if frame is None:
                return
            self.image.value = encode_png(frame)
            self.sent += 1

    def flush(self) -> None:
        """Wait until the newest frame is in the widget (and stop the encoder's thread)."""
        with self._frame_ready:
            encoder, self._encoder = self._encoder, None
            self._finishing = True
            self._frame_ready.notify()
        if encoder is not None:
            encoder.join()

    def press(self, key: int, unicode: str = "") -> None:
        """A button was clicked: queue its key for the viewer (thread-safe)."""
        self._keys.put((key, unicode))

    def events(self) -> list[Any]:
        """The key presses queued since the last call, as pygame `KEYDOWN` events."""
        found = []
        while True:
            try:
                key, unicode = self._keys.get_nowait()
            except queue.Empty:
                return found
            found.append(key_event(key, unicode))

    def stop(self) -> None:
        """End the view: the viewer sees `done` (as when a pygame window is closed)."""
        self.closed = True

    def close(self) -> None:
        """The viewer is finished: the last frame to the widget (which keeps it), the recording
        written."""
        self.flush()
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
